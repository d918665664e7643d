"""Train a network: sliders for the layers and the optimiser, live curves, runs to compare.

Training runs as a background job (dashboard.training_job starts and reads it): this script
only presses its Start/Pause/Stop buttons and draws what the job reports from a fragment that
re-runs every ``POLL_SECONDS`` while the job is alive. The controls are the field table of
dashboard.train_controls, the presets are dashboard.presets, and one run in detail is
drawn by dashboard.run_views.
"""
from __future__ import annotations

import streamlit as st

from dashboard.page import setup_page

setup_page("Train", "🏋️")

from dashboard import jobs, presets, run_views, share_setup, state, sweep_views  # noqa: E402
from dashboard import train_controls as controls
from dashboard.architecture import architecture_table, describe_config  # noqa: E402
from dashboard.data import current_dataset_or_stop, current_preprocess_config, n_features, split_counts  # noqa: E402
from dashboard.markdown_text import markdown_table  # noqa: E402
from dashboard.training_job import (  # noqa: E402
    advance_to_next_job,
    attach_job,
    harvest_session_jobs,
    live_progress,
    next_job,
    start_seed_study,
    start_training,
    stop_training,
    toggle_pause,
)
from nnlib.builders import describe_network  # noqa: E402

POLL_SECONDS = 0.75  # the live fragment's period: each poll costs Streamlit a rerun (see benchmarks/app_overhead.py)

job = attach_job()
new_runs = harvest_session_jobs(job)
job = advance_to_next_job(job)
run_views.add_to_comparison(new_runs)
controls.set_defaults(st.session_state)
job_active_at_start = job is not None and job.active

# ---------------------------------------------------------------------- header and data
st.title("🏋️ Train a network")
st.markdown(
    "Pick the layers and the optimiser, press **Start**, and watch the network learn: the loss "
    "falls and the accuracy climbs, epoch by epoch. Training runs in the background, so you can "
    "pause it, stop it, or visit another page and come back to it."
)
share_setup.open_train_link()  # a shared link sets the controls and the preprocessing
sweep_views.train_note()
dataset = current_dataset_or_stop()
n_pixels = n_features(dataset)
preprocess = current_preprocess_config()
n_used, n_train, n_val = split_counts(len(dataset.x_train), preprocess)
data_line = (f"**Data:** {dataset.name}, {'all' if preprocess.train_size is None else 'the first'} "
             f"{n_used:,} training images → **{n_train:,} to train on, {n_val:,} for validation** "
             f"(split seed {preprocess.seed}); scaling `{preprocess.scaling}`; augmentation "
             f"{'on' if preprocess.augment is not None else 'off'}"
             f"{'; plus ' + format(len(dataset.x_test), ',') + ' test images' if dataset.has_test else ''}.")
data_cols = st.columns([4, 1])
data_cols[0].markdown(data_line)
data_cols[1].page_link("pages/preprocess.py", label="Change on Preprocess", icon="🧪")
with st.expander("The preprocessing config in use"):
    st.json(preprocess.to_dict())

# ---------------------------------------------------------------------- presets
st.subheader("Presets")
PRESETS_PER_ROW = 4
# The seed study and the first presets on one row, the records on the next.
study_col, *preset_cols = st.columns(PRESETS_PER_ROW)
for _ in range(PRESETS_PER_ROW - 1, len(presets.LOADABLE), PRESETS_PER_ROW):
    preset_cols += st.columns(PRESETS_PER_ROW)
with study_col:
    st.markdown(f"**{presets.SEED_STUDY.title}**: {presets.SEED_STUDY.summary}")
    st.button("Run the seed study (4 networks)" if not job_active_at_start else "Queue the seed study next",
              on_click=start_seed_study, key=presets.SEED_STUDY.button_key, width="stretch")
    st.caption(presets.SEED_STUDY.measured)
for column, preset in zip(preset_cols, presets.LOADABLE):
    with column:
        st.markdown(f"**{preset.title}**: {preset.summary}")
        st.button("Load these settings", on_click=controls.apply_config, args=(preset.config,),
                  key=preset.button_key, width="stretch")
        st.caption(f"Measured: {preset.measured} Data: {preset.data_text} (set on the Preprocess page).")

# ---------------------------------------------------------------------- controls
st.subheader("Network and optimiser")
net_col, opt_col, table_col = st.columns([1, 1, 1.5])
with net_col:
    controls.draw(controls.NETWORK)
    if controls.is_cnn():
        controls.draw_stack(controls.CONV_LAYERS)
    controls.draw_stack(controls.DENSE_LAYERS, "Hidden layers (dense, after the convolutions)"
                        if controls.is_cnn() else None)
    for control in (controls.ACTIVATION, controls.INIT, controls.DROPOUT, controls.BATCH_NORM):
        controls.draw(control)
with opt_col:
    controls.draw(controls.OPTIMIZER)
    controls.draw(controls.LEARNING_RATE)
    if st.session_state[controls.OPTIMIZER.key] == "momentum":
        controls.draw(controls.MOMENTUM)
    controls.draw(controls.BATCH_SIZE)
    controls.draw(controls.EPOCHS, "Iterations (full batch: one step each)" if controls.is_full_batch() else None)
    for control in (controls.L2, controls.SCHEDULE, controls.SEED):
        controls.draw(control)

config = controls.controls_config()
with table_col:
    rows, parameter_count = architecture_table(config.hidden_sizes, config.activation, config.dropout,
                                               n_pixels, dataset.n_classes, config.conv_channels, config.batch_norm)
    st.metric("Parameters", f"{parameter_count:,}")
    st.markdown(f"Layers: **{describe_network(config, n_pixels, dataset.n_classes)}**")
    st.markdown(markdown_table([{**row, "parameters": f"{row['parameters']:,}"} for row in rows]))
    st.caption("Each Dense layer computes x @ W + b for a batch of rows x; W is (inputs x units), "
               "b one number per unit."
               + (" A Conv2D's W is (5 x 5 x channels in x filters): each filter is one 5x5 pattern, "
                  "matched at every position of the image." if config.conv_channels else ""))
    share_setup.share_train_link()

# ---------------------------------------------------------------------- start / pause / stop
status = job.status if job is not None else None
button_cols = st.columns([1, 1, 1, 3])
button_cols[0].button("▶ Start training" if not job_active_at_start else "⏭ Queue another run", type="primary",
                      on_click=start_training, key="train_start_button", width="stretch",
                      help=None if not job_active_at_start else
                      "Each user may have one network training and one waiting in line; the next one "
                      "starts when this one finishes (and a server slot is free).")
button_cols[1].button("▶ Resume" if status == jobs.PAUSED else "⏸ Pause", on_click=toggle_pause,
                      key="train_pause_button", disabled=status not in (jobs.RUNNING, jobs.PAUSED),
                      width="stretch")
button_cols[2].button("⏹ Stop", on_click=stop_training, key="train_stop_button",
                      disabled=not job_active_at_start, width="stretch")
button_cols[3].caption(describe_config(config, n_pixels, dataset.n_classes))
if st.session_state.get(state.TRAIN_START_ERROR):
    st.warning(st.session_state[state.TRAIN_START_ERROR], icon="🚦")

# ---------------------------------------------------------------------- live progress
polling = job_active_at_start or next_job() is not None
st.fragment(live_progress, run_every=POLL_SECONDS if polling else None)(job_active_at_start)

from dashboard.lr_finder_view import draw_lr_finder  # noqa: E402  (issue 14: diagnosing tools)

draw_lr_finder()

# ---------------------------------------------------------------------- runs
st.subheader("Runs")
listed = run_views.dataset_runs(dataset)
run_views.runs_table_and_comparison(listed)
st.page_link("pages/runs.py", label="Every run, to rename, tag, compare or delete: the Runs page", icon="🗂️")

# ---------------------------------------------------------------------- one run in detail
st.subheader("Inspect a run")
run_views.model_upload(dataset, preprocess)
if not listed:
    st.caption("Train or upload a model to see its confusion matrix, per-class accuracy and weights.")
    st.stop()
run = run_views.run_picker(listed, dataset)
if run is None:
    st.stop()
run_views.run_actions(run)
run_views.inspect_run(run, dataset)
from dashboard.run_diagnosis_view import draw_run_diagnosis  # noqa: E402  (issue 14: calibration, errors)

draw_run_diagnosis(run, dataset)
