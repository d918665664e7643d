"""The Runs page's table: which stored runs pass the filters, in which order, as which rows.

Plain functions of the store's records (:class:`experiments.store.RunRecord`), no Streamlit,
so that a test can check every filter and sort without a page.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from experiments.store import RunRecord as StoredRun

# Sort choices: label -> how a record's sort value is read. Runs without a value go last.
SORT_KEYS = {
    "created": lambda run: run.created_at,
    "name": lambda run: run.name.lower(),
    "best val accuracy": lambda run: best_accuracy(run),
    "test accuracy": lambda run: run.test_accuracy,
    "epochs": lambda run: run.epochs_completed,
    "seconds": lambda run: run.seconds,
    "dataset": lambda run: run.dataset,
    "architecture": lambda run: run.architecture,
    "status": lambda run: run.status,
}
UPLOADED = "uploaded"


@dataclass(frozen=True)
class RunFilter:
    """What the user keeps: empty sequences keep everything; ``min_accuracy`` 0 keeps runs
    without an accuracy too (a failed run), above 0 only those that reached it."""

    datasets: Sequence[str] = ()
    architectures: Sequence[str] = ()
    statuses: Sequence[str] = ()
    tags: Sequence[str] = ()
    min_accuracy: float = 0.0

    def keeps(self, run: StoredRun) -> bool:
        """True when ``run`` passes every filter (a run passes the tag filter with any of the tags)."""
        if self.datasets and run.dataset not in self.datasets:
            return False
        if self.architectures and run.architecture not in self.architectures:
            return False
        if self.statuses and shown_status(run) not in self.statuses:
            return False
        if self.tags and not set(self.tags) & set(run.tags):
            return False
        if self.min_accuracy > 0:
            best = best_accuracy(run)
            return best is not None and best >= self.min_accuracy
        return True


def shown_status(run: StoredRun) -> str:
    """The status the table shows: the store's, ``uploaded`` for an uploaded model."""
    return UPLOADED if run.kind == "upload" else run.status


def best_accuracy(run: StoredRun) -> float | None:
    """The run's best validation accuracy over its epochs (its recorded one for an upload); None if none."""
    values = [value for value in run.history.get("val_accuracy", []) if value is not None and math.isfinite(value)]
    if run.val_accuracy is not None and math.isfinite(run.val_accuracy):
        values.append(run.val_accuracy)
    return max(values) if values else None


def filter_options(runs: Sequence[StoredRun]) -> dict[str, list[str]]:
    """The values each filter can take among ``runs``, sorted: datasets, architectures, statuses, tags."""
    return {
        "datasets": sorted({run.dataset for run in runs if run.dataset}),
        "architectures": sorted({run.architecture for run in runs if run.architecture}),
        "statuses": sorted({shown_status(run) for run in runs}),
        "tags": sorted({tag for run in runs for tag in run.tags}),
    }


def filter_runs(runs: Sequence[StoredRun], run_filter: RunFilter) -> list[StoredRun]:
    """The runs ``run_filter`` keeps, in the given order."""
    return [run for run in runs if run_filter.keeps(run)]


def sort_runs(runs: Sequence[StoredRun], column: str, descending: bool = True) -> list[StoredRun]:
    """The runs ordered by ``column`` (a key of ``SORT_KEYS``); runs without a value come last."""
    if column not in SORT_KEYS:
        raise ValueError(f"sort column must be one of {list(SORT_KEYS)}, got {column!r}")
    read = SORT_KEYS[column]
    present = [run for run in runs if read(run) is not None]
    missing = [run for run in runs if read(run) is None]
    return sorted(present, key=read, reverse=descending) + missing


def _when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M") if timestamp else ""


def table_rows(runs: Sequence[StoredRun], active_id: str | None = None) -> list[dict[str, Any]]:
    """One row per run for ``st.dataframe``: what it is, how it ended, how well it did."""
    return [{
        "name": run.name,
        "status": shown_status(run),
        "epochs": run.epochs_completed,
        "best val acc": best_accuracy(run),
        "test acc": run.test_accuracy,
        "dataset": run.dataset,
        "architecture": run.architecture,
        "tags": ", ".join(run.tags),
        "note": run.note,
        "seconds": round(run.seconds, 1) if run.seconds is not None else None,
        "created": _when(run.created_at),
        "active": "✓" if run.id == active_id else "",
        "id": run.id,
    } for run in runs]


def accuracy_from_confusion(confusion: np.ndarray | None) -> float | None:
    """Accuracy from a confusion matrix: its diagonal over its total (None without one)."""
    if confusion is None or confusion.sum() == 0:
        return None
    return float(np.trace(confusion) / confusion.sum())


def comparison_rows(runs: Sequence[StoredRun], confusions: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """The compared runs side by side: final and best validation accuracy, validation loss, the
    recorded test accuracy and the one measured now on the current test set (``confusions``
    by run id), epochs and time."""
    rows = []
    for run in runs:
        val_losses = [value for value in run.history.get("val_loss", []) if value is not None]
        rows.append({
            "run": run.name,
            "architecture": run.architecture,
            "status": shown_status(run),
            "epochs": run.epochs_completed,
            "final val acc": run.val_accuracy,
            "best val acc": best_accuracy(run),
            "final val loss": val_losses[-1] if val_losses else None,
            "test acc (recorded)": run.test_accuracy,
            "test acc (now)": accuracy_from_confusion(confusions.get(run.id)),
            "seconds": round(run.seconds, 1) if run.seconds is not None else None,
        })
    return rows


def confusion_difference(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``first - second`` as int64: positive where the first run put more images in a cell.

    On the diagonal, positive means the first run got more of that class right; off it,
    positive means it made that mistake more often.
    """
    first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    if first.shape != second.shape:
        raise ValueError(f"confusion matrices of different shapes: {first.shape} and {second.shape}")
    return first - second
