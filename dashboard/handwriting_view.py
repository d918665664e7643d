"""The Predict page's "Teach it your handwriting": keep a drawing with its true digit in the
personal set, list and delete kept drawings, fine-tune a copy of the model in the background
and show before/after; the copy becomes a run of the store that the picker offers.

Storage is :class:`experiments.personal_set.PersonalSet` (under ``MNIST_LAB_HOME``); the
fine-tuning is :func:`experiments.finetune_task.fine_tune_on_personal_set`.
"""
from __future__ import annotations

import contextlib
import hashlib
from typing import Any

import numpy as np
import streamlit as st

from experiments.background import FAILED, RUNNING
from experiments.finetune_task import MIN_DRAWINGS, FineTuneOutcome, fine_tune_on_personal_set
from experiments.personal_set import PersonalSet
from nnlib.lr_finder import copy_model
from nnlib.training import TrainingControl

from . import jobs, state
from .background_tasks import session_task, start_session_task
from .data import cached_dataset
from .figures import upscale
from .models import MODEL_READING_LOCK, Predictor
from .runs import set_active_run

POLL_SECONDS = 0.75
GALLERY_COLUMNS = 8
DIGITS = tuple(range(10))


def personal_set() -> PersonalSet:
    """The personal set under the current ``MNIST_LAB_HOME``."""
    return PersonalSet()


def keep_drawing(image: np.ndarray) -> None:
    """Button: keep the drawing with the digit chosen as its true label."""
    label = int(st.session_state[state.PREDICT_TRUE_DIGIT])
    personal_set().add(image, label)
    st.session_state[state.PREDICT_PERSONAL_FLASH] = f"Kept as {label}."


def delete_drawing(drawing_id: str) -> None:
    """A drawing's delete button."""
    with contextlib.suppress(KeyError):   # deleted meanwhile (another tab)
        personal_set().delete(drawing_id)


def start_fine_tuning(predictor: Predictor) -> None:
    """Button: fine-tune a copy of the answering model on the personal set, in the background."""
    store = jobs.get_store()
    dataset = cached_dataset("MNIST")
    personal = personal_set()
    name = predictor.name

    def work(report: Any, control: TrainingControl) -> FineTuneOutcome:
        with MODEL_READING_LOCK:      # the copy is taken under the lock; training uses the copy
            source = copy_model(predictor.model)
        return fine_tune_on_personal_set(source, predictor.scaler, dataset, personal, store, name,
                                         progress=report, control=control)

    start_session_task(state.PREDICT_FINETUNE_TASK, "fine-tune", work)


def keep_section(image: np.ndarray, answered: int) -> None:
    """Say the true digit and keep the drawing."""
    st.subheader("Teach it your handwriting")
    st.markdown("Is the answer right? Say which digit you drew and keep the drawing. With a few kept drawings, "
                "fine-tune a copy of the model on them, mixed with MNIST images replayed so that it does not "
                "forget MNIST, and compare before and after.")
    drawing_id = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
    if st.session_state.get(state.PREDICT_TRUE_DIGIT_DRAWING) != drawing_id:   # a new drawing: start from the answer
        st.session_state[state.PREDICT_TRUE_DIGIT_DRAWING] = drawing_id
        st.session_state[state.PREDICT_TRUE_DIGIT] = answered
    cols = st.columns([3, 1])
    cols[0].radio("The digit I drew", DIGITS, horizontal=True, key=state.PREDICT_TRUE_DIGIT)
    cols[1].button("💾 Keep this drawing", key="predict_keep_drawing", on_click=keep_drawing, args=(image,))


def personal_set_section(predictor: Predictor | None) -> None:
    """The kept drawings (each deletable), the fine-tune button, its progress and its result."""
    flash = st.session_state.pop(state.PREDICT_PERSONAL_FLASH, None)
    if flash:
        st.success(flash)
    personal = personal_set()
    try:
        entries = personal.entries()
    except ValueError as error:
        st.error(str(error))
        return
    st.markdown(f"**Your personal set: {len(entries)} drawing(s)** (kept in `{personal.folder}`)")
    for start in range(0, len(entries), GALLERY_COLUMNS):
        for column, entry in zip(st.columns(GALLERY_COLUMNS), entries[start:start + GALLERY_COLUMNS]):
            column.image(upscale(personal.image(entry), 2), caption=f"kept as {entry.label}")
            column.button("🗑️", key=f"predict_personal_delete_{entry.id}", on_click=delete_drawing, args=(entry.id,),
                          help="Delete this drawing")
    task = session_task(state.PREDICT_FINETUNE_TASK)
    active = task is not None and task.active
    reads_digits = predictor is not None and tuple(predictor.class_names) == tuple(str(d) for d in DIGITS)
    if predictor is not None and not reads_digits:
        st.caption(f"{predictor.name} does not read digits 0-9: fine-tuning on drawn digits needs a digit model.")
    if predictor is not None:
        st.button(f"🎓 Fine-tune {predictor.name} on my drawings", key="predict_finetune_button",
                  on_click=start_fine_tuning, args=(predictor,),
                  disabled=active or len(entries) < MIN_DRAWINGS or not reads_digits,
                  help=f"Needs at least {MIN_DRAWINGS} drawings; every 4th drawing of a digit is held out to test.")
    st.fragment(_progress, run_every=POLL_SECONDS if active else None)(active)
    if task is not None and not task.active:
        _result(task)


def _progress(active_at_start: bool) -> None:
    task = session_task(state.PREDICT_FINETUNE_TASK)
    if task is None:
        return
    if task.status == RUNNING:
        st.progress(task.fraction, text=f"Fine-tuning: {task.message}")
    elif active_at_start:
        st.rerun()


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _result(task: Any) -> None:
    if task.status == FAILED:
        st.error(f"Fine-tuning failed: {task.error}")
        return
    outcome: FineTuneOutcome = task.result
    if outcome is None:
        return
    report = outcome.report
    cols = st.columns(2)
    cols[0].markdown(f"**Held-out drawings of yours ({report.n_held_out}):** {_percent(report.personal_before)} → "
                     f"{_percent(report.personal_after)}")
    cols[1].markdown(f"**MNIST test set:** {_percent(report.reference_before)} → {_percent(report.reference_after)}")
    if outcome.run_id is None:
        st.info("The fine-tuned copy was not kept (stopped, or no run store).")
        return
    st.button("Answer with the fine-tuned copy", key="predict_use_finetuned", on_click=set_active_run,
              args=(outcome.run_id,))


def draw_teach_handwriting(predictor: Predictor | None, mnist_style: Any, prediction: Any) -> None:
    """The whole section: keep (when there is a drawing), the personal set, fine-tuning."""
    if predictor is not None and prediction is not None and mnist_style is not None and not mnist_style.is_empty:
        keep_section(mnist_style.image, int(prediction.label))
    else:
        st.subheader("Teach it your handwriting")
    personal_set_section(predictor)
