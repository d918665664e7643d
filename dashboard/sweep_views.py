"""What the Sweep page draws: the executor in use, a sweep's progress and trials, its results,
and the sweeps of the store (interrupted ones to resume, past ones to open).

Every view reads a :class:`~experiments.sweep_report.SweepSnapshot` (from the running
:class:`~experiments.sweep.Sweep`, or from the store for any other sweep), so a live sweep
and a finished one look the same. Each view takes a ``prefix`` for its widget and chart
keys ("current_", "past_"): two views on one page never share a key.
"""
from __future__ import annotations

import os
from datetime import datetime

import streamlit as st

from experiments.executors import BACKEND_VARIABLE
from experiments.records import RUNNING
from experiments.space import SearchSpace
from experiments.store import RunStore
from experiments.sweep import SweepSettings
from experiments.sweep_report import SweepSnapshot, interrupted_sweeps, parameter_importances, sweep_snapshot

from . import jobs, state, sweep_charts, sweep_session, train_charts
from .training_job import format_seconds

EXECUTOR_NAMES = {"local": "the local executor (a child process per trial on this machine)",
                  "ray": "Ray (a task per trial on the Ray cluster)"}


def executor_notice() -> bool:
    """Say which executor runs the trials; when Ray was asked for but cannot be used, say why
    (the executor's message names the install command or the unreachable address) and offer
    the local executor. True when trials may start."""
    executor, problem = jobs.get_executor(), jobs.executor_problem()
    if problem is None:
        where = EXECUTOR_NAMES.get(executor.name, executor.name)
        address = getattr(executor, "address", None)
        st.caption(f"Trials run on **{where}**{f' at {address}' if address else ''} "
                   f"(set by `{BACKEND_VARIABLE}`).")
        return True
    configured = os.environ.get(BACKEND_VARIABLE, "")
    st.warning(f"**The backend asked for (`{BACKEND_VARIABLE}={configured}`) cannot be used.** {problem}.", icon="⚠️")
    return st.checkbox("Run the trials on this machine instead (the local executor)", key=state.SWEEP_USE_LOCAL)


def status_line(snapshot: SweepSnapshot) -> None:
    """How far the sweep is, how it ended, and where its trials stand in the server's queue."""
    counts = snapshot.counts
    finished = sum(counts.get(status, 0) for status in ("completed", "pruned", "failed", "diverged"))
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "no trials yet"
    best = f" · best val accuracy **{snapshot.best.val_accuracy:.4f}** (trial #{snapshot.best.number})" \
        if snapshot.best is not None else ""
    if snapshot.status == RUNNING:
        st.progress(min(1.0, finished / snapshot.budget) if snapshot.budget else 0.0,
                    text=f"**{snapshot.name}**: {finished} of {snapshot.budget} trials finished · "
                         f"{format_seconds(snapshot.seconds)}{best}")
        registry = jobs.get_registry().counts()
        st.caption(f"Trials: {summary}. Server queue: {registry['running']} of {jobs.get_registry().max_running} "
                   f"training slots busy, {registry['queued']} network(s) waiting (every session's, first come "
                   "first served). " + snapshot.message)
        return
    text = f"**{snapshot.name}** ({snapshot.status}): {summary}{best}. {snapshot.message}"
    if snapshot.status == "completed":
        st.success(text, icon="✅")
    elif snapshot.status in ("stopped", "interrupted"):
        st.warning(text, icon="⏹")
    else:
        st.error(text, icon="🛑")


def trials_views(snapshot: SweepSnapshot, space: SearchSpace, prefix: str) -> None:
    """Parallel coordinates, best so far, the trials table, and one trial's curves."""
    if not snapshot.trials:
        st.info("No trial has started yet.")
        return
    drawn = sum(sweep_charts.is_drawn(trial) for trial in snapshot.trials)
    st.plotly_chart(sweep_charts.parallel_coordinates(snapshot.trials, space, uirevision=snapshot.sweep_id),
                    key=prefix + state.SWEEP_PARCOORDS_CHART, width="stretch")
    st.caption(f"One line per trial ({drawn} of {len(snapshot.trials)} so far), coloured by its validation "
               f"accuracy; a trial that diverged or failed ends in grey at “{sweep_charts.NO_ACCURACY_LABEL}”. "
               "Drag along an axis to pick a range. Trials still waiting for their first epoch are in the "
               "table only.")
    chart_col, table_col = st.columns([1, 1.6])
    with chart_col:
        st.plotly_chart(sweep_charts.best_so_far(snapshot), key=prefix + state.SWEEP_BEST_CHART, width="stretch")
    with table_col:
        st.dataframe(sweep_charts.trial_rows(snapshot.trials, space), hide_index=True, width="stretch",
                     column_config={"val accuracy": st.column_config.NumberColumn(format="%.4f")})
    trial_curves(snapshot, prefix)


def trial_curves(snapshot: SweepSnapshot, prefix: str) -> None:
    """A trial picker and the picked trial's curves, from its run in the store."""
    store = jobs.get_store()
    by_id = {trial.run_id: trial for trial in snapshot.trials}
    default = snapshot.best.run_id if snapshot.best is not None else snapshot.trials[-1].run_id
    ids = list(by_id)
    run_id = st.selectbox("A trial's curves", ids, index=ids.index(default), key=prefix + state.SWEEP_TRIAL_PICK,
                          format_func=lambda rid: f"#{by_id[rid].number} · {by_id[rid].status} · " + ", ".join(
                              f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in by_id[rid].params.items()))
    run = store.get_run(run_id) if store is not None else None
    if run is None or not run.history:
        st.caption("This trial has not finished an epoch yet." + (f" {run.message}" if run and run.message else ""))
        return
    st.plotly_chart(train_charts.live_curves(run.history, run.step_epochs, run.step_losses, title=run.name,
                                             uirevision=run.id),
                    key=prefix + state.SWEEP_TRIAL_CHART, width="stretch")
    if run.message:
        st.caption(run.message)


def live_sweep(running_at_start: bool) -> None:
    """This session's sweep, redrawn on a timer while it runs; when it ends, the whole page
    reruns once so its results show."""
    sweep = sweep_session.current_sweep()
    if sweep is None:
        st.info("No sweep in this session yet: set one up above and press **Start sweep**, or open a past "
                "sweep below.")
        return
    snapshot = sweep.snapshot()
    status_line(snapshot)
    trials_views(snapshot, sweep.space, "current_")
    if running_at_start and snapshot.finished:
        st.rerun()


def results(sweep_id: str, prefix: str) -> None:
    """After a sweep: importances, and the best trial loaded into Train or made Predict's model."""
    store = jobs.get_store()
    record = store.get_sweep(sweep_id)
    snapshot = sweep_snapshot(store, sweep_id)
    found = parameter_importances(store, sweep_id)
    if found.values:
        st.plotly_chart(sweep_charts.importances(found.values), key=prefix + state.SWEEP_IMPORTANCE_CHART,
                        width="stretch")
    else:
        st.info(found.message)
    best = snapshot.best
    if best is None:
        st.caption("No trial completed, so there is no best configuration to use.")
        return
    space, settings = SearchSpace.from_dict(record.space), SweepSettings.from_dict(record.settings)
    st.markdown(f"**Best trial:** #{best.number}, validation accuracy **{best.val_accuracy:.4f}**, "
                + ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in best.params.items()))
    train_col, predict_col = st.columns(2)
    with train_col:
        if st.button("Load the best configuration into Train", key=prefix + "sweep_load_best", type="primary"):
            sweep_session.load_into_train(space, settings, best.params)
            st.switch_page("pages/train.py")
        images = "all" if settings.train_size is None else format(settings.train_size, ",")
        st.caption(f"Sets the Train page's controls ({settings.epochs} epoch(s), seed {settings.seed}); the Train "
                   f"page trains on its own data settings (Preprocess page), not the sweep's {images} images. "
                   "Values the Train sliders lack move to the nearest ones they offer.")
    with predict_col:
        st.button("Make the best run the Predict page's model", key=prefix + "sweep_best_to_predict",
                  on_click=sweep_session.make_predict_model, args=(best.run_id,))
        if st.session_state.get(state.ACTIVE_RUN_ID) == best.run_id:
            st.success(f"Run {best.run_id} (trial #{best.number}) is the Predict page's model.")
            st.page_link("pages/predict.py", label="Draw and predict", icon="✏️")


def interrupted_list(store: RunStore) -> None:
    """Sweeps cut short (the server killed, or stopped by a user), each with a Resume button."""
    ids = interrupted_sweeps(store)
    if not ids:
        st.caption("None: every sweep in the store finished its budget or is running.")
        return
    running = sweep_session.is_running(sweep_session.current_sweep())
    for sweep_id in ids:
        record = store.get_sweep(sweep_id)
        done = sum(run.status in ("completed", "pruned", "failed", "diverged")
                   for run in store.list_runs(sweep_id=sweep_id))
        text_col, button_col = st.columns([4, 1])
        text_col.markdown(f"**{record.name}** ({record.status}, {record.method}): {done} of "
                          f"{record.settings.get('trials')} trials done · started {_when(record.created_at)} · "
                          f"`{sweep_id}`. {record.message}")
        button_col.button("Resume", key=f"sweep_resume_{sweep_id}", on_click=sweep_session.resume_sweep,
                          args=(sweep_id,), disabled=running, width="stretch")


def past_sweeps(store: RunStore, current_id: str | None) -> None:
    """Every sweep in the store as a table; one can be opened to see its trials and results."""
    records = store.list_sweeps()
    if not records:
        st.caption("The store holds no sweep yet.")
        return
    rows = [{"name": record.name, "status": record.status, "method": record.method,
             "trials": len(store.list_runs(sweep_id=record.id)), "budget": record.settings.get("trials"),
             "best val accuracy": record.best_val_accuracy, "started": _when(record.created_at), "id": record.id}
            for record in records]
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={"best val accuracy": st.column_config.NumberColumn(format="%.4f")})
    by_id = {record.id: record for record in records}
    opened = st.selectbox("Open a sweep", [None, *by_id], key=state.SWEEP_OPENED,
                          format_func=lambda sid: "(none)" if sid is None else
                          f"{by_id[sid].name} · {by_id[sid].status} · {_when(by_id[sid].created_at)} · {sid}")
    if opened is None:
        return
    if opened == current_id:
        st.caption("That is this session's sweep, shown above.")
        return
    snapshot = sweep_snapshot(store, opened)
    status_line(snapshot)
    trials_views(snapshot, SearchSpace.from_dict(by_id[opened].space), "past_")
    if snapshot.status != RUNNING:
        results(opened, "past_")


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def train_note() -> None:
    """On the Train page, once after "load the best into Train": what the controls had to round."""
    notes = st.session_state.pop(state.SWEEP_TRAIN_NOTE, None)
    if notes is None:
        return
    if notes:
        st.info("Loaded the sweep's best configuration. Moved to the nearest values these controls offer: "
                + "; ".join(notes) + ".", icon="🧭")
    else:
        st.info("Loaded the sweep's best configuration into the controls below.", icon="🧭")
