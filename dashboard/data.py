"""Cached dataset loading and the dataset picker every page shares."""
from __future__ import annotations

import hashlib

import streamlit as st

from nnlib.data import Dataset, available_datasets, load_csv, load_dataset, load_npz
from nnlib.preprocessing import PreprocessConfig, split_sizes

from . import runs, session_budget, state

UPLOADED_LABEL = "Uploaded file"
DEFAULT_DATASET = "MNIST"


def _read_only(dataset: Dataset) -> Dataset:
    """Freeze a dataset's arrays: one copy is shared by every session, none may change it."""
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test):
        if array is not None:
            array.setflags(write=False)
    return dataset


# cache_resource, not cache_data: the arrays are shared read-only instead of being
# unpickled (about 55 MB, 120 ms) on every script run of every page.
@st.cache_resource(show_spinner="Loading the dataset...", max_entries=4)
def cached_dataset(name: str) -> Dataset:
    """A named dataset (``MNIST``, ``Fashion-MNIST``), loaded once per server."""
    return _read_only(load_dataset(name))


@st.cache_resource(show_spinner="Reading the uploaded file...", max_entries=4)
def cached_upload(file_name: str, digest: str, _payload: bytes) -> Dataset:
    """A dataset read from an uploaded CSV or ``.npz``; ``digest`` (the payload's checksum) keys the
    cache, so the payload itself, up to the upload cap, is not hashed again on every rerun."""
    if file_name.lower().endswith(".npz"):
        return _read_only(load_npz(_payload, name=file_name))
    return _read_only(load_csv(_payload, name=file_name))


def dataset_choices() -> list[str]:
    """The datasets the picker offers: those installed, then an uploaded file if any."""
    names = available_datasets()
    if st.session_state.get(state.UPLOADED_DATASET):
        names.append(UPLOADED_LABEL)
    return names


def n_features(dataset: Dataset) -> int:
    """Pixels per image: what a network's input layer takes (784 for 28x28 digits)."""
    return int(dataset.x_train[0].size)


def current_dataset_name() -> str:
    """The dataset picked in the sidebar, MNIST until the user picks another."""
    name = st.session_state.get(state.DATASET_NAME, DEFAULT_DATASET)
    return name if name in dataset_choices() else DEFAULT_DATASET


def current_dataset() -> Dataset:
    """The picked dataset, loaded (cached). Falls back to MNIST if an upload went bad."""
    name = current_dataset_name()
    if name == UPLOADED_LABEL:
        upload = st.session_state[state.UPLOADED_DATASET]
        return cached_upload(upload["name"], upload["digest"], upload["bytes"])
    return cached_dataset(name)


def current_dataset_or_stop() -> Dataset:
    """The picked dataset; if it cannot be loaded, say why and stop this page's run."""
    try:
        return current_dataset()
    except ValueError as exc:
        st.error(f"The dataset could not be loaded: {exc}")
        st.stop()
        raise  # st.stop() ends the run; this line is never reached


def current_preprocess_config() -> PreprocessConfig:
    """The preprocessing config of this session (the Preprocess page edits it)."""
    config = st.session_state.get(state.PREPROCESS_CONFIG)
    return config if isinstance(config, PreprocessConfig) else PreprocessConfig()


def split_counts(n_images: int, preprocess_config: PreprocessConfig) -> tuple[int, int, int]:
    """How many images the config uses, trains on and validates on: ``(used, train, val)``."""
    n_used = n_images if preprocess_config.train_size is None else min(preprocess_config.train_size, n_images)
    return (n_used, *split_sizes(n_used, preprocess_config.val_fraction))


def _on_dataset_change() -> None:
    st.session_state[state.DATASET_NAME] = st.session_state[state.SIDEBAR_DATASET_WIDGET]


def render_dataset_picker() -> None:
    """The sidebar's dataset picker and upload box; the choice lives in session state."""
    choices = dataset_choices()
    current = current_dataset_name()
    st.session_state[state.SIDEBAR_DATASET_WIDGET] = current
    st.sidebar.selectbox(
        "Dataset",
        choices,
        key=state.SIDEBAR_DATASET_WIDGET,
        on_change=_on_dataset_change,
        help="Every page works on this dataset. MNIST is bundled; Fashion-MNIST appears "
        "when Debian's dataset-fashion-mnist package is installed.",
    )
    with st.sidebar.expander("Upload a dataset (CSV or .npz)"):
        uploaded = st.file_uploader(
            "CSV: label,pixel0..pixel783 (Kaggle digit-recognizer); .npz: arrays x and y",
            type=["csv", "npz"],
            key=state.SIDEBAR_UPLOAD_WIDGET,
        )
        if uploaded is not None:
            _accept_upload(uploaded.name, uploaded.getvalue(), _digest_of(uploaded.file_id, uploaded.getvalue()))


def _digest_of(file_id: str, payload: bytes) -> str:
    """The payload's SHA-256, worked out once per uploaded file (the widget hands the same
    file back on every rerun, up to 200 MB of it)."""
    seen = st.session_state.get(state.UPLOAD_DIGEST)
    if not seen or seen[0] != file_id:
        seen = st.session_state[state.UPLOAD_DIGEST] = (file_id, hashlib.sha256(payload).hexdigest())
    return seen[1]


def _accept_upload(file_name: str, payload: bytes, digest: str | None = None) -> None:
    """Validate an upload; keep it and select it when good, say why when not.

    The session keeps the file's bytes, so they count towards its byte limit
    (:mod:`dashboard.session_budget`): older run details are let go of to make room, and a file
    that would not fit even then is refused before it is parsed."""
    digest = digest or hashlib.sha256(payload).hexdigest()
    previous = st.session_state.get(state.UPLOADED_DATASET)
    if previous and previous["digest"] == digest:
        return
    refused = st.session_state.get(state.REFUSED_UPLOAD)
    if refused and refused["digest"] == digest:  # refused before: say so again without parsing it again
        st.error(refused["message"])
        return
    trial = session_budget.make_room(list(runs.session_runs()), state.RUNS, needed=len(payload),
                                     replacing=state.UPLOADED_DATASET)
    if not trial.fits:  # checked before parsing: a refused file takes no more memory
        st.error(session_budget.refusal(f"The uploaded {file_name}", len(payload), trial))
        return
    try:
        dataset = cached_upload(file_name, digest, payload)
    except ValueError as exc:
        st.session_state[state.REFUSED_UPLOAD] = {"digest": digest, "message": f"Could not use {file_name}: {exc}"}
        st.error(f"Could not use {file_name}: {exc}")
        return
    room = session_budget.make_room(runs.session_runs(), state.RUNS, needed=len(payload),
                                    replacing=state.UPLOADED_DATASET)
    if room.dropped:
        st.session_state[state.SESSION_RUNS_NOTE] = session_budget.let_go_note(room)
    st.session_state[state.UPLOADED_DATASET] = {"name": file_name, "digest": digest, "bytes": payload}
    st.session_state[state.DATASET_NAME] = UPLOADED_LABEL
    st.success(f"Loaded {len(dataset.x_train):,} images from {file_name}.")
    st.rerun()
