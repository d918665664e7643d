"""The backward half of the Inside page: one step of learning on the chosen image, and a Step
button that repeats it on a copy of the model kept in this session (never the model's file).

The live part is a fragment: Step reruns it alone, not the whole page (the equations and code
above it stay as drawn). The numbers come from
:func:`nnlib.introspect.training_step`.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from nnlib.introspect import TrainingStep, copy_model, training_step
from nnlib.layers import Dense, ReLU
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.optimizers import SGD

from . import html_charts, state, svg_charts
from . import inside_text as text
from .figures import colour_image, png_bytes, tile_images
from .inside_inputs import InputChoice, model_key
from .inside_views import code_panel
from .models import Predictor

# One image steers each step alone: on the bundled models a learning rate of 1e-3 already takes a
# misread digit to ~95% in one step; 3e-4 shows the probability climbing over a few steps.
LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.1)
DEFAULT_LEARNING_RATE = 0.0003
FIRST_LAYER_UNITS_SHOWN = 8


def _session(owner: str) -> dict | None:
    session = st.session_state.get(state.INSIDE_STEP_SESSION)
    return session if session is not None and session["owner"] == owner else None


def step_session(owner: str, predictor: Predictor, network_input: np.ndarray, label: int) -> dict:
    """This session's stepping copy of the model for ``owner`` (model, image and label); a fresh
    copy, with the true-class probability before any step, when any of them changed."""
    session = _session(owner)
    if session is None:
        model = copy_model(predictor.model)
        probability = float(model.predict_proba(network_input)[0, label])
        session = {"owner": owner, "model": model, "label": label, "probabilities": [probability],
                   "losses": [float(-np.log(max(probability, 1e-12)))], "last_step": None}
        st.session_state[state.INSIDE_STEP_SESSION] = session
    return session


def take_step(owner: str, network_input: np.ndarray) -> None:
    """The Step button: one SGD step of the session's copy on the image, and the new probability."""
    session = _session(owner)
    if session is None:
        return
    learning_rate = float(st.session_state.get(state.INSIDE_LEARNING_RATE, DEFAULT_LEARNING_RATE))
    model = session["model"]
    session["last_step"] = training_step(model, network_input, np.array([session["label"]]), learning_rate, apply=True)
    probability = float(model.predict_proba(network_input)[0, session["label"]])
    session["probabilities"].append(probability)
    session["losses"].append(float(-np.log(max(probability, 1e-12))))


def reset_steps() -> None:
    st.session_state.pop(state.INSIDE_STEP_SESSION, None)


WeightPictures = tuple[list[np.ndarray], list[str], list[np.ndarray], list[np.ndarray]]


def first_layer_images(step: TrainingStep) -> WeightPictures | None:
    """The first parametrised layer's weight gradients, weights before and after, as small images
    (a Dense layer on 784 pixels: one 28x28 per unit, the units with the largest gradients; a
    first convolution: one image per kernel). None when the first layer is neither."""
    gradient = next((layer for layer in step.layers if layer.param_grads), None)
    if gradient is None:
        return None
    dw, before, after = gradient.param_grads["W"], gradient.params_before["W"], gradient.updated_params["W"]
    if dw.ndim == 2 and dw.shape[0] == 784:
        units = np.argsort(-np.linalg.norm(dw, axis=0), kind="stable")[:FIRST_LAYER_UNITS_SHOWN]
        pick = lambda w: [w[:, u].reshape(28, 28) for u in units]   # noqa: E731
        return pick(dw), [f"unit {u}" for u in units], pick(before), pick(after)
    if dw.ndim == 4 and dw.shape[2] == 1:
        kernels = range(dw.shape[3])
        pick = lambda w: [w[:, :, 0, k] for k in kernels]   # noqa: E731
        return pick(dw), [f"kernel {k}" for k in kernels], pick(before), pick(after)
    return None


def learning_section(predictor: Predictor, choice: InputChoice, mode: str) -> None:
    """The backward pass explained (equations and code, drawn once), then the live part: loss,
    A - Y, the gradient layer by layer, the first layer's dW and the Step button (a fragment)."""
    st.markdown(text.explain("backward", mode))
    equations_column, code_column = st.columns(2, gap="medium")
    with equations_column:
        for line in text.BACKWARD_EQUATIONS:
            st.latex(line)
    with code_column:
        st.markdown(text.BACKWARD_ROWS_NOTE)
        code_panel(SoftmaxCrossEntropy.backward, Dense.backward, ReLU.backward, SGD.update, expanded=False)
    _live_steps(predictor, choice)


# A fragment: Step reruns this part alone, and the equations and code above are not drawn again.
@st.fragment
def _live_steps(predictor: Predictor, choice: InputChoice) -> None:
    names = predictor.class_names
    label = choice.true_label
    if label is None:
        answer = int(np.argmax(predictor.model.predict_proba(choice.network_input)[0]))
        label = st.selectbox("The right answer, to learn from", range(len(names)), format_func=lambda c: names[c],
                             index=answer, key=state.INSIDE_TRUE_CLASS)
    owner = f"{model_key(predictor)}|{choice.key}|{label}"
    session = step_session(owner, predictor, choice.network_input, int(label))
    controls = st.columns([3, 1, 1])
    controls[0].select_slider("Learning rate α", LEARNING_RATES, value=DEFAULT_LEARNING_RATE,
                              key=state.INSIDE_LEARNING_RATE, format_func=lambda rate: f"{rate:g}",
                              help="Each step learns from this one image alone, so a rate far below a training "
                                   "run's keeps the steps small enough to watch.")
    controls[1].button("Step", icon="👣", type="primary", key=state.INSIDE_STEP_BUTTON, on_click=take_step,
                       args=(owner, choice.network_input), use_container_width=True)
    controls[2].button("Reset", icon="↩️", key=state.INSIDE_RESET_BUTTON, on_click=reset_steps,
                       use_container_width=True)
    history = session["probabilities"]
    steps_taken = len(history) - 1
    metrics = st.columns(3)
    metrics[0].metric("Steps taken", steps_taken)
    metrics[1].metric(f"Probability of the true class ({names[label]})", f"{100 * history[-1]:.2f}%",
                      f"{100 * (history[-1] - history[0]):+.2f} points since step 0" if steps_taken else None)
    metrics[2].metric("Loss −log P(true class)", f"{session['losses'][-1]:.4f}")
    st.caption("The steps train a copy of the model kept for this page only: the model's file and the other pages "
               "are not changed. Changing the model, the image or the learning target starts again from step 0.")
    # HTML and SVG, not Plotly, for the charts each Step redraws: the browser draws them at once.
    title = f"P(class {names[label]}) in %, after each step (step 0: before any)"
    st.markdown(f"**{title}**")
    # Inline SVG (st.markdown keeps it; st.html drops SVG): each point's value shows on hover, which
    # an SVG inside an <img> (st.image) would not do.
    st.markdown(svg_charts.percent_line(range(len(history)), [100 * p for p in history], title),
                unsafe_allow_html=True)

    step = session["last_step"]
    if step is None:
        step = training_step(session["model"], choice.network_input, np.array([label]),
                             float(st.session_state.get(state.INSIDE_LEARNING_RATE, DEFAULT_LEARNING_RATE)))
        st.markdown(f"**The step Step would take now** (loss {step.loss:.4f}):")
    else:
        st.markdown(f"**The step just taken** (step {steps_taken}, loss before it {step.loss:.4f}, "
                    f"α = {step.learning_rate}):")
    left, right = st.columns(2, gap="medium")
    with left:
        st.html(html_charts.signed_bars(step.output_error[0], names,
                                        "dZ at the output = A − Y (true class in orange)", highlight=label))
    with right:
        norms = step.gradient_norms()
        st.html(html_charts.log_bars([size for _, size in norms], [name for name, _ in norms],
                                     "The gradient flowing back: ‖dL/d output‖ arriving at each layer, from the "
                                     "output back to the input (bar length on a log scale)"))
    _first_layer_weights(step)


def _first_layer_weights(step: TrainingStep) -> None:
    """The first layer's dW, W before and W after the step, as images (the most changed units)."""
    pictures = first_layer_images(step)
    if pictures is None:
        return
    gradients, titles, before, after = pictures
    which = " for the units with the largest gradients" if titles[0].startswith("unit") else ""
    st.markdown(f"**The first layer's weights**: their gradient dW, before the step, and after (W − α dW){which}")
    columns = st.columns(3)
    weight_limit = float(max(np.max(np.abs(np.stack(before))), np.max(np.abs(np.stack(after)))))
    for column, (caption, images, limit) in zip(columns, (("dW (on its own scale)", gradients, None),
                                                           ("W before", before, weight_limit),
                                                           ("W after", after, weight_limit)), strict=True):
        with column:
            factor = max(1, 56 // images[0].shape[0])
            st.image(png_bytes(colour_image(tile_images(images, columns=4), "signed", vmax=limit, factor=factor)),
                     width="stretch", output_format="PNG", caption=f"{caption}, red > 0 > blue")
    st.caption("Left to right, top to bottom: " + ", ".join(titles) + ".")
    change = max(float(np.max(np.abs(a - b))) for a, b in zip(after, before, strict=True))
    st.caption(f"Largest change of a weight shown: {change:.2e}.")
