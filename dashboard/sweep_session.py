"""This session's sweep, seen from the Sweep page: find it, start, stop or resume it, and act
on its best trial.

A :class:`~experiments.sweep.Sweep` runs in a thread of the server and records everything in
the run store; the page only starts it and reads its snapshots. The server keeps the
sweeps started from the page in one :class:`SweepHolder` (``st.cache_resource``), keyed by
an unguessable token that the session keeps (and the URL, as ``?sweep=``), so a refresh
re-attaches and no session can reach another's sweep by guessing. Every trial is a job of
the server's one :class:`~experiments.jobs.JobRegistry`, so sweeps of several sessions
share its cap in turn.
"""
from __future__ import annotations

import secrets
import threading
from typing import Any

import streamlit as st

from experiments.space import SearchSpace
from experiments.sweep import Sweep, SweepSettings
from nnlib.data import available_datasets

from . import jobs, runs, state, sweep_controls, train_controls
from .data import cached_dataset, current_dataset

QUERY_SWEEP = "sweep"       # the URL parameter that holds this session's sweep token
TOKEN_BYTES = 18
MAX_KEPT_SWEEPS = 32        # finished sweeps kept in the holder (their records stay in the store)


class SweepHolder:
    """The sweeps started from the page, by token (thread-safe). Finished ones beyond
    ``max_kept`` are dropped, oldest first; the store keeps them for good."""

    def __init__(self, max_kept: int = MAX_KEPT_SWEEPS) -> None:
        self.max_kept = max_kept
        self._lock = threading.Lock()
        self._sweeps: dict[str, Sweep] = {}

    def add(self, sweep: Sweep) -> str:
        """Keep ``sweep``; returns its new unguessable token."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._lock:
            self._sweeps[token] = sweep
            finished = [key for key, kept in self._sweeps.items() if not is_running(kept)]
            for key in finished[:max(0, len(finished) - self.max_kept)]:
                del self._sweeps[key]
        return token

    def get(self, token: str | None) -> Sweep | None:
        if not token:
            return None
        with self._lock:
            return self._sweeps.get(token)

    def running(self) -> list[Sweep]:
        with self._lock:
            return [sweep for sweep in self._sweeps.values() if is_running(sweep)]

    def stop_all(self, timeout: float | None = None) -> bool:
        """Stop every running sweep and wait for it; True when all have ended."""
        sweeps = self.running()
        for sweep in sweeps:
            sweep.stop()
        return all(sweep.join(timeout) for sweep in sweeps)


@st.cache_resource(show_spinner=False)
def get_holder() -> SweepHolder:
    """The server's sweep holder: one per Streamlit server process, shared by every session."""
    return SweepHolder()


def is_running(sweep: Sweep | None) -> bool:
    """Whether ``sweep`` is still searching (its thread has not ended)."""
    return sweep is not None and not sweep.join(timeout=0)


def attach_sweep() -> Sweep | None:
    """This session's sweep: from the session, or from the URL after a refresh."""
    holder = get_holder()
    sweep = holder.get(st.session_state.get(state.SWEEP_TOKEN))
    token = st.session_state.get(state.SWEEP_TOKEN)
    if sweep is None:
        token = st.query_params.get(QUERY_SWEEP)
        sweep = holder.get(token)
    st.session_state[state.SWEEP_TOKEN] = token if sweep is not None else None
    if sweep is not None:
        st.query_params[QUERY_SWEEP] = token
    elif QUERY_SWEEP in st.query_params:
        del st.query_params[QUERY_SWEEP]
    return sweep


def current_sweep() -> Sweep | None:
    return get_holder().get(st.session_state.get(state.SWEEP_TOKEN))


def _keep(sweep: Sweep) -> None:
    """Start ``sweep``'s thread and make it this session's sweep."""
    sweep.start()
    token = get_holder().add(sweep)
    st.session_state[state.SWEEP_TOKEN] = token
    st.session_state[state.SWEEP_OPENED] = None
    st.query_params[QUERY_SWEEP] = token


def start_sweep() -> None:
    """Start button: a sweep of the form's space and settings on the sidebar's dataset.

    Does nothing (but say why) when the form is invalid, the store cannot be used, or this
    session's sweep is still running.
    """
    st.session_state[state.SWEEP_START_ERROR] = None
    if is_running(current_sweep()):
        return
    store = jobs.get_store()
    if store is None:
        st.session_state[state.SWEEP_START_ERROR] = f"Sweeps need the run store: {jobs.store_problem()}"
        return
    dataset = current_dataset()
    try:
        space, settings = sweep_controls.plan_from_values(st.session_state, dataset.name)  # type: ignore[arg-type]  # SessionStateProxy is a Mapping[str | int, Any]
        sweep = Sweep(store, space, settings, dataset=dataset, executor=jobs.get_executor(),
                      registry=jobs.get_registry())
    except (ValueError, TypeError) as error:
        st.session_state[state.SWEEP_START_ERROR] = f"Nothing was started: {error}"
        return
    _keep(sweep)


def stop_sweep() -> None:
    """Stop button: running trials stop, no new one starts; the sweep can be resumed."""
    sweep = current_sweep()
    if sweep is not None:
        sweep.stop()


def resume_sweep(sweep_id: str) -> None:
    """A Resume button: run the rest of an interrupted or stopped sweep's budget."""
    st.session_state[state.SWEEP_START_ERROR] = None
    if is_running(current_sweep()):
        st.session_state[state.SWEEP_START_ERROR] = "Stop this session's running sweep before resuming another."
        return
    store = jobs.get_store()
    if store is None:
        st.session_state[state.SWEEP_START_ERROR] = f"Sweeps need the run store: {jobs.store_problem()}"
        return
    try:
        dataset = dataset_of(SweepSettings.from_dict(store.get_sweep(sweep_id).settings).dataset)
        sweep = Sweep.resume(store, sweep_id, dataset=dataset, executor=jobs.get_executor(),
                             registry=jobs.get_registry())
    except (ValueError, TypeError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        st.session_state[state.SWEEP_START_ERROR] = f"Could not resume sweep {sweep_id}: {message}"
        return
    _keep(sweep)


def dataset_of(name: str) -> Any:
    """The dataset a stored sweep trained on, by its name (ValueError when this server lacks it)."""
    for available in available_datasets():
        if available.lower() == name.lower():
            return cached_dataset(available)
    raise ValueError(f"it trained on {name!r}, which this server cannot load (it offers "
                     f"{', '.join(available_datasets())}); an uploaded file is not kept with the sweep")


def best_train_config(space: SearchSpace, settings: SweepSettings, params: dict[str, Any]) -> Any:
    """The TrainConfig a trial with ``params`` trained with (its epochs and seed included)."""
    return space.train_config(params, epochs=settings.epochs, seed=settings.seed)


def load_into_train(space: SearchSpace, settings: SweepSettings, params: dict[str, Any]) -> list[str]:
    """Set the Train page's controls to the trial's configuration; the notes of any value moved
    to the nearest one the Train controls offer (kept for the page to show)."""
    config, notes = train_controls.nearest_shown_config(best_train_config(space, settings, params))
    train_controls.apply_config(config)
    st.session_state[state.SWEEP_TRAIN_NOTE] = notes
    return notes


def make_predict_model(run_id: str) -> None:
    """Make the store's run ``run_id`` the Predict page's model."""
    runs.set_active_run(run_id)
