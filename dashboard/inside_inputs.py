"""What goes into the network on the Inside page: a test image (by index, at random, among the
most confidently misread) or the Predict page's picture; and the cached survey of the layers.

The survey (every layer's PCA map, unit values and activity on a fixed seeded sample of
test images) is computed once per model and dataset (cached, keyed by the model's
fingerprint), so the page opens fast after the first visit.
"""
from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import streamlit as st

from nnlib.analysis import dataset_fingerprint
from nnlib.data import Dataset
from nnlib.introspect import model_fingerprint
from nnlib.layer_survey import LayerSurvey, most_confident_mistakes, survey_layers
from nnlib.model import Sequential

from . import state
from .models import Predictor

BY_INDEX = "Test image by index"
RANDOM = "Random test image"
MISREAD = "Most confidently misread"
PREDICT_PICTURE = "The Predict page's picture"
SOURCES = (BY_INDEX, RANDOM, MISREAD, PREDICT_PICTURE)
SURVEY_SIZE = 2000
MISREAD_SHOWN = 12
SIDE = 28


@dataclass(frozen=True, eq=False)
class InputChoice:
    """The picture to look inside with: ``picture`` float32 (28, 28) in 0-1 (for display),
    ``network_input`` (1, 784) after the model's own scaling, the true label when known,
    a caption, and ``key``, which tells one input from another (for the Step session).
    ``image_index``: the position in the page's image set (None for the Predict page's picture),
    what the page's link names."""

    picture: np.ndarray
    network_input: np.ndarray
    true_label: int | None
    caption: str
    key: str
    image_index: int | None = None


@dataclass(frozen=True, eq=False)
class SurveyData:
    """A model's survey on ``SURVEY_SIZE`` test images: ``indices`` into the image set, the survey,
    and ``key``, naming the model and dataset it was made from (for caches built on it)."""

    indices: np.ndarray
    survey: LayerSurvey
    key: str


def image_set(dataset: Dataset) -> tuple[np.ndarray, np.ndarray, str]:
    """The images the page draws from: the test set, or the training set when there is none."""
    if dataset.has_test:
        return dataset.x_test, dataset.y_test, "test"
    return dataset.x_train, dataset.y_train, "training"


# A model's fingerprint, hashed once per model object (2.7 MB of weights for the bundled MLP: a few
# ms on every run otherwise). Safe because the models this page is handed are never changed in place:
# they are loaded once per file (cache_resource) and Step trains a copy (nnlib.introspect.copy_model).
_FINGERPRINTS: weakref.WeakKeyDictionary[Sequential, str] = weakref.WeakKeyDictionary()
_FINGERPRINTS_LOCK = threading.Lock()


def _fingerprint(model: Sequential) -> str:
    with _FINGERPRINTS_LOCK:
        known = _FINGERPRINTS.get(model)
    if known is None:
        known = model_fingerprint(model)
        with _FINGERPRINTS_LOCK:
            _FINGERPRINTS[model] = known
    return known


def model_key(predictor: Predictor) -> str:
    """Identity of a model and its input scaling, for caches and the Step session."""
    scaler = predictor.scaler
    return f"{_fingerprint(predictor.model)}|{scaler.method}|{scaler.mean}|{scaler.std}"


# cache_resource, not cache_data: the survey's arrays (about 10 MB) are shared read-only instead of
# being unpickled on every run of the page.
@st.cache_resource(show_spinner="Looking at every layer on 2,000 test images (once per model)...", max_entries=6)
def cached_survey(key: str, dataset_key: str, _predictor: Predictor, _dataset: Dataset) -> SurveyData:
    """The layer survey of ``_predictor`` on a seeded sample of ``_dataset``'s images."""
    images, labels, _ = image_set(_dataset)
    rng = np.random.default_rng(0)
    indices = np.sort(rng.choice(len(images), size=min(SURVEY_SIZE, len(images)), replace=False))
    inputs = _predictor.scaler.transform(np.asarray(images[indices]).reshape(len(indices), -1))
    return SurveyData(indices, survey_layers(_predictor.model, inputs, np.asarray(labels)[indices]),
                      f"{key}|{dataset_key}")


def survey_for(predictor: Predictor, dataset: Dataset) -> SurveyData:
    return cached_survey(model_key(predictor), dataset_fingerprint(dataset), predictor, dataset)


def _label_name(names: tuple[str, ...], label: int) -> str:
    return names[label] if 0 <= label < len(names) else "?"


def _from_set(predictor: Predictor, images: np.ndarray, labels: np.ndarray, index: int, what: str) -> InputChoice:
    raw = np.asarray(images[index], dtype=np.float32).reshape(SIDE, SIDE)
    label = int(labels[index])
    return InputChoice(raw / 255, predictor.scaler.transform(raw.reshape(1, -1)), label if label >= 0 else None,
                       f"{what} image #{index}, label {_label_name(predictor.class_names, label)}", f"{what}:{index}",
                       index)


def _pick_random(count: int) -> None:
    st.session_state[state.INSIDE_TEST_INDEX] = int(np.random.default_rng().integers(count))


def choose_input(predictor: Predictor, dataset: Dataset, survey: SurveyData) -> InputChoice | None:
    """Draw the input picker and return the chosen input (None: the Predict page has no picture yet)."""
    images, labels, what = image_set(dataset)
    names = predictor.class_names
    source = st.radio("Input", SOURCES, key=state.INSIDE_SOURCE, horizontal=True)
    if source in (BY_INDEX, RANDOM):
        if st.session_state.get(state.INSIDE_TEST_INDEX, 0) >= len(images):
            st.session_state[state.INSIDE_TEST_INDEX] = 0
        columns = st.columns([2, 1])
        index = columns[0].number_input(f"Index in the {what} set (0-{len(images) - 1})", 0, len(images) - 1,
                                        key=state.INSIDE_TEST_INDEX, step=1)
        columns[1].button("🎲 Another at random", on_click=_pick_random, args=(len(images),))
        return _from_set(predictor, images, labels, int(index), what)
    if source == MISREAD:
        positions = most_confident_mistakes(survey.survey.probabilities, survey.survey.labels, MISREAD_SHOWN)
        if not len(positions):
            st.info("The model reads every surveyed image right: pick one by index instead.")
            return _from_set(predictor, images, labels, int(survey.indices[0]), what)
        options = [int(survey.indices[p]) for p in positions]
        described = {int(survey.indices[p]): (
            f"#{int(survey.indices[p])}: a {_label_name(names, int(survey.survey.labels[p]))} read as "
            f"{_label_name(names, int(survey.survey.predictions[p]))} "
            f"({100 * float(survey.survey.probabilities[p].max()):.1f}% sure)") for p in positions}
        if st.session_state.get(state.INSIDE_CONFUSED_CHOICE) not in options:
            st.session_state.pop(state.INSIDE_CONFUSED_CHOICE, None)
        index = st.selectbox(f"The {len(options)} images of the surveyed {len(survey.indices):,} the model is surest "
                             "about, and wrong", options, format_func=described.get, key=state.INSIDE_CONFUSED_CHOICE)
        return _from_set(predictor, images, labels, int(index), what)
    picture = st.session_state.get(state.INSIDE_PREDICT_PICTURE)
    if picture is None:
        st.info("No picture yet: draw a digit on the **Draw and predict** page, then press *Look inside the "
                "network* there.")
        st.page_link("pages/predict.py", label="Draw a digit", icon="✏️")
        return None
    picture = np.asarray(picture, dtype=np.float32).reshape(SIDE, SIDE)
    digest = hashlib.blake2b(picture.tobytes(), digest_size=6).hexdigest()
    return InputChoice(picture, predictor.scaler.transform(picture.reshape(1, -1), already_unit=True), None,
                       "the picture from the Predict page, made MNIST-style", f"drawing:{digest}")
