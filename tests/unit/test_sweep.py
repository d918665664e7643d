"""Sweeps (experiments/sweep.py, space.py): the space as data, checks, search, pruning, faults, resume."""
from __future__ import annotations

import math
import time

import pytest

from experiments.space import LR_WIDTH_SPACE, Param, SearchSpace
from experiments.store import RunStore
from experiments.sweep import Sweep, SweepSettings, grid_order, parameter_importances, sweep_snapshot

TINY = dict(train_size=1000, epochs=1, val_fraction=0.2)


# ---------------------------------------------------------------- the space and its checks
def test_impossible_ranges_and_budgets_are_refused_with_clear_messages():
    with pytest.raises(ValueError, match="learning_rate: min 3 is above max 0.001"):
        SearchSpace({"learning_rate": Param.float_range(3, 1e-3, log=True)})
    with pytest.raises(ValueError, match="the search space is empty"):
        SearchSpace({})
    with pytest.raises(ValueError, match="log-scale range needs min > 0"):
        SearchSpace({"l2": Param.float_range(0, 1e-3, log=True)})
    with pytest.raises(ValueError, match="optimizer: the list of choices is empty"):
        SearchSpace({"optimizer": Param.choice()})
    with pytest.raises(ValueError, match="cannot search 'colour'"):
        SearchSpace({"colour": Param.choice("red")})
    with pytest.raises(ValueError, match="unknown fixed setting"):
        SearchSpace({"width": Param.int_range(8, 16)}, fixed={"speed": 3})
    with pytest.raises(ValueError, match="trial budget must be at least 1 trial, got 0"):
        SweepSettings(trials=0)
    with pytest.raises(ValueError, match="time budget must be more than 0"):
        SweepSettings(seconds=0)
    with pytest.raises(ValueError, match="parallel must be at least 1"):
        SweepSettings(parallel=0)
    with pytest.raises(ValueError, match="method must be one of"):
        SweepSettings(method="bayes")
    with pytest.raises(ValueError, match="unknown sweep setting"):
        SweepSettings.from_dict({"trails": 3})


def test_the_preset_is_a_4x4_grid_of_the_seed_mlp_family():
    grid = LR_WIDTH_SPACE.grid()
    assert grid["learning_rate"] == pytest.approx([0.001, 0.0144225, 0.208008, 3.0], rel=1e-4)
    assert grid["width"] == [32, 64, 128, 256] and LR_WIDTH_SPACE.grid_size() == 16
    config = LR_WIDTH_SPACE.train_config({"learning_rate": 0.2, "width": 256}, epochs=2)
    assert config.hidden_sizes == (256, 128, 64) and config.optimizer == "sgd" and config.conv_channels == ()
    assert config.learning_rate == 0.2 and config.epochs == 2
    points = grid_order(LR_WIDTH_SPACE, seed=0)
    assert len(points) == 16 and len({tuple(p.values()) for p in points}) == 16
    assert points != grid_order(LR_WIDTH_SPACE, seed=1) and points == grid_order(LR_WIDTH_SPACE, seed=0)


def test_architecture_depth_and_round_trip_through_dicts():
    space = SearchSpace({"architecture": Param.choice("mlp", "cnn"), "depth": Param.int_range(1, 2),
                         "dropout": Param.float_range(0.0, 0.5)}, fixed={"width": 64, "optimizer": "adam"})
    cnn = space.train_config({"architecture": "cnn", "depth": 2, "dropout": 0.1})
    assert cnn.conv_channels == (16, 32) and cnn.hidden_sizes == (64, 32) and cnn.dropout == 0.1
    assert space.train_config({"architecture": "mlp", "depth": 1, "dropout": 0.0}).conv_channels == ()
    again = SearchSpace.from_dict(space.to_dict())
    assert again == space
    assert set(again.distributions()) == {"architecture", "depth", "dropout"}


# ---------------------------------------------------------------- running sweeps
def good_first_seed(space: SearchSpace, is_good, count: int) -> int:
    """A seed whose grid order starts with ``count`` good points (so they finish first)."""
    return next(seed for seed in range(200) if all(is_good(p) for p in grid_order(space, seed)[:count]))


@pytest.mark.slow
def test_pruning_stops_a_clearly_worse_trial(tmp_path, mnist):
    space = SearchSpace({"learning_rate": Param.choice(0.2, 0.3, 1e-6)},
                        fixed={"optimizer": "sgd", "hidden_sizes": (64,), "batch_size": 16})
    seed = good_first_seed(space, lambda p: p["learning_rate"] > 0.1, 2)
    store = RunStore(tmp_path)
    # Epochs long enough (200 steps) that the stop arrives while the bad trial still trains.
    settings = SweepSettings(name="prune", method="grid", trials=3, parallel=1, pruner="median", seed=seed,
                             train_size=4000, epochs=8)
    summary = Sweep(store, space, settings, dataset=mnist).run()
    assert (summary.trials_completed, summary.trials_pruned, summary.trials_failed) == (2, 1, 0)
    pruned = store.list_runs(status="pruned")[0]
    assert pruned.params == {"learning_rate": 1e-6} and pruned.epochs_completed < 8
    assert "Pruned after epoch" in pruned.message
    assert all(run.epochs_completed == 8 for run in store.list_runs(status="completed"))


@pytest.mark.slow
def test_crashing_and_diverging_trials_are_recorded_and_the_sweep_goes_on(tmp_path, mnist):
    space = SearchSpace({"schedule": Param.choice("constant", "no-such-schedule"),
                         "learning_rate": Param.choice(0.2, 3.0)},
                        fixed={"optimizer": "sgd", "depth": 3, "width": 128, "batch_size": 32})
    store = RunStore(tmp_path)
    sweep = Sweep(store, space, SweepSettings(name="faults", method="grid", trials=10, parallel=2,
                                              pruner="none", **TINY), dataset=mnist)
    summary = sweep.run()
    assert sweep.budget == 4 and summary.status == "completed"
    assert (summary.trials_completed, summary.trials_failed) == (1, 3)
    assert summary.best_params == {"schedule": "constant", "learning_rate": 0.2}
    failed = store.list_runs(status="failed")
    assert len(failed) == 2 and all("unknown schedule 'no-such-schedule'" in run.message for run in failed)
    assert all("Traceback" in run.error for run in failed)
    diverged = store.list_runs(status="diverged")
    assert len(diverged) == 1 and diverged[0].params["learning_rate"] == 3.0
    assert diverged[0].message.startswith("Diverged")
    record = store.get_sweep(sweep.id)
    assert record.status == "completed" and record.best_run_id == summary.best_run_id


@pytest.mark.slow
def test_a_stopped_sweep_resumes_and_finishes_its_budget_without_repeating(tmp_path, mnist):
    store = RunStore(tmp_path)
    space = SearchSpace({"learning_rate": Param.choice(0.05, 0.1, 0.2, 0.4)},
                        fixed={"optimizer": "sgd", "hidden_sizes": (16,), "batch_size": 32})
    sweep = Sweep(store, space, SweepSettings(name="resumable", method="grid", trials=4, parallel=1,
                                              pruner="none", **TINY), dataset=mnist)
    snapshots = []
    sweep.start(snapshots.append)
    deadline = time.monotonic() + 60
    while not any(t.status == "completed" for t in sweep.snapshot().trials):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sweep.stop()
    assert sweep.join(60)
    stopped = sweep.snapshot()
    assert stopped.status == "stopped" and store.get_sweep(sweep.id).status == "stopped"
    done_before = stopped.counts.get("completed", 0)
    assert 1 <= done_before < 4

    resumed = Sweep.resume(store, sweep.id, dataset=mnist)
    summary = resumed.run()
    assert summary.status == "completed" and summary.trials_completed == 4
    completed = store.list_runs(sweep_id=sweep.id, status="completed")
    assert sorted(run.params["learning_rate"] for run in completed) == [0.05, 0.1, 0.2, 0.4]
    assert all(run.tags == [f"sweep:{sweep.id}"] and run.kind == "sweep-trial" for run in completed)

    snap = sweep_snapshot(store, sweep.id)
    assert snap.best.val_accuracy == max(run.val_accuracy for run in completed)
    finite = [value for value in snap.best_so_far if not math.isnan(value)]
    assert finite == sorted(finite) and finite[-1] == snap.best.val_accuracy
    assert snapshots and snapshots[0].sweep_id == sweep.id


@pytest.mark.slow
def test_a_tpe_sweep_with_a_time_budget_and_its_importances(tmp_path, mnist):
    store = RunStore(tmp_path)
    space = SearchSpace({"learning_rate": Param.float_range(1e-3, 0.5, log=True),
                         "width": Param.int_range(8, 64, log=True)},
                        fixed={"optimizer": "sgd", "depth": 1, "batch_size": 32})
    few = Sweep(store, space, SweepSettings(name="few", method="random", trials=2, parallel=2, **TINY),
                dataset=mnist)
    few.run()
    assert "at least 3 completed trials" in parameter_importances(store, few.id).message

    sweep = Sweep(store, space, SweepSettings(name="tpe", method="tpe", trials=6, parallel=2, **TINY),
                  dataset=mnist)
    summary = sweep.run()
    assert summary.trials_completed + summary.trials_pruned + summary.trials_failed == 6
    assert 1e-3 <= summary.best_params["learning_rate"] <= 0.5 and 8 <= summary.best_params["width"] <= 64
    importances = parameter_importances(store, sweep.id)
    assert importances.message is None and set(importances.values) == {"learning_rate", "width"}
    assert sum(importances.values.values()) == pytest.approx(1.0)

    timed = Sweep(store, space, SweepSettings(name="timed", method="random", trials=500, parallel=1,
                                              seconds=2.0, **TINY), dataset=mnist)
    start = time.monotonic()
    result = timed.run()
    assert result.status == "stopped" and time.monotonic() - start < 30
    assert "time budget" in store.get_sweep(timed.id).message


@pytest.mark.slow
def test_two_sweeps_share_one_registry_cap_and_a_queued_trial_stopped_is_recorded(tmp_path, mnist):
    from experiments.jobs import JobRegistry

    store = RunStore(tmp_path)
    registry = JobRegistry(max_running=1)  # the server's cap: one network at a time
    space = SearchSpace({"learning_rate": Param.choice(0.05, 0.1, 0.2)},
                        fixed={"optimizer": "sgd", "hidden_sizes": (16,), "batch_size": 16})
    settings = SweepSettings(name="capped", method="grid", trials=3, parallel=2, pruner="none",
                             train_size=2000, epochs=200)
    first = Sweep(store, space, settings, dataset=mnist, registry=registry)
    second = Sweep(store, space, settings, dataset=mnist, registry=registry)
    first.start()
    second.start()
    deadline = time.monotonic() + 60
    while registry.counts()["running"] + registry.counts()["queued"] < 4:
        assert time.monotonic() < deadline, registry.counts()
        time.sleep(0.02)
    assert registry.counts()["running"] == 1  # four trials asked for, one trains, three wait in line
    first.stop()
    second.stop()
    assert first.join(60) and second.join(60)
    statuses = sorted(run.status for run in store.list_runs())
    assert statuses == ["stopped"] * 4
    assert sum(run.message == "Stopped before it started." for run in store.list_runs()) == 3
