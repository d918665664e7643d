"""Figures and table rows of the Sweep page: sweep data in, Plotly figure or rows out.

No Streamlit here, so each builder is testable alone. The parallel-coordinates plot draws
one line per trial that has a validation accuracy or has diverged or failed, across one
axis per searched hyperparameter and a last axis for the accuracy, coloured by it:
log-scale ranges are drawn as log10 with the real values as tick labels, choices as evenly
spaced ticks. A trial that diverged or failed has no accuracy; its line ends in grey at a
labelled place below 0 (``NO_ACCURACY``), so the plot shows where training breaks.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.colors
import plotly.graph_objects as go

from experiments.space import Param, SearchSpace
from experiments.sweep_report import SweepSnapshot, TrialInfo

ACCURACY_LABEL = "val accuracy"
NO_ACCURACY = -0.1                 # where a diverged or failed trial's line ends on the accuracy axis
NO_ACCURACY_LABEL = "diverged / failed"
NO_ACCURACY_COLOR = "#adb5bd"
BROKEN_STATUSES = ("diverged", "failed")
TRIAL_COLOR, BEST_COLOR = "rgba(76,110,245,0.55)", "#2B8A3E"


def has_accuracy(trial: TrialInfo) -> bool:
    """Whether the trial has a finite validation accuracy."""
    return trial.val_accuracy is not None and math.isfinite(trial.val_accuracy)


def is_drawn(trial: TrialInfo) -> bool:
    """Whether the trial has a line in the parallel coordinates: it has an accuracy, or it broke."""
    return has_accuracy(trial) or trial.status in BROKEN_STATUSES


def accuracy_position(trial: TrialInfo) -> float:
    """Where a drawn trial's line meets the accuracy axis: its accuracy, or ``NO_ACCURACY``."""
    return float(trial.val_accuracy) if has_accuracy(trial) else NO_ACCURACY


def accuracy_colorscale() -> list[list[Any]]:
    """Viridis over accuracies 0-1, grey below 0 (the trials without an accuracy)."""
    viridis = plotly.colors.sequential.Viridis
    zero = -NO_ACCURACY / (1 - NO_ACCURACY)    # where accuracy 0 sits on the colour scale (cmin = NO_ACCURACY)
    scale = [[0.0, NO_ACCURACY_COLOR], [zero * 0.999, NO_ACCURACY_COLOR]]
    scale += [[zero + (1 - zero) * index / (len(viridis) - 1), color] for index, color in enumerate(viridis)]
    return scale


def _decade_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Tick positions (log10) and labels (the real values) for a log axis from low to high."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    positions = [float(power) for power in range(first, last + 1)
                 if math.log10(low) - 1e-9 <= power <= math.log10(high) + 1e-9]
    ends = [math.log10(low), math.log10(high)]
    positions = sorted(set(positions) | {round(end, 9) for end in ends})
    return positions, [f"{10 ** position:.3g}" for position in positions]


def dimension(name: str, param: Param, values: Sequence[Any]) -> dict[str, Any]:
    """One parcoords axis for searched hyperparameter ``name`` and the trials' ``values``."""
    if param.kind == "choice":
        labels = [str(choice) for choice in param.choices]
        codes = [param.choices.index(value) if value in param.choices else labels.index(str(value))
                 for value in values]
        top = max(len(labels) - 1, 1)
        return dict(label=name, values=codes, tickvals=list(range(len(labels))), ticktext=labels,
                    range=[0, top])
    if param.log:
        tickvals, ticktext = _decade_ticks(param.low, param.high)
        return dict(label=f"{name} (log10)", values=[math.log10(value) for value in values],
                    tickvals=tickvals, ticktext=ticktext, range=[math.log10(param.low), math.log10(param.high)])
    high = param.high if param.high > param.low else param.low + 1
    return dict(label=name, values=[float(value) for value in values], range=[param.low, high])


def parallel_coordinates(trials: Sequence[TrialInfo], space: SearchSpace, uirevision: str = "sweep") -> go.Figure:
    """The trials with a validation accuracy as lines across the searched hyperparameters.

    ``uirevision`` keeps the user's brushed ranges while the plot is redrawn every poll.
    """
    drawn = [trial for trial in trials if is_drawn(trial) and all(name in trial.params for name in space.params)]
    accuracies = [accuracy_position(trial) for trial in drawn]
    dimensions = [dimension(name, param, [trial.params[name] for trial in drawn])
                  for name, param in space.params.items()]
    ticks = [NO_ACCURACY, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    dimensions.append(dict(label=ACCURACY_LABEL, values=accuracies, range=[NO_ACCURACY, 1.0], tickvals=ticks,
                           ticktext=[NO_ACCURACY_LABEL] + [f"{tick:g}" for tick in ticks[1:]]))
    figure = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line=dict(color=accuracies, colorscale=accuracy_colorscale(), cmin=NO_ACCURACY, cmax=1.0, showscale=True,
                  colorbar=dict(title=dict(text=ACCURACY_LABEL), tickvals=ticks[1:])),
        labelangle=0, name="trials"))
    figure.update_layout(height=380, margin=dict(l=70, r=40, t=60, b=30), uirevision=uirevision)
    return figure


def best_so_far(snapshot: SweepSnapshot) -> go.Figure:
    """Each finished trial's validation accuracy (dots, in finishing order) and the best so far (line)."""
    by_id = {trial.run_id: trial for trial in snapshot.trials}
    dots = [(position, by_id[run_id]) for position, run_id in enumerate(snapshot.finish_order, start=1)
            if run_id in by_id]
    xs = list(range(1, len(snapshot.best_so_far) + 1))
    figure = go.Figure()
    figure.add_scatter(x=[position for position, _ in dots], y=[trial.val_accuracy for _, trial in dots],
                       mode="markers", name="trial", marker=dict(color=TRIAL_COLOR, size=8),
                       text=[f"#{trial.number} {trial.status}" for _, trial in dots])
    figure.add_scatter(x=xs, y=[None if math.isnan(value) else value for value in snapshot.best_so_far],
                       mode="lines", line=dict(color=BEST_COLOR, shape="hv", width=3), name="best so far")
    figure.update_layout(height=320, margin=dict(l=50, r=20, t=40, b=40), xaxis_title="trials finished",
                         yaxis_title=ACCURACY_LABEL, yaxis_range=[0, 1], title="Best validation accuracy so far",
                         legend=dict(orientation="h", y=-0.25), uirevision=snapshot.sweep_id)
    return figure


def importances(values: dict[str, float]) -> go.Figure:
    """Hyperparameter importances (shares summing to 1) as horizontal bars, largest on top."""
    names = list(values)[::-1]
    figure = go.Figure(go.Bar(x=[values[name] for name in names], y=names, orientation="h",
                              text=[f"{values[name]:.0%}" for name in names], textposition="auto",
                              marker_color=BEST_COLOR, name="importance"))
    figure.update_layout(height=80 + 40 * len(names), margin=dict(l=120, r=20, t=40, b=40),
                         xaxis=dict(title="share of the accuracy's variation (fANOVA)", range=[0, 1],
                                    tickformat=".0%"), title="Which hyperparameters mattered")
    return figure


def trial_rows(trials: Sequence[TrialInfo], space: SearchSpace) -> list[dict[str, Any]]:
    """One row per trial for the trials table: number, status, each searched value, accuracy."""
    rows = []
    for trial in trials:
        row: dict[str, Any] = {"trial": trial.number, "status": trial.status}
        row.update({name: trial.params.get(name) for name in space.params})
        row["val accuracy"] = trial.val_accuracy
        row["epochs"] = trial.epochs_completed
        row["message"] = trial.message
        row["run id"] = trial.run_id
        rows.append(row)
    return rows
