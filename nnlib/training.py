"""The training loop: mini-batch or full-batch gradient descent, reporting progress as events.

:func:`fit` trains a :class:`~nnlib.model.Sequential` in place. Each step takes a batch,
runs forward, the fused softmax cross-entropy, backward and one optimiser update.
Progress goes to ``callbacks`` as :class:`StepEvent` / :class:`EpochEvent` /
:class:`EndEvent` objects, so a terminal progress bar and the Streamlit job runner listen
in the same way and nnlib imports neither. A :class:`TrainingControl` lets another thread
pause or stop the loop between steps. A run that diverges (a loss NaN, infinite or far above
its start, or an accuracy stuck at chance: :mod:`nnlib.divergence`) ends with status
``"diverged"``, a message suggesting a lower rate, and the weights from before the epoch
in which the loss blew up.

The loop runs the network through :mod:`nnlib.fast` (the same maths as the plain layers
and Adam, with less memory traffic), and cuts each epoch into steps by one strategy
chosen up front: plain mini-batches, mini-batches split between threads when BLAS is
given several (:mod:`nnlib.split_batch`), a CNN's large batches in chunks, or the full
batch of an MLP in row blocks.

:func:`train` is the one-call version the UI and CLI use: it builds the network from a
:class:`TrainConfig`, fits it on :class:`~nnlib.preprocessing.PreparedData`, evaluates it on
the test set and stores everything needed to use the model later in ``model.metadata``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
from threadpoolctl import ThreadpoolController

from .augment import augment_images
from .builders import build_network
from .divergence import DivergenceGuard
from .fast import FastPath, InputBlocks, fused_updates
from .jsonable import finite_or_none
from .layers import Dense
from .losses import SoftmaxCrossEntropy
from .metrics import per_class_accuracy
from .model import Sequential
from .optimizers import Adam, Optimizer, make_optimizer
from .preprocessing import PreparedData
from .schedules import make_schedule
from .split_batch import MIN_ROWS_PER_PART, SplitBatchStep, blas_threads, splittable
from .train_config import TrainConfig
from .version import __version__

__all__ = ["EndEvent", "EpochEvent", "StepEvent", "TrainConfig", "TrainingControl", "TrainResult", "fit", "train"]

PAUSE_POLL_SECONDS = 0.05
# From this batch size on, input columns that are zero in every training sample are
# dropped before training (see nnlib.fast.FastDense); below it, gathering the matching
# weight rows every step costs about what it saves.
COMPACT_MIN_BATCH = 2048
# A CNN's activations and patch matrices grow with the batch (a full batch of 48,000
# images would need several GB): larger batches are processed in chunks of this many
# images whose gradients are summed (weighted by size) into the batch's mean gradient.
CONV_CHUNK_ROWS = 512
HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")
Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]
Scores = tuple[float, float, "list[float] | None"]   # loss, accuracy, per-class accuracy
NO_SCORES: Scores = (float("nan"), float("nan"), None)


# ---------------------------------------------------------------------- events
@dataclass(frozen=True)
class StepEvent:
    """After each optimisation step. ``epoch`` and ``step`` count from 1; ``seconds`` is
    training time since the start (pauses excluded); ``loss`` is this batch's loss."""

    epoch: int
    step: int
    steps_per_epoch: int
    loss: float
    samples_seen: int
    seconds: float
    samples_per_second: float


@dataclass(frozen=True)
class EpochEvent:
    """After each epoch. Train loss/accuracy are averages over the epoch's batches (as
    the weights moved); validation figures are measured after the epoch, and are NaN
    without a validation set. ``samples_per_second`` is this epoch's training speed."""

    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float
    samples_per_second: float
    per_class_val_accuracy: list[float] | None = None


@dataclass(frozen=True)
class EndEvent:
    """Once, at the end: ``status`` is "completed", "stopped" or "diverged"."""

    status: str
    message: str


Event = StepEvent | EpochEvent | EndEvent
Callback = Callable[[Event], None]


class TrainingControl:
    """Pause and stop a running :func:`fit` from another thread (checked between steps).

    ``stop`` and ``pause`` are :class:`threading.Event`; training is paused while
    ``pause`` is set and ends cleanly (status "stopped") once ``stop`` is set.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.pause = threading.Event()

    def request_stop(self) -> None:
        self.stop.set()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.pause.set()
        else:
            self.pause.clear()


@dataclass
class TrainResult:
    """What :func:`fit` reports. ``history`` has one entry per completed epoch under the
    keys ``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``,
    ``seconds`` (cumulative training seconds)."""

    status: str
    message: str
    history: dict[str, list[float]]
    per_class_val_accuracy: list[list[float]]
    epochs_completed: int
    seconds: float
    samples_per_second: float
    test_accuracy: float | None = None
    test_loss: float | None = None

    def last(self, key: str) -> float | None:
        """The last value of a history series (``None`` before the first epoch)."""
        values = self.history.get(key) or []
        return values[-1] if values else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------- one step
def _one_step(path: FastPath, loss_fn: SoftmaxCrossEntropy, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Forward, loss and backward for one batch (the gradients land in the layers; none
    when the loss is not finite). Returns the batch's mean loss and its correct predictions."""
    logits = path.forward(x, True)
    loss = loss_fn.forward(logits, y)
    if not math.isfinite(loss):
        return loss, 0
    correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
    path.backward(loss_fn.backward())
    return loss, correct


def _chunked_step(model: Sequential, loss_fn: SoftmaxCrossEntropy, x: np.ndarray, y: np.ndarray,
                  rows: int, path: FastPath | None = None) -> tuple[float, int]:
    """Forward and backward over ``x`` in chunks of ``rows``; leaves the mean gradient over
    the whole batch in the model's gradients (the same as one pass, in less memory).
    Returns the batch's mean loss and its number of correct predictions."""
    path = path or FastPath(model)
    total = np.zeros_like(model.flat_grads)
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), rows):
        xc, yc = x[start:start + rows], y[start:start + rows]
        logits = path.forward(xc, True)
        loss = loss_fn.forward(logits, yc)
        loss_sum += loss * len(yc)
        correct += int(np.count_nonzero(logits.argmax(axis=1) == yc))
        if not math.isfinite(loss):
            break
        path.backward(loss_fn.backward())
        total += model.flat_grads * np.asarray(len(yc) / len(x), dtype=total.dtype)
    model.flat_grads[...] = total
    return loss_sum / len(x), correct


# ---------------------------------------------------------------------- step strategies
class Steps(Protocol):
    """How an epoch is cut into optimisation steps: the strategy :func:`fit` picks once."""

    steps_per_epoch: int
    model: Sequential

    def start_epoch(self, rng: np.random.Generator) -> None: ...

    def step(self, step: int, rng: np.random.Generator) -> tuple[float, int, int]:
        """Forward and backward for step ``step`` (from 1): (mean loss, correct, samples)."""
        ...

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> Scores: ...

    def close(self) -> None:
        """Release what the strategy holds beyond the arrays (worker threads)."""
        ...


class MiniBatches:
    """Plain mini-batch steps: a new shuffle every epoch, each batch gathered into one
    reused buffer (it stays in the CPU cache for the forward pass). A batch of the whole
    set (full batch) is the set as it is, unshuffled. From ``COMPACT_MIN_BATCH`` rows on,
    input columns blank in every training sample are dropped once (see FastDense)."""

    def __init__(self, model: Sequential, x: np.ndarray, y: np.ndarray, batch: int,
                 augment: Augment | None) -> None:
        self.model, self.y, self.batch, self.augment = model, y, batch, augment
        self.n = len(x)
        self.steps_per_epoch = math.ceil(self.n / batch)
        self.full_batch = batch == self.n
        active = None
        if batch >= COMPACT_MIN_BATCH and isinstance(model.layers[0], Dense) and augment is None:
            columns = np.flatnonzero(np.any(x != 0, axis=0))
            if len(columns) < x.shape[1]:
                x, active = np.ascontiguousarray(x[:, columns]), columns
        self.x, self.active = x, active
        self.path = FastPath(model, active)
        self.loss_fn = SoftmaxCrossEntropy()
        self.buffer = None if self.full_batch else np.empty((batch, x.shape[1]), dtype=x.dtype)
        self.order = np.arange(self.n)

    def start_epoch(self, rng: np.random.Generator) -> None:
        if not self.full_batch:
            self.order = rng.permutation(self.n)

    def batch_of(self, step: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The inputs and labels of step ``step`` (augmented when asked)."""
        if self.full_batch:
            xb, yb = self.x, self.y
        else:
            rows = self.order[(step - 1) * self.batch:step * self.batch]
            xb = np.take(self.x, rows, axis=0, out=self.buffer[:len(rows)])
            yb = self.y[rows]
        if self.augment is not None:
            xb = np.ascontiguousarray(self.augment(xb, rng), dtype=self.model.dtype)
        return xb, yb

    def step(self, step: int, rng: np.random.Generator) -> tuple[float, int, int]:
        xb, yb = self.batch_of(step, rng)
        loss, correct = _one_step(self.path, self.loss_fn, xb, yb)
        return loss, correct, len(yb)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> Scores:
        scores = self.model.evaluate(x, y, per_class=True)
        return scores["loss"], scores["accuracy"], scores["per_class_accuracy"]

    def close(self) -> None:
        """Release what the strategy holds beyond the arrays (nothing here)."""


class SplitBatches(MiniBatches):
    """Mini-batches split between as many threads as BLAS is given, one part each, with a
    single-threaded BLAS inside each (see :mod:`nnlib.split_batch`)."""

    def __init__(self, model: Sequential, x: np.ndarray, y: np.ndarray, batch: int,
                 augment: Augment | None, parts: int, controller: ThreadpoolController) -> None:
        super().__init__(model, x, y, batch, augment)
        self.split_step = SplitBatchStep(model, self.path, parts, controller, self.active)

    def step(self, step: int, rng: np.random.Generator) -> tuple[float, int, int]:
        xb, yb = self.batch_of(step, rng)
        loss, correct = self.split_step(xb, yb)
        return loss, correct, len(yb)

    def close(self) -> None:
        self.split_step.close()


class ChunkedBatches(MiniBatches):
    """A CNN's mini-batches larger than ``rows``: each is processed in chunks of ``rows``
    images (see :func:`_chunked_step`), the same mean gradient in bounded memory."""

    def __init__(self, model: Sequential, x: np.ndarray, y: np.ndarray, batch: int,
                 augment: Augment | None, rows: int) -> None:
        super().__init__(model, x, y, batch, augment)
        self.rows = rows

    def step(self, step: int, rng: np.random.Generator) -> tuple[float, int, int]:
        xb, yb = self.batch_of(step, rng)
        if len(yb) <= self.rows:
            loss, correct = _one_step(self.path, self.loss_fn, xb, yb)
        else:
            loss, correct = _chunked_step(self.model, self.loss_fn, xb, yb, self.rows, self.path)
        return loss, correct, len(yb)


class BlockedFullBatch:
    """Full batch for an MLP on many samples: one step per epoch, the first layer on the
    training set sorted into :class:`~nnlib.fast.InputBlocks` (and the validation set
    too when it is large enough), the other layers through the fast path."""

    steps_per_epoch = 1

    def __init__(self, model: Sequential, x: np.ndarray, y: np.ndarray,
                 x_val: np.ndarray | None, y_val: np.ndarray | None) -> None:
        first = model.layers[0]
        if not isinstance(first, Dense):
            raise TypeError(f"full batch in row blocks needs a Dense first layer, got {first.kind}")
        self.model, self.first = model, first
        self.path = FastPath(model)
        self.loss_fn = SoftmaxCrossEntropy()
        self.blocks = InputBlocks.of_images(x, y)
        self.out = np.empty((len(x), self.first.out_features), dtype=model.dtype)
        self.val_blocks: InputBlocks | None = None
        self.val_out = np.empty((0, first.out_features), dtype=model.dtype)
        if x_val is not None and y_val is not None and InputBlocks.fits(first, x_val):
            self.val_blocks = InputBlocks.of_images(x_val, y_val)
            self.val_out = np.empty((len(x_val), self.first.out_features), dtype=model.dtype)

    def start_epoch(self, rng: np.random.Generator) -> None:
        pass

    def step(self, step: int, rng: np.random.Generator) -> tuple[float, int, int]:
        y = self.blocks.y
        logits = self.path.forward(self.blocks.forward(self.first, self.out), True, start=1)
        loss = self.loss_fn.forward(logits, y)
        if not math.isfinite(loss):
            return loss, 0, len(y)
        correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
        self.blocks.backward(self.first, self.path.backward(self.loss_fn.backward(), stop=1))
        return loss, correct, len(y)

    def close(self) -> None:
        """Release what the strategy holds beyond the arrays (nothing here)."""

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> Scores:
        if self.val_blocks is None:
            scores = self.model.evaluate(x, y, per_class=True)
            return scores["loss"], scores["accuracy"], scores["per_class_accuracy"]
        # The same figures from the sorted, column-compacted blocks (order does not matter).
        y = self.val_blocks.y
        logits = self.path.forward(self.val_blocks.forward(self.first, self.val_out), False, start=1)
        predictions = logits.argmax(axis=1)
        loss = SoftmaxCrossEntropy().forward(logits, y)
        accuracy = float(np.count_nonzero(predictions == y) / len(y))
        return loss, accuracy, per_class_accuracy(y, predictions, self.model.n_classes).tolist()


def choose_steps(model: Sequential, x: np.ndarray, y: np.ndarray, batch: int, augment: Augment | None,
                 x_val: np.ndarray | None, y_val: np.ndarray | None) -> Steps:
    """The step strategy for this model, data and batch size, chosen once before training."""
    if batch == len(x) and augment is None and InputBlocks.fits(model.layers[0], x):
        return BlockedFullBatch(model, x, y, x_val, y_val)
    if model.is_convolutional and model.flat_grads is not None and batch > CONV_CHUNK_ROWS:
        return ChunkedBatches(model, x, y, batch, augment, CONV_CHUNK_ROWS)
    controller = ThreadpoolController()
    parts = min(blas_threads(controller), batch // MIN_ROWS_PER_PART)
    if parts >= 2 and batch < len(x) and splittable(model):
        return SplitBatches(model, x, y, batch, augment, parts, controller)
    return MiniBatches(model, x, y, batch, augment)


# ---------------------------------------------------------------------- the loop
def _emit(callbacks: Sequence[Callback], event: Event) -> None:
    for callback in callbacks:
        callback(event)


@dataclass
class _Run:
    """The bookkeeping of one :func:`fit`: training time (pauses excluded), samples seen,
    the history, and the events that report them."""

    epochs: int
    n: int
    callbacks: Sequence[Callback]
    seconds: float = 0.0
    clock: float = 0.0
    samples_seen: int = 0
    epochs_done: int = 0
    history: dict[str, list[float]] = field(default_factory=lambda: {key: [] for key in HISTORY_KEYS})
    per_class: list[list[float]] = field(default_factory=list)

    def start_clock(self) -> None:
        self.clock = time.perf_counter()

    def stop_clock(self) -> None:
        self.seconds += time.perf_counter() - self.clock

    def step_done(self, epoch: int, step: int, steps_per_epoch: int, loss: float, rows: int) -> None:
        self.samples_seen += rows
        if self.callbacks:
            now = self.seconds + time.perf_counter() - self.clock
            _emit(self.callbacks, StepEvent(epoch, step, steps_per_epoch, loss, self.samples_seen,
                                            now, self.samples_seen / now if now > 0 else 0.0))

    def epoch_done(self, epoch: int, loss_sum: float, correct: int, epoch_seconds: float, scores: Scores) -> None:
        self.epochs_done = epoch
        train_loss, train_accuracy = loss_sum / self.n, correct / self.n
        val_loss, val_accuracy, per_class = scores
        for key, value in zip(HISTORY_KEYS, (epoch, train_loss, train_accuracy, val_loss, val_accuracy,
                                              self.seconds)):
            self.history[key].append(float(value))
        if per_class is not None:
            self.per_class.append(per_class)
        if self.callbacks:
            _emit(self.callbacks, EpochEvent(epoch, self.epochs, train_loss, train_accuracy, val_loss, val_accuracy,
                                             self.seconds, self.n / epoch_seconds if epoch_seconds > 0 else 0.0,
                                             per_class))

    def result(self, status: str, message: str) -> TrainResult:
        return TrainResult(status=status, message=message, history=self.history,
                           per_class_val_accuracy=self.per_class, epochs_completed=self.epochs_done,
                           seconds=self.seconds,
                           samples_per_second=self.samples_seen / self.seconds if self.seconds > 0 else 0.0)


def _checked_data(model: Sequential, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray | None,
                  y_val: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The training (and validation, or None) arrays in the model's dtype; a ValueError
    saying what is wrong with them otherwise."""
    x_train = np.ascontiguousarray(x_train, dtype=model.dtype)
    y_train = np.asarray(y_train)
    n = len(x_train)
    if n == 0:
        raise ValueError("no training samples")
    if y_train.shape != (n,):
        raise ValueError(f"y_train must have shape ({n},), got {y_train.shape}")
    if x_train.ndim != 2 or x_train.shape[1] != model.input_size:
        raise ValueError(f"x_train must be (n, {model.input_size}), got {x_train.shape}")
    n_classes = model.n_classes
    if y_train.min() < 0 or y_train.max() >= n_classes:
        raise ValueError(f"labels must be in 0..{n_classes - 1}, found {y_train.min()}..{y_train.max()}")
    if x_val is None or y_val is None or len(x_val) == 0:
        return x_train, y_train, None, None
    return x_train, y_train, np.ascontiguousarray(x_val, dtype=model.dtype), np.asarray(y_val)


def _batch_rows(batch_size: int | None, n: int) -> int:
    """Samples per step: ``n`` for full batch (``None`` or at least ``n``)."""
    batch = n if batch_size is None or batch_size >= n else int(batch_size)
    if batch < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return batch


def _wait_while_paused(control: TrainingControl, run: _Run) -> None:
    """Block while ``control`` is paused and not stopped; the wait is not training time."""
    if control.pause.is_set() and not control.stop.is_set():
        run.stop_clock()
        while control.pause.is_set() and not control.stop.is_set():
            control.stop.wait(PAUSE_POLL_SECONDS)
        run.start_clock()


def _train_epoch(steps: Steps, update: Callable[[], None], optimizer: Optimizer,
                 schedule: Callable[[float], float] | None, rng: np.random.Generator,
                 control: TrainingControl, run: _Run, epoch: int, guard: DivergenceGuard) -> tuple[str, float, int]:
    """One pass over the data. Returns the status ("completed", "stopped" or "diverged": a
    loss not finite or blown up (``guard``), or a weight not finite), the summed loss (mean
    loss times samples, over the batches) and the number of correct predictions."""
    steps.start_epoch(rng)
    loss_sum, correct = 0.0, 0
    for step in range(1, steps.steps_per_epoch + 1):
        _wait_while_paused(control, run)
        if control.stop.is_set():
            return "stopped", loss_sum, correct
        if schedule is not None:
            optimizer.learning_rate = float(schedule(epoch - 1 + (step - 1) / steps.steps_per_epoch))
        loss, batch_correct, rows = steps.step(step, rng)
        if guard.step(loss):
            return "diverged", loss_sum, correct
        loss_sum += loss * rows
        correct += batch_correct
        update()
        run.step_done(epoch, step, steps.steps_per_epoch, loss, rows)
    if not _params_finite(steps.model):
        guard.reason, guard.blew_up = "a weight became NaN or infinite", True
        return "diverged", loss_sum, correct
    return "completed", loss_sum, correct


def _params_finite(model: Sequential) -> bool:
    return all(np.isfinite(p).all() for layer in model.layers for p in layer.params.values())


def fit(model: Sequential, x_train: np.ndarray, y_train: np.ndarray, *,
        x_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
        optimizer: Optimizer | None = None, batch_size: int | None = 128, epochs: int = 10,
        schedule: Callable[[float], float] | None = None, seed: int | np.random.Generator = 0,
        callbacks: Sequence[Callback] = (), control: TrainingControl | None = None,
        augment: Augment | None = None) -> TrainResult:
    """Train ``model`` in place on ``(x_train, y_train)`` with softmax cross-entropy.

    (Most of its length is this parameter list; the loop below is the epoch loop and nothing
    else: checks, step strategy and divergence rules live in their own functions.)

    Parameters
    ----------
    x_train : ndarray (n, features)
        Inputs, samples in rows; converted once to the model's dtype (float32).
    y_train : ndarray (n,)
        Integer class labels.
    x_val, y_val : optional
        Measured after every epoch (loss, accuracy, per-class accuracy).
    optimizer : Optimizer, optional
        Defaults to ``Adam(1e-3)``; Adam runs as :class:`nnlib.fast.FusedAdam`.
    batch_size : int or None
        Samples per step; ``None`` (or >= n) = full batch, one step per epoch.
    epochs : int
        Passes over the training data.
    schedule : callable, optional
        ``schedule(progress_in_epochs) -> learning_rate``, applied before every step.
    seed : int or Generator
        Drives the per-epoch shuffle (and ``augment``): same seed, same run.
    callbacks : sequence of callables
        Each receives every :class:`StepEvent`, :class:`EpochEvent` and the final :class:`EndEvent`.
    control : TrainingControl, optional
        Pause/stop from another thread.
    augment : callable, optional
        ``augment(x_batch, rng) -> new x_batch`` for each training batch (leaves its input alone).
    """
    x_train, y_train, x_val, y_val = _checked_data(model, x_train, y_train, x_val, y_val)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    batch = _batch_rows(batch_size, len(x_train))
    optimizer = optimizer if optimizer is not None else Adam(1e-3)
    rng = np.random.default_rng(seed)
    control = control or TrainingControl()
    steps = choose_steps(model, x_train, y_train, batch, augment, x_val, y_val)
    run = _Run(epochs, len(x_train), callbacks)
    guard = DivergenceGuard(model.n_classes or 2)
    status, message = "completed", ""
    # Overflow in a diverging run is reported as status "diverged", not as warnings.
    with np.errstate(over="ignore", invalid="ignore"), closing(steps), fused_updates(optimizer, model) as update:
        for epoch in range(1, epochs + 1):
            run.start_clock()
            snapshot = _snapshot(model)
            status, loss_sum, correct = _train_epoch(steps, update, optimizer, schedule, rng, control, run, epoch,
                                                     guard)
            if status != "completed":
                run.stop_clock()
                message = _end_message(status, model, snapshot, epoch, run.epochs_done, optimizer, guard)
                break
            epoch_seconds = time.perf_counter() - run.clock
            scores = steps.evaluate(x_val, y_val) if x_val is not None else NO_SCORES
            run.stop_clock()
            run.epoch_done(epoch, loss_sum, correct, epoch_seconds, scores)
            if guard.epoch(epoch, loss_sum / run.n, correct / run.n, scores[1]):
                status = "diverged"
                message = _end_message(status, model, snapshot, epoch, run.epochs_done, optimizer, guard)
                break
    if status == "completed":
        message = f"completed {run.epochs_done} epoch(s) in {run.seconds:.1f} s"
    _emit(callbacks, EndEvent(status, message))
    return run.result(status, message)


def _snapshot(model: Sequential) -> list[dict[str, np.ndarray]]:
    """Copies of every layer's parameters and buffers (BatchNorm's running averages)."""
    return [{**{f"param:{k}": v.copy() for k, v in layer.params.items()},
             **{f"buffer:{k}": v.copy() for k, v in layer.buffers.items()}} for layer in model.layers]


def _restore(model: Sequential, snapshot: list[dict[str, np.ndarray]]) -> None:
    """Put back what :func:`_snapshot` copied, in place."""
    for layer, saved in zip(model.layers, snapshot, strict=True):
        for key, value in saved.items():
            kind, name = key.split(":", 1)
            (layer.params if kind == "param" else layer.buffers)[name][...] = value


def _end_message(status: str, model: Sequential, snapshot: list[dict[str, np.ndarray]], epoch: int,
                 epochs_done: int, optimizer: Optimizer, guard: DivergenceGuard) -> str:
    """Why training ended early; a diverged run gets back the weights from before the epoch
    in which it diverged (an accuracy stuck at chance keeps its own: they are no worse)."""
    if status == "stopped":
        return f"stopped by request after {epochs_done} complete epoch(s)"
    restore = not _params_finite(model) or guard.blew_up
    if restore:
        _restore(model, snapshot)
    kept = f"the weights are those from before epoch {epoch}" if restore else "the weights are the last ones"
    return (f"training diverged in epoch {epoch}: {guard.reason}. "
            f"Try a smaller learning rate (now {optimizer.learning_rate:g}); {kept}.")


# ---------------------------------------------------------------------- one call
def _make_augment(prepared: PreparedData) -> Augment | None:
    """Batch augmentation from ``prepared.config.augment`` (None when off)."""
    config = prepared.config.augment
    if config is None or config.is_identity:
        return None
    scaler = prepared.scaler

    def augment(batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if scaler.method == "unit":
            return augment_images(batch, config, rng)
        # Augment 0-1 pixels (blank background = 0), then scale again.
        moved = augment_images(scaler.inverse_transform(batch), config, rng)
        return scaler.transform(moved, already_unit=True)

    return augment


def train(prepared: PreparedData, config: TrainConfig, callbacks: Sequence[Callback] = (),
          control: TrainingControl | None = None, model: Sequential | None = None) -> tuple[Sequential, TrainResult]:
    """Build the network ``config`` describes, train it on ``prepared``, test it, describe it.

    ``model``, when given, is trained instead of a new one (a caller that checkpoints each
    epoch keeps a reference to it; a checkpoint can be trained on).

    Returns ``(model, result)``; ``result.test_accuracy`` is set when the data has a test
    set. ``model.metadata`` holds the architecture, the preprocessing (config and scaler,
    so that inference scales inputs the same way), the metrics, the class names, the
    training config and the nnlib version: :meth:`Sequential.save` writes it all.
    """
    if model is None:
        model = build_network(config, input_size=prepared.x_train.shape[1], n_classes=len(prepared.class_names))
    optimizer = make_optimizer(config.optimizer, config.learning_rate, momentum=config.momentum,
                               nesterov=config.nesterov, l2=config.l2)
    schedule = make_schedule(config.schedule, config.learning_rate, config.epochs)
    result = fit(model, prepared.x_train, prepared.y_train, x_val=prepared.x_val, y_val=prepared.y_val,
                 optimizer=optimizer, batch_size=config.batch_size, epochs=config.epochs,
                 schedule=schedule, seed=config.seed, callbacks=callbacks, control=control,
                 augment=_make_augment(prepared))
    if prepared.x_test is not None and prepared.y_test is not None and len(prepared.x_test):
        scores = model.evaluate(prepared.x_test, prepared.y_test)
        result.test_accuracy, result.test_loss = scores["accuracy"], scores["loss"]
    model.metadata.update({
        "architecture": model.architecture(),
        "preprocessing": {"config": prepared.config.to_dict(), "scaler": prepared.scaler.to_dict()},
        "metrics": {
            "train_loss": result.last("train_loss"), "train_accuracy": result.last("train_accuracy"),
            "val_loss": finite_or_none(result.last("val_loss")),
            "val_accuracy": finite_or_none(result.last("val_accuracy")),
            "test_loss": result.test_loss, "test_accuracy": result.test_accuracy,
            "epochs": result.epochs_completed, "seconds": result.seconds, "status": result.status,
        },
        "nnlib_version": __version__,
        "class_names": list(prepared.class_names),
        "dataset": prepared.dataset_name,
        "train_config": config.to_dict(),
    })
    return model, result
