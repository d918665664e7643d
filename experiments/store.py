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
import socket
import sqlite3
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOME_VARIABLE = "MNIST_LAB_HOME"
DATABASE_FILE = "lab.sqlite3"
MODELS_FOLDER = "models"
BUSY_TIMEOUT_MS = 30_000          # a writer waits this long for another's transaction
SCHEMA_VERSION = 1

QUEUED, RUNNING, COMPLETED, STOPPED = "queued", "running", "completed", "stopped"
DIVERGED, FAILED, INTERRUPTED, PRUNED = "diverged", "failed", "interrupted", "pruned"
RUN_STATUSES = (QUEUED, RUNNING, COMPLETED, STOPPED, DIVERGED, FAILED, INTERRUPTED, PRUNED)
ACTIVE_RUN_STATUSES = (QUEUED, RUNNING)
RUN_KINDS = ("single", "preset", "seed-study", "sweep-trial", "upload")
SWEEP_STATUSES = (RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED)
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


# ---------------------------------------------------------------------- owners
def _process_start_token(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), so a reused pid differs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def current_owner() -> str:
    """``host:pid:start`` of this process: what an active run records as its owner."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start_token(pid)}"


def owner_alive(owner: str | None) -> bool:
    """True when ``owner`` (from :func:`current_owner`) is a living process on this host.

    An owner on another host is presumed alive (its heartbeat is the only evidence).
    """
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, token = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return _process_start_token(pid) == token


# ---------------------------------------------------------------------- records
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


_RUN_JSON = {"tags", "train_config", "preprocess_config", "params", "history", "step_epochs",
             "step_losses", "per_class_accuracy"}
_RUN_COLUMNS = tuple(RunRecord.__dataclass_fields__)
_SWEEP_JSON = {"space", "settings"}
_SWEEP_COLUMNS = tuple(SweepRecord.__dataclass_fields__)


def _encode(column: str, value: Any, json_columns: set[str]) -> Any:
    if column in json_columns:
        return None if value is None else json.dumps(_finite_lists(value), default=_json_default, allow_nan=False)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-able")


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
                   trial_number: int | None = None, run_id: str | None = None) -> RunRecord:
        """Insert a new run owned by this process; returns it (``id`` new unless given)."""
        if kind not in RUN_KINDS:
            raise ValueError(f"run kind must be one of {RUN_KINDS}, got {kind!r}")
        _check_status(status)
        now = time.time()
        record = RunRecord(
            id=run_id or new_id(), name=name, kind=kind, status=status, created_at=now,
            tags=list(tags), note=note, dataset=dataset, architecture=architecture,
            train_config=train_config, preprocess_config=preprocess_config, params=params,
            sweep_id=sweep_id, trial_number=trial_number,
            started_at=now if status == RUNNING else None, heartbeat_at=now,
            owner=current_owner() if status in ACTIVE_RUN_STATUSES else None)
        values = {column: _encode(column, getattr(record, column), _RUN_JSON) for column in _RUN_COLUMNS}
        with self._connect() as connection:
            connection.execute(f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                               tuple(values.values()))
        return record

    def update_run(self, run_id: str, **changes: Any) -> None:
        """Set columns of a run (``status``, ``history``, ``val_accuracy``...); refreshes its heartbeat.

        A status of ``running`` also claims the run for this process (its owner).
        Raises KeyError for an unknown run, ValueError for an unknown column or status.
        """
        unknown = set(changes) - set(_RUN_COLUMNS) - {"id"}
        if unknown or "id" in changes:
            raise ValueError(f"cannot update run column(s) {sorted(unknown | ({'id'} & set(changes)))}; "
                             f"expected some of {_RUN_COLUMNS[1:]}")
        if "status" in changes:
            _check_status(changes["status"])
            if changes["status"] == RUNNING:
                changes.setdefault("owner", current_owner())
                changes.setdefault("started_at", time.time())
            elif changes["status"] not in ACTIVE_RUN_STATUSES:
                changes.setdefault("finished_at", time.time())
        changes["heartbeat_at"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in changes)
        values = [_encode(column, value, _RUN_JSON) for column, value in changes.items()]
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
        for path in {row["model_path"], str(self.model_path(run_id))}:
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
        values = {column: _encode(column, getattr(record, column), _SWEEP_JSON) for column in _SWEEP_COLUMNS}
        with self._connect() as connection:
            connection.execute(f"INSERT INTO sweeps ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                               tuple(values.values()))
        return record

    def update_sweep(self, sweep_id: str, **changes: Any) -> None:
        """Set columns of a sweep; ``status=running`` claims it for this process."""
        unknown = set(changes) - set(_SWEEP_COLUMNS) - {"id"}
        if unknown or "id" in changes:
            raise ValueError(f"cannot update sweep column(s) {sorted(unknown)}; expected some of {_SWEEP_COLUMNS[1:]}")
        if changes.get("status") == RUNNING:
            changes.setdefault("owner", current_owner())
            changes["finished_at"] = None
        elif changes.get("status") in SWEEP_STATUSES:
            changes.setdefault("finished_at", time.time())
        changes["heartbeat_at"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in changes)
        values = [_encode(column, value, _SWEEP_JSON) for column, value in changes.items()]
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
    values = {key: row[key] for key in _RUN_COLUMNS}
    for key in _RUN_JSON:
        if values[key] is not None:
            values[key] = json.loads(values[key])
    return RunRecord(**values)


def _sweep_from_row(row: sqlite3.Row) -> SweepRecord:
    values = {key: row[key] for key in _SWEEP_COLUMNS}
    for key in _SWEEP_JSON:
        values[key] = json.loads(values[key])
    return SweepRecord(**values)
