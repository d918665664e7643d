"""Figures of the diagnosing tools (range test, calibration, errors): data in, Plotly out."""
from __future__ import annotations

from typing import Sequence

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
