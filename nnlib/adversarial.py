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

from collections.abc import Sequence
from dataclasses import dataclass

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
    """d(cross-entropy of ``label``)/d(input) for one network input ``x`` ``(features,)``:
    ``sum_j (p_j - [j = label]) * dz_j/dx`` in one backward pass."""
    row = np.asarray(x, dtype=model.dtype).reshape(1, -1)
    probabilities = softmax(model.forward(row).astype(np.float64))[0]
    weights = probabilities.copy()
    weights[label] -= 1.0
    return model.weighted_logits_gradient(row, weights[None]).astype(np.float64)[0]


def _checked_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected one image (height, width), got shape {image.shape}")
    return image


def fgsm_direction(model: Sequential, scaler: Scaler, image: np.ndarray,
                   label: int | None = None) -> tuple[np.ndarray, int]:
    """``sign(dL/dx)`` for a 0-1 image ``(h, w)`` against ``label`` (default: the current
    answer), and that current answer. The direction does not depend on the strength."""
    image = _checked_image(image)
    x = scaler.transform(image.reshape(1, -1), already_unit=True).astype(np.float32)
    original = int(np.argmax(model.predict_proba(x)[0]))
    target = original if label is None else int(label)
    return np.sign(loss_gradient(model, x[0], target)).reshape(image.shape).astype(np.float32), original


def _attacks(model: Sequential, scaler: Scaler, image: np.ndarray, direction: np.ndarray, original: int,
             epsilons: Sequence[float]) -> list[Attack]:
    """The image moved along ``direction`` by each strength, all read in one batch."""
    for epsilon in epsilons:
        if not 0 <= epsilon <= 1:
            raise ValueError(f"epsilon must be in [0, 1] (a share of the pixel range), got {epsilon}")
    perturbed = np.clip(image[None] + np.asarray(epsilons, dtype=np.float32)[:, None, None] * direction[None], 0, 1)
    probabilities = model.predict_proba(scaler.transform(perturbed.reshape(len(perturbed), -1), already_unit=True))
    return [Attack(moved, moved - image, float(epsilon), original, int(np.argmax(p)), p)
            for moved, epsilon, p in zip(perturbed, epsilons, probabilities)]


def fgsm(model: Sequential, scaler: Scaler, image: np.ndarray, epsilon: float, label: int | None = None) -> Attack:
    """Perturb a 0-1 image ``(28, 28)`` by ``epsilon`` against ``label`` (default: the current answer)."""
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be in [0, 1] (a share of the pixel range), got {epsilon}")
    image = _checked_image(image)
    direction, original = fgsm_direction(model, scaler, image, label)
    return _attacks(model, scaler, image, direction, original, [float(epsilon)])[0]


def smallest_flip(model: Sequential, scaler: Scaler, image: np.ndarray,
                  epsilons: Sequence[float] = tuple(np.round(np.arange(0.01, 0.51, 0.01), 2))) -> Attack | None:
    """The FGSM attack with the smallest ``epsilon`` of ``epsilons`` that flips the answer
    (None if none does). One gradient, then every strength read in one batch."""
    image = _checked_image(image)
    direction, original = fgsm_direction(model, scaler, image)
    for attack in _attacks(model, scaler, image, direction, original, sorted(float(e) for e in epsilons)):
        if attack.flipped:
            return attack
    return None
