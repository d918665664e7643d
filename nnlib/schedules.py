"""Learning-rate schedules: the learning rate as a function of training progress.

A schedule is called with ``progress`` = epochs done so far as a float (``2.5`` = half
way through the third epoch) and returns the learning rate to use. The training loop
sets ``optimizer.learning_rate`` from it before each step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    """The same learning rate throughout."""

    learning_rate: float

    def __call__(self, progress: float) -> float:
        return self.learning_rate


@dataclass(frozen=True)
class StepDecay:
    """Multiply the rate by ``gamma`` every ``step_epochs`` epochs:
    ``lr * gamma ** floor(progress / step_epochs)``."""

    learning_rate: float
    step_epochs: float = 5.0
    gamma: float = 0.5

    def __call__(self, progress: float) -> float:
        return self.learning_rate * self.gamma ** math.floor(progress / self.step_epochs)


@dataclass(frozen=True)
class Cosine:
    """Cosine annealing from ``learning_rate`` to ``min_learning_rate`` over ``epochs``:
    ``lr_min + (lr - lr_min) * (1 + cos(pi * progress / epochs)) / 2``."""

    learning_rate: float
    epochs: float
    min_learning_rate: float = 0.0

    def __call__(self, progress: float) -> float:
        fraction = min(max(progress / self.epochs, 0.0), 1.0) if self.epochs > 0 else 1.0
        return self.min_learning_rate + (self.learning_rate - self.min_learning_rate) * 0.5 * (
            1.0 + math.cos(math.pi * fraction))


SCHEDULES = ("constant", "step", "cosine")


def make_schedule(name: str, learning_rate: float, epochs: int):
    """A schedule by name: ``"constant"``, ``"step"`` (halve every third of the run, at
    least every epoch) or ``"cosine"`` (to zero over ``epochs``)."""
    name = name.lower()
    if name == "constant":
        return Constant(learning_rate)
    if name == "step":
        return StepDecay(learning_rate, step_epochs=max(1.0, epochs / 3), gamma=0.5)
    if name == "cosine":
        return Cosine(learning_rate, epochs=float(epochs))
    raise ValueError(f"unknown schedule {name!r}; expected one of {list(SCHEDULES)}")
