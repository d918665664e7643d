"""The models of stored runs, loaded when a page needs them, and what they answer.

A run read from the store arrives without its model (:func:`dashboard.runs.run_from_store`);
:func:`with_model` loads the file (cached per server by path and modification time, so a
checkpoint that changes is read again), :func:`with_validation` adds its validation outputs
on the current dataset (the confusion matrix of the Train page), and
:func:`test_confusion` is its confusion matrix on the current dataset's test set (the Runs
page's comparison), cached per run.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import streamlit as st

from nnlib.data import Dataset
from nnlib.metrics import confusion_matrix
from nnlib.model import ModelFileError, Sequential
from nnlib.preprocessing import Scaler, flatten

from . import jobs
from .data import n_features
from .model_files import validation_outputs
from .runs import RunRecord

MODEL_CACHE_ENTRIES = 32


class RunModelUnavailable(ValueError):
    """A run's model file is missing or cannot be read (the message names the run and why)."""


@st.cache_resource(show_spinner="Loading a run's model...", max_entries=MODEL_CACHE_ENTRIES)
def _load_model_file(path: str, mtime_ns: int, size: int) -> Sequential:
    """A model file, read once per (path, modification time, size)."""
    return Sequential.load(path)


def model_file(run: RunRecord) -> Path | None:
    """Where the run's model file is (its checkpoint for an interrupted run), or None."""
    store = jobs.get_store()
    if run.stored is not None and run.stored.model_path and Path(run.stored.model_path).is_file():
        return Path(run.stored.model_path)
    if store is not None and store.model_path(run.id).is_file():
        return store.model_path(run.id)
    return None


def class_names_of(model: Sequential, fallback: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The class names a model's metadata gives, else ``fallback`` when it has the right
    length, else ``"0"``, ``"1"``, ...: one name per output of the model."""
    n_classes = model.n_classes or 10
    names = (model.metadata or {}).get("class_names")
    if isinstance(names, (list, tuple)) and len(names) == n_classes:
        return tuple(str(name) for name in names)
    return fallback if len(fallback) == n_classes else tuple(str(index) for index in range(n_classes))


def load_run_model(run: RunRecord) -> Sequential:
    """The run's model from its file; :class:`RunModelUnavailable` when there is none or it is damaged."""
    path = model_file(run)
    if path is None:
        raise RunModelUnavailable(f"run {run.name!r} has no model file (status {run.status})")
    stat = path.stat()
    try:
        return _load_model_file(str(path), stat.st_mtime_ns, stat.st_size)
    except ModelFileError as error:
        raise RunModelUnavailable(f"the model file of run {run.name!r} cannot be read: {error}") from None


def with_model(run: RunRecord) -> RunRecord:
    """``run`` with its model, input scaling and class names (loaded from the store if needed)."""
    if run.model is not None:
        return run
    model = load_run_model(run)
    return replace(run, model=model, scaler=Scaler.from_metadata(model.metadata),
                   class_names=class_names_of(model, tuple(run.class_names)))


@st.cache_resource(show_spinner="Computing the run's validation outputs...", max_entries=8)
def _cached_validation(run_id: str, model_key: tuple, dataset_key: tuple, _run: RunRecord,
                       _dataset: Dataset) -> dict[str, np.ndarray]:
    return validation_outputs(_run.model, _run.scaler, _dataset, _run.preprocess_config)


def with_validation(run: RunRecord, dataset: Dataset) -> RunRecord:
    """``run`` (model loaded) with its validation outputs when they can be computed: the run was
    trained on ``dataset`` with a known split. A run of this session already has them."""
    if "val_proba" in run.extras or run.preprocess_config is None or run.dataset_name != dataset.name:
        return run
    if run.model.input_size != n_features(dataset) or run.model.n_classes != dataset.n_classes:
        return run
    path = model_file(run)
    model_key = (str(path), path.stat().st_mtime_ns) if path is not None else (id(run.model),)
    outputs = _cached_validation(run.id, model_key, (dataset.name, len(dataset.x_train)), run, dataset)
    return replace(run, extras={**run.extras, **outputs})


def fits(model: Sequential, dataset: Dataset) -> bool:
    """True when the model takes the dataset's images and answers with its classes."""
    return model.input_size == n_features(dataset) and model.n_classes == dataset.n_classes


@st.cache_resource(show_spinner="Reading the test set with a run's model...", max_entries=32)
def _cached_test_confusion(run_id: str, model_key: tuple, dataset_key: tuple, _model: Sequential,
                           _scaler: Scaler, _dataset: Dataset) -> np.ndarray:
    x_test, y_test = _dataset.x_test, _dataset.y_test
    if x_test is None or y_test is None:
        raise ValueError(f"{_dataset.name} has no test set")
    with np.errstate(over="ignore", invalid="ignore"):  # Sequential.predict works in batches
        predicted = _model.predict(_scaler.transform(flatten(x_test)))
    matrix = confusion_matrix(np.asarray(y_test, dtype=np.int64), predicted, _dataset.n_classes)
    matrix.setflags(write=False)
    return matrix


def test_confusion(run: RunRecord, dataset: Dataset) -> np.ndarray:
    """The run's confusion matrix ``(k, k)`` (rows = true class) on ``dataset``'s test set.

    Computed once per run id and model file. Raises :class:`RunModelUnavailable` without a
    model and ValueError when the dataset has no test set or the model does not fit it.
    """
    if not dataset.has_test:
        raise ValueError(f"{dataset.name} has no test set to compare the runs on")
    loaded = with_model(run)
    if not fits(loaded.model, dataset):
        raise ValueError(f"run {run.name!r} takes {loaded.model.input_size} inputs and {loaded.model.n_classes} "
                         f"classes; {dataset.name} has {n_features(dataset)} pixels and {dataset.n_classes} classes")
    path = model_file(run)
    model_key = (str(path), path.stat().st_mtime_ns) if path is not None else (id(loaded.model),)
    scaler = loaded.scaler if isinstance(loaded.scaler, Scaler) else Scaler.from_metadata(loaded.model.metadata)
    n_test = 0 if dataset.y_test is None else len(dataset.y_test)
    return _cached_test_confusion(run.id, model_key, (dataset.name, n_test), loaded.model, scaler, dataset)
