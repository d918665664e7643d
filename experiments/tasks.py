"""Training tasks: one network, trained by an executor, recorded in the run store as it goes.

:func:`training_task` makes the :class:`~experiments.jobs.JobTask` that every caller hands
to the :class:`~experiments.jobs.JobRegistry`: the Train page's single runs and seed-study
networks, and each sweep trial. With a store, the run is written when it starts, after every
epoch (history, thinned step loss, per-class accuracy; the worker checkpoints the model when
it shares our disk) and when it ends (status, test accuracy, timing, error, the model file).
"""
from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from typing import Any

from nnlib.builders import describe_network
from nnlib.jsonable import finite_or_none
from nnlib.training import EpochEvent, StepEvent, TrainingControl

from .executors import Executor, LocalExecutor, TrainingRequest
from .jobs import Callback, JobTask, StepLossCurve, TaskOutput, history_entry
from .store import FAILED, RUNNING, RunStore


class RunRecorder:
    """An nnlib callback that writes a run's progress to the store after every epoch."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.history: dict[str, list[float]] = {}
        self.steps = StepLossCurve()

    def __call__(self, event: Any) -> None:
        if isinstance(event, StepEvent):
            self.steps.add(event)
        elif isinstance(event, EpochEvent):
            for key, value in history_entry(event).items():
                self.history.setdefault(key, []).append(value)
            self.store.update_run(
                self.run_id, history=self.history, epochs_completed=event.epoch,
                val_accuracy=finite_or_none(event.val_accuracy), seconds=event.seconds,
                step_epochs=self.steps.epochs, step_losses=self.steps.losses,
                per_class_accuracy=list(event.per_class_val_accuracy or []))


def training_task(label: str, dataset: Any, preprocess_config: Any, train_config: Any, *,
                  executor: Executor | None = None, store: RunStore | None = None, kind: str = "single",
                  run_name: str | None = None, run_id: str | None = None, tags: Sequence[str] = (),
                  sweep_id: str | None = None, trial_number: int | None = None,
                  params: dict[str, Any] | None = None) -> JobTask:
    """A :class:`JobTask` that trains ``train_config`` on ``dataset`` with ``executor``
    (a :class:`LocalExecutor` by default) and, with a ``store``, records it as a run.

    ``run_id`` names a run already in the store (a queued sweep trial); otherwise the run is
    created when the task starts, named ``run_name`` (default: ``label``), with the time this
    task was made (when the run was asked for) as its ``created_at``: a run that waited in the
    job queue then shows the wait as ``started_at - created_at``.
    """
    executor = executor or LocalExecutor()
    requested_at = time.time()  # the task is made when the run is asked for (a press of Start)

    def run(callback: Callback, control: TrainingControl) -> TaskOutput:
        recorded_id = _start_run(store, run_id, run_name or label, kind, dataset, preprocess_config,
                                 train_config, tags, sweep_id, trial_number, params, requested_at)
        listeners: list[Callback] = [callback] if store is None else [callback, RunRecorder(store, recorded_id)]
        checkpoint = store.model_path(recorded_id) if store is not None and executor.shares_disk else None
        request = TrainingRequest(dataset, preprocess_config, train_config, checkpoint)

        def notify(event: Any) -> None:
            for listen in listeners:
                listen(event)

        try:
            trained = executor.train(request, notify, control)
        except BaseException as error:
            if store is not None:
                store.update_run(recorded_id, status=FAILED, message=f"{type(error).__name__}: {error}",
                                 error="".join(traceback.format_exception(error)))
            raise
        output = TaskOutput(label=label, model=trained["model"], result=trained["result"],
                            train_config=train_config, preprocess_config=preprocess_config,
                            scaler=trained["scaler"], dataset_name=getattr(dataset, "name", ""),
                            class_names=trained["class_names"], extras=trained["extras"], run_id=recorded_id)
        if store is not None:
            _finish_run(store, recorded_id, output)
        return output

    return JobTask(label=label, epochs=train_config.epochs, run=run, train_config=train_config)


def _start_run(store: RunStore | None, run_id: str | None, name: str, kind: str, dataset: Any,
               preprocess_config: Any, train_config: Any, tags: Sequence[str], sweep_id: str | None,
               trial_number: int | None, params: dict[str, Any] | None, requested_at: float) -> str | None:
    if store is None:
        return None
    if run_id is not None:
        store.update_run(run_id, status=RUNNING)
        return run_id
    n_classes = len(getattr(dataset, "class_names", ())) or 10
    input_size = int(dataset.x_train[0].size) if len(dataset.x_train) else 784
    return store.create_run(
        name, kind, dataset=getattr(dataset, "name", ""),
        architecture=describe_network(train_config, input_size, n_classes),
        train_config=train_config.to_dict(), preprocess_config=preprocess_config.to_dict(), tags=tags,
        sweep_id=sweep_id, trial_number=trial_number, params=params, requested_at=requested_at).id


def _finish_run(store: RunStore, run_id: str, output: TaskOutput) -> None:
    """The final figures and the model file of a task that ended (completed, stopped, diverged)."""
    result = output.result
    store.save_model(run_id, output.model)
    if output.extras:
        store.save_outputs(run_id, output.extras)
    store.update_run(
        run_id, status=result.status, message=result.message, history=result.history,
        epochs_completed=result.epochs_completed, val_accuracy=finite_or_none(result.last("val_accuracy")),
        test_accuracy=result.test_accuracy, seconds=result.seconds,
        per_class_accuracy=(result.per_class_val_accuracy[-1] if result.per_class_val_accuracy else []))



def train_tasks(dataset: Any, preprocess_config: Any, configs: list[tuple[str, Any]], *,
                executor: Executor | None = None, store: RunStore | None = None,
                kind: str | None = None) -> list[JobTask]:
    """One :class:`JobTask` per ``(label, TrainConfig)``: the Train page's single run or
    seed study (``kind`` defaults to ``"single"`` for one config, ``"seed-study"`` for more)."""
    kind = kind or ("single" if len(configs) == 1 else "seed-study")
    return [training_task(label, dataset, preprocess_config, config, executor=executor, store=store, kind=kind)
            for label, config in configs]
