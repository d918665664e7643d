"""The Streamlit side of training: one job registry, one run store, one executor per server.

The job runner itself is UI-free and lives in :mod:`experiments.jobs` (registry, jobs,
statuses, the cap), :mod:`experiments.executors` (where a task trains) and
:mod:`experiments.tasks` (a task recorded in the run store). This module holds them in
``st.cache_resource``, so every session of the server shares one fair queue, and re-exports
the names the pages use (``jobs.TrainingJob``, ``jobs.PAUSED``...).

The run store is optional for the pages: when its folder or database cannot be used,
:func:`get_store` returns None, :func:`store_problem` says why, and training still works
(its runs are just not kept). The executor follows the settings ``MNIST_LAB_BACKEND`` and
``MNIST_LAB_RAY_ADDRESS``; when Ray is asked for but unusable, training stays local and
:func:`executor_problem` says why.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from experiments import tasks
from experiments.executors import APP_BLAS_THREADS, Executor, ExecutorError, LocalExecutor, executor_from_environment
from experiments.jobs import (
    ACTIVE_STATUSES,
    COMPLETED,
    DIVERGED,
    FAILED,
    FINISHED_STATUSES,
    MAX_RUNNING_JOBS,
    PAUSED,
    QUEUED,
    RUNNING,
    STOPPED,
    JobRegistry,
    JobSnapshot,
    JobTask,
    Progress,
    TaskOutput,
    TrainingJob,
    new_job_id,
)
from experiments.store import RunStore, StoreError

__all__ = ["ACTIVE_STATUSES", "APP_BLAS_THREADS", "COMPLETED", "DIVERGED", "FAILED", "FINISHED_STATUSES",
           "MAX_RUNNING_JOBS", "PAUSED", "QUEUED", "RUNNING", "STOPPED", "JobRegistry", "JobSnapshot", "JobTask",
           "Progress", "TaskOutput", "TrainingJob", "executor_problem", "get_executor", "get_registry",
           "get_store", "new_job_id", "reset_store", "store_problem", "train_tasks"]


@st.cache_resource(show_spinner=False)
def get_registry() -> JobRegistry:
    """The server's job registry: one per Streamlit server process, shared by every session."""
    return JobRegistry()


@st.cache_resource(show_spinner=False)
def _store_or_problem() -> tuple[RunStore | None, str | None]:
    try:
        return RunStore(), None
    except StoreError as error:
        return None, str(error)


def get_store() -> RunStore | None:
    """The server's run store (``MNIST_LAB_HOME``), or None when it cannot be used."""
    return _store_or_problem()[0]


def store_problem() -> str | None:
    """Why the run store cannot be used (for ``st.warning``), or None when it can."""
    return _store_or_problem()[1]


@st.cache_resource(show_spinner=False)
def _executor_or_problem() -> tuple[Executor, str | None]:
    try:
        return executor_from_environment(), None
    except (ExecutorError, ValueError) as error:
        return LocalExecutor(), f"Training runs locally: {error}"


def get_executor() -> Executor:
    """The executor the settings choose (local child processes unless Ray is configured)."""
    return _executor_or_problem()[0]


def executor_problem() -> str | None:
    """Why the configured executor is not in use, or None."""
    return _executor_or_problem()[1]


def train_tasks(dataset: Any, preprocess_config: Any, configs: list[tuple[str, Any]]) -> list[JobTask]:
    """The Train page's tasks: one per ``(label, TrainConfig)``, on the server's executor,
    each saved as a run in the store as it trains (when the store can be used)."""
    return tasks.train_tasks(dataset, preprocess_config, configs, executor=get_executor(), store=get_store())


def reset_store() -> None:
    """Forget the opened store: the next :func:`get_store` opens ``MNIST_LAB_HOME`` again
    (after the user fixed or moved the folder; each test uses its own)."""
    _store_or_problem.clear()
