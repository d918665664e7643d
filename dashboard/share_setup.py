"""Links that open a setup, on the page: read a link once, keep the URL in step, offer the link.

Each page makes two calls: ``open_*_link()`` before its widgets are drawn (a link opened
for the first time in this session sets the widgets: the link wins over the session's
values; keys or values it cannot use are named in a warning and left alone), and
``share_*_link()`` after them (the URL follows the user's changes, and a "Copy link to this
setup" popover shows the full address). Everything a link sets goes into this session's
state only. The codec is :mod:`dashboard.share_links`.

The job id (``?job=``) is never part of a shared link: it would let the link's holder
watch and stop this session's training.
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import streamlit as st

from nnlib.preprocessing import PreprocessConfig

from . import share_links, state
from .data import current_preprocess_config
from .inside_inputs import BY_INDEX, InputChoice
from .inside_models import choice_for_run, default_choice
from .models import CNN_MODEL_NAME, DEFAULT_MODEL_NAME, Predictor, bundled_cnn_predictor
from .runs import find_run, get_active_run, set_active_run
from .training_job import QUERY_JOB

TRAIN_PAGE, PREPROCESS_PAGE, PREDICT_PAGE, INSIDE_PAGE = "train", "preprocess", "predict", "inside"
# The Preprocess page's widgets: cleared when a link sets the config, so the page starts them from it.
PREPROCESS_WIDGETS = (state.PREPROCESS_TRAIN_SIZE, state.PREPROCESS_SEED, state.PREPROCESS_TRAIN_SHARE,
                      state.PREPROCESS_SCALING, state.PREPROCESS_AUGMENT_ON, state.PREPROCESS_SHIFT,
                      state.PREPROCESS_ROTATION, state.PREPROCESS_ZOOM, state.PREPROCESS_NOISE)
URL_SAFE = ",:"  # layers=256,128,64 and model=run:abc stay readable


def _setup_params(ignore: tuple[str, ...] = (QUERY_JOB,)) -> dict[str, str]:
    """The URL's parameters that describe a setup (one value per key)."""
    return {key: st.query_params.get(key) for key in st.query_params if key not in ignore}


def _seen() -> dict[str, dict[str, str]]:
    return st.session_state.setdefault(state.SHARE_LINK_SEEN, {})


def _is_new_link(page: str, params: Mapping[str, str]) -> bool:
    """Whether ``params`` are a link to read: the page's first run in this session has some.

    Only the first run: a rerun can arrive with the address the browser had before the last
    write reached it (a slider dragged key by key), and reading that as a link would undo the
    user's newest change. A link pasted into the address bar opens a new session anyway.
    """
    return bool(params) and page not in _seen()


def _show_problems(problems: list[str]) -> None:
    if problems:
        st.warning("Some settings of this link were not used (the page keeps its own values for them):\n"
                   + "\n".join(f"- `{problem}`" for problem in problems), icon="🔗")


def _write_url(page: str, query: Mapping[str, str], keep: tuple[str, ...] = (QUERY_JOB,)) -> None:
    """Make the URL's setup parameters ``query`` (others in ``keep`` stay) and remember them."""
    for key in [key for key in st.query_params if key not in query and key not in keep]:
        del st.query_params[key]
    for key, value in query.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    _seen()[page] = dict(query)


def link_to(query: Mapping[str, str]) -> str:
    """The full address of this page with ``query``; just ``?query`` where the page's URL is
    unknown (outside a browser)."""
    base = st.context.url if getattr(st.context, "url", None) else ""
    return f"{base}?{urlencode(query, safe=URL_SAFE)}"


def _copy_link_popover(query: Mapping[str, str]) -> None:
    with st.popover("🔗 Copy link to this setup"):
        st.caption("Whoever opens this link gets these settings in their own session "
                   "(your runs and your training job stay yours). Copy it with the icon at its right.")
        st.code(link_to(query), language=None, wrap_lines=True)


def set_preprocess_config(config: PreprocessConfig) -> None:
    """Make ``config`` this session's preprocessing; the Preprocess page's widgets restart from it."""
    st.session_state[state.PREPROCESS_CONFIG] = config
    for key in PREPROCESS_WIDGETS:
        st.session_state.pop(key, None)


def _apply_preprocess(params: Mapping[str, str]) -> list[str]:
    config, problems = share_links.decode_preprocess(params, current_preprocess_config())
    if config is not None:
        set_preprocess_config(config)
    return problems


# ---------------------------------------------------------------------- Train
def open_train_link() -> None:
    """Train page, before the controls: a new link sets the controls and the preprocessing."""
    params = _setup_params()
    if not _is_new_link(TRAIN_PAGE, params):
        return
    values, problems = share_links.decode_train(params)
    st.session_state.update(values)
    problems += _apply_preprocess(params)
    problems += share_links.unknown_keys(params, (*share_links.ALL_TRAIN_KEYS, *share_links.PREPROCESS_KEYS))
    _seen()[TRAIN_PAGE] = params
    _show_problems(problems)


def train_link_query() -> dict[str, str]:
    """The Train page's link now: its controls, then the preprocessing it trains on."""
    return {**share_links.train_query(st.session_state),  # type: ignore[arg-type]  # SessionStateProxy is a Mapping[str | int, Any]
            **share_links.preprocess_query(current_preprocess_config())}


def share_train_link() -> None:
    """Train page, after the controls: the URL follows them; the copy-link popover."""
    query = train_link_query()
    _write_url(TRAIN_PAGE, query)
    _copy_link_popover(query)


# ---------------------------------------------------------------------- Preprocess
def open_preprocess_link() -> None:
    """Preprocess page, before its widgets: a new link sets the preprocessing config."""
    params = _setup_params()
    if not _is_new_link(PREPROCESS_PAGE, params):
        return
    problems = _apply_preprocess(params)
    problems += share_links.unknown_keys(params, share_links.PREPROCESS_KEYS)
    _seen()[PREPROCESS_PAGE] = params
    _show_problems(problems)


def share_preprocess_link(config: PreprocessConfig) -> None:
    """Preprocess page, once its config is built: the URL follows it; the copy-link popover."""
    query = share_links.preprocess_query(config)
    _write_url(PREPROCESS_PAGE, query)
    _copy_link_popover(query)


# ---------------------------------------------------------------------- Predict
def select_model(link: share_links.ModelLink) -> str | None:
    """Make the model a link names the one that answers; a note when it cannot (the default answers).

    Runs are looked up in the run store and this session's runs (dashboard.runs.find_run).
    """
    set_active_run(None)
    st.session_state[state.PREDICT_BUNDLED_MODEL] = DEFAULT_MODEL_NAME
    if link.kind == "cnn":
        if bundled_cnn_predictor() is None:
            return "model=cnn: the bundled CNN is not installed here; the default model answers"
        st.session_state[state.PREDICT_BUNDLED_MODEL] = CNN_MODEL_NAME
    elif link.kind == "run":
        if find_run(link.run_id) is None:
            return f"model={link.text()}: no run with this id here; the default model answers"
        set_active_run(link.run_id)
    return None


def current_model_link() -> share_links.ModelLink:
    """The model that answers now, as a link names it."""
    run = get_active_run()
    if run is not None:
        return share_links.ModelLink("run", run.id)
    if st.session_state.get(state.PREDICT_BUNDLED_MODEL) == CNN_MODEL_NAME:
        return share_links.ModelLink("cnn")
    return share_links.DEFAULT_MODEL_LINK


def open_model_link() -> None:
    """Predict page, before the model is chosen: a new ``?model=`` link picks the model; the URL
    then names the model that answers."""
    params = {share_links.MODEL_KEY: st.query_params[share_links.MODEL_KEY]} \
        if share_links.MODEL_KEY in st.query_params else {}
    if _is_new_link(PREDICT_PAGE, params):
        try:
            problem = select_model(share_links.decode_model(params[share_links.MODEL_KEY]))
        except share_links.LinkValueError as error:
            problem = f"{error}; the default model answers"
            select_model(share_links.DEFAULT_MODEL_LINK)
        _show_problems([problem] if problem else [])
    query = {share_links.MODEL_KEY: current_model_link().text()}
    st.query_params[share_links.MODEL_KEY] = query[share_links.MODEL_KEY]
    _seen()[PREDICT_PAGE] = query



# ---------------------------------------------------------------------- Inside
def _inside_choice(link: share_links.ModelLink, choices: list[str]) -> str:
    """The Inside page's label of the model ``link`` names; LinkValueError when it offers none."""
    if link.kind == "run":
        label = choice_for_run(str(link.run_id))
    else:
        label = CNN_MODEL_NAME if link.kind == "cnn" else DEFAULT_MODEL_NAME
    if label is None or label not in choices:
        raise share_links.LinkValueError(f"{share_links.MODEL_KEY}={link.text()}: this model is not available here")
    return label


def open_inside_link(choices: list[str], image_count: int, image_set_name: str) -> None:
    """Inside page, before its pickers: a new ``?model=...&image=<index>`` link picks the model
    and the image (by its index among the ``image_count`` images of the page's image set).

    What it cannot use is named in a warning with what the page shows instead: the model the
    Predict page uses, and image 0.
    """
    params = _setup_params()
    if not _is_new_link(INSIDE_PAGE, params):
        return
    problems = []
    if share_links.MODEL_KEY in params:
        try:
            link = share_links.decode_model(params[share_links.MODEL_KEY])
            st.session_state[state.INSIDE_MODEL_CHOICE] = _inside_choice(link, choices)
        except share_links.LinkValueError as error:
            fallback = default_choice(choices)
            st.session_state[state.INSIDE_MODEL_CHOICE] = fallback
            problems.append(f"{error}; the page opens {fallback}")
    if share_links.IMAGE_KEY in params:
        st.session_state[state.INSIDE_SOURCE] = BY_INDEX
        try:
            st.session_state[state.INSIDE_TEST_INDEX] = share_links.decode_image(params[share_links.IMAGE_KEY],
                                                                                 image_count)
        except share_links.LinkValueError as error:
            st.session_state[state.INSIDE_TEST_INDEX] = 0
            problems.append(f"{error}; the page shows {image_set_name} image 0, the default")
    problems += share_links.unknown_keys(params, (share_links.MODEL_KEY, share_links.IMAGE_KEY))
    _seen()[INSIDE_PAGE] = params
    _show_problems(problems)


def inside_model_link(predictor: Predictor) -> share_links.ModelLink:
    """The model the Inside page looks into, as a link names it."""
    if predictor.run_id is not None:
        return share_links.ModelLink("run", predictor.run_id)
    return share_links.ModelLink("cnn") if predictor.name == CNN_MODEL_NAME else share_links.DEFAULT_MODEL_LINK


def share_inside_link(predictor: Predictor, choice: InputChoice | None) -> None:
    """Inside page, once the input is chosen: the URL names the model and the image shown
    (no image for the Predict page's picture, which a link cannot carry)."""
    query = {share_links.MODEL_KEY: inside_model_link(predictor).text()}
    if choice is not None and choice.image_index is not None:
        query.update(share_links.image_query(choice.image_index))
    _write_url(INSIDE_PAGE, query)
