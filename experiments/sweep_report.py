"""What a sweep has done, read from the store: trials, snapshots, summaries, importances.

A page draws a :class:`SweepSnapshot` (trials with their parameters, status and validation
accuracy, the best so far); the command line prints a :class:`SweepSummary`;
:func:`parameter_importances` says which hyperparameters mattered. Every function here
reads the store only, so it serves a sweep running in this process, in another, or long done.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from .records import COMPLETED, DIVERGED, FAILED, INTERRUPTED, PRUNED, RUNNING, STOPPED, RunRecord
from .space import SearchSpace
from .store import RunStore

MIN_TRIALS_FOR_IMPORTANCE = 3
FINISHED_TRIAL_STATUSES = (COMPLETED, PRUNED, FAILED, DIVERGED)  # these count against the budget


@dataclass(frozen=True)
class TrialInfo:
    """One trial as a page shows it. ``status``: queued, running, completed, pruned, failed,
    diverged, stopped or interrupted; ``val_accuracies``: one per finished epoch."""

    number: int
    run_id: str
    params: dict[str, Any]
    status: str
    val_accuracy: float | None
    val_accuracies: list[float]
    epochs_completed: int
    message: str = ""


@dataclass(frozen=True)
class SweepSnapshot:
    """A consistent copy of a sweep for a page: its trials in order, the best, and the budget.

    ``best_so_far[i]`` is the best validation accuracy among the first ``i + 1`` trials
    that finished (in the order they finished); ``counts`` maps statuses to trial counts.
    """

    sweep_id: str
    name: str
    method: str
    status: str
    message: str
    trials: list[TrialInfo]
    best: TrialInfo | None
    best_so_far: list[float]
    budget: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    finish_order: list[str] = field(default_factory=list)   # run ids, in the order best_so_far counts them

    @property
    def finished(self) -> bool:
        return self.status != RUNNING


@dataclass(frozen=True)
class SweepSummary:
    """How a sweep ended: the command line's ``--json`` keys (see :meth:`as_json`)."""

    sweep_id: str
    status: str
    trials_completed: int
    trials_pruned: int
    trials_failed: int
    best_val_accuracy: float | None
    best_params: dict[str, Any] | None
    best_run_id: str | None
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"sweep_id": self.sweep_id, "trials_completed": self.trials_completed,
                "trials_pruned": self.trials_pruned, "trials_failed": self.trials_failed,
                "best_val_accuracy": self.best_val_accuracy, "best_params": self.best_params,
                "seconds": self.seconds, "status": self.status, "best_run_id": self.best_run_id}


def trial_info(run: RunRecord) -> TrialInfo:
    history = run.history.get("val_accuracy", []) if run.history else []
    return TrialInfo(number=run.trial_number if run.trial_number is not None else -1, run_id=run.id,
                     params=dict(run.params or {}), status=run.status, val_accuracy=run.val_accuracy,
                     val_accuracies=[value for value in history if value is not None],
                     epochs_completed=run.epochs_completed, message=run.message)


def sweep_snapshot(store: RunStore, sweep_id: str, *, status: str | None = None, message: str | None = None,
                   finish_order: list[str] | None = None, seconds: float | None = None,
                   budget: int | None = None) -> SweepSnapshot:
    """A :class:`SweepSnapshot` of a stored sweep (running here, elsewhere, or long done)."""
    record = store.get_sweep(sweep_id)
    runs = store.list_runs(sweep_id=sweep_id, sort_by="created_at", descending=False)
    trials = sorted((trial_info(run) for run in runs), key=lambda trial: (trial.number, trial.run_id))
    by_id = {trial.run_id: trial for trial in trials}
    if finish_order is None:
        finished = [run for run in runs if run.status in FINISHED_TRIAL_STATUSES]
        finish_order = [run.id for run in sorted(finished, key=lambda run: run.finished_at or 0.0)]
    best_so_far, best = [], None
    for run_id in finish_order:
        trial = by_id.get(run_id)
        counts_as_best = trial is not None and trial.status == COMPLETED and trial.val_accuracy is not None
        if counts_as_best and (best is None or trial.val_accuracy > best.val_accuracy):
            best = trial
        best_so_far.append(best.val_accuracy if best is not None else math.nan)
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.status] = counts.get(trial.status, 0) + 1
    settings = record.settings
    return SweepSnapshot(
        sweep_id=sweep_id, name=record.name, method=record.method, status=status or record.status,
        message=message if message is not None else record.message, trials=trials, best=best,
        best_so_far=best_so_far, budget=budget if budget is not None else int(settings.get("trials", 0)),
        seconds=seconds if seconds is not None else (record.finished_at or time.time()) - record.created_at,
        counts=counts, finish_order=list(finish_order))


def sweep_summary(store: RunStore, sweep_id: str, status: str, seconds: float) -> SweepSummary:
    runs = store.list_runs(sweep_id=sweep_id)
    completed = [run for run in runs if run.status == COMPLETED and run.val_accuracy is not None]
    best = max(completed, key=lambda run: run.val_accuracy, default=None)
    return SweepSummary(
        sweep_id=sweep_id, status=status, trials_completed=len(completed),
        trials_pruned=sum(run.status == PRUNED for run in runs),
        trials_failed=sum(run.status in (FAILED, DIVERGED) for run in runs),
        best_val_accuracy=best.val_accuracy if best else None, best_params=dict(best.params or {}) if best else None,
        best_run_id=best.id if best else None, seconds=round(seconds, 3))


def frozen_trial(run: RunRecord, space: SearchSpace) -> Any:
    """The Optuna trial a stored, finished sweep run stands for (for ``study.add_trial``)."""
    import optuna
    from optuna.trial import TrialState

    distributions = space.distributions()
    params = {name: value for name, value in (run.params or {}).items() if name in distributions}
    history = [value for value in (run.history or {}).get("val_accuracy", [])]
    intermediate = {epoch: value for epoch, value in enumerate(history, start=1)
                    if value is not None and math.isfinite(value)}
    if run.status == COMPLETED and run.val_accuracy is not None:
        return optuna.trial.create_trial(params=params, distributions=distributions, value=run.val_accuracy,
                                         intermediate_values=intermediate)
    state = TrialState.PRUNED if run.status == PRUNED else TrialState.FAIL
    return optuna.trial.create_trial(params=params, distributions=distributions, state=state,
                                     intermediate_values=intermediate)


@dataclass(frozen=True)
class Importances:
    """Hyperparameter importances (name -> share, summing to 1, largest first), or why there are none."""

    values: dict[str, float]
    message: str | None = None


def parameter_importances(store: RunStore, sweep_id: str) -> Importances:
    """Optuna's importances (fANOVA) of a sweep's completed trials, with a message when
    there are too few trials or nothing varied."""
    import optuna

    record = store.get_sweep(sweep_id)
    space = SearchSpace.from_dict(record.space)
    runs = [run for run in store.list_runs(sweep_id=sweep_id, status=COMPLETED) if run.val_accuracy is not None]
    if len(runs) < MIN_TRIALS_FOR_IMPORTANCE:
        return Importances({}, f"Importances need at least {MIN_TRIALS_FOR_IMPORTANCE} completed trials; "
                               f"this sweep has {len(runs)}.")
    study = optuna.create_study(direction="maximize")
    for run in runs:
        study.add_trial(frozen_trial(run, space))
    try:
        values = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as error:
        return Importances({}, f"Importances could not be computed: {error}")
    if not values:
        return Importances({}, "No searched hyperparameter varied across the completed trials.")
    return Importances({name: float(value) for name, value in values.items()})


def interrupted_sweeps(store: RunStore) -> list[str]:
    """Ids of the stored sweeps that can be resumed (interrupted or stopped), newest first."""
    return [sweep.id for sweep in store.list_sweeps() if sweep.status in (INTERRUPTED, STOPPED)]
