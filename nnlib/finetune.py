"""Teach a trained network a new handwriting without making it forget MNIST.

Fine-tuning on a few dozen personal drawings alone would bend the network towards them and
away from everything else ("catastrophic forgetting"). So each epoch mixes the personal
drawings, repeated ``personal_repeats`` times, with a fresh random sample of the original
training images (*experience replay*), and the steps are small (Adam at a low learning
rate). The original model is left as it was: a copy is trained.

:func:`split_personal` holds some drawings out, so the lift is measured on drawings the
copy never trained on; :func:`fine_tune` returns the copy and a before/after report.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .lr_finder import copy_model
from .model import Sequential
from .optimizers import Adam
from .training import StepEvent, TrainingControl, fit

LEARNING_RATE = 2e-4
EPOCHS = 6
REPLAY_PER_EPOCH = 3000      # original training images mixed in each epoch
PERSONAL_REPEATS = 20        # each personal drawing appears this many times per epoch
BATCH_SIZE = 64
HELD_OUT_EVERY = 4           # every 4th drawing of a class is held out for the "after" check

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class FineTuneReport:
    """Accuracies before and after fine-tuning (None where there was nothing to measure)."""

    personal_before: float | None
    personal_after: float | None
    reference_before: float | None
    reference_after: float | None
    n_trained: int
    n_held_out: int
    status: str = "completed"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def split_personal(labels: np.ndarray, every: int = HELD_OUT_EVERY) -> tuple[np.ndarray, np.ndarray]:
    """Positions to train on and to hold out: within each class, every ``every``-th drawing
    (the 4th, 8th, ...) is held out, so each class with at least ``every`` drawings is tested."""
    labels = np.asarray(labels, dtype=np.int64)
    if every < 2:
        raise ValueError(f"every must be >= 2, got {every}")
    held = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        positions = np.flatnonzero(labels == label)
        held[positions[every - 1::every]] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def _accuracy(model: Sequential, x: np.ndarray | None, y: np.ndarray | None) -> float | None:
    if x is None or y is None or len(y) == 0:
        return None
    return float(np.mean(model.predict(x) == np.asarray(y)))


def fine_tune(model: Sequential, x_personal: np.ndarray, y_personal: np.ndarray, x_replay: np.ndarray,
              y_replay: np.ndarray, *, x_held_out: np.ndarray | None = None, y_held_out: np.ndarray | None = None,
              x_reference: np.ndarray | None = None, y_reference: np.ndarray | None = None,
              epochs: int = EPOCHS, learning_rate: float = LEARNING_RATE, replay_per_epoch: int = REPLAY_PER_EPOCH,
              personal_repeats: int = PERSONAL_REPEATS, batch_size: int = BATCH_SIZE, seed: int = 0,
              progress: Progress | None = None,
              control: TrainingControl | None = None) -> tuple[Sequential, FineTuneReport]:
    """Fine-tune a copy of ``model`` on personal drawings mixed with replayed training images.

    All ``x_*`` are network inputs ``(n, features)`` (already scaled as the model expects);
    ``y_*`` int labels. ``(x_held_out, y_held_out)`` are personal drawings kept out of training
    and ``(x_reference, y_reference)`` the original test set: both are measured before and after.
    """
    x_personal, y_personal = np.asarray(x_personal), np.asarray(y_personal, dtype=np.int64)
    if len(x_personal) == 0 or len(x_personal) != len(y_personal):
        raise ValueError(f"expected personal drawings with one label each, got {len(x_personal)} drawings "
                         f"and {len(y_personal)} labels")
    if len(x_replay) == 0:
        raise ValueError("replay needs some of the original training images; got none")
    if epochs < 1 or personal_repeats < 1:
        raise ValueError(f"epochs and personal_repeats must be >= 1, got {epochs} and {personal_repeats}")
    tuned = copy_model(model)
    personal_before = _accuracy(model, x_held_out, y_held_out)
    reference_before = _accuracy(model, x_reference, y_reference)
    rng = np.random.default_rng(seed)
    optimizer = Adam(learning_rate)
    control = control or TrainingControl()
    status = "completed"
    for epoch in range(epochs):
        replay = rng.choice(len(x_replay), size=min(replay_per_epoch, len(x_replay)), replace=False)
        x_mix = np.concatenate([np.repeat(x_personal, personal_repeats, axis=0), x_replay[replay]])
        y_mix = np.concatenate([np.repeat(y_personal, personal_repeats), np.asarray(y_replay)[replay]])

        def relay(event: object, epoch: int = epoch) -> None:
            if progress is not None and isinstance(event, StepEvent):
                done = (epoch + event.step / event.steps_per_epoch) / epochs
                progress(done, f"epoch {epoch + 1}/{epochs}, loss {event.loss:.3f}")

        result = fit(tuned, x_mix, y_mix, optimizer=optimizer, batch_size=batch_size, epochs=1,
                     seed=rng, callbacks=[relay], control=control)
        if result.status != "completed":
            status = result.status
            break
    report = FineTuneReport(personal_before, _accuracy(tuned, x_held_out, y_held_out), reference_before,
                            _accuracy(tuned, x_reference, y_reference), len(y_personal),
                            0 if y_held_out is None else len(y_held_out), status)
    return tuned, report
