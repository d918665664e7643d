"""Figures of the Predict page: data in, Plotly figure out (no Streamlit, testable alone).

- :func:`steps_strip`: the preprocessing steps side by side, each drawn at the same size,
  with the ink's bounding box on the drawing and the centre of mass on the placed digit.
- :func:`probability_bars`: the ten probabilities, the answer and the runner-up coloured.
- :func:`saliency_overlay`: where the answer comes from, over the 28x28 input.
- :func:`compare_models_bars`: several models' probabilities on the same drawing.
"""
from __future__ import annotations

import base64
import functools
import io
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image

TILE = 112          # display size of each step, in heatmap cells
TILE_GAP = 10       # empty cells between tiles
TITLE_BAND = 22     # cells above the tiles for their titles
ANSWER_COLOR, RUNNER_UP_COLOR, OTHER_COLOR = "#E8590C", "#4C6EF5", "#ADB5BD"
BOX_COLOR, FRAME_COLOR = "#FD7E14", "#868E96"
MODEL_COLORS = ("#4C6EF5", "#F76707", "#2B8A3E", "#AE3EC9", "#E03131", "#1098AD", "#F59F00",
                "#5C940D", "#862E9C", "#495057", "#C2255C", "#364FC7", "#087F5B")
# Diverging and transparent at zero, so the input shows through where the gradient is small.
SALIENCY_COLORSCALE = [[0.0, "rgba(33,102,172,0.95)"], [0.5, "rgba(255,255,255,0)"], [1.0, "rgba(214,39,40,0.95)"]]


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure built in one go from plain dicts: these charts are redrawn on every stroke, and
    Plotly's ``update_*`` helpers cost several times more than building it whole."""
    return go.Figure({"data": data, "layout": layout})

def _fit_tile(image: np.ndarray, tile: int = TILE) -> tuple[np.ndarray, float]:
    """``image`` scaled so its longer side is ``tile`` (blocky when enlarged), and the scale."""
    image = np.asarray(image, dtype=np.float32)
    height, width = image.shape
    scale = tile / max(height, width)
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    return np.asarray(Image.fromarray(image, mode="F").resize(size, resample), dtype=np.float32), scale


def _unit_range(image: np.ndarray) -> np.ndarray:
    """Values stretched to 0-1 for display (a standardised input is not in 0-1)."""
    image = np.asarray(image, dtype=np.float32)
    low, high = float(image.min()), float(image.max())
    if low >= 0.0 and high <= 1.0:
        return image
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def png_data_url(values: np.ndarray) -> str:
    """A greyscale image in 0-1 (NaN = transparent) as a ``data:image/png`` URL.

    One small PNG instead of a heatmap of every value: the strip of steps stays a few
    kilobytes, so the page answers a stroke quickly.
    """
    values = np.asarray(values, dtype=np.float32)
    grey = np.round(np.nan_to_num(np.clip(values, 0, 1), nan=0.0) * 255).astype(np.uint8)
    alpha = np.where(np.isnan(values), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.stack([grey, grey, grey, alpha], axis=-1), mode="RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def steps_strip(
    steps: Sequence[tuple[str, np.ndarray]],
    bbox: tuple[int, int, int, int] | None = None,
    center_of_mass: tuple[float, float] | None = None,
    mark_steps: Sequence[int] = (),
    tile: int = TILE,
) -> go.Figure:
    """The preprocessing steps in one row, each shown at the same size, in one image.

    ``steps``: ``(title, image)`` pairs, images in 0-1 (others are stretched to 0-1).
    ``bbox`` (top, left, bottom, right) is drawn on the first step; ``center_of_mass``
    (row, col, in 28x28 coordinates) as a cross on the steps listed in ``mark_steps``.
    Each image gets a thin frame, so a small patch (a 20x3 stroke) shows its real
    extent. The pixels travel as one PNG (see :func:`png_data_url`).
    """
    n = len(steps)
    width = n * tile + (n - 1) * TILE_GAP
    z = np.full((tile + TITLE_BAND, width), np.nan, dtype=np.float32)
    shapes, annotations = [], []
    for index, (title, image) in enumerate(steps):
        shown, scale = _fit_tile(_unit_range(image), tile)
        height_px, width_px = shown.shape
        top = TITLE_BAND + (tile - height_px) // 2
        left = index * (tile + TILE_GAP) + (tile - width_px) // 2
        z[top:top + height_px, left:left + width_px] = shown
        shapes.append(dict(type="rect", x0=left - 0.5, x1=left + width_px - 0.5, y0=top - 0.5, y1=top + height_px - 0.5,
                           line=dict(color=FRAME_COLOR, width=1)))
        annotations.append(dict(x=index * (tile + TILE_GAP) + tile / 2, y=TITLE_BAND / 2, text=title.replace(" (", "<br>("),
                                showarrow=False, font=dict(size=10), xref="x", yref="y"))
        if index == 0 and bbox is not None:
            b_top, b_left, b_bottom, b_right = bbox
            shapes.append(dict(type="rect", x0=left + b_left * scale - 0.5, x1=left + b_right * scale - 0.5,
                               y0=top + b_top * scale - 0.5, y1=top + b_bottom * scale - 0.5,
                               line=dict(color=BOX_COLOR, width=2)))
        if center_of_mass is not None and index in mark_steps and np.asarray(image).shape == (28, 28):
            row, col = center_of_mass
            x, y = left + (col + 0.5) * scale - 0.5, top + (row + 0.5) * scale - 0.5
            for dx, dy in ((6, 0), (0, 6)):
                shapes.append(dict(type="line", x0=x - dx, x1=x + dx, y0=y - dy, y1=y + dy,
                                   line=dict(color=BOX_COLOR, width=2)))
    return _figure([{"type": "image", "source": png_data_url(z), "hoverinfo": "skip"}], {
        "yaxis": {"visible": False}, "xaxis": {"visible": False}, "shapes": shapes, "annotations": annotations,
        "height": int(1.6 * (tile + TITLE_BAND)) + 10, "margin": dict(l=5, r=5, t=5, b=5),
        "plot_bgcolor": "rgba(0,0,0,0)"})


def probability_bars(probabilities: np.ndarray, class_names: Sequence[str], title: str = "") -> go.Figure:
    """All class probabilities as bars; the answer and the runner-up in their own colours."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(probabilities)[::-1]
    colors = [OTHER_COLOR] * len(probabilities)
    colors[order[0]] = ANSWER_COLOR
    if len(order) > 1:
        colors[order[1]] = RUNNER_UP_COLOR
    return _figure([{
        "type": "bar", "x": [str(name) for name in class_names], "y": probabilities, "marker": {"color": colors},
        "text": [f"{100 * p:.1f}%" if p >= 0.001 else "" for p in probabilities], "textposition": "outside",
        "hovertemplate": "%{x}: %{y:.2%}<extra></extra>", "cliponaxis": False,
    }], {"yaxis": {"range": [0, 1.12], "tickformat": ".0%", "title": {"text": "probability"}},
         "xaxis": {"type": "category", "title": {"text": "class"}}, "title": {"text": title}, "height": 300,
         "margin": dict(l=10, r=10, t=40 if title else 10, b=10), "showlegend": False})


def empty_probability_bars(class_names: Sequence[str]) -> go.Figure:
    """The probability chart before anything is drawn: every bar at 0."""
    return probability_bars(np.zeros(len(class_names)), class_names)


def saliency_overlay(image: np.ndarray, saliency: np.ndarray, title: str = "") -> go.Figure:
    """The 28x28 input in grey with the gradient over it: red where more ink would raise the
    answer's score, blue where it would lower it, clear where the pixel hardly matters."""
    image = _unit_range(np.asarray(image, dtype=np.float32))
    saliency = np.asarray(saliency, dtype=np.float32)
    bound = float(np.abs(saliency).max()) or 1.0
    return _figure([
        {"type": "heatmap", "z": np.round(image, 3), "zmin": 0, "zmax": 1, "colorscale": "gray", "showscale": False,
         "hoverinfo": "skip"},
        {"type": "heatmap", "z": np.round(saliency, 5), "zmin": -bound, "zmax": bound,
         "colorscale": SALIENCY_COLORSCALE,
         "colorbar": {"title": {"text": "d score / d pixel"}, "thickness": 10, "len": 0.8},
         "hovertemplate": "row %{y}, col %{x}: %{z:.3g}<extra></extra>"},
    ], {"yaxis": {"autorange": "reversed", "scaleanchor": "x", "showticklabels": False, "showgrid": False},
        "xaxis": {"showticklabels": False, "showgrid": False, "constrain": "domain"},
        "title": {"text": title}, "height": 320, "margin": dict(l=10, r=10, t=40 if title else 10, b=10)})


def compare_models_bars(names: Sequence[str], probabilities: Sequence[np.ndarray], class_names: Sequence[str]) -> go.Figure:
    """Grouped bars: each model's probabilities for every class, on the same drawing."""
    return _figure([
        {"type": "bar", "name": name, "x": [str(c) for c in class_names], "y": np.asarray(p, dtype=np.float64),
         "marker": {"color": MODEL_COLORS[index % len(MODEL_COLORS)]},
         "hovertemplate": f"{name}<br>%{{x}}: %{{y:.2%}}<extra></extra>"}
        for index, (name, p) in enumerate(zip(names, probabilities))
    ], {"yaxis": {"range": [0, 1], "tickformat": ".0%", "title": {"text": "probability"}},
        "xaxis": {"type": "category", "title": {"text": "class"}}, "barmode": "group", "height": 300,
        "margin": dict(l=10, r=10, t=10, b=10), "legend": dict(orientation="h", yanchor="bottom", y=1.02)})


@functools.cache
def warm_up() -> None:
    """Build each figure once with placeholder data, once per process.

    Plotly imports its validators lazily when the first figure of a kind is made (about
    0.3 s here); doing it while the canvas is still empty keeps that wait out of the
    first stroke's answer.
    """
    blank = np.zeros((28, 28), dtype=np.float32)
    probability_bars(np.full(10, 0.1), [str(digit) for digit in range(10)]).to_json()
    saliency_overlay(blank, blank).to_json()
    steps_strip([("", blank)], (0, 0, 1, 1), (14.0, 14.0)).to_json()
    compare_models_bars(["a"], [np.full(10, 0.1)], [str(digit) for digit in range(10)]).to_json()
