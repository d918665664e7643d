"""Charts of the Predict page as inline SVG: data in, an SVG string out (no Streamlit, testable alone).

The page redraws them on every stroke, so they are what the browser lays out fastest: a few
dozen SVG shapes and a few small PNGs each, shown with ``st.markdown(..., unsafe_allow_html=True)``
(``st.html`` strips SVG). A Plotly chart would cost the browser a layout, axes and event handlers
per chart on each answer, and its 4.7 MB script on a first visit. Every number stays readable:
written on the chart, or on each bar's, point's or pixel's tooltip (its ``<title>``).

- :func:`steps_strip`: the preprocessing steps side by side, each drawn at the same size,
  with the ink's bounding box on the drawing and the centre of mass on the placed digit.
- :func:`probability_bars`: the ten probabilities, the answer and the runner-up coloured.
- :func:`saliency_overlay`: where the answer comes from, over the 28x28 input.
- :func:`compare_models_bars`: several models' probabilities on the same drawing.
- :func:`rotation_line`: the drawn class's probability as the drawing turns.
"""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from .svg_charts import GRID_COLOUR, svg_box

TILE = 112          # display size of each step, in SVG units
TILE_GAP = 10       # space between tiles
TITLE_BAND = 26     # space above the tiles for their titles
ANSWER_COLOR, RUNNER_UP_COLOR, OTHER_COLOR = "#E8590C", "#4C6EF5", "#ADB5BD"
BOX_COLOR, FRAME_COLOR = "#FD7E14", "#868E96"
LINE_COLOR = "#4C6EF5"
MODEL_COLORS = ("#4C6EF5", "#F76707", "#2B8A3E", "#AE3EC9", "#E03131", "#1098AD", "#F59F00",
                "#5C940D", "#862E9C", "#495057", "#C2255C", "#364FC7", "#087F5B")
# Diverging and transparent at zero, so the input shows through where the gradient is small.
SALIENCY_NEGATIVE, SALIENCY_POSITIVE, SALIENCY_OPACITY = (33, 102, 172), (214, 39, 40), 0.95
# The frame of the bar and line charts, in SVG units (the picture scales to its column).
WIDTH, HEIGHT = 600, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 576, 24, 250
PIXELATED = 'style="image-rendering:pixelated"'
# The saliency map's pixels with a tooltip: the strongest ones. A tooltip on each of the 784
# made the chart 72 KB of markup, and the browser's handling of it added 0.1-0.17 s to
# every answer (stroke to answer 0.55-0.61 s against 0.44 s without, in Chromium).
TOOLTIP_PIXELS = 100


def _unit_range(image: np.ndarray) -> np.ndarray:
    """Values stretched to 0-1 for display (a standardised input is not in 0-1)."""
    image = np.asarray(image, dtype=np.float32)
    low, high = float(image.min()), float(image.max())
    if low >= 0.0 and high <= 1.0:
        return image
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _png(rgba: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def png_data_url(values: np.ndarray) -> str:
    """A greyscale image in 0-1 (NaN = transparent) as a ``data:image/png`` URL: the pixels travel
    as one small PNG, enlarged by the browser."""
    values = np.asarray(values, dtype=np.float32)
    grey = np.round(np.nan_to_num(np.clip(values, 0, 1), nan=0.0) * 255).astype(np.uint8)
    alpha = np.where(np.isnan(values), 0, 255).astype(np.uint8)
    return _png(np.stack([grey, grey, grey, alpha], axis=-1))


def _percent_axis(x_title: str, y_title: str) -> list[str]:
    """Grid lines at 0, 25, ..., 100% and the axis titles of a probability chart."""
    parts = []
    for level in (0, 25, 50, 75, 100):
        y = _y_of(level / 100)
        parts.append(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{level}%</text>')
    middle = (TOP + BOTTOM) / 2
    parts.append(f'<text x="{(LEFT + RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle">{html.escape(x_title)}</text>'
                 f'<text x="14" y="{middle}" text-anchor="middle" transform="rotate(-90 14 {middle})">'
                 f"{html.escape(y_title)}</text>")
    return parts


def _y_of(probability: float) -> float:
    return BOTTOM - (BOTTOM - TOP) * min(max(float(probability), 0.0), 1.0)


def steps_strip(
    steps: Sequence[tuple[str, np.ndarray]],
    bbox: tuple[int, int, int, int] | None = None,
    center_of_mass: tuple[float, float] | None = None,
    mark_steps: Sequence[int] = (),
    tile: int = TILE,
) -> str:
    """The preprocessing steps in one row, each shown at the same size.

    ``steps``: ``(title, image)`` pairs, images in 0-1 (others are stretched to 0-1), each
    enlarged blockily to ``tile`` on its longer side. ``bbox`` (top, left, bottom, right) is
    drawn on the first step; ``center_of_mass`` (row, col, in 28x28 coordinates) as a cross
    on the steps listed in ``mark_steps``. Each image gets a thin frame, so a small patch (a
    20x3 stroke) shows its real extent.
    """
    width = len(steps) * tile + (len(steps) - 1) * TILE_GAP
    parts = []
    for index, (title, image) in enumerate(steps):
        image = np.asarray(image)
        rows, cols = image.shape
        scale = tile / max(rows, cols)
        width_px, height_px = cols * scale, rows * scale
        left = index * (tile + TILE_GAP) + (tile - width_px) / 2
        top = TITLE_BAND + (tile - height_px) / 2
        # Shrunk pictures (a 280x280 drawing) are smoothed by the browser; enlarged ones stay blocky.
        rendering = PIXELATED if scale >= 1 else ""
        parts.append(f'<image href="{png_data_url(_unit_range(image))}" x="{left:.2f}" y="{top:.2f}" '
                     f'width="{width_px:.2f}" height="{height_px:.2f}" preserveAspectRatio="none" {rendering}/>'
                     f'<rect class="frame" x="{left:.2f}" y="{top:.2f}" width="{width_px:.2f}" height="{height_px:.2f}" '
                     f'fill="none" stroke="{FRAME_COLOR}" stroke-width="1"/>')
        head, _, tail = title.partition(" (")
        centre = index * (tile + TILE_GAP) + tile / 2
        parts.append(f'<text class="step-title" x="{centre:.1f}" y="10" text-anchor="middle" font-size="10">'
                     f"{html.escape(head)}" + (f'<tspan x="{centre:.1f}" dy="12">({html.escape(tail)}</tspan>' if tail else "")
                     + "</text>")
        if index == 0 and bbox is not None:
            b_top, b_left, b_bottom, b_right = bbox
            parts.append(f'<rect class="ink-box" x="{left + b_left * scale:.2f}" y="{top + b_top * scale:.2f}" '
                         f'width="{(b_right - b_left) * scale:.2f}" height="{(b_bottom - b_top) * scale:.2f}" '
                         f'fill="none" stroke="{BOX_COLOR}" stroke-width="2"/>')
        if center_of_mass is not None and index in mark_steps and image.shape == (28, 28):
            row, col = center_of_mass
            x, y = left + (col + 0.5) * scale, top + (row + 0.5) * scale
            parts.append(f'<g class="centre-of-mass" stroke="{BOX_COLOR}" stroke-width="2">'
                         f"<title>centre of mass: row {row:.1f}, column {col:.1f}</title>"
                         f'<line x1="{x - 6:.2f}" x2="{x + 6:.2f}" y1="{y:.2f}" y2="{y:.2f}"/>'
                         f'<line x1="{x:.2f}" x2="{x:.2f}" y1="{y - 6:.2f}" y2="{y + 6:.2f}"/></g>')
    margin = TILE_GAP * 2      # room for the first and last titles, wider than their pictures
    return svg_box(width + 2 * margin, TITLE_BAND + tile + 2, "the preprocessing steps", parts,
                max_width=int(1.6 * (width + 2 * margin)), left=-margin)


def _column_colours(probabilities: np.ndarray) -> list[str]:
    order = np.argsort(probabilities)[::-1]
    colours = [OTHER_COLOR] * len(probabilities)
    if len(order) and probabilities[order[0]] > 0:
        colours[order[0]] = ANSWER_COLOR
        if len(order) > 1 and probabilities[order[1]] > 0:
            colours[order[1]] = RUNNER_UP_COLOR
    return colours


def probability_bars(probabilities: np.ndarray, class_names: Sequence[str], title: str = "") -> str:
    """All class probabilities as columns, each written above it; the answer and the runner-up in
    their own colours (all grey while every probability is 0, before anything is drawn)."""
    probabilities = np.asarray(probabilities, dtype=np.float64).ravel()
    if len(probabilities) != len(class_names):
        raise ValueError(f"expected one probability per class, got {len(probabilities)} for {len(class_names)} classes")
    parts = _percent_axis("class", "probability")
    slot = (RIGHT - LEFT) / max(len(class_names), 1)
    for index, (name, probability, colour) in enumerate(zip(class_names, probabilities, _column_colours(probabilities),
                                                            strict=True)):
        centre, top = LEFT + slot * (index + 0.5), _y_of(probability)
        parts.append(f'<rect class="probability" x="{centre - slot * 0.38:.1f}" y="{top:.1f}" width="{slot * 0.76:.1f}" '
                     f'height="{BOTTOM - top:.1f}" fill="{colour}"><title>{html.escape(str(name))}: '
                     f"{100 * probability:.2f}%</title></rect>"
                     f'<text x="{centre:.1f}" y="{BOTTOM + 16}" text-anchor="middle">{html.escape(str(name))}</text>')
        if probability >= 0.001:
            parts.append(f'<text x="{centre:.1f}" y="{top - 4:.1f}" text-anchor="middle" font-size="11">'
                         f"{100 * probability:.1f}%</text>")
    if title:
        parts.append(f'<text x="{LEFT}" y="14" font-weight="600">{html.escape(title)}</text>')
    return svg_box(WIDTH, HEIGHT, title or "probability of each class", parts)


def empty_probability_bars(class_names: Sequence[str]) -> str:
    """The probability chart before anything is drawn: every bar at 0, holding its place."""
    return probability_bars(np.zeros(len(class_names)), class_names)


def saliency_colours(saliency: np.ndarray) -> np.ndarray:
    """RGBA pixels of the gradient: red where it is positive, blue where negative, opaque in
    proportion to its size (clear at 0, ``SALIENCY_OPACITY`` at the largest ``|value|``)."""
    saliency = np.asarray(saliency, dtype=np.float64)
    bound = float(np.abs(saliency).max()) or 1.0
    strength = np.abs(saliency) / bound
    rgba = np.zeros((*saliency.shape, 4), dtype=np.uint8)
    rgba[saliency > 0, :3] = SALIENCY_POSITIVE
    rgba[saliency < 0, :3] = SALIENCY_NEGATIVE
    rgba[..., 3] = np.round(255 * SALIENCY_OPACITY * strength).astype(np.uint8)
    return rgba


def saliency_overlay(image: np.ndarray, saliency: np.ndarray, title: str = "") -> str:
    """The 28x28 input in grey with the gradient over it: red where more ink would raise the
    answer's score, blue where it would lower it, clear where the pixel hardly matters. The
    ``TOOLTIP_PIXELS`` strongest pixels give their gradient on a tooltip; a colour bar gives the scale."""
    image = _unit_range(np.asarray(image, dtype=np.float32))
    saliency = np.asarray(saliency, dtype=np.float32)
    if image.shape != saliency.shape or image.ndim != 2:
        raise ValueError(f"expected an image and a saliency map of the same 2-D shape, got {image.shape} and {saliency.shape}")
    rows, cols = image.shape
    bound = float(np.abs(saliency).max()) or 1.0
    cell = 10
    parts = [f'<image href="{png_data_url(image)}" x="0" y="0" width="{cols * cell}" height="{rows * cell}" '
             f'preserveAspectRatio="none" {PIXELATED}/>',
             f'<image class="saliency" href="{_png(saliency_colours(saliency))}" x="0" y="0" width="{cols * cell}" '
             f'height="{rows * cell}" preserveAspectRatio="none" {PIXELATED}/>',
             '<g fill="#000" fill-opacity="0">']
    strongest = np.argsort(-np.abs(saliency), axis=None, kind="stable")[:TOOLTIP_PIXELS]
    for row, col in zip(*np.unravel_index(strongest, saliency.shape), strict=True):
        if saliency[row, col] != 0:
            parts.append(f'<rect x="{col * cell}" y="{row * cell}" width="{cell}" height="{cell}">'
                         f"<title>row {row}, col {col}: {float(saliency[row, col]):.3g}</title></rect>")
    parts.append("</g>")
    # The colour bar: blue at -bound, clear at 0, red at +bound.
    bar_x, bar_top, bar_height = cols * cell + 24, 10, rows * cell - 20
    negative, positive = (f"rgb{SALIENCY_NEGATIVE}", f"rgb{SALIENCY_POSITIVE}")
    parts.append(
        '<defs><linearGradient id="saliency-scale" x1="0" x2="0" y1="1" y2="0">'
        f'<stop offset="0" stop-color="{negative}" stop-opacity="{SALIENCY_OPACITY}"/>'
        '<stop offset="0.5" stop-color="#fff" stop-opacity="0"/>'
        f'<stop offset="1" stop-color="{positive}" stop-opacity="{SALIENCY_OPACITY}"/></linearGradient></defs>'
        f'<rect x="{bar_x}" y="{bar_top}" width="12" height="{bar_height}" fill="url(#saliency-scale)" '
        f'stroke="{FRAME_COLOR}" stroke-width="0.5"/>')
    for value, offset in ((bound, 0.0), (0.0, 0.5), (-bound, 1.0)):
        parts.append(f'<text class="scale" x="{bar_x + 16}" y="{bar_top + offset * bar_height + 4:.1f}">{value:.3g}</text>')
    parts.append(f'<text x="{bar_x - 8}" y="{bar_top + bar_height + 16}" font-size="10">d score / d pixel</text>')
    if title:
        parts.append(f'<text x="0" y="-4" font-weight="600">{html.escape(title)}</text>')
    width = cols * cell + 110
    return svg_box(width, rows * cell + 22, title or "saliency: d score / d pixel", parts, max_width=1.15 * width)


def compare_models_bars(names: Sequence[str], probabilities: Sequence[np.ndarray], class_names: Sequence[str]) -> str:
    """Grouped columns: each model's probabilities for every class, on the same drawing, with a legend."""
    table = np.asarray([np.asarray(p, dtype=np.float64).ravel() for p in probabilities])
    if table.shape != (len(names), len(class_names)):
        raise ValueError(f"expected {len(class_names)} probabilities for each of the {len(names)} models")
    parts = _percent_axis("class", "probability")
    slot = (RIGHT - LEFT) / max(len(class_names), 1)
    width = slot * 0.84 / max(len(names), 1)
    for column, class_name in enumerate(class_names):
        start = LEFT + slot * column + slot * 0.08
        parts.append(f'<text x="{LEFT + slot * (column + 0.5):.1f}" y="{BOTTOM + 16}" text-anchor="middle">'
                     f"{html.escape(str(class_name))}</text>")
        for model, name in enumerate(names):
            top = _y_of(table[model, column])
            parts.append(f'<rect class="model-probability" data-model="{html.escape(str(name))}" '
                         f'x="{start + model * width:.1f}" y="{top:.1f}" width="{width:.1f}" height="{BOTTOM - top:.1f}" '
                         f'fill="{MODEL_COLORS[model % len(MODEL_COLORS)]}"><title>{html.escape(str(name))}, '
                         f"{html.escape(str(class_name))}: {100 * table[model, column]:.2f}%</title></rect>")
    x = LEFT
    for model, name in enumerate(names):
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{MODEL_COLORS[model % len(MODEL_COLORS)]}"/>'
                     f'<text class="legend" x="{x + 14}" y="15">{html.escape(str(name))}</text>')
        x += 24 + 7 * len(str(name))
    return svg_box(WIDTH, HEIGHT, "the probabilities of each model", parts)


def rotation_line(angles: Sequence[float], probabilities: np.ndarray, class_names: Sequence[str],
                  drawn_class: int, current_angle: float) -> str:
    """The drawn class's probability as the drawing turns (one point per angle, the answer at that
    angle on its tooltip), and a dotted line at the angle the slider shows now."""
    angles = [float(angle) for angle in angles]
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape != (len(angles), len(class_names)) or not angles:
        raise ValueError(f"expected {len(class_names)} probabilities at each of the {len(angles)} angles")
    low, high = min(angles), max(angles)

    def x(angle: float) -> float:
        return LEFT + (RIGHT - LEFT) * (angle - low) / max(high - low, 1e-12)

    name = class_names[drawn_class]
    parts = _percent_axis("rotation (degrees, counter-clockwise)", f"probability of {name}")
    step = 45 if high - low > 180 else 30 if high - low > 90 else 10
    for tick in range(int(np.ceil(low / step)) * step, int(high) + 1, step):
        parts.append(f'<text x="{x(tick):.1f}" y="{BOTTOM + 16}" text-anchor="middle">{tick}°</text>')
    now = x(min(max(float(current_angle), low), high))
    parts.append(f'<line class="current-angle" x1="{now:.1f}" x2="{now:.1f}" y1="{TOP}" y2="{BOTTOM}" stroke="grey" '
                 f'stroke-dasharray="3 3"><title>now: {float(current_angle):g}°</title></line>')
    values = probabilities[:, drawn_class]
    points = " ".join(f"{x(a):.1f},{_y_of(p):.1f}" for a, p in zip(angles, values, strict=True))
    parts.append(f'<polyline points="{points}" fill="none" stroke="{LINE_COLOR}" stroke-width="2"/>')
    answers = probabilities.argmax(axis=1)
    for angle, probability, answer in zip(angles, values, answers, strict=True):
        parts.append(f'<circle class="angle" cx="{x(angle):.1f}" cy="{_y_of(probability):.1f}" r="3.5" fill="{LINE_COLOR}">'
                     f"<title>{angle:g}°: p = {100 * probability:.1f}%, answer {html.escape(str(class_names[int(answer)]))}"
                     "</title></circle>")
    return svg_box(WIDTH, HEIGHT, f"probability of {name} as the drawing turns", parts)
