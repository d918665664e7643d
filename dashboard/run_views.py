"""The Train page's run sections: the runs table and overlaid curves, and one run in detail.

The runs are the store's (:func:`dashboard.runs.listed_runs`), so a reload or another tab
shows them; a run read from the store gets its model and validation outputs only when
it is inspected (:mod:`dashboard.stored_models`).

Each function draws one part of the page with Streamlit; the numbers come from
:mod:`dashboard.run_metrics` and the figures from :mod:`dashboard.train_charts`.
"""
from __future__ import annotations

import hashlib

import streamlit as st

from experiments.store import StoreError
from nnlib.data import Dataset
from nnlib.model import ModelFileError
from nnlib.preprocessing import PreprocessConfig

from . import jobs, run_metrics, runs, state, stored_models, train_charts
from .data import cached_dataset
from .model_files import model_npz_bytes, record_upload, run_from_upload
from .thumbnails import thumbnail_grid_html

SHOWN_EXAMPLES = 12  # images shown for one confusion-matrix cell
MAX_COMPARED = 8     # runs kept in the comparison when new ones join it
ACCURACY_COLUMNS = ("train acc", "val acc", "test acc")


def add_to_comparison(new_runs: list[runs.RunRecord]) -> None:
    """New runs join the runs to compare (the most recent ``MAX_COMPARED``)."""
    if new_runs:
        selection = st.session_state.get(state.TRAIN_COMPARE_SELECTION, [])
        joined = selection + [run.id for run in new_runs if run.id not in selection]
        st.session_state[state.TRAIN_COMPARE_SELECTION] = joined[-MAX_COMPARED:]


def dataset_runs(dataset: Dataset) -> list[runs.RunRecord]:
    """The dataset's runs from the store (any session, before a restart too) and this
    session's, newest first; a warning when the store cannot be read."""
    listed, problem = runs.listed_runs(dataset.name, tuple(dataset.class_names))
    if problem:
        st.warning(f"Runs are not kept across reloads: {problem}", icon="⚠️")
    return listed


def runs_table_and_comparison(listed: list[runs.RunRecord]) -> None:
    """The runs in a table (newest first), and the chosen ones' curves overlaid."""
    if not listed:
        st.caption("Finished runs appear here, and stay: every run is kept in the run store "
                   "(see the Runs page to rename, tag, compare or delete them).")
        return
    st.dataframe(run_metrics.run_table_rows(listed), hide_index=True, width="stretch",
                 column_config={key: st.column_config.NumberColumn(format="percent") for key in ACCURACY_COLUMNS})
    st.caption(f"This dataset's {len(listed)} most recent runs, from every session "
               f"(at most {runs.RECENT_RUNS} here; all of them on the Runs page).")
    if runs.session_runs_note():
        st.caption(runs.session_runs_note())
    names = {run.id: run.name for run in listed}
    current = [run_id for run_id in st.session_state.get(state.TRAIN_COMPARE_SELECTION, []) if run_id in names]
    st.session_state[state.TRAIN_COMPARE_SELECTION] = current or list(names)[:4][::-1]
    chosen = st.multiselect("Runs to compare", list(names), format_func=lambda run_id: names[run_id],
                            key=state.TRAIN_COMPARE_SELECTION)
    compared = [(names[run_id], run.result.history) for run_id in chosen for run in listed
                if run.id == run_id and run.result is not None]
    if compared:
        st.plotly_chart(train_charts.compare_runs(compared), width="stretch", key="train_compare_chart")


def model_upload(dataset: Dataset, preprocess: PreprocessConfig) -> None:
    """An upload box for a model file; a model that fits the dataset becomes a run (kept in the store)."""
    with st.expander("Upload a model (.npz saved by MNIST Lab or `python -m nnlib train`)"):
        upload = st.file_uploader("Model file", type=["npz"], key=state.TRAIN_MODEL_UPLOAD)
        if upload is None:
            return
        payload = upload.getvalue()
        digest = hashlib.sha256(payload).hexdigest()
        if st.session_state.get(state.TRAIN_UPLOAD_DIGEST) == digest:
            return
        try:
            uploaded_run = run_from_upload(upload.name, payload, dataset, preprocess)
        except (ModelFileError, ValueError) as exc:
            st.error(f"Could not use {upload.name}: {exc}")
            return
        store = jobs.get_store()
        if store is not None:
            try:
                uploaded_run = record_upload(uploaded_run, store)
            except StoreError as error:
                st.warning(f"{uploaded_run.name} is kept for this session only: {error}")
        st.session_state[state.TRAIN_UPLOAD_DIGEST] = digest
        runs.add_run(uploaded_run)
        st.session_state[state.TRAIN_INSPECT_RUN] = uploaded_run.id
        st.success(f"Loaded {uploaded_run.name}: {uploaded_run.model.parameter_count:,} parameters.")
        st.rerun()


def run_picker(listed: list[runs.RunRecord], dataset: Dataset) -> runs.RunRecord | None:
    """Which run to inspect (the newest until the user picks one), with its model and
    validation outputs; None (and why) when its model cannot be loaded. Call only when runs exist."""
    run_ids = [run.id for run in listed]
    if st.session_state.get(state.TRAIN_INSPECT_RUN) not in run_ids:
        st.session_state[state.TRAIN_INSPECT_RUN] = run_ids[0]
    labels = {run.id: f"{run.name} ({run.status})" for run in listed}
    chosen_id = st.selectbox("Run", run_ids, format_func=lambda run_id: labels[run_id], key=state.TRAIN_INSPECT_RUN)
    chosen = next(run for run in listed if run.id == chosen_id)
    try:
        return stored_models.with_validation(stored_models.with_model(chosen), dataset)
    except stored_models.RunModelUnavailable as error:
        st.info(f"Nothing to inspect: {error}.")
        return None


def run_actions(run: runs.RunRecord) -> None:
    """Use the run on the Predict page, download its model, and say which model Predict uses."""
    action_cols = st.columns(3)
    active_id = st.session_state.get(state.ACTIVE_RUN_ID)
    active = runs.get_active_run() if active_id else None
    if active_id == run.id:
        action_cols[0].success("The Predict page uses this run.", icon="✏️")
    else:
        action_cols[0].button("Use this run on the Predict page", on_click=runs.set_active_run, args=(run.id,),
                              key="train_use_run_button", width="stretch")
    action_cols[1].download_button("Download the model (.npz)", data=model_npz_bytes(run),
                                   file_name=f"mnist-lab-run{run.name.split()[0].lstrip('#')}.npz",
                                   mime="application/octet-stream", key="train_download_button", width="stretch")
    if active is not None:
        action_cols[2].caption(f"Predict uses: {active.name}")
    else:
        action_cols[2].caption("Predict uses a bundled model (the MLP unless you picked the CNN there) "
                               "until you choose a run.")


def _chosen_cell(n_classes: int, default: tuple[int, int]) -> tuple[int, int]:
    """The confusion-matrix cell to mark: the one just clicked, else the one kept, else ``default``."""
    selection = st.session_state.get(state.TRAIN_CM_CHART) or {}
    points = selection.get("selection", {}).get("points", [])
    clicked = tuple(points[0]["customdata"][:2]) if points and points[0].get("customdata") else None
    if clicked is not None and clicked != st.session_state.get(state.TRAIN_LAST_CM_SELECTION):
        st.session_state[state.TRAIN_LAST_CM_SELECTION] = clicked
        st.session_state[state.TRAIN_CM_TRUE] = int(clicked[0])
        st.session_state[state.TRAIN_CM_PREDICTED] = int(clicked[1])
    if state.TRAIN_CM_TRUE not in st.session_state:
        st.session_state[state.TRAIN_CM_TRUE], st.session_state[state.TRAIN_CM_PREDICTED] = default
    return (int(st.session_state[state.TRAIN_CM_TRUE]) % n_classes,
            int(st.session_state[state.TRAIN_CM_PREDICTED]) % n_classes)


def _images_of(run: runs.RunRecord, dataset: Dataset) -> Dataset | None:
    """The dataset the run validated on: the current one, or loaded by name; None if unavailable."""
    if dataset.name == run.dataset_name:
        return dataset
    try:
        return cached_dataset(run.dataset_name)
    except ValueError:
        return None


def confusion_matrix_tab(run: runs.RunRecord, dataset: Dataset) -> None:
    """The validation confusion matrix; click a cell (or pick it) to see its images."""
    cm = run_metrics.run_confusion(run)
    if cm is None:
        st.caption("This run has no validation set.")
        return
    class_names = list(run.class_names)
    chosen = _chosen_cell(len(class_names), run_metrics.most_confused_pair(cm))
    matrix_col, images_col = st.columns([1.1, 1])
    with matrix_col:
        st.plotly_chart(train_charts.confusion_heatmap(cm, class_names, chosen), key=state.TRAIN_CM_CHART,
                        on_select="rerun", selection_mode="points", width="stretch")
        st.caption(f"Validation set: {int(cm.sum()):,} images; rows are the true class, columns "
                   "the prediction. Click a cell, or pick it on the right.")
    with images_col:
        pick = st.columns(2)
        pick[0].selectbox("True class", range(len(class_names)), format_func=lambda i: class_names[i],
                          key=state.TRAIN_CM_TRUE)
        pick[1].selectbox("Predicted class", range(len(class_names)), format_func=lambda i: class_names[i],
                          key=state.TRAIN_CM_PREDICTED)
        _cell_images(run, dataset, int(st.session_state[state.TRAIN_CM_TRUE]),
                     int(st.session_state[state.TRAIN_CM_PREDICTED]))


def _cell_images(run: runs.RunRecord, dataset: Dataset, true_class: int, predicted_class: int) -> None:
    """How many validation images fall in one cell, and the most confident of them."""
    class_names = list(run.class_names)
    indices, probabilities, total = run_metrics.cell_examples(run, true_class, predicted_class, SHOWN_EXAMPLES)
    st.markdown(f"**{total:,}** validation images of **{class_names[true_class]}** predicted as "
                f"**{class_names[predicted_class]}**" + (f"; the {len(indices)} most confident:" if total else "."))
    source = _images_of(run, dataset)
    if total and source is not None:
        st.html(thumbnail_grid_html([source.x_train[i] for i in indices],
                                    [run_metrics.probability_caption(p, class_names) for p in probabilities], width_px=84))
    elif total:
        st.caption(f"The images of {run.dataset_name} are not loaded.")


def per_class_accuracy_tab(run: runs.RunRecord) -> None:
    """Each class's validation accuracy after every epoch (the last epoch only for a run read
    from the store, which keeps no more)."""
    if run.result is None or not run.result.per_class_val_accuracy:
        st.caption("Per-class accuracy over epochs is recorded while training; this run has none.")
        return
    per_class = run.result.per_class_val_accuracy
    epochs = run.result.history.get("epoch") or []
    last_only = len(per_class) == 1 and len(epochs) > 1
    st.plotly_chart(train_charts.per_class_accuracy(per_class, run.class_names, epochs[-1:] if last_only else epochs),
                    width="stretch", key="train_per_class_chart")
    if last_only:
        st.caption("Validation accuracy of each class after the last epoch: the run store keeps that one; the "
                   "curve over every epoch is shown for runs trained in this session.")
    else:
        st.caption("Validation accuracy of each class after every epoch: which digits the network learns first.")


def first_layer_weights_tab(run: runs.RunRecord) -> None:
    """The first layer's weights as images: each unit's (or filter's) pattern."""
    first = run.model.weight_arrays()[0]
    if first.ndim == 4:  # Conv2D kernels (k, k, channels in, filters): the first layer sees one channel
        side = first.shape[0]
        st.plotly_chart(train_charts.first_layer_weights(first[:, :, 0, :].reshape(side * side, -1), side=side),
                        width="stretch", key="train_weights_chart")
        st.caption(f"The {first.shape[3]} filters of the first convolution, {side}x{side} each: the pattern "
                   "each one looks for at every position of the image (red: ink here raises its output, "
                   "blue: lowers it). Edges and stroke ends, mostly.")
        return
    st.plotly_chart(train_charts.first_layer_weights(first), width="stretch", key="train_weights_chart")
    st.caption(f"The first {min(64, first.shape[1])} of {first.shape[1]} units of the first layer: each tile "
               f"is that unit's {first.shape[0]} incoming weights as an image (red: ink here raises the unit, "
               "blue: lowers it).")


def weight_histograms_tab(run: runs.RunRecord) -> None:
    """One histogram of weights per layer."""
    weights = run.model.weight_arrays()
    names = [f"W{i + 1} {'x'.join(map(str, w.shape))}" for i, w in enumerate(weights)]
    st.plotly_chart(train_charts.weight_histograms(weights, names), width="stretch", key="train_histogram_chart")


def inspect_run(run: runs.RunRecord, dataset: Dataset) -> None:
    """One run in four tabs: confusion matrix, per-class accuracy, first-layer weights, histograms."""
    confusion_tab, classes_tab, weights_tab, histogram_tab = st.tabs(
        ["Confusion matrix", "Per-class accuracy", "First-layer weights", "Weight histograms"])
    with confusion_tab:
        confusion_matrix_tab(run, dataset)
    with classes_tab:
        per_class_accuracy_tab(run)
    with weights_tab:
        first_layer_weights_tab(run)
    with histogram_tab:
        weight_histograms_tab(run)
