"""The training job runner (experiments/jobs.py), driven without Streamlit.

Most tests use a scripted task that emits real nnlib events and obeys the real
TrainingControl, gated step by step so that the assertions do not race the thread.
The last ones train real (tiny) nnlib networks in the child process of the local executor
(experiments/child.py): completion, divergence, pause/resume/stop, the same weights as
training in this process, and a failure inside the child.
"""
from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from experiments import jobs
from experiments.tasks import train_tasks
from nnlib.preprocessing import PreprocessConfig
from nnlib.training import EndEvent, EpochEvent, StepEvent, TrainConfig, TrainResult

WAIT = 10.0


def wait_until(predicate, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class ScriptedTask:
    """A fake training run: ``epochs`` x ``steps`` steps, each waiting for ``gate`` (if set)."""

    def __init__(self, epochs: int = 3, steps: int = 4, gate: threading.Semaphore | None = None,
                 fail: bool = False, diverge_at: int | None = None) -> None:
        self.epochs, self.steps, self.gate, self.fail, self.diverge_at = epochs, steps, gate, fail, diverge_at
        self.steps_done = 0

    def task(self, label: str = "scripted") -> jobs.JobTask:
        return jobs.JobTask(label=label, epochs=self.epochs, run=self.run)

    def run(self, callback, control) -> jobs.TaskOutput:
        if self.fail:
            raise RuntimeError("out of memory (scripted)")
        history = {k: [] for k in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds")}
        status, message, seen = "completed", "done", 0
        for epoch in range(1, self.epochs + 1):
            for step in range(1, self.steps + 1):
                while control.pause.is_set() and not control.stop.is_set():
                    control.stop.wait(0.01)
                if control.stop.is_set():
                    status, message = "stopped", "stopped by request"
                    break
                if self.gate is not None:
                    while not self.gate.acquire(timeout=0.01):
                        if control.stop.is_set():
                            break
                    if control.stop.is_set():
                        status, message = "stopped", "stopped by request"
                        break
                if self.diverge_at is not None and self.steps_done + 1 >= self.diverge_at:
                    status, message = "diverged", "loss became NaN; try a smaller learning rate"
                    break
                seen += 10
                self.steps_done += 1
                callback(StepEvent(epoch, step, self.steps, 1.0 / self.steps_done, seen, 0.01 * self.steps_done, 1000.0))
            if status != "completed":
                break
            for key, value in (("epoch", epoch), ("train_loss", 1 / epoch), ("train_accuracy", 0.5 + epoch / 10),
                               ("val_loss", 1.1 / epoch), ("val_accuracy", 0.4 + epoch / 10), ("seconds", epoch)):
                history[key].append(float(value))
            callback(EpochEvent(epoch, self.epochs, 1 / epoch, 0.5 + epoch / 10, 1.1 / epoch, 0.4 + epoch / 10,
                                float(epoch), 1000.0, [0.1 * epoch] * 10))
        callback(EndEvent(status, message))
        result = TrainResult(status=status, message=message, history=history, per_class_val_accuracy=[],
                             epochs_completed=len(history["epoch"]), seconds=1.0, samples_per_second=1000.0)
        return jobs.TaskOutput(label="scripted", model=object(), result=result)


@pytest.fixture()
def registry():
    return jobs.JobRegistry(max_running=2)


def test_a_job_runs_to_completion_and_keeps_history_and_output(registry):
    task = ScriptedTask(epochs=3, steps=4)
    job, created = registry.start("owner-a", [task.task()])
    assert created
    assert job.join(WAIT)
    snap = job.snapshot()
    assert snap.status == "completed" and snap.finished and not snap.active
    assert snap.history["epoch"] == [1.0, 2.0, 3.0]
    assert snap.history["val_accuracy"] == pytest.approx([0.5, 0.6, 0.7])
    assert snap.history["per_class_val_accuracy"][-1] == pytest.approx([0.3] * 10)
    assert snap.progress.epoch == 3 and snap.progress.step == 4 and snap.progress.fraction == 1.0
    assert snap.progress.samples_seen == 120
    assert len(snap.step_losses) == 12 and snap.step_epochs[-1] == pytest.approx(3.0)
    assert snap.outputs_count == 1 and job.latest_model is job.outputs[0].model
    assert snap.message.startswith("Completed")
    assert registry.counts() == {"running": 0, "queued": 0, "total": 1}


def test_progress_is_visible_while_running(registry):
    gate = threading.Semaphore(0)
    task = ScriptedTask(epochs=2, steps=5, gate=gate)
    job, _ = registry.start("owner-a", [task.task()])
    for _ in range(3):
        gate.release()
    wait_until(lambda: job.snapshot().progress.step == 3)
    snap = job.snapshot()
    assert snap.status == "running"
    assert snap.progress.epoch == 1 and snap.progress.steps_per_epoch == 5
    assert snap.progress.fraction == pytest.approx(0.3)
    # 3 steps took 0.03 s of training time, so 7 more take about 0.07 s.
    assert snap.progress.seconds_left == pytest.approx(0.07)
    assert snap.history == {}
    for _ in range(7):
        gate.release()
    assert job.join(WAIT) and job.status == "completed"


def test_stop_ends_a_running_job_with_status_stopped(registry):
    gate = threading.Semaphore(0)
    task = ScriptedTask(epochs=5, steps=3, gate=gate)
    job, _ = registry.start("owner-a", [task.task()])
    for _ in range(4):
        gate.release()
    wait_until(lambda: job.snapshot().progress.step == 1 and job.snapshot().progress.epoch == 2)
    assert job.stop()
    assert job.join(WAIT)
    snap = job.snapshot()
    assert snap.status == "stopped"
    assert snap.history["epoch"] == [1.0]
    assert "Stopped" in snap.message
    assert not job.stop()  # stopping a finished job is a no-op


def test_pause_holds_the_steps_and_resume_continues(registry):
    task = ScriptedTask(epochs=200, steps=10)
    job, _ = registry.start("owner-a", [task.task()])
    wait_until(lambda: job.snapshot().progress.samples_seen > 0)
    assert job.pause()
    assert job.status == "paused"
    time.sleep(0.05)  # the step running when pause was pressed may still report
    held = job.snapshot().progress.samples_seen
    time.sleep(0.2)
    assert job.snapshot().progress.samples_seen == held
    assert job.snapshot().status == "paused"
    assert job.resume() and job.status == "running"
    wait_until(lambda: job.snapshot().progress.samples_seen > held)
    job.stop()
    assert job.join(WAIT) and job.status == "stopped"


def test_stop_while_paused_ends_the_job(registry):
    task = ScriptedTask(epochs=200, steps=10)
    job, _ = registry.start("owner-a", [task.task()])
    wait_until(lambda: job.snapshot().progress.samples_seen > 0)
    job.pause()
    assert job.stop()
    assert job.join(WAIT) and job.status == "stopped"


def test_cap_queues_extra_jobs_first_in_first_out():
    registry = jobs.JobRegistry(max_running=1)
    gate_a = threading.Semaphore(0)
    job_a, _ = registry.start("owner-a", [ScriptedTask(epochs=1, steps=2, gate=gate_a).task()])
    wait_until(lambda: job_a.status == "running")
    job_b, _ = registry.start("owner-b", [ScriptedTask(epochs=1, steps=2).task()])
    job_c, _ = registry.start("owner-c", [ScriptedTask(epochs=1, steps=2).task()])
    wait_until(lambda: job_c.snapshot().queue_position == 2)
    snap_b = job_b.snapshot()
    assert snap_b.status == "queued" and snap_b.queue_position == 1
    assert "Queued" in snap_b.message and "1 network(s) at a time" in snap_b.message
    assert registry.counts() == {"running": 1, "queued": 2, "total": 3}
    gate_a.release()
    gate_a.release()
    assert job_a.join(WAIT) and job_b.join(WAIT) and job_c.join(WAIT)
    assert [j.status for j in (job_a, job_b, job_c)] == ["completed"] * 3
    assert job_b.snapshot().started_at <= job_c.snapshot().started_at
    assert job_b.snapshot().queue_position is None


def test_a_queued_job_can_be_stopped_before_it_starts():
    registry = jobs.JobRegistry(max_running=1)
    gate = threading.Semaphore(0)
    job_a, _ = registry.start("owner-a", [ScriptedTask(epochs=1, steps=1, gate=gate).task()])
    job_b, _ = registry.start("owner-b", [ScriptedTask(epochs=1, steps=1).task()])
    wait_until(lambda: job_b.snapshot().queue_position == 1)
    assert job_b.stop()
    assert job_b.join(WAIT)
    assert job_b.status == "stopped" and job_b.outputs == []
    assert "before it started" in job_b.snapshot().message
    gate.release()
    assert job_a.join(WAIT) and job_a.status == "completed"


def test_double_start_returns_the_running_job(registry):
    gate = threading.Semaphore(0)
    job, created = registry.start("owner-a", [ScriptedTask(epochs=1, steps=1, gate=gate).task()])
    again, created_again = registry.start("owner-a", [ScriptedTask().task()])
    assert created and not created_again and again is job
    assert len(registry) == 1
    other, created_other = registry.start("owner-b", [ScriptedTask(epochs=1, steps=1).task()])
    assert created_other and other is not job
    gate.release()
    assert job.join(WAIT) and other.join(WAIT)
    # Once the first job has finished, the same owner may start a new one.
    third, created_third = registry.start("owner-a", [ScriptedTask(epochs=1, steps=1).task()])
    assert created_third and third is not job
    third.join(WAIT)


def test_concurrent_starts_for_one_owner_create_one_job(registry):
    gate = threading.Semaphore(0)
    results = []
    barrier = threading.Barrier(8)

    def click():
        barrier.wait()
        results.append(registry.start("owner-a", [ScriptedTask(epochs=1, steps=1, gate=gate).task()]))

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(created for _, created in results) == 1
    assert len({job.id for job, _ in results}) == 1
    gate.release()
    results[0][0].join(WAIT)


def test_finished_jobs_are_evicted_after_a_while_and_beyond_a_cap():
    now = [1000.0]
    registry = jobs.JobRegistry(max_running=2, keep_finished_seconds=60, max_finished=2, clock=lambda: now[0])
    done = []
    for owner in ("a", "b", "c"):
        job, _ = registry.start(owner, [ScriptedTask(epochs=1, steps=1).task()])
        job.join(WAIT)
        job._finished_at = now[0]  # finished "now" on the fake clock
        now[0] += 1
        done.append(job)
    gate = threading.Semaphore(0)
    running, _ = registry.start("d", [ScriptedTask(epochs=1, steps=1, gate=gate).task()])
    # The cap of two finished jobs evicted the oldest one on that start.
    assert registry.get(done[0].id) is None
    assert registry.get(done[1].id) is done[1] and registry.get(done[2].id) is done[2]
    now[0] += 61
    assert sorted(registry.evict()) == sorted([done[1].id, done[2].id])
    assert registry.get(running.id) is running  # active jobs are never evicted
    gate.release()
    running.join(WAIT)


def test_job_ids_are_unguessable_and_unknown_ids_find_nothing(registry):
    ids = {jobs.new_job_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 24 for i in ids)
    assert registry.get("not-a-job") is None and registry.get(None) is None


def test_a_failing_task_marks_the_job_failed_and_frees_its_slot():
    registry = jobs.JobRegistry(max_running=1)
    job, _ = registry.start("owner-a", [ScriptedTask(fail=True).task()])
    assert job.join(WAIT)
    snap = job.snapshot()
    assert snap.status == "failed"
    assert "RuntimeError: out of memory (scripted)" in snap.message
    assert "Traceback" in snap.error
    nxt, _ = registry.start("owner-b", [ScriptedTask(epochs=1, steps=1).task()])
    assert nxt.join(WAIT) and nxt.status == "completed"


def test_a_batch_runs_every_task_and_reports_which_one_is_running(registry):
    gate = threading.Semaphore(0)
    tasks = [ScriptedTask(epochs=1, steps=1, gate=gate).task(f"net {i}") for i in range(3)]
    job, _ = registry.start("owner-a", tasks)
    gate.release()
    wait_until(lambda: job.snapshot().progress.task_index == 1)
    snap = job.snapshot()
    assert snap.progress.task_label == "net 1" and snap.progress.task_count == 3
    assert snap.outputs_count == 1
    gate.release()
    gate.release()
    assert job.join(WAIT)
    assert job.status == "completed" and len(job.outputs) == 3
    assert job.snapshot().message == "Completed all 3 runs."


def test_layer_health_is_kept_per_task_and_the_snapshot_shows_the_current_one(registry):
    from nnlib.layer_health import HealthEvent, LayerHealth

    def health_task(label: str, dead: int) -> jobs.JobTask:
        def run(callback, control) -> jobs.TaskOutput:
            for epoch in (1, 2):
                callback(HealthEvent(epoch, LayerHealth(64, 0.5 / epoch, ("dense_0",), (0.1 * epoch,),
                                                        ("hidden 1",), (dead,), (8,))))
            return ScriptedTask(epochs=1, steps=1).run(callback, control)
        return jobs.JobTask(label=label, epochs=1, run=run)

    job, _ = registry.start("owner-a", [health_task("first", 1), health_task("second", 3)])
    assert job.join(WAIT) and job.status == "completed"
    assert [event.health.dead_units for event in job.health_of(0)] == [(1,), (1,)]
    assert [event.health.gradient_norms for event in job.health_of(1)] == [(0.1,), (0.2,)]
    assert job.snapshot().health == job.health_of(1)   # the task shown last


def test_a_diverging_task_in_a_scripted_run_gives_status_diverged(registry):
    job, _ = registry.start("owner-a", [ScriptedTask(epochs=3, steps=4, diverge_at=6).task()])
    assert job.join(WAIT)
    assert job.status == "diverged"
    assert "smaller learning rate" in job.snapshot().message


def test_step_losses_are_averaged_into_at_most_max_points(monkeypatch, registry):
    monkeypatch.setattr(jobs, "MAX_STEP_POINTS", 10)
    job, _ = registry.start("owner-a", [ScriptedTask(epochs=1, steps=100).task()])
    assert job.join(WAIT)
    snap = job.snapshot()
    assert 5 <= len(snap.step_losses) <= 10
    assert snap.step_epochs == sorted(snap.step_epochs)
    # Every kept point is a mean of consecutive losses 1/k: within the range of all of them.
    assert max(snap.step_losses) <= 1.0 and min(snap.step_losses) >= 0.01


# ---------------------------------------------------------------- real nnlib training
@pytest.fixture(scope="module")
def small_mnist(mnist):
    from nnlib.data import Dataset

    return Dataset(name="MNIST (first 600)", x_train=mnist.x_train[:600], y_train=mnist.y_train[:600],
                   x_test=mnist.x_test[:200], y_test=mnist.y_test[:200], class_names=mnist.class_names)


@pytest.mark.slow
def test_a_real_tiny_nnlib_run_completes_with_validation_outputs(registry, small_mnist):
    config = TrainConfig(hidden_sizes=(16,), optimizer="adam", learning_rate=1e-2, batch_size=64, epochs=3)
    preprocess = PreprocessConfig(train_size=600, val_fraction=0.2)
    job, _ = registry.start("owner-a", train_tasks(small_mnist, preprocess, [("tiny", config)]))
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == "completed", snap.message
    assert snap.history["epoch"] == [1.0, 2.0, 3.0]
    assert snap.progress.steps_per_epoch == 8  # 480 training images in batches of 64
    output = job.outputs[0]
    assert output.result.status == "completed" and output.result.test_accuracy is not None
    assert output.extras["val_proba"].shape == (120, 10)
    assert output.extras["val_proba"].dtype == np.float32
    assert np.allclose(output.extras["val_proba"].sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(output.extras["y_val"], small_mnist.y_train[output.extras["val_indices"]])
    assert output.result.history["val_accuracy"][-1] == pytest.approx(snap.history["val_accuracy"][-1])
    assert output.result.history["val_accuracy"][-1] > 0.5
    assert output.scaler.method == "unit" and output.dataset_name == "MNIST (first 600)"


@pytest.mark.slow
def test_a_real_run_reports_its_layer_health_after_every_epoch(registry, small_mnist):
    from nnlib.layer_health import health_sample, layer_health
    from nnlib.preprocessing import prepare

    config = TrainConfig(hidden_sizes=(16,), optimizer="adam", learning_rate=1e-2, batch_size=64, epochs=3)
    preprocess = PreprocessConfig(train_size=600, val_fraction=0.2)
    job, _ = registry.start("owner-a", train_tasks(small_mnist, preprocess, [("healthy", config)]))
    assert job.join(60) and job.status == "completed", job.snapshot().message
    health = job.snapshot().health
    assert health == job.health_of(0)
    assert [event.epoch for event in health] == [1, 2, 3]
    assert all(event.health.gradient_layers == ("dense_0", "dense_2") for event in health)
    assert all(event.health.hidden_stages == ("hidden 1",) and event.health.unit_counts == (16,) for event in health)
    assert all(event.health.samples == 120 for event in health)   # every validation image (fewer than 256)
    # The last epoch's health is the trained model's, measured here again on the same images.
    prepared = prepare(small_mnist, preprocess)
    chosen = health_sample(len(prepared.y_val))
    again = layer_health(job.outputs[0].model, prepared.x_val[chosen], prepared.y_val[chosen])
    assert health[-1].health.gradient_norms == pytest.approx(again.gradient_norms, rel=1e-3)
    assert health[-1].health.dead_units == again.dead_units
    assert health[-1].health.loss == pytest.approx(again.loss, rel=1e-4)


@pytest.mark.slow
def test_learning_rate_1_with_full_batch_sgd_diverges_with_advice(registry, mnist):
    # The example: SGD, full batch, learning rate 1 (seen to blow up in epoch ~15 on 2,000 images).
    config = TrainConfig(hidden_sizes=(256, 128, 64), optimizer="sgd", learning_rate=1.0, batch_size=None, epochs=60)
    job, _ = registry.start("owner-a", train_tasks(mnist, PreprocessConfig(train_size=2000), [("boom", config)]))
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == "diverged"
    assert "smaller learning rate" in snap.message
    assert all(np.isfinite(w).all() for w in job.outputs[0].model.dense_weights())


@pytest.mark.slow
def test_a_real_run_can_be_paused_resumed_and_stopped_through_the_child_process(registry, small_mnist):
    # Many short epochs, so the run is still going when the controls arrive.
    config = TrainConfig(hidden_sizes=(16,), optimizer="sgd", learning_rate=0.1, batch_size=32, epochs=300)
    preprocess = PreprocessConfig(train_size=600, val_fraction=0.2)
    job, _ = registry.start("owner-a", train_tasks(small_mnist, preprocess, [("long", config)]))
    wait_until(lambda: job.snapshot().progress.samples_seen > 0, timeout=60)
    assert job.pause()
    time.sleep(0.5)  # let the pause reach the child and the last step events arrive
    held = job.snapshot().progress.samples_seen
    time.sleep(0.6)
    assert job.snapshot().progress.samples_seen == held and job.status == "paused"
    assert job.resume()
    wait_until(lambda: job.snapshot().progress.samples_seen > held, timeout=30)
    assert job.stop()
    assert job.join(30)
    snap = job.snapshot()
    assert snap.status == "stopped", snap.message
    result = job.outputs[0].result
    assert result.status == "stopped" and 0 < result.epochs_completed < 300
    assert len(snap.history["epoch"]) == result.epochs_completed


@pytest.mark.slow
def test_the_child_trains_the_same_weights_as_nnlib_in_this_process(registry, small_mnist):
    from nnlib.preprocessing import prepare
    from nnlib.training import train

    config = TrainConfig(hidden_sizes=(8,), optimizer="adam", learning_rate=1e-2, batch_size=50, epochs=2, seed=3)
    preprocess = PreprocessConfig(train_size=500, val_fraction=0.2, seed=1)
    job, _ = registry.start("owner-a", train_tasks(small_mnist, preprocess, [("same", config)]))
    assert job.join(60) and job.status == "completed"
    local_model, local_result = train(prepare(small_mnist, preprocess), config)
    child_model = job.outputs[0].model
    for mine, theirs in zip(local_model.dense_weights(), child_model.dense_weights()):
        assert np.array_equal(mine, theirs)
    assert job.outputs[0].result.history["train_loss"] == local_result.history["train_loss"]
    assert child_model.metadata["train_config"] == config.to_dict()


@pytest.mark.slow
def test_a_failure_in_the_child_process_fails_the_job_with_its_message(registry, small_mnist):
    from nnlib.data import Dataset

    unlabelled = Dataset(name="no labels", x_train=small_mnist.x_train, y_train=np.full(600, -1),
                         x_test=None, y_test=None, class_names=small_mnist.class_names)
    config = TrainConfig(hidden_sizes=(8,), epochs=1)
    job, _ = registry.start("owner-a", train_tasks(unlabelled, PreprocessConfig(), [("bad", config)]))
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == "failed"
    assert "the training images have no labels" in snap.message
    assert "In the training process" in snap.error and "prepare" in snap.error
    assert registry.counts()["running"] == 0


@pytest.mark.slow
def test_a_failing_listener_ends_the_child_at_once(small_mnist):
    from experiments.child import ChildProcessError, run_in_child
    from nnlib.training import TrainingControl

    def listener(event):
        raise RuntimeError("listener broke")

    config = TrainConfig(hidden_sizes=(16,), optimizer="sgd", batch_size=32, epochs=5000)
    start = time.monotonic()
    with pytest.raises(ChildProcessError, match="could not be relayed.*listener broke"):
        run_in_child(small_mnist, PreprocessConfig(train_size=600), config, listener, TrainingControl())
    assert time.monotonic() - start < 20  # 5,000 epochs take over a minute: the child was ended


BLAS_REPORT = ("import json, os, numpy, threadpoolctl; "
               "pools = [p for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']; "
               "print(json.dumps({'env': os.environ.get('OPENBLAS_NUM_THREADS'), "
               "'threads': [p['num_threads'] for p in pools], 'path': os.environ['PYTHONPATH']}))")


@pytest.mark.slow
@pytest.mark.parametrize("blas_threads", [1, 2])
def test_the_child_gets_the_configured_blas_threads_and_can_import_the_project(blas_threads):
    import json
    import subprocess
    import sys

    from experiments.child import ROOT, child_environment

    # Run from a folder outside the project: only the environment makes the project importable.
    report = subprocess.run([sys.executable, "-c", "import experiments.child; " + BLAS_REPORT],
                            env=child_environment(blas_threads), cwd="/", capture_output=True, text=True, check=True)
    seen = json.loads(report.stdout)
    assert seen["env"] == str(blas_threads)
    assert seen["threads"] and set(seen["threads"]) == {blas_threads}  # what OpenBLAS itself uses
    assert seen["path"].split(os.pathsep)[0] == str(ROOT)


def test_the_dataset_file_round_trips_without_pickle(tmp_path, small_mnist):
    from experiments.child import read_dataset, write_dataset

    write_dataset(small_mnist, tmp_path / "d.npz")
    back = read_dataset(tmp_path / "d.npz")
    assert back.name == small_mnist.name and back.class_names == small_mnist.class_names
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(back, key), getattr(small_mnist, key))


# ---------------------------------------------------------------------- fairness between users
def test_jobs_of_different_owners_start_in_arrival_order_and_know_their_place():
    registry = jobs.JobRegistry(max_running=1)
    gates = {name: threading.Semaphore(0) for name in "abcd"}
    started = []

    def task(name):
        scripted = ScriptedTask(epochs=1, steps=1, gate=gates[name])
        run = scripted.run

        def recording_run(callback, control):
            started.append(name)
            return run(callback, control)
        return jobs.JobTask(label=name, epochs=1, run=recording_run)

    job_a, _ = registry.start("owner-a", [task("a")])
    wait_until(lambda: job_a.status == "running")
    queued = [registry.start(f"owner-{name}", [task(name)])[0] for name in "bcd"]
    wait_until(lambda: queued[2].snapshot().queue_position == 3)
    snaps = [job.snapshot() for job in queued]
    assert [snap.queue_position for snap in snaps] == [1, 2, 3]
    assert [snap.running_ahead for snap in snaps] == [1, 1, 1]
    assert "2nd in line, 1 running ahead" in snaps[1].message
    assert "3rd in line" in snaps[2].message
    for name in "abcd":
        gates[name].release()
    assert all(job.join(WAIT) for job in [job_a, *queued])
    assert started == ["a", "b", "c", "d"]
    assert [job.snapshot().started_at for job in queued] == sorted(job.snapshot().started_at for job in queued)


def test_an_owner_holds_one_running_and_one_queued_job_and_a_third_is_refused():
    registry = jobs.JobRegistry(max_running=2)
    gate = threading.Semaphore(0)
    running, created = registry.start("owner-a", [ScriptedTask(epochs=1, steps=1, gate=gate).task()])
    wait_until(lambda: running.status == "running")
    # A plain second start (a double click) gets the running job back.
    assert registry.start("owner-a", [ScriptedTask().task()]) == (running, False)
    # Asked for on purpose, a second job waits behind the owner's own run, although a slot is free.
    nxt, created_next = registry.start("owner-a", [ScriptedTask(epochs=1, steps=1).task()], queue_next=True)
    assert created and created_next and nxt is not running
    wait_until(lambda: nxt.snapshot().queue_position == 1)
    time.sleep(0.3)
    snap = nxt.snapshot()
    assert snap.status == "queued" and snap.behind_own_run and "behind your own run" in snap.message
    with pytest.raises(jobs.OwnerLimitError, match="1 network\\(s\\) training and 1 waiting in line"):
        registry.start("owner-a", [ScriptedTask().task()], queue_next=True)
    assert [job.id for job in registry.jobs_of("owner-a")] == [running.id, nxt.id]
    # Another owner is not held up by owner-a's queued job: it takes the free slot at once.
    other, _ = registry.start("owner-b", [ScriptedTask(epochs=1, steps=1, gate=gate).task()])
    wait_until(lambda: other.status == "running")
    assert nxt.status == "queued"
    gate.release()
    gate.release()
    assert running.join(WAIT) and other.join(WAIT) and nxt.join(WAIT)
    assert nxt.status == "completed" and nxt.snapshot().started_at >= running.snapshot().finished_at


def test_a_queued_owner_cannot_queue_a_second_job():
    registry = jobs.JobRegistry(max_running=1)
    gate = threading.Semaphore(0)
    first, _ = registry.start("owner-a", [ScriptedTask(epochs=1, steps=1, gate=gate).task()])
    waiting, _ = registry.start("owner-b", [ScriptedTask(epochs=1, steps=1).task()])
    with pytest.raises(jobs.OwnerLimitError, match="0 network\\(s\\) training and 1 waiting"):
        registry.start("owner-b", [ScriptedTask().task()], queue_next=True)
    gate.release()
    assert first.join(WAIT) and waiting.join(WAIT)


def test_cancel_takes_a_queued_job_out_of_line_and_moves_the_others_up():
    registry = jobs.JobRegistry(max_running=1)
    gate = threading.Semaphore(0)
    first, _ = registry.start("owner-a", [ScriptedTask(epochs=1, steps=1, gate=gate).task()])
    second, _ = registry.start("owner-b", [ScriptedTask(epochs=1, steps=1).task()])
    third, _ = registry.start("owner-c", [ScriptedTask(epochs=1, steps=1).task()])
    wait_until(lambda: third.snapshot().queue_position == 2)
    assert not registry.cancel(second.id, "owner-c")  # not yours: nothing happens
    assert second.status == "queued"
    assert registry.cancel(second.id, "owner-b")
    assert second.join(WAIT) and second.status == "stopped" and second.outputs == []
    assert "Cancelled before it started" in second.snapshot().message
    wait_until(lambda: third.snapshot().queue_position == 1)
    assert "1st in line" in third.snapshot().message
    assert registry.counts()["queued"] == 1
    gate.release()
    assert first.join(WAIT) and third.join(WAIT) and third.status == "completed"


def test_ordinals_read_as_english():
    assert [jobs.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
