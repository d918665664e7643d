"""The training runs of one browser session: kept, listed, capped, and one of them active.

A run is what the Train page leaves behind when a job ends: its configs, its history,
its trained model. The Predict page asks for the active run's model, and falls back
to the bundled default model when there is none.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from . import state

MAX_RUNS = 12


@dataclass(eq=False)
class RunRecord:
    """One finished (completed, stopped or diverged) training run."""

    id: str
    name: str
    model: Any  # nnlib.model.Sequential
    train_config: Any  # nnlib.training.TrainConfig
    preprocess_config: Any  # nnlib.preprocessing.PreprocessConfig
    scaler: Any  # nnlib.preprocessing.Scaler, to turn raw pixels into this model's inputs
    result: Any  # nnlib.training.TrainResult
    dataset_name: str = "MNIST"
    class_names: tuple[str, ...] = tuple(str(d) for d in range(10))
    created_at: float = field(default_factory=time.time)
    extras: dict[str, Any] = field(default_factory=dict)


def get_runs() -> list[RunRecord]:
    """This session's runs, oldest first."""
    return st.session_state.setdefault(state.RUNS, [])


def add_run(run: RunRecord) -> list[RunRecord]:
    """Keep ``run``; drop the oldest beyond ``MAX_RUNS`` and return the dropped ones."""
    runs = get_runs()
    runs.append(run)
    dropped = []
    while len(runs) > MAX_RUNS:
        dropped.append(runs.pop(0))
    if st.session_state.get(state.ACTIVE_RUN_ID) in {r.id for r in dropped}:
        st.session_state[state.ACTIVE_RUN_ID] = None
    return dropped


def find_run(run_id: str | None) -> RunRecord | None:
    return next((run for run in get_runs() if run.id == run_id), None)


def get_active_run() -> RunRecord | None:
    """The run the user chose for predictions, or None (use the bundled default model)."""
    return find_run(st.session_state.get(state.ACTIVE_RUN_ID))


def set_active_run(run_id: str | None) -> None:
    st.session_state[state.ACTIVE_RUN_ID] = run_id


# ---------------------------------------------------------------------- Train page helpers
# Everything below is added by the Train page: presets, turning finished jobs into runs,
# the runs table, and what the page shows of one run (numbers computed with nnlib).
import functools  # noqa: E402
import io  # noqa: E402

import numpy as np  # noqa: E402

from nnlib.metrics import confusion_matrix  # noqa: E402
from nnlib.model import Sequential  # noqa: E402
from nnlib.preprocessing import PreprocessConfig, Scaler, flatten, split_indices, split_sizes  # noqa: E402
from nnlib.builders import build_network, describe_network  # noqa: E402
from nnlib.training import TrainConfig  # noqa: E402

# The seed study trained four networks by full-batch gradient descent for 150 iterations.
# Its write-up names the best, [784, 256, 128, 64, 10] (92% validation), and the worst,
# [784, 32, 10] (83%); the two in between are not named, so we pick [784, 128, 10] and
# [784, 128, 64, 10]. Learning rate 0.1 with the study's initialisation reproduces 92%.
SEED_STUDY_ARCHITECTURES: tuple[tuple[int, ...], ...] = ((256, 128, 64), (128, 64), (128,), (32,))
SEED_STUDY_TRAIN = TrainConfig(hidden_sizes=(256, 128, 64), activation="relu", init="seed",
                               optimizer="sgd", learning_rate=0.1, batch_size=None, epochs=150)
# Adam on mini-batches, cosine schedule: measured 98.2% validation, 98.4% test accuracy after
# 10 epochs on 48,000 images (about 30 s on one core); [784, 256, 128, 10] stops at 97.9%.
FAST_AND_ACCURATE_TRAIN = TrainConfig(hidden_sizes=(512, 256), activation="relu", init="he",
                                      optimizer="adam", learning_rate=1e-3, batch_size=128, epochs=10,
                                      schedule="cosine")

# Two 5x5 convolutions (16 and 32 filters, each with a 2x2 max-pool) before one dense
# layer of 128: 80,202 parameters (a third of the MLP's); measured 99.09% test accuracy
# after 3 epochs and 99.19% after 4, 44-48 s on 60,000 images (benchmarks/bench_cnn.py).
CNN_TRAIN = TrainConfig(conv_channels=(16, 32), hidden_sizes=(128,), activation="relu", init="he",
                        optimizer="adam", learning_rate=2e-3, batch_size=128, epochs=4, schedule="cosine")


def seed_study_configs(seed: int = 0) -> list[TrainConfig]:
    """The seed study's four networks (same optimiser, init and iterations; different layers)."""
    from dataclasses import replace

    return [replace(SEED_STUDY_TRAIN, hidden_sizes=sizes, seed=seed) for sizes in SEED_STUDY_ARCHITECTURES]


def describe_config(config: TrainConfig, n_classes: int = 10) -> str:
    """A short label: ``[784-256-128-10] adam lr 0.001, batch 128, 10 epochs``
    (``[784-conv16-conv32-128-10] ...`` for a CNN)."""
    sizes = describe_network(config, 784, n_classes, sep="-")[1:-1]
    batch = "full batch" if config.batch_size is None else f"batch {config.batch_size}"
    length = f"{config.epochs} iterations" if config.batch_size is None else f"{config.epochs} epochs"
    return f"[{sizes}] {config.optimizer} lr {config.learning_rate:g}, {batch}, {length}"


@functools.lru_cache(maxsize=64)
def architecture_table(hidden_sizes: tuple[int, ...], activation: str = "relu", dropout: float = 0.0,
                       input_size: int = 784, n_classes: int = 10,
                       conv_channels: tuple[int, ...] = ()) -> tuple[list[dict], int]:
    """The layers of the network these settings build: rows for a table, and the parameter count.

    Built with ``nnlib.training.build_network`` (cached by settings), so the table is what
    trains; ``output`` is each layer's output shape for one image.
    """
    config = TrainConfig(hidden_sizes=hidden_sizes, conv_channels=conv_channels, activation=activation,
                         dropout=dropout, seed=0)
    model = build_network(config, input_size=input_size, n_classes=n_classes)
    rows = []
    for row, shape in zip(model.layer_table(), model.output_shapes()):
        rows.append({
            "layer": row["name"], "kind": row["kind"],
            "output": "x".join(map(str, shape)),
            "weights W": "" if row["weight_shape"] is None else " x ".join(map(str, row["weight_shape"])),
            "parameters": row["params"],
        })
    return rows, model.parameter_count


def split_counts(n_images: int, preprocess_config: PreprocessConfig) -> tuple[int, int, int]:
    """How many images the config uses, trains on and validates on: ``(used, train, val)``."""
    n_used = n_images if preprocess_config.train_size is None else min(preprocess_config.train_size, n_images)
    return (n_used, *split_sizes(n_used, preprocess_config.val_fraction))


def next_run_number() -> int:
    number = st.session_state.get(state.TRAIN_RUN_COUNTER, 0) + 1
    st.session_state[state.TRAIN_RUN_COUNTER] = number
    return number


def run_from_output(output, run_id: str, number: int) -> RunRecord:
    """A :class:`RunRecord` from a finished job task (``dashboard.jobs.TaskOutput``)."""
    return RunRecord(
        id=run_id, name=f"#{number} {output.label}", model=output.model,
        train_config=output.train_config, preprocess_config=output.preprocess_config,
        scaler=output.scaler, result=output.result, dataset_name=output.dataset_name or "MNIST",
        class_names=tuple(output.class_names) or tuple(str(d) for d in range(10)),
        extras=dict(output.extras),
    )


def harvest_job(job) -> tuple[list[RunRecord], list[RunRecord]]:
    """Add the job's finished tasks not yet taken to this session's runs.

    Returns ``(new_runs, dropped_runs)``; a note about dropped runs is kept for the page.
    Safe to call on every rerun: each task output is taken once per session.
    """
    if job is None:
        return [], []
    harvested: set = st.session_state.setdefault(state.TRAIN_HARVESTED, set())
    new_runs, dropped = [], []
    for index, output in enumerate(job.outputs):
        run_id = f"{job.id}:{index}"
        if run_id in harvested:
            continue
        harvested.add(run_id)
        run = run_from_output(output, run_id, next_run_number())
        new_runs.append(run)
        dropped += add_run(run)
    if dropped:
        st.session_state[state.TRAIN_DROPPED_NOTE] = (
            f"Only the last {MAX_RUNS} runs are kept: dropped "
            + ", ".join(run.name for run in dropped) + ".")
    return new_runs, dropped


def _metric(run: RunRecord, key: str) -> float | None:
    result = run.result
    if result is not None:
        value = result.test_accuracy if key == "test_accuracy" else result.last(key)
    else:
        value = (run.model.metadata.get("metrics") or {}).get(key)
    return None if value is None or not np.isfinite(value) else float(value)


def run_table_rows(runs: list[RunRecord]) -> list[dict]:
    """One row per run: its settings, final metrics and time (for ``st.dataframe``)."""
    rows = []
    for run in runs:
        config, result = run.train_config, run.result
        rows.append({
            "run": run.name,
            "layers": describe_network(config, 784, len(run.class_names)) if config else "uploaded",
            "optimizer": config.optimizer if config else "",
            "learning rate": config.learning_rate if config else None,
            "batch": ("full" if config.batch_size is None else str(config.batch_size)) if config else "",
            "epochs": result.epochs_completed if result else None,
            "status": result.status if result else "uploaded",
            "train acc": _metric(run, "train_accuracy"),
            "val acc": _metric(run, "val_accuracy"),
            "test acc": _metric(run, "test_accuracy"),
            "val loss": _metric(run, "val_loss"),
            "seconds": round(result.seconds, 1) if result else None,
            "samples/s": int(result.samples_per_second) if result else None,
            "active": "✓" if st.session_state.get(state.ACTIVE_RUN_ID) == run.id else "",
        })
    return rows


def validation_predictions(run: RunRecord) -> np.ndarray | None:
    """Predicted class per validation image, from the probabilities kept with the run."""
    proba = run.extras.get("val_proba")
    if proba is None:
        return None
    return np.nan_to_num(proba, nan=0.0).argmax(axis=1).astype(np.int64)


def run_confusion(run: RunRecord) -> np.ndarray | None:
    """The run's confusion matrix on its validation set (rows = true), or None without one."""
    predicted = validation_predictions(run)
    if predicted is None:
        return None
    return confusion_matrix(run.extras["y_val"], predicted, len(run.class_names))


def cell_examples(run: RunRecord, true_class: int, predicted_class: int, limit: int = 12
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Validation images in one confusion-matrix cell: their dataset indices, their
    probabilities ``(m, k)`` (most confident mistakes first) and how many there are in all."""
    predicted = validation_predictions(run)
    if predicted is None:
        return np.empty(0, np.int64), np.empty((0, len(run.class_names)), np.float32), 0
    proba = run.extras["val_proba"]
    rows = np.flatnonzero((run.extras["y_val"] == true_class) & (predicted == predicted_class))
    order = rows[np.argsort(-np.nan_to_num(proba[rows, predicted_class]), kind="stable")][:limit]
    return run.extras["val_indices"][order], proba[order], len(rows)


def model_npz_bytes(run: RunRecord) -> bytes:
    """The run's model as an ``.npz`` file (``Sequential.save``), made once and kept."""
    if "npz" not in run.extras:
        buffer = io.BytesIO()
        metadata = {"run_name": run.name}
        if run.train_config is not None:
            metadata["train_config"] = run.train_config.to_dict()
        run.model.save(buffer, metadata=metadata)
        run.extras["npz"] = buffer.getvalue()
    return run.extras["npz"]


def run_from_upload(file_name: str, payload: bytes, dataset, preprocess_config: PreprocessConfig) -> RunRecord:
    """A run from an uploaded ``.npz`` model (``Sequential.load``: validated, never unpickled).

    Raises ``nnlib.model.ModelFileError`` (a ValueError) for a file that is not an nnlib
    model, and ValueError when it does not fit the dataset. Its validation outputs are
    computed on the current split, which may overlap the images it was trained on.
    """
    model = Sequential.load(payload)
    n_pixels = dataset.x_train.shape[1] * dataset.x_train.shape[2]
    if model.input_size != n_pixels or model.n_classes != dataset.n_classes:
        raise ValueError(f"{file_name} expects {model.input_size} inputs and {model.n_classes} classes; "
                         f"{dataset.name} has {n_pixels} pixels and {dataset.n_classes} classes")
    scaler = Scaler.from_metadata(model.metadata)
    n_used, _, _ = split_counts(len(dataset.x_train), preprocess_config)
    _, val_indices = split_indices(n_used, preprocess_config.val_fraction, preprocess_config.seed)
    with np.errstate(over="ignore", invalid="ignore"):
        proba = model.predict_proba(scaler.transform(flatten(dataset.x_train[val_indices])))
    train_config = model.metadata.get("train_config")
    number = next_run_number()
    return RunRecord(
        id=f"upload:{number}:{file_name}", name=f"#{number} uploaded {file_name}", model=model,
        train_config=TrainConfig.from_dict(train_config) if isinstance(train_config, dict) else None,
        preprocess_config=preprocess_config, scaler=scaler, result=None, dataset_name=dataset.name,
        class_names=tuple(dataset.class_names),
        extras={"val_proba": proba, "y_val": dataset.y_train[val_indices].astype(np.int64),
                "val_indices": val_indices.astype(np.int64), "uploaded": True},
    )


def most_confused_pair(cm: np.ndarray) -> tuple[int, int]:
    """The (true, predicted) cell with the most mistakes (off the diagonal); (0, 0) if none."""
    off = np.array(cm, dtype=np.int64)
    np.fill_diagonal(off, -1)
    if off.size == 0 or off.max() <= 0:
        return 0, 0
    true_class, predicted_class = np.unravel_index(int(off.argmax()), off.shape)
    return int(true_class), int(predicted_class)


def probability_caption(probabilities: np.ndarray, class_names, top: int = 2) -> str:
    """``"9: 83% · 4: 12%"``: the ``top`` most probable classes of one image."""
    probabilities = np.nan_to_num(np.asarray(probabilities, dtype=np.float64))
    best = np.argsort(-probabilities, kind="stable")[:top]
    return " · ".join(f"{class_names[i]}: {probabilities[i]:.0%}" for i in best)
