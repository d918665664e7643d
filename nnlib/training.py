"""The training loop: mini-batch or full-batch gradient descent, reporting progress as events.

:func:`fit` trains a :class:`~nnlib.model.Sequential` in place. Each step takes a batch,
runs forward, the fused softmax cross-entropy, backward and one optimiser update.
Progress goes to ``callbacks`` as :class:`StepEvent` / :class:`EpochEvent` /
:class:`EndEvent` objects, so a terminal progress bar and the Streamlit job runner listen
in the same way and nnlib imports neither. A :class:`TrainingControl` lets another thread
pause or stop the loop between steps. A loss that turns NaN or infinite ends training
with status ``"diverged"`` and the last finite weights.

:func:`train` is the one-call version the UI and CLI use: it builds the network from a
:class:`TrainConfig`, fits it on :class:`~nnlib.preprocessing.PreparedData`, evaluates it on
the test set and stores everything needed to use the model later in ``model.metadata``.
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Sequence

import numpy as np

from .conv import build_cnn
from .layers import Dense
from .losses import SoftmaxCrossEntropy
from .metrics import per_class_accuracy
from .model import Sequential, build_mlp
from .optimizers import Adam, Optimizer, make_optimizer
from .schedules import make_schedule
from .version import __version__

PAUSE_POLL_SECONDS = 0.05
# From this batch size on, input columns that are zero in every training sample are
# dropped before training (see Dense.restrict_inputs); below it, gathering the matching
# weight rows every step costs about what it saves.
COMPACT_MIN_BATCH = 2048
# A CNN's activations and patch matrices grow with the batch (a full batch of 48,000
# images would need several GB): larger batches are processed in chunks of this many
# images whose gradients are summed (weighted by size) into the batch's mean gradient.
CONV_CHUNK_ROWS = 512
# Full batch: the first layer works on blocks of this many rows, each without the input
# columns that are blank in every row of the block (see _InputBlocks).
INPUT_BLOCK_ROWS = 2048


class _InputBlocks:
    """The full training set as row blocks, each keeping only its own non-blank columns.

    With full-batch training the gradient is a sum over all samples, so their order does
    not matter: the rows are sorted once (by class, then by the width of the ink) so that
    similar images share a block, and each block of ``INPUT_BLOCK_ROWS`` rows drops the
    pixel columns that are zero in all of its rows. On MNIST a block then keeps about 530
    of 784 columns (against 707 for the set as a whole), and the first layer's products,
    ``x @ W`` forward and ``x.T @ g`` backward (the bulk of the work), shrink accordingly.
    The results are those of the whole-set products up to float summation order, and the
    same from run to run.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, image_width: int | None) -> None:
        nonzero = x != 0
        if image_width and x.shape[1] % image_width == 0:
            width = nonzero.reshape(len(x), -1, image_width).any(axis=1).sum(axis=1)
        else:
            width = nonzero.sum(axis=1)
        self.order = np.lexsort((width, y))
        self.y = y[self.order]
        self.blocks: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        for start in range(0, len(x), INPUT_BLOCK_ROWS):
            rows = self.order[start:start + INPUT_BLOCK_ROWS]
            columns = np.flatnonzero(nonzero[rows].any(axis=0))
            block = np.ascontiguousarray(x[rows[:, None], columns])
            self.blocks.append((start, start + len(rows), columns, block))

    def forward(self, layer: Dense, out: np.ndarray) -> np.ndarray:
        """``x @ W + b`` for the whole (sorted) set, written into ``out``."""
        weights = layer.params["W"]
        for start, stop, columns, block in self.blocks:
            np.matmul(block, weights[columns], out=out[start:stop])
        out += layer.params["b"]
        return out

    def backward(self, layer: Dense, grad_out: np.ndarray) -> None:
        """Fill ``layer.grads`` from dL/d(output) of the whole (sorted) set."""
        grad_w = layer.grads["W"]
        grad_w[...] = 0
        for start, stop, columns, block in self.blocks:
            grad_w[columns] += block.T @ grad_out[start:stop]
        np.sum(grad_out, axis=0, out=layer.grads["b"])


@contextmanager
def _restored_inputs(layer: Any):
    try:
        yield
    finally:
        if isinstance(layer, Dense):
            layer.restrict_inputs(None)


@contextmanager
def _reused_buffers(model: Sequential):
    """Dense layers reuse their training-step output arrays while the loop runs."""
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    for layer in dense:
        layer.reuse_buffers(True)
    try:
        yield
    finally:
        for layer in dense:
            layer.reuse_buffers(False)


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


# ---------------------------------------------------------------------- config
@dataclass(frozen=True)
class TrainConfig:
    """Every choice of network and optimiser, JSON-able (``to_dict``/``from_dict``).

    ``batch_size=None`` means full batch: one step per epoch over all training samples,
    as the seed study did (150 "iterations" = 150 epochs of one step).
    ``conv_channels`` empty is an MLP; ``(16, 32)`` puts two 5x5 convolution + 2x2
    max-pool stages before the Dense layers of ``hidden_sizes`` (a CNN, :func:`nnlib.conv.build_cnn`).
    """

    hidden_sizes: tuple[int, ...] = (256, 128, 64)
    conv_channels: tuple[int, ...] = ()
    activation: str = "relu"
    init: str = "he"
    dropout: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    batch_size: int | None = 128
    epochs: int = 10
    l2: float = 0.0
    schedule: str = "constant"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        object.__setattr__(self, "conv_channels", tuple(int(c) for c in self.conv_channels))
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None (full batch), got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_sizes"] = list(self.hidden_sizes)
        data["conv_channels"] = list(self.conv_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# ---------------------------------------------------------------------- the loop
def _emit(callbacks: Sequence[Callback], event: Event) -> None:
    for callback in callbacks:
        callback(event)


def _evaluate(model: Sequential, x: np.ndarray, y: np.ndarray, n_classes: int,
              blocks: _InputBlocks | None = None, first_out: np.ndarray | None = None
              ) -> tuple[float, float, list[float] | None]:
    if x is None or len(x) == 0:
        return float("nan"), float("nan"), None
    if blocks is not None:
        # The same figures from the sorted, column-compacted blocks (order does not matter).
        logits = blocks.forward(model.layers[0], first_out)
        for layer in model.layers[1:]:
            logits = layer.forward(logits, False)
        predictions = logits.argmax(axis=1)
        loss = SoftmaxCrossEntropy().forward(logits, blocks.y)
        accuracy = float(np.count_nonzero(predictions == blocks.y) / len(blocks.y))
        return loss, accuracy, per_class_accuracy(blocks.y, predictions, n_classes).tolist()
    loss_fn = SoftmaxCrossEntropy()
    predictions = np.empty(len(x), dtype=np.int64)
    total = 0.0
    batch = model.eval_batch_size
    for start in range(0, len(x), batch):
        logits = model._forward(x[start:start + batch], False)
        predictions[start:start + len(logits)] = logits.argmax(axis=1)
        total += loss_fn.forward(logits, y[start:start + batch]) * len(logits)
    accuracy = float(np.count_nonzero(predictions == y) / len(y))
    return total / len(x), accuracy, per_class_accuracy(y, predictions, n_classes).tolist()


def _one_step(model: Sequential, loss_fn: SoftmaxCrossEntropy, x: np.ndarray, y: np.ndarray,
              blocks: _InputBlocks | None, first_out: np.ndarray | None) -> tuple[float, int]:
    """Forward, loss and backward for one batch (the gradients land in the layers; none
    when the loss is not finite). Returns the batch's mean loss and its correct predictions."""
    if blocks is not None:
        logits = blocks.forward(model.layers[0], first_out)
        for layer in model.layers[1:]:
            logits = layer.forward(logits, True)
    else:
        logits = model._forward(x, True)
    loss = loss_fn.forward(logits, y)
    if not math.isfinite(loss):
        return loss, 0
    correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
    if blocks is not None:
        grad = loss_fn.backward()
        for layer in model.layers[:0:-1]:
            grad = layer.backward(grad)
        blocks.backward(model.layers[0], grad)
    else:
        model.backward(loss_fn.backward(), input_grad=False)
    return loss, correct


def _chunked_step(model: Sequential, loss_fn: SoftmaxCrossEntropy, x: np.ndarray, y: np.ndarray,
                  rows: int) -> tuple[float, int]:
    """Forward and backward over ``x`` in chunks of ``rows``; leaves the mean gradient over
    the whole batch in the model's gradients (the same as one pass, in less memory).
    Returns the batch's mean loss and its number of correct predictions."""
    total = np.zeros_like(model.flat_grads)
    loss_sum, correct = 0.0, 0
    for start in range(0, len(x), rows):
        xc, yc = x[start:start + rows], y[start:start + rows]
        logits = model._forward(xc, True)
        loss = loss_fn.forward(logits, yc)
        loss_sum += loss * len(yc)
        correct += int(np.count_nonzero(logits.argmax(axis=1) == yc))
        if not math.isfinite(loss):
            break
        model.backward(loss_fn.backward(), input_grad=False)
        total += model.flat_grads * np.asarray(len(yc) / len(x), dtype=total.dtype)
    model.flat_grads[...] = total
    return loss_sum / len(x), correct


def _params_finite(model: Sequential) -> bool:
    return all(np.isfinite(p).all() for layer in model.layers for p in layer.params.values())


def fit(model: Sequential, x_train: np.ndarray, y_train: np.ndarray, *,
        x_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
        optimizer: Optimizer | None = None, batch_size: int | None = 128, epochs: int = 10,
        schedule: Callable[[float], float] | None = None, seed: int | np.random.Generator = 0,
        callbacks: Sequence[Callback] = (), control: TrainingControl | None = None,
        augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        ) -> TrainResult:
    """Train ``model`` in place on ``(x_train, y_train)`` with softmax cross-entropy.

    Parameters
    ----------
    x_train : ndarray (n, features)
        Inputs, samples in rows; converted once to the model's dtype (float32).
    y_train : ndarray (n,)
        Integer class labels.
    x_val, y_val : optional
        Measured after every epoch (loss, accuracy, per-class accuracy).
    optimizer : Optimizer, optional
        Defaults to ``Adam(1e-3)``.
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
        ``augment(x_batch, rng) -> new x_batch`` applied to each training batch
        (must not modify its input).
    """
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
    has_val = x_val is not None and y_val is not None and len(x_val) > 0
    if has_val:
        x_val = np.ascontiguousarray(x_val, dtype=model.dtype)
        y_val = np.asarray(y_val)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    optimizer = optimizer if optimizer is not None else Adam(1e-3)
    batch = n if batch_size is None or batch_size >= n else int(batch_size)
    if batch < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    full_batch = batch == n
    steps_per_epoch = math.ceil(n / batch)
    rng = np.random.default_rng(seed)
    control = control or TrainingControl()
    loss_fn = SoftmaxCrossEntropy()
    trainable = [layer for layer in model.layers if layer.params]

    history: dict[str, list[float]] = {k: [] for k in
                                       ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")}
    per_class_history: list[list[float]] = []
    # Full batch: the first layer works on sorted row blocks without their blank columns.
    # Other large batches: drop input columns that are blank in every training sample.
    first = model.layers[0]
    blocks = val_blocks = val_out = first_out = None
    if (full_batch and isinstance(first, Dense) and augment is None and n >= 2 * INPUT_BLOCK_ROWS
            and x_train.shape[1] == first.in_features):
        side = math.isqrt(x_train.shape[1])
        blocks = _InputBlocks(x_train, y_train, side if side * side == x_train.shape[1] else None)
        y_train = blocks.y
        first_out = np.empty((n, first.out_features), dtype=model.dtype)
        if has_val and len(x_val) >= 2 * INPUT_BLOCK_ROWS and x_val.ndim == 2 and x_val.shape[1] == first.in_features:
            val_blocks = _InputBlocks(x_val, y_val, side if side * side == x_val.shape[1] else None)
            val_out = np.empty((len(x_val), first.out_features), dtype=model.dtype)
    elif batch >= COMPACT_MIN_BATCH and isinstance(first, Dense) and augment is None:
        active = np.flatnonzero(np.any(x_train != 0, axis=0))
        if len(active) < x_train.shape[1]:
            x_train = np.ascontiguousarray(x_train[:, active])
            first.restrict_inputs(active)
    # Mini-batches are gathered one at a time into a small reused buffer (it stays in the
    # CPU cache for the forward pass) instead of copying the whole shuffled set per epoch.
    x_batch = None if full_batch else np.empty((batch, x_train.shape[1]), dtype=x_train.dtype)
    chunk_rows = CONV_CHUNK_ROWS if model.is_convolutional and model.flat_grads is not None else 0
    order = np.arange(n)

    status, message = "completed", ""
    train_seconds = 0.0       # time spent in steps and evaluation, pauses excluded
    samples_seen = 0
    epochs_done = 0

    # Overflow in a diverging run is reported as status "diverged", not as warnings.
    with np.errstate(over="ignore", invalid="ignore"), _restored_inputs(first), _reused_buffers(model):
        for epoch in range(1, epochs + 1):
            clock = time.perf_counter()
            snapshot = [{k: v.copy() for k, v in layer.params.items()} for layer in trainable]
            if not full_batch:
                order = rng.permutation(n)
            loss_sum, correct = 0.0, 0
            for step in range(1, steps_per_epoch + 1):
                if control.pause.is_set() and not control.stop.is_set():
                    train_seconds += time.perf_counter() - clock
                    while control.pause.is_set() and not control.stop.is_set():
                        control.stop.wait(PAUSE_POLL_SECONDS)
                    clock = time.perf_counter()
                if control.stop.is_set():
                    status = "stopped"
                    break
                if full_batch:
                    xb, yb = x_train, y_train
                else:
                    rows = order[(step - 1) * batch:step * batch]
                    xb = np.take(x_train, rows, axis=0, out=x_batch[:len(rows)])
                    yb = y_train[rows]
                if augment is not None:
                    xb = np.ascontiguousarray(augment(xb, rng), dtype=model.dtype)
                if schedule is not None:
                    optimizer.learning_rate = float(schedule(epoch - 1 + (step - 1) / steps_per_epoch))
                if chunk_rows and len(yb) > chunk_rows:
                    loss, batch_correct = _chunked_step(model, loss_fn, xb, yb, chunk_rows)
                else:
                    loss, batch_correct = _one_step(model, loss_fn, xb, yb, blocks, first_out)
                if not math.isfinite(loss):
                    status = "diverged"
                    break
                correct += batch_correct
                loss_sum += loss * len(yb)
                optimizer.step(trainable)
                samples_seen += len(yb)
                if callbacks:
                    now = train_seconds + time.perf_counter() - clock
                    _emit(callbacks, StepEvent(epoch, step, steps_per_epoch, loss, samples_seen,
                                               now, samples_seen / now if now > 0 else 0.0))
            if status == "completed" and not _params_finite(model):
                status = "diverged"
            if status == "diverged":
                if not _params_finite(model):
                    for layer, saved in zip(trainable, snapshot):
                        for name, value in saved.items():
                            layer.params[name][...] = value
                train_seconds += time.perf_counter() - clock
                message = (f"training diverged in epoch {epoch}: the loss became NaN or infinite. "
                           f"Try a smaller learning rate (now {optimizer.learning_rate:g}). "
                           f"The weights are the last finite ones.")
                break
            if status == "stopped":
                train_seconds += time.perf_counter() - clock
                message = f"stopped by request after {epochs_done} complete epoch(s)"
                break
            epoch_train_seconds = time.perf_counter() - clock
            val_loss, val_accuracy, per_class = (_evaluate(model, x_val, y_val, n_classes, val_blocks, val_out)
                                                 if has_val else (float("nan"), float("nan"), None))
            train_seconds += time.perf_counter() - clock
            epochs_done = epoch
            train_loss, train_accuracy = loss_sum / n, correct / n
            for key, value in (("epoch", epoch), ("train_loss", train_loss), ("train_accuracy", train_accuracy),
                               ("val_loss", val_loss), ("val_accuracy", val_accuracy), ("seconds", train_seconds)):
                history[key].append(float(value))
            if per_class is not None:
                per_class_history.append(per_class)
            if callbacks:
                _emit(callbacks, EpochEvent(epoch, epochs, train_loss, train_accuracy, val_loss, val_accuracy,
                                            train_seconds, n / epoch_train_seconds if epoch_train_seconds > 0 else 0.0,
                                            per_class))
    if status == "completed":
        message = f"completed {epochs_done} epoch(s) in {train_seconds:.1f} s"
    _emit(callbacks, EndEvent(status, message))
    return TrainResult(
        status=status, message=message, history=history, per_class_val_accuracy=per_class_history,
        epochs_completed=epochs_done, seconds=train_seconds,
        samples_per_second=samples_seen / train_seconds if train_seconds > 0 else 0.0)


# ---------------------------------------------------------------------- one call
def _make_augment(prepared: Any) -> Callable[[np.ndarray, np.random.Generator], np.ndarray] | None:
    """Batch augmentation from ``prepared.config.augment`` (None when off or unavailable)."""
    config = getattr(prepared.config, "augment", None)
    if config is None:
        return None
    if getattr(config, "is_identity", False):
        return None
    from .augment import augment_images

    scaler = prepared.scaler

    def augment(batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if scaler.method == "unit":
            return augment_images(batch, config, rng)
        # Augment 0-1 pixels (blank background = 0), then scale again.
        moved = augment_images(_unscale(batch, scaler), config, rng)
        return scaler.transform(moved, already_unit=True)

    return augment


def _unscale(x: np.ndarray, scaler: Any) -> np.ndarray:
    """Back from network inputs to 0-1 pixels (inverse of ``Scaler.transform``)."""
    if scaler.method == "none":
        return x * np.float32(1 / 255)
    if scaler.method == "standardize":
        return x * np.float32(scaler.std) + np.float32(scaler.mean)
    return x


def train(prepared: Any, config: TrainConfig, callbacks: Sequence[Callback] = (),
          control: TrainingControl | None = None) -> tuple[Sequential, TrainResult]:
    """Build the network ``config`` describes, train it on ``prepared``, test it, describe it.

    Returns ``(model, result)``; ``result.test_accuracy`` is set when the data has a test
    set. ``model.metadata`` holds the architecture, the preprocessing (config and scaler,
    so that inference scales inputs the same way), the metrics, the class names, the
    training config and the nnlib version: :meth:`Sequential.save` writes it all.
    """
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
            "val_loss": _finite_or_none(result.last("val_loss")),
            "val_accuracy": _finite_or_none(result.last("val_accuracy")),
            "test_loss": result.test_loss, "test_accuracy": result.test_accuracy,
            "epochs": result.epochs_completed, "seconds": result.seconds, "status": result.status,
        },
        "nnlib_version": __version__,
        "class_names": list(prepared.class_names),
        "dataset": getattr(prepared, "dataset_name", ""),
        "train_config": config.to_dict(),
    })
    return model, result


def build_network(config: TrainConfig, input_size: int = 784, n_classes: int = 10) -> Sequential:
    """The untrained network ``config`` describes: an MLP, or a CNN when it has ``conv_channels``."""
    if config.conv_channels:
        return build_cnn(config.conv_channels, config.hidden_sizes, activation=config.activation,
                         init=config.init, dropout=config.dropout, input_size=input_size,
                         n_classes=n_classes, seed=config.seed)
    return build_mlp(config.hidden_sizes, activation=config.activation, init=config.init,
                     dropout=config.dropout, input_size=input_size, n_classes=n_classes, seed=config.seed)


def describe_network(config: TrainConfig, input_size: int = 784, n_classes: int = 10, sep: str = ", ") -> str:
    """The seed study's way of writing a network, convolutions included:
    ``[784, 256, 128, 10]``, or ``[784, conv16, conv32, 128, 10]`` for a CNN."""
    parts = [str(input_size), *(f"conv{c}" for c in config.conv_channels),
             *(str(h) for h in config.hidden_sizes), str(n_classes)]
    return "[" + sep.join(parts) + "]"


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
