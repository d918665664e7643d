"""What each layer of a trained network has learned, over many images at once.

A network is read as *stages*: the input, then each convolution or hidden Dense layer with
its activation (and its max-pooling, for a CNN), then the logits. For a set of images
:func:`survey_layers` gives, per stage:

* a 2-D map (PCA, :func:`nnlib.analysis.pca`) of the images as the stage represents them:
  the classes separate as depth grows;
* each unit's value on each image (a Dense unit's activation, a convolution channel's
  largest value anywhere in its map), from which :func:`top_exciting` finds the images
  that excite a unit most;
* how often each unit is active, hence the dead units (never active on these images) and
  the saturated ones (a sigmoid or tanh stuck at its limits).

The images go through the model in batches; only the small per-stage summaries are kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .analysis import pca
from .introspect import ACTIVATION_KINDS, as_network_input
from .losses import softmax
from .model import Sequential

SATURATION_LEVEL = 0.99        # |tanh| above it, or sigmoid within 0.01 of 0 or 1, is saturated
SATURATED_SHARE = 0.99         # a unit saturated on at least this share of the images is "saturated"
SURVEY_BATCH = 256


@dataclass(frozen=True)
class Stage:
    """A stage of the network: layers ``first_index..last_index`` (inclusive).

    ``name``: ``"input"``, ``"conv 1"``, ``"hidden 1"``, ``"logits"``. ``activation``: the
    kind of its activation layer (``"ReLU"``...), None for the input and the logits.
    ``last_index`` is -1 for the input.
    """

    name: str
    first_index: int
    last_index: int
    activation: str | None
    is_convolution: bool


def network_stages(model: Sequential) -> list[Stage]:
    """The model's stages, from the input to the logits.

    A stage starts at a layer with weights (Conv2D or Dense) and runs up to the layer
    before the next one with weights (a BatchNorm, its activation, its pooling), a Flatten
    left out.
    """
    starts = [index for index, layer in enumerate(model.layers) if "W" in layer.params]
    stages = [Stage("input", -1, -1, None, False)]
    conv_count = hidden_count = 0
    for position, start in enumerate(starts):
        end = starts[position + 1] - 1 if position + 1 < len(starts) else len(model.layers) - 1
        while end > start and model.layers[end].kind == "Flatten":   # a CNN stage ends with its feature maps
            end -= 1
        layers = model.layers[start:end + 1]
        activation = next((layer.kind for layer in layers if layer.kind in ACTIVATION_KINDS), None)
        convolution = model.layers[start].is_convolution
        if position == len(starts) - 1:
            name = "logits"
        elif convolution:
            conv_count += 1
            name = f"conv {conv_count}"
        else:
            hidden_count += 1
            name = f"hidden {hidden_count}"
        stages.append(Stage(name, start, end, activation, convolution))
    return stages


@dataclass(frozen=True, eq=False)
class StageSurvey:
    """One stage over the surveyed images.

    ``coords (n, 2)`` and ``explained_variance_ratio (2,)``: the PCA map of the stage's
    output. ``unit_values (n, units)``: each unit's value per image. ``active_fraction`` and
    ``saturated_fraction`` ``(units,)``: the share of images on which each unit is active
    (its activation's output above zero; for sigmoid/tanh, off its limits) or saturated;
    None for the input and the logits, which have no activation.
    """

    stage: Stage
    coords: np.ndarray
    explained_variance_ratio: np.ndarray
    unit_values: np.ndarray
    active_fraction: np.ndarray | None
    saturated_fraction: np.ndarray | None

    @property
    def n_units(self) -> int:
        return int(self.unit_values.shape[1])

    @property
    def dead_units(self) -> np.ndarray:
        """Indices of the units active on none of the images (empty for stages without activation)."""
        if self.active_fraction is None:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(self.active_fraction == 0)

    @property
    def saturated_units(self) -> np.ndarray:
        """Indices of the units saturated on at least ``SATURATED_SHARE`` of the images
        (always empty for ReLU-family activations, which cannot saturate)."""
        if self.saturated_fraction is None:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(self.saturated_fraction >= SATURATED_SHARE)


@dataclass(frozen=True, eq=False)
class LayerSurvey:
    """A model surveyed on images: their ``labels (n,)``, the model's ``probabilities (n, k)``,
    and one :class:`StageSurvey` per stage, input first."""

    labels: np.ndarray
    probabilities: np.ndarray
    stages: tuple[StageSurvey, ...]

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)


def unit_activity(values: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """Per image and unit: is the unit active, is it saturated? Two boolean ``(n, units)`` arrays.

    ``values``: the activation's output ``(n, units)``. ReLU / LeakyReLU: active when the
    output is above zero (LeakyReLU's is negative exactly where its input is), never
    saturated. Sigmoid: saturated within ``1 - SATURATION_LEVEL`` of 0 or 1; Tanh: when
    ``|y| > SATURATION_LEVEL``; active otherwise.
    """
    if activation in ("ReLU", "LeakyReLU"):
        return values > 0, np.zeros(values.shape, dtype=bool)
    if activation == "Sigmoid":
        saturated = np.abs(2 * values - 1) > SATURATION_LEVEL
    elif activation == "Tanh":
        saturated = np.abs(values) > SATURATION_LEVEL
    else:
        raise ValueError(f"unknown activation kind {activation!r}; expected one of {sorted(ACTIVATION_KINDS)}")
    return ~saturated, saturated


def _unit_values(output: np.ndarray) -> np.ndarray:
    """``(n, units)``: Dense outputs as they are; feature maps ``(n, h, w, c)`` by each channel's maximum."""
    if output.ndim == 4:
        return output.max(axis=(1, 2))
    return output.reshape(len(output), -1)


def survey_layers(model: Sequential, x: np.ndarray, labels: np.ndarray, batch_size: int = SURVEY_BATCH,
                  seed: int = 0) -> LayerSurvey:
    """Run ``x`` (network inputs, ``(n, features)``) through the model and summarise every stage.

    ``labels (n,)`` colour the maps. The PCA of each stage is seeded (``seed``): the same
    images give the same maps.
    """
    inputs = as_network_input(model, x)
    labels = np.asarray(labels)
    if len(labels) != len(inputs):
        raise ValueError(f"x has {len(inputs)} samples but labels has {len(labels)}")
    if len(inputs) < 3:
        raise ValueError(f"a layer survey needs at least 3 images, got {len(inputs)}")
    stages = network_stages(model)
    activation_at = {stage.name: activation_index(model, stage) for stage in stages if stage.activation is not None}
    flat: dict[str, list[np.ndarray]] = {stage.name: [] for stage in stages}
    units: dict[str, list[np.ndarray]] = {stage.name: [] for stage in stages}
    active: dict[str, list[np.ndarray]] = {name: [] for name in activation_at}
    saturated: dict[str, list[np.ndarray]] = {name: [] for name in activation_at}
    for start in range(0, len(inputs), batch_size):
        values = inputs[start:start + batch_size]
        outputs = []
        with model.exclusive():
            for layer in model.layers:
                values = layer.forward(values, False)
                outputs.append(values)
        for stage in stages:
            output = inputs[start:start + batch_size] if stage.last_index < 0 else outputs[stage.last_index]
            flat[stage.name].append(np.asarray(output, dtype=np.float32).reshape(len(output), -1))
            units[stage.name].append(_unit_values(np.asarray(output, dtype=np.float32)))
            if stage.name in activation_at:
                is_active, is_saturated = stage_activity(outputs[activation_at[stage.name]], stage.activation)
                active[stage.name].append(is_active)
                saturated[stage.name].append(is_saturated)
    surveys = []
    for stage in stages:
        features = np.concatenate(flat.pop(stage.name))
        components = min(2, *features.shape)
        coords, _, ratio = pca(features, n_components=components, seed=seed)
        if components < 2:
            coords = np.pad(coords, ((0, 0), (0, 2 - components)))
            ratio = np.pad(ratio, (0, 2 - components))
        del features
        fractions = {}
        if stage.name in active:
            fractions["active"] = np.concatenate(active[stage.name]).mean(axis=0)
            fractions["saturated"] = np.concatenate(saturated[stage.name]).mean(axis=0)
        surveys.append(StageSurvey(stage, coords, ratio, np.concatenate(units[stage.name]),
                                   fractions.get("active"), fractions.get("saturated")))
    logits = surveys[-1].unit_values
    probabilities = softmax(np.array(logits, dtype=np.float64)).astype(np.float32)
    return LayerSurvey(labels, probabilities, tuple(surveys))


def activation_index(model: Sequential, stage: Stage) -> int:
    """The index in ``model.layers`` of the stage's activation layer (the stage must have one)."""
    for index in range(stage.first_index, stage.last_index + 1):
        if model.layers[index].kind == stage.activation:
            return index
    raise ValueError(f"stage {stage.name!r} has no activation layer")


def stage_activity(values: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """Active / saturated per image and unit; a channel of a feature map counts as one unit:
    active where any of its pixels is, saturated where all of them are."""
    if values.ndim == 4:
        n, h, w, c = values.shape
        active, saturated = unit_activity(values.reshape(n, h * w, c), activation)
        return np.asarray(active.any(axis=1)), np.asarray(saturated.all(axis=1))
    return unit_activity(values.reshape(len(values), -1), activation)


def top_exciting(unit_values: np.ndarray, unit: int, k: int = 9) -> np.ndarray:
    """Positions (rows of ``unit_values``) of the ``k`` images on which ``unit`` is largest, largest first."""
    unit_values = np.asarray(unit_values)
    if not 0 <= unit < unit_values.shape[1]:
        raise ValueError(f"unit must be in 0..{unit_values.shape[1] - 1}, got {unit}")
    column = unit_values[:, unit]
    k = min(int(k), len(column))
    top = np.argpartition(-column, k - 1)[:k] if k < len(column) else np.arange(len(column))
    return top[np.argsort(-column[top], kind="stable")].astype(np.int64)


def most_confident_mistakes(probabilities: np.ndarray, labels: np.ndarray, k: int = 10) -> np.ndarray:
    """Positions of up to ``k`` misread images, the most confidently wrong first.

    The images where the model is surest of a class that is not the label: the most
    instructive ones to look inside.
    """
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels)
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero((predictions != labels) & (labels >= 0))
    confidence = probabilities[wrong, predictions[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:k].astype(np.int64)


__all__ = ["LayerSurvey", "Stage", "StageSurvey", "activation_index", "most_confident_mistakes", "network_stages",
           "stage_activity", "survey_layers", "top_exciting", "unit_activity"]
