"""Figure builders of the Inside page: numbers in (from nnlib.introspect / layer_survey), Plotly figures out.

Pure functions, no Streamlit. Charts the user clicks (units, feature-map pixels, map points)
are scatter traces whose ``customdata`` says what was clicked: Streamlit's selection events
report points of scatter traces. Each figure is built by one ``go.Figure({...})`` call:
Plotly validates a figure once per call, and a page of thirty figures stays fast that way.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .explore_charts import class_colour

UNITS_PER_ROW = 32
MARGIN = dict(l=10, r=10, t=36, b=10)
# For ``st.plotly_chart(config=...)``: no zoom/pan toolbar on the page's small charts (clicks pick
# units and pixels, nothing needs zooming), which also spares the browser building it on every draw.
PLAIN_CONFIG = {"displayModeBar": False}


def _symmetric_range(values: np.ndarray) -> float:
    largest = float(np.max(np.abs(values))) if np.size(values) else 1.0
    return largest if largest > 0 else 1.0


def _title(text: str) -> dict:
    return {"text": text, "font": {"size": 13}}


def _figure(data: list[dict], layout: dict) -> go.Figure:
    return go.Figure({"data": data, "layout": layout})


def _selected_ring(x: float, y: float, size: int) -> dict:
    return {"type": "scatter", "x": [x], "y": [y], "mode": "markers", "hoverinfo": "skip", "showlegend": False,
            "marker": {"symbol": "square-open", "size": size + 6, "color": "#ff7f0e", "line": {"width": 3}}}


def unit_strip(values: np.ndarray, title: str, signed: bool = False, selected: int | None = None,
               per_row: int = UNITS_PER_ROW) -> go.Figure:
    """A layer's units as a grid of squares coloured by value, ``per_row`` to a row; click one to pick it.

    Each point's ``customdata`` is its unit index. ``signed`` uses a red-blue scale centred on
    0 (pre-activations ``Z``); otherwise Viridis (activations ``A``, 0 and up for ReLU).
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    units = np.arange(len(values))
    per_row = min(per_row, len(values))
    rows = -(-len(values) // per_row)
    size = max(8, min(22, 700 // per_row))
    limit = _symmetric_range(values)
    marker = {"symbol": "square", "size": size, "color": np.round(values, 4), "line": {"width": 0},
              "showscale": True, "colorbar": {"thickness": 10, "len": 0.9}}
    if signed:
        marker.update(colorscale="RdBu", reversescale=True, cmin=-limit, cmax=limit)
    else:
        marker.update(colorscale="Viridis", cmin=float(values.min()),
                      cmax=float(max(values.max(), values.min() + 1e-6)))
    data = [{"type": "scatter", "x": units % per_row, "y": units // per_row, "mode": "markers", "marker": marker,
             "customdata": units, "showlegend": False,
             "hovertemplate": "unit %{customdata}: %{marker.color:.3f}<extra></extra>"}]
    if selected is not None and 0 <= selected < len(values):
        data.append(_selected_ring(selected % per_row, selected // per_row, size))
    return _figure(data, {
        "title": _title(title), "height": 60 + 26 * rows, "margin": MARGIN, "dragmode": False,
        "clickmode": "event+select",
        "yaxis": {"autorange": "reversed", "visible": False, "range": [rows - 0.5, -0.5]},
        "xaxis": {"visible": False, "range": [-0.7, per_row - 0.3]}})


def clickable_map(values: np.ndarray, title: str, selected: tuple[int, int] | None = None,
                  kept: np.ndarray | None = None) -> go.Figure:
    """One 2-D map as squares you can click (``customdata = [row, col]``); ``kept`` (a boolean
    mask of the same shape) marks the positions max-pooling keeps."""
    values = np.asarray(values, dtype=np.float64)
    height, width = values.shape
    rows, cols = np.divmod(np.arange(values.size), width)
    size = max(6, min(18, 420 // max(height, width)))
    data = [{"type": "scatter", "x": cols, "y": rows, "mode": "markers", "name": "pixels", "showlegend": False,
             "customdata": np.stack([rows, cols], axis=1).tolist(),   # a list: selections report it as sent
             "marker": {"symbol": "square", "size": size, "color": np.round(values.ravel(), 4),
                        "colorscale": "Viridis", "line": {"width": 0}, "showscale": True,
                        "colorbar": {"thickness": 10}},
             "hovertemplate": "row %{customdata[0]}, col %{customdata[1]}: %{marker.color:.3f}<extra></extra>"}]
    if kept is not None:
        kept_rows, kept_cols = np.nonzero(kept)
        data.append({"type": "scatter", "x": kept_cols, "y": kept_rows, "mode": "markers", "hoverinfo": "skip",
                     "name": "kept by max-pooling", "marker": {"size": max(3, size // 3), "color": "#ff4b4b"}})
    if selected is not None:
        data.append(_selected_ring(selected[1], selected[0], size))
    return _figure(data, {
        "title": _title(title), "height": min(440, 80 + size * height), "margin": MARGIN, "dragmode": False,
        "clickmode": "event+select", "legend": {"orientation": "h", "y": -0.02},
        "yaxis": {"autorange": "reversed", "visible": False, "scaleanchor": "x"},
        "xaxis": {"visible": False, "constrain": "domain"}})


MAP_GAP = 0.02


def layer_maps_figure(stage_names: Sequence[str], coords: Sequence[np.ndarray], ratios: Sequence[np.ndarray],
                      labels: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """Each stage's 2-D PCA map of the same images side by side, coloured by label.

    One trace per panel (points coloured by class, ``customdata`` = [position in the surveyed
    images, label]) and one legend entry per class.
    """
    labels = np.asarray(labels)
    n_colours = max(int(labels.max()) + 1, len(class_names), 1)
    # Numbers coloured through a stepped colour scale: one colour per class, and Plotly validates
    # one numeric array instead of thousands of colour strings.
    colour_scale = [[edge / n_colours, class_colour(c)] for c in range(n_colours) for edge in (c, c + 1)]
    details = np.stack([np.arange(len(labels)), labels], axis=1).tolist()   # a list: selections report it as sent
    panels = len(stage_names)
    width = (1 - MAP_GAP * (panels - 1)) / panels
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {"height": 330, "margin": dict(l=10, r=10, t=50, b=10), "dragmode": "pan",
                              "legend": {"itemsizing": "constant"}, "annotations": []}
    for panel, (name, points, ratio) in enumerate(zip(stage_names, coords, ratios, strict=True), start=1):
        suffix = "" if panel == 1 else str(panel)
        start = (panel - 1) * (width + MAP_GAP)
        data.append({"type": "scatter", "x": np.round(points[:, 0], 3), "y": np.round(points[:, 1], 3),
                     "mode": "markers", "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "showlegend": False,
                     "marker": {"size": 4, "color": labels, "colorscale": colour_scale, "cmin": -0.5,
                                "cmax": n_colours - 0.5, "opacity": 0.7},
                     "customdata": details,
                     "hovertemplate": "class %{customdata[1]}<br>image %{customdata[0]}<extra></extra>"})
        layout[f"xaxis{suffix}"] = {"domain": [start, start + width], "showticklabels": False, "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"showticklabels": False, "anchor": f"x{suffix}"}
        share = f"PC1+PC2: {100 * float(np.sum(ratio)):.0f}% of variance"
        layout["annotations"].append({"text": f"{name}<br><sub>{share}</sub>",
                                      "x": start + width / 2, "y": 1.0, "xref": "paper", "yref": "paper",
                                      "xanchor": "center", "yanchor": "bottom", "showarrow": False})
    for label in sorted(set(labels.tolist())):
        name = class_names[label] if 0 <= label < len(class_names) else "?"
        data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": str(name),
                     "marker": {"size": 8, "color": class_colour(int(label))}, "hoverinfo": "skip"})
    return _figure(data, layout)
