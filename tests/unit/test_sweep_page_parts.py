"""The Sweep page's pure parts: the form's field table, its figures, and loading a trial's
configuration into the Train page's controls (nearest values they can show)."""
from __future__ import annotations

import math

import pytest

from dashboard import state, sweep_charts, sweep_controls
from dashboard.train_controls import nearest_shown_config, values_for_config
from experiments.space import PRESETS, Param, SearchSpace
from experiments.sweep_report import SweepSnapshot, TrialInfo
from nnlib.training import TrainConfig


def trial(number, status, accuracy, **params) -> TrialInfo:
    return TrialInfo(number=number, run_id=f"run{number}", params=params, status=status, val_accuracy=accuracy,
                     val_accuracies=[] if accuracy is None else [accuracy], epochs_completed=1)


SPACE = SearchSpace({"learning_rate": Param.float_range(1e-3, 1.0, log=True),
                     "optimizer": Param.choice("sgd", "adam"), "dropout": Param.float_range(0.0, 0.5)})
TRIALS = [trial(0, "completed", 0.9, learning_rate=0.1, optimizer="adam", dropout=0.2),
          trial(1, "diverged", None, learning_rate=1.0, optimizer="sgd", dropout=0.0),
          trial(2, "running", None, learning_rate=0.01, optimizer="sgd", dropout=0.1),
          trial(3, "pruned", 0.4, learning_rate=0.001, optimizer="sgd", dropout=0.5)]


def test_default_form_values_describe_a_valid_sweep_of_the_learning_rate():
    space, settings = sweep_controls.plan_from_values(sweep_controls.default_values(), "MNIST")
    assert list(space.params) == ["learning_rate"] and space.params["learning_rate"].log
    assert space.fixed["width"] == 128 and space.fixed["depth"] == 2 and space.fixed["optimizer"] == "sgd"
    assert settings.method == "tpe" and settings.dataset == "MNIST" and settings.seconds is None


def test_the_preset_values_rebuild_the_preset_space_and_bad_values_are_refused():
    values = {**sweep_controls.default_values(), **sweep_controls.values_for_preset("lr-width")}
    space, settings = sweep_controls.plan_from_values(values, "MNIST")
    assert space.params == PRESETS["lr-width"].params and space.grid_size() == 16
    assert (settings.method, settings.trials, settings.epochs, settings.train_size) == ("grid", 16, 2, 10_000)
    values[state.SWEEP_LIMIT_TIME], values[state.SWEEP_MINUTES] = True, 0.0
    with pytest.raises(ValueError, match="time budget must be more than 0"):
        sweep_controls.plan_from_values(values, "MNIST")
    with pytest.raises(ValueError, match="unknown preset"):
        sweep_controls.values_for_preset("nope")


def test_parallel_coordinates_draw_each_trial_with_an_accuracy_or_a_breakdown():
    figure = sweep_charts.parallel_coordinates(TRIALS, SPACE).to_plotly_json()
    dimensions = {dimension["label"]: dimension for dimension in figure["data"][0]["dimensions"]}
    assert list(dimensions) == ["learning_rate (log10)", "optimizer", "dropout", "val accuracy"]
    lr = dimensions["learning_rate (log10)"]
    assert list(lr["values"]) == pytest.approx([-1.0, 0.0, -3.0])        # the running trial has no line yet
    assert lr["range"] == pytest.approx([-3.0, 0.0]) and lr["ticktext"] == ["0.001", "0.01", "0.1", "1"]
    optimizer = dimensions["optimizer"]
    assert list(optimizer["values"]) == [1, 0, 0] and optimizer["ticktext"] == ["sgd", "adam"]
    assert list(dimensions["dropout"]["values"]) == [0.2, 0.0, 0.5]
    accuracy = dimensions["val accuracy"]
    assert list(accuracy["values"]) == [0.9, sweep_charts.NO_ACCURACY, 0.4]
    assert accuracy["ticktext"][0] == sweep_charts.NO_ACCURACY_LABEL
    assert list(figure["data"][0]["line"]["color"]) == [0.9, sweep_charts.NO_ACCURACY, 0.4]


def test_best_so_far_importances_and_the_trials_table():
    snapshot = SweepSnapshot(sweep_id="s", name="s", method="grid", status="running", message="", trials=TRIALS,
                             best=TRIALS[0], best_so_far=[math.nan, 0.4, 0.9], budget=4, seconds=1.0,
                             finish_order=["run1", "run3", "run0"])
    figure = sweep_charts.best_so_far(snapshot).to_plotly_json()
    dots, line = figure["data"]
    assert list(dots["x"]) == [1, 2, 3] and list(dots["y"]) == [None, 0.4, 0.9]
    assert list(line["y"]) == [None, 0.4, 0.9]
    bars = sweep_charts.importances({"learning_rate": 0.7, "optimizer": 0.2, "dropout": 0.1}).to_plotly_json()
    assert list(bars["data"][0]["y"]) == ["dropout", "optimizer", "learning_rate"]
    rows = sweep_charts.trial_rows(TRIALS, SPACE)
    assert rows[1] == {"trial": 1, "status": "diverged", "learning_rate": 1.0, "optimizer": "sgd", "dropout": 0.0,
                       "val accuracy": None, "epochs": 1, "message": "", "run id": "run1"}


def test_a_trials_config_moves_to_the_nearest_values_the_train_controls_show():
    config = TrainConfig(hidden_sizes=(100, 50, 25), learning_rate=0.0873, dropout=0.13, batch_size=48, epochs=2,
                         optimizer="sgd")
    shown, notes = nearest_shown_config(config)
    assert shown.hidden_sizes == (128, 64, 32) and shown.learning_rate == 0.1 and shown.dropout == 0.15
    assert shown.batch_size == 32 or shown.batch_size == 64
    assert shown.epochs == 2 and shown.optimizer == "sgd"
    assert any("0.0873 → 0.1" in note for note in notes) and len(notes) == 4
    values_for_config(shown)  # every value now fits a widget
    same, none = nearest_shown_config(shown)
    assert same == shown and none == []
