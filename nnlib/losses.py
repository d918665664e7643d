"""Losses: softmax cross-entropy (fused with the softmax, stable) and mean squared error.

A loss object has ``forward(outputs, targets) -> float`` (the mean over the batch) and
``backward() -> dL/d(outputs)``, which reuses what ``forward`` computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable: ``exp(z - max z) / sum exp(z - max z)``, a new array."""
    probs, _ = softmax_and_log_sum(logits)
    return probs


def softmax_and_log_sum(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The softmax of each row and ``log sum_j exp(z_j - max z)`` per row ``(n,)``.

    Subtracting the row's largest logit first keeps ``exp`` from overflowing and changes
    nothing in the result; the log-sum is what the cross-entropy needs besides.
    """
    probs = logits - logits.max(axis=1, keepdims=True)
    np.exp(probs, out=probs)
    sums = probs.sum(axis=1)
    probs /= sums[:, None]
    return probs, np.log(sums)


def _as_labels(targets: np.ndarray, n: int, n_classes: int) -> np.ndarray:
    """Integer labels from int labels ``(n,)`` or a one-hot / probability matrix ``(n, k)``."""
    targets = np.asarray(targets)
    if targets.ndim == 2:
        if targets.shape != (n, n_classes):
            raise ValueError(f"one-hot targets must have shape {(n, n_classes)}, got {targets.shape}")
        return targets.argmax(axis=1)
    if targets.shape != (n,):
        raise ValueError(f"expected {n} integer labels, got an array of shape {targets.shape}")
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {targets.dtype}")
    return targets


class SoftmaxCrossEntropy:
    r"""Softmax followed by cross-entropy, computed together from the logits.

    For logits ``z`` (n, k) and true classes ``y``::

        p = softmax(z),   L = -(1/n) sum_i log p[i, y_i]

    Written with the log-sum-exp trick, ``log p[i, c] = z[i, c] - m_i - log sum_j exp(z[i, j] - m_i)``
    with ``m_i = max_j z[i, j]``, so no exponent ever exceeds 0: logits of 1e4 neither
    overflow nor give ``log(0)``. The gradient is the famous, simple one::

        dL/dz = (p - onehot(y)) / n

    The softmax is computed once, in ``forward``, and reused by ``backward``.
    """

    name = "cross_entropy"

    def __init__(self) -> None:
        self._probs: np.ndarray | None = None
        self._labels: np.ndarray | None = None

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        n, k = logits.shape
        labels = _as_labels(targets, n, k)
        true_shifted = logits[np.arange(n), labels] - logits.max(axis=1)
        self._probs, log_sums = softmax_and_log_sum(logits)
        self._labels = labels
        # -log p_true = log(sum exp(z - max)) - (z_true - max), averaged over the batch
        return float(np.mean(log_sums - true_shifted, dtype=np.float64))

    def backward(self) -> np.ndarray:
        if self._probs is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward called before forward")
        grad = self._probs
        n = grad.shape[0]
        grad[np.arange(n), self._labels] -= 1
        grad *= 1.0 / n
        self._probs = None          # the buffer now holds the gradient
        return grad

    def config(self) -> dict[str, Any]:
        return {"kind": "SoftmaxCrossEntropy"}


class MeanSquaredError:
    r"""Mean squared error on raw outputs: ``L = (1/n) sum_i ||y_hat_i - t_i||^2 / 2``.

    Targets are integer labels (compared with their one-hot vectors) or a matrix shaped
    like the outputs. The factor 1/2 makes the gradient simply ``(y_hat - t) / n``.
    """

    name = "mse"

    def __init__(self) -> None:
        self._diff: np.ndarray | None = None

    def forward(self, outputs: np.ndarray, targets: np.ndarray) -> float:
        targets = np.asarray(targets)
        if targets.ndim == 1:
            n, k = outputs.shape
            labels = _as_labels(targets, n, k)
            dense = np.zeros_like(outputs)
            dense[np.arange(n), labels] = 1
            targets = dense
        if targets.shape != outputs.shape:
            raise ValueError(f"targets shape {targets.shape} does not match outputs {outputs.shape}")
        self._diff = outputs - targets
        n = outputs.shape[0]
        return float(0.5 * np.sum(self._diff.astype(np.float64) ** 2) / n)

    def backward(self) -> np.ndarray:
        if self._diff is None:
            raise RuntimeError("MeanSquaredError.backward called before forward")
        return self._diff / self._diff.shape[0]

    def config(self) -> dict[str, Any]:
        return {"kind": "MeanSquaredError"}


LOSSES = {"cross_entropy": SoftmaxCrossEntropy, "mse": MeanSquaredError}


def get_loss(name: str):
    """A new loss object by name: ``"cross_entropy"`` or ``"mse"``."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}") from None
