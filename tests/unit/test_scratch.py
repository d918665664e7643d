"""Job folders: named by their server process, and removed by the next registry when it died."""
from __future__ import annotations

import subprocess
import sys

from experiments import jobs, scratch


def test_a_folder_of_a_dead_server_is_removed_and_a_living_ones_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(scratch, "scratch_root", lambda: tmp_path)
    mine = scratch.new_job_folder()
    (mine / "dataset.npz").write_bytes(b"x" * 100)
    assert mine.parent == tmp_path and mine.name.startswith(scratch._owner_prefix())
    # A "server" that made a folder and was killed before it could remove it.
    code = ("import os, signal, sys; sys.path.insert(0, '.'); from pathlib import Path; "
            "from experiments import scratch; "
            f"folder = scratch.new_job_folder(Path({str(tmp_path)!r})); print(folder, flush=True); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    orphan = tmp_path / killed.stdout.strip().rsplit("/", 1)[-1]
    assert orphan.is_dir() and not scratch.folder_owner_alive(orphan)
    unknown = tmp_path / "not-a-job-folder"
    unknown.mkdir()
    jobs.JobRegistry()  # a server starting: its registry cleans up
    assert not orphan.exists()
    assert mine.is_dir() and unknown.is_dir()


def test_a_registry_remembers_evicted_jobs_to_tell_them_from_unknown_ones():
    now = [1000.0]
    registry = jobs.JobRegistry(keep_finished_seconds=10, clock=lambda: now[0])

    def task_run(callback, control):
        raise RuntimeError("fails at once")

    job, _ = registry.start("owner", [jobs.JobTask(label="x", epochs=1, run=task_run)])
    assert job.join(10)
    job._finished_at = now[0]
    now[0] += 11
    assert registry.get(job.id) is None
    assert registry.was_evicted(job.id)
    assert not registry.was_evicted("from-before-a-restart") and not registry.was_evicted(None)


def test_folders_of_earlier_versions_are_removed_once_nobody_has_touched_them_for_an_hour(tmp_path):
    import os
    import time

    now = time.time()
    old_train, old_ray, fresh, other = (tmp_path / name for name in
                                        ("mnist-lab-train-abc", "mnist-lab-ray-def", "mnist-lab-train-new", "keep-me"))
    for folder in (old_train, old_ray, fresh, other):
        folder.mkdir()
        (folder / "dataset.npz").write_bytes(b"x")
    for folder in (old_train, old_ray, other):
        os.utime(folder, (now - 2 * scratch.LEGACY_MAX_AGE_SECONDS,) * 2)
    removed = scratch.remove_legacy_folders(tmp_path, now=now)
    assert sorted(removed) == sorted([old_train, old_ray])
    assert not old_train.exists() and not old_ray.exists()
    assert fresh.is_dir() and other.is_dir()
