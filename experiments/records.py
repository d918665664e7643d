"""The records of the run store: a run and a sweep as Python objects, and their statuses.

JSON columns are decoded into lists and dicts; NaN and infinity (which JSON lacks) are
stored as null.
"""
from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from nnlib.jsonable import json_default

QUEUED, RUNNING, COMPLETED, STOPPED = "queued", "running", "completed", "stopped"
DIVERGED, FAILED, INTERRUPTED, PRUNED = "diverged", "failed", "interrupted", "pruned"
RUN_STATUSES = (QUEUED, RUNNING, COMPLETED, STOPPED, DIVERGED, FAILED, INTERRUPTED, PRUNED)
ACTIVE_RUN_STATUSES = (QUEUED, RUNNING)
RUN_KINDS = ("single", "preset", "seed-study", "sweep-trial", "upload", "fine-tune")
SWEEP_STATUSES = (RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED)


@dataclass
class RunRecord:
    """One run as the store keeps it (JSON columns already decoded).

    ``history`` has nnlib's per-epoch keys (``epoch``, ``train_loss``, ``train_accuracy``,
    ``val_loss``, ``val_accuracy``, ``seconds``); ``step_epochs``/``step_losses`` are the
    thinned step loss (x in epochs); ``per_class_accuracy`` is the last epoch's validation
    accuracy per class; ``params`` the sweep trial's hyperparameters (None outside sweeps).
    """

    id: str
    name: str
    kind: str
    status: str
    created_at: float
    tags: list[str] = field(default_factory=list)
    note: str = ""
    dataset: str = ""
    architecture: str = ""
    train_config: dict[str, Any] | None = None
    preprocess_config: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    step_epochs: list[float] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    per_class_accuracy: list[float] = field(default_factory=list)
    epochs_completed: int = 0
    val_accuracy: float | None = None
    test_accuracy: float | None = None
    seconds: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    message: str = ""
    error: str | None = None
    sweep_id: str | None = None
    trial_number: int | None = None
    model_path: str | None = None
    owner: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    def summary(self) -> dict[str, Any]:
        """The keys ``python -m experiments runs --json`` prints for a run."""
        return {"id": self.id, "name": self.name, "status": self.status, "sweep_id": self.sweep_id,
                "val_accuracy": self.val_accuracy, "test_accuracy": self.test_accuracy,
                "created_at": self.created_at, "model_path": self.model_path}


@dataclass
class SweepRecord:
    """One sweep: its search space and settings (JSON as given to :meth:`RunStore.create_sweep`)."""

    id: str
    name: str
    method: str
    space: dict[str, Any]
    settings: dict[str, Any]
    status: str
    created_at: float
    message: str = ""
    best_run_id: str | None = None
    best_val_accuracy: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    owner: str | None = None


RUN_JSON_COLUMNS = {"tags", "train_config", "preprocess_config", "params", "history", "step_epochs",
             "step_losses", "per_class_accuracy"}
RUN_COLUMNS = tuple(RunRecord.__dataclass_fields__)
SWEEP_JSON_COLUMNS = {"space", "settings"}
SWEEP_COLUMNS = tuple(SweepRecord.__dataclass_fields__)


def encode_column(column: str, value: Any, json_columns: set[str]) -> Any:
    if column in json_columns:
        return None if value is None else json.dumps(_finite_lists(value), default=json_default, allow_nan=False)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _finite_lists(value: Any) -> Any:
    """NaN/inf become None (JSON has no NaN); lists, dicts and NumPy arrays are walked."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_lists(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_lists(item) for item in value]
    return value


def new_id() -> str:
    """A short, unique id for a run or a sweep (12 hex digits)."""
    return uuid.uuid4().hex[:12]
