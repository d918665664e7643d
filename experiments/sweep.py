"""Hyperparameter sweeps: Optuna proposes trials, the executor trains them, the store keeps them.

One coordinating loop per sweep uses Optuna's ask-and-tell interface on an in-memory study:
it *asks* for a trial (grid, random or TPE sampler), starts it as a job in the server's
:class:`~experiments.jobs.JobRegistry` (so sweep trials share the one fair cap with everyone
else's training), feeds each finished epoch's validation accuracy to the pruner (median or
successive halving) and stops a trial the pruner gives up on (recorded ``pruned``), and
*tells* Optuna how each trial ended. A trial that crashes or diverges is recorded with its
message and counted as failed; the sweep goes on.

The store is the sweep's memory: every trial is a run tagged with the sweep (``sweep_id``,
its ``params`` and ``trial_number``), and the sweep's record holds its space, settings,
status and best run. So a sweep cut short (stopped, or its process killed) is resumed by
rebuilding the study from the store's finished trials (``optuna.trial.create_trial`` +
``study.add_trial``) and running the rest of the budget.

:class:`Sweep` runs it (``run()`` blocks; ``start()`` runs it in a thread for a page);
:meth:`Sweep.snapshot` is what a page draws; :func:`parameter_importances` explains it after
(both from :mod:`experiments.sweep_report`, re-exported here).
"""
from __future__ import annotations

import contextlib
import itertools
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from nnlib.preprocessing import PreprocessConfig

from .executors import Executor, LocalExecutor
from .jobs import COMPLETED, DIVERGED, FAILED, STOPPED, JobRegistry, TrainingJob
from .space import PRESETS, SearchSpace
from .store import PRUNED, QUEUED, RUNNING, RunRecord, RunStore
from .sweep_report import (
    FINISHED_TRIAL_STATUSES,
    Importances,
    SweepSnapshot,
    SweepSummary,
    TrialInfo,
    frozen_trial,
    interrupted_sweeps,
    parameter_importances,
    sweep_snapshot,
    sweep_summary,
    trial_info,
)
from .tasks import training_task

__all__ = ["METHODS", "PRUNERS", "Importances", "Sweep", "SweepSettings", "SweepSnapshot", "SweepSummary",
           "TrialInfo", "grid_order", "interrupted_sweeps", "parameter_importances", "sweep_snapshot",
           "sweep_summary", "trial_info"]

METHODS = ("grid", "random", "tpe")
PRUNERS = ("none", "median", "halving")
POLL_SECONDS = 0.05
TRIAL_TAG_PREFIX = "sweep:"


@dataclass(frozen=True)
class SweepSettings:
    """How a sweep searches: method, budgets, trials at once, pruning, and the data it trains on.

    ``trials``: the trial budget (a grid stops earlier when it has fewer points);
    ``seconds``: the time budget (None: none), counted from each start or resume;
    ``parallel``: trials in flight at once (the registry's cap may still queue them);
    ``epochs``/``train_size``/``val_fraction``: every trial's training length and data.
    """

    name: str = "sweep"
    method: str = "tpe"
    trials: int = 16
    seconds: float | None = None
    parallel: int = 2
    pruner: str = "median"
    seed: int = 0
    epochs: int = 2
    train_size: int | None = 10_000
    val_fraction: float = 0.2
    dataset: str = "mnist"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.pruner not in PRUNERS:
            raise ValueError(f"pruner must be one of {PRUNERS}, got {self.pruner!r}")
        if not isinstance(self.trials, int) or self.trials < 1:
            raise ValueError(f"the trial budget must be at least 1 trial, got {self.trials!r}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"the time budget must be more than 0 seconds (or none), got {self.seconds!r}")
        if not isinstance(self.parallel, int) or self.parallel < 1:
            raise ValueError(f"parallel must be at least 1 trial at once, got {self.parallel!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        PreprocessConfig(train_size=self.train_size, val_fraction=self.val_fraction, seed=self.seed)

    def preprocess_config(self) -> PreprocessConfig:
        return PreprocessConfig(train_size=self.train_size, val_fraction=self.val_fraction, seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepSettings:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown sweep setting(s) {sorted(unknown)}; expected some of {sorted(known)}")
        return cls(**data)


@dataclass
class _Trial:
    trial: Any               # optuna.trial.Trial
    run_id: str
    params: dict[str, Any]
    job: TrainingJob
    reported: int = 0        # epochs already reported to the pruner
    pruned: bool = False


class Sweep:
    """A sweep over ``space`` with ``settings``, recorded in ``store``.

    ``dataset`` defaults to ``settings.dataset`` loaded by nnlib; ``executor`` to a
    :class:`LocalExecutor`; ``registry`` to a new one with ``settings.parallel`` slots (the
    app passes its server-wide registry). Use :meth:`resume` to continue a stored sweep.
    """

    def __init__(self, store: RunStore, space: SearchSpace, settings: SweepSettings, *,
                 dataset: Any = None, executor: Executor | None = None, registry: JobRegistry | None = None,
                 sweep_id: str | None = None) -> None:
        self.store, self.space, self.settings = store, space, settings
        self.executor = executor if executor is not None else LocalExecutor()
        self.registry = registry if registry is not None else JobRegistry(max_running=settings.parallel)
        self.dataset = dataset if dataset is not None else _load_dataset(settings.dataset)
        if sweep_id is None:
            record = store.create_sweep(settings.name, settings.method, space.to_dict(), settings.to_dict())
            sweep_id = record.id
        else:
            store.update_sweep(sweep_id, status=RUNNING, message="Resumed.")
        self.id = sweep_id
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status, self._message = RUNNING, "Starting."
        self._started = time.monotonic()
        self._finish_order: list[str] = []      # run ids in the order their trials finished
        self._study = self._make_study()
        self._previous = self._add_finished_trials()
        if settings.method == "grid":
            self._enqueue_grid()

    # ------------------------------------------------------------------ construction
    @classmethod
    def resume(cls, store: RunStore, sweep_id: str, *, dataset: Any = None, executor: Executor | None = None,
               registry: JobRegistry | None = None, parallel: int | None = None) -> Sweep:
        """The stored sweep ``sweep_id``, ready to :meth:`run` the rest of its budget."""
        record = store.get_sweep(sweep_id)
        if record.status == RUNNING:
            raise ValueError(f"sweep {sweep_id} is still running in another process (started "
                             f"{time.ctime(record.created_at)}); stop it first")
        settings = SweepSettings.from_dict(record.settings)
        if parallel is not None:
            settings = SweepSettings.from_dict({**settings.to_dict(), "parallel": parallel})
        return cls(store, SearchSpace.from_dict(record.space), settings, dataset=dataset, executor=executor,
                   registry=registry, sweep_id=sweep_id)

    @classmethod
    def preset(cls, name: str, store: RunStore, settings: SweepSettings | None = None, **kwargs: Any) -> Sweep:
        """A sweep of one of ``PRESETS`` (``"lr-width"``): the space is the preset's."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
        settings = settings or SweepSettings(name=name, method="grid")
        return cls(store, PRESETS[name], settings, **kwargs)

    def _make_study(self) -> Any:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        method, seed = self.settings.method, self.settings.seed
        if method in ("grid", "random"):  # a grid's points are enqueued (see _enqueue_grid)
            sampler: optuna.samplers.BaseSampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(5, self.settings.trials))
        pruner = {"none": optuna.pruners.NopPruner(),
                  "median": optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
                  "halving": optuna.pruners.SuccessiveHalvingPruner()}[self.settings.pruner]
        return optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)

    def _add_finished_trials(self) -> int:
        """Put the store's finished trials of this sweep into the study; how many there were."""
        runs = self.store.list_runs(sweep_id=self.id, sort_by="created_at", descending=False)
        finished = [run for run in runs if run.status in FINISHED_TRIAL_STATUSES and run.params is not None]
        for run in finished:
            self._study.add_trial(frozen_trial(run, self.space))
            self._finish_order.append(run.id)
        return len(finished)

    def _enqueue_grid(self) -> None:
        """Queue every grid point not yet tried, in :func:`grid_order`.

        Optuna's ``enqueue_trial`` makes the next ``ask`` return exactly these parameters,
        so a resumed grid sweep tries only the points its finished trials have not covered.
        """
        done = [run.params for run in self.store.list_runs(sweep_id=self.id)
                if run.status in FINISHED_TRIAL_STATUSES and run.params is not None]
        for point in grid_order(self.space, self.settings.seed):
            if not any(_same_point(point, params) for params in done):
                self._study.enqueue_trial(point)

    # ------------------------------------------------------------------ running
    @property
    def budget(self) -> int:
        grid = self.space.grid_size() if self.settings.method == "grid" else math.inf
        return int(min(self.settings.trials, grid))

    def run(self, on_progress: Callable[[SweepSnapshot], None] | None = None) -> SweepSummary:
        """Run the rest of the budget; blocks. ``on_progress`` gets a snapshot after each change."""
        self._started = time.monotonic()
        deadline = self._started + self.settings.seconds if self.settings.seconds else math.inf
        in_flight: dict[str, _Trial] = {}
        started = self._previous
        end_message = ""
        try:
            while True:
                changed = self._follow(in_flight)
                out_of_time = time.monotonic() > deadline
                if (self._stop.is_set() or out_of_time) and in_flight:
                    for trial in in_flight.values():
                        trial.job.stop()
                while (not self._stop.is_set() and not out_of_time and len(in_flight) < self.settings.parallel
                       and started < self.budget):
                    trial = self._launch()
                    in_flight[trial.run_id] = trial
                    started += 1
                    changed = True
                if changed and on_progress is not None:
                    on_progress(self.snapshot())
                if not in_flight:
                    break
                time.sleep(POLL_SECONDS)
            if self._stop.is_set():
                status, end_message = STOPPED, "Stopped; resume it to finish the budget."
            elif started < self.budget:
                status, end_message = STOPPED, f"The time budget of {self.settings.seconds:g} s ran out."
            else:
                status = COMPLETED
        except BaseException as error:
            for trial in in_flight.values():
                trial.job.stop()
            self._set_status(FAILED, f"{type(error).__name__}: {error}")
            raise
        summary = self.summary(status)
        done = summary.trials_completed + summary.trials_pruned + summary.trials_failed
        self._set_status(status, end_message or f"Finished {done} trial(s).")
        if on_progress is not None:
            on_progress(self.snapshot())
        return self.summary(status)

    def start(self, on_progress: Callable[[SweepSnapshot], None] | None = None) -> threading.Thread:
        """Run the sweep in a daemon thread (for a page); :meth:`snapshot` follows it."""
        thread = threading.Thread(target=self._run_quietly, args=(on_progress,), name=f"sweep-{self.id}",
                                  daemon=True)
        self._thread = thread
        thread.start()
        return thread

    def _run_quietly(self, on_progress: Callable[[SweepSnapshot], None] | None) -> None:
        with contextlib.suppress(Exception):  # recorded as the sweep's status and message
            self.run(on_progress)

    def stop(self) -> None:
        """Stop the running trials and start no more (recorded ``stopped``; resumable)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _launch(self) -> _Trial:
        """Ask Optuna for a trial, record it as a queued run, start it as a job."""
        trial = self._study.ask(self.space.distributions())
        params = dict(trial.params)
        config = self.space.train_config(params, epochs=self.settings.epochs, seed=self.settings.seed)
        name = f"{self.settings.name} #{trial.number}: " + ", ".join(f"{k}={_short(v)}" for k, v in params.items())
        run = self.store.create_run(
            name, "sweep-trial", status=QUEUED, dataset=getattr(self.dataset, "name", ""),
            architecture=_architecture(config, self.dataset), train_config=config.to_dict(),
            preprocess_config=self.settings.preprocess_config().to_dict(), params=params,
            sweep_id=self.id, trial_number=trial.number, tags=[TRIAL_TAG_PREFIX + self.id])
        task = training_task(name, self.dataset, self.settings.preprocess_config(), config,
                             executor=self.executor, store=self.store, kind="sweep-trial", run_id=run.id)
        job, _ = self.registry.start(f"sweep:{self.id}:{run.id}", [task], description=name)
        return _Trial(trial, run.id, params, job)

    def _follow(self, in_flight: dict[str, _Trial]) -> bool:
        """Report new epochs to the pruner, stop pruned trials, tell Optuna of finished ones."""
        from optuna.trial import TrialState

        changed = False
        for run_id, trial in list(in_flight.items()):
            snap = trial.job.snapshot()
            accuracies = snap.history.get("val_accuracy", [])
            while trial.reported < len(accuracies) and not trial.pruned:
                value = accuracies[trial.reported]
                trial.reported += 1
                changed = True
                if math.isfinite(value):
                    trial.trial.report(value, trial.reported)
                    if trial.reported < self.settings.epochs and trial.trial.should_prune():
                        trial.pruned = True
                        trial.job.stop()
            if not snap.finished:
                continue
            changed = True
            del in_flight[run_id]
            record = self.store.get_run(run_id)
            if trial.pruned and snap.status == STOPPED:
                self.store.update_run(run_id, status=PRUNED,
                                      message=f"Pruned after epoch {record.epochs_completed}: clearly worse "
                                      "than the other trials at the same epoch.")
                self._study.tell(trial.trial, state=TrialState.PRUNED)
            elif snap.status == COMPLETED and record.val_accuracy is not None:
                self._study.tell(trial.trial, record.val_accuracy)
                self._note_best(record)
            elif snap.status in (FAILED, DIVERGED):
                if snap.status == DIVERGED:
                    self.store.update_run(run_id, message=f"Diverged: {snap.message}")
                self._study.tell(trial.trial, state=TrialState.FAIL)
            else:  # stopped by the user or the time budget: does not count, a resume runs it again
                if record.status == QUEUED:  # stopped while waiting for a training slot
                    self.store.update_run(run_id, status=STOPPED, message="Stopped before it started.")
                self._study.tell(trial.trial, state=TrialState.FAIL)
                continue
            with self._lock:
                self._finish_order.append(run_id)
        return changed

    def _note_best(self, record: RunRecord) -> None:
        sweep = self.store.get_sweep(self.id)
        if sweep.best_val_accuracy is None or record.val_accuracy > sweep.best_val_accuracy:
            self.store.update_sweep(self.id, best_run_id=record.id, best_val_accuracy=record.val_accuracy)

    def _set_status(self, status: str, message: str) -> None:
        with self._lock:
            self._status, self._message = status, message
        self.store.update_sweep(self.id, status=status, message=message)

    # ------------------------------------------------------------------ reading
    def snapshot(self) -> SweepSnapshot:
        """The sweep as the store has it now, plus this process's status and timing."""
        with self._lock:
            status, message, order = self._status, self._message, list(self._finish_order)
        return sweep_snapshot(self.store, self.id, status=status, message=message, finish_order=order,
                              seconds=time.monotonic() - self._started, budget=self.budget)

    def summary(self, status: str | None = None) -> SweepSummary:
        return sweep_summary(self.store, self.id, status or self._status, time.monotonic() - self._started)


def grid_order(space: SearchSpace, seed: int) -> list[dict[str, Any]]:
    """The points of ``space``'s grid in the order a grid sweep tries them: shuffled by
    ``seed``, so a sweep cut short early has still seen the whole range."""
    grid = space.grid()
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    random.Random(seed).shuffle(points)
    return points


# ---------------------------------------------------------------------- reading a stored sweep
def _same_point(point: dict[str, Any], params: dict[str, Any]) -> bool:
    return all(name in params and (params[name] == value or (isinstance(value, float) and math.isclose(
        params[name], value, rel_tol=1e-9))) for name, value in point.items())


def _load_dataset(name: str) -> Any:
    from nnlib.data import load_dataset

    return load_dataset(name)


def _architecture(config: Any, dataset: Any) -> str:
    from nnlib.builders import describe_network

    return describe_network(config, int(dataset.x_train[0].size), len(dataset.class_names))


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
