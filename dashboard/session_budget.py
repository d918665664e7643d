"""Keeps one browser session within its byte limit: lets go of its oldest run details first.

Measured when something large is added (a finished or uploaded run, an uploaded dataset), not
on every rerun: :func:`make_room` counts what the session holds (:mod:`dashboard.session_size`),
and when the addition would take it past ``$MNIST_LAB_SESSION_MB`` it lets go of the oldest run
details (those the run store keeps first: they come back from it when picked) until it fits.
When even that is not enough, the addition is refused. The caller shows the message.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from .session_size import SESSION_LIMIT_ENV, held_bytes, megabytes, session_limit_bytes


@dataclass(frozen=True)
class Room:
    """What :func:`make_room` did: the runs let go of, whether the addition fits, the figures."""

    dropped: list[Any]
    fits: bool
    held: int      # bytes the session would hold with the addition, after letting go
    limit: int


def _held_by_key(runs_key: str, runs: Sequence[Any], replacing: str | None) -> tuple[int, list[int]]:
    """Bytes held outside the runs (``replacing`` left out) and by each run; a buffer shared by
    a run and something else counts outside, so letting go of the run frees what it counts."""
    seen: set[int] = set()
    elsewhere = 0
    for key in list(st.session_state.keys()):
        if key in (runs_key, replacing):
            continue
        try:
            elsewhere += held_bytes(st.session_state[key], seen=seen)
        except KeyError:  # a widget's state removed meanwhile
            continue
    return elsewhere, [held_bytes(run, seen=seen) for run in runs]


def make_room(runs: list[Any], runs_key: str, needed: int = 0, keep: Any = None,
              replacing: str | None = None) -> Room:
    """Let go of runs from ``runs`` (the session's list under ``runs_key``, oldest first, edited
    in place) until the session, plus ``needed`` bytes to come, fits its limit.

    ``keep`` is never let go of (the run being added); ``replacing`` names a session key whose
    value the addition replaces (not counted). Runs the store keeps go first (``in_store``).
    When the addition would not fit even with every other run let go of, none is let go of.
    """
    if needed < 0:
        raise ValueError(f"needed must be 0 or more bytes, got {needed}")
    limit = session_limit_bytes()
    elsewhere, per_run = _held_by_key(runs_key, runs, replacing)
    held = elsewhere + sum(per_run) + needed
    sizes = {id(run): size for run, size in zip(runs, per_run)}
    candidates = [run for run in runs if run is not keep]
    if held - sum(sizes[id(run)] for run in candidates) > limit:
        return Room(dropped=[], fits=False, held=held, limit=limit)   # no use letting go of any
    order = [run for run in candidates if run.in_store] + [run for run in candidates if not run.in_store]
    dropped = []
    for victim in order:
        if held <= limit:
            break
        held -= sizes[id(victim)]
        dropped.append(victim)
    runs[:] = [run for run in runs if not any(run is victim for victim in dropped)]
    return Room(dropped=dropped, fits=held <= limit, held=held, limit=limit)


def let_go_note(room: Room) -> str:
    """What the session let go of to stay within its limit (for the run list's caption)."""
    stored = [run.name for run in room.dropped if run.in_store]
    lost = [run.name for run in room.dropped if not run.in_store]
    parts = [f"This session may hold {megabytes(room.limit)} of runs and data in the server's memory "
             f"(${SESSION_LIMIT_ENV}), which the whole class shares, so it let go of the details of "
             f"{', '.join(run.name for run in room.dropped)}"]
    if stored:
        parts.append(f"{', '.join(stored)} stay in the run store (the Runs page, or pick them below)")
    if lost:
        parts.append(f"{', '.join(lost)} were not stored and are gone from this session")
    return "; ".join(parts) + "."


def refusal(what: str, size: int, room: Room) -> str:
    """Why ``what`` (``size`` bytes) was not kept: the session would pass its limit."""
    return (f"{what} ({megabytes(size)}) was not kept in this session: with it the session would hold "
            f"{megabytes(room.held)}, over its limit of {megabytes(room.limit)} in the server's memory "
            f"(${SESSION_LIMIT_ENV}), which the whole class shares.")
