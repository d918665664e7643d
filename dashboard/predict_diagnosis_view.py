"""The Predict page's robustness sliders and FGSM fooling, on the drawing the network reads.

The numerics are nnlib's (:mod:`nnlib.robustness`, :mod:`nnlib.adversarial`); the models are
shared by every session of the server, so each reading holds :data:`dashboard.models.MODEL_READING_LOCK`.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from nnlib.adversarial import fgsm, smallest_flip
from nnlib.imaging import MnistStyleResult
from nnlib.robustness import read_images, rotation_curve, transform_image

from . import state
from .figures import upscale
from .models import MODEL_READING_LOCK, Prediction, Predictor
from .predict_charts import rotation_line

ROTATION_SWEEP = tuple(range(-180, 181, 10))
DIFFERENCE_GAIN = 5     # the perturbation is faint: shown this many times stronger


def robustness_section(predictor: Predictor, image: np.ndarray, drawn_class: int) -> None:
    """Sliders that move the 28x28 drawing; the answer and the drawn class's probability follow."""
    st.subheader("How robust is the answer?")
    st.markdown("Turn, move, resize or thicken the digit the network reads and watch its answer. "
                "Where does a 6 become a 9?")
    names = predictor.class_names
    slider_col, image_col, answer_col = st.columns([2, 1, 1])
    with slider_col:
        rotation = st.slider("Rotate (degrees)", -180, 180, 0, 5, key=state.PREDICT_ROTATE)
        shift_x = st.slider("Shift right (pixels)", -8, 8, 0, key=state.PREDICT_SHIFT_X)
        shift_y = st.slider("Shift down (pixels)", -8, 8, 0, key=state.PREDICT_SHIFT_Y)
        scale = st.slider("Scale", 0.4, 1.6, 1.0, 0.05, key=state.PREDICT_SCALE)
        passes = st.slider("Thicken (passes)", 0, 3, 0, key=state.PREDICT_THICKEN)
    moved = transform_image(image, rotation, (shift_x, shift_y), scale, passes)
    with MODEL_READING_LOCK:
        probabilities = read_images(predictor.model, predictor.scaler, moved[None])[0]
        curve = rotation_curve(predictor.model, predictor.scaler, image, ROTATION_SWEEP)
    answer = int(np.argmax(probabilities))
    image_col.image(upscale(moved, 5), caption="what the network reads now", clamp=True)
    answer_col.markdown(f"**Answer now:** {names[answer]} ({100 * probabilities[answer]:.1f}% sure)")
    answer_col.markdown(f"**Probability of {names[drawn_class]}:** {100 * probabilities[drawn_class]:.1f}%")
    st.markdown(rotation_line(ROTATION_SWEEP, curve, names, drawn_class, rotation), unsafe_allow_html=True)
    kept = [angle for angle, row in zip(ROTATION_SWEEP, curve) if int(np.argmax(row)) == drawn_class]
    if kept:
        st.caption(f"The answer stays {names[drawn_class]} from {min(kept)}° to {max(kept)}° "
                   f"({len(kept)} of {len(ROTATION_SWEEP)} angles tried). MNIST's digits are upright, so the network "
                   "never learnt that a turned digit is the same digit.")


def fooling_section(predictor: Predictor, image: np.ndarray) -> None:
    """FGSM with a strength slider: the perturbed image, the difference magnified, the new answer."""
    st.subheader("Fooling it")
    names = predictor.class_names
    epsilon = st.slider("Attack strength ε (change per pixel, share of full brightness)", 0.0, 0.5, 0.05, 0.01,
                        key=state.PREDICT_FGSM_EPSILON)
    with MODEL_READING_LOCK:
        attack = fgsm(predictor.model, predictor.scaler, image, epsilon)
        smallest = smallest_flip(predictor.model, predictor.scaler, image)
    cols = st.columns(3)
    cols[0].image(upscale(attack.image, 5), caption=f"perturbed (ε = {epsilon:.2f})", clamp=True)
    cols[1].image(upscale(np.clip(0.5 + DIFFERENCE_GAIN * attack.difference, 0, 1), 5),
                  caption=f"the change, {DIFFERENCE_GAIN}x stronger (grey = none)", clamp=True)
    verdict = "fooled" if attack.flipped else "not fooled"
    cols[2].markdown(f"**New answer:** {names[attack.new_label]} "
                     f"({100 * attack.new_probabilities[attack.new_label]:.1f}% sure): {verdict}")
    smallest_text = (f"The smallest strength that flips this drawing is **ε = {smallest.epsilon:.2f}** "
                     f"({names[smallest.original_label]} → {names[smallest.new_label]})." if smallest is not None
                     else "No strength up to 0.5 flips this drawing.")
    st.markdown(f"{smallest_text} Each pixel moved by at most ε, in the direction that most raises the loss of the "
                "current answer (the fast gradient sign method). **Why it matters:** a change a person barely "
                "notices can flip the answer, because the network adds up hundreds of tiny pixel changes that all "
                "push the same way. Anything that reads digits (cheques, forms, post codes) can be attacked so.")


def draw_robustness_and_fooling(predictor: Predictor | None, mnist_style: MnistStyleResult | None,
                                prediction: Prediction | None) -> None:
    """Both sections, once there is a drawing and an answer."""
    if predictor is None or prediction is None or mnist_style is None or getattr(mnist_style, "is_empty", True):
        return
    robustness_section(predictor, mnist_style.image, int(prediction.label))
    fooling_section(predictor, mnist_style.image)
