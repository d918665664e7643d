"""Executors: where one training task runs. ``local`` (a child process) or ``ray`` (a Ray task).

Both run the same trial function, :func:`experiments.child.train_job`, and both give the
server the same things back: nnlib events while it trains (to a callback), and at the end
the model (nnlib's ``.npz``, loaded without pickle), the TrainResult, the scaler, the class
names and the validation arrays. Pause / resume / stop reach the worker through the
task's :class:`nnlib.training.TrainingControl` either way.

* :class:`LocalExecutor` starts ``python -m experiments.child`` per task (one BLAS thread),
  talks JSON lines over its pipes, and lets the child checkpoint into the run store's
  folder after every epoch (same disk).
* :class:`RayExecutor` connects to a Ray cluster (``ray.init(address=...)``) or starts a
  local instance (``ray.init(num_cpus=2, include_dashboard=False)``). The dataset is put in
  Ray's object store once and shared by every task; events and control commands go through
  one small relay actor. Workers have no access to the server's disk, so a Ray task returns
  its model at the end instead of checkpointing. Ray is optional
  (``pip install -r requirements-cluster.txt``).

How many tasks train at once is not an executor's business: the one
:class:`experiments.jobs.JobRegistry` of the server caps that for every executor.
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
import traceback
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nnlib.training import TrainingControl

from .child import (
    CONTROL_POLL_SECONDS,
    MODEL_FILE,
    OUTPUTS_FILE,
    ROOT,
    ChildProcessError,
    EventWriter,
    collect_outcome,
    relay_message,
    run_in_child,
    train_job,
    training_job,
)
from .scratch import new_job_folder

EXECUTOR_NAMES = ("local", "ray")
# OpenBLAS threads of each training process. Measured on 2 cores (benchmarks/app_overhead.py):
# with OpenBLAS's default (one thread per core) training shares its cores with the server's
# reruns, the live fragment and the browser, and each matrix product waits for a
# descheduled BLAS thread: training ran 5-7x slower than the CLI. One BLAS thread per job
# (and at most experiments.jobs.MAX_RUNNING_JOBS jobs) keeps the cores for the work.
APP_BLAS_THREADS = 1
BACKEND_VARIABLE = "MNIST_LAB_BACKEND"
RAY_ADDRESS_VARIABLE = "MNIST_LAB_RAY_ADDRESS"
RAY_LOCAL_CPUS = 2                 # a local Ray instance's CPUs (no address given)
RAY_CONNECT_SECONDS = 5.0          # how long to try an address before saying it is unreachable
RAY_INSTALL_HINT = "pip install -r requirements-cluster.txt"
# Left out when the project folder is shipped to a remote Ray cluster as its working_dir.
RAY_SHIP_EXCLUDES = [".git", ".venv", "lab-data", "data/mnist", "tests", "benchmarks", "*.npz"]

Callback = Callable[[Any], None]


class ExecutorError(RuntimeError):
    """An executor cannot be used (Ray missing, an address unreachable); nothing was started."""


@dataclass(frozen=True)
class TrainingRequest:
    """One network to train: the dataset, both configs, and where to checkpoint (optional)."""

    dataset: Any                    # nnlib.data.Dataset
    preprocess_config: Any          # nnlib.preprocessing.PreprocessConfig
    train_config: Any               # nnlib.training.TrainConfig
    checkpoint: Path | None = None  # the model after each epoch, when the worker shares our disk


class Executor(Protocol):
    """Runs a :class:`TrainingRequest`; blocks until it ends. ``shares_disk``: the worker can
    write the server's files (checkpoints)."""

    name: str
    shares_disk: bool

    def train(self, request: TrainingRequest, callback: Callback, control: TrainingControl) -> dict[str, Any]:
        """Train; events go to ``callback``. Returns ``model``, ``result``, ``scaler``,
        ``class_names``, ``extras``. Raises :class:`ChildProcessError` when training fails."""
        ...

    def close(self) -> None:
        ...


class LocalExecutor:
    """Each task in a child process of this machine (:mod:`experiments.child`)."""

    name = "local"
    shares_disk = True

    def __init__(self, blas_threads: int | None = APP_BLAS_THREADS) -> None:
        self.blas_threads = blas_threads

    def train(self, request: TrainingRequest, callback: Callback, control: TrainingControl) -> dict[str, Any]:
        return run_in_child(request.dataset, request.preprocess_config, request.train_config, callback, control,
                            blas_threads=self.blas_threads, checkpoint=request.checkpoint)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"LocalExecutor(blas_threads={self.blas_threads})"


def import_ray() -> Any:
    """The ``ray`` module, or an :class:`ExecutorError` that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ExecutorError(f"the Ray backend needs Ray, which is not installed here: {RAY_INSTALL_HINT}") from None
    return ray


def check_reachable(address: str, timeout: float = RAY_CONNECT_SECONDS) -> None:
    """Raise :class:`ExecutorError` unless ``host:port`` (or ``ray://host:port``) answers."""
    target = address.split("://", 1)[-1]
    host, _, port_text = target.rpartition(":")
    if not host or not port_text.isdigit():
        raise ExecutorError(f"a Ray address is host:port (for example 10.0.0.5:6379 or ray://10.0.0.5:10001), "
                            f"got {address!r}")
    try:
        socket.create_connection((host, int(port_text)), timeout=timeout).close()
    except OSError as error:
        raise ExecutorError(f"cannot reach the Ray cluster at {address} ({error}); nothing was started. "
                            "Is the head running (ray start --head) and the port open?") from None


class RayExecutor:
    """Each task as a Ray remote task, on a cluster (``address``) or a local Ray instance."""

    name = "ray"
    shares_disk = False

    def __init__(self, address: str | None = None, *, num_cpus: int = RAY_LOCAL_CPUS,
                 blas_threads: int | None = APP_BLAS_THREADS) -> None:
        self.ray = import_ray()
        self.address = address
        self.blas_threads = blas_threads
        env_vars = {"PYTHONPATH": str(ROOT)}
        if blas_threads is not None:
            env_vars.update({name: str(blas_threads) for name in
                             ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
        runtime_env: dict[str, Any] = {"env_vars": env_vars}
        self._started_ray = False
        if not self.ray.is_initialized():
            if address and address != "auto":
                check_reachable(address)
                env_vars.pop("PYTHONPATH")
                runtime_env.update(working_dir=str(ROOT), excludes=RAY_SHIP_EXCLUDES)
            try:
                if address:
                    self.ray.init(address=address, runtime_env=runtime_env, logging_level="ERROR",
                                  log_to_driver=False)
                else:
                    self.ray.init(num_cpus=num_cpus, include_dashboard=False, runtime_env=runtime_env,
                                  logging_level="ERROR", log_to_driver=False)
            except Exception as error:  # Ray raises ConnectionError, RuntimeError, ValueError...
                raise ExecutorError(f"cannot start Ray{f' at {address}' if address else ''}: "
                                    f"{type(error).__name__}: {error}") from None
            self._started_ray = True
        self._remote_train = self.ray.remote(num_cpus=1, max_retries=0)(_train_on_ray)
        self._relay = self.ray.remote(num_cpus=0)(_Relay).remote()
        self._datasets: dict[int, tuple[weakref.ref, Any]] = {}
        self._lock = threading.Lock()

    def _dataset_ref(self, dataset: Any) -> Any:
        """The dataset's arrays in Ray's object store, put there once per dataset object."""
        with self._lock:
            known = self._datasets.get(id(dataset))
            if known is not None and known[0]() is dataset:
                return known[1]
            arrays = {"name": dataset.name, "class_names": list(dataset.class_names),
                      "x_train": dataset.x_train, "y_train": dataset.y_train,
                      "x_test": dataset.x_test, "y_test": dataset.y_test}
            ref = self.ray.put(arrays)
            self._datasets[id(dataset)] = (weakref.ref(dataset), ref)
            return ref

    def train(self, request: TrainingRequest, callback: Callback, control: TrainingControl) -> dict[str, Any]:
        task_id = uuid.uuid4().hex
        job = training_job(request.preprocess_config, request.train_config, Path("."), None)
        pending = self._remote_train.remote(job, self._dataset_ref(request.dataset), self._relay, task_id)
        sent = {"pause": False, "stop": False}
        try:
            while True:
                done, _ = self.ray.wait([pending], timeout=CONTROL_POLL_SECONDS)
                for message in self.ray.get(self._relay.take.remote(task_id)):
                    relay_message(message, callback)
                wanted = {"pause": control.pause.is_set(), "stop": control.stop.is_set()}
                if wanted != sent:
                    command = "stop" if wanted["stop"] else ("pause" if wanted["pause"] else "resume")
                    self._relay.command.remote(task_id, command)
                    sent = wanted
                if done:
                    break
            outcome = self.ray.get(pending)
            for message in self.ray.get(self._relay.take.remote(task_id)):
                relay_message(message, callback)
        except BaseException:
            self.ray.cancel(pending, force=True)
            raise
        finally:
            self._relay.forget.remote(task_id)
        if "error" in outcome:
            error = ChildProcessError(outcome["error"]["message"])
            error.add_note("In the Ray task:\n" + outcome["error"].get("traceback", ""))
            raise error
        return collect_outcome(outcome["done"], outcome["model"], outcome["outputs"])

    def close(self) -> None:
        """Shut down the Ray instance if this executor started it."""
        if self._started_ray and self.ray.is_initialized():
            self.ray.shutdown()
        self._started_ray = False

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r})"


class _Relay:
    """A Ray actor between the server and its Ray tasks: events up, commands down, by task id."""

    def __init__(self) -> None:
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.commands: dict[str, list[str]] = {}

    def put(self, task_id: str, message: dict[str, Any]) -> None:
        self.messages.setdefault(task_id, []).append(message)

    def take(self, task_id: str) -> list[dict[str, Any]]:
        return self.messages.pop(task_id, [])

    def command(self, task_id: str, command: str) -> None:
        self.commands.setdefault(task_id, []).append(command)

    def take_commands(self, task_id: str) -> list[str]:
        return self.commands.pop(task_id, [])

    def forget(self, task_id: str) -> None:
        self.messages.pop(task_id, None)
        self.commands.pop(task_id, None)


def _train_on_ray(job: dict[str, Any], arrays: dict[str, Any], relay: Any, task_id: str) -> dict[str, Any]:
    """The Ray task: :func:`train_job` in a temporary folder of the worker; files back as bytes."""
    import ray

    from nnlib.data import Dataset

    control = TrainingControl()
    finished = threading.Event()

    def follow_commands() -> None:
        while not finished.is_set():
            for command in ray.get(relay.take_commands.remote(task_id)):
                if command == "stop":
                    control.stop.set()
                    control.pause.clear()
                elif command == "pause":
                    control.pause.set()
                elif command == "resume":
                    control.pause.clear()
            finished.wait(CONTROL_POLL_SECONDS)

    threading.Thread(target=follow_commands, daemon=True).start()
    writer = EventWriter(lambda message: relay.put.remote(task_id, message))
    try:
        dataset = Dataset(name=arrays["name"], x_train=arrays["x_train"], y_train=arrays["y_train"],
                          x_test=arrays["x_test"], y_test=arrays["y_test"], class_names=tuple(arrays["class_names"]))
        folder = new_job_folder()  # named for this worker: a later registry on this host removes it if the worker died
        try:
            done = train_job({**job, "folder": str(folder)}, dataset, writer, control)
            return {"done": done, "model": (folder / MODEL_FILE).read_bytes(),
                    "outputs": (folder / OUTPUTS_FILE).read_bytes()}
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    except Exception as error:
        return {"error": {"message": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()}}
    finally:
        finished.set()


def executor_from_environment() -> Executor:
    """The executor the app's settings choose: ``MNIST_LAB_BACKEND`` (``local``, the default,
    or ``ray``) and ``MNIST_LAB_RAY_ADDRESS`` (a local Ray instance when unset)."""
    name = os.environ.get(BACKEND_VARIABLE, "local").strip() or "local"
    address = os.environ.get(RAY_ADDRESS_VARIABLE, "").strip() or None
    return make_executor(name, address if name == "ray" else None)


def make_executor(name: str = "local", address: str | None = None, *,
                  blas_threads: int | None = APP_BLAS_THREADS) -> Executor:
    """The executor called ``name`` (``"local"`` or ``"ray"``); ``address`` only for Ray."""
    if name == "local":
        if address:
            raise ValueError("--address is for the ray backend; the local backend trains on this machine")
        return LocalExecutor(blas_threads)
    if name == "ray":
        return RayExecutor(address, blas_threads=blas_threads)
    raise ValueError(f"unknown backend {name!r}; expected one of {EXECUTOR_NAMES}")

