"""Compute at server start what the pages need on their first visit, so no visitor waits for it.

``scripts/serve.py`` (``make run``, ``make serve``) sets ``MNIST_LAB_WARM_UP=1`` for the server:

* the server process (:mod:`dashboard.server_process`) loads the dataset and the bundled models
  and computes, through the very cached functions the pages call, the Explore results (read
  back from the disk cache) and the Inside page's layer surveys and maps of the bundled MLP and
  CNN, before its port opens (:func:`warm_before_serving`): no first visit then shares the
  machine with this work.
* a server started otherwise with the variable set does the same in one background thread that
  the first script run of any page starts (:func:`start_once`). A page that needs a result the
  thread is computing waits for that one computation instead of starting a second.

Nothing here computes: the numbers come from nnlib through the pages' own cached functions.
Without the variable (page tests, ``streamlit run`` by hand) nothing starts in the background.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import streamlit as st

ENABLE_VARIABLE = "MNIST_LAB_WARM_UP"
THREAD_NAME = "mnist-lab-warm-up"
# Streamlit warns once per cached call made outside a page's run ("missing ScriptRunContext"):
# expected for this thread, so its warnings are dropped (other threads' still show).
CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"
log = logging.getLogger(__name__)


class _NotFromWarmUp(logging.Filter):
    """Drops the records logged by the warm-up thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME


def enabled() -> bool:
    """Whether this server warms up (``MNIST_LAB_WARM_UP=1``, set by ``scripts/serve.py``)."""
    return os.environ.get(ENABLE_VARIABLE, "").strip() == "1"


def quietly(what: str, task: Callable[[], object]) -> None:
    """Run one warm-up task; a failure is logged, never raised (the page will say what is wrong)."""
    try:
        task()
    except Exception:   # the page that needs it shows the error to the user instead
        log.warning("warm-up: %s failed", what, exc_info=True)


def warm_explore() -> None:
    """The default dataset and the Explore page's statistics and default 2-D map."""
    from nnlib.analysis import dataset_fingerprint

    from .data import DEFAULT_DATASET, cached_dataset
    from .explore_data import DEFAULT_MAP_SIZE, dataset_statistics, pca_points

    dataset = cached_dataset(DEFAULT_DATASET)
    fingerprint = dataset_fingerprint(dataset)
    dataset_statistics(fingerprint, dataset)
    pca_points(fingerprint, DEFAULT_MAP_SIZE, dataset)


def warm_inside() -> None:
    """The layer survey and the layer maps figure of each bundled model on the default dataset."""
    from .data import DEFAULT_DATASET, cached_dataset
    from .inside_inputs import survey_for
    from .inside_survey_view import MAP_POINTS, maps_figure
    from .models import bundled_cnn_predictor, default_predictor

    dataset = cached_dataset(DEFAULT_DATASET)
    for predictor in (default_predictor(), bundled_cnn_predictor()):
        if predictor is not None:
            survey = survey_for(predictor, dataset)
            maps_figure(survey.key, MAP_POINTS[0], survey, predictor.class_names)


def warm_everything() -> None:
    """Every slow page's first-visit work."""
    quietly("the Inside page's layer surveys", warm_inside)
    quietly("the dataset and Explore's statistics", warm_explore)


@st.cache_resource(show_spinner=False)
def _warm_up_thread() -> threading.Thread:
    logging.getLogger(CONTEXT_LOGGER).addFilter(_NotFromWarmUp())
    thread = threading.Thread(target=warm_everything, name=THREAD_NAME, daemon=True)
    thread.start()
    return thread


_warmed_before_serving = threading.Event()


def warm_before_serving() -> None:
    """Do the warm-up's work now, in the calling thread (:mod:`dashboard.server_process`, before
    the server's port opens); a later :func:`start_once` then has nothing to start."""
    warm_everything()
    _warmed_before_serving.set()


def start_once() -> threading.Thread | None:
    """Start the server's warm-up thread on the first call (when enabled and not done before the
    server opened); the thread, or None."""
    if not enabled() or _warmed_before_serving.is_set():
        return None
    return _warm_up_thread()
