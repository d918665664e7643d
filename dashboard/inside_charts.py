"""Figure builders of the Inside page: numbers in (from nnlib.introspect / layer_survey), Plotly figures out.

Pure functions, no Streamlit. Charts the user clicks (units, feature-map pixels, map points)
are scatter traces whose ``customdata`` says what was clicked: Streamlit's selection events
report points of scatter traces.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .explore_charts import class_colour
from .figures import mosaic_figure

UNITS_PER_ROW = 32
MARGIN = dict(l=10, r=10, t=36, b=10)


def _symmetric_range(values: np.ndarray) -> float:
    largest = float(np.max(np.abs(values))) if np.size(values) else 1.0
    return largest if largest > 0 else 1.0


def image_figure(image: np.ndarray, title: str = "", colorscale: str = "gray", signed: bool = False,
                 show_values: bool = False, height: int = 260, decimals: int = 2) -> go.Figure:
    """A small 2-D array as a square heatmap; ``signed`` centres a red-blue scale on 0;
    ``show_values`` writes each cell's value in it (for the 5x5 patches and kernels)."""
    image = np.asarray(image, dtype=np.float64)
    limit = _symmetric_range(image) if signed else None
    text = np.vectorize(lambda v: f"{v:.{decimals}f}")(image) if show_values else None
    fig = go.Figure(go.Heatmap(
        z=np.round(image, 4), colorscale="RdBu" if signed else colorscale, reversescale=signed,
        zmin=-limit if signed else None, zmax=limit if signed else None, zmid=0 if signed else None,
        showscale=False, text=text, texttemplate="%{text}" if show_values else None, textfont=dict(size=10),
        hovertemplate="row %{y}, col %{x}: %{z:.4f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=height, margin=MARGIN)
    return fig


def vector_strip(values: np.ndarray, title: str) -> go.Figure:
    """A long vector (the 784 input numbers) as one thin strip of coloured cells."""
    values = np.asarray(values, dtype=np.float64).ravel()
    fig = go.Figure(go.Heatmap(z=[np.round(values, 3)], colorscale="gray", showscale=False,
                               hovertemplate="x[%{x}] = %{z:.3f}<extra></extra>"))
    fig.update_yaxes(visible=False)
    fig.update_xaxes(title=None, showgrid=False)
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=110, margin=dict(l=10, r=10, t=36, b=24))
    return fig


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
    limit = _symmetric_range(values)
    marker = dict(symbol="square", size=max(8, min(22, 700 // per_row)), color=np.round(values, 4),
                  colorscale="RdBu" if signed else "Viridis", reversescale=signed,
                  cmin=-limit if signed else float(values.min()), cmax=limit if signed else float(values.max()),
                  line=dict(width=0), showscale=True, colorbar=dict(thickness=10, len=0.9))
    fig = go.Figure(go.Scatter(x=units % per_row, y=units // per_row, mode="markers", marker=marker,
                               customdata=units, hovertemplate="unit %{customdata}: %{marker.color:.3f}<extra></extra>",
                               showlegend=False))
    if selected is not None and 0 <= selected < len(values):
        fig.add_trace(go.Scatter(x=[selected % per_row], y=[selected // per_row], mode="markers", hoverinfo="skip",
                                 marker=dict(symbol="square-open", size=marker["size"] + 6, color="#ff7f0e",
                                             line=dict(width=3)), showlegend=False))
    fig.update_yaxes(autorange="reversed", visible=False, range=[rows - 0.5, -0.5])
    fig.update_xaxes(visible=False, range=[-0.7, per_row - 0.3])
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=60 + 26 * rows, margin=MARGIN,
                      dragmode=False, clickmode="event+select")
    return fig


def feature_maps_mosaic(maps: np.ndarray, title_prefix: str = "map") -> go.Figure:
    """All feature maps ``(h, w, c)`` of one image side by side, one shared colour scale."""
    maps = np.asarray(maps, dtype=np.float32)
    tiles = maps.transpose(2, 0, 1)
    return mosaic_figure(tiles, titles=[f"{title_prefix} {c}" for c in range(len(tiles))],
                         columns=min(8, len(tiles)), zmin=float(maps.min()), zmax=float(max(maps.max(), 1e-6)),
                         colorscale="Viridis", pixels_per_cell=4.2 if maps.shape[0] > 12 else 7.0)


def clickable_map(values: np.ndarray, title: str, selected: tuple[int, int] | None = None,
                  kept: np.ndarray | None = None) -> go.Figure:
    """One 2-D map as squares you can click (``customdata = [row, col]``); ``kept`` (a boolean
    mask of the same shape) rings the positions max-pooling keeps."""
    values = np.asarray(values, dtype=np.float64)
    height, width = values.shape
    rows, cols = np.divmod(np.arange(values.size), width)
    size = max(6, min(18, 420 // max(height, width)))
    fig = go.Figure(go.Scatter(
        x=cols, y=rows, mode="markers", customdata=np.stack([rows, cols], axis=1),
        marker=dict(symbol="square", size=size, color=np.round(values.ravel(), 4), colorscale="Viridis",
                    line=dict(width=0), showscale=True, colorbar=dict(thickness=10)),
        hovertemplate="row %{customdata[0]}, col %{customdata[1]}: %{marker.color:.3f}<extra></extra>",
        showlegend=False, name="pixels"))
    if kept is not None:
        kept_rows, kept_cols = np.nonzero(kept)
        fig.add_trace(go.Scatter(x=kept_cols, y=kept_rows, mode="markers", hoverinfo="skip", name="kept by max-pool",
                                 marker=dict(symbol="circle", size=max(3, size // 3), color="#ff4b4b")))
    if selected is not None:
        fig.add_trace(go.Scatter(x=[selected[1]], y=[selected[0]], mode="markers", hoverinfo="skip", showlegend=False,
                                 marker=dict(symbol="square-open", size=size + 6, color="#ff7f0e", line=dict(width=3))))
    fig.update_yaxes(autorange="reversed", visible=False, scaleanchor="x")
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=min(440, 80 + size * height),
                      margin=MARGIN, dragmode=False, clickmode="event+select",
                      legend=dict(orientation="h", y=-0.02))
    return fig


def class_bars(values: np.ndarray, class_names: Sequence[str], title: str, highlight: int | None = None,
               as_percent: bool = False) -> go.Figure:
    """One bar per class (logits, probabilities, the output error ``A - Y``); ``highlight`` in orange."""
    values = np.asarray(values, dtype=np.float64)
    shown = values * 100 if as_percent else values
    colours = ["#ff7f0e" if i == highlight else "#1f77b4" for i in range(len(values))]
    fig = go.Figure(go.Bar(x=list(class_names), y=np.round(shown, 4), marker_color=colours,
                           hovertemplate="%{x}: %{y:.3f}" + ("%" if as_percent else "") + "<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_layout(title=dict(text=title, font=dict(size=13)), height=250, margin=MARGIN,
                      yaxis_title="%" if as_percent else None)
    return fig


def gradient_norms_figure(norms: Sequence[tuple[str, float]]) -> go.Figure:
    """The size of the gradient arriving at each layer, output first, on a log scale."""
    names = [name for name, _ in norms]
    values = [max(value, 1e-30) for _, value in norms]
    fig = go.Figure(go.Bar(x=names, y=values, marker_color="#9467bd",
                           hovertemplate="%{x}: %{y:.3e}<extra></extra>"))
    fig.update_yaxes(type="log", title="‖dL/d output‖")
    fig.update_xaxes(title="layer (from the output back to the input)", type="category")
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=10, b=10))
    return fig


def weight_images(images: np.ndarray, titles: list[str], columns: int = 8) -> go.Figure:
    """Weights (or their gradients) as small images on one red-blue scale centred on 0."""
    images = np.asarray(images, dtype=np.float32)
    limit = _symmetric_range(images)
    fig = mosaic_figure(images, titles=titles, columns=columns, zmin=-limit, zmax=limit, colorscale="RdBu",
                        pixels_per_cell=3.0 if images.shape[1] > 10 else 9.0)
    fig.update_traces(reversescale=True)
    return fig


def probability_history(steps: Sequence[int], probabilities: Sequence[float], class_name: str) -> go.Figure:
    """The true class's probability after each step (step 0: before any)."""
    fig = go.Figure(go.Scatter(x=list(steps), y=[100 * p for p in probabilities], mode="lines+markers",
                               line=dict(color="#2ca02c"), hovertemplate="step %{x}: %{y:.2f}%<extra></extra>"))
    fig.update_xaxes(title="step", dtick=1)
    fig.update_yaxes(title=f"P(class {class_name}) in %", range=[0, 101])
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10))
    return fig


def layer_maps_figure(stage_names: Sequence[str], coords: Sequence[np.ndarray], ratios: Sequence[np.ndarray],
                      labels: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """Each stage's 2-D PCA map of the same images side by side, coloured by label.

    ``customdata`` of every point is its position in the surveyed images; one legend entry
    per class toggles that class in every panel.
    """
    labels = np.asarray(labels)
    titles = [f"{name}<br><sub>PC1+PC2: {100 * float(np.sum(ratio)):.0f}% of variance</sub>"
              for name, ratio in zip(stage_names, ratios)]
    fig = make_subplots(rows=1, cols=len(stage_names), subplot_titles=titles, horizontal_spacing=0.02)
    positions = np.arange(len(labels))
    for column, points in enumerate(coords, start=1):
        for label in sorted(set(labels.tolist())):
            mask = labels == label
            name = class_names[label] if 0 <= label < len(class_names) else "?"
            fig.add_trace(go.Scatter(
                x=np.round(points[mask, 0], 3), y=np.round(points[mask, 1], 3), mode="markers",
                marker=dict(size=4, color=class_colour(int(label)), opacity=0.7), name=str(name),
                legendgroup=str(name), showlegend=column == 1, customdata=positions[mask],
                hovertemplate=f"label {name}<br>image %{{customdata}}<extra></extra>"), row=1, col=column)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=50, b=10), legend=dict(itemsizing="constant"),
                      dragmode="pan")
    return fig


def unit_health_figure(stage_names: Sequence[str], active_fractions: Sequence[np.ndarray]) -> go.Figure:
    """Per layer (a row each), the share of images on which each unit is active; dead units are 0 (black)."""
    width = max(len(f) for f in active_fractions)
    grid = np.full((len(active_fractions), width), np.nan)
    for row, fractions in enumerate(active_fractions):
        grid[row, :len(fractions)] = fractions
    fig = go.Figure(go.Heatmap(z=np.round(grid, 3), y=list(stage_names), colorscale="Viridis", zmin=0, zmax=1,
                               colorbar=dict(title=dict(text="active on"), thickness=10, tickformat=".0%"),
                               hovertemplate="%{y}, unit %{x}: active on %{z:.1%} of images<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title="unit")
    fig.update_layout(height=90 + 38 * len(active_fractions), margin=dict(l=10, r=10, t=10, b=10))
    return fig
