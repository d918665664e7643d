"""The numbers the Train page shows of runs: table rows, confusion matrix, one cell's images.

Computed with nnlib from what each run keeps (its history, its validation probabilities);
the pages only lay them out.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from nnlib.metrics import confusion_matrix

from . import state
from .runs import RunRecord


def _metric(run: RunRecord, key: str) -> float | None:
    """A final metric of the run (from its history, the store's record, or an uploaded model's
    header); None if absent or not finite."""
    result = run.result
    if result is not None:
        value = result.test_accuracy if key == "test_accuracy" else result.last(key)
    elif run.stored is not None:
        value = getattr(run.stored, key, None)
    elif run.model is not None:
        value = (run.model.metadata.get("metrics") or {}).get(key)
    else:
        value = None
    return None if value is None or not np.isfinite(value) else float(value)


def run_table_rows(runs: list[RunRecord]) -> list[dict]:
    """One row per run: its settings, final metrics and time (for ``st.dataframe``)."""
    rows = []
    for run in runs:
        config, result = run.train_config, run.result
        rows.append({
            "run": run.name,
            "layers": run.architecture or "uploaded",
            "optimizer": config.optimizer if config else "",
            "learning rate": config.learning_rate if config else None,
            "batch": ("full" if config.batch_size is None else str(config.batch_size)) if config else "",
            "epochs": result.epochs_completed if result else None,
            "status": run.status,
            "train acc": _metric(run, "train_accuracy"),
            "val acc": _metric(run, "val_accuracy"),
            "test acc": _metric(run, "test_accuracy"),
            "val loss": _metric(run, "val_loss"),
            "seconds": round(result.seconds, 1) if result else None,
            "samples/s": int(result.samples_per_second) if result and result.samples_per_second else None,
            "active": "✓" if st.session_state.get(state.ACTIVE_RUN_ID) == run.id else "",
        })
    return rows


def validation_predictions(run: RunRecord) -> np.ndarray | None:
    """Predicted class per validation image, from the probabilities kept with the run."""
    proba = run.extras.get("val_proba")
    if proba is None:
        return None
    return np.nan_to_num(proba, nan=0.0).argmax(axis=1).astype(np.int64)


def run_confusion(run: RunRecord) -> np.ndarray | None:
    """The run's confusion matrix on its validation set (rows = true), or None without one."""
    predicted = validation_predictions(run)
    if predicted is None:
        return None
    return confusion_matrix(run.extras["y_val"], predicted, len(run.class_names))


def cell_examples(run: RunRecord, true_class: int, predicted_class: int, limit: int = 12
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Validation images in one confusion-matrix cell: their dataset indices, their
    probabilities ``(m, k)`` (most confident mistakes first) and how many there are in all."""
    predicted = validation_predictions(run)
    if predicted is None:
        return np.empty(0, np.int64), np.empty((0, len(run.class_names)), np.float32), 0
    proba = run.extras["val_proba"]
    rows = np.flatnonzero((run.extras["y_val"] == true_class) & (predicted == predicted_class))
    order = rows[np.argsort(-np.nan_to_num(proba[rows, predicted_class]), kind="stable")][:limit]
    return run.extras["val_indices"][order], proba[order], len(rows)


def most_confused_pair(cm: np.ndarray) -> tuple[int, int]:
    """The (true, predicted) cell with the most mistakes (off the diagonal); (0, 0) if none."""
    off = np.array(cm, dtype=np.int64)
    np.fill_diagonal(off, -1)
    if off.size == 0 or off.max() <= 0:
        return 0, 0
    true_class, predicted_class = np.unravel_index(int(off.argmax()), off.shape)
    return int(true_class), int(predicted_class)


def probability_caption(probabilities: np.ndarray, class_names: Sequence[str], top: int = 2) -> str:
    """``"9: 83% · 4: 12%"``: the ``top`` most probable classes of one image."""
    probabilities = np.nan_to_num(np.asarray(probabilities, dtype=np.float64))
    best = np.argsort(-probabilities, kind="stable")[:top]
    return " · ".join(f"{class_names[i]}: {probabilities[i]:.0%}" for i in best)
