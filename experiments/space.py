"""What a sweep searches: hyperparameter ranges as data, checked, and turned into configs.

A :class:`SearchSpace` maps hyperparameter names (``SEARCHABLE``) to a :class:`Param`: a
float or int range (optionally on a log scale) or a list of choices. Everything it does not
search comes from ``fixed`` (any :class:`nnlib.training.TrainConfig` field, plus ``depth``,
``width`` and ``architecture``). Networks follow the seed study's family: ``depth`` hidden
layers, the first ``width`` units wide, each next one half as wide (256, 128, 64).

It converts to and from plain dicts (JSON in the store, TOML on the command line), to
Optuna distributions, and, for a grid search, to lists of values (``grid_points`` per
numeric range, log-spaced on a log scale).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlib.training import TrainConfig

SEARCHABLE = ("learning_rate", "depth", "width", "batch_size", "dropout", "l2", "optimizer", "schedule",
              "architecture")
ARCHITECTURES = ("mlp", "cnn")
CNN_CHANNELS = (16, 32)           # the Train page's CNN preset: two 5x5 conv + pool stages
DEFAULT_GRID_POINTS = 4
_INTEGER_PARAMS = ("depth", "width", "batch_size")
_TRAIN_FIELDS = set(TrainConfig.__dataclass_fields__)


@dataclass(frozen=True)
class Param:
    """One searched hyperparameter: ``kind`` is ``"float"``, ``"int"`` or ``"choice"``.

    Ranges use ``low``/``high`` (inclusive) and ``log``; choices use ``choices``.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    @classmethod
    def float_range(cls, low: float, high: float, log: bool = False) -> Param:
        return cls("float", float(low), float(high), log)

    @classmethod
    def int_range(cls, low: int, high: int, log: bool = False) -> Param:
        return cls("int", int(low), int(high), log)

    @classmethod
    def choice(cls, *choices: Any) -> Param:
        return cls("choice", choices=tuple(choices))

    def check(self, name: str) -> None:
        """ValueError naming ``name`` when the range is impossible or the choices empty."""
        if self.kind == "choice":
            if not self.choices:
                raise ValueError(f"{name}: the list of choices is empty; give at least one value")
            return
        if self.kind not in ("float", "int"):
            raise ValueError(f"{name}: kind must be 'float', 'int' or 'choice', got {self.kind!r}")
        if self.low is None or self.high is None or not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"{name}: a range needs finite min and max, got {self.low} and {self.high}")
        if self.low > self.high:
            raise ValueError(f"{name}: min {self.low:g} is above max {self.high:g}")
        if self.log and self.low <= 0:
            raise ValueError(f"{name}: a log-scale range needs min > 0, got {self.low:g}")

    def distribution(self) -> Any:
        """The Optuna distribution of this parameter."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(self.choices)
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(self.low, self.high, log=self.log)

    def grid(self, points: int) -> list[Any]:
        """The values a grid search tries: the choices, or ``points`` values spread over the range."""
        if self.kind == "choice":
            return list(self.choices)
        spread = np.geomspace if self.log else np.linspace
        values = spread(self.low, self.high, points)
        if self.kind == "int":
            return sorted({int(round(value)) for value in values})
        return sorted({float(f"{value:.6g}") for value in values})

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "choice":
            return {"values": list(self.choices)}
        return {"type": self.kind, "min": self.low, "max": self.high, "log": self.log}

    @classmethod
    def from_dict(cls, name: str, data: Any) -> Param:
        """From ``{"values": [...]}`` or ``{"min": a, "max": b, "log": bool, "type": "int"|"float"}``."""
        if not isinstance(data, dict):
            raise TypeError(f"{name}: expected a table with 'values' or 'min'/'max', got {data!r}")
        if "values" in data:
            return cls.choice(*data["values"])
        if "min" not in data or "max" not in data:
            raise ValueError(f"{name}: a range needs both 'min' and 'max' (got keys {sorted(data)})")
        kind = data.get("type") or ("int" if name in _INTEGER_PARAMS else "float")
        maker = cls.int_range if kind == "int" else cls.float_range
        return maker(data["min"], data["max"], bool(data.get("log", False)))


@dataclass(frozen=True)
class SearchSpace:
    """Searched hyperparameters (``params``) and the fixed rest (``fixed``); checked on creation."""

    params: dict[str, Param]
    fixed: dict[str, Any] = field(default_factory=dict)
    grid_points: int = DEFAULT_GRID_POINTS

    def __post_init__(self) -> None:
        if not self.params:
            raise ValueError("the search space is empty: choose at least one hyperparameter to search "
                             f"(one of {', '.join(SEARCHABLE)})")
        for name, param in self.params.items():
            if name not in SEARCHABLE:
                raise ValueError(f"cannot search {name!r}; searchable: {', '.join(SEARCHABLE)}")
            param.check(name)
        unknown = set(self.fixed) - _TRAIN_FIELDS - {"depth", "width", "architecture"}
        if unknown:
            raise ValueError(f"unknown fixed setting(s) {sorted(unknown)}; expected TrainConfig fields, "
                             "depth, width or architecture")
        if self.grid_points < 2:
            raise ValueError(f"grid_points must be >= 2, got {self.grid_points}")
        self.train_config({name: _first(param) for name, param in self.params.items()})  # fails early

    def distributions(self) -> dict[str, Any]:
        return {name: param.distribution() for name, param in self.params.items()}

    def grid(self) -> dict[str, list[Any]]:
        return {name: param.grid(self.grid_points) for name, param in self.params.items()}

    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid().values())

    def train_config(self, params: dict[str, Any], **overrides: Any) -> TrainConfig:
        """The TrainConfig of one trial: ``fixed``, then the trial's ``params``, then ``overrides``."""
        values = {**self.fixed, **params, **overrides}
        architecture = values.pop("architecture", "mlp")
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        depth, width = values.pop("depth", None), values.pop("width", None)
        if depth is not None or width is not None:
            current = tuple(values.get("hidden_sizes") or TrainConfig().hidden_sizes)
            depth = int(depth if depth is not None else len(current))
            width = int(width if width is not None else current[0])
            values["hidden_sizes"] = tuple(max(1, width // 2 ** layer) for layer in range(depth))
        if architecture == "cnn":
            values.setdefault("conv_channels", CNN_CHANNELS)
        else:
            values["conv_channels"] = ()
        if "batch_size" in values and values["batch_size"] is not None:
            values["batch_size"] = int(values["batch_size"])
        return TrainConfig(**values)

    def to_dict(self) -> dict[str, Any]:
        return {"params": {name: param.to_dict() for name, param in self.params.items()},
                "fixed": dict(self.fixed), "grid_points": self.grid_points}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchSpace:
        """From :meth:`to_dict`'s form (or a TOML file's ``[space]``/``[fixed]`` tables)."""
        params = {name: Param.from_dict(name, value) for name, value in (data.get("params") or {}).items()}
        return cls(params, dict(data.get("fixed") or {}), int(data.get("grid_points", DEFAULT_GRID_POINTS)))


def _first(param: Param) -> Any:
    if param.kind == "choice":
        return param.choices[0]
    return int(param.low) if param.kind == "int" else param.low


# ---------------------------------------------------------------------- the preset
LR_WIDTH_SPACE = SearchSpace(
    params={"learning_rate": Param.float_range(1e-3, 3.0, log=True),
            "width": Param.int_range(32, 256, log=True)},
    fixed={"optimizer": "sgd", "depth": 3, "batch_size": 32, "activation": "relu", "init": "he"},
)
"""Learning rate x width on the seed study's MLP family ([784, w, w/2, w/4, 10]) with plain
SGD. From 0.001 (too slow for two epochs) through the working range (about 0.05-0.5) to 3,
where the loss blows up: the map shows where training diverges and where it works."""

PRESETS = {"lr-width": LR_WIDTH_SPACE}
