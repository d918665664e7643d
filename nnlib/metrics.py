"""Classification metrics: accuracy, confusion matrix, per-class precision and recall."""

from __future__ import annotations

import numpy as np


def _check_pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}")
    return y_true, y_pred


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of predictions equal to the true labels (0.0 for no samples)."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    if y_true.size == 0:
        return 0.0
    return float(np.count_nonzero(y_true == y_pred) / y_true.size)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(k, k)`` int64 counts: row = true class, column = predicted class."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    if y_true.size and (y_true.min() < 0 or y_true.max() >= n_classes
                        or y_pred.min() < 0 or y_pred.max() >= n_classes):
        raise ValueError(f"labels must be in 0..{n_classes - 1}")
    flat = y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def precision_recall(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision and recall from a confusion matrix (rows = true).

    ``precision[c] = cm[c, c] / sum(cm[:, c])`` (of all predicted c, how many were c);
    ``recall[c] = cm[c, c] / sum(cm[c, :])`` (of all true c, how many were found).
    A class never predicted (or never present) gets 0.0, not NaN.
    """
    cm = np.asarray(cm, dtype=np.float64)
    diagonal = np.diag(cm)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    precision = np.divide(diagonal, predicted, out=np.zeros_like(diagonal), where=predicted > 0)
    recall = np.divide(diagonal, actual, out=np.zeros_like(diagonal), where=actual > 0)
    return precision, recall


def per_class_accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Accuracy within each true class (= recall), float64 ``(k,)``; 0.0 for absent classes."""
    return precision_recall(confusion_matrix(y_true, y_pred, n_classes))[1]
