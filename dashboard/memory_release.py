"""Give memory back to the system once sessions have gone: a collector thread per server.

When a student closes a tab, Streamlit drops the session (a minute later, see
``server.disconnectedSessionTTL`` in ``.streamlit/config.toml``) and Python frees its runs,
models and figures. But glibc keeps freed heap pages in its arenas (one per busy thread: a
Streamlit server runs a script thread per session), so the server's resident memory stays at
its peak after the class has left. Every ``PERIOD_SECONDS`` this thread collects reference
cycles and asks glibc to return free pages (``malloc_trim(0)``, all arenas), so the server
returns near its baseline. Where glibc is not the C library, only the collection runs.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Callable

import streamlit as st

PERIOD_SECONDS = 30.0


def _malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)`` as a function, or None where it is not available."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


def release_memory() -> None:
    """Collect garbage and return the free heap pages to the system (when glibc can)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim()


class MemoryReleaser:
    """A daemon thread calling :func:`release_memory` every ``period`` seconds until stopped."""

    def __init__(self, period: float = PERIOD_SECONDS) -> None:
        if period <= 0:
            raise ValueError(f"period must be positive seconds, got {period}")
        self.period = period
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-release", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            release_memory()
            self.rounds += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@st.cache_resource(show_spinner=False)
def start_memory_releaser() -> MemoryReleaser:
    """The server's one releaser (started by the first page any session opens)."""
    return MemoryReleaser()
