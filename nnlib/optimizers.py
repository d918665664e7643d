"""Optimisers: SGD, SGD with momentum (optionally Nesterov), Adam; L2 weight decay.

An optimiser is given a list of layers and updates every ``layer.params[name]`` in place
from ``layer.grads[name]``. It keeps its own state (velocities, moment estimates) keyed by
(layer index, parameter name); layers know nothing of the optimiser.

L2 weight decay adds ``l2 * W`` to the gradient of each weight matrix (not the biases):
the gradient of ``(l2 / 2) * ||W||^2`` added to the loss.

Updates are written in place into preallocated arrays: no new arrays per step.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

# Adam's moment estimates of parameters whose gradient is exactly zero (weights from
# always-blank border pixels, dead ReLU units) decay geometrically towards 0 and soon
# become subnormal floats, which the CPU handles very slowly. Every FLUSH_EVERY steps,
# values below FLUSH_BELOW are set to exactly 0 (they are far below anything that moves
# a weight).
FLUSH_EVERY = 50
FLUSH_BELOW = 1e-30
# Elements per chunk of Adam's update: 5 arrays x 32k float32 = 640 KB, inside a 1 MB L2 cache.
CHUNK = 32_768


class Optimizer:
    """Base class: holds the learning rate, L2 and the list of parameters."""

    name = "optimizer"

    def __init__(self, learning_rate: float, l2: float = 0.0) -> None:
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self.learning_rate = float(learning_rate)
        self.l2 = float(l2)
        self.iterations = 0
        self._slots: list[tuple[np.ndarray, np.ndarray, bool]] = []
        self._layers_id: tuple[int, ...] | None = None

    def _bind(self, layers: Sequence[Any]) -> None:
        """Collect (param, grad, is_weight) once; rebuild if given other layers."""
        key = tuple(id(p) for layer in layers for p in layer.params.values())
        if key == self._layers_id:
            return
        self._layers_id = key
        self._slots = [(layer.params[name], layer.grads[name], name == "W")
                       for layer in layers for name in layer.params]
        self._flat = _flat_views([p for p, _, _ in self._slots]), _flat_views([g for _, g, _ in self._slots])
        if self._flat[0] is not None and self._flat[1] is not None:
            # One slot covering every parameter: whole-array updates (L2 is applied per weight first).
            self._l2_slots = [(p, g) for p, g, is_weight in self._slots if is_weight]
            self._slots = [(self._flat[0], self._flat[1], False)]
        else:
            self._l2_slots = [(p, g) for p, g, is_weight in self._slots if is_weight]
            self._slots = [(p, g, False) for p, g, _ in self._slots]
        self._init_state()

    def _init_state(self) -> None:
        pass

    def step(self, layers: Sequence[Any]) -> None:
        """Apply one update to the parameters of ``layers`` from their ``grads``."""
        self._bind(layers)
        self.iterations += 1
        lr = self.learning_rate
        if self.l2:
            for param, grad in self._l2_slots:
                grad += self.l2 * param
        for index, (param, grad, _) in enumerate(self._slots):
            self._update(index, param, grad, lr)

    def _update(self, index: int, param: np.ndarray, grad: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "learning_rate": self.learning_rate, "l2": self.l2}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain gradient descent: ``W <- W - lr * dL/dW``."""

    name = "sgd"

    def _init_state(self) -> None:
        self._scratch = [np.empty_like(p) for p, _, _ in self._slots]

    def _update(self, index, param, grad, lr):
        scratch = self._scratch[index]
        np.multiply(grad, lr, out=scratch)
        param -= scratch


class Momentum(Optimizer):
    """SGD with momentum (heavy ball), optionally Nesterov.

    ``v <- mu * v - lr * g``; then ``W <- W + v`` (classic) or, Nesterov,
    ``W <- W + mu * v - lr * g`` (the look-ahead form used by PyTorch and Keras).
    """

    name = "momentum"

    def __init__(self, learning_rate: float, momentum: float = 0.9, nesterov: bool = False,
                 l2: float = 0.0) -> None:
        super().__init__(learning_rate, l2)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _init_state(self) -> None:
        self._velocity = [np.zeros_like(p) for p, _, _ in self._slots]
        self._scratch = [np.empty_like(p) for p, _, _ in self._slots]

    def _update(self, index, param, grad, lr):
        velocity, scratch = self._velocity[index], self._scratch[index]
        np.multiply(grad, lr, out=scratch)          # lr * g
        velocity *= self.momentum
        velocity -= scratch                          # v = mu v - lr g
        if self.nesterov:
            param -= scratch
            np.multiply(velocity, self.momentum, out=scratch)
            param += scratch                          # W += mu v - lr g
        else:
            param += velocity

    def config(self) -> dict[str, Any]:
        return {**super().config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015): per-parameter steps from running moment estimates.

    The textbook update, for gradient ``g`` at step ``t``::

        m <- b1 m + (1 - b1) g          first moment (mean of g)
        v <- b2 v + (1 - b2) g^2        second moment (uncentred variance)
        m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)      bias corrections
        W <- W - lr * m_hat / (sqrt(v_hat) + eps)

    Implemented with fewer passes over memory: we keep ``M = m / (1 - b1)`` and
    ``V = v / (1 - b2)``, so that ``M <- b1 M + g`` and ``V <- b2 V + g^2`` (no scaling
    of ``g``), and fold every constant into one step size and one epsilon::

        k = sqrt((1 - b2) / (1 - b2^t))
        W <- W - [lr (1 - b1) / ((1 - b1^t) k)] * M / (sqrt(V) + eps / k)

    which is the same update, algebraically.
    """

    name = "adam"

    def __init__(self, learning_rate: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, l2: float = 0.0) -> None:
        super().__init__(learning_rate, l2)
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)

    def _init_state(self) -> None:
        self._m = [np.zeros_like(p) for p, _, _ in self._slots]
        self._v = [np.zeros_like(p) for p, _, _ in self._slots]
        self._scratch = [np.empty_like(p) for p, _, _ in self._slots]

    def step(self, layers: Sequence[Any]) -> None:
        t = self.iterations + 1
        b1, b2 = self.beta1, self.beta2
        k = math.sqrt((1 - b2) / (1 - b2 ** t))
        self._step_size = self.learning_rate * (1 - b1) / ((1 - b1 ** t) * k)
        self._eps_t = self.epsilon / k
        super().step(layers)
        if self.iterations % FLUSH_EVERY == 0:
            self.flush_subnormals()

    def _update(self, index, param, grad, lr):
        m, v, scratch = self._m[index], self._v[index], self._scratch[index]
        b1, b2, eps, step_size = self.beta1, self.beta2, self._eps_t, self._step_size
        # Chunks small enough that the ten passes below reuse data from the CPU cache.
        flat = (param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1), scratch.reshape(-1))
        for start in range(0, param.size, CHUNK):
            p, g, m_, v_, s = (a[start:start + CHUNK] for a in flat)
            m_ *= b1
            m_ += g                                  # M = b1 M + g
            np.square(g, out=s)
            v_ *= b2
            v_ += s                                  # V = b2 V + g^2
            np.sqrt(v_, out=s)
            s += eps
            np.divide(m_, s, out=s)
            s *= step_size
            p -= s

    def flush_subnormals(self) -> None:
        """Set moment estimates smaller than FLUSH_BELOW to exactly zero."""
        for arrays in (self._m, self._v):
            for a in arrays:
                np.copyto(a, 0, where=np.abs(a) < FLUSH_BELOW)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon}


def _flat_views(arrays: list[np.ndarray]) -> np.ndarray | None:
    """The flat array that ``arrays`` tile back to back, in order, or None."""
    if not arrays:
        return None
    base = arrays[0].base
    if base is not None and base.base is not None:
        base = base.base
    if base is None or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    start = base.__array_interface__["data"][0]
    offset = 0
    for a in arrays:
        if a.dtype != base.dtype or not a.flags.c_contiguous or \
                a.__array_interface__["data"][0] != start + offset * base.itemsize:
            return None
        offset += a.size
    return base if offset == base.size else None


OPTIMIZERS = ("sgd", "momentum", "adam")


def make_optimizer(name: str, learning_rate: float, *, momentum: float = 0.9,
                   nesterov: bool = False, l2: float = 0.0) -> Optimizer:
    """An optimiser by name: ``"sgd"``, ``"momentum"`` or ``"adam"``."""
    name = name.lower()
    if name == "sgd":
        return SGD(learning_rate, l2=l2)
    if name == "momentum":
        return Momentum(learning_rate, momentum=momentum, nesterov=nesterov, l2=l2)
    if name == "adam":
        return Adam(learning_rate, l2=l2)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {list(OPTIMIZERS)}")
