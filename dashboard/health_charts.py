"""The Train page's layer-health charts: gradient size and dead units per layer over epochs.

Pure figure builders (events in, Plotly figure out): the numbers are measured in the
training process by :mod:`nnlib.layer_health` and arrive as one ``HealthEvent`` per epoch.
Small charts, redrawn on every poll while a job trains; ``uirevision`` keeps the user's zoom.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import plotly.graph_objects as go

from nnlib.layer_health import HealthEvent

from .train_charts import RUN_COLORS

HEALTH_CHART_HEIGHT = 260
SMALLEST_DRAWN_NORM = 1e-30   # a zero gradient on a log axis: drawn at the bottom, not dropped


def _series(events: Sequence[HealthEvent], names_of: Callable[[HealthEvent], Sequence[str]],
            values_of: Callable[[HealthEvent], Sequence[float]]) -> dict[str, tuple[list[float], list[float]]]:
    """Per layer name, its (epochs, values) in the events' order (a layer missing in an epoch is skipped)."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for event in events:
        for name, value in zip(names_of(event), values_of(event), strict=True):
            epochs, values = series.setdefault(name, ([], []))
            epochs.append(float(event.epoch))
            values.append(float(value))
    return series


def _layout(title: str, y_title: str, uirevision: str, **yaxis) -> dict:
    return dict(title=dict(text=title, font=dict(size=14)), uirevision=uirevision, height=HEALTH_CHART_HEIGHT,
                margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.3),
                xaxis=dict(title=dict(text="epoch")),
                yaxis=dict(title=dict(text=y_title), **yaxis))


def gradient_norm_curves(events: Sequence[HealthEvent], uirevision: str = "health") -> go.Figure:
    """``||dL/dW||`` of each weighted layer against epochs, on a log axis (vanishing or
    exploding gradients show as lines falling or climbing by orders of magnitude)."""
    series = _series(events, lambda e: e.health.gradient_layers, lambda e: e.health.gradient_norms)
    data = [dict(type="scatter", x=epochs, y=[max(v, SMALLEST_DRAWN_NORM) if math.isfinite(v) else None for v in values], name=name,
                 mode="lines+markers", marker=dict(size=5), line=dict(color=RUN_COLORS[i % len(RUN_COLORS)]),
                 hovertemplate=f"{name}<br>epoch %{{x}}<br>||dW|| %{{y:.3g}}<extra></extra>")
            for i, (name, (epochs, values)) in enumerate(series.items())]
    return go.Figure(data=data, layout=_layout("Gradient size per layer", "||dL/dW||", uirevision, type="log"))


def dead_unit_curves(events: Sequence[HealthEvent], uirevision: str = "health") -> go.Figure:
    """How many units of each hidden layer no image of the sample switched on, against epochs."""
    series = _series(events, lambda e: e.health.hidden_stages, lambda e: e.health.dead_units)
    units = {name: count for event in events
             for name, count in zip(event.health.hidden_stages, event.health.unit_counts, strict=True)}
    data = [dict(type="scatter", x=epochs, y=values, name=f"{name} ({units[name]} units)",
                 mode="lines+markers", marker=dict(size=5), line=dict(color=RUN_COLORS[i % len(RUN_COLORS)]),
                 hovertemplate=f"{name}<br>epoch %{{x}}<br>%{{y}} of {units[name]} units dead<extra></extra>")
            for i, (name, (epochs, values)) in enumerate(series.items())]
    return go.Figure(data=data, layout=_layout("Dead units per layer", "dead units", uirevision,
                                               rangemode="tozero"))
