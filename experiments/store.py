"""The run store: every training run and sweep, in SQLite, with the models beside it.

One folder (``MNIST_LAB_HOME``, default ``<project>/lab-data/``) holds ``lab.sqlite3`` and
``models/<run_id>.npz`` (nnlib's own format). SQLite runs in WAL mode with a busy timeout,
so the server, its training processes and sweep workers can all write at once: each write
is one short transaction, and a writer that finds the file locked waits instead of failing.

A run is written as it happens: created when it is queued or starts, updated after every
epoch (history, last epoch, heartbeat; the training process checkpoints the model file), and
finished with its status. Each active run records its *owner*: host, pid and the process's
start time. When a store opens, runs left ``queued``/``running`` by an owner that no longer
lives become ``interrupted`` (their last completed epoch and checkpoint stay usable), and so
do sweeps left ``running``. Problems with the file itself (unwritable folder, damaged or
foreign database) raise :class:`StoreError` with a message that says what to do.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .owners import current_owner, owner_alive
from .records import (
    ACTIVE_RUN_STATUSES,
    COMPLETED,
    DIVERGED,
    FAILED,
    INTERRUPTED,
    PRUNED,
    QUEUED,
    RUN_COLUMNS,
    RUN_JSON_COLUMNS,
    RUN_KINDS,
    RUN_STATUSES,
    RUNNING,
    STOPPED,
    SWEEP_COLUMNS,
    SWEEP_JSON_COLUMNS,
    SWEEP_STATUSES,
    RunRecord,
    SweepRecord,
    encode_column,
    new_id,
)

__all__ = ["ACTIVE_RUN_STATUSES", "COMPLETED", "CSV_COLUMNS", "DIVERGED", "FAILED", "HOME_VARIABLE",
           "INTERRUPTED", "PRUNED", "QUEUED", "RUNNING", "RUN_KINDS", "RUN_STATUSES", "SORTABLE_COLUMNS",
           "STOPPED", "SWEEP_STATUSES", "RunRecord", "RunStore", "StoreError", "SweepRecord", "current_owner",
           "default_home", "new_id", "owner_alive", "write_model_atomically"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOME_VARIABLE = "MNIST_LAB_HOME"
DATABASE_FILE = "lab.sqlite3"
MODELS_FOLDER = "models"
BUSY_TIMEOUT_MS = 30_000          # a writer waits this long for another's transaction
SCHEMA_VERSION = 1
SORTABLE_COLUMNS = ("created_at", "finished_at", "name", "status", "val_accuracy", "test_accuracy",
                    "seconds", "epochs_completed", "dataset", "architecture")
CSV_COLUMNS = ("id", "name", "kind", "status", "dataset", "architecture", "tags", "note", "val_accuracy",
               "test_accuracy", "epochs_completed", "seconds", "created_at", "finished_at", "sweep_id",
               "error", "model_path")

_SCHEMA = [
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        note TEXT NOT NULL DEFAULT '',
        dataset TEXT NOT NULL DEFAULT '',
        architecture TEXT NOT NULL DEFAULT '',
        train_config TEXT,
        preprocess_config TEXT,
        params TEXT,
        history TEXT NOT NULL DEFAULT '{}',
        step_epochs TEXT NOT NULL DEFAULT '[]',
        step_losses TEXT NOT NULL DEFAULT '[]',
        per_class_accuracy TEXT NOT NULL DEFAULT '[]',
        epochs_completed INTEGER NOT NULL DEFAULT 0,
        val_accuracy REAL,
        test_accuracy REAL,
        seconds REAL,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        heartbeat_at REAL,
        message TEXT NOT NULL DEFAULT '',
        error TEXT,
        sweep_id TEXT,
        trial_number INTEGER,
        model_path TEXT,
        owner TEXT
    )""",
    "CREATE INDEX runs_by_sweep ON runs (sweep_id)",
    "CREATE INDEX runs_by_status ON runs (status)",
    """CREATE TABLE sweeps (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        method TEXT NOT NULL,
        space TEXT NOT NULL,
        settings TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        best_run_id TEXT,
        best_val_accuracy REAL,
        created_at REAL NOT NULL,
        finished_at REAL,
        heartbeat_at REAL,
        owner TEXT
    )""",
]
_MIGRATIONS: dict[int, list[str]] = {1: _SCHEMA}   # version -> statements that reach it


class StoreError(RuntimeError):
    """The store's folder or database cannot be used (the message says why and what to do)."""


def default_home() -> Path:
    """``$MNIST_LAB_HOME``, or ``lab-data/`` in the project folder."""
    configured = os.environ.get(HOME_VARIABLE, "").strip()
    return Path(configured).expanduser() if configured else PROJECT_ROOT / "lab-data"


# ---------------------------------------------------------------------- the store
class RunStore:
    """The runs and sweeps under ``home`` (a folder; created with its schema if empty).

    Cheap to create; every method opens its own short-lived connection, so one store object
    may be shared by threads and each process opens its own. Opening recovers runs and
    sweeps whose owning process has died (``interrupted``).
    """

    def __init__(self, home: str | os.PathLike | None = None, *, recover: bool = True) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.database_path = self.home / DATABASE_FILE
        self.models_dir = self.home / MODELS_FOLDER
        try:
            self.models_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create the run store folder {self.home}: {error.strerror or error}. "
                             f"Set {HOME_VARIABLE} to a writable folder.") from None
        if not os.access(self.home, os.W_OK):
            raise StoreError(f"the run store folder {self.home} is not writable. "
                             f"Set {HOME_VARIABLE} to a writable folder.")
        self._migrate()
        if recover:
            self.recover_interrupted()

    def __repr__(self) -> str:
        return f"RunStore({str(self.home)!r})"

    # ------------------------------------------------------------------ connection
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction (committed on success, rolled back on error) on a fresh connection."""
        try:
            connection = sqlite3.connect(self.database_path, timeout=BUSY_TIMEOUT_MS / 1000,
                                         isolation_level=None)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the run store database {self.database_path}: {error}") from None
        try:
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StoreError(self._explain(error)) from None
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()

    def _explain(self, error: sqlite3.Error) -> str:
        text = str(error)
        if "not a database" in text or "malformed" in text or "file is encrypted" in text:
            return (f"the run store database {self.database_path} is damaged ({text}). Move it aside "
                    f"(the models in {self.models_dir} stay usable) or set {HOME_VARIABLE} to another folder.")
        if "readonly" in text or "unable to open" in text:
            return (f"the run store database {self.database_path} cannot be written ({text}). "
                    f"Set {HOME_VARIABLE} to a writable folder.")
        return f"the run store database {self.database_path} failed: {text}"

    def _migrate(self) -> None:
        """Create the schema in an empty database, or bring an older one up to date."""
        try:
            connection = sqlite3.connect(self.database_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the run store database {self.database_path}: {error}") from None
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"the run store database {self.database_path} cannot use WAL mode (got {mode})")
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()
            version = row[0] or 0
            if version > SCHEMA_VERSION:
                raise StoreError(f"the run store {self.database_path} has schema version {version}, newer than "
                                 f"this MNIST Lab understands ({SCHEMA_VERSION}); update MNIST Lab")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    connection.execute(statement)
                connection.execute("INSERT INTO schema_version (version) VALUES (?)", (target,))
            connection.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise StoreError(self._explain(error)) from None
        finally:
            connection.close()

    def schema_version(self) -> int:
        with self._connect() as connection:
            return int(connection.execute("SELECT MAX(version) FROM schema_version").fetchone()[0])

    # ------------------------------------------------------------------ runs
    def create_run(self, name: str, kind: str = "single", *, status: str = RUNNING,
                   tags: Sequence[str] = (), note: str = "", dataset: str = "", architecture: str = "",
                   train_config: dict[str, Any] | None = None, preprocess_config: dict[str, Any] | None = None,
                   params: dict[str, Any] | None = None, sweep_id: str | None = None,
                   trial_number: int | None = None, run_id: str | None = None,
                   requested_at: float | None = None) -> RunRecord:
        """Insert a new run owned by this process; returns it (``id`` new unless given).

        ``requested_at`` (a ``time.time()`` no later than now) is when the run was asked for,
        kept as its ``created_at``: a run that waited in the training queue is created when it
        starts, and its ``started_at`` minus its ``created_at`` is then the wait. Default: now."""
        if kind not in RUN_KINDS:
            raise ValueError(f"run kind must be one of {RUN_KINDS}, got {kind!r}")
        _check_status(status)
        now = time.time()
        if requested_at is not None:
            if isinstance(requested_at, bool) or not isinstance(requested_at, (int, float)):
                raise TypeError(f"requested_at must be a time.time() number, got {type(requested_at).__name__}")
            if not (math.isfinite(requested_at) and 0 <= requested_at <= now):
                raise ValueError(f"requested_at must be a time no later than now ({now:.3f}), got {requested_at!r}")
        record = RunRecord(
            id=run_id or new_id(), name=name, kind=kind, status=status,
            created_at=now if requested_at is None else float(requested_at),
            tags=list(tags), note=note, dataset=dataset, architecture=architecture,
            train_config=train_config, preprocess_config=preprocess_config, params=params,
            sweep_id=sweep_id, trial_number=trial_number,
            started_at=now if status == RUNNING else None, heartbeat_at=now,
            owner=current_owner() if status in ACTIVE_RUN_STATUSES else None)
        values = {column: encode_column(column, getattr(record, column), RUN_JSON_COLUMNS)
                  for column in RUN_COLUMNS}
        with self._connect() as connection:
            connection.execute(f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                               tuple(values.values()))
        return record

    def update_run(self, run_id: str, **changes: Any) -> None:
        """Set columns of a run (``status``, ``history``, ``val_accuracy``...); refreshes its heartbeat.

        A status of ``running`` also claims the run for this process (its owner).
        Raises KeyError for an unknown run, ValueError for an unknown column or status.
        """
        unknown = set(changes) - set(RUN_COLUMNS) - {"id"}
        if unknown or "id" in changes:
            raise ValueError(f"cannot update run column(s) {sorted(unknown | ({'id'} & set(changes)))}; "
                             f"expected some of {RUN_COLUMNS[1:]}")
        if "status" in changes:
            _check_status(changes["status"])
            if changes["status"] == RUNNING:
                changes.setdefault("owner", current_owner())
                changes.setdefault("started_at", time.time())
            elif changes["status"] not in ACTIVE_RUN_STATUSES:
                changes.setdefault("finished_at", time.time())
        changes["heartbeat_at"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in changes)
        values = [encode_column(column, value, RUN_JSON_COLUMNS) for column, value in changes.items()]
        with self._connect() as connection:
            cursor = connection.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*values, run_id))
            if cursor.rowcount == 0:
                raise KeyError(f"no run with id {run_id!r} in {self.database_path}")

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; KeyError if there is none."""
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"no run with id {run_id!r} in {self.database_path}")
        return _run_from_row(row)

    def list_runs(self, *, dataset: str | None = None, architecture: str | None = None,
                  status: str | Sequence[str] | None = None, tag: str | None = None,
                  sweep_id: str | None = None, kind: str | None = None,
                  sort_by: str = "created_at", descending: bool = True,
                  limit: int | None = None) -> list[RunRecord]:
        """Runs matching every filter given, sorted by ``sort_by`` (one of ``SORTABLE_COLUMNS``).

        Runs without a value for the sort column (``val_accuracy`` of a failed run) come last.
        """
        if sort_by not in SORTABLE_COLUMNS:
            raise ValueError(f"sort_by must be one of {SORTABLE_COLUMNS}, got {sort_by!r}")
        clauses, values = [], []
        for column, wanted in (("dataset", dataset), ("architecture", architecture),
                               ("sweep_id", sweep_id), ("kind", kind)):
            if wanted is not None:
                clauses.append(f"{column} = ?")
                values.append(wanted)
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
            values += statuses
        if tag is not None:
            clauses.append("EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.value = ?)")
            values.append(tag)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = f"ORDER BY {sort_by} IS NULL, {sort_by} {'DESC' if descending else 'ASC'}, rowid"
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        with self._connect() as connection:
            rows = connection.execute(f"SELECT * FROM runs {where} {order}{tail}", values).fetchall()
        return [_run_from_row(row) for row in rows]

    def rename_run(self, run_id: str, name: str) -> None:
        if not name.strip():
            raise ValueError("a run's name cannot be empty")
        self.update_run(run_id, name=name.strip())

    def set_tags(self, run_id: str, tags: Sequence[str]) -> None:
        """Replace the run's tags (duplicates and blanks dropped, order kept)."""
        cleaned = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
        self.update_run(run_id, tags=cleaned)

    def add_tag(self, run_id: str, tag: str) -> None:
        self.set_tags(run_id, [*self.get_run(run_id).tags, tag])

    def set_note(self, run_id: str, note: str) -> None:
        self.update_run(run_id, note=note)

    def delete_run(self, run_id: str) -> None:
        """Delete the run and its model file; KeyError if there is no such run."""
        with self._connect() as connection:
            row = connection.execute("SELECT model_path FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(f"no run with id {run_id!r} in {self.database_path}")
            connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        for path in {row["model_path"], str(self.model_path(run_id)), str(self.outputs_path(run_id))}:
            if path:
                Path(path).unlink(missing_ok=True)

    def model_path(self, run_id: str) -> Path:
        """Where the run's model file (and its per-epoch checkpoint) lives."""
        return self.models_dir / f"{run_id}.npz"

    def save_model(self, run_id: str, model: Any) -> Path:
        """Write an nnlib model as the run's model file (atomically) and record its path."""
        path = self.model_path(run_id)
        write_model_atomically(model, path)
        self.update_run(run_id, model_path=str(path))
        return path

    def outputs_path(self, run_id: str) -> Path:
        """Where the run's validation outputs live (``val_proba``, ``y_val``, ``val_indices``)."""
        return self.models_dir / f"{run_id}.outputs.npz"

    def save_outputs(self, run_id: str, arrays: dict[str, Any]) -> None:
        """Keep the run's validation arrays (for confusion matrices); atomically, no pickle."""
        import numpy as np

        path = self.outputs_path(run_id)
        partial = path.with_name(f".{run_id}.{os.getpid()}.partial.npz")
        np.savez_compressed(partial, **arrays)
        os.replace(partial, path)

    def load_outputs(self, run_id: str) -> dict[str, Any]:
        """The arrays :meth:`save_outputs` kept, or ``{}`` when the run has none."""
        import numpy as np

        path = self.outputs_path(run_id)
        if not path.is_file():
            return {}
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}

    def import_model(self, name: str, model: Any, *, kind: str = "upload", dataset: str = "",
                     tags: Sequence[str] = (), note: str = "") -> RunRecord:
        """Record a model made elsewhere (an uploaded ``.npz``) as a completed run with its file.

        Its metrics and configs come from the model's metadata where it has them.
        """
        metadata = getattr(model, "metadata", {}) or {}
        metrics = metadata.get("metrics") or {}
        record = self.create_run(
            name, kind, status=RUNNING, dataset=dataset or metadata.get("dataset", ""), tags=tags, note=note,
            architecture="[" + ", ".join(str(size) for size in _layer_sizes(model)) + "]",
            train_config=metadata.get("train_config"),
            preprocess_config=(metadata.get("preprocessing") or {}).get("config"))
        self.save_model(record.id, model)
        self.update_run(record.id, status=COMPLETED, message="Imported model.",
                        val_accuracy=metrics.get("val_accuracy"), test_accuracy=metrics.get("test_accuracy"),
                        epochs_completed=int(metrics.get("epochs") or 0), seconds=metrics.get("seconds"))
        return self.get_run(record.id)

    def load_model(self, run_id: str) -> Any:
        """The run's nnlib :class:`~nnlib.model.Sequential` (ValueError if it has no model file)."""
        from nnlib.model import Sequential

        record = self.get_run(run_id)
        path = record.model_path or (str(self.model_path(run_id)) if self.model_path(run_id).is_file() else None)
        if not path:
            raise ValueError(f"run {run_id!r} ({record.name}) has no model file (status {record.status})")
        return Sequential.load(path)

    def export_csv(self, runs: Sequence[RunRecord] | None = None) -> str:
        """The runs (all when None) as CSV text, one row per run, columns ``CSV_COLUMNS``."""
        runs = self.list_runs() if runs is None else runs
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for run in runs:
            writer.writerow([";".join(run.tags) if column == "tags" else
                             ("" if getattr(run, column) is None else getattr(run, column))
                             for column in CSV_COLUMNS])
        return buffer.getvalue()

    # ------------------------------------------------------------------ sweeps
    def create_sweep(self, name: str, method: str, space: dict[str, Any], settings: dict[str, Any],
                     sweep_id: str | None = None) -> SweepRecord:
        now = time.time()
        record = SweepRecord(id=sweep_id or new_id(), name=name, method=method, space=space, settings=settings,
                             status=RUNNING, created_at=now, heartbeat_at=now, owner=current_owner())
        values = {column: encode_column(column, getattr(record, column), SWEEP_JSON_COLUMNS)
                  for column in SWEEP_COLUMNS}
        with self._connect() as connection:
            connection.execute(f"INSERT INTO sweeps ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                               tuple(values.values()))
        return record

    def update_sweep(self, sweep_id: str, **changes: Any) -> None:
        """Set columns of a sweep; ``status=running`` claims it for this process."""
        unknown = set(changes) - set(SWEEP_COLUMNS) - {"id"}
        if unknown or "id" in changes:
            raise ValueError(f"cannot update sweep column(s) {sorted(unknown)}; expected some of {SWEEP_COLUMNS[1:]}")
        if changes.get("status") == RUNNING:
            changes.setdefault("owner", current_owner())
            changes["finished_at"] = None
        elif changes.get("status") in SWEEP_STATUSES:
            changes.setdefault("finished_at", time.time())
        changes["heartbeat_at"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in changes)
        values = [encode_column(column, value, SWEEP_JSON_COLUMNS) for column, value in changes.items()]
        with self._connect() as connection:
            cursor = connection.execute(f"UPDATE sweeps SET {assignments} WHERE id = ?", (*values, sweep_id))
            if cursor.rowcount == 0:
                raise KeyError(f"no sweep with id {sweep_id!r} in {self.database_path}")

    def get_sweep(self, sweep_id: str) -> SweepRecord:
        with self._connect() as connection:
            row = connection.execute("SELECT * FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        if row is None:
            raise KeyError(f"no sweep with id {sweep_id!r} in {self.database_path}")
        return _sweep_from_row(row)

    def list_sweeps(self) -> list[SweepRecord]:
        """Every sweep, newest first."""
        with self._connect() as connection:
            rows = connection.execute("SELECT * FROM sweeps ORDER BY created_at DESC, rowid DESC").fetchall()
        return [_sweep_from_row(row) for row in rows]

    # ------------------------------------------------------------------ recovery
    def recover_interrupted(self) -> list[str]:
        """Mark runs and sweeps whose owning process is gone as ``interrupted``; their ids."""
        interrupted: list[str] = []
        now = time.time()
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT id, owner, epochs_completed FROM runs WHERE status IN "
                f"({', '.join('?' * len(ACTIVE_RUN_STATUSES))})", ACTIVE_RUN_STATUSES).fetchall()
            for row in rows:
                if owner_alive(row["owner"]):
                    continue
                path = self.model_path(row["id"])
                connection.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, message = ?, "
                    "model_path = COALESCE(model_path, ?) WHERE id = ?",
                    (INTERRUPTED, now, f"Interrupted after epoch {row['epochs_completed']}: the process "
                     "training it ended (server restart or kill).", str(path) if path.is_file() else None,
                     row["id"]))
                interrupted.append(row["id"])
            for row in connection.execute("SELECT id, owner FROM sweeps WHERE status = ?", (RUNNING,)).fetchall():
                if not owner_alive(row["owner"]):
                    connection.execute("UPDATE sweeps SET status = ?, finished_at = ?, message = ? WHERE id = ?",
                                       (INTERRUPTED, now, "Interrupted: the process running it ended; "
                                        "resume it to finish its budget.", row["id"]))
                    interrupted.append(row["id"])
        return interrupted


def _layer_sizes(model: Any) -> list[Any]:
    """Input size, then each Dense layer's units and each convolution's ``convN``, as the
    seed study wrote networks (``[784, conv16, conv32, 128, 10]``)."""
    sizes: list[Any] = [getattr(model, "input_size", None) or "?"]
    for layer in model.architecture():
        if layer.get("kind") == "Conv2D":
            sizes.append(f"conv{layer['out_channels']}")
        elif layer.get("kind") == "Dense":
            sizes.append(layer["out_features"])
    return sizes


def write_model_atomically(model: Any, path: Path) -> None:
    """``model.save`` to a temporary name, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.npz")
    model.save(partial)
    os.replace(partial, path)


def _check_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"run status must be one of {RUN_STATUSES}, got {status!r}")


def _run_from_row(row: sqlite3.Row) -> RunRecord:
    values = {key: row[key] for key in RUN_COLUMNS}
    for key in RUN_JSON_COLUMNS:
        if values[key] is not None:
            values[key] = json.loads(values[key])
    return RunRecord(**values)


def _sweep_from_row(row: sqlite3.Row) -> SweepRecord:
    values = {key: row[key] for key in SWEEP_COLUMNS}
    for key in SWEEP_JSON_COLUMNS:
        values[key] = json.loads(values[key])
    return SweepRecord(**values)
