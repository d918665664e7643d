"""The training runs of one browser session: kept, listed, capped, and one of them active.

A run is what the Train page leaves behind when a job ends: its configs, its history,
its trained model. The Predict page asks for the active run's model, and falls back
to the bundled default model when there is none.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from . import state

MAX_RUNS = 12


@dataclass(eq=False)
class RunRecord:
    """One finished (completed, stopped or diverged) training run."""

    id: str
    name: str
    model: Any  # nnlib.model.Sequential
    train_config: Any  # nnlib.training.TrainConfig
    preprocess_config: Any  # nnlib.preprocessing.PreprocessConfig
    scaler: Any  # nnlib.preprocessing.Scaler, to turn raw pixels into this model's inputs
    result: Any  # nnlib.training.TrainResult
    dataset_name: str = "MNIST"
    class_names: tuple[str, ...] = tuple(str(d) for d in range(10))
    created_at: float = field(default_factory=time.time)
    extras: dict[str, Any] = field(default_factory=dict)


def get_runs() -> list[RunRecord]:
    """This session's runs, oldest first."""
    return st.session_state.setdefault(state.RUNS, [])


def add_run(run: RunRecord) -> list[RunRecord]:
    """Keep ``run``; drop the oldest beyond ``MAX_RUNS`` and return the dropped ones."""
    runs = get_runs()
    runs.append(run)
    dropped = []
    while len(runs) > MAX_RUNS:
        dropped.append(runs.pop(0))
    if st.session_state.get(state.ACTIVE_RUN_ID) in {r.id for r in dropped}:
        st.session_state[state.ACTIVE_RUN_ID] = None
    return dropped


def find_run(run_id: str | None) -> RunRecord | None:
    return next((run for run in get_runs() if run.id == run_id), None)


def get_active_run() -> RunRecord | None:
    """The run the user chose for predictions, or None (use the bundled default model)."""
    return find_run(st.session_state.get(state.ACTIVE_RUN_ID))


def set_active_run(run_id: str | None) -> None:
    st.session_state[state.ACTIVE_RUN_ID] = run_id
