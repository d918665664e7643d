"""Short background tasks of the pages (a learning-rate range test, a fine-tuning): a thread
each, their progress and result read by the page while it polls.

Unlike training (:mod:`experiments.jobs`, child processes, a fair queue), these tasks are
short and run in a thread of the server. A task is a function ``work(report, control)``:
``report(fraction, message)`` records progress (0-1) and ``control`` is an
:class:`nnlib.training.TrainingControl` whose ``stop`` the function checks. Tasks are kept
by an unguessable id in a :class:`BackgroundTasks` holder (one per server, held by the app
in ``st.cache_resource``); finished ones are dropped after ``KEEP_FINISHED_SECONDS``.
Nothing here imports Streamlit.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from nnlib.training import TrainingControl

from .jobs import new_job_id

RUNNING, DONE, FAILED, STOPPED = "running", "done", "failed", "stopped"
KEEP_FINISHED_SECONDS = 30 * 60
Report = Callable[[float, str], None]
Work = Callable[[Report, TrainingControl], Any]


class BackgroundTask:
    """One function running in a daemon thread: its status, progress, result or error."""

    def __init__(self, task_id: str, kind: str, work: Work) -> None:
        self.id = task_id
        self.kind = kind
        self.control = TrainingControl()
        self.status = RUNNING
        self.fraction = 0.0
        self.message = "Starting."
        self.result: Any = None
        self.error: str | None = None
        self.finished_at: float | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True, name=f"{kind}-{task_id[:6]}")

    def start(self) -> BackgroundTask:
        self._thread.start()
        return self

    def _report(self, fraction: float, message: str) -> None:
        with self._lock:
            self.fraction = min(max(float(fraction), 0.0), 1.0)
            self.message = message

    def _run(self, work: Work) -> None:
        try:
            result = work(self._report, self.control)
        except Exception as error:  # shown by the page; the server goes on
            with self._lock:
                self.status, self.error = FAILED, f"{type(error).__name__}: {error}"
                self.message = traceback.format_exc(limit=3)
                self.finished_at = time.time()
            return
        with self._lock:
            self.result = result
            self.status = STOPPED if self.control.stop.is_set() else DONE
            self.fraction = 1.0 if self.status == DONE else self.fraction
            self.finished_at = time.time()

    @property
    def active(self) -> bool:
        return self.status == RUNNING

    def stop(self) -> None:
        """Ask the function to end at its next check."""
        self.control.request_stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


class BackgroundTasks:
    """The server's background tasks by id (a session keeps the ids of its own)."""

    def __init__(self) -> None:
        self._tasks: dict[str, BackgroundTask] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, work: Work) -> BackgroundTask:
        """Start ``work`` in a new thread; the task (its ``id`` is unguessable)."""
        task = BackgroundTask(new_job_id(), kind, work)
        with self._lock:
            self._evict_locked()
            self._tasks[task.id] = task
        return task.start()

    def get(self, task_id: str | None) -> BackgroundTask | None:
        with self._lock:
            return self._tasks.get(task_id) if task_id else None

    def stop_all(self, timeout: float | None = None) -> None:
        """Stop every task and wait for them (tests, shutdown)."""
        with self._lock:
            tasks = list(self._tasks.values())
        for task in tasks:
            task.stop()
        for task in tasks:
            task.join(timeout)

    def _evict_locked(self) -> None:
        now = time.time()
        for task_id in [key for key, task in self._tasks.items()
                        if task.finished_at is not None and now - task.finished_at > KEEP_FINISHED_SECONDS]:
            del self._tasks[task_id]
