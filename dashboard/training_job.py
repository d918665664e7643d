"""This session's training job, seen from the Train page: find it, start it, pause or stop it,
and draw its progress.

The job itself runs outside the script (:mod:`dashboard.jobs`); these functions only
start it, set its pause/stop events (as button callbacks) and read its snapshot. Its id is
kept in the session and in the URL (``?job=...``), so a refresh finds it again; the URL is
a capability (whoever has it may watch and stop the job), and the page says so.

A session is one user of the server's fair queue (its owner token): it may hold one job
training and one more waiting behind it (the Start button queues the next run while one
trains; a third press is refused with the reason). The session keeps its job objects, so
their results stay while the session lives and go when it ends (a closed tab).
"""
from __future__ import annotations

import secrets

import streamlit as st

from experiments.jobs import KEEP_FINISHED_SECONDS, OwnerLimitError
from nnlib.training import TrainConfig

from . import health_charts, jobs, presets, state, train_charts
from .architecture import describe_config
from .data import current_dataset, current_preprocess_config, n_features
from .runs import harvest_job, next_run_number
from .train_controls import controls_config

QUERY_JOB = "job"  # the URL parameter that holds the job id


def session_owner() -> str:
    """This session's token in the job registry (one user of the fair queue)."""
    return st.session_state.setdefault(state.TRAIN_OWNER, secrets.token_urlsafe(16))


def attach_job() -> jobs.TrainingJob | None:
    """This session's job: the one it holds, else from the registry by id, or from the URL
    after a refresh."""
    registry = jobs.get_registry()
    owner = session_owner()
    held = st.session_state.get(state.TRAIN_JOB)
    job_id = st.session_state.get(state.JOB_ID)
    job = held if held is not None and held.id == job_id else registry.get(job_id)
    if job is None:
        job = registry.get(st.query_params.get(QUERY_JOB))
        if job is not None and job.owner != owner:
            st.session_state[state.TRAIN_OWNER] = job.owner  # a refresh: the job's owner is us
        if job is None and st.query_params.get(QUERY_JOB):
            st.session_state[state.JOB_GONE_NOTE] = gone_job_note(registry.was_evicted(st.query_params[QUERY_JOB]))
    _show(job)
    return job


def _show(job: jobs.TrainingJob | None) -> None:
    """Make ``job`` the one this session shows live (in the session and the URL)."""
    st.session_state[state.JOB_ID] = job.id if job is not None else None
    st.session_state[state.TRAIN_JOB] = job
    if job is not None:
        st.query_params[QUERY_JOB] = job.id
    elif QUERY_JOB in st.query_params:
        del st.query_params[QUERY_JOB]


def next_job() -> jobs.TrainingJob | None:
    """The run this session queued behind its current one (None if none)."""
    return st.session_state.get(state.TRAIN_NEXT_JOB)


def harvest_session_jobs(job: jobs.TrainingJob | None) -> list:
    """The new finished runs of the shown job and of the queued next one."""
    return harvest_job(job) + harvest_job(next_job())


def advance_to_next_job(job: jobs.TrainingJob | None) -> jobs.TrainingJob | None:
    """Once the shown job has ended, the queued next one (if any) becomes the shown job."""
    waiting = next_job()
    if waiting is not None and waiting.finished and not waiting.outputs:
        st.session_state[state.TRAIN_NEXT_JOB] = None  # cancelled before it started
        return job
    if waiting is None or (job is not None and job.active):
        return job
    st.session_state[state.TRAIN_NEXT_JOB] = None
    _show(waiting)
    return waiting


def gone_job_note(evicted: bool) -> str:
    """What became of the job of a ``?job=`` link that the server no longer has."""
    if evicted:
        return (f"The training job of this link ended more than {KEEP_FINISHED_SECONDS // 60} minutes ago "
                "and was cleared from the server. Its run is kept in the run store (the Runs page, or "
                "`python -m experiments runs`).")
    return ("The training job of this link is no longer on the server: it ended when the server restarted. "
            "Its run is in the run store (the Runs page, or `python -m experiments runs`): listed as "
            "**interrupted**, with the model of its last completed epoch, if it was still training then.")


def current_job() -> jobs.TrainingJob | None:
    """The job this session shows, or None (never started, or a dropped link)."""
    held = st.session_state.get(state.TRAIN_JOB)
    job_id = st.session_state.get(state.JOB_ID)
    return held if held is not None and held.id == job_id else jobs.get_registry().get(job_id)


def cancel_queued(job_id: str) -> None:
    """Cancel button of a queued job: it leaves the line (only this session's own jobs)."""
    jobs.get_registry().cancel(job_id, session_owner())


def start_training(configs: list[TrainConfig] | None = None) -> None:
    """Start button: this session's job, or its next one queued behind a job that trains.

    A double click gets the job already asked for; a third job (one training and one
    waiting already) is refused, and the reason shows next to the button.
    """
    configs = configs or [controls_config()]
    dataset = current_dataset()
    labelled = [(f"#{next_run_number()} {describe_config(config, n_features(dataset), dataset.n_classes)}", config)
                for config in configs]
    tasks = jobs.train_tasks(dataset, current_preprocess_config(), labelled)
    shown = current_job()
    queue_next = shown is not None and shown.active
    st.session_state.pop(state.TRAIN_START_ERROR, None)
    try:
        job, _ = jobs.get_registry().start(session_owner(), tasks, description=f"{len(tasks)} run(s)",
                                           queue_next=queue_next)
    except OwnerLimitError as error:
        st.session_state[state.TRAIN_START_ERROR] = str(error)
        return
    st.session_state.pop(state.JOB_GONE_NOTE, None)
    if queue_next and job is not shown:
        st.session_state[state.TRAIN_NEXT_JOB] = job
    else:
        _show(job)


def start_seed_study() -> None:
    """The seed study's button: its four networks in one job, with the seed of the controls."""
    start_training(presets.seed_study_configs(int(st.session_state[state.TRAIN_SEED])))


def toggle_pause() -> None:
    """Pause button: pause a running job, resume a paused one."""
    job = current_job()
    if job is not None and not job.pause():
        job.resume()


def stop_training() -> None:
    """Stop button: the job ends after its current step and keeps what it trained."""
    job = current_job()
    if job is not None:
        job.stop()


def format_seconds(seconds: float | None) -> str:
    """``"42 s"``, ``"3 min 05 s"``, or ``"…"`` while unknown."""
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _status_line(snap: jobs.JobSnapshot) -> None:
    """The job's state in one element: a progress bar while it trains, else how it ended."""
    progress = snap.progress
    run_part = f"run {progress.task_index + 1} of {progress.task_count} · " if progress.task_count > 1 else ""
    if snap.status == jobs.QUEUED:
        st.info(snap.message, icon="⏳")
        st.button("✖ Cancel: leave the line", key="train_cancel_button", on_click=cancel_queued, args=(snap.id,))
    elif snap.active:
        st.progress(progress.fraction, text=(
            f"{'Paused · ' if snap.status == jobs.PAUSED else ''}{run_part}epoch {progress.epoch} of "
            f"{progress.epochs} · step {progress.step} of {progress.steps_per_epoch} · "
            f"{progress.samples_per_second:,.0f} samples/s · {format_seconds(progress.seconds_left)} left"))
        st.caption(f"{progress.task_label} · {snap.message}")
    elif snap.status == jobs.COMPLETED:
        st.success(snap.message, icon="✅")
    elif snap.status == jobs.STOPPED:
        st.warning(snap.message, icon="⏹")
    elif snap.status == jobs.DIVERGED:
        st.error(f"**The loss blew up**, so training stopped. {snap.message} "
                 "A lower learning rate (for example a tenth of this one) usually fixes it.", icon="💥")
    else:
        st.error(snap.message, icon="🛑")
        with st.expander("Details"):
            st.code(snap.error or "")


CAPABILITY_NOTE = ("This page's address (its `?job=` part) opens this training job from any browser: "
                   "whoever has it can watch, pause and stop it. Share it only with people you trust; "
                   "nobody else on the server can see or find your job.")


def _next_job_line() -> None:
    """This session's queued next run: its place in line and a button to cancel it."""
    waiting = next_job()
    if waiting is None:
        return
    snap = waiting.snapshot()
    if snap.status == jobs.QUEUED:
        st.info(f"**Your next run** ({waiting.description}): {snap.message}", icon="⏭")
        st.button("✖ Cancel the next run", key="train_cancel_next_button", on_click=cancel_queued,
                  args=(snap.id,))
    elif snap.finished and snap.outputs_count == 0:
        st.caption(f"Your next run: {snap.message}")


def _layer_health(snap: jobs.JobSnapshot) -> None:
    """Two small charts: each layer's gradient size and dead units, one point per epoch."""
    sample = snap.health[-1].health.samples
    st.caption(f"Layer health after each epoch, measured on the same {sample} images (validation images when "
               "the split keeps some): a gradient that shrinks by orders of magnitude towards the input is "
               "vanishing; a dead unit is one that none of these images switches on (it passes no gradient "
               "back, so it stops learning).")
    uirevision = f"{snap.id}:{snap.progress.task_index}"
    gradient_column, dead_column = st.columns(2)
    with gradient_column:
        st.plotly_chart(health_charts.gradient_norm_curves(snap.health, uirevision),
                        key=state.TRAIN_GRADIENT_CHART, width="stretch")
    with dead_column:
        st.plotly_chart(health_charts.dead_unit_curves(snap.health, uirevision),
                        key=state.TRAIN_DEAD_UNITS_CHART, width="stretch")


def live_progress(job_active_at_start: bool) -> None:
    """Progress and curves of this session's job; the page redraws it on a timer while it runs.

    When a job that was running at the page's start finishes (or hands over a finished
    run), the whole page reruns once so it shows the result.
    """
    job = current_job()
    if job is None:
        st.info(st.session_state.get(state.JOB_GONE_NOTE)
                or "No training yet: set the network up above and press **Start training**.")
        return
    snap = job.snapshot()
    _status_line(snap)
    if snap.active:
        st.caption(CAPABILITY_NOTE)
    _next_job_line()
    if snap.history or snap.step_losses:
        figure = train_charts.live_curves(snap.history, snap.step_epochs, snap.step_losses,
                                          title=snap.progress.task_label,
                                          uirevision=f"{snap.id}:{snap.progress.task_index}")
        st.plotly_chart(figure, key=state.TRAIN_LIVE_CHART, width="stretch")
    if snap.health:
        _layer_health(snap)
    harvested = st.session_state.get(state.TRAIN_HARVESTED, set())
    new_outputs = sum(f"{snap.id}:{i}" not in harvested for i in range(snap.outputs_count))
    if job_active_at_start and (snap.finished or new_outputs):
        st.rerun()
