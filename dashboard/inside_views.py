"""The forward half of the Inside page: one input through every layer, with its equation, its
shapes and the nnlib code that computes it.

Every number shown comes from :func:`nnlib.introspect.forward_trace` (and, for a clicked
unit, from the cached layer survey); this module only lays them out. A layer's units and a
feature map's pixels are clicked on inline SVG (:mod:`dashboard.inside_charts`,
:func:`dashboard.svg_picker.svg_picker`), not on Plotly charts: the page waits for no chart script.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from nnlib.conv import Conv2D, MaxPool2D, Reshape
from nnlib.introspect import ConvPixel, ForwardTrace, explain_conv_pixel
from nnlib.layer_survey import Stage, StageSurvey, network_stages, top_exciting
from nnlib.layers import Dense
from nnlib.losses import softmax, softmax_and_log_sum
from nnlib.preprocessing import Scaler

from . import html_charts, state
from . import inside_charts as charts
from . import inside_text as text
from .code_html import python_html
from .figures import colour_image, png_bytes, tile_images
from .inside_inputs import InputChoice, SurveyData
from .models import Predictor
from .source_code import source_of, where
from .svg_picker import pick_index, picked, svg_picker
from .thumbnails import thumbnail_grid_html

TOP_UNITS_NAMED = 5
UNITS_PER_ROW = charts.UNITS_PER_ROW
UNIT_PIXELS = 20
TOP_IMAGES = 8
THUMBNAIL_WIDTH = 70


def code_panel(*functions: Any, expanded: bool = True) -> None:
    """The real source of ``functions`` (``inspect.getsource``): the lines that compute this step,
    coloured on the server (:mod:`dashboard.code_html`)."""
    with st.expander("The nnlib code that computes it", expanded=expanded, icon="🧾"):
        for function in functions:
            st.caption(where(function))
            st.html(python_html(source_of(function)))


def clicked_unit(chart_key: str, n_units: int, default: int) -> int:
    """The unit last clicked on the unit strip ``chart_key`` (its pick is the unit index), else
    ``default`` (also for a blank square past the last unit)."""
    unit = pick_index(picked(chart_key))
    return unit if 0 <= unit < n_units else default


def show_top_images(stage_survey: StageSurvey, unit: int, survey: SurveyData, images: np.ndarray,
                    names: tuple[str, ...], what: str) -> None:
    """The surveyed images that excite ``unit`` most, with their label and the unit's value."""
    positions = top_exciting(stage_survey.unit_values, unit, TOP_IMAGES)
    indices = survey.indices[positions]
    st.html(thumbnail_grid_html(
        [images[i] for i in indices],
        [f"{names[int(survey.survey.labels[p])] if survey.survey.labels[p] >= 0 else '?'} · #{i} · "
         f"{stage_survey.unit_values[p, unit]:.2f}" for p, i in zip(positions, indices, strict=True)],
        width_px=THUMBNAIL_WIDTH))
    st.caption(f"The {len(indices)} of {len(survey.indices):,} surveyed {what} images that excite this unit most "
               "(label · index · the unit's value).")


def matrix(values: np.ndarray, decimals: int = 2) -> str:
    """A small 2-D array as a LaTeX matrix, each number written out."""
    rows = [" & ".join(f"{value:.{decimals}f}" for value in row) for row in np.asarray(values)]
    return r"\begin{smallmatrix}" + r" \\ ".join(rows) + r"\end{smallmatrix}"


def unit_picture(values: np.ndarray) -> np.ndarray:
    """A layer's units as a picture, ``UNITS_PER_ROW`` to a row (blue < 0 < red); the last row padded blank."""
    return colour_image(charts.unit_rows(values), "signed", factor=UNIT_PIXELS)


def equations(lines: list[tuple[str, str]]) -> None:
    """Each equation under its label (the label outside the LaTeX, so a narrow column never clips it)."""
    for label, latex in lines:
        st.caption(label)
        st.latex(latex)


def shapes_note(seed: str, rows: str) -> None:
    st.markdown(f"**Shapes for a batch of m images.**  \nSeed study (samples in columns): {seed}  \n"
                f"nnlib (samples in rows): {rows}")


def input_block(predictor: Predictor, choice: InputChoice, mode: str) -> None:
    st.subheader("The input: 784 numbers")
    st.markdown(text.explain("input", mode))
    left, right = st.columns([1, 2])
    with left:
        st.image(png_bytes(colour_image(choice.picture, "gray", 0.0, 1.0, factor=8)), caption="28x28, as you see it",
                 width=224, output_format="PNG")
    with right:
        strip = colour_image(np.asarray(choice.network_input).reshape(1, -1), "gray").repeat(28, axis=0)
        st.image(png_bytes(strip), width="stretch", output_format="PNG",
                 caption=f"The 784-vector the network gets, x[0] to x[783] left to right "
                         f"(scaling: {predictor.scaler.method}): the image's rows one after another")
        st.latex(r"x = \mathrm{flatten}(\text{image}) \in \mathbb{R}^{784}")
        shapes_note("`X: (784, m)`", "`x: (m, 784)`")
        functions: list[Callable[..., Any]] = [Scaler.transform]
        if any(isinstance(layer, Reshape) for layer in predictor.model.layers):
            functions.append(Reshape.forward)
        code_panel(*functions, expanded=False)


BATCH_NORM_EQUATION = (r"\hat z = \frac{z - \mu_{\mathrm{running}}}{\sqrt{\sigma^2_{\mathrm{running}} + \epsilon}},"
                       r"\qquad z' = \gamma \, \hat z + \beta")


def batch_norm_note(model: Any, stage: Stage) -> None:
    """The stage's BatchNorm layer, when it has one: where it sits and its equation at inference."""
    norm = next((model.layers[i] for i in range(stage.first_index, stage.last_index + 1)
                 if model.layers[i].kind == "BatchNorm"), None)
    if norm is None:
        return
    st.markdown(f"**BatchNorm** ({norm.features} features) sits between this layer and its activation: each "
                "feature is rescaled with the mean and variance averaged while training, then scaled by γ and "
                "shifted by β (both learned). The activation reads z′, not Z.")
    st.latex(BATCH_NORM_EQUATION)


def dense_block(predictor: Predictor, trace: ForwardTrace, stage: Stage, number: int, survey: SurveyData,
                stage_survey: StageSurvey, images: np.ndarray, mode: str, what: str) -> None:
    """A hidden Dense layer: Z and A as unit strips, the most active units, equations, shapes, code."""
    model = predictor.model
    layer = model.layers[stage.first_index]
    assert isinstance(layer, Dense)  # a hidden stage starts at its Dense layer
    activation_index = next(i for i in range(stage.first_index, stage.last_index + 1)
                            if model.layers[i].kind == stage.activation)
    z = trace.layers[stage.first_index].output[0]
    a = trace.layers[activation_index].output[0]
    first = stage.first_index == 0 or isinstance(model.layers[stage.first_index - 1], Reshape)
    st.subheader(f"Layer {number}: Dense {layer.in_features} → {layer.out_features}, then {stage.activation} "
                 f"({stage.name})")
    st.markdown(text.explain("dense", mode))
    chart_key = f"{state.INSIDE_UNIT_CHART_PREFIX}{stage.name}"
    unit = clicked_unit(chart_key, len(a), int(np.argmax(a)))
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.image(png_bytes(unit_picture(z)), width="stretch", output_format="PNG",
                 caption=f"Z{number} = pre-activation, {len(z)} units, {UNITS_PER_ROW} to a row (red > 0 > blue; "
                         f"largest |Z| {float(np.max(np.abs(z))):.2f})")
        svg_picker(charts.unit_strip(a, f"A{number} = {stage.activation}(Z{number}): click a unit", selected=unit),
                   key=chart_key)
        top = np.argsort(-a, kind="stable")[:TOP_UNITS_NAMED]
        st.markdown("**Most active units:** " + ", ".join(f"unit {u} ({a[u]:.2f})" for u in top)
                    + f" · {int(np.count_nonzero(a > 0))} of {len(a)} units are on for this image.")
    with right:
        equations(text.dense_equations(number, stage.activation, first))
        batch_norm_note(model, stage)
        shapes_note(*text.dense_shapes(number, layer.in_features, layer.out_features, first))
        code_panel(Dense.forward, type(model.layers[activation_index]).forward)
    with st.container(border=True):
        st.markdown(f"**Unit {unit} of {stage.name}**: A = {a[unit]:.3f} for this image")
        columns = st.columns([1, 3])
        if first and layer.in_features == 784:
            with columns[0]:
                st.image(png_bytes(colour_image(layer.params["W"][:, unit].reshape(28, 28), "signed", factor=7)), width=196,
                         output_format="PNG", caption=f"its 784 weights as 28x28: red pixels push unit {unit} up, "
                                                      "blue ones down (the stroke it looks for)")
        with columns[1]:
            show_top_images(stage_survey, unit, survey, images, predictor.class_names, what)


def conv_block(predictor: Predictor, trace: ForwardTrace, stage: Stage, number: int, survey: SurveyData,
               stage_survey: StageSurvey, images: np.ndarray, mode: str, what: str) -> None:
    """A convolution stage: feature maps, one pixel's computation, what max-pooling keeps."""
    model = predictor.model
    conv = model.layers[stage.first_index]
    assert isinstance(conv, Conv2D)  # a convolution stage starts at its Conv2D layer
    indices = range(stage.first_index, stage.last_index + 1)
    activation_index = next(i for i in indices if model.layers[i].kind == stage.activation)
    pool_index = next((i for i in indices if isinstance(model.layers[i], MaxPool2D)), None)
    maps = trace.layers[activation_index].output[0]
    st.subheader(f"Layer {number}: convolution, {conv.out_channels} kernels of {conv.kernel_size}x{conv.kernel_size}"
                 f"x{conv.in_channels}, then {stage.activation}" + (" and max-pooling" if pool_index else ""))
    st.markdown(text.explain("conv", mode))
    low, high = float(maps.min()), float(max(maps.max(), 1e-6))
    per_row = min(16, maps.shape[2])
    picture = colour_image(tile_images([maps[:, :, c] for c in range(maps.shape[2])], columns=per_row, gap=2),
                           "viridis", low, high, factor=max(2, 60 // maps.shape[0]))
    st.image(png_bytes(picture), output_format="PNG", width="stretch" if per_row * maps.shape[0] >= 128 else "content",
             caption=f"The {maps.shape[2]} feature maps of this image after {stage.activation}, map 0 to "
                     f"{maps.shape[2] - 1}, {per_row} to a row, {maps.shape[0]}x{maps.shape[1]} each, on one "
                     f"colour scale (dark 0, yellow {high:.2f})")
    strongest = maps.max(axis=(0, 1))
    channel = _chosen_channel(stage.name, strongest)
    pixel_key = f"{state.INSIDE_PIXEL_CHART_PREFIX}{stage.name}"
    channel_map = maps[:, :, channel]
    pixel = _chosen_pixel(pixel_key, channel_map)
    # Kept positions where the map is above 0 (in a window of zeros the first zero is "kept", which says nothing).
    kept = (trace.layers[pool_index].kept[0, :, :, channel] & (channel_map > 0)) if pool_index is not None else None
    left, right = st.columns([2, 3], gap="medium")
    with left:
        svg_picker(charts.clickable_map(channel_map, f"map {channel} after {stage.activation}: click a pixel",
                                        selected=pixel, kept=kept), key=pixel_key)
        if pool_index is not None:
            pooled = trace.layers[pool_index].output[0, :, :, channel]
            st.image(png_bytes(colour_image(pooled, "viridis", 0.0, float(max(channel_map.max(), 1e-6)),
                                            factor=max(2, 192 // pooled.shape[0]))), width=192, output_format="PNG",
                     caption=f"map {channel} after max-pooling, {pooled.shape[0]}x{pooled.shape[1]}")
            st.caption(text.explain("pool", mode))
    with right:
        pixel_explanation(predictor, trace, stage.first_index, channel, pixel)
        equations(text.conv_equations(stage.activation))
        batch_norm_note(model, stage)
        if pool_index is not None:
            st.latex(text.POOL_EQUATION)
        input_shape = trace.input_of(stage.first_index).shape[1:]
        output_shape = trace.layers[stage.first_index].output.shape[1:]
        shapes_note(*text.conv_shapes(input_shape, conv.params["W"].shape, output_shape))
        code_panel(Conv2D.forward, Conv2D._patches, *( [MaxPool2D.forward] if pool_index is not None else []),
                   expanded=False)
    _kernel_card(conv, stage.name, channel, stage_survey, survey, images, predictor.class_names, what)


def _chosen_channel(stage_name: str, strongest: np.ndarray) -> int:
    """Buttons, one per feature map (a click opens it), the strongest maps named; the map picked,
    else the strongest. Buttons rather than a chart: a chart costs the browser ~0.1 s per draw."""
    order = np.argsort(-strongest, kind="stable")[:TOP_UNITS_NAMED]
    opened = st.pills(f"Open a feature map of {stage_name}: its pixels, its kernel and the images that excite it most",
                      range(len(strongest)), key=f"{state.INSIDE_CHANNEL_PREFIX}{stage_name}",
                      help="Unpicked, the page opens the map with the strongest value.")
    st.caption("Strongest maps for this image: " + ", ".join(f"map {c} ({strongest[c]:.2f})" for c in order) + ".")
    return int(opened) if opened is not None else int(order[0])


def _chosen_pixel(chart_key: str, channel_map: np.ndarray) -> tuple[int, int]:
    """The feature-map pixel last clicked on the chart ``chart_key`` (its pick is ``"row,col"``),
    else the map's strongest (also when the click lies outside this map)."""
    row, _, col = (picked(chart_key) or "").partition(",")
    if row.isdigit() and col.isdigit() and int(row) < channel_map.shape[0] and int(col) < channel_map.shape[1]:
        return int(row), int(col)
    strongest = np.unravel_index(np.argmax(channel_map), channel_map.shape)
    return int(strongest[0]), int(strongest[1])


def _kernel_card(conv: Conv2D, stage_name: str, channel: int, stage_survey: StageSurvey, survey: SurveyData,
                 images: np.ndarray, class_names: tuple[str, ...], what: str) -> None:
    """One kernel: its 5x5 weights (for a grey input) and the test images that excite its map most."""
    with st.container(border=True):
        st.markdown(f"**Kernel {channel} of {stage_name}**")
        columns = st.columns([1, 3])
        if conv.in_channels == 1:
            with columns[0]:
                st.image(png_bytes(colour_image(conv.params["W"][:, :, 0, channel], "signed", factor=32)), width=160,
                         output_format="PNG", caption="its 5x5 weights (red > 0 > blue)")
        with columns[1]:
            show_top_images(stage_survey, channel, survey, images, class_names, what)


def pixel_explanation(predictor: Predictor, trace: ForwardTrace, layer_index: int, channel: int,
                      pixel: tuple[int, int]) -> None:
    """How the value at ``pixel`` of feature map ``channel`` was computed: patch, kernel, product, sum, batch
    norm (when the model has one), ReLU."""
    model = predictor.model
    explained = explain_conv_pixel(model, trace, layer_index, 0, pixel[0], pixel[1], channel)
    st.markdown(f"**Pixel (row {pixel[0]}, col {pixel[1]}) of map {channel}, computed**")
    shown = 0
    if explained.patch.shape[2] > 1:
        sums = explained.products.sum(axis=(0, 1))
        shown = int(np.argmax(np.abs(sums)))
        st.caption(f"Shown: input channel {shown} of {len(sums)}, the one adding most; the sum below runs over "
                   f"all {len(sums)} channels ({explained.patch.size} products).")
    # Two lines: three 5x5 matrices side by side overflow the page's right column.
    st.latex(rf"\underbrace{{{matrix(explained.patch[:, :, shown])}}}_{{\text{{input patch}}}} \odot "
             rf"\underbrace{{{matrix(explained.kernel[:, :, shown])}}}_{{\text{{kernel}}}}")
    st.latex(rf"= \underbrace{{{matrix(explained.products[:, :, shown])}}}_{{\text{{patch}} \times \text{{kernel}}}}")
    st.latex(rf"\sum \text{{patch}} \odot \text{{kernel}} + b = {explained.products_sum:.4f} + ({explained.bias:.4f})"
             rf" = {explained.pre_activation:.4f}")
    norm = explained.batch_norm
    if norm is not None:
        # two lines: side by side, the two equations run past a narrow column
        st.latex(rf"\hat z = \frac{{{explained.pre_activation:.4f} - ({norm.running_mean:.4f})}}"
                 rf"{{\sqrt{{{norm.running_var:.4f} + \epsilon}}}} = {norm.normalised:.4f}")
        st.latex(rf"z' = {norm.gamma:.4f} \cdot {norm.normalised:.4f} + ({norm.beta:.4f}) = {norm.output:.4f}")
    if explained.activation is not None:
        st.latex(rf"\mathrm{{{explained.activation_kind}}}({explained.activation_input:.4f})"
                 rf" = {explained.activation:.4f}")
    st.caption(pixel_caption(trace, layer_index, (*pixel, channel), explained))


def pixel_caption(trace: ForwardTrace, layer_index: int, where: tuple[int, int, int], explained: ConvPixel) -> str:
    """What the model's own layers hold at the explained pixel: the same numbers as the written-out sum."""
    row, col, channel = where
    value = float(trace.layers[layer_index].output[0, row, col, channel])
    caption = f"The feature map holds {value:.4f}"
    if explained.batch_norm is None:
        return caption + " at this pixel: the same number, computed by nnlib's im2col product."
    steps = [("BatchNorm", layer_index + 1)]
    if explained.activation is not None:
        steps.append((str(explained.activation_kind), layer_index + 2))
    after = ", ".join(f"{float(trace.layers[index].output[0, row, col, channel]):.4f} after {kind}"
                      for kind, index in steps)
    return caption + f" straight out of the convolution, {after}: the same numbers, computed by nnlib's layers."


def logits_block(predictor: Predictor, trace: ForwardTrace, stage: Stage, number: int, true_label: int | None,
                 mode: str) -> None:
    """The output layer: logits, softmax, the answer."""
    model = predictor.model
    layer = model.layers[stage.first_index]
    assert isinstance(layer, Dense)  # the logits stage starts at the last Dense layer
    names = predictor.class_names
    logits = trace.logits[0]
    probabilities = trace.probabilities[0]
    predicted = int(np.argmax(probabilities))
    st.subheader(f"Layer {number}: Dense {layer.in_features} → {layer.out_features} (the logits), then softmax")
    st.markdown(text.explain("logits", mode))
    left, right = st.columns([3, 2], gap="medium")
    with left:
        metrics = st.columns(3)
        metrics[0].metric("Prediction", names[predicted])
        metrics[1].metric("Probability", f"{100 * probabilities[predicted]:.2f}%")
        if true_label is not None:
            metrics[2].metric("True label", names[true_label], "read right" if true_label == predicted else "misread",
                              delta_color="normal" if true_label == predicted else "inverse")
        st.html(html_charts.probability_table(names, logits, probabilities, f"logit Z{number}", highlight=predicted))
    with right:
        equations(text.dense_equations(number, None, False))
        st.latex(text.SOFTMAX_EQUATION)
        shapes_note(*text.dense_shapes(number, layer.in_features, layer.out_features, False))
        code_panel(Dense.forward, softmax, softmax_and_log_sum)


def forward_section(predictor: Predictor, trace: ForwardTrace, choice: InputChoice, survey: SurveyData,
                    images: np.ndarray, mode: str, what: str) -> None:
    """Every stage of the network in order, from the input to the softmax."""
    input_block(predictor, choice, mode)
    stage_surveys = {stage_survey.stage.name: stage_survey for stage_survey in survey.survey.stages}
    for number, stage in enumerate(network_stages(predictor.model)[1:], start=1):
        st.divider()
        if stage.is_convolution:
            conv_block(predictor, trace, stage, number, survey, stage_surveys[stage.name], images, mode, what)
        elif stage.name == "logits":
            logits_block(predictor, trace, stage, number, choice.true_label, mode)
        else:
            dense_block(predictor, trace, stage, number, survey, stage_surveys[stage.name], images, mode, what)
