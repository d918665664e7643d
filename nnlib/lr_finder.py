"""The learning-rate range test (Leslie Smith, 2015; fastai's ``lr_find``).

Train a *copy* of a network for a few hundred mini-batches while the learning rate grows
exponentially from ``start_lr`` to ``end_lr``; record the loss of each step. Too small a
rate and the loss barely moves; a good one and it falls fast; too large and it explodes.
The curve is smoothed with a bias-corrected exponential moving average (the raw step losses
are noisy), and the test stops itself once the smoothed loss exceeds ``DIVERGE_FACTOR``
times its best value.

The suggestion is fastai's "steepest" point: the rate where the smoothed loss falls
fastest against log(rate), looked for only *before* the loss's minimum (after it, the
loss rises and a steep slope means nothing good).
"""
from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .losses import SoftmaxCrossEntropy
from .model import Sequential
from .optimizers import make_optimizer
from .training import TrainingControl

START_LR = 1e-6
END_LR = 10.0
STEPS = 300
SMOOTHING = 0.98          # weight of the past in the moving average (fastai's beta)
DIVERGE_FACTOR = 4.0      # stop when the smoothed loss exceeds this many times its best
SKIP_START = 10           # points ignored at the start when suggesting (the average warms up)
SKIP_END = 5              # and at the end

Progress = Callable[[int, int, float, float], None]   # (step, steps, learning rate, smoothed loss)


@dataclass
class RangeTestResult:
    """The range test's curve: one entry per step taken, and the suggested rate.

    ``learning_rates`` and ``losses`` (raw) and ``smoothed_losses`` have the same length;
    ``suggested_lr`` is None when the curve is too short or never falls. ``status`` is
    ``"completed"``, ``"diverged"`` (stopped itself: the loss exploded) or ``"stopped"``.
    """

    learning_rates: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed_losses: list[float] = field(default_factory=list)
    suggested_lr: float | None = None
    status: str = "completed"

    def to_dict(self) -> dict:
        return {"suggested_lr": self.suggested_lr, "lrs": self.learning_rates, "losses": self.losses,
                "smoothed_losses": self.smoothed_losses, "status": self.status}


def copy_model(model: Sequential) -> Sequential:
    """An independent copy of ``model`` (weights and metadata), through its own file format."""
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    return Sequential.load(buffer)


def exponential_rates(start_lr: float, end_lr: float, steps: int) -> np.ndarray:
    """``steps`` rates growing by a constant factor from ``start_lr`` to ``end_lr``."""
    if not 0 < start_lr < end_lr:
        raise ValueError(f"expected 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if steps < 2:
        raise ValueError(f"the range test needs at least 2 steps, got {steps}")
    return np.geomspace(start_lr, end_lr, steps)


def smooth(losses: np.ndarray | list[float], beta: float = SMOOTHING) -> np.ndarray:
    """Bias-corrected exponential moving average: ``avg_i / (1 - beta**i)``."""
    values = np.asarray(losses, dtype=np.float64)
    out = np.empty_like(values)
    average = 0.0
    for index, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * value
        out[index - 1] = average / (1 - beta ** index)
    return out


def suggest_learning_rate(learning_rates: np.ndarray | list[float], smoothed_losses: np.ndarray | list[float],
                          skip_start: int = SKIP_START, skip_end: int = SKIP_END) -> float | None:
    """The rate of steepest descent of the smoothed loss against log(rate), before its minimum.

    Returns None when fewer than 3 usable points remain or the loss never falls.
    """
    rates = np.asarray(learning_rates, dtype=np.float64)
    losses = np.asarray(smoothed_losses, dtype=np.float64)
    if rates.shape != losses.shape:
        raise ValueError(f"learning_rates and smoothed_losses differ in length: {rates.shape} vs {losses.shape}")
    end = len(losses) - skip_end if len(losses) - skip_end > skip_start + 2 else len(losses)
    start = skip_start if end - skip_start >= 3 else 0
    rates, losses = rates[start:end], losses[start:end]
    if len(losses) < 3:
        return None
    lowest = int(np.argmin(losses))
    if lowest < 2:
        return None
    slopes = np.gradient(losses[:lowest + 1], np.log(rates[:lowest + 1]))
    steepest = int(np.argmin(slopes))
    return float(rates[steepest]) if slopes[steepest] < 0 else None


def range_test(model: Sequential, x: np.ndarray, y: np.ndarray, *, optimizer: str = "adam",
               momentum: float = 0.9, nesterov: bool = False, l2: float = 0.0, batch_size: int = 128,
               start_lr: float = START_LR, end_lr: float = END_LR, steps: int = STEPS, seed: int = 0,
               progress: Progress | None = None, control: TrainingControl | None = None) -> RangeTestResult:
    """Run the range test on a copy of ``model`` (the original is left untouched).

    ``x`` ``(n, features)`` and ``y`` ``(n,)`` int labels are the training data; each step
    draws a fresh shuffled batch of ``batch_size``. ``progress`` is called after every step;
    ``control.stop`` ends the test early (status ``"stopped"``).
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"expected as many labels as images (and at least one), got {len(x)} and {len(y)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rates = exponential_rates(start_lr, end_lr, steps)
    trial = copy_model(model)
    step_optimizer = make_optimizer(optimizer, start_lr, momentum=momentum, nesterov=nesterov, l2=l2)
    loss_fn = SoftmaxCrossEntropy()
    rng = np.random.default_rng(seed)
    batch = min(batch_size, len(x))
    order = rng.permutation(len(x))
    position = 0
    result = RangeTestResult()
    best = math.inf
    average = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for index, rate in enumerate(rates, start=1):
            if control is not None and control.stop.is_set():
                result.status = "stopped"
                break
            if position + batch > len(x):
                order, position = rng.permutation(len(x)), 0
            rows = order[position:position + batch]
            position += batch
            step_optimizer.learning_rate = float(rate)
            logits = trial.forward(x[rows], training=True)
            loss = loss_fn.forward(logits, y[rows])
            if not math.isfinite(loss):
                result.status = "diverged"
                break
            trial.backward(loss_fn.backward(), input_grad=False)
            step_optimizer.step(trial.layers)
            average = SMOOTHING * average + (1 - SMOOTHING) * loss
            smoothed = average / (1 - SMOOTHING ** index)
            result.learning_rates.append(float(rate))
            result.losses.append(float(loss))
            result.smoothed_losses.append(float(smoothed))
            if progress is not None:
                progress(index, steps, float(rate), float(smoothed))
            best = min(best, smoothed)
            if smoothed > DIVERGE_FACTOR * best:
                result.status = "diverged"
                break
    result.suggested_lr = suggest_learning_rate(result.learning_rates, result.smoothed_losses)
    return result
