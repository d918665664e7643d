"""The server's memory releaser: freed heap pages go back to the system (glibc's malloc_trim)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from dashboard import memory_release


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(memory_release._malloc_trim() is None, reason="glibc's malloc_trim is not available")
def test_release_gives_back_the_pages_that_freed_small_objects_leave_in_the_heap():
    memory_release.release_memory()
    before = resident_mb()
    # About 250 MB of blocks above pymalloc's 512 bytes, so from the C heap, as NumPy arrays and
    # Streamlit's messages are.
    objects = [bytes(1000) + i.to_bytes(4, "little") for i in range(250_000)]
    kept = objects[::125]   # a few survivors spread over the heap: it cannot shrink from the top
    del objects
    held = resident_mb()
    memory_release.release_memory()
    released = resident_mb()
    assert held - before > 150
    assert held - released > 100, (before, held, released)
    assert len(kept) == 2000


def test_the_releaser_runs_every_period_until_stopped():
    releaser = memory_release.MemoryReleaser(period=0.05)
    deadline = time.monotonic() + 10
    while releaser.rounds < 2:
        assert time.monotonic() < deadline, "the releaser did not run"
        time.sleep(0.01)
    releaser.stop()
    rounds = releaser.rounds
    time.sleep(0.2)
    assert releaser.rounds == rounds
    with pytest.raises(ValueError, match="period must be positive seconds, got 0"):
        memory_release.MemoryReleaser(period=0)


def test_the_reaper_shuts_down_sessions_the_storage_drops_unless_they_reconnected():
    from streamlit.runtime.caching.ttl_cache import TTLCache
    from streamlit.runtime.memory_session_storage import MemorySessionStorage

    class Session:
        def __init__(self, session_id):
            self.id, self.shutdowns = session_id, 0

        def shutdown(self):
            self.shutdowns += 1

    class Info:
        def __init__(self, session):
            self.session = session

    now = [0.0]
    storage = MemorySessionStorage()
    storage._cache = TTLCache(maxsize=10, ttl=60, timer=lambda: now[0])

    class Manager:
        _session_storage = storage
        active: set = set()

        def is_active_session(self, session_id):
            return session_id in self.active

    manager = Manager()
    reaper = memory_release.SessionReaper(manager)
    assert reaper.hooked
    gone, back, fresh = Session("gone"), Session("back"), Session("fresh")
    for session in (gone, back):
        storage.save(Info(session))
    now[0] = 30.0
    storage.save(Info(fresh))
    manager.active.add("back")   # a reconnect makes it active again...
    storage.delete("back")       # ...and the manager takes it out of the storage: not reaped
    now[0] = 61.0
    assert reaper.reap() == 1
    assert (gone.shutdowns, back.shutdowns, fresh.shutdowns) == (1, 0, 0)
    now[0] = 91.0
    assert reaper.reap() == 1 and fresh.shutdowns == 1 and reaper.shut_down == 2
    assert reaper.reap() == 0


def test_the_releaser_collects_only_after_the_reaper_shut_a_session_down():
    class Reaper:
        def __init__(self):
            self.results = [0, 2, 0]

        def reap(self):
            return self.results.pop(0) if self.results else 0

    releaser = memory_release.MemoryReleaser(period=0.05, reaper=Reaper())
    deadline = time.monotonic() + 10
    while releaser.rounds < 4:
        assert time.monotonic() < deadline, "the releaser did not run"
        time.sleep(0.01)
    releaser.stop()
    assert releaser.releases == 1


def test_without_the_runtime_layout_the_reaper_stays_off():
    reaper = memory_release.SessionReaper(object())
    assert not reaper.hooked and reaper.reap() == 0
