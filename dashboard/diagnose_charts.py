"""Figures of the diagnosing tools (range test, calibration, errors): data in, Plotly out."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go


def range_test_figure(learning_rates: Sequence[float], losses: Sequence[float], smoothed: Sequence[float],
                      suggested_lr: float | None) -> go.Figure:
    """Loss against learning rate (log axis): raw steps faint, the smoothed curve bold, the
    suggestion marked."""
    fig = go.Figure()
    fig.add_scatter(x=list(learning_rates), y=list(losses), mode="lines", name="loss of each step",
                    line={"width": 1, "color": "rgba(99,110,250,0.3)"})
    fig.add_scatter(x=list(learning_rates), y=list(smoothed), mode="lines", name="smoothed",
                    line={"width": 3, "color": "#636efa"})
    if suggested_lr is not None and len(learning_rates):
        index = int(np.argmin(np.abs(np.log(np.asarray(learning_rates)) - np.log(suggested_lr))))
        fig.add_scatter(x=[suggested_lr], y=[smoothed[index]], mode="markers+text", name="suggested",
                        marker={"size": 14, "color": "#ef553b", "symbol": "star"},
                        text=[f"{suggested_lr:.2g}"], textposition="top center")
    top = float(np.nanmax(smoothed[:max(1, len(smoothed) // 2)])) * 1.5 if len(smoothed) else None
    fig.update_xaxes(type="log", title="learning rate (log scale)")
    fig.update_yaxes(title="training loss", range=[0, top] if top else None)
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h"})
    return fig


def reliability_figure(before: dict, after: dict | None = None) -> go.Figure:
    """Reliability diagram: each confidence bin's accuracy (bars, with its count written on
    it) against the diagonal of perfect calibration; ``after`` (temperature scaled) beside."""
    fig = go.Figure()
    edges = np.asarray(before["edges"], dtype=np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    width = float(edges[1] - edges[0])
    series = [("before", before, "#ef553b")] + ([("after temperature scaling", after, "#00cc96")] if after else [])
    for index, (name, bins, colour) in enumerate(series):
        offset = (index - (len(series) - 1) / 2) * width / len(series)
        accuracy = [np.nan if value is None else value for value in bins["accuracy"]]
        fig.add_bar(x=centres + offset, y=accuracy, width=width / len(series) * 0.95, name=f"accuracy ({name})",
                    marker_color=colour, text=[str(count) if count else "" for count in bins["counts"]],
                    textposition="outside", customdata=bins["counts"],
                    hovertemplate="confidence %{x:.2f}: accuracy %{y:.3f}, %{customdata} images<extra></extra>")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                    line={"dash": "dash", "color": "grey"})
    fig.update_xaxes(title="confidence (top probability)", range=[0, 1.02])
    fig.update_yaxes(title="accuracy in the bin", range=[0, 1.1])
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h"},
                      barmode="overlay")
    return fig


def true_class_over_epochs(probabilities: Sequence[float], true_class: str) -> go.Figure:
    """One image's probability of its true class after each epoch of the run."""
    epochs = list(range(1, len(probabilities) + 1))
    fig = go.Figure(go.Scatter(x=epochs, y=list(probabilities), mode="lines+markers", name=f"p({true_class})"))
    fig.update_xaxes(title="epoch", dtick=1 if len(epochs) <= 20 else None)
    fig.update_yaxes(title=f"probability of the true class ({true_class})", range=[0, 1.02])
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig
