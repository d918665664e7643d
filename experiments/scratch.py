"""Temporary folders of training jobs, under one parent and named by the process that owns them.

A job's child process reads its dataset from a temporary folder (tens of MB for MNIST). The
server removes the folder when the job ends, but a server killed mid-job (``kill -9``, a
crash, a power cut) cannot: before, each such job left its folder in ``/tmp`` for good. Now
every folder lives under :func:`scratch_root` and its name starts with the owner's pid and
start time; :func:`remove_orphans` (called when a job registry starts) removes the folders
whose owner is no longer alive. Earlier versions made ``mnist-lab-train-*`` (local jobs) and
``mnist-lab-ray-*`` (Ray tasks) straight in the temporary folder, without an owner in the
name: :func:`remove_legacy_folders` removes those not touched for ``LEGACY_MAX_AGE_SECONDS``.
"""
from __future__ import annotations

import shutil
import socket
import tempfile
import time
from pathlib import Path

from .owners import current_owner, owner_alive

SCRATCH_FOLDER = "mnist-lab-jobs"
LEGACY_PREFIXES = ("mnist-lab-train-", "mnist-lab-ray-")
LEGACY_MAX_AGE_SECONDS = 60 * 60   # no current version makes them; an hour guards a server of an older one


def scratch_root() -> Path:
    """The parent of every job folder: ``mnist-lab-jobs`` in the system's temporary folder."""
    return Path(tempfile.gettempdir()) / SCRATCH_FOLDER


def _owner_prefix() -> str:
    """``pid.start-token.`` of this process, the start of each folder name it makes."""
    _, pid, token = current_owner().rsplit(":", 2)
    return f"{pid}.{token}."


def new_job_folder(root: Path | None = None) -> Path:
    """A fresh, private folder for one job, named for this process."""
    root = root or scratch_root()
    root.mkdir(mode=0o700, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=_owner_prefix(), dir=root))


def folder_owner_alive(folder: Path) -> bool:
    """Whether the process that made ``folder`` (by its name) is still running; unknown names count as alive."""
    parts = folder.name.split(".")
    if len(parts) < 3 or not parts[0].isdigit():
        return True
    return owner_alive(f"{socket.gethostname()}:{parts[0]}:{parts[1]}")


def remove_orphans(root: Path | None = None) -> list[Path]:
    """Remove the job folders under ``root`` whose owner has died; returns them."""
    root = root or scratch_root()
    try:
        folders = [entry for entry in root.iterdir() if entry.is_dir() and not entry.is_symlink()]
    except OSError:
        return []
    removed = []
    for folder in folders:
        if folder.name.startswith(_owner_prefix()) or folder_owner_alive(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def remove_legacy_folders(root: Path | None = None, max_age: float = LEGACY_MAX_AGE_SECONDS,
                          now: float | None = None) -> list[Path]:
    """Remove the job folders earlier versions left in ``root`` (the temporary folder) that
    nobody has touched for ``max_age`` seconds; returns them."""
    root = root or Path(tempfile.gettempdir())
    now = time.time() if now is None else now
    removed = []
    for prefix in LEGACY_PREFIXES:
        for folder in root.glob(f"{prefix}*"):
            try:
                if folder.is_symlink() or not folder.is_dir() or now - folder.stat().st_mtime < max_age:
                    continue
            except OSError:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
    return removed


__all__ = ["LEGACY_PREFIXES", "SCRATCH_FOLDER", "folder_owner_alive", "new_job_folder", "remove_legacy_folders",
           "remove_orphans", "scratch_root"]
