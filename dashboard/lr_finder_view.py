"""The Train page's learning-rate finder: start the range test on a copy of the network the
controls describe, watch it, and set the learning-rate control to the suggestion."""
from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from experiments.background import FAILED, RUNNING
from nnlib.builders import build_network
from nnlib.lr_finder import RangeTestResult, range_test
from nnlib.preprocessing import prepare
from nnlib.training import TrainingControl

from . import state
from . import train_controls as controls
from .background_tasks import session_task, start_session_task
from .data import current_dataset, current_preprocess_config
from .diagnose_charts import range_test_figure

POLL_SECONDS = 0.75
FULL_BATCH_TEST_ROWS = 128   # a full-batch config is tested on mini-batches of this size


def nearest_allowed_rate(rate: float, options: tuple = controls.LEARNING_RATE.options) -> float:
    """The learning-rate control's option closest to ``rate`` on a log scale."""
    if not rate > 0:
        raise ValueError(f"expected a positive learning rate, got {rate}")
    values = np.asarray(options, dtype=np.float64)
    return float(options[int(np.argmin(np.abs(np.log(values) - np.log(rate))))])


def start_range_test() -> None:
    """Button: run the range test on a fresh network of the controls, in the background."""
    config = controls.controls_config()
    dataset = current_dataset()
    preprocess = current_preprocess_config()

    def work(report: Any, control: TrainingControl) -> RangeTestResult:
        prepared = prepare(dataset, preprocess)
        model = build_network(config, input_size=prepared.x_train.shape[1], n_classes=len(prepared.class_names))
        return range_test(model, prepared.x_train, prepared.y_train, optimizer=config.optimizer,
                          momentum=config.momentum, nesterov=config.nesterov, l2=config.l2,
                          batch_size=config.batch_size or FULL_BATCH_TEST_ROWS, seed=config.seed,
                          progress=lambda step, steps, rate, loss: report(
                              step / steps, f"step {step}/{steps}: rate {rate:.1e}, smoothed loss {loss:.3f}"),
                          control=control)

    start_session_task(state.TRAIN_LR_FINDER_TASK, "lr-finder", work)


def use_suggestion(rate: float) -> None:
    """Button: set the learning-rate control to the allowed value nearest ``rate``."""
    st.session_state[controls.LEARNING_RATE.key] = nearest_allowed_rate(rate)


def _progress(active_at_start: bool) -> None:
    task = session_task(state.TRAIN_LR_FINDER_TASK)
    if task is None:
        return
    if task.status == RUNNING:
        st.progress(task.fraction, text=f"Range test running: {task.message}")
        return
    if active_at_start:
        st.rerun()   # the whole page shows the result (and enables the button)


def draw_lr_finder() -> None:
    """The finder's section: explanation, Start button, progress, curve and suggestion."""
    st.subheader("Learning-rate finder")
    st.markdown("Which learning rate? Train a **copy** of the network above for a few hundred mini-batches "
                "while the rate grows from 1e-6 to 10: the loss first barely moves, then falls fast, then "
                "explodes. A good rate is where it falls fastest, before the minimum (Smith's range test, as "
                "fastai's `lr_find`).")
    task = session_task(state.TRAIN_LR_FINDER_TASK)
    active = task is not None and task.active
    st.button("🔎 Find a learning rate", on_click=start_range_test, key="train_lr_finder_button", disabled=active)
    st.fragment(_progress, run_every=POLL_SECONDS if active else None)(active)
    if task is None or task.active:
        return
    if task.status == FAILED:
        st.error(f"The range test failed: {task.error}")
        return
    result: RangeTestResult = task.result
    if result is None or not result.learning_rates:
        st.info("The range test stopped before its first step.")
        return
    st.plotly_chart(range_test_figure(result.learning_rates, result.losses, result.smoothed_losses,
                                      result.suggested_lr), key="train_lr_finder_chart")
    ending = {"diverged": "it stopped itself when the loss exploded",
              "stopped": "it was stopped", "completed": "it reached the largest rate"}[result.status]
    st.caption(f"{len(result.learning_rates)} steps; {ending}.")
    if result.suggested_lr is None:
        st.warning("No suggestion: the loss never fell. Try another optimiser or a smaller network.")
        return
    allowed = nearest_allowed_rate(result.suggested_lr)
    cols = st.columns([2, 1])
    cols[0].markdown(f"**Suggested learning rate: {result.suggested_lr:.2g}** (the slider's nearest value: "
                     f"{allowed:g})")
    cols[1].button(f"Use {allowed:g}", on_click=use_suggestion, args=(result.suggested_lr,),
                   key="train_lr_finder_use")
