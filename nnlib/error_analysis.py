"""Where is the network wrong? Its most confidently wrong images, per-class scores, and how
one image's probability of its true class moved over the epochs of a run.

The "loss" of one image is its cross-entropy, ``-log p(true class)``: large when the
network gave the true class little probability, so the highest-loss images are the ones
it got confidently wrong. Precision, recall and F1 per class come from the confusion
matrix (rows = true class); F1 is their harmonic mean, ``2PR / (P + R)``.

:class:`TrueClassTracker` is a training callback: after every epoch it records each image
of a fixed sample's probability of its true class (a few hundred images: it costs a
fraction of the epoch's validation pass).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .metrics import confusion_matrix, precision_recall
from .model import Sequential
from .training import EpochEvent

TOP_K = 3
TRACKED_SAMPLE = 200        # test images whose true-class probability is kept per epoch
TRACKING_SEED = 0
TINY = 1e-12                # floor of a probability inside the log (a 0 would give an infinite loss)


@dataclass(frozen=True)
class WrongAnswer:
    """One image with a high loss: its position, true class, loss and the top classes."""

    index: int
    true_class: int
    loss: float
    top_classes: tuple[int, ...]
    top_probabilities: tuple[float, ...]


def _checked(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probabilities.ndim != 2 or labels.shape != (len(probabilities),):
        raise ValueError(f"expected probabilities (n, classes) and n labels, got shapes "
                         f"{probabilities.shape} and {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= probabilities.shape[1]):
        raise ValueError(f"labels must be in 0..{probabilities.shape[1] - 1}")
    return probabilities, labels


def per_example_loss(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of each example, ``-log p(true class)``, ``(n,)``."""
    probabilities, labels = _checked(probabilities, labels)
    return -np.log(np.maximum(probabilities[np.arange(len(labels)), labels], TINY))


def highest_loss(probabilities: np.ndarray, labels: np.ndarray, count: int = 12,
                 top_k: int = TOP_K) -> list[WrongAnswer]:
    """The ``count`` examples with the largest loss, largest first, with their top-k classes."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    probabilities, labels = _checked(probabilities, labels)
    losses = per_example_loss(probabilities, labels)
    order = np.argsort(-losses, kind="stable")[:count]
    answers = []
    for index in order:
        top = np.argsort(-probabilities[index], kind="stable")[:top_k]
        answers.append(WrongAnswer(int(index), int(labels[index]), float(losses[index]),
                                   tuple(int(c) for c in top), tuple(float(probabilities[index, c]) for c in top)))
    return answers


def per_class_scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """``precision``, ``recall``, ``f1`` (float64) and ``support`` (int, true examples) per class."""
    matrix = confusion_matrix(np.asarray(y_true), np.asarray(y_pred), n_classes)
    precision, recall = precision_recall(matrix)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": matrix.sum(axis=1)}


def tracked_sample(n_images: int, size: int = TRACKED_SAMPLE, seed: int = TRACKING_SEED) -> np.ndarray:
    """The fixed sample of image positions that training tracks: ``size`` of ``n_images``,
    sorted, the same for every run (same seed)."""
    size = min(size, n_images)
    return np.sort(np.random.default_rng(seed).choice(n_images, size=size, replace=False)).astype(np.int64)


class TrueClassTracker:
    """A training callback: after every epoch, each tracked image's probability of its
    true class. ``history`` is ``(epochs, n)`` float32 once training has run."""

    def __init__(self, model: Sequential, x: np.ndarray, y: np.ndarray, indices: np.ndarray) -> None:
        self.model = model
        self.x = np.ascontiguousarray(x, dtype=model.dtype)
        self.y = np.asarray(y, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.rows: list[np.ndarray] = []

    def __call__(self, event: Any) -> None:
        if isinstance(event, EpochEvent) and len(self.y):
            with np.errstate(over="ignore", invalid="ignore"):
                probabilities = self.model.predict_proba(self.x)
            self.rows.append(probabilities[np.arange(len(self.y)), self.y].astype(np.float32))

    @property
    def history(self) -> np.ndarray:
        if not self.rows:
            return np.empty((0, len(self.y)), dtype=np.float32)
        return np.stack(self.rows)

    def outputs(self) -> dict[str, np.ndarray]:
        """What a run keeps: ``tracked_test_indices`` ``(n,)`` and
        ``tracked_true_class_proba`` ``(epochs, n)``."""
        return {"tracked_test_indices": self.indices, "tracked_true_class_proba": self.history}


def tracker_for_test_set(model: Sequential, x_test: np.ndarray | None,
                         y_test: np.ndarray | None) -> TrueClassTracker | None:
    """A tracker of the fixed sample of a test set (None when there is no test set)."""
    if x_test is None or y_test is None or len(x_test) == 0:
        return None
    indices = tracked_sample(len(x_test))
    return TrueClassTracker(model, x_test[indices], y_test[indices], indices)
