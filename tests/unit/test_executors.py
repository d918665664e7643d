"""Executors and recorded tasks (experiments/executors.py, tasks.py): a run in the store as it
trains, a real server killed mid-run, local and Ray giving the same network, Ray's errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from experiments import executors, scratch
from experiments.executors import ExecutorError, LocalExecutor, TrainingRequest, make_executor
from experiments.jobs import JobRegistry
from experiments.store import RunStore
from experiments.tasks import training_task
from nnlib.data import Dataset
from nnlib.preprocessing import PreprocessConfig
from nnlib.training import TrainConfig, TrainingControl

ROOT = Path(__file__).resolve().parents[2]
SMALL = PreprocessConfig(train_size=1000, val_fraction=0.2, seed=1)


@pytest.fixture(scope="module")
def small_mnist(mnist):
    return Dataset(name="MNIST (first 1,000)", x_train=mnist.x_train[:1000], y_train=mnist.y_train[:1000],
                   x_test=mnist.x_test[:300], y_test=mnist.y_test[:300], class_names=mnist.class_names)


@pytest.mark.slow
def test_a_task_is_recorded_in_the_store_with_its_model(tmp_path, small_mnist):
    store = RunStore(tmp_path)
    config = TrainConfig(hidden_sizes=(16,), optimizer="adam", learning_rate=1e-2, batch_size=50, epochs=3)
    job, _ = JobRegistry().start("owner", [training_task("tiny", small_mnist, SMALL, config, store=store,
                                                         tags=["test"])])
    assert job.join(60) and job.status == "completed", job.snapshot().message
    output = job.outputs[0]
    run = store.get_run(output.run_id)
    assert (run.status, run.kind, run.name, run.tags) == ("completed", "single", "tiny", ["test"])
    assert run.dataset == "MNIST (first 1,000)" and run.architecture == "[784, 16, 10]"
    assert run.epochs_completed == 3 and run.history["epoch"] == [1.0, 2.0, 3.0]
    assert run.val_accuracy == pytest.approx(output.result.history["val_accuracy"][-1])
    assert run.test_accuracy == pytest.approx(output.result.test_accuracy)
    assert len(run.step_losses) == 3 * 16 and run.step_epochs[-1] == pytest.approx(3.0)
    assert len(run.per_class_accuracy) == 10 and run.train_config == config.to_dict()
    assert run.preprocess_config == SMALL.to_dict() and run.finished_at >= run.started_at
    model = store.load_model(run.id)
    assert all(np.array_equal(a, b) for a, b in zip(model.dense_weights(), output.model.dense_weights()))
    assert model.metadata["metrics"]["status"] == "completed"
    kept = store.load_outputs(run.id)
    assert np.array_equal(kept["val_proba"], output.extras["val_proba"]) and kept["y_val"].shape == (200,)


@pytest.mark.slow
def test_a_run_that_waited_in_line_records_when_it_was_asked_for(tmp_path, small_mnist):
    store = RunStore(tmp_path)
    config = TrainConfig(hidden_sizes=(16,), optimizer="adam", learning_rate=1e-2, batch_size=50, epochs=3)
    registry = JobRegistry(max_running=1)
    before = time.time()
    first, _ = registry.start("first", [training_task("first", small_mnist, SMALL, config, store=store)])
    second, _ = registry.start("second", [training_task("second", small_mnist, SMALL, config, store=store)])
    assert first.join(60) and second.join(60), second.snapshot().message
    runs = {run.name: run for run in store.list_runs()}
    # asked for while the first trained, started once it was done: the wait is in the store
    assert before <= runs["second"].created_at < runs["first"].finished_at <= runs["second"].started_at
    assert runs["second"].started_at - runs["second"].created_at >= runs["first"].seconds
    assert runs["first"].started_at - runs["first"].created_at < runs["first"].seconds  # no wait


@pytest.mark.slow
def test_a_failing_task_is_recorded_failed_with_its_message(tmp_path, small_mnist):
    store = RunStore(tmp_path)
    unlabelled = Dataset(name="no labels", x_train=small_mnist.x_train, y_train=np.full(1000, -1),
                         x_test=None, y_test=None, class_names=small_mnist.class_names)
    job, _ = JobRegistry().start("owner", [training_task("bad", unlabelled, SMALL, TrainConfig(epochs=1),
                                                         store=store)])
    assert job.join(60) and job.status == "failed"
    run = store.list_runs()[0]
    assert run.status == "failed" and "the training images have no labels" in run.message
    assert "In the training process" in run.error


SERVER = textwrap.dedent("""
    import sys, time
    from experiments.jobs import JobRegistry
    from experiments.store import RunStore
    from experiments.tasks import training_task
    from nnlib.data import load_mnist
    from nnlib.preprocessing import PreprocessConfig
    from nnlib.training import TrainConfig

    store = RunStore(sys.argv[1])
    config = TrainConfig(hidden_sizes=(32,), optimizer="sgd", learning_rate=0.1, batch_size=16, epochs=500)
    task = training_task("long", load_mnist(), PreprocessConfig(train_size=2000), config, store=store)
    job, _ = JobRegistry().start("server", [task])
    while True:
        runs = store.list_runs()
        if runs and runs[0].epochs_completed >= 2:
            print(runs[0].id, flush=True)
        time.sleep(0.05)
""")


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found += [int(child) for child in handle.read().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_a_run_in_flight_when_the_server_is_killed_is_interrupted_with_its_last_epoch(tmp_path, monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "TMPDIR": str(temp)})
    try:
        run_id = server.stdout.readline().strip()
        assert run_id, "the server process printed no run id"
        trainers = _children(server.pid)
        assert trainers, "the server has no training process"
    finally:
        server.kill()  # SIGKILL: no clean-up of any kind
        server.wait(10)
    # No orphan: the training process notices its server has gone and ends.
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in trainers):
        assert time.monotonic() < deadline, "a training process outlived its killed server"
        time.sleep(0.1)
    # Its job folder is left behind, and the next server's registry removes it.
    left = list((temp / scratch.SCRATCH_FOLDER).iterdir())
    assert left, "the killed server's job folder was expected under the scratch root"
    monkeypatch.setattr(scratch, "scratch_root", lambda: temp / scratch.SCRATCH_FOLDER)
    JobRegistry()
    assert not any(folder.exists() for folder in left)
    store = RunStore(tmp_path)
    run = store.get_run(run_id)
    assert run.status == "interrupted" and run.epochs_completed >= 2
    assert f"after epoch {run.epochs_completed}" in run.message or "Interrupted after epoch" in run.message
    model = store.load_model(run_id)  # the checkpoint of a completed epoch, usable as a model
    assert model.metadata["train_config"]["epochs"] == 500 and model.metadata["metrics"]["epochs"] >= 2
    assert model.predict_proba(np.zeros((1, 784), dtype=np.float32)).shape == (1, 10)
    assert len(run.history["epoch"]) == run.epochs_completed


def test_make_executor_checks_its_arguments():
    assert isinstance(make_executor("local"), LocalExecutor)
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        make_executor("spark")
    with pytest.raises(ValueError, match="--address is for the ray backend"):
        make_executor("local", "10.0.0.1:6379")


def test_without_ray_asking_for_it_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails as if not installed
    with pytest.raises(ExecutorError, match=r"pip install -r requirements-cluster\.txt"):
        make_executor("ray")


def test_an_unreachable_ray_address_is_refused_before_anything_starts():
    with pytest.raises(ExecutorError, match="cannot reach the Ray cluster at 127.0.0.1:9.*nothing was started"):
        executors.check_reachable("127.0.0.1:9", timeout=2)
    with pytest.raises(ExecutorError, match="a Ray address is host:port"):
        executors.check_reachable("no-port-here")


# ---------------------------------------------------------------- Ray
@pytest.fixture(scope="module")
def ray_executor():
    pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-cluster.txt")
    import ray

    if not ray.is_initialized():
        with pytest.raises(ExecutorError, match="cannot reach"):
            executors.RayExecutor("127.0.0.1:9")
        assert not ray.is_initialized()  # an unreachable address started nothing
    executor = executors.RayExecutor()
    yield executor
    executor.close()


@pytest.mark.slow
def test_local_and_ray_train_the_same_network_for_the_same_seeds(ray_executor, small_mnist):
    config = TrainConfig(hidden_sizes=(16,), optimizer="adam", learning_rate=1e-2, batch_size=50, epochs=2, seed=4)
    request = TrainingRequest(small_mnist, SMALL, config)
    events = {"local": [], "ray": []}
    local = LocalExecutor().train(request, events["local"].append, TrainingControl())
    remote = ray_executor.train(request, events["ray"].append, TrainingControl())
    for a, b in zip(local["model"].dense_weights(), remote["model"].dense_weights()):
        assert np.array_equal(a, b)
    timeless = lambda history: {k: v for k, v in history.items() if k != "seconds"}  # noqa: E731
    assert timeless(local["result"].history) == timeless(remote["result"].history)
    assert np.array_equal(local["extras"]["val_proba"], remote["extras"]["val_proba"])
    assert [type(e).__name__ for e in events["local"]] == [type(e).__name__ for e in events["ray"]]


@pytest.mark.slow
def test_a_ray_task_can_be_stopped_and_its_failure_is_reported(ray_executor, small_mnist):
    from experiments.child import ChildProcessError

    control = TrainingControl()
    seen = []

    def stop_after_first_epoch(event):
        seen.append(event)
        if type(event).__name__ == "EpochEvent":
            control.stop.set()

    config = TrainConfig(hidden_sizes=(16,), optimizer="sgd", batch_size=16, epochs=2000)
    start = time.monotonic()
    outcome = ray_executor.train(TrainingRequest(small_mnist, SMALL, config), stop_after_first_epoch, control)
    assert outcome["result"].status == "stopped" and 1 <= outcome["result"].epochs_completed < 2000
    assert time.monotonic() - start < 60
    unlabelled = Dataset(name="no labels", x_train=small_mnist.x_train, y_train=np.full(1000, -1),
                         x_test=None, y_test=None, class_names=small_mnist.class_names)
    with pytest.raises(ChildProcessError, match="the training images have no labels"):
        ray_executor.train(TrainingRequest(unlabelled, SMALL, TrainConfig(epochs=1)), seen.append, TrainingControl())


@pytest.mark.slow
def test_a_small_sweep_on_ray_lands_every_trial_in_the_store(ray_executor, tmp_path, mnist):
    from experiments.space import Param, SearchSpace
    from experiments.sweep import Sweep, SweepSettings

    store = RunStore(tmp_path)
    space = SearchSpace({"learning_rate": Param.choice(0.05, 0.2), "width": Param.choice(16, 32)},
                        fixed={"optimizer": "sgd", "depth": 1, "batch_size": 32})
    summary = Sweep(store, space, SweepSettings(name="on ray", method="grid", trials=4, parallel=2,
                                                train_size=1000, epochs=1), dataset=mnist,
                    executor=ray_executor).run()
    runs = store.list_runs(sweep_id=summary.sweep_id)
    assert summary.trials_completed == 4 and len(runs) == 4
    assert all(run.status == "completed" and Path(run.model_path).is_file() for run in runs)
    assert json.loads(json.dumps(summary.as_json()))["best_val_accuracy"] == max(r.val_accuracy for r in runs)


def test_experiments_is_ui_free_and_nnlib_does_not_know_it():
    code = ("import sys, experiments.cli, experiments.sweep, experiments.tasks, experiments.executors; "
            "assert 'streamlit' not in sys.modules, 'experiments imported streamlit'; "
            "assert 'ray' not in sys.modules, 'Ray is imported only when asked for'; "
            "import nnlib.cli, nnlib.training; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
    for path in (ROOT / "nnlib").glob("*.py"):
        text = path.read_text()
        assert "import experiments" not in text and "from experiments" not in text, f"{path.name} imports it"


def test_a_training_child_runs_nicer_than_the_server():
    """Training yields the cores to page scripts when both want them (experiments.child.lower_priority)."""
    import os
    import subprocess
    import sys

    from experiments.child import ROOT, TRAINING_NICENESS

    code = "from experiments.child import lower_priority; print(lower_priority())"
    printed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert int(printed) == min(os.nice(0) + TRAINING_NICENESS, 19)
