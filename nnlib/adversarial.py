"""Fooling a network: the fast gradient sign method (Goodfellow et al., 2015).

Move every pixel by the same small amount ``epsilon`` in the direction that raises the
loss of the current answer: ``x' = clip(x + epsilon * sign(dL/dx), 0, 1)``. A change too
faint for a person to notice can flip the answer, because the network adds up many tiny
pixel changes that all push the same way.

The gradient of the cross-entropy of class ``y`` with respect to the input is
``sum_j (p_j - [j = y]) * dz_j/dx``, built from :meth:`Sequential.input_gradient` (the
gradient of one logit ``z_j``). The attack works on the 0-1 image; the model's input scaling
(:class:`~nnlib.preprocessing.Scaler`) is a positive per-pixel multiple plus a shift, so the
sign of the gradient is the same on both sides of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .losses import softmax
from .model import Sequential
from .preprocessing import Scaler


@dataclass(frozen=True)
class Attack:
    """The perturbed 0-1 image ``(28, 28)``, the change made, and the answers before and after."""

    image: np.ndarray
    difference: np.ndarray
    epsilon: float
    original_label: int
    new_label: int
    new_probabilities: np.ndarray

    @property
    def flipped(self) -> bool:
        return self.new_label != self.original_label


def loss_gradient(model: Sequential, x: np.ndarray, label: int) -> np.ndarray:
    """d(cross-entropy of ``label``)/d(input) for one network input ``x`` ``(features,)``."""
    row = np.asarray(x, dtype=model.dtype).reshape(1, -1)
    probabilities = softmax(model.forward(row).astype(np.float64))[0]
    target = np.zeros_like(probabilities)
    target[label] = 1.0
    gradient = np.zeros(row.shape[1], dtype=np.float64)
    for class_index, weight in enumerate(probabilities - target):
        if weight != 0:
            gradient += weight * model.input_gradient(row, class_index)[0]
    return gradient


def fgsm(model: Sequential, scaler: Scaler, image: np.ndarray, epsilon: float, label: int | None = None) -> Attack:
    """Perturb a 0-1 image ``(28, 28)`` by ``epsilon`` against ``label`` (default: the current answer)."""
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be in [0, 1] (a share of the pixel range), got {epsilon}")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected one image (height, width), got shape {image.shape}")
    x = scaler.transform(image.reshape(1, -1), already_unit=True).astype(np.float32)
    original = int(np.argmax(model.predict_proba(x)[0]))
    target = original if label is None else int(label)
    direction = np.sign(loss_gradient(model, x[0], target)).reshape(image.shape).astype(np.float32)
    perturbed = np.clip(image + np.float32(epsilon) * direction, 0.0, 1.0)
    probabilities = model.predict_proba(scaler.transform(perturbed.reshape(1, -1), already_unit=True))[0]
    return Attack(perturbed, perturbed - image, float(epsilon), original, int(np.argmax(probabilities)), probabilities)


def smallest_flip(model: Sequential, scaler: Scaler, image: np.ndarray,
                  epsilons: Sequence[float] = tuple(np.round(np.arange(0.01, 0.51, 0.01), 2))) -> Attack | None:
    """The FGSM attack with the smallest ``epsilon`` of ``epsilons`` that flips the answer
    (None if none does)."""
    for epsilon in sorted(epsilons):
        attack = fgsm(model, scaler, image, float(epsilon))
        if attack.flipped:
            return attack
    return None
