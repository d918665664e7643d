"""Which models the Inside page can open: the bundled ones, the run store's runs and this session's.

Each comes as a :class:`dashboard.models.Predictor` (network, input scaling, class names),
so the page feeds a picture to it exactly as its training images were fed.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from nnlib.model import ModelFileError, Sequential
from nnlib.preprocessing import Scaler

from . import jobs
from .models import INPUT_SIZE, ModelUnavailable, Predictor, active_predictor, available_predictors
from .stored_models import class_names_of

STORE_PREFIX = "Stored run: "
MAX_STORE_RUNS = 20
STORE_STATUSES = ("completed", "stopped", "interrupted")


@st.cache_resource(show_spinner="Loading a stored run's model...", max_entries=8)
def _load_stored(path: str, mtime_ns: int, size: int) -> Sequential:
    """A stored run's model file, read once per (path, modification time, size)."""
    return Sequential.load(path)


def store_run_labels() -> dict[str, str]:
    """``{label: run id}`` of the store's newest runs that have a model file (empty without a store)."""
    store = jobs.get_store()
    if store is None:
        return {}
    labels: dict[str, str] = {}
    for record in store.list_runs(status=STORE_STATUSES, limit=MAX_STORE_RUNS * 2):
        path = Path(record.model_path) if record.model_path else store.model_path(record.id)
        if path.is_file() and len(labels) < MAX_STORE_RUNS:
            labels[f"{STORE_PREFIX}{record.name} ({record.id[:8]})"] = record.id
    return labels


def store_predictor(label: str, run_id: str) -> Predictor:
    """The stored run ``run_id`` as a predictor; :class:`ModelUnavailable` when its file cannot be used."""
    store = jobs.get_store()
    if store is None:
        raise ModelUnavailable(f"The run store cannot be used: {jobs.store_problem()}")
    record = store.get_run(run_id)
    path = Path(record.model_path) if record.model_path else store.model_path(run_id)
    try:
        stat = path.stat()
        model = _load_stored(str(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, ModelFileError) as error:
        raise ModelUnavailable(f"The model of {record.name} cannot be read: {error}") from None
    if model.input_size != INPUT_SIZE:
        raise ModelUnavailable(f"{record.name} expects {model.input_size} inputs, not 784 (28x28 images).")
    return Predictor(label, model, Scaler.from_metadata(model.metadata), class_names_of(model), run_id)


def _offered() -> dict[str, Predictor]:
    """``{label: predictor}``: the bundled models by name, then the runs the Predict page offers
    (the store's newest and this session's), each labelled with its id since names repeat."""
    offered: dict[str, Predictor] = {}
    for predictor in available_predictors():
        label = predictor.name if predictor.run_id is None else f"{STORE_PREFIX}{predictor.name} ({predictor.run_id[:8]})"
        offered.setdefault(label, predictor)
    return offered


def model_choices() -> list[str]:
    """Labels of every model the page can open: the Predict page's choices plus the store's other runs."""
    offered = _offered()
    return list(offered) + [label for label in store_run_labels() if label not in offered]


def default_choice(choices: list[str]) -> str | None:
    """The model the Predict page uses (when it is on offer), else the first one."""
    try:
        active = active_predictor()
    except ModelUnavailable:
        return choices[0] if choices else None
    label = active.name if active.run_id is None else f"{STORE_PREFIX}{active.name} ({active.run_id[:8]})"
    return label if label in choices else (choices[0] if choices else None)


def predictor_named(name: str) -> Predictor:
    """The model labelled ``name`` (one of :func:`model_choices`)."""
    offered = _offered()
    if name in offered:
        return offered[name]
    run_id = store_run_labels().get(name)
    if run_id is None:
        raise ModelUnavailable(f"No model called {name!r} is available any more.")
    return store_predictor(name, run_id)


def choice_for_run(run_id: str) -> str | None:
    """The label under which the page offers run ``run_id`` (None when it offers no such run)."""
    for label, predictor in _offered().items():
        if predictor.run_id == run_id:
            return label
    return next((label for label, stored_id in store_run_labels().items() if stored_id == run_id), None)
