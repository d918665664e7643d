"""The training runs the pages show: every run in the store, with this session's details.

Every run is kept in the run store (:mod:`experiments.store`, opened by
:func:`dashboard.jobs.get_store`) as it trains, whichever session or tab started it, and it
outlives a reload or a restart. The pages draw :class:`RunRecord`s: made from a store record
(:func:`run_from_store`, the model loaded only when needed, see :mod:`dashboard.stored_models`),
or kept in the session for a run trained or uploaded here, which also holds what the store
does not (the validation probabilities, the per-class accuracy of every epoch). When the store
cannot be used, the session's runs are all there is and training still works.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import streamlit as st

from experiments.store import COMPLETED, INTERRUPTED, STOPPED, StoreError
from experiments.store import RunRecord as StoredRun
from nnlib.builders import describe_network
from nnlib.preprocessing import PreprocessConfig
from nnlib.training import TrainConfig, TrainResult

from . import jobs, session_budget, state
from .architecture import describe_model
from .session_size import held_bytes

RECENT_RUNS = 50   # the Train page lists the dataset's newest runs, up to this many
MAX_SESSION_RUNS = 16   # runs whose details (model, validation outputs) one session keeps in memory
USABLE_STATUSES = (COMPLETED, STOPPED, INTERRUPTED)   # runs whose model file can answer on Predict
DIGITS = tuple(str(d) for d in range(10))


@dataclass(eq=False)
class RunRecord:
    """One run as the pages draw it.

    ``model`` is None for a run read from the store until :func:`dashboard.stored_models.with_model`
    loads its file; ``result`` is None for an uploaded model; ``stored`` is the store's record
    when it was read from the store; ``in_store`` says the store holds the run (a run of this
    session recorded there, even before it is read back).
    """

    id: str
    name: str
    model: Any  # nnlib.model.Sequential, or None until loaded
    train_config: Any  # nnlib.training.TrainConfig
    preprocess_config: Any  # nnlib.preprocessing.PreprocessConfig
    scaler: Any  # nnlib.preprocessing.Scaler, to turn raw pixels into this model's inputs
    result: Any  # nnlib.training.TrainResult
    dataset_name: str = "MNIST"
    class_names: tuple[str, ...] = DIGITS
    created_at: float = field(default_factory=time.time)
    extras: dict[str, Any] = field(default_factory=dict)
    stored: StoredRun | None = None
    in_store: bool = False

    @property
    def status(self) -> str:
        """``completed``, ``stopped``, ``interrupted``...: the store's status, else the result's;
        ``uploaded`` for an uploaded model."""
        if self.stored is not None:
            return self.stored.status if self.stored.kind != "upload" else "uploaded"
        return self.result.status if self.result is not None else "uploaded"

    @property
    def architecture(self) -> str:
        """``[784, 32, 10]`` as the store records it ("" when unknown and the model is not loaded)."""
        if self.stored is not None and self.stored.architecture:
            return self.stored.architecture
        if self.model is None:
            return ""
        if self.train_config is not None:
            return describe_network(self.train_config, self.model.input_size, len(self.class_names))
        return describe_model(self.model)


def session_runs() -> list[RunRecord]:
    """The runs trained or uploaded in this session, oldest first (at most ``MAX_SESSION_RUNS``)."""
    return st.session_state.setdefault(state.RUNS, [])


def session_runs_note() -> str | None:
    """What the session let go of to stay within its share of the server's memory, or None."""
    return st.session_state.get(state.SESSION_RUNS_NOTE)


def _keep_within_count(kept: list[RunRecord]) -> tuple[list[RunRecord], str | None]:
    """The newest ``MAX_SESSION_RUNS`` runs, and a note when older ones went: the oldest go
    first, those the store keeps before an upload or an unrecorded run that only this session has."""
    dropped: list[RunRecord] = []
    while len(kept) > MAX_SESSION_RUNS:
        victim = next((run for run in kept if run.in_store), kept[0])
        kept = [run for run in kept if run is not victim]
        dropped.append(victim)
    if not dropped:
        return kept, None
    lost = [run.name for run in dropped if not run.in_store]
    return kept, (f"This session keeps the details of its {MAX_SESSION_RUNS} most recent runs in the server's memory, "
                  "which the whole class shares. Older runs stay in the run store (the Runs page, or pick them below)"
                  + (f"; not stored, and now gone from this session: {', '.join(lost)}." if lost else "."))


def add_run(run: RunRecord) -> bool:
    """Keep ``run``'s details in this session (a run with the same id is replaced); False when
    they alone would take the session past its byte limit (:mod:`dashboard.session_budget`).

    To stay within ``MAX_SESSION_RUNS`` runs and the byte limit the session lets go of its
    oldest runs' details; :func:`session_runs_note` then says which.
    """
    kept = session_runs()
    within, note = _keep_within_count([other for other in kept if other.id != run.id] + [run])
    kept[:] = within
    room = session_budget.make_room(kept, state.RUNS, keep=run)
    if not room.fits:
        kept[:] = [other for other in kept if other is not run]
        where = " It stays in the run store (the Runs page, or pick it below)." if run.in_store else ""
        note = session_budget.refusal(f"The details of {run.name}", held_bytes(run), room) + where
    elif room.dropped:
        note = " ".join(filter(None, [note, session_budget.let_go_note(room)]))
    if note:
        st.session_state[state.SESSION_RUNS_NOTE] = note
    return room.fits


def _config(factory: Any, data: dict[str, Any] | None) -> Any:
    """A config from the store's JSON, or None when absent or not understood (an older run)."""
    if not isinstance(data, dict):
        return None
    try:
        return factory.from_dict(data)
    except (TypeError, ValueError, KeyError):
        return None


def run_from_store(record: StoredRun, class_names: tuple[str, ...] = DIGITS) -> RunRecord:
    """A :class:`RunRecord` for a store record; its model is not loaded yet.

    Its result holds what the store keeps: the per-epoch history, the status (``interrupted``
    for a run whose server died), the last epoch's per-class accuracy, test accuracy and time.
    """
    result = None
    if record.kind != "upload":
        result = TrainResult(
            status=record.status, message=record.message, history=record.history,
            per_class_val_accuracy=[record.per_class_accuracy] if record.per_class_accuracy else [],
            epochs_completed=record.epochs_completed, seconds=record.seconds or 0.0,
            samples_per_second=0.0, test_accuracy=record.test_accuracy)
    return RunRecord(id=record.id, name=record.name, model=None,
                     train_config=_config(TrainConfig, record.train_config),
                     preprocess_config=_config(PreprocessConfig, record.preprocess_config),
                     scaler=None, result=result, dataset_name=record.dataset or "MNIST",
                     class_names=tuple(class_names), created_at=record.created_at, stored=record,
                     in_store=True)


def _merged(record: StoredRun, kept: RunRecord | None, class_names: tuple[str, ...]) -> RunRecord:
    """The session's detailed run with the store's current name, tags and status; or the store's."""
    if kept is None:
        return run_from_store(record, class_names)
    return replace(kept, name=record.name, created_at=record.created_at, stored=record, in_store=True)


def listed_runs(dataset_name: str | None = None, class_names: tuple[str, ...] = DIGITS,
                statuses: tuple[str, ...] | None = None, limit: int | None = RECENT_RUNS
                ) -> tuple[list[RunRecord], str | None]:
    """The runs to list, newest first: the store's (of ``dataset_name`` when given, with one of
    ``statuses`` when given, at most ``limit``) and this session's runs the store does not hold.

    Returns ``(runs, problem)``: ``problem`` says why the store could not be read (then only
    this session's runs are listed), else None.
    """
    kept = {run.id: run for run in session_runs()}
    store = jobs.get_store()
    problem = jobs.store_problem()
    records: list[StoredRun] = []
    if store is not None:
        try:
            records = store.list_runs(dataset=dataset_name, status=statuses, limit=limit)
        except StoreError as error:
            problem = str(error)
    listed = [_merged(record, kept.get(record.id), class_names) for record in records]
    for run in kept.values():
        if run.in_store and problem is None:
            continue  # listed from the store when it matches (a deleted run is gone)
        if (dataset_name is None or run.dataset_name == dataset_name) and (statuses is None or run.status in statuses):
            listed.append(run)
    listed.sort(key=lambda run: run.created_at, reverse=True)
    return listed, problem


def find_run(run_id: str | None) -> RunRecord | None:
    """The run with ``run_id``: from the store (with this session's details), else this session's."""
    if not run_id:
        return None
    kept = next((run for run in session_runs() if run.id == run_id), None)
    store = jobs.get_store()
    if store is not None:
        try:
            record = store.get_run(run_id)
        except KeyError:
            return None if kept is not None and kept.in_store else kept
        except StoreError:
            return kept
        return _merged(record, kept, kept.class_names if kept is not None else DIGITS)
    return kept


def get_active_run() -> RunRecord | None:
    """The run the user chose for predictions, or None (a bundled model answers)."""
    return find_run(st.session_state.get(state.ACTIVE_RUN_ID))


def set_active_run(run_id: str | None) -> None:
    """Make ``run_id`` the run the Predict page uses (None: the bundled model)."""
    st.session_state[state.ACTIVE_RUN_ID] = run_id


def next_run_number() -> int:
    """The next run's number in this session (runs are named ``#1 ...``, ``#2 ...``)."""
    number = st.session_state.get(state.TRAIN_RUN_COUNTER, 0) + 1
    st.session_state[state.TRAIN_RUN_COUNTER] = number
    return number


def run_from_output(output: Any, run_id: str) -> RunRecord:
    """A :class:`RunRecord` from a finished job task (``dashboard.jobs.TaskOutput``), named by its label."""
    return RunRecord(
        id=run_id, name=output.label, model=output.model,
        train_config=output.train_config, preprocess_config=output.preprocess_config,
        scaler=output.scaler, result=output.result, dataset_name=output.dataset_name or "MNIST",
        class_names=tuple(output.class_names) or DIGITS, extras=dict(output.extras),
    )


def harvest_job(job: Any) -> list[RunRecord]:
    """Keep the details of the job's finished tasks not yet taken; returns the new runs.

    A task recorded in the store keeps the store's run id; one that was not (no store) gets
    ``<job id>:<index>``. Safe to call on every rerun: each output is taken once per session.
    """
    if job is None:
        return []
    harvested: set = st.session_state.setdefault(state.TRAIN_HARVESTED, set())
    new_runs = []
    for index, output in enumerate(job.outputs):
        key = f"{job.id}:{index}"
        if key in harvested:
            continue
        harvested.add(key)
        run = run_from_output(output, output.run_id or key)
        run.in_store = output.run_id is not None
        new_runs.append(run)
        add_run(run)
    return new_runs
