"""Fine-tune a model on the personal set (with MNIST replayed) and keep the copy as a new run.

The work function of the Predict page's "Teach it your handwriting" button, UI-free: it
reads the :class:`~experiments.personal_set.PersonalSet`, holds every 4th drawing of each
digit out, scales everything as the model was trained, calls :func:`nnlib.finetune.fine_tune`
and records the copy in the run store (kind ``fine-tune``) with its before/after figures.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlib.calibration import METADATA_KEY
from nnlib.finetune import FineTuneReport, fine_tune, split_personal
from nnlib.model import Sequential
from nnlib.preprocessing import Scaler, flatten
from nnlib.training import TrainingControl

from .personal_set import PersonalSet
from .store import RunStore

MIN_DRAWINGS = 4
REPLAY_POOL = 20_000    # training images the replay draws from (a seeded sample: bounded memory)
FINE_TUNE_KEY = "fine_tune"


@dataclass(frozen=True)
class FineTuneOutcome:
    """The new run's id (None when stopped or without a store) and the before/after report."""

    run_id: str | None
    report: FineTuneReport
    model: Any


def fine_tune_on_personal_set(model: Sequential, scaler: Scaler, dataset: Any, personal: PersonalSet,
                              store: RunStore | None, source_name: str,
                              progress: Callable[[float, str], None] | None = None,
                              control: TrainingControl | None = None) -> FineTuneOutcome:
    """Fine-tune a copy of ``model`` on ``personal`` mixed with ``dataset``'s training images;
    measure the held-out drawings and ``dataset``'s test set before and after; record the copy."""
    images, labels = personal.arrays()
    if len(labels) < MIN_DRAWINGS:
        raise ValueError(f"fine-tuning needs at least {MIN_DRAWINGS} kept drawings, the personal set has {len(labels)}")
    train_at, held_at = split_personal(labels)

    def scaled(pixels: np.ndarray, already_unit: bool) -> np.ndarray:
        return scaler.transform(flatten(pixels), already_unit=already_unit).astype(model.dtype)

    x_personal = scaled(images, True)
    pool = np.sort(np.random.default_rng(0).choice(len(dataset.x_train), min(REPLAY_POOL, len(dataset.x_train)),
                                                    replace=False))
    has_test = dataset.x_test is not None and dataset.y_test is not None
    tuned, report = fine_tune(
        model, x_personal[train_at], labels[train_at], scaled(dataset.x_train[pool], False), dataset.y_train[pool],
        x_held_out=x_personal[held_at], y_held_out=labels[held_at],
        x_reference=scaled(dataset.x_test, False) if has_test else None,
        y_reference=dataset.y_test if has_test else None, progress=progress, control=control)
    if report.status != "completed" or store is None:
        return FineTuneOutcome(None, report, tuned)
    tuned.metadata.pop(METADATA_KEY, None)     # the old temperature was fitted to the old network
    tuned.metadata[FINE_TUNE_KEY] = {**report.to_dict(), "source": source_name}
    metrics = dict(tuned.metadata.get("metrics") or {})
    metrics.update(test_accuracy=report.reference_after, val_accuracy=None, status="completed")
    tuned.metadata["metrics"] = metrics
    note = (f"Fine-tuned from {source_name} on {report.n_trained} personal drawings with MNIST replayed. "
            + _figures(report))
    record = store.import_model(f"{source_name} + my handwriting", tuned, kind="fine-tune",
                                dataset=getattr(dataset, "name", ""), tags=["fine-tune"], note=note)
    return FineTuneOutcome(record.id, report, tuned)


def _figures(report: FineTuneReport) -> str:
    def percent(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    return (f"Held-out personal drawings: {percent(report.personal_before)} -> {percent(report.personal_after)}; "
            f"test set: {percent(report.reference_before)} -> {percent(report.reference_after)}.")
