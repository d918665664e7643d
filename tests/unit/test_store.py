"""The run store (experiments/store.py): schema, records, filters, recovery, concurrency, faults."""
from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from experiments import store as store_module
from experiments.store import RunStore, StoreError

ROOT = Path(__file__).resolve().parents[2]


def test_an_empty_folder_gets_the_schema_in_wal_mode(tmp_path):
    home = tmp_path / "fresh" / "lab"
    store = RunStore(home)
    assert (home / "lab.sqlite3").is_file() and (home / "models").is_dir()
    assert store.schema_version() == store_module.SCHEMA_VERSION
    with sqlite3.connect(home / "lab.sqlite3") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "sweeps", "schema_version"} <= tables
    assert store.list_runs() == [] and store.list_sweeps() == []
    RunStore(home)  # opening again migrates nothing and keeps the version
    assert store.schema_version() == 1


def test_a_run_asked_for_earlier_keeps_that_time_as_its_creation(tmp_path):
    store = RunStore(tmp_path)
    asked = time.time() - 5.0
    run = store.create_run("#1 queued", requested_at=asked)
    back = store.get_run(run.id)
    assert back.created_at == pytest.approx(asked) and back.started_at >= asked + 5.0
    now_run = store.get_run(store.create_run("#2 at once").id)
    assert now_run.created_at == now_run.started_at
    with pytest.raises(ValueError, match="no later than now"):
        store.create_run("#3", requested_at=time.time() + 60)
    with pytest.raises(ValueError, match="no later than now"):
        store.create_run("#4", requested_at=float("nan"))
    with pytest.raises(TypeError, match="requested_at must be a time.time"):
        store.create_run("#5", requested_at="yesterday")
    assert len(store.list_runs()) == 2


def test_the_home_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_HOME", str(tmp_path / "elsewhere"))
    assert RunStore().home == tmp_path / "elsewhere"
    monkeypatch.delenv("MNIST_LAB_HOME")
    assert store_module.default_home() == ROOT / "lab-data"


def test_a_run_is_created_updated_and_read_back(tmp_path):
    store = RunStore(tmp_path)
    run = store.create_run("#1 MLP", "single", dataset="MNIST", architecture="[784, 32, 10]",
                           train_config={"hidden_sizes": [32], "learning_rate": 0.1},
                           preprocess_config={"train_size": 2000}, tags=["baseline"])
    assert run.status == "running" and run.owner == store_module.current_owner()
    store.update_run(run.id, history={"epoch": [1.0], "val_accuracy": [0.9], "val_loss": [float("nan")]},
                     epochs_completed=1, val_accuracy=0.9, step_losses=np.array([2.3, 1.0], dtype=np.float32),
                     per_class_accuracy=[0.5] * 10)
    store.update_run(run.id, status="completed", test_accuracy=0.88, seconds=1.5, message="done")
    back = store.get_run(run.id)
    assert back.status == "completed" and back.finished_at >= back.created_at
    assert back.history == {"epoch": [1.0], "val_accuracy": [0.9], "val_loss": [None]}
    assert back.step_losses == pytest.approx([2.3, 1.0]) and back.per_class_accuracy == [0.5] * 10
    assert back.train_config == {"hidden_sizes": [32], "learning_rate": 0.1}
    assert back.val_accuracy == 0.9 and back.test_accuracy == 0.88 and back.tags == ["baseline"]
    assert back.summary()["val_accuracy"] == 0.9 and set(back.summary()) == {
        "id", "name", "status", "sweep_id", "val_accuracy", "test_accuracy", "created_at", "model_path"}


def test_bad_values_are_refused_with_clear_messages(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match="run kind must be one of"):
        store.create_run("x", "nonsense")
    run = store.create_run("x")
    with pytest.raises(ValueError, match="run status must be one of"):
        store.update_run(run.id, status="exploded")
    with pytest.raises(ValueError, match="cannot update run column"):
        store.update_run(run.id, colour="red")
    with pytest.raises(KeyError, match="no run with id"):
        store.get_run("missing")
    with pytest.raises(ValueError, match="sort_by must be one of"):
        store.list_runs(sort_by="colour")
    with pytest.raises(ValueError, match="cannot be empty"):
        store.rename_run(run.id, "  ")


def test_filters_and_sorting(tmp_path):
    store = RunStore(tmp_path)
    specs = [("a", "MNIST", "[784, 32, 10]", "completed", 0.91, ["x"]),
             ("b", "MNIST", "[784, 64, 10]", "diverged", None, []),
             ("c", "Fashion-MNIST", "[784, 32, 10]", "completed", 0.85, ["x", "y"]),
             ("d", "MNIST", "[784, 32, 10]", "completed", 0.95, ["y"])]
    ids = {}
    for name, dataset, arch, status, val, tags in specs:
        run = store.create_run(name, dataset=dataset, architecture=arch, tags=tags)
        store.update_run(run.id, status=status, val_accuracy=val)
        ids[name] = run.id
    names = lambda runs: [run.name for run in runs]  # noqa: E731
    assert names(store.list_runs(sort_by="val_accuracy")) == ["d", "a", "c", "b"]  # no value last
    assert names(store.list_runs(sort_by="val_accuracy", descending=False)) == ["c", "a", "d", "b"]
    assert names(store.list_runs(dataset="MNIST", sort_by="name", descending=False)) == ["a", "b", "d"]
    assert names(store.list_runs(architecture="[784, 32, 10]", sort_by="name", descending=False)) == ["a", "c", "d"]
    assert names(store.list_runs(status="diverged")) == ["b"]
    assert names(store.list_runs(status=["diverged", "completed"], tag="y", sort_by="name",
                                 descending=False)) == ["c", "d"]
    assert names(store.list_runs(tag="x", sort_by="name", descending=False)) == ["a", "c"]
    assert names(store.list_runs(sort_by="name", limit=2, descending=False)) == ["a", "b"]


def test_rename_tag_note_delete_and_csv(tmp_path):
    store = RunStore(tmp_path)
    run = store.create_run("first")
    store.rename_run(run.id, "renamed")
    store.set_tags(run.id, ["good", " good", "", "lr"])
    store.add_tag(run.id, "keep")
    store.set_note(run.id, "a note, with a comma")
    back = store.get_run(run.id)
    assert (back.name, back.tags, back.note) == ("renamed", ["good", "lr", "keep"], "a note, with a comma")
    rows = list(csv.DictReader(io.StringIO(store.export_csv())))
    assert len(rows) == 1 and rows[0]["name"] == "renamed" and rows[0]["tags"] == "good;lr;keep"
    assert rows[0]["note"] == "a note, with a comma" and list(rows[0]) == list(store_module.CSV_COLUMNS)

    from nnlib.builders import build_mlp

    model = build_mlp((8,), seed=0)
    path = store.save_model(run.id, model)
    assert path == tmp_path / "models" / f"{run.id}.npz" and path.is_file()
    loaded = store.load_model(run.id)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.dense_weights(), model.dense_weights()))
    store.delete_run(run.id)
    assert not path.exists() and store.list_runs() == []
    with pytest.raises(KeyError):
        store.delete_run(run.id)


def test_an_uploaded_model_becomes_a_completed_run_and_outputs_are_kept(tmp_path):
    from nnlib.builders import build_cnn

    store = RunStore(tmp_path)
    model = build_cnn((4,), (8,), seed=0)
    model.metadata.update({"metrics": {"val_accuracy": 0.9, "test_accuracy": 0.88, "epochs": 3},
                           "dataset": "MNIST", "train_config": {"hidden_sizes": [8]}})
    run = store.import_model("my upload.npz", model, tags=["upload"])
    assert (run.kind, run.status, run.architecture) == ("upload", "completed", "[784, conv4, 8, 10]")
    assert (run.val_accuracy, run.test_accuracy, run.epochs_completed) == (0.9, 0.88, 3)
    assert run.dataset == "MNIST" and run.train_config == {"hidden_sizes": [8]}
    assert store.load_model(run.id).parameter_count == model.parameter_count
    assert store.load_outputs(run.id) == {}
    store.save_outputs(run.id, {"val_proba": np.eye(3, dtype=np.float32), "y_val": np.arange(3)})
    outputs = store.load_outputs(run.id)
    assert np.array_equal(outputs["val_proba"], np.eye(3)) and outputs["y_val"].tolist() == [0, 1, 2]
    store.delete_run(run.id)
    assert list((tmp_path / "models").iterdir()) == []


def test_a_run_without_a_model_says_so(tmp_path):
    store = RunStore(tmp_path)
    run = store.create_run("no model")
    with pytest.raises(ValueError, match="has no model file"):
        store.load_model(run.id)


def test_sweeps_are_recorded(tmp_path):
    store = RunStore(tmp_path)
    sweep = store.create_sweep("lr x width", "grid", {"learning_rate": [0.001, 3.0]}, {"trials": 4})
    store.update_sweep(sweep.id, best_run_id="r1", best_val_accuracy=0.97)
    store.update_sweep(sweep.id, status="completed", message="4 trials")
    back = store.get_sweep(sweep.id)
    assert back.space == {"learning_rate": [0.001, 3.0]} and back.settings == {"trials": 4}
    assert (back.status, back.best_run_id, back.best_val_accuracy) == ("completed", "r1", 0.97)
    assert back.finished_at is not None and [s.id for s in store.list_sweeps()] == [sweep.id]


def test_runs_of_a_dead_process_become_interrupted_on_open(tmp_path):
    store = RunStore(tmp_path)
    live = store.create_run("mine, alive")
    finished = store.create_run("finished")
    store.update_run(finished.id, status="completed")
    dead_owner = subprocess.run([sys.executable, "-c", "from experiments.store import current_owner; "
                                 "print(current_owner())"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
    orphan = store.create_run("orphan")
    store.update_run(orphan.id, owner=dead_owner, epochs_completed=3)
    (tmp_path / "models" / f"{orphan.id}.npz").write_bytes(b"checkpoint")
    queued = store.create_run("queued orphan", status="queued")
    store.update_run(queued.id, owner=dead_owner)
    sweep = store.create_sweep("s", "random", {}, {})
    store.update_sweep(sweep.id, owner=dead_owner)

    reopened = RunStore(tmp_path)
    assert reopened.get_run(live.id).status == "running"  # this process still owns it
    assert reopened.get_run(finished.id).status == "completed"
    back = reopened.get_run(orphan.id)
    assert back.status == "interrupted" and back.epochs_completed == 3
    assert "after epoch 3" in back.message and back.model_path == str(tmp_path / "models" / f"{orphan.id}.npz")
    assert reopened.get_run(queued.id).status == "interrupted" and reopened.get_run(queued.id).model_path is None
    assert reopened.get_sweep(sweep.id).status == "interrupted"


def test_owners_are_told_apart_by_pid_and_start_time():
    me = store_module.current_owner()
    assert store_module.owner_alive(me)
    host, pid, start = me.split(":")
    assert not store_module.owner_alive(f"{host}:{pid}:{int(start or 0) + 1}")  # a reused pid
    assert not store_module.owner_alive(f"{host}:999999999:1") and not store_module.owner_alive(None)
    assert store_module.owner_alive(f"another-host-{host}:1:1")  # another machine: presumed alive


WRITER = textwrap.dedent("""
    import sys
    from experiments.store import RunStore
    home, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = RunStore(home, recover=False)
    for index in range(count):
        run = store.create_run(f"{worker}-{index}", tags=[worker])
        for epoch in range(1, 4):
            store.update_run(run.id, history={"epoch": list(range(1, epoch + 1))}, epochs_completed=epoch)
        store.update_run(run.id, status="completed", val_accuracy=index / count)
    print("ok")
""")


@pytest.mark.slow
def test_several_processes_write_at_once_and_nothing_is_lost(tmp_path):
    RunStore(tmp_path)
    workers, per_worker = 4, 25
    processes = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"w{w}", str(per_worker)],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for w in range(workers)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err for _, err in outputs]
    runs = RunStore(tmp_path).list_runs()
    assert len(runs) == workers * per_worker
    assert {run.name for run in runs} == {f"w{w}-{i}" for w in range(workers) for i in range(per_worker)}
    assert all(run.status == "completed" and run.epochs_completed == 3 and run.history == {"epoch": [1, 2, 3]}
               for run in runs)
    with sqlite3.connect(tmp_path / "lab.sqlite3") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_damaged_database_gives_a_clear_store_error(tmp_path):
    (tmp_path / "lab.sqlite3").write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="is damaged.*Move it aside"):
        RunStore(tmp_path)


def test_an_unusable_folder_gives_a_clear_store_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the run store folder.*MNIST_LAB_HOME"):
        RunStore(blocker / "lab")


def test_a_newer_schema_is_refused(tmp_path):
    RunStore(tmp_path)
    with sqlite3.connect(tmp_path / "lab.sqlite3") as connection:
        connection.execute("INSERT INTO schema_version (version) VALUES (99)")
    with pytest.raises(StoreError, match="schema version 99, newer"):
        RunStore(tmp_path)


def test_the_checkpoint_write_is_atomic(tmp_path):
    from nnlib.builders import build_mlp

    path = tmp_path / "m.npz"
    store_module.write_model_atomically(build_mlp((4,), seed=1), path)
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    assert os.path.getsize(path) > 0
