"""Which model answers on the Predict page, and what it answers.

The active run (chosen on the Train page, the Runs page or here; any run of the store with
a model file, an interrupted run's checkpoint included) when there is one, else a bundled model: the default
MLP (``data/models/default.npz``) or, when chosen, the bundled CNN (``data/models/cnn.npz``),
each loaded once per server with ``st.cache_resource`` and reloaded when its file changes.
Each model comes with the input scaling it was trained with (its
:class:`~nnlib.preprocessing.Scaler`), so a drawing is fed to it exactly as its training
images were.
"""
from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

import nnlib
from nnlib.calibration import calibrated_proba
from nnlib.model import ModelFileError, Sequential
from nnlib.preprocessing import Scaler

from . import state
from .runs import USABLE_STATUSES, get_active_run, listed_runs, set_active_run
from .stored_models import RunModelUnavailable, class_names_of, with_model

APP_ROOT = Path(__file__).resolve().parent.parent
# MNIST_LAB_DEFAULT_MODEL in the environment points the app at another model file.
DEFAULT_MODEL_PATH = Path(os.environ.get("MNIST_LAB_DEFAULT_MODEL")
                          or getattr(nnlib, "DEFAULT_MODEL_PATH", APP_ROOT / "data" / "models" / "default.npz"))
DEFAULT_MODEL_NAME = "Bundled MLP (default)"
CNN_MODEL_PATH = Path(os.environ.get("MNIST_LAB_CNN_MODEL") or APP_ROOT / "data" / "models" / "cnn.npz")
CNN_MODEL_NAME = "Bundled CNN"
INPUT_SIZE = 28 * 28
# The default model is one object shared by every session (st.cache_resource), and nnlib's
# layers keep their last forward pass for the backward one: one reading at a time, so that
# a saliency map is never computed from another session's activations. A reading takes ~1 ms.
_READING_LOCK = threading.Lock()
MODEL_READING_LOCK = _READING_LOCK   # the same lock, for other readers of these models (robustness, fooling)
PICKER_RUNS = 10   # the store's newest usable runs offered in the model picker (plus the active one)
HOW_TO_REBUILD = ("Rebuild it with `make model` (or the `python -m nnlib train --preset ...` lines in "
                  "data/models/README.md).")


class ModelUnavailable(RuntimeError):
    """No model can answer: the default file is missing or damaged and no run is active."""


@dataclass(frozen=True, eq=False)
class Predictor:
    """A model ready for the Predict page: the network, its input scaling, its labels."""

    name: str
    model: Sequential
    scaler: Scaler
    class_names: tuple[str, ...]
    run_id: str | None = None  # None: the bundled default model

    @property
    def is_default(self) -> bool:
        return self.run_id is None


@dataclass(frozen=True, eq=False)
class Prediction:
    """A model's answer on one 28x28 image.

    ``probabilities``: float32 ``(k,)``, summing to 1. ``label`` and ``runner_up``: class
    indices of the two most probable classes. ``saliency``: float32 ``(28, 28)``, the
    gradient of the predicted class's logit with respect to each input pixel.
    ``network_input``: float32 ``(28, 28)``, the image after the model's own scaling.
    """

    probabilities: np.ndarray
    label: int
    runner_up: int
    saliency: np.ndarray
    network_input: np.ndarray

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.label])


@st.cache_resource(show_spinner="Loading a bundled model...", max_entries=4)
def _load_bundled(path: str, mtime_ns: int, size: int) -> Sequential:
    """A bundled model file, read once per (path, modification time, size)."""
    return Sequential.load(path)


def _bundled_predictor(name: str, path: Path, what: str) -> Predictor:
    """The model file at ``path`` as a predictor; :class:`ModelUnavailable` naming ``what``
    and the problem when the file is missing, damaged or not for 28x28 images."""
    if not path.is_file():
        raise ModelUnavailable(f"The {what} file `{path.name}` is missing from `{path.parent}`. {HOW_TO_REBUILD}")
    stat = path.stat()
    try:
        model = _load_bundled(str(path), stat.st_mtime_ns, stat.st_size)
    except ModelFileError as error:
        raise ModelUnavailable(f"The {what} file is damaged or not an nnlib model: {error}. {HOW_TO_REBUILD}") from None
    if model.input_size != INPUT_SIZE:
        raise ModelUnavailable(f"The {what} expects {model.input_size} inputs, not 784 (28x28). {HOW_TO_REBUILD}")
    metadata = model.metadata or {}
    return Predictor(name, model, Scaler.from_metadata(metadata), class_names_of(model))


def default_predictor(path: str | Path | None = None) -> Predictor:
    """The bundled default model (or the one at ``path``); :class:`ModelUnavailable` with a
    clear message if it cannot be used."""
    return _bundled_predictor(DEFAULT_MODEL_NAME, Path(path if path is not None else DEFAULT_MODEL_PATH),
                              "default model")


def bundled_cnn_predictor(path: str | Path | None = None) -> Predictor | None:
    """The bundled CNN (``data/models/cnn.npz``), or None when that optional file is absent
    or unusable (the default MLP still answers)."""
    try:
        return _bundled_predictor(CNN_MODEL_NAME, Path(path if path is not None else CNN_MODEL_PATH), "bundled CNN")
    except ModelUnavailable:
        return None


def recorded_accuracy_note(predictor: Predictor | None) -> str:
    """`` (98.9% on MNIST's test digits)`` from the model's own recorded metrics; empty when it has none."""
    if predictor is None:
        return ""
    accuracy = ((predictor.model.metadata or {}).get("metrics") or {}).get("test_accuracy")
    return f" ({100 * float(accuracy):.1f}% on MNIST's test digits)" if isinstance(accuracy, (int, float)) else ""


def bundled_models_note() -> str:
    """The model picker's words on the models that come with the app, with the accuracy each file records."""
    try:
        default_note = recorded_accuracy_note(default_predictor())
    except ModelUnavailable:
        default_note = ""
    cnn = bundled_cnn_predictor()
    note = f"the default MLP{default_note}"
    if cnn is not None:
        note += f" and a CNN{recorded_accuracy_note(cnn)}, which reads drawings better still"
    return note


def run_predictor(run: Any) -> Predictor:
    """A training run (:class:`dashboard.runs.RunRecord`) as a predictor, its model loaded
    from the store if needed (:class:`RunModelUnavailable` when it has none)."""
    run = with_model(run)
    scaler = run.scaler if isinstance(run.scaler, Scaler) else Scaler.from_metadata(run.model.metadata or {})
    return Predictor(run.name, run.model, scaler, tuple(run.class_names), run.id)


def _usable(run: Any) -> Predictor | None:
    """The run as a predictor when its model loads and reads 28x28 images, else None."""
    try:
        predictor = run_predictor(run)
    except RunModelUnavailable:
        return None
    return predictor if predictor.model.input_size == INPUT_SIZE else None


def active_predictor() -> Predictor:
    """The model the page uses: the active run's, else the chosen bundled model (the CNN
    when chosen and present), else the bundled default."""
    run = get_active_run()
    predictor = _usable(run) if run is not None else None
    if predictor is not None:
        return predictor
    if st.session_state.get(state.PREDICT_BUNDLED_MODEL) == CNN_MODEL_NAME:
        cnn = bundled_cnn_predictor()
        if cnn is not None:
            return cnn
    return default_predictor()


def predictor_key(predictor: Predictor) -> str:
    """What the model picker keeps for a predictor: the run's id, or the bundled model's name."""
    return predictor.run_id or predictor.name


def choose_predictor(key: str) -> None:
    """Make the model with ``key`` (a run id or a bundled model's name) the one that answers."""
    if key in (DEFAULT_MODEL_NAME, CNN_MODEL_NAME):
        set_active_run(None)
        st.session_state[state.PREDICT_BUNDLED_MODEL] = key
    else:
        set_active_run(key)


def available_predictors() -> list[Predictor]:
    """The models the picker offers: the store's newest usable runs (completed, stopped or
    interrupted, with a model file for 28x28 images; the active run always), then the bundled
    models that load."""
    listed, _ = listed_runs(statuses=USABLE_STATUSES + ("uploaded",), limit=PICKER_RUNS)
    active = get_active_run()
    if active is not None and active.id not in {run.id for run in listed}:
        listed.insert(0, active)
    predictors = [predictor for predictor in map(_usable, listed) if predictor is not None]
    with contextlib.suppress(ModelUnavailable):  # a missing default is explained where it is chosen
        predictors.append(default_predictor())
    cnn = bundled_cnn_predictor()
    if cnn is not None:
        predictors.append(cnn)
    return predictors


def predict(predictor: Predictor, image: np.ndarray) -> Prediction:
    """Scale a 28x28 image (0-1, white ink) as the model was trained, and read it.

    Returns the probabilities, the two best classes and the saliency map of the best one.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.shape != (28, 28):
        raise ValueError(f"expected a 28x28 image, got shape {image.shape}")
    network_input = predictor.scaler.transform(image.reshape(1, INPUT_SIZE), already_unit=True).astype(np.float32)
    with _READING_LOCK:
        probabilities = calibrated_proba(predictor.model, network_input)[0]   # logits / T when calibrated
        order = np.argsort(probabilities)[::-1]
        label, runner_up = int(order[0]), int(order[1])
        saliency = predictor.model.input_gradient(network_input, label)[0]
    return Prediction(probabilities, label, runner_up, saliency.reshape(28, 28).astype(np.float32),
                      network_input.reshape(28, 28))
