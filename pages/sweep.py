"""Sweep hyperparameters: choose what to search, watch the trials, use the best.

A sweep runs in the server (dashboard.sweep_session starts, stops and resumes it) and
records every trial in the run store; this script draws the set-up form
(dashboard.sweep_controls), this session's sweep from a fragment that re-runs every
``POLL_SECONDS`` while it searches (dashboard.sweep_views), its results, and the store's
interrupted and past sweeps.
"""
from __future__ import annotations

import streamlit as st

from dashboard.page import setup_page

setup_page("Sweep", "🧭")

from dashboard import jobs, state, sweep_controls, sweep_session, sweep_views  # noqa: E402
from dashboard.data import current_dataset_or_stop  # noqa: E402

POLL_SECONDS = 1.0  # the live fragment's period while the sweep runs

sweep = sweep_session.attach_sweep()
sweep_controls.set_defaults(st.session_state)
running_at_start = sweep_session.is_running(sweep)

st.title("🧭 Sweep hyperparameters")
st.markdown(
    "Instead of trying settings one by one, let a search try them for you: choose which "
    "hyperparameters to vary and over what range, and a **sweep** trains one network per "
    "combination it picks (a *trial*), keeps every trial in the run store, and shows which "
    "settings work, which diverge, and which mattered."
)
store = jobs.get_store()
if store is None:
    st.error(f"Sweeps keep every trial in the run store, which cannot be used: {jobs.store_problem()}")
    st.stop()
dataset = current_dataset_or_stop()
may_start = sweep_views.executor_notice()

# ---------------------------------------------------------------------- set-up
st.subheader("Set up a sweep")
preset_col, lesson_col = st.columns([1, 3])
preset_col.button(f"Preset: {sweep_controls.PRESET_TITLE[sweep_controls.LR_WIDTH]}", key="sweep_preset_lr_width",
                  on_click=sweep_controls.apply_preset, args=(sweep_controls.LR_WIDTH,), width="stretch")
lesson_col.markdown(sweep_controls.PRESET_LESSON[sweep_controls.LR_WIDTH])
with st.container(border=True):
    st.markdown("**What to search** (tick a hyperparameter to search it; the others keep the value shown). "
                "Networks follow the seed study's family: *depth* hidden layers, the first *width* units "
                "wide, each next one half as wide ([784, 256, 128, 64, 10] is depth 3, width 256).")
    sweep_controls.draw_search_fields()
with st.container(border=True):
    st.markdown("**How to search**")
    sweep_controls.draw_settings()

space, settings, problem = sweep_controls.current_plan(dataset.name)
if problem is not None:
    st.error(f"This sweep cannot start: {problem}", icon="🚫")
else:
    budget = min(settings.trials, space.grid_size()) if settings.method == "grid" else settings.trials
    st.caption(f"{budget} trial(s) of {settings.epochs} epoch(s) each on {settings.train_size:,} {dataset.name} "
               f"images, {settings.parallel} at once" + (f", grid of {space.grid_size()} points"
                                                         if settings.method == "grid" else "")
               + (f", at most {settings.seconds / 60:g} min" if settings.seconds else "") + ".")
start_col, stop_col, _ = st.columns([1, 1, 3])
start_col.button("▶ Start sweep", type="primary", key="sweep_start_button", on_click=sweep_session.start_sweep,
                 disabled=running_at_start or problem is not None or not may_start, width="stretch")
stop_col.button("⏹ Stop", key="sweep_stop_button", on_click=sweep_session.stop_sweep,
                disabled=not running_at_start, width="stretch")
if st.session_state.get(state.SWEEP_START_ERROR):
    st.error(st.session_state[state.SWEEP_START_ERROR], icon="🚫")

# ---------------------------------------------------------------------- this sweep
st.subheader("This sweep")
st.fragment(sweep_views.live_sweep, run_every=POLL_SECONDS if running_at_start else None)(running_at_start)
if sweep is not None and not running_at_start:
    sweep_views.results(sweep.id, "current_")

# ---------------------------------------------------------------------- the store's sweeps
st.subheader("Interrupted or stopped sweeps")
sweep_views.interrupted_list(store)
st.subheader("Past sweeps")
sweep_views.past_sweeps(store, sweep.id if sweep is not None else None)
