"""The real source of nnlib's functions, for the code panels: the page never drifts from the code it runs."""
from __future__ import annotations

import contextlib
import inspect
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

APP_ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=64)
def source_of(obj: Any) -> str:
    """The source text of a function, method or class, dedented (as ``inspect.getsource`` finds it)."""
    return textwrap.dedent(inspect.getsource(obj))


def where(obj: Any) -> str:
    """``nnlib/layers.py, Dense.forward``: the file (relative to the app) and the qualified name."""
    path = Path(inspect.getsourcefile(obj) or "")
    with contextlib.suppress(ValueError):   # a file outside the app keeps its full path
        path = path.resolve().relative_to(APP_ROOT)
    return f"{path.as_posix()}, {getattr(obj, '__qualname__', repr(obj))}"
