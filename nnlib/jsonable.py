"""One JSON encoding for everything nnlib writes: model headers, CLI reports, training events.

NumPy scalars and arrays, tuples, sets and paths become plain JSON values; anything else
is refused with a ``TypeError`` naming its type, so a mistake shows at once.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def json_default(value: Any) -> Any:
    """``json.dumps(..., default=json_default)``: the JSON form of NumPy values, tuples, sets, paths."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """``value`` as one line of JSON, NumPy values included (see :func:`json_default`)."""
    return json.dumps(value, default=json_default)


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or None for None, NaN and infinities (JSON has no NaN)."""
    return float(value) if value is not None and math.isfinite(value) else None
