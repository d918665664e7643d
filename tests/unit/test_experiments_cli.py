"""``python -m experiments sweep|runs`` (experiments/cli.py): keys, config files, errors, kill and resume."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments import cli
from experiments.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
SWEEP_KEYS = {"sweep_id", "trials_completed", "trials_pruned", "trials_failed", "best_val_accuracy",
              "best_params", "seconds"}
RUN_KEYS = {"id", "name", "status", "sweep_id", "val_accuracy", "test_accuracy", "created_at", "model_path"}


def run_cli(*argv: str) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out=out, err=err)
    return code, json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


@pytest.fixture()
def lab_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.slow
def test_a_preset_sweep_prints_its_keys_and_every_trial_is_a_run(lab_home):
    code, report, err = run_cli("sweep", "--preset", "lr-width", "--trials", "3", "--parallel", "2",
                                "--train-size", "1000", "--epochs", "1", "--seed", "0", "--json")
    assert code == 0, err
    assert set(report) >= SWEEP_KEYS
    assert report["trials_completed"] + report["trials_pruned"] + report["trials_failed"] == 3
    assert set(report["best_params"]) == {"learning_rate", "width"} and 0 < report["best_val_accuracy"] <= 1
    assert f"sweep {report['sweep_id']}: 3 trial(s), 2 at once, grid search" in err
    assert err.count("trial ") >= 3  # one progress line per finished trial (stderr is not a terminal)

    code, listed, _ = run_cli("runs", "--json")
    assert code == 0 and len(listed["runs"]) == 3
    assert all(set(run) == RUN_KEYS and run["sweep_id"] == report["sweep_id"] for run in listed["runs"])
    best = [run for run in listed["runs"] if run["val_accuracy"] == report["best_val_accuracy"]]
    assert best and Path(best[0]["model_path"]).is_file()
    code, only_failed, _ = run_cli("runs", "--status", "completed", "--json")
    assert len(only_failed["runs"]) == report["trials_completed"]


@pytest.mark.slow
def test_ranges_come_from_a_toml_file_and_flags_win(lab_home, tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('name = "from toml"\nmethod = "random"\ntrials = 5\nepochs = 1\ntrain_size = 1000\n'
                      '[space.learning_rate]\nmin = 0.01\nmax = 0.3\nlog = true\n'
                      '[space.width]\nvalues = [16, 32]\n[fixed]\noptimizer = "sgd"\ndepth = 1\n')
    code, report, err = run_cli("sweep", "--config", str(config), "--trials", "2", "--json")
    assert code == 0, err
    sweep = RunStore().get_sweep(report["sweep_id"])
    assert sweep.name == "from toml" and sweep.method == "random" and sweep.settings["trials"] == 2
    assert sweep.space["params"]["learning_rate"] == {"type": "float", "min": 0.01, "max": 0.3, "log": True}
    assert 0.01 <= report["best_params"]["learning_rate"] <= 0.3 and report["best_params"]["width"] in (16, 32)


def test_bad_input_exits_2_with_a_clear_message(lab_home, tmp_path):
    code, report, err = run_cli("sweep", "--trials", "0", "--json")
    assert code == 2 and report == {"error": "the trial budget must be at least 1 trial, got 0"}
    assert "error: the trial budget" in err
    bad = tmp_path / "bad.toml"
    bad.write_text('[space.learning_rate]\nmin = 3\nmax = 0.001\nlog = true\n')
    code, report, _ = run_cli("sweep", "--config", str(bad), "--json")
    assert code == 2 and report["error"] == "learning_rate: min 3 is above max 0.001"
    bad.write_text("trials = [oops")
    code, report, _ = run_cli("sweep", "--config", str(bad), "--json")
    assert code == 2 and "is not valid TOML" in report["error"]
    code, report, _ = run_cli("sweep", "--resume", "nosuchsweep", "--json")
    assert code == 2 and report["error"].startswith("no sweep with id 'nosuchsweep'")
    code, report, _ = run_cli("sweep", "--backend", "ray", "--address", "127.0.0.1:9", "--json")
    if "ray" in sys.modules or _ray_installed():
        assert code == 2 and "cannot reach the Ray cluster at 127.0.0.1:9" in report["error"]
    else:
        assert code == 2 and "pip install -r requirements-cluster.txt" in report["error"]


def test_an_unusable_store_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("MNIST_LAB_HOME", str(blocker / "lab"))
    code, report, err = run_cli("runs", "--json")
    assert code == 2 and "cannot create the run store folder" in report["error"] and "error:" in err


def _ray_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


@pytest.mark.slow
def test_a_sweep_killed_mid_way_is_listed_and_resumed_to_the_end(lab_home):
    env = {**os.environ, "MNIST_LAB_HOME": str(lab_home), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "experiments", "sweep", "--preset", "lr-width", "--trials", "6", "--parallel",
            "1", "--train-size", "2000", "--epochs", "2", "--json"]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no trial finished in time"
            finished = [run for run in RunStore(lab_home, recover=False).list_runs()
                        if run.status in ("completed", "diverged")]
            if len(finished) >= 2:
                break
            time.sleep(0.1)
    finally:
        process.kill()
        process.communicate()
    store = RunStore(lab_home)  # opening after the kill marks what was in flight
    sweep_id = store.list_sweeps()[0].id
    assert store.get_sweep(sweep_id).status == "interrupted"
    kept = {run.id for run in store.list_runs(status=["completed", "diverged"])}
    assert len(kept) >= 2

    code, report, err = run_cli("sweep", "--resume", sweep_id, "--json")
    assert code == 0, err
    assert report["sweep_id"] == sweep_id
    assert report["trials_completed"] + report["trials_pruned"] + report["trials_failed"] == 6
    runs = store.list_runs(sweep_id=sweep_id)
    assert kept <= {run.id for run in runs}
    finished = [run for run in runs if run.status in ("completed", "diverged", "pruned", "failed")]
    assert len({tuple(sorted(run.params.items())) for run in finished}) == 6  # no grid point twice
    assert store.get_sweep(sweep_id).status == "completed"
