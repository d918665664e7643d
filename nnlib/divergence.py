"""When a training run has diverged: not only a NaN, also a loss far above where it started,
or an accuracy stuck at chance.

A learning rate too large for the optimiser rarely ends in a NaN at once: momentum at
rate 1 on MNIST reaches a loss of millions and then settles at chance (9.8%) with every
ReLU dead, and SGD at 10 ends at a loss of tens of thousands; both finished "completed"
before. A rate too *small* also leaves the accuracy near chance for a while, but its loss
never rose: that is slow learning, not divergence, and it is left alone.
:class:`DivergenceGuard` watches the losses and accuracies the loop already has and says
when to stop, and why.

The reference is the loss of the very first step, measured before any update, but never
below the loss of guessing uniformly (``ln n_classes``): a model trained further from a
checkpoint starts low, and its noise must not read as divergence.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

STEP_LOSS_FACTOR = 100.0      # one batch's loss this many times the reference: diverged at once
EPOCH_LOSS_FACTOR = 10.0      # an epoch's mean loss this many times the reference: diverged
CHANCE_MARGIN = 1.5           # accuracy below CHANCE_MARGIN / n_classes counts as chance ...
UNIFORM_LOSS_FRACTION = 0.9   # ... when the loss is also no better than 0.9 x ln(n_classes) ...
PEAK_LOSS_FACTOR = 2.0        # ... after a batch's loss rose to this many times the reference
                              # (a rate too small also sits at chance, but its loss never rose) ...
STUCK_MIN_EPOCHS = 2          # ... after at least this many epochs
STUCK_MIN_STEPS = 20          # ... and this many optimiser steps


@dataclass
class DivergenceGuard:
    """Watches one :func:`nnlib.training.fit`: ``step`` after every batch, ``epoch`` after every
    epoch; each returns True when the run has diverged, leaving the reason in ``reason``
    (``blew_up``: the loss did, so the weights of that epoch are worthless)."""

    n_classes: int
    reference: float | None = None
    steps: int = 0
    peak: float = 0.0
    reason: str = ""
    blew_up: bool = False

    @property
    def uniform_loss(self) -> float:
        """The cross-entropy of guessing every class with the same probability."""
        return math.log(max(self.n_classes, 2))

    def step(self, loss: float) -> bool:
        """After one batch: a loss that is not finite or ``STEP_LOSS_FACTOR`` times the reference."""
        self.steps += 1
        self.peak = max(self.peak, loss) if math.isfinite(loss) else self.peak
        if not math.isfinite(loss):
            self.reason, self.blew_up = "the loss became NaN or infinite", True
            return True
        if self.reference is None:
            self.reference = max(loss, self.uniform_loss)
            return False
        if loss > STEP_LOSS_FACTOR * self.reference:
            self.reason = (f"a batch's loss rose to {loss:.3g}, more than {STEP_LOSS_FACTOR:g} times its "
                           f"starting value ({self.reference:.3g})")
            self.blew_up = True
            return True
        return False

    def epoch(self, epoch: int, train_loss: float, train_accuracy: float, val_accuracy: float) -> bool:
        """After one epoch: a mean loss ``EPOCH_LOSS_FACTOR`` times the reference, or accuracy at chance."""
        if self.reference is not None and train_loss > EPOCH_LOSS_FACTOR * self.reference:
            self.reason = (f"the epoch's mean loss rose to {train_loss:.3g}, more than {EPOCH_LOSS_FACTOR:g} "
                           f"times its starting value ({self.reference:.3g})")
            self.blew_up = True
            return True
        chance = CHANCE_MARGIN / self.n_classes
        accuracies = [train_accuracy] + ([val_accuracy] if math.isfinite(val_accuracy) else [])
        rose = self.reference is not None and self.peak > PEAK_LOSS_FACTOR * self.reference
        if (epoch >= STUCK_MIN_EPOCHS and self.steps >= STUCK_MIN_STEPS and rose and max(accuracies) < chance
                and train_loss >= UNIFORM_LOSS_FRACTION * self.uniform_loss):
            self.reason = (f"the loss rose to {self.peak:.3g} and then the accuracy stayed at chance "
                           f"({max(accuracies):.1%} for {self.n_classes} classes, loss {train_loss:.3g}: no better "
                           f"than guessing) after {epoch} epochs")
            return True
        return False
