"""TrainConfig: every choice of network and optimiser for one training run, JSON-able.

Its own module so that the network builders (:mod:`nnlib.builders`) and the training
loop (:mod:`nnlib.training`) can both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    """Every choice of network and optimiser, JSON-able (``to_dict``/``from_dict``).

    ``batch_size=None`` means full batch: one step per epoch over all training samples,
    as the seed study did (150 "iterations" = 150 epochs of one step).
    ``conv_channels`` empty is an MLP; ``(16, 32)`` puts two 5x5 convolution + 2x2
    max-pool stages before the Dense layers of ``hidden_sizes`` (a CNN, :func:`nnlib.builders.build_cnn`).
    ``batch_norm`` puts a :class:`~nnlib.normalization.BatchNorm` between every hidden
    Dense or Conv2D layer and its activation.
    """

    hidden_sizes: tuple[int, ...] = (256, 128, 64)
    conv_channels: tuple[int, ...] = ()
    activation: str = "relu"
    init: str = "he"
    dropout: float = 0.0
    batch_norm: bool = False
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    batch_size: int | None = 128
    epochs: int = 10
    l2: float = 0.0
    schedule: str = "constant"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        object.__setattr__(self, "conv_channels", tuple(int(c) for c in self.conv_channels))
        if not isinstance(self.batch_norm, bool):
            raise TypeError(f"batch_norm must be True or False, got {self.batch_norm!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None (full batch), got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        data["conv_channels"] = list(self.conv_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
