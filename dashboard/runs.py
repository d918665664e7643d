"""The training runs of one browser session: kept, listed, capped, and one of them active.

A run is what the Train page leaves behind when a job ends (taken from the job by
:func:`harvest_job`) or an uploaded model: its configs, its history, its trained model.
The Predict page asks for the active run's model, and falls back to the bundled default
model when there is none.
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
    """This session's run with ``run_id``, or None."""
    return next((run for run in get_runs() if run.id == run_id), None)


def get_active_run() -> RunRecord | None:
    """The run the user chose for predictions, or None (use the bundled default model)."""
    return find_run(st.session_state.get(state.ACTIVE_RUN_ID))


def set_active_run(run_id: str | None) -> None:
    """Make ``run_id`` the run the Predict page uses (None: the bundled model)."""
    st.session_state[state.ACTIVE_RUN_ID] = run_id


def next_run_number() -> int:
    """The next run's number in this session (runs are named ``#1 ...``, ``#2 ...``)."""
    number = st.session_state.get(state.TRAIN_RUN_COUNTER, 0) + 1
    st.session_state[state.TRAIN_RUN_COUNTER] = number
    return number


def run_from_output(output: Any, run_id: str, number: int) -> RunRecord:
    """A :class:`RunRecord` from a finished job task (``dashboard.jobs.TaskOutput``)."""
    return RunRecord(
        id=run_id, name=f"#{number} {output.label}", model=output.model,
        train_config=output.train_config, preprocess_config=output.preprocess_config,
        scaler=output.scaler, result=output.result, dataset_name=output.dataset_name or "MNIST",
        class_names=tuple(output.class_names) or tuple(str(d) for d in range(10)),
        extras=dict(output.extras),
    )


def harvest_job(job: Any) -> tuple[list[RunRecord], list[RunRecord]]:
    """Add the job's finished tasks not yet taken to this session's runs.

    Returns ``(new_runs, dropped_runs)``; a note about dropped runs is kept for the page.
    Safe to call on every rerun: each task output is taken once per session.
    """
    if job is None:
        return [], []
    harvested: set = st.session_state.setdefault(state.TRAIN_HARVESTED, set())
    new_runs, dropped = [], []
    for index, output in enumerate(job.outputs):
        run_id = f"{job.id}:{index}"
        if run_id in harvested:
            continue
        harvested.add(run_id)
        run = run_from_output(output, run_id, next_run_number())
        new_runs.append(run)
        dropped += add_run(run)
    if dropped:
        st.session_state[state.TRAIN_DROPPED_NOTE] = (
            f"Only the last {MAX_RUNS} runs are kept: dropped "
            + ", ".join(run.name for run in dropped) + ".")
    return new_runs, dropped
