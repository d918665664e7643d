"""From a :class:`~nnlib.data.Dataset` to training arrays, by one small explicit config.

The seed study's pipeline, in order: take a subset, shuffle with a seed, split into
train and validation (80/20), scale pixels from 0-255 to 0-1, and one-hot the
labels. The study then transposed the images to columns, ``(784, m)``; nnlib keeps
samples in rows, ``(m, 784)``, the layout of NumPy, scikit-learn and PyTorch, so
``X @ W`` multiplies a batch by a weight matrix of shape ``(in, out)``. The two are
the same numbers read along different axes: ``X_rows == X_columns.T``.

The Preprocess page shows each step; the Train page trains on the very same
:class:`PreprocessConfig`, so what a user previewed is what the network learns from.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .augment import AugmentConfig
from .data import PIXELS, Dataset

SCALINGS = ("unit", "standardize", "none")
SCALING_LABELS = {
    "unit": "0-255 to 0-1 (divide by 255)",
    "standardize": "standardise (zero mean, unit variance)",
    "none": "none (raw 0-255)",
}


@dataclass(frozen=True)
class Scaler:
    """How raw pixels (0-255) become network inputs; kept with a model for inference.

    ``unit``: ``x / 255``. ``standardize``: ``(x / 255 - mean) / std`` with one mean and
    one standard deviation over all training pixels. ``none``: the raw values as floats.
    """

    method: str = "unit"
    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, method: str, x_train: np.ndarray) -> Scaler:
        """Learn the statistics ``method`` needs from raw training pixels."""
        if method not in SCALINGS:
            raise ValueError(f"unknown scaling {method!r}; expected one of {SCALINGS}")
        if method != "standardize":
            return cls(method)
        unit = np.asarray(x_train, dtype=np.float32) / np.float32(255)
        std = float(unit.std())
        return cls(method, float(unit.mean()), std if std > 0 else 1.0)

    def transform(self, x: np.ndarray, *, already_unit: bool = False) -> np.ndarray:
        """Scale raw pixels (uint8 0-255, any shape) into float32 network inputs.

        ``already_unit=True`` says ``x`` is already in 0-1 (a drawing from the Predict page).
        """
        x = np.asarray(x, dtype=np.float32)
        if self.method == "none":
            return x * np.float32(255) if already_unit else x.copy()
        unit = x if already_unit else x * np.float32(1 / 255)
        if self.method == "unit":
            return unit.copy() if already_unit else unit
        return (unit - np.float32(self.mean)) * np.float32(1 / self.std)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaler:
        return cls(str(data.get("method", "unit")), float(data.get("mean", 0.0)), float(data.get("std", 1.0)))

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None) -> Scaler:
        """The scaler a model was trained with, from its ``metadata["preprocessing"]["scaler"]``
        (what :func:`nnlib.training.train` stores); ``unit`` when the metadata does not say."""
        preprocessing = (metadata or {}).get("preprocessing")
        scaler = preprocessing.get("scaler") if isinstance(preprocessing, dict) else None
        return cls.from_dict(scaler) if isinstance(scaler, dict) else cls("unit")

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Back from network inputs to 0-1 pixels: the inverse of ``transform``, in 0-1 units."""
        if self.method == "none":
            return x * np.float32(1 / 255)
        if self.method == "standardize":
            return x * np.float32(self.std) + np.float32(self.mean)
        return x


@dataclass(frozen=True)
class PreprocessConfig:
    """Every choice between the raw dataset and the arrays a network trains on.

    ``train_size``: use the first N training images (the seed study had 42,000);
    ``None`` uses all. ``val_fraction``: share held out for validation after a
    shuffle seeded by ``seed``. ``scaling``: one of ``SCALINGS``. ``augment``: an
    :class:`nnlib.augment.AugmentConfig` applied to training batches, or ``None``.
    """

    train_size: int | None = None
    val_fraction: float = 0.2
    seed: int = 0
    scaling: str = "unit"
    augment: AugmentConfig | None = None

    def __post_init__(self) -> None:
        if self.train_size is not None and self.train_size < 2:
            raise ValueError(f"train_size must be at least 2, got {self.train_size}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.scaling not in SCALINGS:
            raise ValueError(f"unknown scaling {self.scaling!r}; expected one of {SCALINGS}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["augment"] = None if self.augment is None else asdict(self.augment)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessConfig:
        augment = data.get("augment")
        if augment:
            augment = AugmentConfig(**augment)
        train_size = data.get("train_size")
        return cls(
            train_size=None if train_size is None else int(train_size),
            val_fraction=float(data.get("val_fraction", 0.2)),
            seed=int(data.get("seed", 0)),
            scaling=str(data.get("scaling", "unit")),
            augment=augment or None,
        )


SEED_STUDY_CONFIG = PreprocessConfig(train_size=42_000, val_fraction=0.2, seed=0, scaling="unit")


@dataclass(frozen=True, eq=False)
class PreparedData:
    """Training-ready arrays, samples in rows: ``x_* float32 (n, 784)``, ``y_* int64 (n,)``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    config: PreprocessConfig
    scaler: Scaler
    class_names: tuple[str, ...]
    dataset_name: str = ""
    train_indices: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    val_indices: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def split_sizes(n: int, val_fraction: float) -> tuple[int, int]:
    """Sizes of (train, validation) for ``n`` samples: validation is ``round(n * val_fraction)``."""
    n_val = int(round(n * val_fraction))
    return n - n_val, n_val


def shuffled_indices(n: int, seed: int | np.random.Generator) -> np.ndarray:
    """A seeded permutation of ``range(n)``: the shuffle of the seed study."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.permutation(n)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` with ``seed`` and cut it into (train, validation) indices."""
    order = shuffled_indices(n, seed)
    n_train, _ = split_sizes(n, val_fraction)
    return order[:n_train], order[n_train:]


def shuffle_split(
    x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle ``(x, y)`` together and split them: returns ``x_train, y_train, x_val, y_val``."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
    order = shuffled_indices(len(x), seed)
    n_train, _ = split_sizes(len(x), val_fraction)
    train, val = order[:n_train], order[n_train:]
    return x[train], y[train], x[val], y[val]


def one_hot(y: np.ndarray, n_classes: int, dtype: type = np.float32) -> np.ndarray:
    """Labels ``(n,)`` to one-hot rows ``(n, n_classes)``: a 1 at the label's index, 0 elsewhere."""
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must be in 0..{n_classes - 1}, found {y.min()}..{y.max()}")
    encoded: np.ndarray = np.zeros((len(y), n_classes), dtype=dtype)
    encoded[np.arange(len(y)), y] = 1
    return encoded


def flatten(images: np.ndarray) -> np.ndarray:
    """``(n, 28, 28)`` images to ``(n, 784)`` rows (a view when possible)."""
    return np.asarray(images).reshape(len(images), PIXELS)


def prepare(dataset: Dataset, config: PreprocessConfig = PreprocessConfig()) -> PreparedData:
    """Apply ``config`` to ``dataset``: subset, shuffle, split, scale; test set scaled alike.

    Labels of -1 (a CSV without a label column) cannot be trained on and are refused.
    """
    n_total = len(dataset.x_train)
    n = n_total if config.train_size is None else min(config.train_size, n_total)
    if dataset.y_train[:n].min(initial=0) < 0:
        raise ValueError(f"{dataset.name}: the training images have no labels")
    train_idx, val_idx = split_indices(n, config.val_fraction, config.seed)
    if len(train_idx) == 0:
        raise ValueError("no training images left after the split")
    images = dataset.x_train
    scaler = Scaler.fit(config.scaling, flatten(images[train_idx]))
    x_test = y_test = None
    if dataset.has_test:
        x_test = scaler.transform(flatten(dataset.x_test))
        y_test = dataset.y_test
    return PreparedData(
        x_train=scaler.transform(flatten(images[train_idx])),
        y_train=dataset.y_train[train_idx],
        x_val=scaler.transform(flatten(images[val_idx])),
        y_val=dataset.y_train[val_idx],
        x_test=x_test,
        y_test=y_test,
        config=config,
        scaler=scaler,
        class_names=dataset.class_names,
        dataset_name=dataset.name,
        train_indices=train_idx,
        val_indices=val_idx,
    )

