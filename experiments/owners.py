"""Who owns an active run or sweep: a process named by host, pid and start time.

A run in flight records its owner; when a store opens, runs whose owner no longer lives are
marked interrupted. The start time (Linux's /proc) tells a reused pid from the original.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path


def _process_start_token(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), so a reused pid differs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def current_owner() -> str:
    """``host:pid:start`` of this process: what an active run records as its owner."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start_token(pid)}"


def owner_alive(owner: str | None) -> bool:
    """True when ``owner`` (from :func:`current_owner`) is a living process on this host.

    An owner on another host is presumed alive (its heartbeat is the only evidence).
    """
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, token = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return _process_start_token(pid) == token
