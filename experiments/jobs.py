"""Training jobs: a thread per job, a registry of jobs, one fair cap on how many train.

Every training task of the server goes through one :class:`JobRegistry`: a single run of
the Train page, each network of a seed study, each trial of a sweep. At most
``max_running`` jobs train at once; the others wait first-in first-out in status
``queued`` and know their place in the line, so two users (or two sweeps) share the cap
fairly. Each job has a daemon thread that only mutates its :class:`TrainingJob` under the
job's lock; the arithmetic happens wherever the task's executor sends it (a child process
or a Ray task, :mod:`experiments.executors`), and the thread relays its nnlib events.

A reader (a page, a sweep, the CLI) takes :meth:`TrainingJob.snapshot`, a consistent
copy, and presses Pause / Resume / Stop through the job's
:class:`nnlib.training.TrainingControl`, which reaches nnlib between steps. Jobs are keyed
by an unguessable id (a page keeps it in the session and the URL, so one session cannot
guess another's). Each owner (a browser session) holds at most one running and one queued
job. Finished jobs are evicted after ``keep_finished_seconds``; the session that started a
job keeps the job object, so its results go when the session goes.

A job runs one or more :class:`JobTask` in turn; each task leaves a :class:`TaskOutput`
(model, result, validation outputs, and the id of its run in the store when it has one).
Nothing here imports Streamlit: the app holds one registry per server process through
``st.cache_resource`` (``dashboard/jobs.py``).
"""
from __future__ import annotations

import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlib.layer_health import HealthEvent
from nnlib.training import EndEvent, EpochEvent, StepEvent, TrainingControl

from .scratch import remove_legacy_folders, remove_orphans

QUEUED, RUNNING, PAUSED = "queued", "running", "paused"
COMPLETED, STOPPED, DIVERGED, FAILED = "completed", "stopped", "diverged", "failed"
ACTIVE_STATUSES = frozenset({QUEUED, RUNNING, PAUSED})
FINISHED_STATUSES = frozenset({COMPLETED, STOPPED, DIVERGED, FAILED})

MAX_RUNNING_JOBS = 2          # jobs training at the same time on one server
KEEP_FINISHED_SECONDS = 5 * 60  # the session that started a job keeps it; the registry only briefly
MAX_FINISHED_JOBS = 64        # finished jobs kept at most, oldest evicted first
MAX_STEP_POINTS = 2_000       # step-loss points kept per task (averaged in windows beyond)
QUEUE_POLL_SECONDS = 0.2
MAX_RUNNING_PER_OWNER = 1     # one user (browser session) trains one network at a time...
MAX_QUEUED_PER_OWNER = 1      # ...and may have one more waiting in line
MAX_REMEMBERED_ENDED = 4_096  # ids of evicted jobs remembered, to tell "cleared" from "never here"
JOB_ID_BYTES = 18             # secrets.token_urlsafe: 24 characters, 144 random bits

Callback = Callable[[Any], None]


@dataclass
class TaskOutput:
    """What one finished task leaves: the trained model, nnlib's TrainResult and extras.

    ``extras`` holds arrays computed in the worker for the pages: ``val_proba``
    ``(n_val, k)`` float32, ``y_val`` ``(n_val,)`` int64 and ``val_indices`` (positions of
    the validation images in the dataset's training images). ``run_id`` is the task's run
    in the :class:`~experiments.store.RunStore` (None when it was not recorded).
    """

    label: str
    model: Any
    result: Any
    train_config: Any = None
    preprocess_config: Any = None
    scaler: Any = None
    dataset_name: str = ""
    class_names: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None


@dataclass(frozen=True)
class JobTask:
    """One network to train: ``run(callback, control) -> TaskOutput``.

    ``callback`` receives nnlib's StepEvent / EpochEvent / EndEvent; ``control`` is the
    job's :class:`nnlib.training.TrainingControl`. ``epochs`` sizes the progress bar.
    """

    label: str
    epochs: int
    run: Callable[[Callback, Any], TaskOutput]
    train_config: Any = None


class StepLossCurve:
    """The step loss, thinned: one point per ``stride`` steps (their mean), and when more
    than ``MAX_STEP_POINTS`` are kept, neighbours are averaged and the stride doubles.

    ``epochs`` holds each point's position in epochs (1.5 = half-way through epoch 2).
    """

    def __init__(self) -> None:
        self.epochs: list[float] = []
        self.losses: list[float] = []
        self._stride = 1
        self._window: list[float] = []

    def add(self, event: StepEvent) -> None:
        self._window.append(float(event.loss))
        if len(self._window) < self._stride:
            return
        self.epochs.append(event.epoch - 1 + event.step / event.steps_per_epoch)
        self.losses.append(float(np.mean(self._window)))
        self._window = []
        if len(self.losses) > MAX_STEP_POINTS:
            self.epochs = self.epochs[1::2]
            self.losses = [(a + b) / 2 for a, b in zip(self.losses[0::2], self.losses[1::2])]
            self._stride *= 2


def history_entry(event: EpochEvent) -> dict[str, float]:
    """The per-epoch figures of an EpochEvent under nnlib's TrainResult.history keys."""
    return {"epoch": float(event.epoch), "train_loss": float(event.train_loss),
            "train_accuracy": float(event.train_accuracy), "val_loss": float(event.val_loss),
            "val_accuracy": float(event.val_accuracy), "seconds": float(event.seconds)}


@dataclass(frozen=True)
class Progress:
    """Where the current task is: counts from 1, like nnlib's events."""

    task_index: int = 0          # 0-based index of the current task
    task_count: int = 1
    task_label: str = ""
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    samples_seen: int = 0
    seconds: float = 0.0
    samples_per_second: float = 0.0

    @property
    def fraction(self) -> float:
        """Share of the current task's steps done, 0-1."""
        total = self.epochs * self.steps_per_epoch
        if total <= 0:
            return 0.0
        done = (self.epoch - 1) * self.steps_per_epoch + self.step
        return min(1.0, max(0.0, done / total))

    @property
    def seconds_left(self) -> float | None:
        """Estimated seconds to the end of the current task (None before the first step)."""
        fraction = self.fraction
        if fraction <= 0 or self.seconds <= 0:
            return None
        return self.seconds * (1 - fraction) / fraction


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's state for the page to draw (lists are copies)."""

    id: str
    status: str
    message: str
    error: str | None
    progress: Progress
    history: dict[str, list[Any]]   # a float per epoch; per_class_val_accuracy: a list per epoch
    step_epochs: list[float]
    step_losses: list[float]
    outputs_count: int
    queue_position: int | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    stop_requested: bool
    health: list[HealthEvent] = field(default_factory=list)   # the current task's, one per epoch
    running_ahead: int = 0           # while queued: networks training now (anyone's)
    behind_own_run: bool = False     # while queued: waiting for its owner's running job to end

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class TrainingJob:
    """One training job: its tasks, its control events, and the state its thread writes.

    Every field the thread changes is changed under ``self._lock``; readers call
    :meth:`snapshot`. ``owner`` is the token of the browser session that started it.
    """

    def __init__(self, job_id: str, owner: str, tasks: list[JobTask], *,
                 control: Any = None, description: str = "") -> None:
        if not tasks:
            raise ValueError("a training job needs at least one task")
        if control is None:
            control = TrainingControl()
        self.id = job_id
        self.owner = owner
        self.tasks = list(tasks)
        self.control = control
        self.description = description or tasks[0].label
        self.created_at = time.time()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._status = QUEUED
        self._message = "Waiting for a free training slot."
        self._error: str | None = None
        self._progress = Progress(task_count=len(tasks), task_label=tasks[0].label, epochs=tasks[0].epochs)
        self._history: dict[str, list[Any]] = {}  # floats per epoch; per_class_val_accuracy: a list per epoch
        self._steps = StepLossCurve()
        self._outputs: list[TaskOutput] = []
        self._health: list[list[HealthEvent]] = [[] for _ in tasks]   # per task, one event per epoch
        self._queue_position: int | None = None
        self._running_ahead = 0
        self._behind_own_run = False
        self._started_at: float | None = None
        self._finished_at: float | None = None

    # ------------------------------------------------------------------ reading
    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def finished_at(self) -> float | None:
        with self._lock:
            return self._finished_at

    @property
    def outputs(self) -> list[TaskOutput]:
        """The finished tasks' outputs so far (a new list; the outputs themselves are shared)."""
        with self._lock:
            return list(self._outputs)

    @property
    def latest_model(self) -> Any:
        """The most recently trained model, or None before the first task ends."""
        with self._lock:
            return self._outputs[-1].model if self._outputs else None

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return JobSnapshot(
                id=self.id, status=self._status, message=self._message, error=self._error,
                progress=self._progress,
                history={key: list(values) for key, values in self._history.items()},
                step_epochs=list(self._steps.epochs), step_losses=list(self._steps.losses),
                outputs_count=len(self._outputs), queue_position=self._queue_position,
                created_at=self.created_at, started_at=self._started_at,
                finished_at=self._finished_at,
                stop_requested=self.control.stop.is_set(),
                health=list(self._health[self._progress.task_index]),
                running_ahead=self._running_ahead, behind_own_run=self._behind_own_run,
            )

    def health_of(self, task_index: int) -> list[HealthEvent]:
        """Task ``task_index``'s layer health so far, one :class:`HealthEvent` per epoch."""
        with self._lock:
            return list(self._health[task_index])

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never started)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # ------------------------------------------------------------------ control
    def pause(self) -> bool:
        """Pause between two steps; True if the job was running."""
        with self._lock:
            if self._status != RUNNING or self.control.stop.is_set():
                return False
            self.control.pause.set()
            self._status = PAUSED
            self._message = "Paused."
            return True

    def resume(self) -> bool:
        """Resume a paused job; True if it was paused."""
        with self._lock:
            if self._status != PAUSED:
                return False
            self.control.pause.clear()
            self._status = RUNNING
            self._message = "Training."
            return True

    def stop(self) -> bool:
        """Ask the job to stop after the current step (or before it starts); True if active."""
        with self._lock:
            if self._status not in ACTIVE_STATUSES:
                return False
            self.control.stop.set()
            self.control.pause.clear()
            if self._status == PAUSED:
                self._status = RUNNING
            self._message = ("Cancelling: leaving the line." if self._status == QUEUED
                             else "Stopping after the current step.")
            return True

    # ------------------------------------------------------------------ written by the thread
    def _set_queue_position(self, position: int | None, running: int, behind_own_run: bool,
                            max_running: int) -> None:
        with self._lock:
            if self._status != QUEUED or self.control.stop.is_set():
                return
            self._queue_position, self._running_ahead, self._behind_own_run = position, running, behind_own_run
            if position is not None:
                self._message = queue_message(position, running, behind_own_run, max_running)

    def _begin_task(self, index: int) -> None:
        task = self.tasks[index]
        with self._lock:
            if self._started_at is None:
                self._started_at = time.time()
            if self._status == QUEUED:
                self._status = PAUSED if self.control.pause.is_set() else RUNNING
            self._queue_position, self._running_ahead, self._behind_own_run = None, 0, False
            self._progress = Progress(task_index=index, task_count=len(self.tasks),
                                      task_label=task.label, epochs=task.epochs)
            self._history = {}
            self._steps = StepLossCurve()
            self._message = "Preparing the data." if index == 0 else f"Starting {task.label}."

    def _on_event(self, event: Any) -> None:
        """The nnlib callback: StepEvent, EpochEvent, HealthEvent or EndEvent (called in the worker thread)."""
        with self._lock:
            if isinstance(event, StepEvent):
                self._progress = Progress(
                    task_index=self._progress.task_index, task_count=self._progress.task_count,
                    task_label=self._progress.task_label, epoch=event.epoch,
                    epochs=self._progress.epochs, step=event.step,
                    steps_per_epoch=event.steps_per_epoch, samples_seen=event.samples_seen,
                    seconds=event.seconds, samples_per_second=event.samples_per_second)
                self._steps.add(event)
                if self._status == RUNNING and not self.control.stop.is_set():
                    self._message = "Training."
            elif isinstance(event, EpochEvent):
                for key, value in history_entry(event).items():
                    self._history.setdefault(key, []).append(value)
                if event.per_class_val_accuracy is not None:
                    self._history.setdefault("per_class_val_accuracy", []).append(
                        list(event.per_class_val_accuracy))
            elif isinstance(event, HealthEvent):
                self._health[self._progress.task_index].append(event)
            elif isinstance(event, EndEvent):
                self._message = event.message

    def _add_output(self, output: TaskOutput) -> None:
        with self._lock:
            self._outputs.append(output)

    def _finish(self, status: str, message: str, error: str | None = None) -> None:
        with self._lock:
            self._status = status
            self._message = message
            self._error = error
            self._queue_position, self._running_ahead, self._behind_own_run = None, 0, False
            self._finished_at = time.time()
            self.control.pause.clear()


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``... ``11th``, ``21st``."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def queue_message(position: int, running: int, behind_own_run: bool, max_running: int) -> str:
    """What a queued job's owner reads: their place in line, how many train ahead, and why."""
    place = f"{ordinal(position)} in line, {running} running ahead"
    if behind_own_run:
        return (f"Queued behind your own run ({place}): each user trains one network at a time, so this "
                f"one starts when yours finishes. This server trains {max_running} network(s) at a time.")
    return (f"Queued: {place}. This server trains {max_running} network(s) at a time for everyone, "
            "in the order they were asked for; yours starts when a slot frees up.")


class OwnerLimitError(RuntimeError):
    """A user asked for more training than one running and one queued job at a time."""


def final_status(results: list[Any], stop_requested: bool) -> tuple[str, str]:
    """A job's status and message from its tasks' TrainResults.

    Stopped if any task stopped (or a stop came before a task ran); else diverged if any
    diverged (the message names which and suggests a lower rate); else completed.
    """
    statuses = [getattr(result, "status", COMPLETED) for result in results]
    if STOPPED in statuses or (stop_requested and len(results) == 0):
        done = sum(status != STOPPED for status in statuses)
        last = next((r.message for r in results if r.status == STOPPED), "stopped before training began")
        return STOPPED, f"Stopped: {last}." if len(results) <= 1 else f"Stopped after {done} finished run(s): {last}."
    diverged = [result for result in results if result.status == DIVERGED]
    if diverged:
        return DIVERGED, diverged[0].message
    if len(results) == 1:
        return COMPLETED, f"Completed: {results[0].message}."
    return COMPLETED, f"Completed all {len(results)} runs."


class JobRegistry:
    """Every training job of the server, by id; starts their threads and caps how many train.

    Thread-safe. Jobs train in the order they were asked for, at most ``max_running`` at once
    and one per owner; an owner may hold one running and one queued job (:meth:`start`).
    Finished jobs older than ``keep_finished_seconds`` (or beyond ``max_finished``) are
    dropped: the session that started a job holds the job object itself, so its results live
    as long as that session and no longer (a closed tab releases them).
    """

    def __init__(self, max_running: int = MAX_RUNNING_JOBS,
                 keep_finished_seconds: float = KEEP_FINISHED_SECONDS,
                 max_finished: int = MAX_FINISHED_JOBS,
                 clock: Callable[[], float] = time.time) -> None:
        if max_running < 1:
            raise ValueError(f"max_running must be >= 1, got {max_running}")
        self.max_running = max_running
        self.max_running_per_owner = MAX_RUNNING_PER_OWNER
        self.max_queued_per_owner = MAX_QUEUED_PER_OWNER
        self.keep_finished_seconds = keep_finished_seconds
        self.max_finished = max_finished
        self._clock = clock
        self._lock = threading.Lock()
        self._slots = threading.Condition(self._lock)
        self._jobs: dict[str, TrainingJob] = {}
        self._waiting: deque[str] = deque()
        self._running: set[str] = set()
        self._ended: deque[str] = deque(maxlen=MAX_REMEMBERED_ENDED)
        remove_orphans()  # the job folders a killed server left behind
        remove_legacy_folders()  # and those of earlier versions

    # ------------------------------------------------------------------ public
    def start(self, owner: str, tasks: list[JobTask], description: str = "", *,
              queue_next: bool = False) -> tuple[TrainingJob, bool]:
        """Start a job for ``owner``; returns ``(job, created)``.

        Each owner (one browser session) holds at most ``max_running_per_owner`` running and
        ``max_queued_per_owner`` queued jobs. Without ``queue_next``, an owner's active job is
        returned with ``created=False`` and nothing new starts (a double click on Start).
        With ``queue_next``, a second job joins the line behind the owner's running one, and
        :class:`OwnerLimitError` says why when the owner already holds all they may.
        """
        with self._lock:
            self._evict_locked()
            own = self._active_of_locked(owner)
            if own and not queue_next:
                return own[0], False
            if own:
                self._check_owner_limit_locked(own)
            job_id = new_job_id()
            job = TrainingJob(job_id, owner, tasks, description=description)
            self._jobs[job_id] = job
            self._waiting.append(job_id)
            self._update_queue_positions_locked()
            thread = threading.Thread(target=self._work, args=(job,), name=f"train-{job_id[:6]}", daemon=True)
            job._thread = thread
        thread.start()
        return job, True

    def jobs_of(self, owner: str) -> list[TrainingJob]:
        """``owner``'s active jobs (queued, running or paused), in the order they were asked for."""
        with self._lock:
            return self._active_of_locked(owner)

    def cancel(self, job_id: str | None, owner: str) -> bool:
        """Take ``owner``'s queued job out of the line (or stop it, if it has started); True if it
        was active. A job of another owner is left alone (False)."""
        with self._lock:
            job = self._jobs.get(job_id) if job_id else None
        if job is None or job.owner != owner:
            return False
        stopped = job.stop()
        with self._slots:
            self._slots.notify_all()
        return stopped

    def get(self, job_id: str | None) -> TrainingJob | None:
        """The job with this id, or None (unknown, evicted, or no id)."""
        if not job_id:
            return None
        with self._lock:
            self._evict_locked()
            return self._jobs.get(job_id)

    def was_evicted(self, job_id: str | None) -> bool:
        """Whether this registry once had the job ``job_id`` and cleared it after it ended
        (False for an id it never knew: from before a server restart, or mistyped)."""
        with self._lock:
            return bool(job_id) and job_id in self._ended

    def active_jobs(self) -> list[TrainingJob]:
        """The jobs queued, running or paused, oldest first."""
        with self._lock:
            return sorted((job for job in self._jobs.values() if job.active), key=lambda job: job.created_at)

    def stop_all(self, timeout: float | None = None) -> bool:
        """Stop every active job and wait for their threads; True when all have ended."""
        jobs = self.active_jobs()
        for job in jobs:
            job.stop()
        return all(job.join(timeout) for job in jobs)

    def evict(self) -> list[str]:
        """Drop finished jobs that are too old or too many; returns their ids."""
        with self._lock:
            return self._evict_locked()

    def counts(self) -> dict[str, int]:
        """How many jobs are ``running`` (incl. paused), ``queued``, and ``total`` kept."""
        with self._lock:
            return {"running": len(self._running), "queued": len(self._waiting), "total": len(self._jobs)}

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    # ------------------------------------------------------------------ owners and slots
    def _active_of_locked(self, owner: str) -> list[TrainingJob]:
        return sorted((job for job in self._jobs.values() if job.owner == owner and job.active),
                      key=lambda job: job.created_at)

    def _check_owner_limit_locked(self, own: list[TrainingJob]) -> None:
        queued = sum(job.id in self._waiting for job in own)
        running = len(own) - queued
        if queued >= self.max_queued_per_owner:
            raise OwnerLimitError(
                f"You already have {running} network(s) training and {queued} waiting in line, the most one "
                f"user may hold: this server trains {self.max_running} network(s) at a time for everyone. "
                "Cancel the one waiting, or start another when yours has finished.")
        if running > self.max_running_per_owner:  # pragma: no cover - the slots never allow it
            raise OwnerLimitError(f"You already have {running} networks training.")

    def _next_eligible_locked(self) -> str | None:
        """The first waiting job (in arrival order) whose owner has no job training now."""
        busy = {self._jobs[job_id].owner for job_id in self._running}
        for job_id in self._waiting:
            if self._jobs[job_id].owner not in busy or self.max_running_per_owner > 1:
                return job_id
        return None

    def _update_queue_positions_locked(self) -> None:
        busy = {self._jobs[job_id].owner for job_id in self._running}
        running = len(self._running)
        for position, job_id in enumerate(self._waiting, start=1):
            job = self._jobs[job_id]
            job._set_queue_position(position, running, job.owner in busy, self.max_running)

    def _acquire_slot(self, job: TrainingJob) -> bool:
        """Block until ``job`` may train (arrival order, one job per owner); False if it was
        cancelled while waiting."""
        with self._slots:
            while True:
                if job.control.stop.is_set():
                    self._waiting.remove(job.id)
                    self._update_queue_positions_locked()
                    self._slots.notify_all()
                    return False
                if len(self._running) < self.max_running and self._next_eligible_locked() == job.id:
                    self._waiting.remove(job.id)
                    self._running.add(job.id)
                    self._update_queue_positions_locked()
                    self._slots.notify_all()
                    return True
                self._update_queue_positions_locked()
                self._slots.wait(QUEUE_POLL_SECONDS)

    def _release_slot(self, job: TrainingJob) -> None:
        with self._slots:
            self._running.discard(job.id)
            self._update_queue_positions_locked()
            self._slots.notify_all()

    # ------------------------------------------------------------------ the worker
    def _work(self, job: TrainingJob) -> None:
        """The thread body: wait for a slot, run the tasks in turn, record how it ended."""
        if not self._acquire_slot(job):
            job._finish(STOPPED, "Cancelled before it started (it was waiting in line).")
            return
        results: list[Any] = []
        try:
            for index, task in enumerate(job.tasks):
                if job.control.stop.is_set():
                    break
                job._begin_task(index)
                output = task.run(job._on_event, job.control)
                job._add_output(output)
                results.append(output.result)
                if output.result.status == STOPPED:
                    break
            status, message = final_status(results, job.control.stop.is_set())
            job._finish(status, message)
        except Exception as error:  # any failure becomes the job's status, never a dead thread
            job._finish(FAILED, f"Training failed: {type(error).__name__}: {error}",
                        error="".join(traceback.format_exception(error)))
        finally:
            self._release_slot(job)

    # ------------------------------------------------------------------ eviction
    def _evict_locked(self) -> list[str]:
        now = self._clock()
        finished = sorted((job for job in self._jobs.values() if job.finished),
                          key=lambda job: job.finished_at or 0.0)
        evicted = [job.id for job in finished
                   if now - (job.finished_at or now) > self.keep_finished_seconds]
        keep = [job for job in finished if job.id not in evicted]
        evicted += [job.id for job in keep[:max(0, len(keep) - self.max_finished)]]
        for job_id in evicted:
            self._jobs.pop(job_id, None)
            self._ended.append(job_id)
        return evicted


def new_job_id() -> str:
    """An unguessable job id (URL-safe): knowing it is what lets a session see a job."""
    return secrets.token_urlsafe(JOB_ID_BYTES)
