"""The Train page's diagnosis of one finished run: can its confidence be trusted
(calibration, temperature scaling saved with the run) and where is it wrong (highest-loss
test images, per-class precision/recall/F1, one image's true-class probability over epochs).

The numerics are nnlib's (:mod:`nnlib.calibration`, :mod:`nnlib.error_analysis`); this module
reads the run's model and outputs, calls them and draws.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from nnlib.calibration import METADATA_KEY, calibrate, store_temperature
from nnlib.data import Dataset
from nnlib.error_analysis import highest_loss, per_class_scores
from nnlib.model import Sequential
from nnlib.preprocessing import Scaler, flatten, prepare

from . import jobs, runs
from .data import current_dataset
from .diagnose_charts import reliability_figure, true_class_over_epochs
from .figures import upscale
from .stored_models import RunModelUnavailable, fits, model_file, with_model

WRONG_SHOWN = 12
WRONG_COLUMNS = 6


@st.cache_resource(show_spinner="Reading the test set with the run's model...", max_entries=8)
def _test_probabilities(run_id: str, model_key: tuple, dataset_key: tuple, _model: Sequential, _scaler: Scaler,
                        _dataset: Dataset) -> np.ndarray:
    x = _scaler.transform(flatten(_dataset.x_test))
    with np.errstate(over="ignore", invalid="ignore"):
        return _model.predict_proba(x)


def _model_key(run: runs.RunRecord, model: Sequential) -> tuple:
    path = model_file(run)
    return (str(path), path.stat().st_mtime_ns) if path is not None else (id(model),)


def calibrate_run(run_id: str) -> None:
    """Button: fit a temperature on the run's validation split, measure the test ECE before
    and after, and save the temperature with the run (its model file) for Predict."""
    run = runs.find_run(run_id)
    if run is None:
        return
    loaded = with_model(run)
    prepared = prepare(current_dataset(), run.preprocess_config)
    report = calibrate(loaded.model, prepared.x_val, prepared.y_val, prepared.x_test, prepared.y_test)
    store_temperature(loaded.model, report)
    loaded.model.metadata[METADATA_KEY].update(bins_before=report.before.to_dict(), bins_after=report.after.to_dict())
    store = jobs.get_store()
    if store is not None and (run.in_store or run.stored is not None):
        stored_model = store.load_model(run.id)
        stored_model.metadata[METADATA_KEY] = dict(loaded.model.metadata[METADATA_KEY])
        store.save_model(run.id, stored_model)


def calibration_section(run: runs.RunRecord, dataset: Dataset) -> None:
    """Reliability diagram, ECE, and temperature scaling of the run (saved with it)."""
    st.markdown("Among the images the network answers with 90% confidence, are 90% right? The **reliability "
                "diagram** bins the test images by confidence; a calibrated network's bars follow the diagonal. "
                "The **expected calibration error** (ECE) is the gap, weighted by each bin's count. "
                "**Temperature scaling** divides the logits by one number T, fitted on the validation split: "
                "the answers stay the same, only how sure they sound changes. The Predict page then uses T.")
    loaded = with_model(run)
    problem = _unusable(run, loaded.model, dataset)
    if problem:
        st.info(problem)
        return
    if not (run.preprocess_config and run.preprocess_config.val_fraction > 0):
        st.info("This run has no validation split to fit a temperature on.")
        return
    st.button("🌡️ Calibrate this run", key="diagnose_calibrate_button", on_click=calibrate_run, args=(run.id,))
    calibration = (loaded.model.metadata or {}).get(METADATA_KEY)
    if not isinstance(calibration, dict) or "bins_before" not in calibration:
        st.caption("Not calibrated yet.")
        return
    cols = st.columns(3)
    cols[0].metric("Test ECE before", f"{100 * calibration['ece_before']:.2f}%")
    cols[1].metric("Test ECE after", f"{100 * calibration['ece_after']:.2f}%",
                   f"{100 * (calibration['ece_after'] - calibration['ece_before']):+.2f} points", delta_color="inverse")
    cols[2].metric("Temperature T", f"{calibration['temperature']:.3f}")
    st.plotly_chart(reliability_figure(calibration["bins_before"], calibration["bins_after"]),
                    key="diagnose_reliability_chart")
    verdict = ("over-confident: T > 1 softens its answers" if calibration["temperature"] > 1
               else "under-confident: T < 1 sharpens its answers")
    st.caption(f"Fitted on {calibration['n_fit']:,} validation images, measured on {calibration['n_test']:,} test "
               f"images. The raw network was {verdict}. Numbers on the bars: images in the bin.")


def _unusable(run: runs.RunRecord, model: Sequential, dataset: Dataset) -> str | None:
    if not dataset.has_test:
        return f"{dataset.name} has no test set to diagnose the run on."
    if not fits(model, dataset) or run.dataset_name != dataset.name:
        return f"Run {run.name!r} was trained on {run.dataset_name}; pick that dataset in the sidebar."
    return None


def where_wrong_section(run: runs.RunRecord, dataset: Dataset) -> None:
    """Highest-loss test images with top-3 probabilities; per-class scores; one image over epochs."""
    loaded = with_model(run)
    problem = _unusable(run, loaded.model, dataset)
    if problem:
        st.info(problem)
        return
    scaler = loaded.scaler if isinstance(loaded.scaler, Scaler) else Scaler.from_metadata(loaded.model.metadata)
    probabilities = _test_probabilities(run.id, _model_key(run, loaded.model), (dataset.name, len(dataset.x_test)),
                                        loaded.model, scaler, dataset)
    names = dataset.class_names
    labels = np.asarray(dataset.y_test, dtype=np.int64)
    st.markdown(f"**The {WRONG_SHOWN} test images with the highest loss** (−log of the probability the network "
                "gave the true class: confidently wrong answers come first)")
    wrong = highest_loss(probabilities, labels, WRONG_SHOWN)
    for start in range(0, len(wrong), WRONG_COLUMNS):
        for column, answer in zip(st.columns(WRONG_COLUMNS), wrong[start:start + WRONG_COLUMNS]):
            top = ", ".join(f"{names[c]} {100 * p:.0f}%" for c, p in zip(answer.top_classes, answer.top_probabilities))
            column.image(upscale(dataset.x_test[answer.index], 3),
                         caption=f"#{answer.index}: true {names[answer.true_class]} · {top}")
    st.markdown("**Per class** (precision: of the images answered as the class, the share that were; recall: of "
                "the class's images, the share found; F1: their harmonic mean)")
    scores = per_class_scores(labels, probabilities.argmax(axis=1), len(names))
    st.dataframe([{"class": names[c], "precision": round(float(scores["precision"][c]), 4),
                   "recall": round(float(scores["recall"][c]), 4), "F1": round(float(scores["f1"][c]), 4),
                   "test images": int(scores["support"][c])} for c in range(len(names))],
                 hide_index=True, key="diagnose_per_class_table")
    _true_class_history(run, dataset)


def _true_class_history(run: runs.RunRecord, dataset: Dataset) -> None:
    outputs = dict(run.extras)
    store = jobs.get_store()
    if "tracked_true_class_proba" not in outputs and store is not None and (run.in_store or run.stored is not None):
        try:
            outputs = store.load_outputs(run.id)
        except (OSError, ValueError):
            outputs = {}
    history = outputs.get("tracked_true_class_proba")
    indices = outputs.get("tracked_test_indices")
    st.markdown("**A test image's probability of its true class, epoch by epoch**")
    if history is None or indices is None or len(history) == 0:
        st.caption("This run kept no per-epoch record (runs trained before this feature, uploaded models and "
                   "runs without a test set have none); train a new run to see it.")
        return
    hardest_first = [int(i) for i in np.argsort(history[-1], kind="stable")]
    names = dataset.class_names

    def describe(position: int) -> str:
        index = int(indices[position])
        return (f"test image #{index} (true {names[int(dataset.y_test[index])]}, "
                f"{100 * float(history[-1, position]):.0f}% at the end)")

    position = st.selectbox(
        f"One of the {len(indices)} test images followed during training (hardest at the end first)", hardest_first,
        format_func=describe, key="diagnose_tracked_image")
    test_index = int(indices[position])
    image_col, chart_col = st.columns([1, 3])
    image_col.image(upscale(dataset.x_test[test_index], 4), caption=f"test image #{test_index}")
    chart_col.plotly_chart(true_class_over_epochs(history[:, position].tolist(),
                                                  dataset.class_names[int(dataset.y_test[test_index])]),
                           key="diagnose_tracked_chart")


def draw_run_diagnosis(run: runs.RunRecord, dataset: Dataset) -> None:
    """The two diagnosing sections for the run being inspected."""
    try:
        with_model(run)
    except RunModelUnavailable as error:
        st.info(str(error))
        return
    st.subheader("Can its confidence be trusted? (calibration)")
    calibration_section(run, dataset)
    st.subheader("Where is it wrong?")
    where_wrong_section(run, dataset)
