"""Divergence beyond NaN: a loss far above its start, or one that rose and then sat at chance.

The guard's rules on scripted losses first, then real runs on small MNIST subsets: momentum
at learning rate 1 (the slider's maximum) and SGD at 10 end "diverged" with advice, in this
process, through the job runner's child process and on the command line (exit status 1);
healthy and merely slow runs are left alone.
"""
from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from experiments import jobs
from experiments.tasks import train_tasks
from nnlib.cli import main
from nnlib.divergence import EPOCH_LOSS_FACTOR, STEP_LOSS_FACTOR, DivergenceGuard
from nnlib.preprocessing import PreprocessConfig, prepare
from nnlib.training import TrainConfig, train


# ---------------------------------------------------------------------- the rules
def test_a_batch_loss_100_times_its_start_is_divergence():
    guard = DivergenceGuard(10)
    assert not guard.step(2.4)
    assert not guard.step(2.4 * STEP_LOSS_FACTOR * 0.99)
    assert guard.step(2.4 * STEP_LOSS_FACTOR * 1.01)
    assert guard.blew_up and "more than 100 times its starting value (2.4)" in guard.reason


def test_nan_is_divergence_and_the_reference_never_goes_below_guessing():
    assert DivergenceGuard(10).step(math.nan)
    guard = DivergenceGuard(10)
    guard.step(0.05)  # a checkpoint trained further starts low
    assert guard.reference == pytest.approx(math.log(10))
    assert not guard.step(3.0)


def test_an_epoch_mean_10_times_its_start_is_divergence():
    guard = DivergenceGuard(10)
    guard.step(2.3)
    assert not guard.epoch(1, 2.3 * EPOCH_LOSS_FACTOR * 0.9, 0.5, 0.5)
    assert guard.epoch(1, 2.3 * EPOCH_LOSS_FACTOR * 1.1, 0.5, 0.5) and guard.blew_up


def test_chance_after_a_rise_is_divergence_but_chance_without_one_is_slow_learning():
    risen = DivergenceGuard(10)
    for loss in [2.3, 9.0] + [2.31] * 30:
        risen.step(loss)
    assert not risen.epoch(1, 2.31, 0.10, 0.10)  # one epoch is not "stuck"
    assert risen.epoch(2, 2.31, 0.10, 0.09)
    assert not risen.blew_up and "stayed at chance (10.0% for 10 classes" in risen.reason
    slow = DivergenceGuard(10)
    for _ in range(40):
        slow.step(2.30)
    assert not slow.epoch(5, 2.30, 0.10, 0.10)
    learning = DivergenceGuard(10)
    for loss in [2.3, 9.0] + [1.0] * 30:
        learning.step(loss)
    assert not learning.epoch(3, 1.0, 0.7, 0.7)


# ---------------------------------------------------------------------- real runs
@pytest.fixture(scope="module")
def prepared_2000(mnist):
    return prepare(mnist, PreprocessConfig(train_size=2000, val_fraction=0.2, seed=0))


@pytest.mark.slow
@pytest.mark.parametrize("optimizer, rate", [("momentum", 1.0), ("sgd", 10.0)])
def test_rates_far_too_large_end_diverged_with_advice(prepared_2000, optimizer, rate):
    config = TrainConfig(optimizer=optimizer, learning_rate=rate, batch_size=128, epochs=4, seed=0)
    model, result = train(prepared_2000, config)
    assert result.status == "diverged"
    assert f"Try a smaller learning rate (now {rate:g})" in result.message
    assert all(np.isfinite(w).all() for w in model.dense_weights())
    assert model.evaluate(prepared_2000.x_val, prepared_2000.y_val)["loss"] < 10  # weights from before the blow-up


@pytest.mark.slow
def test_momentum_at_1_on_a_smaller_net_settles_at_chance_and_is_caught(mnist):
    prepared = prepare(mnist, PreprocessConfig(train_size=6000, val_fraction=0.2, seed=0))
    config = TrainConfig(hidden_sizes=(128, 64), optimizer="momentum", learning_rate=1.0, batch_size=128,
                         epochs=4, seed=0)
    _, result = train(prepared, config)
    assert result.status == "diverged" and "stayed at chance" in result.message
    assert result.epochs_completed == 2


@pytest.mark.slow
@pytest.mark.parametrize("optimizer, rate", [("sgd", 0.1), ("momentum", 0.01), ("adam", 1e-3), ("adam", 0.01),
                                             ("sgd", 1e-4)])
def test_healthy_and_slow_runs_complete(prepared_2000, optimizer, rate):
    config = TrainConfig(optimizer=optimizer, learning_rate=rate, batch_size=128, epochs=3, seed=0)
    _, result = train(prepared_2000, config)
    assert result.status == "completed", result.message


@pytest.mark.slow
def test_sgd_at_10_through_the_job_runner_ends_diverged(mnist):
    registry = jobs.JobRegistry()
    config = TrainConfig(optimizer="sgd", learning_rate=10.0, batch_size=128, epochs=3)
    job, _ = registry.start("owner", train_tasks(mnist, PreprocessConfig(train_size=2000), [("boom", config)]))
    assert job.join(120)
    snap = job.snapshot()
    assert snap.status == jobs.DIVERGED and "smaller learning rate" in snap.message


@pytest.mark.slow
def test_the_cli_exits_1_when_training_diverges(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    code = main(["train", "--train-size", "2000", "--epochs", "3", "--optimizer", "momentum", "--lr", "1",
                 "--json"], out=out, err=err)
    assert code == 1
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert report["status"] == "diverged" and "diverged" in err.getvalue()
