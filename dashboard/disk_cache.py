"""Results kept on disk between server starts, so a page's first visit after a restart is fast.

A result is a frozen dataclass of NumPy arrays and plain numbers (nested dataclasses allowed),
computed by nnlib (for example :class:`nnlib.analysis.DatasetStatistics`). It is written as
one ``.npz`` file under ``$MNIST_LAB_HOME/cache/`` (default ``lab-data/cache/``), named by
what it is and the checksum of the data it was computed from. Reading never unpickles
(``allow_pickle=False``): a file that is missing, unreadable, truncated, from another version
of the class or holding anything but plain arrays is ignored, and the result is computed
again and written over it. Files are written to a temporary name and renamed, so a reader
never sees half a file; a lock file beside each lets one process compute it while others wait.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import tempfile
import typing
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from experiments.store import default_home

CACHE_FOLDER = "cache"
FORMAT_KEY = "__format__"
NONE_KEY = "__none__"
SEPARATOR = "."
Result = TypeVar("Result")


def cache_folder() -> Path:
    """Where cached results live: ``cache/`` in the lab's home folder (``MNIST_LAB_HOME``)."""
    return default_home() / CACHE_FOLDER


def _format_of(cls: type) -> str:
    """What a file must say it holds: the class and its fields, nested ones included (so a
    changed class makes older files stale instead of misread)."""
    hints = typing.get_type_hints(cls)
    parts = []
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        parts.append(f"{field.name}({_format_of(hint)})" if isinstance(hint, type) and dataclasses.is_dataclass(hint) else field.name)
    return f"{cls.__module__}.{cls.__qualname__}:" + ",".join(parts)


def _flatten(result: Any, prefix: str, arrays: dict[str, np.ndarray], nones: list[str]) -> None:
    for field in dataclasses.fields(result):
        name, value = prefix + field.name, getattr(result, field.name)
        if dataclasses.is_dataclass(value):
            _flatten(value, name + SEPARATOR, arrays, nones)
        elif value is None:
            nones.append(name)
        else:
            array = np.asarray(value)
            if array.dtype == object:
                raise TypeError(f"expected arrays and numbers in {type(result).__name__}.{field.name}, "
                                f"got {type(value).__name__}")
            arrays[name] = array


def to_arrays(result: Any) -> dict[str, np.ndarray]:
    """A dataclass result as named plain arrays (nested fields as ``outer.inner``)."""
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        raise TypeError(f"expected a dataclass instance, got {type(result).__name__}")
    arrays: dict[str, np.ndarray] = {}
    nones: list[str] = []
    _flatten(result, "", arrays, nones)
    arrays[NONE_KEY] = np.array(nones, dtype=np.str_)
    arrays[FORMAT_KEY] = np.array(_format_of(type(result)))
    return arrays


def _build(cls: type, arrays: dict[str, np.ndarray], nones: set[str], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        name, hint = prefix + field.name, hints[field.name]
        if dataclasses.is_dataclass(hint):
            values[field.name] = _build(hint, arrays, nones, name + SEPARATOR)  # type: ignore[arg-type]
        elif name in nones:
            values[field.name] = None
        elif hint in (int, float, bool):
            values[field.name] = hint(arrays[name])
        else:
            values[field.name] = arrays[name]
    return cls(**values)


def from_arrays(cls: type[Result], arrays: dict[str, np.ndarray]) -> Result:
    """Rebuild a ``cls`` result from :func:`to_arrays`'s arrays; ValueError when they are of another format."""
    found = str(arrays[FORMAT_KEY]) if FORMAT_KEY in arrays else "no format"
    if found != _format_of(cls):
        raise ValueError(f"expected arrays of {_format_of(cls)}, got {found}")
    return _build(cls, arrays, set(str(name) for name in arrays.get(NONE_KEY, ())), "")


def cache_path(kind: str, key: str) -> Path:
    """The file of result ``kind`` (a short name) for data ``key`` (a checksum)."""
    digest = hashlib.blake2b(f"{kind}|{key}".encode(), digest_size=12).hexdigest()
    return cache_folder() / f"{kind}-{digest}.npz"


def load(path: Path, cls: type[Result]) -> Result | None:
    """The result in ``path``, or None when the file is missing, damaged or stale."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        return from_arrays(cls, arrays)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None


def save(path: Path, result: Any) -> None:
    """Write ``result`` to ``path`` atomically (a temporary file renamed over it)."""
    arrays = to_arrays(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, allow_pickle=False, **arrays)  # numbers only, as they are read back
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _computing(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s ``.lock`` file: of the processes that want the same
    result (the start-up process and the server), one computes it and the others wait, then read
    it. Where file locks are not available (no ``fcntl``) or the folder cannot be written, no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.with_suffix(".lock").open("a")
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def load_or_compute(kind: str, key: str, cls: type[Result], compute: Callable[[], Result]) -> Result:
    """The cached ``kind`` result for ``key`` if a good file holds it, else ``compute()``'s, saved.

    While one process computes a result, another asking for it waits for the file instead of
    computing it a second time. A cache folder that cannot be written only costs the saving:
    the result is returned anyway.
    """
    path = cache_path(kind, key)
    cached = load(path, cls)
    if cached is not None:
        return cached
    with _computing(path):
        cached = load(path, cls)   # written while this process waited for the lock
        if cached is not None:
            return cached
        result = compute()
        with contextlib.suppress(OSError):
            save(path, result)
    return result
