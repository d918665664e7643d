"""A run's model as a file: the ``.npz`` to download, and an uploaded ``.npz`` turned into a run.

Models load through ``Sequential.load`` (validated, never unpickled); an upload is checked
against the current dataset before it becomes a run.
"""
from __future__ import annotations

import io

import numpy as np

from nnlib.data import Dataset
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
