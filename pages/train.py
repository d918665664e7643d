"""Train a network: sliders for the layers and the optimiser, live curves, runs to compare.

Training runs as a background job (dashboard/jobs.py): this script only starts it, presses
its Pause/Stop events, and draws what the job reports from a fragment that re-runs every
``POLL_SECONDS`` while the job is alive. Numbers come from nnlib (via dashboard.runs) and
figures from dashboard.train_charts.
"""
from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import streamlit as st

from dashboard.page import setup_page

setup_page("Train", "🏋️")

from dashboard import jobs, runs, state, train_charts  # noqa: E402
from dashboard.data import cached_dataset, current_dataset, current_dataset_or_stop, current_preprocess_config  # noqa: E402
from dashboard.figures import upscale  # noqa: E402
from nnlib.model import ModelFileError  # noqa: E402
from nnlib.builders import describe_network  # noqa: E402
from nnlib.training import TrainConfig  # noqa: E402

POLL_SECONDS = 0.75  # the live fragment's period: each poll costs Streamlit a rerun (see benchmarks/app_overhead.py)
QUERY_JOB = "job"
WIDTH_CHOICES = (8, 16, 32, 64, 128, 256, 512, 1024)
DEFAULT_WIDTHS = (256, 128, 64, 32, 16)
MAX_HIDDEN_LAYERS = 5
NETWORKS = {"mlp": "MLP: dense layers", "cnn": "CNN: convolutions, then dense layers"}
FILTER_CHOICES = (4, 8, 16, 32, 64)
DEFAULT_FILTERS = (16, 32)
MAX_CONV_STAGES = 2   # 28 -> 24 -> 12 -> 8 -> 4 with 5x5 kernels and 2x2 pooling; a third does not fit
ACTIVATIONS = {"relu": "ReLU", "leaky_relu": "Leaky ReLU", "tanh": "tanh", "sigmoid": "sigmoid"}
INITS = {"he": "He (for ReLU)", "glorot": "Glorot / Xavier", "seed": "Seed study's", "small": "Small N(0, 0.01²)"}
OPTIMIZERS = {"sgd": "SGD", "momentum": "Momentum", "adam": "Adam"}
LEARNING_RATES = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0)
FULL_BATCH = "full batch"
BATCH_SIZES = (FULL_BATCH, 16, 32, 64, 128, 256, 512, 1024, 2048)
L2_CHOICES = (0.0, 1e-5, 1e-4, 1e-3, 1e-2)
SCHEDULES = {"constant": "constant", "step": "step (halve every third)", "cosine": "cosine (to zero)"}
SHOWN_EXAMPLES = 12

registry = jobs.get_registry()


# ---------------------------------------------------------------------- session and job
def attach_job() -> jobs.TrainingJob | None:
    """This session's job: from the session, or from the URL after a refresh."""
    owner = st.session_state.setdefault(state.TRAIN_OWNER, secrets.token_urlsafe(16))
    job = registry.get(st.session_state.get(state.JOB_ID))
    if job is None:
        job = registry.get(st.query_params.get(QUERY_JOB))
        if job is not None and job.owner != owner:
            st.session_state[state.TRAIN_OWNER] = job.owner  # a refresh: the job's owner is us
    st.session_state[state.JOB_ID] = job.id if job is not None else None
    if job is not None:
        st.query_params[QUERY_JOB] = job.id
    elif QUERY_JOB in st.query_params:
        del st.query_params[QUERY_JOB]
    return job


def widget_defaults() -> None:
    """First visit: the controls start on a small, quick network."""
    defaults = {
        state.TRAIN_NETWORK: "mlp", state.TRAIN_CONV_STAGES: 2,
        state.TRAIN_LAYER_COUNT: 2, state.TRAIN_ACTIVATION: "relu", state.TRAIN_INIT: "he",
        state.TRAIN_OPTIMIZER: "adam", state.TRAIN_LEARNING_RATE: 1e-3, state.TRAIN_MOMENTUM: 0.9,
        state.TRAIN_BATCH_SIZE: 128, state.TRAIN_EPOCHS: 5, state.TRAIN_L2: 0.0,
        state.TRAIN_DROPOUT: 0.0, state.TRAIN_SCHEDULE: "constant", state.TRAIN_SEED: 0,
    }
    for index, width in enumerate(DEFAULT_WIDTHS, start=1):
        defaults[f"{state.TRAIN_LAYER_WIDTH_PREFIX}{index}"] = width
    for index, filters in enumerate(DEFAULT_FILTERS, start=1):
        defaults[f"{state.TRAIN_CONV_FILTERS_PREFIX}{index}"] = filters
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


def config_from_controls() -> TrainConfig:
    """The TrainConfig the controls describe (read from session state, so callbacks can use it)."""
    ss = st.session_state
    count = int(ss[state.TRAIN_LAYER_COUNT])
    batch = ss[state.TRAIN_BATCH_SIZE]
    stages = int(ss[state.TRAIN_CONV_STAGES]) if ss[state.TRAIN_NETWORK] == "cnn" else 0
    return TrainConfig(
        hidden_sizes=tuple(int(ss[f"{state.TRAIN_LAYER_WIDTH_PREFIX}{i}"]) for i in range(1, count + 1)),
        conv_channels=tuple(int(ss[f"{state.TRAIN_CONV_FILTERS_PREFIX}{i}"]) for i in range(1, stages + 1)),
        activation=ss[state.TRAIN_ACTIVATION], init=ss[state.TRAIN_INIT], dropout=float(ss[state.TRAIN_DROPOUT]),
        optimizer=ss[state.TRAIN_OPTIMIZER], learning_rate=float(ss[state.TRAIN_LEARNING_RATE]),
        momentum=float(ss[state.TRAIN_MOMENTUM]), batch_size=None if batch == FULL_BATCH else int(batch),
        epochs=int(ss[state.TRAIN_EPOCHS]), l2=float(ss[state.TRAIN_L2]), schedule=ss[state.TRAIN_SCHEDULE],
        seed=int(ss[state.TRAIN_SEED]),
    )


def apply_config(config: TrainConfig) -> None:
    """Set the controls to ``config`` (a preset)."""
    ss = st.session_state
    ss[state.TRAIN_NETWORK] = "cnn" if config.conv_channels else "mlp"
    if config.conv_channels:
        ss[state.TRAIN_CONV_STAGES] = len(config.conv_channels)
        for index, filters in enumerate(config.conv_channels, start=1):
            ss[f"{state.TRAIN_CONV_FILTERS_PREFIX}{index}"] = filters
    ss[state.TRAIN_LAYER_COUNT] = len(config.hidden_sizes)
    for index, width in enumerate(config.hidden_sizes, start=1):
        ss[f"{state.TRAIN_LAYER_WIDTH_PREFIX}{index}"] = width
    ss[state.TRAIN_ACTIVATION] = config.activation
    ss[state.TRAIN_INIT] = config.init
    ss[state.TRAIN_OPTIMIZER] = config.optimizer
    ss[state.TRAIN_LEARNING_RATE] = config.learning_rate
    ss[state.TRAIN_BATCH_SIZE] = FULL_BATCH if config.batch_size is None else config.batch_size
    ss[state.TRAIN_EPOCHS] = config.epochs
    ss[state.TRAIN_L2] = config.l2
    ss[state.TRAIN_DROPOUT] = config.dropout
    ss[state.TRAIN_SCHEDULE] = config.schedule
    ss[state.TRAIN_SEED] = config.seed


def start_training(configs: list[TrainConfig] | None = None) -> None:
    """Start button: one job for this session (a second click gets the running one)."""
    configs = configs or [config_from_controls()]
    owner = st.session_state[state.TRAIN_OWNER]
    dataset = current_dataset()
    tasks = jobs.train_tasks(dataset, current_preprocess_config(),
                             [(runs.describe_config(c, dataset.n_classes), c) for c in configs])
    job, _ = registry.start(owner, tasks, description=f"{len(tasks)} run(s)")
    st.session_state[state.JOB_ID] = job.id
    st.query_params[QUERY_JOB] = job.id


def start_seed_study() -> None:
    start_training(runs.seed_study_configs(int(st.session_state[state.TRAIN_SEED])))


def toggle_pause() -> None:
    job = registry.get(st.session_state.get(state.JOB_ID))
    if job is not None and not job.pause():
        job.resume()


def stop_training() -> None:
    job = registry.get(st.session_state.get(state.JOB_ID))
    if job is not None:
        job.stop()


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


job = attach_job()
new_runs, _ = runs.harvest_job(job)
if new_runs:  # new runs join the comparison
    selection = st.session_state.get(state.TRAIN_COMPARE_SELECTION, [])
    st.session_state[state.TRAIN_COMPARE_SELECTION] = (selection + [run.name for run in new_runs])[-8:]
widget_defaults()
job_active_at_start = job is not None and job.active

# ---------------------------------------------------------------------- header and data
st.title("🏋️ Train a network")
st.markdown(
    "Pick the layers and the optimiser, press **Start**, and watch the network learn: the loss "
    "falls and the accuracy climbs, epoch by epoch. Training runs in the background, so you can "
    "pause it, stop it, or visit another page and come back to it."
)
dataset = current_dataset_or_stop()
preprocess = current_preprocess_config()
n_used, n_train, n_val = runs.split_counts(len(dataset.x_train), preprocess)
data_line = (f"**Data:** {dataset.name}, {'all' if preprocess.train_size is None else 'the first'} "
             f"{n_used:,} training images → **{n_train:,} to train on, {n_val:,} for validation** "
             f"(split seed {preprocess.seed}); scaling `{preprocess.scaling}`; augmentation "
             f"{'on' if preprocess.augment is not None else 'off'}"
             f"{'; plus ' + format(len(dataset.x_test), ',') + ' test images' if dataset.has_test else ''}.")
data_cols = st.columns([4, 1])
data_cols[0].markdown(data_line)
if (Path(__file__).resolve().parent / "preprocess.py").is_file():
    data_cols[1].page_link("pages/preprocess.py", label="Change on Preprocess", icon="🧪")
with st.expander("The preprocessing config in use"):
    st.json(preprocess.to_dict())

# ---------------------------------------------------------------------- presets
st.subheader("Presets")
preset_cols = st.columns(4)
with preset_cols[0]:
    st.markdown("**Seed study**: four networks, full-batch gradient descent (SGD, rate 0.1, the "
                "study's initialisation), 150 iterations each.")
    st.button("Run the seed study (4 networks)", on_click=start_seed_study, key="train_seed_study_button",
              disabled=job_active_at_start, width="stretch")
    st.caption("The study names [784, 256, 128, 64, 10] (92% validation) and [784, 32, 10] (83%); "
               "it does not name its two middle networks, so we chose [784, 128, 64, 10] and "
               "[784, 128, 10]. It trained on 42,000 images (33,600 / 8,400): set 42,000 on the "
               "Preprocess page to match it; the run uses the data above. On that split we measured "
               "92.1%, 90.9%, 89.9% and 83.7%. Expect several minutes on a small server.")
with preset_cols[1]:
    st.markdown("**Seed study's best network** in the controls: [784, 256, 128, 64, 10], full batch, "
                "150 iterations.")
    st.button("Load these settings", on_click=apply_config, args=(runs.SEED_STUDY_TRAIN,),
              key="train_preset_seed_button", width="stretch")
with preset_cols[2]:
    st.markdown("**Fast and accurate**: [784, 512, 256, 10], Adam, mini-batches of 128, cosine "
                "schedule, 10 epochs: 98.2% validation, 98.4% test on all 60,000 images (about 30 s).")
    st.button("Load these settings", on_click=apply_config, args=(runs.FAST_AND_ACCURATE_TRAIN,),
              key="train_preset_fast_button", width="stretch")
with preset_cols[3]:
    st.markdown("**CNN, 99%**: two 5x5 convolutions (16 and 32 filters, each with a 2x2 max-pool), "
                "then 128 units; Adam, cosine schedule, 4 epochs: 99.2% test accuracy with a third of "
                "the MLP's parameters (under a minute on all 60,000 images with 2 cores).")
    st.button("Load these settings", on_click=apply_config, args=(runs.CNN_TRAIN,),
              key="train_preset_cnn_button", width="stretch")

# ---------------------------------------------------------------------- controls
st.subheader("Network and optimiser")
net_col, opt_col, table_col = st.columns([1, 1, 1.5])
with net_col:
    st.radio("Network", list(NETWORKS), format_func=NETWORKS.get, key=state.TRAIN_NETWORK,
             persist_state="session",
             help="A CNN slides small 5x5 filters over the image (each followed by a 2x2 max-pool) "
                  "before the dense layers: it sees strokes where they are, and reaches 99%.")
    if st.session_state[state.TRAIN_NETWORK] == "cnn":
        st.slider("Convolution stages", 1, MAX_CONV_STAGES, key=state.TRAIN_CONV_STAGES, persist_state="session",
                  help="Each stage: 5x5 convolution, activation, 2x2 max-pool (28 → 12 → 4 pixels).")
        for index in range(1, int(st.session_state[state.TRAIN_CONV_STAGES]) + 1):
            st.select_slider(f"Filters in convolution {index}", FILTER_CHOICES,
                             key=f"{state.TRAIN_CONV_FILTERS_PREFIX}{index}", persist_state="session")
    st.slider("Hidden layers" + (" (dense, after the convolutions)" if st.session_state[state.TRAIN_NETWORK] == "cnn"
                                 else ""), 0, MAX_HIDDEN_LAYERS, key=state.TRAIN_LAYER_COUNT, persist_state="session",
              help="0 = no hidden layer: softmax regression straight from the pixels (or the feature maps).")
    for index in range(1, int(st.session_state[state.TRAIN_LAYER_COUNT]) + 1):
        st.select_slider(f"Units in hidden layer {index}", WIDTH_CHOICES,
                         key=f"{state.TRAIN_LAYER_WIDTH_PREFIX}{index}", persist_state="session")
    st.selectbox("Activation", list(ACTIVATIONS), format_func=ACTIVATIONS.get, key=state.TRAIN_ACTIVATION,
                 persist_state="session")
    st.selectbox("Initialiser", list(INITS), format_func=INITS.get, key=state.TRAIN_INIT,
                 persist_state="session")
    st.slider("Dropout", 0.0, 0.5, step=0.05, key=state.TRAIN_DROPOUT, persist_state="session",
              help="Share of hidden units switched off at random in each training step.")
with opt_col:
    st.radio("Optimiser", list(OPTIMIZERS), format_func=OPTIMIZERS.get, key=state.TRAIN_OPTIMIZER,
             horizontal=True, persist_state="session")
    st.select_slider("Learning rate (log scale)", LEARNING_RATES, format_func=lambda v: f"{v:g}",
                     key=state.TRAIN_LEARNING_RATE, persist_state="session")
    if st.session_state[state.TRAIN_OPTIMIZER] == "momentum":
        st.slider("Momentum", 0.5, 0.99, step=0.01, key=state.TRAIN_MOMENTUM, persist_state="session")
    st.select_slider("Batch size", BATCH_SIZES, key=state.TRAIN_BATCH_SIZE, persist_state="session",
                     help="Full batch: every step uses all training images, as in the seed study.")
    full_batch = st.session_state[state.TRAIN_BATCH_SIZE] == FULL_BATCH
    st.slider("Iterations (full batch: one step each)" if full_batch else "Epochs (passes over the data)",
              1, 300, key=state.TRAIN_EPOCHS, persist_state="session")
    st.select_slider("L2 weight decay", L2_CHOICES, format_func=lambda v: f"{v:g}", key=state.TRAIN_L2,
                     persist_state="session")
    st.selectbox("Learning-rate schedule", list(SCHEDULES), format_func=SCHEDULES.get,
                 key=state.TRAIN_SCHEDULE, persist_state="session")
    st.number_input("Seed", 0, 1_000_000, step=1, key=state.TRAIN_SEED, persist_state="session",
                    help="Same seed, same starting weights and batch order: the same run.")

config = config_from_controls()
with table_col:
    rows, parameter_count = runs.architecture_table(config.hidden_sizes, config.activation, config.dropout,
                                                    784, dataset.n_classes, config.conv_channels)
    st.metric("Parameters", f"{parameter_count:,}")
    st.markdown(f"Layers: **{describe_network(config, 784, dataset.n_classes)}**")
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("Each Dense layer computes x @ W + b for a batch of rows x; W is (inputs x units), b one number per unit."
               + (" A Conv2D's W is (5 x 5 x channels in x filters): each filter is one 5x5 pattern, "
                  "matched at every position of the image." if config.conv_channels else ""))

# ---------------------------------------------------------------------- start / pause / stop
status = job.status if job is not None else None
button_cols = st.columns([1, 1, 1, 3])
button_cols[0].button("▶ Start training", type="primary", on_click=start_training, key="train_start_button",
                      disabled=job_active_at_start, width="stretch")
button_cols[1].button("▶ Resume" if status == jobs.PAUSED else "⏸ Pause", on_click=toggle_pause,
                      key="train_pause_button", disabled=status not in (jobs.RUNNING, jobs.PAUSED),
                      width="stretch")
button_cols[2].button("⏹ Stop", on_click=stop_training, key="train_stop_button",
                      disabled=not job_active_at_start, width="stretch")
button_cols[3].caption(runs.describe_config(config, dataset.n_classes))


# ---------------------------------------------------------------------- live progress
def live_panel() -> None:
    """Progress and curves of this session's job; redrawn every POLL_SECONDS while it runs."""
    live_job = registry.get(st.session_state.get(state.JOB_ID))
    if live_job is None:
        st.info("No training yet: set the network up above and press **Start training**.")
        return
    snap = live_job.snapshot()
    progress = snap.progress
    run_part = f"run {progress.task_index + 1} of {progress.task_count} · " if progress.task_count > 1 else ""
    if snap.status == jobs.QUEUED:
        st.info(snap.message, icon="⏳")
    elif snap.active:
        st.progress(progress.fraction, text=(
            f"{'Paused · ' if snap.status == jobs.PAUSED else ''}{run_part}epoch {progress.epoch} of "
            f"{progress.epochs} · step {progress.step} of {progress.steps_per_epoch} · "
            f"{progress.samples_per_second:,.0f} samples/s · "
            f"{format_seconds(progress.seconds_left)} left"))
        st.caption(f"{progress.task_label} · {snap.message}")
    elif snap.status == jobs.COMPLETED:
        st.success(snap.message, icon="✅")
    elif snap.status == jobs.STOPPED:
        st.warning(snap.message, icon="⏹")
    elif snap.status == jobs.DIVERGED:
        st.error(f"**The loss blew up** (it became NaN or infinite), so training stopped. {snap.message} "
                 "A lower learning rate (for example a tenth of this one) usually fixes it.", icon="💥")
    else:
        st.error(snap.message, icon="🛑")
        with st.expander("Details"):
            st.code(snap.error or "")
    if snap.history or snap.step_losses:
        figure = train_charts.live_curves(snap.history, snap.step_epochs, snap.step_losses,
                                          title=progress.task_label,
                                          uirevision=f"{snap.id}:{progress.task_index}")
        st.plotly_chart(figure, key=state.TRAIN_LIVE_CHART, width="stretch")
    harvested = st.session_state.get(state.TRAIN_HARVESTED, set())
    new_outputs = sum(f"{snap.id}:{i}" not in harvested for i in range(snap.outputs_count))
    if job_active_at_start and (snap.finished or new_outputs):
        st.rerun()  # once: the whole page shows the finished run(s)


st.fragment(live_panel, run_every=POLL_SECONDS if job_active_at_start else None)()

# ---------------------------------------------------------------------- runs
st.subheader("Runs")
all_runs = runs.get_runs()
dropped_note = st.session_state.get(state.TRAIN_DROPPED_NOTE)
if dropped_note:
    st.info(dropped_note)
if not all_runs:
    st.caption(f"Finished runs appear here, up to {runs.MAX_RUNS} (then the oldest are dropped).")
else:
    st.dataframe(runs.run_table_rows(all_runs), hide_index=True, width="stretch",
                 column_config={key: st.column_config.NumberColumn(format="percent")
                                for key in ("train acc", "val acc", "test acc")})
    st.caption(f"Kept for this session: the last {runs.MAX_RUNS} runs.")
    names = [run.name for run in all_runs]
    current = [name for name in st.session_state.get(state.TRAIN_COMPARE_SELECTION, []) if name in names]
    st.session_state[state.TRAIN_COMPARE_SELECTION] = current or names[-4:]
    chosen = st.multiselect("Runs to compare", names, key=state.TRAIN_COMPARE_SELECTION)
    compared = [(run.name, run.result.history) for run in all_runs if run.name in chosen and run.result is not None]
    if compared:
        st.plotly_chart(train_charts.compare_runs(compared), width="stretch", key="train_compare_chart")

# ---------------------------------------------------------------------- one run in detail
st.subheader("Inspect a run")
with st.expander("Upload a model (.npz saved by MNIST Lab or `python -m nnlib train`)"):
    upload = st.file_uploader("Model file", type=["npz"], key=state.TRAIN_MODEL_UPLOAD)
    if upload is not None:
        payload = upload.getvalue()
        digest = hashlib.sha256(payload).hexdigest()
        if st.session_state.get(state.TRAIN_UPLOAD_DIGEST) != digest:
            try:
                uploaded_run = runs.run_from_upload(upload.name, payload, dataset, preprocess)
            except (ModelFileError, ValueError) as exc:
                st.error(f"Could not use {upload.name}: {exc}")
            else:
                st.session_state[state.TRAIN_UPLOAD_DIGEST] = digest
                runs.add_run(uploaded_run)
                st.session_state[state.TRAIN_INSPECT_RUN] = uploaded_run.id
                st.success(f"Loaded {uploaded_run.name}: {uploaded_run.model.parameter_count:,} parameters.")
                st.rerun()

all_runs = runs.get_runs()
if not all_runs:
    st.caption("Train or upload a model to see its confusion matrix, per-class accuracy and weights.")
    st.stop()

run_ids = [run.id for run in all_runs]
if st.session_state.get(state.TRAIN_INSPECT_RUN) not in run_ids:
    st.session_state[state.TRAIN_INSPECT_RUN] = run_ids[-1]
labels = {run.id: run.name for run in all_runs}
run = runs.find_run(st.selectbox("Run", run_ids, format_func=labels.get, key=state.TRAIN_INSPECT_RUN))

action_cols = st.columns(3)
active = runs.get_active_run()
if active is not None and active.id == run.id:
    action_cols[0].success("The Predict page uses this run.", icon="✏️")
else:
    action_cols[0].button("Use this run on the Predict page", on_click=runs.set_active_run, args=(run.id,),
                          key="train_use_run_button", width="stretch")
action_cols[1].download_button("Download the model (.npz)", data=runs.model_npz_bytes(run),
                               file_name=f"mnist-lab-run{run.name.split()[0].lstrip('#')}.npz",
                               mime="application/octet-stream", key="train_download_button",
                               width="stretch")
if active is not None:
    action_cols[2].caption(f"Predict uses: {active.name}")
else:
    action_cols[2].caption("Predict uses a bundled model (the MLP unless you picked the CNN there) until you choose a run.")

confusion_tab, classes_tab, weights_tab, histogram_tab = st.tabs(
    ["Confusion matrix", "Per-class accuracy", "First-layer weights", "Weight histograms"])

with confusion_tab:
    cm = runs.run_confusion(run)
    if cm is None:
        st.caption("This run has no validation set.")
    else:
        class_names = list(run.class_names)
        selection = st.session_state.get(state.TRAIN_CM_CHART)
        points = (selection or {}).get("selection", {}).get("points", []) if selection else []
        clicked = tuple(points[0]["customdata"][:2]) if points and points[0].get("customdata") else None
        if clicked is not None and clicked != st.session_state.get(state.TRAIN_LAST_CM_SELECTION):
            st.session_state[state.TRAIN_LAST_CM_SELECTION] = clicked
            st.session_state[state.TRAIN_CM_TRUE] = int(clicked[0])
            st.session_state[state.TRAIN_CM_PREDICTED] = int(clicked[1])
        if state.TRAIN_CM_TRUE not in st.session_state:
            st.session_state[state.TRAIN_CM_TRUE], st.session_state[state.TRAIN_CM_PREDICTED] = \
                runs.most_confused_pair(cm)
        true_class = int(st.session_state[state.TRAIN_CM_TRUE]) % len(class_names)
        predicted_class = int(st.session_state[state.TRAIN_CM_PREDICTED]) % len(class_names)
        matrix_col, images_col = st.columns([1.1, 1])
        with matrix_col:
            st.plotly_chart(train_charts.confusion_heatmap(cm, class_names, (true_class, predicted_class)),
                            key=state.TRAIN_CM_CHART, on_select="rerun", selection_mode="points",
                            width="stretch")
            st.caption(f"Validation set: {int(cm.sum()):,} images; rows are the true class, columns "
                       "the prediction. Click a cell, or pick it on the right.")
        with images_col:
            pick = st.columns(2)
            pick[0].selectbox("True class", range(len(class_names)), format_func=lambda i: class_names[i],
                              key=state.TRAIN_CM_TRUE)
            pick[1].selectbox("Predicted class", range(len(class_names)), format_func=lambda i: class_names[i],
                              key=state.TRAIN_CM_PREDICTED)
            true_class = int(st.session_state[state.TRAIN_CM_TRUE])
            predicted_class = int(st.session_state[state.TRAIN_CM_PREDICTED])
            indices, probabilities, total = runs.cell_examples(run, true_class, predicted_class, SHOWN_EXAMPLES)
            st.markdown(f"**{total:,}** validation images of **{class_names[true_class]}** predicted as "
                        f"**{class_names[predicted_class]}**" + (f"; the {len(indices)} most confident:" if total else "."))
            source = dataset if dataset.name == run.dataset_name else None
            if source is None:
                try:
                    source = cached_dataset(run.dataset_name)
                except ValueError:
                    source = None
            if total and source is not None:
                st.image([upscale(source.x_train[i], 3) for i in indices],
                         caption=[runs.probability_caption(p, class_names) for p in probabilities], width=84)
            elif total:
                st.caption(f"The images of {run.dataset_name} are not loaded.")

with classes_tab:
    if run.result is not None and run.result.per_class_val_accuracy:
        st.plotly_chart(train_charts.per_class_accuracy(run.result.per_class_val_accuracy, run.class_names,
                                                        run.result.history.get("epoch")),
                        width="stretch", key="train_per_class_chart")
        st.caption("Validation accuracy of each class after every epoch: which digits the network learns first.")
    else:
        st.caption("Per-class accuracy over epochs is recorded while training; this run has none.")

with weights_tab:
    first = run.model.weight_arrays()[0]
    if first.ndim == 4:  # Conv2D kernels (k, k, channels in, filters): the first layer sees one channel
        side = first.shape[0]
        st.plotly_chart(train_charts.first_layer_weights(first[:, :, 0, :].reshape(side * side, -1), side=side),
                        width="stretch", key="train_weights_chart")
        st.caption(f"The {first.shape[3]} filters of the first convolution, {side}x{side} each: the pattern "
                   "each one looks for at every position of the image (red: ink here raises its output, "
                   "blue: lowers it). Edges and stroke ends, mostly.")
    else:
        st.plotly_chart(train_charts.first_layer_weights(first), width="stretch", key="train_weights_chart")
        st.caption(f"The first {min(64, first.shape[1])} of {first.shape[1]} units of the first layer: each tile "
                   "is that unit's 784 incoming weights as a 28x28 image (red: ink here raises the unit, "
                   "blue: lowers it).")

with histogram_tab:
    weights = run.model.weight_arrays()
    st.plotly_chart(train_charts.weight_histograms(weights, [f"W{i + 1} {'x'.join(map(str, w.shape))}"
                                                             for i, w in enumerate(weights)]),
                    width="stretch", key="train_histogram_chart")
