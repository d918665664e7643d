"""The Sweep page (pages/sweep.py): set-up, a real tiny sweep driven to the end, its results,
stop, resume, and the executor notice. Each test has its own run store (MNIST_LAB_HOME)."""
from __future__ import annotations

import base64
import math
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from dashboard import jobs, state, sweep_controls, sweep_session, train_controls
from experiments.space import PRESETS, Param, SearchSpace
from experiments.store import RunStore
from experiments.sweep import SweepSettings, parameter_importances

from .helpers import open_from_home, plotly_figures

PAGE = "pages/sweep.py"


@pytest.fixture(autouse=True)
def store_home(tmp_path, monkeypatch):
    """A fresh run store and sweep holder for each test (the page's caches follow them)."""
    monkeypatch.setenv("MNIST_LAB_HOME", str(tmp_path))
    jobs._store_or_problem.clear()
    jobs._executor_or_problem.clear()
    sweep_session.get_holder.clear()
    yield tmp_path
    sweep_session.get_holder().stop_all(timeout=60)
    sweep_session.get_holder.clear()
    jobs._store_or_problem.clear()
    jobs._executor_or_problem.clear()


def tiny_form(at, **overrides) -> None:
    """Seed the form: learning rate 0.05-0.2 x width 32-64 (grid of 3 x 3), 3 trials of 1 epoch
    on 1,000 images, 2 at once, no pruning."""
    values = {f"{state.SWEEP_SEARCH_PREFIX}learning_rate": True, f"{state.SWEEP_MIN_PREFIX}learning_rate": 0.05,
              f"{state.SWEEP_MAX_PREFIX}learning_rate": 0.2, f"{state.SWEEP_SEARCH_PREFIX}width": True,
              f"{state.SWEEP_MIN_PREFIX}width": 32, f"{state.SWEEP_MAX_PREFIX}width": 64,
              f"{state.SWEEP_FIXED_PREFIX}depth": 1, f"{state.SWEEP_FIXED_PREFIX}batch_size": 32,
              state.SWEEP_NAME: "tiny", state.SWEEP_METHOD: "grid", state.SWEEP_GRID_POINTS: 3,
              state.SWEEP_TRIALS: 3, state.SWEEP_PARALLEL: 2, state.SWEEP_PRUNER: "none",
              state.SWEEP_EPOCHS: 1, state.SWEEP_TRAIN_SIZE: 1_000, **overrides}
    for key, value in values.items():
        at.session_state[key] = value


def open_page(setup=None):
    at = open_from_home(PAGE, setup=setup)
    assert not at.exception, at.exception
    return at


def this_sweep(at):
    return sweep_session.get_holder().get(at.session_state[state.SWEEP_TOKEN])


def figure_with(at, trace_type: str) -> list[dict]:
    return [figure for figure in plotly_figures(at) if figure["data"] and figure["data"][0]["type"] == trace_type]


def plotly_array(values) -> np.ndarray:
    """A figure's array, whether sent as a list or base64-encoded (``{"dtype", "bdata"}``)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def error_text(at) -> str:
    return " ".join(element.value for element in at.error)


# ---------------------------------------------------------------- set-up
def test_the_preset_fills_the_form_with_the_learning_rate_x_width_grid():
    at = open_page()
    at.button(key="sweep_preset_lr_width").click().run()
    assert not at.exception
    space = sweep_controls.space_from_values(at.session_state)
    preset = PRESETS["lr-width"]
    assert space.params == preset.params
    assert space.grid() == preset.grid() and space.grid_size() == 16
    point = {"learning_rate": 0.2, "width": 128}
    assert space.train_config(point, epochs=2) == preset.train_config(point, epochs=2)
    assert at.session_state[state.SWEEP_METHOD] == "grid" and at.session_state[state.SWEEP_TRIALS] == 16
    assert at.session_state[state.SWEEP_TRAIN_SIZE] == 10_000 and at.session_state[state.SWEEP_EPOCHS] == 2
    assert at.select_slider(key=f"{state.SWEEP_MAX_PREFIX}learning_rate").value == 3.0
    assert any("16 trial(s) of 2 epoch(s) each on 10,000 MNIST images" in c.value for c in at.caption)
    assert any("diverges" in m.value for m in at.markdown)
    assert not at.button(key="sweep_start_button").disabled


def test_impossible_ranges_and_budgets_show_an_error_and_start_nothing(store_home):
    at = open_page(lambda at: tiny_form(at, **{f"{state.SWEEP_MIN_PREFIX}learning_rate": 1.0,
                                               f"{state.SWEEP_MAX_PREFIX}learning_rate": 0.01}))
    assert "learning_rate: min 1 is above max 0.01" in error_text(at)
    assert at.button(key="sweep_start_button").disabled
    assert at.session_state[state.SWEEP_TOKEN] is None and RunStore(store_home).list_sweeps() == []

    at.session_state[f"{state.SWEEP_MIN_PREFIX}learning_rate"] = 0.01
    at.session_state[state.SWEEP_TRIALS] = 0
    at.run()
    assert "the trial budget must be at least 1 trial, got 0" in error_text(at)
    for field in sweep_controls.FIELDS:
        at.session_state[field.search_key] = False
    at.session_state[state.SWEEP_TRIALS] = 3
    at.run()
    assert "the search space is empty" in error_text(at)
    at.session_state[f"{state.SWEEP_SEARCH_PREFIX}optimizer"] = True
    at.session_state[f"{state.SWEEP_CHOICES_PREFIX}optimizer"] = []
    at.run()
    assert "optimizer: the list of choices is empty" in error_text(at)
    assert RunStore(store_home).list_sweeps() == []


# ---------------------------------------------------------------- a real sweep
@pytest.mark.slow
def test_a_tiny_sweep_runs_to_the_end_and_the_page_shows_the_stores_values(store_home):
    at = open_page(tiny_form)
    at.button(key="sweep_start_button").click().run()
    assert not at.exception
    sweep = this_sweep(at)
    assert sweep is not None and at.query_params[sweep_session.QUERY_SWEEP] == at.session_state[state.SWEEP_TOKEN]
    assert at.button(key="sweep_stop_button").disabled is False
    assert sweep.join(240)
    at.run()
    assert not at.exception

    store = RunStore(store_home)
    runs = {run.id: run for run in store.list_runs(sweep_id=sweep.id)}
    assert len(runs) == 3 and all(run.status == "completed" for run in runs.values())
    assert store.get_sweep(sweep.id).status == "completed"
    table = at.dataframe[0].value
    assert sorted(table["run id"]) == sorted(runs)
    for _, row in table.iterrows():
        run = runs[row["run id"]]
        assert row["status"] == "completed" and row["val accuracy"] == run.val_accuracy
        assert row["learning_rate"] == run.params["learning_rate"] and row["width"] == run.params["width"]

    parcoords = figure_with(at, "parcoords")[0]["data"][0]
    dimensions = {dimension["label"]: dimension["values"] for dimension in parcoords["dimensions"]}
    order = [run for run in sorted(runs.values(), key=lambda run: run.trial_number)]
    assert [10 ** value for value in dimensions["learning_rate (log10)"]] == pytest.approx(
        [run.params["learning_rate"] for run in order])
    assert dimensions["width (log10)"] == pytest.approx([math.log10(run.params["width"]) for run in order])
    assert dimensions["val accuracy"] == [run.val_accuracy for run in order]
    assert parcoords["line"]["color"] == [run.val_accuracy for run in order]

    # The page draws the order in which this sweep's coordinator saw its trials finish: two trials
    # finishing together may be seen in either order, so the line is checked against that order.
    snapshot = sweep.snapshot()
    best_line = next(trace for trace in figure_with(at, "scatter")[0]["data"] if trace["name"] == "best so far")
    running_best = [max(runs[run_id].val_accuracy for run_id in snapshot.finish_order[:i + 1])
                    for i in range(len(snapshot.finish_order))]
    assert sorted(snapshot.finish_order) == sorted(runs)
    assert best_line["y"] == snapshot.best_so_far == running_best
    assert best_line["y"][-1] == max(r.val_accuracy for r in order)

    bars = figure_with(at, "bar")[0]["data"][0]
    assert set(bars["y"]) == {"learning_rate", "width"} and sum(bars["x"]) == pytest.approx(1.0)
    assert parameter_importances(store, sweep.id).message is None
    best = max(order, key=lambda run: run.val_accuracy)
    assert any(f"{best.val_accuracy:.4f}" in m.value for m in at.markdown)

    # The trial picker shows the picked trial's curves from its run in the store.
    picked = order[0]
    at.selectbox(key="current_" + state.SWEEP_TRIAL_PICK).set_value(picked.id).run()
    curves = [figure for figure in plotly_figures(at) if figure["layout"].get("title", {}).get("text") == picked.name]
    validation = next(trace for trace in curves[0]["data"] if trace["name"] == "validation accuracy")
    assert list(plotly_array(validation["y"])) == pytest.approx(picked.history["val_accuracy"])

    # The best run becomes the Predict page's model.
    at.button(key="current_sweep_best_to_predict").click().run()
    assert at.session_state[state.ACTIVE_RUN_ID] == best.id
    assert any(best.id in element.value for element in at.success)

    # The sweep is listed among the store's past sweeps.
    past = at.dataframe[1].value
    assert list(past["id"]) == [sweep.id] and past["trials"][0] == 3

    # One click loads the best configuration into the Train page's controls.
    at.button(key="current_sweep_load_best").click().run()
    assert not at.exception
    expected, _ = train_controls.nearest_shown_config(
        SearchSpace.from_dict(store.get_sweep(sweep.id).space).train_config(best.params, epochs=1, seed=0))
    assert train_controls.config_from_values(at.session_state) == expected
    assert at.session_state[state.TRAIN_LEARNING_RATE] == best.params["learning_rate"]
    assert at.session_state[state.TRAIN_EPOCHS] == 1 and at.session_state[state.TRAIN_LAYER_COUNT] == 1
    assert any(title.value.startswith("🏋️ Train") for title in at.title)
    assert any("Loaded the sweep's best configuration" in element.value for element in at.info)


@pytest.mark.slow
def test_stop_ends_a_running_sweep_and_lists_it_to_resume(store_home):
    at = open_page(lambda at: tiny_form(at, **{state.SWEEP_TRIALS: 6, state.SWEEP_EPOCHS: 30,
                                               state.SWEEP_PARALLEL: 1, state.SWEEP_TRAIN_SIZE: 5_000}))
    at.button(key="sweep_start_button").click().run()
    sweep = this_sweep(at)
    deadline = time.monotonic() + 60
    while not any(trial.status == "running" for trial in sweep.snapshot().trials):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    at.run()
    assert at.button(key="sweep_start_button").disabled
    at.button(key="sweep_stop_button").click().run()
    assert sweep.join(60)
    at.run()
    assert not at.exception
    store = RunStore(store_home)
    assert store.get_sweep(sweep.id).status == "stopped"
    assert [run.status for run in store.list_runs(sweep_id=sweep.id)] == ["stopped"]
    assert any("(stopped)" in element.value for element in at.warning)
    assert not at.button(key=f"sweep_resume_{sweep.id}").disabled
    assert not at.button(key="sweep_start_button").disabled


def dead_owner() -> str:
    """The owner string of a process that has ended (as the store would have recorded it)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}:0"


@pytest.mark.slow
def test_an_interrupted_sweep_is_resumed_from_the_page_and_finishes_its_budget(store_home):
    space = SearchSpace({"learning_rate": Param.choice(0.05, 0.1, 0.2)},
                        fixed={"optimizer": "sgd", "hidden_sizes": (16,), "batch_size": 32})
    settings = SweepSettings(name="cut short", method="grid", trials=3, parallel=2, pruner="none",
                             epochs=1, train_size=1000, dataset="MNIST")
    store = RunStore(store_home)
    record = store.create_sweep(settings.name, settings.method, space.to_dict(), settings.to_dict())
    done = store.create_run("cut short #0", "sweep-trial", status="running", params={"learning_rate": 0.1},
                            sweep_id=record.id, trial_number=0,
                            train_config=space.train_config({"learning_rate": 0.1}).to_dict())
    store.update_run(done.id, status="completed", val_accuracy=0.8125, epochs_completed=1,
                     history={"val_accuracy": [0.8125]})
    store.update_sweep(record.id, owner=dead_owner())

    at = open_page()
    assert RunStore(store_home, recover=False).get_sweep(record.id).status == "interrupted"
    # Opened from the past sweeps, it shows its one finished trial.
    at.selectbox(key=state.SWEEP_OPENED).set_value(record.id).run()
    assert not at.exception
    opened = at.dataframe[1].value
    assert list(opened["run id"]) == [done.id] and list(opened["val accuracy"]) == [0.8125]
    parcoords = figure_with(at, "parcoords")[0]["data"][0]
    assert [dimension["values"] for dimension in parcoords["dimensions"]] == [[1], [0.8125]]  # 0.1 is choice 1
    assert "Importances need at least 3 completed trials" in " ".join(element.value for element in at.info)
    at.button(key=f"sweep_resume_{record.id}").click().run()
    assert not at.exception and not error_text(at)
    sweep = this_sweep(at)
    assert sweep.id == record.id and sweep.join(240)
    at.run()
    runs = store.list_runs(sweep_id=record.id)
    assert store.get_sweep(record.id).status == "completed"
    assert sorted(run.params["learning_rate"] for run in runs) == [0.05, 0.1, 0.2]
    assert all(run.status == "completed" for run in runs)
    table = at.dataframe[0].value
    assert sorted(table["val accuracy"]) == sorted(run.val_accuracy for run in runs)
    assert f"sweep_resume_{record.id}" not in [button.key for button in at.button]


# ---------------------------------------------------------------- the executor
def test_ray_asked_for_but_not_installed_shows_how_to_install_and_offers_local(monkeypatch):
    monkeypatch.setenv("MNIST_LAB_BACKEND", "ray")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    jobs._executor_or_problem.clear()
    at = open_page(tiny_form)
    warning = " ".join(element.value for element in at.warning)
    assert "MNIST_LAB_BACKEND=ray" in warning and "pip install -r requirements-cluster.txt" in warning
    assert at.button(key="sweep_start_button").disabled
    at.checkbox(key=state.SWEEP_USE_LOCAL).check().run()
    assert not at.button(key="sweep_start_button").disabled
    assert jobs.get_executor().name == "local"


def test_the_page_says_which_executor_runs_the_trials():
    at = open_page()
    assert any("Trials run on **the local executor" in caption.value for caption in at.caption)


@pytest.mark.slow
def test_two_sessions_sweeping_at_once_share_the_servers_cap_and_see_the_queue(store_home):
    long_trials = {state.SWEEP_TRIALS: 4, state.SWEEP_EPOCHS: 30, state.SWEEP_TRAIN_SIZE: 5_000}
    first = open_page(lambda at: tiny_form(at, **long_trials))
    second = open_page(lambda at: tiny_form(at, **long_trials))
    first.button(key="sweep_start_button").click().run()
    second.button(key="sweep_start_button").click().run()
    sweeps = [this_sweep(first), this_sweep(second)]
    assert sweeps[0].id != sweeps[1].id
    registry = jobs.get_registry()
    deadline = time.monotonic() + 60
    while registry.counts()["running"] + registry.counts()["queued"] < 4:
        assert time.monotonic() < deadline, registry.counts()
        time.sleep(0.05)
    assert registry.counts()["running"] == registry.max_running == 2
    second.run()
    assert "Server queue: 2 of 2 training slots busy, 2 network(s) waiting" in " ".join(c.value for c in second.caption)
    statuses = list(second.dataframe[0].value["status"])
    assert statuses == ["queued", "queued"]  # the first session's trials came first
    for sweep in sweeps:
        sweep.stop()
    assert all(sweep.join(60) for sweep in sweeps)
    store = RunStore(store_home)
    assert sorted(run.status for run in store.list_runs(sweep_id=sweeps[1].id)) == ["stopped", "stopped"]
