"""How many bytes one browser session holds, and the limit it is held to.

A class shares one server: thirty sessions each keeping runs (models, validation outputs,
histories), an uploaded dataset and a copy of a model on the Inside page can outgrow it. The
bulk of what a session holds is NumPy arrays and raw bytes, so that is what is counted:
:func:`held_bytes` walks the session's values (containers, dataclasses and plain objects, a
few levels deep), adds up every array's buffer and every ``bytes``/``bytearray`` once, and
leaves out what is small (numbers, strings) or not the session's (threads, locks, modules,
functions, Streamlit's upload widgets, whose files ``server.maxUploadSize`` bounds).

``MNIST_LAB_SESSION_MB`` sets the limit (:func:`session_limit_bytes`, 300 MB by default);
:mod:`dashboard.runs` keeps each session within it.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import types
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

SESSION_LIMIT_ENV = "MNIST_LAB_SESSION_MB"
DEFAULT_SESSION_MB = 300
MEGABYTE = 2**20
# Levels below a session value that are looked into: session -> runs list -> run -> model ->
# layers -> layer -> parameters dict -> array is 7; one more for good measure.
DEFAULT_DEPTH = 8

_ATOMS = (type(None), bool, int, float, complex, str, np.generic)
_NOT_HELD = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
             threading.Thread, type(threading.Lock()), type(threading.RLock()), threading.Event,
             threading.Condition)


def session_limit_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The most bytes one session may hold: ``$MNIST_LAB_SESSION_MB`` megabytes (300 by default)."""
    raw = (os.environ if environ is None else environ).get(SESSION_LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_SESSION_MB * MEGABYTE
    try:
        megabytes = float(raw)
    except ValueError:
        raise ValueError(f"{SESSION_LIMIT_ENV} must be a number of megabytes, got {raw!r}") from None
    if not megabytes > 0:
        raise ValueError(f"{SESSION_LIMIT_ENV} must be a positive number of megabytes, got {raw!r}")
    return int(megabytes * MEGABYTE)


def megabytes(count: int) -> str:
    """``count`` bytes as the pages say it: ``"12.5 MB"``, or ``"0.02 MB"`` under one."""
    return f"{count / MEGABYTE:,.1f} MB" if count >= MEGABYTE else f"{count / MEGABYTE:.2f} MB"


def _uploaded_file_type() -> type | None:
    try:
        from streamlit.runtime.uploaded_file_manager import UploadedFile
    except ImportError:  # pragma: no cover (Streamlit lays it out so in 1.67)
        return None
    return UploadedFile


def _children(value: Any) -> Iterable[Any]:
    """What ``value`` holds that may hold memory: items of containers, fields of objects."""
    if isinstance(value, Mapping):
        return [item for pair in list(value.items()) for item in pair]
    if isinstance(value, (list, tuple, set, frozenset, deque)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, field.name, None) for field in dataclasses.fields(value)]
    held = list(vars(value).values()) if hasattr(value, "__dict__") else []
    for name in getattr(type(value), "__slots__", ()):
        held.append(getattr(value, name, None))
    return held


def held_bytes(value: Any, depth: int = DEFAULT_DEPTH, seen: set[int] | None = None) -> int:
    """Bytes of the NumPy arrays and ``bytes``/``bytearray`` objects reachable from ``value``.

    Each buffer counts once (views count their base array; ``seen`` carries the ids already
    counted across calls); containers and objects are looked into ``depth`` levels deep.
    """
    if depth < 0:
        raise ValueError(f"depth must be 0 or more levels, got {depth}")
    seen = set() if seen is None else seen
    return _held(value, depth, seen, _uploaded_file_type())


def _held(value: Any, depth: int, seen: set[int], skipped: type | None) -> int:
    if isinstance(value, (*_ATOMS, *_NOT_HELD)) or (skipped and isinstance(value, skipped)):
        return 0
    if isinstance(value, np.ndarray):
        while isinstance(value.base, np.ndarray):
            value = value.base
        if id(value) in seen:
            return 0
        seen.add(id(value))
        if value.base is not None:   # an array over another object's memory (bytes, a file map)
            return _held(value.base, depth, seen, skipped)
        return int(value.nbytes)
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, memoryview):
        return _held(value.obj, depth, seen, skipped)
    if depth == 0:
        return 0
    return sum(_held(child, depth - 1, seen, skipped) for child in _children(value))
