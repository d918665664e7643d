"""A run's model as a file: the ``.npz`` to download, and an uploaded ``.npz`` turned into a run.

Models load through ``Sequential.load`` (validated, never unpickled); an upload is checked
against the current dataset before it becomes a run, and is kept in the run store as a run
of kind ``upload`` (:func:`record_upload`).
"""
from __future__ import annotations

import io
import math
from dataclasses import replace
from typing import Any

import numpy as np

from experiments.store import COMPLETED, RunStore
from nnlib.data import Dataset
from nnlib.metrics import accuracy
from nnlib.model import Sequential
from nnlib.preprocessing import PreprocessConfig, Scaler, flatten, split_indices
from nnlib.training import TrainConfig

from .data import n_features, split_counts
from .runs import RunRecord, next_run_number


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


def run_from_upload(file_name: str, payload: bytes, dataset: Dataset, preprocess_config: PreprocessConfig) -> RunRecord:
    """A run from an uploaded ``.npz`` model (``Sequential.load``: validated, never unpickled).

    Raises ``nnlib.model.ModelFileError`` (a ValueError) for a file that is not an nnlib
    model, and ValueError when it does not fit the dataset. Its validation outputs are
    computed on the current split, which may overlap the images it was trained on.
    """
    model = Sequential.load(payload)
    model.check_fits(n_features(dataset), dataset.n_classes, dataset.name)
    scaler = Scaler.from_metadata(model.metadata)
    train_config = model.metadata.get("train_config")
    number = next_run_number()
    return RunRecord(
        id=f"upload:{number}:{file_name}", name=f"#{number} uploaded {file_name}", model=model,
        train_config=TrainConfig.from_dict(train_config) if isinstance(train_config, dict) else None,
        preprocess_config=preprocess_config, scaler=scaler, result=None, dataset_name=dataset.name,
        class_names=tuple(dataset.class_names),
        extras={**validation_outputs(model, scaler, dataset, preprocess_config), "uploaded": True},
    )


def validation_outputs(model: Sequential, scaler: Scaler, dataset: Dataset,
                       preprocess_config: PreprocessConfig) -> dict[str, np.ndarray]:
    """The model's probabilities ``val_proba`` (n_val, k) on the validation images of
    ``preprocess_config``'s split of ``dataset``, their labels ``y_val`` and positions
    ``val_indices`` (what a run trained in this session brings from its job)."""
    n_used, _, _ = split_counts(len(dataset.x_train), preprocess_config)
    _, val_indices = split_indices(n_used, preprocess_config.val_fraction, preprocess_config.seed)
    with np.errstate(over="ignore", invalid="ignore"):
        proba = model.predict_proba(scaler.transform(flatten(dataset.x_train[val_indices])))
    return {"val_proba": proba, "y_val": dataset.y_train[val_indices].astype(np.int64),
            "val_indices": val_indices.astype(np.int64)}


def _finite_metric(metadata: dict[str, Any], key: str) -> float | None:
    value = (metadata.get("metrics") or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def record_upload(run: RunRecord, store: RunStore) -> RunRecord:
    """Keep an uploaded model's run in the store (kind ``upload``, its file in the store's
    models folder); returns the run under its store id. Raises StoreError when the store fails."""
    model = run.model
    val_accuracy = (accuracy(run.extras["y_val"], np.nan_to_num(run.extras["val_proba"]).argmax(axis=1))
                    if len(run.extras.get("y_val", ())) else None)
    record = store.create_run(
        run.name, "upload", status=COMPLETED, dataset=run.dataset_name, architecture=run.architecture,
        train_config=run.train_config.to_dict() if run.train_config is not None else None,
        preprocess_config=run.preprocess_config.to_dict() if run.preprocess_config is not None else None)
    store.save_model(record.id, model)
    store.update_run(record.id, status=COMPLETED, val_accuracy=val_accuracy,
                     test_accuracy=_finite_metric(model.metadata, "test_accuracy"),
                     epochs_completed=int((model.metadata.get("metrics") or {}).get("epochs") or 0),
                     message="Uploaded model file.")
    return replace(run, id=record.id, in_store=True)
