"""Give memory back to the system once sessions have gone: a collector thread per server.

When a student closes a tab, Streamlit keeps the session for a reconnect, then drops it from
its session storage (a minute later, ``server.disconnectedSessionTTL`` in
``.streamlit/config.toml``). Two things kept the memory anyway, measured with
``benchmarks/classroom.py``:

* Streamlit 1.67 drops an expired session without shutting it down, so the session's images
  (media files), dataframe sources and uploaded files stay in the runtime's managers for
  good. :class:`SessionReaper` hooks the storage's removal callback and shuts such sessions
  down (unless they reconnected), as Streamlit does for a session that ends at once.
* glibc keeps freed heap pages in its arenas (one per busy thread: a script thread per
  session), so the resident memory stays at its peak. ``malloc_trim(0)`` returns them; and
  ``scripts/serve.py`` starts the server with two arenas (``MALLOC_ARENA_MAX=2``), since freed
  memory scattered over many arenas kept the heap growing with every class even so.
* A model kept in a cache held the last batch it had answered on, and through it the whole
  scaled dataset (31 MB of MNIST test images per model): nnlib's inference now lets go of it
  (``Sequential.forget_forward``).

Every ``PERIOD_SECONDS`` the releaser expires the storage, shuts the dropped sessions down,
collects reference cycles and trims the heap. It reaches into Streamlit's runtime by
attribute; where a version lays it out differently, the reaper stays off (and says so in
``SessionReaper.hooked``) and the collection and trim still run.

Started by every page (``dashboard.page.setup_page``). It once stalled the Train page's
live chart (tests/browser/test_train_live.py): a full collection and a heap trim every round
can hold the interpreter for a good part of a second on a loaded machine, so now they run only after a session
was shut down. The reaper also ignores the sessions the manager deletes from the storage itself
(a reconnect, which goes on; a close, which the manager shuts down).

``MNIST_LAB_MEMORY_REPORT`` (a file path) adds a report line per round
(:mod:`dashboard.memory_report`); ``MNIST_LAB_MEMORY_PERIOD`` shortens the period.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import streamlit as st

from .memory_report import append_memory_report

_LOG = logging.getLogger(__name__)
PERIOD_SECONDS = 30.0
# Seconds between two rounds, when set (a debugging run shortens it).
PERIOD_ENV = "MNIST_LAB_MEMORY_PERIOD"


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


class SessionReaper:
    """Shuts down the sessions that Streamlit's session storage drops (expired or evicted).

    ``manager`` is the runtime's session manager (``Runtime.instance()._session_mgr``).
    """

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.shut_down = 0
        self._dropped: deque[Any] = deque()
        storage = getattr(manager, "_session_storage", None)
        cache = getattr(storage, "_cache", None)
        self._cache = cache if hasattr(cache, "_on_remove") and hasattr(cache, "expire") else None
        self.hooked = self._cache is not None and callable(getattr(storage, "delete", None))
        if self._cache is not None and self.hooked:
            # The manager deletes a stored session itself when it reconnects (the session goes
            # on) or is closed (the manager shuts it down): those removals are not ours to reap.
            deleting = threading.local()
            delete = storage.delete

            def delete_by_manager(session_id: str) -> None:
                deleting.key = session_id
                try:
                    delete(session_id)
                finally:
                    deleting.key = None

            previous = self._cache._on_remove

            def on_remove(key: Any, info: Any) -> None:
                if previous is not None:
                    previous(key, info)
                if getattr(deleting, "key", None) != key:
                    self._dropped.append(info.session)

            storage.delete = delete_by_manager
            self._cache._on_remove = on_remove

    def reap(self) -> int:
        """Expire the storage and shut down the sessions it dropped that did not reconnect."""
        if self._cache is None or not self.hooked:
            return 0
        lock = getattr(self.manager, "_storage_lock", None) or threading.Lock()
        with lock:
            self._cache.expire()
        count = 0
        while self._dropped:
            session = self._dropped.popleft()
            if not self.manager.is_active_session(session.id):
                session.shutdown()
                count += 1
        self.shut_down += count
        return count


def runtime_session_reaper() -> SessionReaper | None:
    """A reaper on this server's Streamlit runtime, or None outside a running server."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return None
    try:  # a test's runtime (AppTest) is a mock without a session manager
        manager = Runtime.instance()._session_mgr
    except AttributeError:
        return None
    return SessionReaper(manager)


class MemoryReleaser:
    """A daemon thread that, every ``period`` seconds until stopped, shuts down the sessions
    Streamlit dropped (when given a ``reaper``) and, when it shut one down (every round
    without a reaper), calls :func:`release_memory`.

    Only then: a full collection and a heap trim hold the interpreter for a moment (most of a
    second on a busy 2-core machine), which stalled the live charts of the sessions still
    there when it ran every round whether or not anything had gone."""

    def __init__(self, period: float = PERIOD_SECONDS, reaper: SessionReaper | None = None) -> None:
        if period <= 0:
            raise ValueError(f"period must be positive seconds, got {period}")
        self.period = period
        self.reaper = reaper
        self.rounds = 0
        self.releases = 0
        self.last_release_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-release", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            reaped = self.reaper.reap() if self.reaper is not None else None
            if reaped is None or reaped > 0:
                started = time.perf_counter()
                release_memory()
                self.last_release_seconds = time.perf_counter() - started
                self.releases += 1
            self.rounds += 1
            try:  # only when $MNIST_LAB_MEMORY_REPORT names a file; a debugging aid never stops the releaser
                append_memory_report(extra={"releases": self.releases, "reaped": reaped,
                                            "last_release_seconds": round(self.last_release_seconds, 3)})
            except Exception:  # noqa: BLE001
                _LOG.exception("the memory report failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@st.cache_resource(show_spinner=False)
def start_memory_releaser() -> MemoryReleaser:
    """The server's one releaser (started by the first page any session opens)."""
    period = float(os.environ.get(PERIOD_ENV) or PERIOD_SECONDS)
    return MemoryReleaser(period=period, reaper=runtime_session_reaper())
