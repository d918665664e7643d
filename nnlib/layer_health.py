"""How healthy a network's layers are while it trains: gradient sizes and dead units.

The Inside page shows one model's gradients (:func:`nnlib.introspect.training_step`) and
its dead units (:mod:`nnlib.layer_survey`); this module measures the same two things in a
few milliseconds, so that a training run can report them after every epoch:

* each weighted layer's gradient size ``||dL/dW||`` on a fixed batch: a size that falls
  towards zero layer after layer is a vanishing gradient, one that grows is exploding;
* each hidden stage's dead units: units that no image of the batch switches on (a ReLU
  unit whose input is negative for every image; for a convolution, a channel inactive
  everywhere in its map). A dead unit passes no gradient back, so it never recovers.

:func:`layer_health` measures a model; :class:`HealthMonitor` is the training callback
that measures after every epoch on a fixed sample chosen once by seed, and hands a
:class:`HealthEvent` to a listener. Nothing here changes the model's weights.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .introspect import forward_trace, training_step
from .layer_survey import activation_index, network_stages, stage_activity
from .model import Sequential
from .training import EpochEvent

HEALTH_SAMPLE_SIZE = 256   # images the health is measured on: a few ms per epoch for the bundled MLP
HEALTH_SEED = 0            # the sample is the same for every epoch and every run


@dataclass(frozen=True)
class LayerHealth:
    """A model's layer health on a batch of ``samples`` images.

    ``gradient_layers``/``gradient_norms``: each layer with weights (``dense_0``,
    ``conv2d_0``...) and the Euclidean norm of its weight gradient ``dL/dW`` for the
    batch's mean cross-entropy ``loss``. ``hidden_stages``/``dead_units``/``unit_counts``:
    each hidden stage with an activation (``hidden 1``, ``conv 1``...), how many of its
    units the batch never activated, and how many units it has.
    """

    samples: int
    loss: float
    gradient_layers: tuple[str, ...]
    gradient_norms: tuple[float, ...]
    hidden_stages: tuple[str, ...]
    dead_units: tuple[int, ...]
    unit_counts: tuple[int, ...]

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> LayerHealth:
        """The health that :func:`dataclasses.asdict` wrote (lists back to tuples)."""
        return cls(samples=int(fields["samples"]), loss=float(fields["loss"]),
                   gradient_layers=tuple(fields["gradient_layers"]),
                   gradient_norms=tuple(float(v) for v in fields["gradient_norms"]),
                   hidden_stages=tuple(fields["hidden_stages"]),
                   dead_units=tuple(int(v) for v in fields["dead_units"]),
                   unit_counts=tuple(int(v) for v in fields["unit_counts"]))


@dataclass(frozen=True)
class HealthEvent:
    """After epoch ``epoch`` (counted from 1): the model's :class:`LayerHealth`."""

    epoch: int
    health: LayerHealth

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> HealthEvent:
        return cls(epoch=int(fields["epoch"]), health=LayerHealth.from_dict(fields["health"]))


def layer_health(model: Sequential, x: np.ndarray, labels: np.ndarray) -> LayerHealth:
    """Gradient norm of every weighted layer and dead units of every hidden stage, on ``(x, labels)``.

    ``x``: network inputs ``(n, features)`` (or images the model's first layer takes);
    ``labels (n,)``: integer classes. The gradients come from one training step on a copy
    of the model (Dropout off, nothing applied), so the model is left as it was.
    """
    step = training_step(model, x, labels, apply=False)
    weighted = [gradient for gradient in step.layers if "W" in gradient.param_grads]
    trace = forward_trace(model, x)
    stages = [stage for stage in network_stages(model)[1:-1] if stage.activation is not None]
    dead, units = [], []
    for stage in stages:
        active, _ = stage_activity(trace.layers[activation_index(model, stage)].output, str(stage.activation))
        dead.append(int(np.count_nonzero(~active.any(axis=0))))
        units.append(int(active.shape[1]))
    return LayerHealth(samples=len(step.labels), loss=float(step.loss),
                       gradient_layers=tuple(gradient.name for gradient in weighted),
                       gradient_norms=tuple(float(gradient.weight_grad_norm or 0.0) for gradient in weighted),
                       hidden_stages=tuple(stage.name for stage in stages),
                       dead_units=tuple(dead), unit_counts=tuple(units))


def health_sample(n_images: int, size: int = HEALTH_SAMPLE_SIZE, seed: int = HEALTH_SEED) -> np.ndarray:
    """Sorted positions of the ``size`` images (of ``n_images``) the health is measured on."""
    size = min(size, n_images)
    return np.sort(np.random.default_rng(seed).choice(n_images, size=size, replace=False)).astype(np.int64)


class HealthMonitor:
    """A training callback: after every epoch, :func:`layer_health` of ``model`` on a fixed
    sample of ``(x, labels)``, handed to ``listener`` as a :class:`HealthEvent`.

    The sample (``sample_size`` images, chosen once with ``seed``) is the same at every
    epoch, so the curves show the network changing, not the images.
    """

    def __init__(self, model: Sequential, x: np.ndarray, labels: np.ndarray,
                 listener: Callable[[HealthEvent], None], sample_size: int = HEALTH_SAMPLE_SIZE,
                 seed: int = HEALTH_SEED) -> None:
        labels = np.asarray(labels)
        if len(x) != len(labels):
            raise ValueError(f"x has {len(x)} samples but labels has {len(labels)}")
        if len(labels) == 0:
            raise ValueError("the health sample needs at least one image, got none")
        chosen = health_sample(len(labels), sample_size, seed)
        self.model = model
        self.x = np.ascontiguousarray(np.asarray(x)[chosen], dtype=model.dtype)
        self.labels = labels[chosen].astype(np.int64)
        self.listener = listener

    def __call__(self, event: Any) -> None:
        if isinstance(event, EpochEvent):
            with np.errstate(over="ignore", invalid="ignore"):
                health = layer_health(self.model, self.x, self.labels)
            self.listener(HealthEvent(event.epoch, health))


__all__ = ["HEALTH_SAMPLE_SIZE", "HealthEvent", "HealthMonitor", "LayerHealth", "health_sample", "layer_health"]
