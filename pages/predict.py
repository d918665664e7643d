"""Draw and predict: a digit in, what the network sees, what it answers, and why."""
import html

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from dashboard import predict_charts, share_setup, state
from dashboard.data import current_dataset
from dashboard.figures import upscale
from dashboard.models import (
    ModelUnavailable,
    active_predictor,
    available_predictors,
    bundled_models_note,
    choose_predictor,
    predict,
    predictor_key,
)
from dashboard.page import setup_page
from nnlib.imaging import load_image, to_mnist_style

setup_page("Draw and predict", "✏️")

CANVAS_SIZE = 280
MAX_UPLOAD_SIDE = 1024
SOURCES = ("Draw", "Upload an image", "Random test image")


def clear_canvas() -> None:
    """A new canvas key: Streamlit mounts a fresh, empty canvas."""
    st.session_state[state.PREDICT_CANVAS_GENERATION] = st.session_state.get(state.PREDICT_CANVAS_GENERATION, 0) + 1


def pick_random_test_image(n_images: int) -> None:
    st.session_state[state.PREDICT_RANDOM_INDEX] = int(np.random.default_rng().integers(n_images))


def big_digit(label: str, caption: str) -> None:
    st.markdown(
        f'<div style="font-size:5.5rem;font-weight:700;line-height:1;">'
        f'<span class="predicted-digit">{html.escape(label)}</span></div>',
        unsafe_allow_html=True,
    )
    st.caption(caption)


st.title("✏️ Draw a digit, see what the network answers")
st.markdown(
    "Draw a digit with the mouse (or a finger): the network answers as you draw. Below are "
    "the steps that make your drawing look like MNIST's 28x28 digits; switch one off to see "
    "why it matters."
)

share_setup.open_model_link()  # ?model=default|cnn|run:<id>
try:
    predictor = active_predictor()
except ModelUnavailable as exc:
    predictor = None
    st.error(f"No model can answer: {exc}")

available = available_predictors()
if len(available) > 1:
    labels = {predictor_key(p): p.name for p in available}
    if predictor is not None and predictor_key(predictor) in labels:
        # follows a choice made on the Train or Runs page
        st.session_state[state.PREDICT_MODEL_CHOICE] = predictor_key(predictor)
    st.columns([1, 1.25])[0].selectbox("Model that answers", list(labels), format_func=labels.get,
                 key=state.PREDICT_MODEL_CHOICE,
                 on_change=lambda: choose_predictor(st.session_state[state.PREDICT_MODEL_CHOICE]),
                 help="The runs of the run store (newest first; the Runs page lists them all) and the models "
                      f"that come with the app: {bundled_models_note()}.")

left, right = st.columns([1, 1.25], gap="large")

with left:
    source = st.radio("Picture", SOURCES, horizontal=True, key=state.PREDICT_SOURCE, persist_state="session")
    picture = None
    true_label = None
    if source == "Draw":
        stroke_width = st.slider("Stroke width", 8, 40, 20, key=state.PREDICT_STROKE_WIDTH, persist_state="session")
        generation = st.session_state.get(state.PREDICT_CANVAS_GENERATION, 0)
        drawing = st_canvas(
            stroke_width=stroke_width, stroke_color="#FFFFFF", background_color="#000000",
            height=CANVAS_SIZE, width=CANVAS_SIZE, drawing_mode="freedraw", return_image_data=True,
            key=f"{state.PREDICT_CANVAS_PREFIX}{generation}",
        )
        picture = drawing.image_data
        st.button("Clear the canvas", on_click=clear_canvas, icon="🧹")
    elif source == "Upload an image":
        uploaded = st.file_uploader(
            "A picture of one digit: any size, dark on light or light on dark, PNG/JPEG/...",
            type=["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"], key=state.PREDICT_UPLOAD,
        )
        if uploaded is not None:
            try:
                picture = load_image(uploaded.getvalue(), max_side=MAX_UPLOAD_SIDE)
            except ValueError as exc:
                st.error(f"Could not read {uploaded.name}: {exc}")
            else:
                st.image(picture, caption=uploaded.name, width=CANVAS_SIZE)
    else:
        dataset = current_dataset()
        images, labels = (dataset.x_test, dataset.y_test) if dataset.has_test else (dataset.x_train, dataset.y_train)
        if state.PREDICT_RANDOM_INDEX not in st.session_state or st.session_state[state.PREDICT_RANDOM_INDEX] >= len(images):
            pick_random_test_image(len(images))
        index = st.session_state[state.PREDICT_RANDOM_INDEX]
        picture, true_label = images[index], int(labels[index])
        label_text = dataset.class_names[true_label] if 0 <= true_label < dataset.n_classes else "unknown"
        st.image(upscale(picture, 10), width=CANVAS_SIZE,
                 caption=f"{dataset.name} {'test' if dataset.has_test else 'training'} image #{index}: true label {label_text}")
        st.button("Another test image", on_click=pick_random_test_image, args=(len(images),), icon="🎲")

    st.markdown("**MNIST's preprocessing steps**")
    crop = st.toggle("Crop to the ink's bounding box", value=True, key=state.PREDICT_CROP, persist_state="session")
    fit_20 = st.toggle("Scale to fit 20x20, keeping the aspect", value=True, key=state.PREDICT_FIT_20, persist_state="session")
    by_mass = st.toggle("Centre by the centre of mass", value=True, key=state.PREDICT_CENTER_OF_MASS, persist_state="session")
    if not (crop or fit_20 or by_mass):
        st.caption("All off: the whole picture squashed into 28x28, as most drawing demos do.")

mnist_style = to_mnist_style(picture, crop=crop, fit_20=fit_20, center_of_mass=by_mass) if picture is not None else None
prediction = None

with right:
    if mnist_style is None or mnist_style.is_empty:
        st.info("✏️ Draw a digit on the canvas: the answer appears here." if source == "Draw"
                else "No digit found in this picture: nothing stands out from its background." if picture is not None
                else "Upload a picture of one digit: the answer appears here.")
        if predictor is not None:
            # Empty bars hold the chart's place, so the answer does not move the page.
            st.markdown(predict_charts.empty_probability_bars(predictor.class_names), unsafe_allow_html=True)
    elif predictor is not None:
        prediction = predict(predictor, mnist_style.image)
        names = predictor.class_names
        answer_col, detail_col = st.columns([1, 2])
        with answer_col:
            big_digit(names[prediction.label], f"{100 * prediction.confidence:.1f}% sure")
        with detail_col:
            runner_up = prediction.runner_up
            st.markdown(f"**Runner-up:** {names[runner_up]} ({100 * prediction.probabilities[runner_up]:.1f}%)")
            st.caption(f"Answered by **{predictor.name}**" + ("" if predictor.is_default else " (the active run)"))
            if true_label is not None and 0 <= true_label < len(names):
                st.caption(f"True label: {names[true_label]}" + (" ✅" if true_label == prediction.label else " ❌"))
        st.markdown(predict_charts.probability_bars(prediction.probabilities, names), unsafe_allow_html=True)
        if st.button("Look inside the network with this picture", icon="🔬"):
            st.session_state[state.INSIDE_PREDICT_PICTURE] = mnist_style.image
            st.session_state[state.INSIDE_OPEN_REQUEST] = {"model": predictor.name}
            st.switch_page("pages/inside.py")
        st.markdown("**Why:** the gradient of the answer's score with respect to each input pixel")
        st.markdown(predict_charts.saliency_overlay(mnist_style.image, prediction.saliency), unsafe_allow_html=True)

if mnist_style is not None and not mnist_style.is_empty:
    st.subheader("What the network sees, step by step")
    steps = list(mnist_style.steps)
    if prediction is not None:
        steps.append((f"Network input (scaling: {predictor.scaler.method})", prediction.network_input))
    placed = len(mnist_style.steps) - 1
    st.markdown(predict_charts.steps_strip(steps, mnist_style.bbox, mnist_style.center_of_mass,
                                           mark_steps=range(placed, len(steps))), unsafe_allow_html=True)
    st.caption("The orange box is the ink's bounding box; the orange cross marks the centre of mass, which MNIST "
               "puts at pixel (14, 14).")

from dashboard.predict_diagnosis_view import draw_robustness_and_fooling  # noqa: E402  (issue 14)

draw_robustness_and_fooling(predictor, mnist_style, prediction)
from dashboard.handwriting_view import draw_teach_handwriting  # noqa: E402  (issue 14)

draw_teach_handwriting(predictor, mnist_style, prediction)

if len(available) > 1 and mnist_style is not None and not mnist_style.is_empty:
    st.subheader("Every model in the picker on this picture")
    predictors = available
    # The model that answered above is not asked again.
    answers = [prediction if prediction is not None and predictor is not None
               and predictor_key(p) == predictor_key(predictor) else predict(p, mnist_style.image) for p in predictors]
    for start in range(0, len(predictors), 4):
        for column, p, answer in zip(st.columns(4), predictors[start:start + 4], answers[start:start + 4]):
            column.metric(p.name, p.class_names[answer.label], f"{100 * answer.confidence:.1f}% sure", delta_color="off")
    st.markdown(predict_charts.compare_models_bars([p.name for p in predictors], [a.probabilities for a in answers],
                                                   predictors[0].class_names), unsafe_allow_html=True)
