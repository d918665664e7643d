"""What holds the server's memory, as one JSON-ready dict: an opt-in debugging aid.

Set ``MNIST_LAB_MEMORY_REPORT`` to a file path and the server's memory releaser
(:mod:`dashboard.memory_release`) appends one JSON line per round: the sessions Streamlit
still holds (active and stored for a reconnect), the runtime's media files, dataframe sources
and uploads, the process's resident memory split (anonymous or file-backed; glibc's heap in
use and free), the largest object counts by type, and (when ``tracemalloc`` is tracing, e.g.
``PYTHONTRACEMALLOC=1``) the source lines holding the most memory. Comparing a line taken
before a class with one taken after its sessions were dropped tells a bounded, shared cache
from growth per session.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from .session_size import held_bytes

REPORT_ENV = "MNIST_LAB_MEMORY_REPORT"


def _rss_mb() -> float:
    """This process's resident memory in MB (Linux /proc), or NaN elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _malloc_figures() -> dict[str, float]:
    """glibc's heap over all its arenas (``mallinfo2``), MB: from the system (``heap_mb``, plus
    ``mmapped_mb`` for the big blocks), in use and free inside it; empty where glibc lacks it."""
    name = ctypes.util.find_library("c")
    try:
        mallinfo2 = ctypes.CDLL(name).mallinfo2 if name else None
    except (OSError, AttributeError):
        mallinfo2 = None
    if mallinfo2 is None:
        return {}
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return {"heap_mb": round(info.arena / 2**20, 1), "mmapped_mb": round(info.hblkhd / 2**20, 1),
            "in_use_mb": round(info.uordblks / 2**20, 1), "free_mb": round(info.fordblks / 2**20, 1)}


def _process_figures() -> dict[str, float]:
    """Resident memory split into anonymous (heap, mmaps) and file-backed MB, and the thread count."""
    figures: dict[str, float] = {}
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("Rss", "Anonymous", "Shared_Clean", "Private_Clean"):
                figures[f"{key.lower()}_mb"] = round(int(rest.split()[0]) / 1024, 1)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                figures["threads"] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return figures


def _malloc_arenas() -> dict[str, Any]:
    """glibc's arenas one by one (``malloc_info``): how many, and per arena the MB taken from the
    system and the MB free in it, largest first; empty where glibc lacks it."""
    import re
    import tempfile

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        info, fdopen, fclose = libc.malloc_info, libc.fdopen, libc.fclose
    except (OSError, AttributeError):
        return {}
    fdopen.restype, fdopen.argtypes = ctypes.c_void_p, [ctypes.c_int, ctypes.c_char_p]
    info.argtypes, fclose.argtypes = [ctypes.c_int, ctypes.c_void_p], [ctypes.c_void_p]
    with tempfile.TemporaryFile() as out:
        stream = fdopen(os.dup(out.fileno()), b"w")
        if not stream:
            return {}
        info(0, stream)
        fclose(stream)
        out.seek(0)
        xml = out.read().decode(errors="replace")
    arenas = []
    for heap in re.findall(r'<heap nr="\d+">(.*?)</heap>', xml, flags=re.S):
        system = re.search(r'<system type="current" size="(\d+)"', heap)
        free = sum(int(size) for size in re.findall(r'<total type="(?:fast|rest)" count="\d+" size="(\d+)"', heap))
        arenas.append((int(system.group(1)) if system else 0, free))
    arenas.sort(reverse=True)
    return {"count": len(arenas),
            "system_free_mb": [f"{system / 2**20:.0f}/{free / 2**20:.0f}" for system, free in arenas[:12]]}


def _pymalloc_figures() -> dict[str, float]:
    """Python's own small-object allocator (pymalloc), MB: its arenas (memory it took from the
    system), and the blocks in use and free inside them. Read from ``sys._debugmallocstats``,
    which writes to the C stderr: that is sent to a file for the moment (a debugging aid only)."""
    import sys
    import tempfile

    if not hasattr(sys, "_debugmallocstats"):
        return {}
    with tempfile.TemporaryFile() as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    figures: dict[str, float] = {}
    names = {"# arenas allocated current": "arenas", "# bytes in allocated blocks": "in_use_mb",
             "# bytes in available blocks": "free_mb"}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        name = names.get(key.strip())
        if name and name not in figures:
            number = int(value.strip().replace(",", ""))
            figures[name] = number if name == "arenas" else round(number / 2**20, 1)
    return figures


def _largest_mappings(count: int = 8) -> list[str]:
    """The process's ``count`` largest anonymous mappings by resident MB: "resident/size MB name"."""
    found: list[tuple[int, int, str]] = []
    size = rss = 0
    name = ""
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return []
    for line in lines + ["0-0 ---p 0 0:0 0"]:
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
            if size and (not name or name.startswith("[") and name != "[stack]"):
                found.append((rss, size, name or "anonymous"))
            start, end = (int(part, 16) for part in fields[0].split("-"))
            size, rss, name = end - start, 0, (fields[5] if len(fields) > 5 else "")
        elif fields[0] == "Rss:":
            rss = int(fields[1]) * 1024
    found.sort(reverse=True)
    return [f"{rss / 2**20:.1f}/{size / 2**20:.1f} MB {name}" for rss, size, name in found[:count]]


def _runtime_holdings() -> dict[str, Any]:
    """Sessions and the runtime's per-session managers, read by attribute (empty outside a server)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return {}
    runtime = Runtime.instance()
    held: dict[str, Any] = {}
    manager = getattr(runtime, "_session_mgr", None)
    if manager is not None:
        held["active_sessions"] = len(manager.list_active_sessions())
        storage = getattr(manager, "_session_storage", None)
        if storage is not None and hasattr(storage, "list"):
            held["stored_sessions"] = len(storage.list())
    files = getattr(getattr(getattr(runtime, "_media_file_mgr", None), "_storage", None), "_files_by_id", None)
    if isinstance(files, dict):
        held["media_files"] = len(files)
        held["media_mb"] = round(sum(len(getattr(f, "content", b"")) for f in files.values()) / 2**20, 2)
    media_mgr = getattr(runtime, "_media_file_mgr", None)
    by_session = getattr(media_mgr, "_files_by_session_and_coord", None)
    if isinstance(by_session, dict):
        held["media_sessions"] = len(by_session)
    sources = getattr(runtime, "_dataframe_source_mgr", None)
    source_sessions = getattr(sources, "_sources_by_session_and_coord", None)
    if isinstance(source_sessions, dict):
        held["dataframe_source_sessions"] = len(source_sessions)
    uploads = getattr(runtime, "_uploaded_file_mgr", None)
    if uploads is not None and hasattr(uploads, "_total_bytes"):
        held["upload_mb"] = round(uploads._total_bytes / 2**20, 2)
    return held


def _cache_sizes() -> dict[str, float]:
    """Entries and MB of arrays and bytes held by each st.cache_resource function ("name xN": MB), views
    counted by the array they keep alive (:func:`dashboard.session_size.held_bytes`)."""
    from streamlit.runtime.caching.cache_resource_api import _resource_caches

    sizes: dict[str, float] = {}
    for caches in list(getattr(_resource_caches, "_function_caches", {}).values()):
        for cache in list(caches.values()):
            entries = list(getattr(getattr(cache, "_mem_cache", None), "values", lambda: [])())
            name = f"{getattr(cache, 'display_name', '?').split('.')[-1]} x{len(entries)}"
            sizes[name] = round(held_bytes([getattr(entry, "value", entry) for entry in entries]) / 2**20, 1)
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def memory_report(top: int = 25) -> dict[str, Any]:
    """The process's resident memory, what Streamlit holds, object counts and allocation sites."""
    counts = Counter(type(obj).__name__ for obj in gc.get_objects())
    report: dict[str, Any] = {"time": time.time(), "rss_mb": round(_rss_mb(), 1), **_runtime_holdings(),
                              "process": _process_figures(), "malloc": _malloc_figures(),
                              "pymalloc": _pymalloc_figures(), "mappings": _largest_mappings(),
                              "arenas": _malloc_arenas(),
                              "caches_mb": _cache_sizes(), "objects": dict(counts.most_common(top))}
    sessions = [obj for obj in gc.get_objects() if type(obj).__name__ == "AppSession"]
    report["app_session_objects"] = len(sessions)
    report["app_sessions_not_shut_down"] = sum(
        1 for session in sessions if not str(getattr(session, "_state", "")).endswith("SHUTDOWN_REQUESTED"))
    if tracemalloc.is_tracing():
        stats = tracemalloc.take_snapshot().statistics("lineno")[:top]
        report["traced_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 1)
        report["top_lines"] = [f"{round(s.size / 2**20, 2)} MB {s.count} {s.traceback[0]}" for s in stats]
    return report


def append_memory_report(path: str | os.PathLike[str] | None = None, extra: dict[str, Any] | None = None) -> bool:
    """Append :func:`memory_report` (and ``extra``) as a JSON line to ``path`` (default:
    ``$MNIST_LAB_MEMORY_REPORT``); False when no path is set."""
    target = path if path is not None else os.environ.get(REPORT_ENV)
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as out:
        out.write(json.dumps({**memory_report(), **(extra or {})}) + "\n")
    return True
