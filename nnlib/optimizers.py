"""Optimisers: SGD, SGD with momentum (optionally Nesterov), Adam; L2 weight decay.

An optimiser is given a list of layers and updates every ``layer.params[name]`` in place
from ``layer.grads[name]``. It keeps its own state (velocities, moment estimates), one
small dict per parameter array; layers know nothing of the optimiser.

L2 weight decay adds ``l2 * W`` to the gradient of each weight matrix (not the biases):
the gradient of ``(l2 / 2) * ||W||^2`` added to the loss.

Each update below is the textbook formula, one parameter array at a time. The training
loop runs Adam through :class:`nnlib.fast.FusedAdam`: the same update over all
parameters at once, with fewer passes over memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np


class HasParameters(Protocol):
    """What an optimiser needs of a layer: parameters and their gradients, by name."""

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]


class Optimizer:
    """Base class: the learning rate, L2, a step counter and per-parameter state."""

    name = "optimizer"

    def __init__(self, learning_rate: float, l2: float = 0.0) -> None:
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self.learning_rate = float(learning_rate)
        self.l2 = float(l2)
        self.iterations = 0
        # id(parameter array) -> (that array, its state arrays by name)
        self._state: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    def step(self, layers: Sequence[HasParameters]) -> None:
        """Apply one update to the parameters of ``layers`` from their ``grads``."""
        self.iterations += 1
        for layer in layers:
            for name, param in layer.params.items():
                grad = layer.grads[name]
                if self.l2 and name == "W":
                    grad = grad + self.l2 * param
                self.update(param, grad, self.state_of(param))

    def state_of(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """The optimiser's state for one parameter array (created at its first update)."""
        entry = self._state.get(id(param))
        if entry is None or entry[0] is not param:
            entry = self._state[id(param)] = (param, self.new_state(param))
        return entry[1]

    def new_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """Fresh state for a parameter array: none for plain SGD."""
        return {}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        """Move ``param`` (in place) by the gradient ``grad``."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "learning_rate": self.learning_rate, "l2": self.l2}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain gradient descent: ``W <- W - lr * dL/dW``."""

    name = "sgd"

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        param -= self.learning_rate * grad


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

    def new_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        return {"velocity": np.zeros_like(param)}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        lr, mu, v = self.learning_rate, self.momentum, state["velocity"]
        v[...] = mu * v - lr * grad
        if self.nesterov:
            param += mu * v - lr * grad
        else:
            param += v

    def config(self) -> dict[str, Any]:
        return {**super().config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015): per-parameter steps from running moment estimates.

    For gradient ``g`` at step ``t`` (counted from 1)::

        m <- b1 m + (1 - b1) g          first moment (running mean of g)
        v <- b2 v + (1 - b2) g^2        second moment (running mean of g^2)
        m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)      bias corrections (m, v start at 0)
        W <- W - lr * m_hat / (sqrt(v_hat) + eps)
    """

    name = "adam"

    def __init__(self, learning_rate: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, l2: float = 0.0) -> None:
        super().__init__(learning_rate, l2)
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)

    def new_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        return {"m": np.zeros_like(param), "v": np.zeros_like(param)}

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        b1, b2, t = self.beta1, self.beta2, self.iterations
        m, v = state["m"], state["v"]
        m[...] = b1 * m + (1 - b1) * grad
        v[...] = b2 * v + (1 - b2) * grad ** 2
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        param -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon}


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
