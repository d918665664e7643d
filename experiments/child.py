"""Train one network in a child process and stream its progress back to the server.

Why a process and not a thread: a training step is many short NumPy calls, and each one
needs Python's GIL back. In a thread of the Streamlit server it waits behind every rerun
of every page (the Train page's live chart reruns a fragment about once a second), so the
app trained tens of percent slower than the command line. A child process has its own
interpreter and its own core; the server only reads its events.

The protocol is plain text and files, so nothing is ever unpickled:

* The parent writes the dataset to ``dataset.npz`` in a fresh job folder (named for the
  server process, so the next server removes it if this one is killed:
  :mod:`experiments.scratch`) and starts
  ``python -m experiments.child``. The first line on the child's stdin is the job as
  JSON (preprocessing and training config, folder, checkpoint path); the next lines are
  ``pause``, ``resume`` and ``stop``. End of input means stop (the server has gone).
* The child prints JSON lines on its stdout: ``steps`` (a batch of nnlib StepEvents, sent
  at most every ``STEP_FLUSH_SECONDS``), ``epoch``, ``health`` (after each epoch: the layers'
  gradient sizes and dead units, :mod:`nnlib.layer_health`), ``end``, and finally ``done`` once it
  has written ``model.npz`` (nnlib's own format, loaded with ``allow_pickle=False``) and
  ``outputs.npz`` (validation probabilities for the confusion matrix), or ``error``.

The training itself is :func:`train_job`, the one trial function of every executor: the
local executor calls it in this child process, the Ray executor in a Ray worker
(:mod:`experiments.executors`). With a ``checkpoint`` path it saves the model after every
epoch (atomically), so a run cut short by a killed server still has its last epoch's model.

:func:`run_in_child` is the parent side (the local executor); :func:`main` is the child
side. Neither imports Streamlit.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnlib.error_analysis import tracker_for_test_set
from nnlib.jsonable import finite_or_none, json_default
from nnlib.layer_health import HealthEvent, HealthMonitor
from nnlib.model import Sequential
from nnlib.training import EndEvent, EpochEvent, StepEvent, TrainingControl

from .scratch import new_job_folder
from .store import write_model_atomically

TRAINING_NICENESS = 5        # how much nicer a training child is than the server (see lower_priority)
ROOT = Path(__file__).resolve().parent.parent
STEP_FLUSH_SECONDS = 0.1     # the child sends step events at most this often (batched)
CONTROL_POLL_SECONDS = 0.05  # how often the parent forwards Pause / Resume / Stop
DATASET_FILE, MODEL_FILE, OUTPUTS_FILE = "dataset.npz", "model.npz", "outputs.npz"


class ChildProcessError(RuntimeError):
    """The training process failed or ended without a result (the message says why)."""


# ---------------------------------------------------------------------- the dataset file
def write_dataset(dataset: Any, path: Path) -> None:
    """Write a :class:`nnlib.data.Dataset` as an uncompressed ``.npz`` (arrays + JSON names)."""
    arrays = {"x_train": dataset.x_train, "y_train": dataset.y_train}
    if dataset.has_test:
        arrays.update(x_test=dataset.x_test, y_test=dataset.y_test)
    names = json.dumps({"name": dataset.name, "class_names": list(dataset.class_names)})
    arrays["names"] = np.frombuffer(names.encode("utf-8"), dtype=np.uint8)
    np.savez(path, **arrays)


def read_dataset(path: Path) -> Any:
    """The :class:`nnlib.data.Dataset` that :func:`write_dataset` wrote (no pickle)."""
    from nnlib.data import Dataset

    with np.load(path, allow_pickle=False) as archive:
        names = json.loads(archive["names"].tobytes().decode("utf-8"))
        test = ("x_test" in archive.files)
        return Dataset(name=names["name"], x_train=archive["x_train"], y_train=archive["y_train"],
                       x_test=archive["x_test"] if test else None, y_test=archive["y_test"] if test else None,
                       class_names=tuple(names["class_names"]))


# ---------------------------------------------------------------------- the parent side
def child_environment(blas_threads: int | None) -> dict[str, str]:
    """The child's environment: this project importable, and its BLAS thread count."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    if blas_threads is not None:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(blas_threads)
    return env


def training_job(preprocess_config: Any, train_config: Any, folder: Path,
                 checkpoint: Path | None = None) -> dict[str, Any]:
    """The JSON job :func:`train_job` reads: configs, working folder, checkpoint path."""
    return {"folder": str(folder), "preprocess": preprocess_config.to_dict(), "train": train_config.to_dict(),
            "checkpoint": None if checkpoint is None else str(checkpoint)}


def run_in_child(dataset: Any, preprocess_config: Any, train_config: Any, callback: Callable[[Any], None],
                 control: Any, *, blas_threads: int | None = 1, checkpoint: Path | None = None) -> dict[str, Any]:
    """Train ``train_config`` on ``dataset`` in a child process; events go to ``callback``.

    ``control`` (nnlib's TrainingControl) is forwarded: pause, resume and stop reach the
    child within ``CONTROL_POLL_SECONDS``. ``checkpoint``: where the child saves the model
    after each epoch. Returns ``model`` (a loaded Sequential),
    ``result`` (a TrainResult), ``scaler``, ``class_names`` and ``extras`` (validation
    arrays). Raises :class:`ChildProcessError` when the child fails.
    """
    folder = new_job_folder()
    try:
        write_dataset(dataset, folder / DATASET_FILE)
        job = training_job(preprocess_config, train_config, folder, checkpoint)
        process = subprocess.Popen(
            [sys.executable, "-m", "experiments.child"], cwd=str(ROOT), env=child_environment(blas_threads),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        try:
            return _supervise(process, job, callback, control, folder)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _supervise(process: subprocess.Popen, job: dict[str, Any], callback: Callable[[Any], None],
               control: Any, folder: Path) -> dict[str, Any]:
    """Send the job, forward control changes, hand events to ``callback`` until the end."""
    outcome: dict[str, Any] = {}
    reader = threading.Thread(target=_read_messages, args=(process.stdout, callback, outcome),
                              name="train-child-reader", daemon=True)
    reader.start()
    sent = {"pause": False, "stop": False}
    _send(process, json.dumps(job))
    while reader.is_alive():
        wanted = {"pause": control.pause.is_set(), "stop": control.stop.is_set()}
        if wanted["stop"] and not sent["stop"]:
            _send(process, "stop")
        elif wanted["pause"] != sent["pause"] and not wanted["stop"]:
            _send(process, "pause" if wanted["pause"] else "resume")
        sent = wanted
        reader.join(CONTROL_POLL_SECONDS)
    if "done" not in outcome and "error" not in outcome and process.poll() is None:
        process.kill()  # its output stopped (or could not be relayed) before a result: do not wait for it
    code = process.wait()
    if "relay" in outcome:
        raise ChildProcessError(f"the training progress could not be relayed ({outcome['relay']})")
    if "error" in outcome:
        error = ChildProcessError(outcome["error"]["message"])
        error.add_note("In the training process:\n" + outcome["error"].get("traceback", ""))
        raise error
    if "done" not in outcome:
        raise ChildProcessError(f"the training process ended without a result (exit code {code})")
    return _collect(outcome["done"], folder)


def _send(process: subprocess.Popen, line: str) -> None:
    try:
        process.stdin.write(line + "\n")
        process.stdin.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass  # the child has ended; its last message says how


def relay_message(message: dict[str, Any], callback: Callable[[Any], None]) -> None:
    """Hand the nnlib events of one protocol message (``steps``/``epoch``/``health``/``end``) to ``callback``."""
    kind = message.get("type")
    if kind == "steps":
        for fields in message["events"]:
            callback(StepEvent(**fields))
    elif kind == "epoch":
        callback(EpochEvent(**message["event"]))
    elif kind == "health":
        callback(HealthEvent.from_dict(message["event"]))
    elif kind == "end":
        callback(EndEvent(**message["event"]))


def _read_messages(stream: IO[str], callback: Callable[[Any], None], outcome: dict[str, Any]) -> None:
    """The reader thread: one JSON message per line, until the child closes its stdout."""
    for line in stream:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue  # not ours (a library printing to stdout); the protocol lines are JSON
        try:
            relay_message(message, callback)
        except Exception as error:  # the listener failed: stop relaying, the parent ends the child
            outcome["relay"] = f"{type(error).__name__}: {error}"
            return
        kind = message.get("type")
        if kind in ("done", "error"):
            outcome[kind] = message


def _collect(done: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The child's files read back (see :func:`collect_outcome`)."""
    return collect_outcome(done, (folder / MODEL_FILE).read_bytes(), (folder / OUTPUTS_FILE).read_bytes())


def collect_outcome(done: dict[str, Any], model_bytes: bytes, outputs_bytes: bytes) -> dict[str, Any]:
    """A finished training's ``done`` message and files as objects: the model through
    nnlib's validating loader, the validation arrays without pickle."""
    import io

    from nnlib.preprocessing import Scaler
    from nnlib.training import TrainResult

    model = Sequential.load(model_bytes)
    with np.load(io.BytesIO(outputs_bytes), allow_pickle=False) as archive:
        extras = {key: archive[key] for key in archive.files}
    return {"model": model, "result": TrainResult(**done["result"]), "scaler": Scaler.from_dict(done["scaler"]),
            "class_names": tuple(done["class_names"]), "extras": extras}


# ---------------------------------------------------------------------- the child side
class EventWriter:
    """nnlib callback in the worker: protocol messages to ``sink``, step events batched.

    ``sink`` takes one JSON-able message (a dict); :func:`stream_sink` writes JSON lines.
    """

    def __init__(self, sink: Callable[[dict[str, Any]], None]) -> None:
        self.sink = sink
        self.pending: list[dict[str, Any]] = []
        self.last_flush = time.perf_counter()

    def __call__(self, event: Any) -> None:
        if isinstance(event, StepEvent):
            self.pending.append(asdict(event))
            if time.perf_counter() - self.last_flush >= STEP_FLUSH_SECONDS:
                self.flush_steps()
            return
        self.flush_steps()
        kind = "epoch" if isinstance(event, EpochEvent) else "health" if isinstance(event, HealthEvent) else "end"
        self.send({"type": kind, "event": asdict(event)})

    def flush_steps(self) -> None:
        if self.pending:
            self.send({"type": "steps", "events": self.pending})
            self.pending = []
        self.last_flush = time.perf_counter()

    def send(self, message: dict[str, Any]) -> None:
        self.sink(json.loads(json.dumps(message, default=json_default)))


def stream_sink(stream: IO[str]) -> Callable[[dict[str, Any]], None]:
    """A sink writing each message as one JSON line on ``stream`` (the child's protocol)."""
    def write(message: dict[str, Any]) -> None:
        stream.write(json.dumps(message) + "\n")
        stream.flush()

    return write


def _follow_commands(stream: IO[str], control: Any) -> None:
    """The child's command thread: pause / resume / stop lines; end of input stops."""
    for line in stream:
        command = line.strip()
        if command == "pause":
            control.pause.set()
        elif command == "resume":
            control.pause.clear()
        elif command == "stop":
            control.stop.set()
            control.pause.clear()
    control.stop.set()
    control.pause.clear()


def train_job(job: dict[str, Any], dataset: Any, writer: EventWriter, control: Any) -> dict[str, Any]:
    """Prepare the data, train, write ``model.npz`` and ``outputs.npz`` into the job's
    folder; the ``done`` message. With ``job["checkpoint"]`` the model is also saved there
    after every epoch. The trial function of every executor (it runs in the worker)."""
    from nnlib.builders import build_network
    from nnlib.preprocessing import PreprocessConfig, prepare
    from nnlib.training import TrainConfig, train

    folder = Path(job["folder"])
    prepared = prepare(dataset, PreprocessConfig.from_dict(job["preprocess"]))
    config = TrainConfig.from_dict(job["train"])
    callbacks: list[Callable[[Any], None]] = [writer]
    model = build_network(config, input_size=prepared.x_train.shape[1], n_classes=len(prepared.class_names))
    if job.get("checkpoint"):
        callbacks.append(EpochCheckpoint(Path(job["checkpoint"]), prepared, config, model))
    tracker = tracker_for_test_set(model, prepared.x_test, prepared.y_test)   # "where it is wrong" over epochs
    callbacks += [tracker] if tracker is not None else []
    callbacks += health_monitor(model, prepared, writer)
    # A diverging run overflows on purpose; its status says so, not a warning per step.
    with np.errstate(over="ignore", invalid="ignore"):
        model, result = train(prepared, config, callbacks=callbacks, control=control, model=model)
        extras = validation_outputs(model, prepared)
    extras.update(tracker.outputs() if tracker is not None else {})
    model.save(folder / MODEL_FILE)
    np.savez(folder / OUTPUTS_FILE, allow_pickle=False, **extras)  # numbers only, as they are read back
    return {"type": "done", "result": result.to_dict(), "scaler": prepared.scaler.to_dict(),
            "class_names": list(prepared.class_names)}


class EpochCheckpoint:
    """An nnlib callback that saves the model being trained after every epoch.

    The file carries what a model needs to be used (preprocessing, class names, configs),
    so an interrupted run's last completed epoch can still predict or be resumed.
    """

    def __init__(self, path: Path, prepared: Any, config: Any, model: Sequential) -> None:
        self.path = path
        self.model = model
        self.metadata = {
            "preprocessing": {"config": prepared.config.to_dict(), "scaler": prepared.scaler.to_dict()},
            "class_names": list(prepared.class_names), "dataset": getattr(prepared, "dataset_name", ""),
            "train_config": config.to_dict()}

    def __call__(self, event: Any) -> None:
        if isinstance(event, EpochEvent):
            self.model.metadata.update(self.metadata)
            self.model.metadata["metrics"] = {"epochs": event.epoch, "val_accuracy": finite_or_none(event.val_accuracy),
                                              "train_loss": finite_or_none(event.train_loss), "status": "checkpoint"}
            write_model_atomically(self.model, self.path)


def health_monitor(model: Sequential, prepared: Any, writer: EventWriter) -> list[HealthMonitor]:
    """The per-epoch layer health (gradient sizes, dead units) sent to ``writer``, measured on
    a fixed sample of the validation images (of the training images when there are none)."""
    has_validation = prepared.x_val is not None and len(prepared.x_val) > 0
    x, y = (prepared.x_val, prepared.y_val) if has_validation else (prepared.x_train, prepared.y_train)
    return [HealthMonitor(model, x, y, listener=writer)] if len(y) else []



def validation_outputs(model: Any, prepared: Any) -> dict[str, np.ndarray]:
    """Validation probabilities, labels and image positions for the confusion matrix."""
    if prepared.x_val is None or len(prepared.x_val) == 0:
        return {}
    return {
        "val_proba": model.predict_proba(prepared.x_val),
        "y_val": np.asarray(prepared.y_val, dtype=np.int64),
        "val_indices": np.asarray(prepared.val_indices, dtype=np.int64),
    }


def lower_priority(niceness: int = TRAINING_NICENESS) -> int:
    """Make this process ``niceness`` steps nicer; the niceness it has now.

    Training yields the cores to the server's page scripts when both want them (a class
    loading pages while runs train) and takes them all when the server is idle."""
    try:
        return os.nice(niceness)
    except OSError:  # not allowed here: train at the priority we have
        return os.nice(0)


def main() -> int:
    """The child: read the job, train it, report; any failure becomes an ``error`` message."""
    lower_priority()
    # The protocol owns the real stdout; anything else printed goes to stderr (the server log).
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    writer = EventWriter(stream_sink(protocol))
    try:
        job = json.loads(sys.stdin.readline())
        control = TrainingControl()
        threading.Thread(target=_follow_commands, args=(sys.stdin, control), daemon=True).start()
        dataset = read_dataset(Path(job["folder"]) / DATASET_FILE)
        writer.send(train_job(job, dataset, writer, control))
        return 0
    except BrokenPipeError:  # the parent has gone (server killed): nobody to report to
        return 1
    except Exception as error:  # reported to the parent, which marks the job failed
        with contextlib.suppress(BrokenPipeError):
            writer.send({"type": "error", "message": f"{type(error).__name__}: {error}",
                         "traceback": traceback.format_exc()})
        return 1


if __name__ == "__main__":
    sys.exit(main())
