"""Figures of the Train page: data in, Plotly figure out (no Streamlit, testable alone).

Live curves keep ``uirevision`` fixed, so a user's zoom survives the redraw every poll;
long series are thinned to ``MAX_POINTS`` so a poll sends a small figure.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_POINTS = 2_000
LIVE_STEP_POINTS = 300   # step-loss points per live redraw
TRAIN_COLOR, VAL_COLOR, STEP_COLOR = "#4C6EF5", "#F76707", "rgba(76,110,245,0.35)"
RUN_COLORS = ("#4C6EF5", "#F76707", "#2B8A3E", "#AE3EC9", "#E03131", "#1098AD", "#F59F00",
              "#5C940D", "#862E9C", "#495057", "#C2255C", "#364FC7")
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf")


def thin(xs: Sequence[float], ys: Sequence[float], max_points: int = MAX_POINTS) -> tuple[list, list]:
    """Every k-th point so that at most ``max_points`` remain (the last point always kept)."""
    n = len(xs)
    if n <= max_points:
        return list(xs), list(ys)
    stride = int(np.ceil(n / max_points))
    index = list(range(0, n, stride))
    if index[-1] != n - 1:
        index[-1] = n - 1
    return [xs[i] for i in index], [ys[i] for i in index]


def _finite_array(values: Sequence[float]) -> np.ndarray:
    """float64 array with NaN where a value is missing or infinite (drawn as a gap)."""
    array = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    array[~np.isfinite(array)] = np.nan
    return array


def _finite(values: Sequence[float]) -> list[float | None]:
    """NaN and inf become gaps (None), which Plotly draws as breaks, not as zeros."""
    return [float(v) if v is not None and np.isfinite(v) else None for v in values]


def live_curves(history: dict[str, list[float]], step_epochs: Sequence[float] = (),
                step_losses: Sequence[float] = (), title: str = "",
                uirevision: str = "live") -> go.Figure:
    """Loss (left) and accuracy (right) against epochs, train and validation.

    ``history`` has nnlib's per-epoch keys (``epoch``, ``train_loss``, ``val_loss``,
    ``train_accuracy``, ``val_accuracy``); ``step_epochs``/``step_losses`` add the
    per-step training loss as a faint line, so the chart moves within an epoch.

    Redrawn on every poll while a job trains, so it is built from plain dicts with two
    hand-placed axes (``make_subplots`` costs about ten times as much per call) and
    NumPy arrays (sent base64-encoded).
    """
    data: list[dict] = []
    if len(step_losses):
        xs, ys = thin(list(step_epochs), list(step_losses), LIVE_STEP_POINTS)
        data.append(dict(type="scatter", x=np.asarray(xs), y=_finite_array(ys), mode="lines",
                         name="train loss per step", line=dict(color=STEP_COLOR, width=1),
                         xaxis="x", yaxis="y"))
    epochs = history.get("epoch", [])
    series = (("train_loss", "train loss", TRAIN_COLOR, "x", "y"), ("val_loss", "validation loss", VAL_COLOR, "x", "y"),
              ("train_accuracy", "train accuracy", TRAIN_COLOR, "x2", "y2"),
              ("val_accuracy", "validation accuracy", VAL_COLOR, "x2", "y2"))
    for key, name, color, xaxis, yaxis in series:
        values = history.get(key, [])
        if not values:
            continue
        xs, ys = thin(epochs, values)
        data.append(dict(type="scatter", x=np.asarray(xs, dtype=float), y=_finite_array(ys), name=name,
                         mode="lines+markers" if len(xs) <= 60 else "lines", marker=dict(size=5),
                         line=dict(color=color, dash="dot" if key.startswith("val") else "solid"),
                         xaxis=xaxis, yaxis=yaxis))
    top = 0.88 if title else 1.0
    layout = dict(
        title=dict(text=title) if title else None, uirevision=uirevision, height=340,
        margin=dict(l=10, r=10, t=70 if title else 40, b=10), legend=dict(orientation="h", y=-0.25),
        xaxis=dict(domain=[0, 0.46], title=dict(text="epoch"), anchor="y"),
        yaxis=dict(domain=[0, top], rangemode="tozero", anchor="x"),
        xaxis2=dict(domain=[0.54, 1], title=dict(text="epoch"), anchor="y2"),
        yaxis2=dict(domain=[0, top], tickformat=".0%", anchor="x2"),
        annotations=[dict(text=text, x=x, y=1.0 if not title else top + 0.02, xref="paper", yref="paper",
                          xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=14))
                     for text, x in (("Loss (cross-entropy)", 0.23), ("Accuracy", 0.77))],
    )
    return go.Figure(data=data, layout=layout)


def compare_runs(runs: Sequence[tuple[str, dict[str, list[float]]]], uirevision: str = "compare") -> go.Figure:
    """Overlaid curves of several runs: validation accuracy (left), training loss (right).

    ``runs`` is ``[(name, history), ...]`` as in nnlib's TrainResult.history.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Validation accuracy", "Training loss"),
                        horizontal_spacing=0.08)
    for index, (name, history) in enumerate(runs):
        color = RUN_COLORS[index % len(RUN_COLORS)]
        epochs = history.get("epoch", [])
        for key, col in (("val_accuracy", 1), ("train_loss", 2)):
            xs, ys = thin(epochs, history.get(key, []))
            mode = "lines" if len(xs) > 1 else "markers"  # a run of one epoch is a dot
            fig.add_trace(go.Scatter(x=xs, y=_finite(ys), mode=mode, name=name, legendgroup=name,
                                     showlegend=col == 1, line=dict(color=color), marker=dict(color=color)),
                          row=1, col=col)
    fig.update_xaxes(title_text="epoch (iteration for full batch)")
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_layout(uirevision=uirevision, height=360, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def confusion_heatmap(cm: np.ndarray, class_names: Sequence[str],
                      selected: tuple[int, int] | None = None) -> go.Figure:
    """Confusion matrix (rows = true class, columns = predicted), counts written in.

    Colour is ``log(1 + count)`` so that the few mistakes stay visible next to the big
    diagonal. An invisible marker sits on each cell: clicking it selects the cell
    (Plotly's selection works on markers, not on heatmap cells); ``customdata`` holds
    ``[true, predicted]``.
    """
    cm = np.asarray(cm)
    k = len(class_names)
    labels = [str(name) for name in class_names]
    fig = go.Figure(go.Heatmap(
        z=np.log1p(cm).tolist(), x=labels, y=labels, text=cm.tolist(), texttemplate="%{text}", colorscale="Blues",
        showscale=False, hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>"))
    true_index, predicted_index = np.divmod(np.arange(k * k), k)
    fig.add_trace(go.Scatter(
        x=[labels[j] for j in predicted_index], y=[labels[i] for i in true_index], mode="markers",
        marker=dict(symbol="square", size=max(12, 300 // max(k, 1)), color="rgba(0,0,0,0)"),
        customdata=np.stack([true_index, predicted_index], axis=1).tolist(), name="cells", showlegend=False,
        hovertemplate="true %{y}, predicted %{x}: click to see these images<extra></extra>"))
    if selected is not None:
        fig.add_shape(type="rect", x0=selected[1] - 0.5, x1=selected[1] + 0.5, y0=selected[0] - 0.5,
                      y1=selected[0] + 0.5, line=dict(color="#E03131", width=3))
    fig.update_xaxes(title_text="predicted", side="top", type="category")
    fig.update_yaxes(title_text="true", autorange="reversed", type="category", scaleanchor="x")
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=40, b=10), clickmode="event+select",
                      dragmode=False)
    return fig


def per_class_accuracy(per_class: Sequence[Sequence[float]], class_names: Sequence[str],
                       epochs: Sequence[float] | None = None) -> go.Figure:
    """Validation accuracy of each class after every epoch: which digits are learned first."""
    values = np.asarray(per_class, dtype=float).reshape(len(per_class), -1)
    xs = list(epochs) if epochs is not None and len(epochs) == len(values) else list(range(1, len(values) + 1))
    fig = go.Figure()
    for index, name in enumerate(class_names):
        if index >= values.shape[1]:
            break
        px, py = thin(xs, values[:, index].tolist())
        fig.add_trace(go.Scatter(x=px, y=py, mode="lines", name=str(name),
                                 line=dict(color=CLASS_COLORS[index % len(CLASS_COLORS)])))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="validation accuracy of the class", tickformat=".0%")
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=30, b=10), legend_title_text="class")
    return fig


def weight_tiles(weights: np.ndarray, n_tiles: int = 64, columns: int = 8, side: int = 28) -> np.ndarray:
    """First-layer weights ``(side*side, units)`` as one mosaic of ``side x side`` tiles.

    Each tile is scaled by its own largest |weight| to -1..1, so every unit's pattern
    shows; gaps between tiles are NaN (drawn blank). Returns ``(rows*(side+1)-1, columns*(side+1)-1)``.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[0] != side * side:
        raise ValueError(f"expected first-layer weights of shape ({side * side}, units), got {weights.shape}")
    count = min(n_tiles, weights.shape[1])
    columns = max(1, min(columns, count))
    rows = int(np.ceil(count / columns))
    mosaic = np.full((rows * (side + 1) - 1, columns * (side + 1) - 1), np.nan)
    for unit in range(count):
        tile = weights[:, unit].reshape(side, side)
        scale = np.abs(tile).max()
        r, c = divmod(unit, columns)
        mosaic[r * (side + 1):r * (side + 1) + side, c * (side + 1):c * (side + 1) + side] = (
            tile / scale if scale > 0 else tile)
    return mosaic


def first_layer_weights(weights: np.ndarray, n_tiles: int = 64, columns: int = 8, side: int = 28) -> go.Figure:
    """What each first-layer unit looks for: its 784 incoming weights as a 28x28 image
    (red = this pixel's ink pushes the unit up, blue = down); or, with ``side=5``, a
    convolution's 5x5 filters ``(25, filters)``."""
    mosaic = weight_tiles(weights, n_tiles=n_tiles, columns=columns, side=side)
    fig = go.Figure(go.Heatmap(z=mosaic, colorscale="RdBu", reversescale=True, zmin=-1, zmax=1,
                               zmid=0, showscale=False, hoverinfo="skip"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False)
    fig.update_xaxes(showticklabels=False, showgrid=False)
    height = int(120 + 500 * mosaic.shape[0] / max(mosaic.shape[1], 1))
    fig.update_layout(height=min(height, 700), margin=dict(l=10, r=10, t=10, b=10),
                      plot_bgcolor="white")
    return fig


def weight_histograms(weights: Sequence[np.ndarray], names: Sequence[str] | None = None,
                      bins: int = 60) -> go.Figure:
    """One histogram per layer of its weights, Dense or Conv2D (counted here; only bars are sent)."""
    count = len(weights)
    names = list(names) if names is not None else [f"Dense {i + 1}" for i in range(count)]
    fig = make_subplots(rows=1, cols=max(count, 1), subplot_titles=names[:count] or None,
                        horizontal_spacing=0.04)
    for index, matrix in enumerate(weights):
        values = np.asarray(matrix, dtype=np.float64).ravel()
        values = values[np.isfinite(values)]
        counts, edges = np.histogram(values, bins=bins)
        fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges),
                             marker_color=RUN_COLORS[index % len(RUN_COLORS)], showlegend=False,
                             hovertemplate="weight %{x:.3f}: %{y}<extra></extra>"), row=1, col=index + 1)
    fig.update_layout(height=280, bargap=0, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def confusion_difference_heatmap(difference: np.ndarray, class_names: Sequence[str], first_name: str,
                                 second_name: str) -> go.Figure:
    """The difference of two runs' confusion matrices (``first - second``, rows = true class)
    on a diverging scale centred on 0: blue where the first run put more images in a cell,
    red where the second did; counts written in."""
    difference = np.asarray(difference, dtype=np.int64)
    labels = [str(name) for name in class_names]
    reach = max(int(np.abs(difference).max()), 1)
    fig = go.Figure(go.Heatmap(
        z=difference.tolist(), x=labels, y=labels, text=difference.tolist(), texttemplate="%{text}",
        colorscale="RdBu", zmid=0, zmin=-reach, zmax=reach, colorbar=dict(title=dict(text="A − B")),
        hovertemplate=f"true %{{y}}, predicted %{{x}}: {first_name} minus {second_name} = %{{z}}<extra></extra>"))
    fig.update_xaxes(title_text="predicted", side="top", type="category")
    fig.update_yaxes(title_text="true", autorange="reversed", type="category", scaleanchor="x")
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=60, b=10),
                      title=dict(text=f"A = {first_name}  −  B = {second_name}", font=dict(size=13)))
    return fig
