"""Weight initialisers for Dense layers.

An initialiser returns the starting weights ``W`` of shape ``(fan_in, fan_out)``
(samples in rows, so ``y = x @ W + b``) and the starting biases ``b`` of shape
``(fan_out,)``. Each takes a seeded :class:`numpy.random.Generator`; nothing here
touches NumPy's global random state.

The scale of the starting weights decides whether a deep network can learn at all:
too small and the signal fades layer by layer, too large and it explodes.

* **He** (He et al. 2015), for ReLU: ``W ~ N(0, 2 / fan_in)``, ``b = 0``. A ReLU zeroes
  half its inputs on average, so the variance is doubled to keep it constant with depth.
* **Glorot** / Xavier (Glorot & Bengio 2010), for tanh/sigmoid:
  ``W ~ U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``, ``b = 0``.
* **seed**: what the seed study did: ``W ~ N(0, 1) * sqrt(1 / fan_out)`` and, unusually,
  random biases too, ``b ~ N(0, 1) * sqrt(1 / fan_out)``. Note the scale uses the number
  of *output* units of the layer (its weight matrix was ``(fan_out, fan_in)`` in the
  study's column layout and it scaled by ``sqrt(1 / layer_dims[l])``).
* **small**: ``W ~ N(0, 0.01^2)``, ``b = 0``: the classic "small random numbers" start, kept
  for teaching (deep ReLU networks learn slowly from it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

Initializer = Callable[[int, int, np.random.Generator, DTypeLike], tuple[np.ndarray, np.ndarray]]


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator,
              dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """He normal: ``W ~ N(0, 2/fan_in)``, zero biases."""
    weights = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
    return weights.astype(dtype), np.zeros(fan_out, dtype=dtype)


def glorot_uniform(fan_in: int, fan_out: int, rng: np.random.Generator,
                   dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Glorot (Xavier) uniform: ``W ~ U(-a, a)``, ``a = sqrt(6/(fan_in+fan_out))``."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    weights = rng.uniform(-limit, limit, size=(fan_in, fan_out))
    return weights.astype(dtype), np.zeros(fan_out, dtype=dtype)


def seed_study(fan_in: int, fan_out: int, rng: np.random.Generator,
               dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The seed study's init: weights and biases ``~ N(0, 1) * sqrt(1/fan_out)``.

    The study drew its weights as ``(fan_out, fan_in)`` (samples in columns); we draw in
    that order and transpose, so that the same random stream gives the same numbers.
    """
    scale = np.sqrt(1.0 / fan_out)
    weights = (rng.standard_normal((fan_out, fan_in)) * scale).T
    biases = rng.standard_normal(fan_out) * scale
    return np.ascontiguousarray(weights, dtype=dtype), biases.astype(dtype)


def small_normal(fan_in: int, fan_out: int, rng: np.random.Generator,
                 dtype: DTypeLike = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Small random weights ``N(0, 0.01^2)``, zero biases."""
    weights = rng.standard_normal((fan_in, fan_out)) * 0.01
    return weights.astype(dtype), np.zeros(fan_out, dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {
    "he": he_normal,
    "glorot": glorot_uniform,
    "seed": seed_study,
    "small": small_normal,
}


def get_initializer(name: str) -> Initializer:
    """Look an initialiser up by name (``"he"``, ``"glorot"``, ``"seed"``, ``"small"``)."""
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown init {name!r}; expected one of {sorted(INITIALIZERS)}") from None
