"""The Runs page under AppTest, on a store seeded with real tiny runs; and the Train and
Predict pages reading the same store.

Three small MLPs are trained once per module with nnlib on 300 MNIST images (the tests that
use them are marked slow); each test writes them into its own store (``lab_home``, from
tests/pages/conftest.py) as runs with their history and model file, as the training tasks do.
"""
from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
from dataclasses import dataclass

import numpy as np
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from dashboard import run_table, state
from experiments.store import RunStore
from nnlib.builders import describe_network
from nnlib.metrics import confusion_matrix
from nnlib.model import Sequential
from nnlib.preprocessing import PreprocessConfig, flatten, prepare
from nnlib.training import TrainConfig, TrainResult, train

from .helpers import app_test, plotly_figures
from .test_predict import CANVAS_KEY, canvas_value, drawing, shown_digit

PREPROCESS = PreprocessConfig(train_size=300)


@dataclass
class TinyRun:
    """A real trained network and what training reported, ready to be written into a store."""

    name: str
    config: TrainConfig
    model: Sequential
    result: TrainResult


@pytest.fixture(scope="module")
def tiny_runs(mnist) -> list[TinyRun]:
    """Three MLPs of different widths, 2 epochs on 300 images (about a second in all)."""
    prepared = prepare(mnist, PREPROCESS)
    trained = []
    for name, width, learning_rate in (("wide adam", 32, 3e-3), ("narrow adam", 8, 3e-3), ("slow sgd", 16, 1e-3)):
        config = TrainConfig(hidden_sizes=(width,), optimizer="adam" if "adam" in name else "sgd",
                             learning_rate=learning_rate, batch_size=32, epochs=2, seed=3)
        model, result = train(prepared, config)
        trained.append(TinyRun(name, config, model, result))
    return trained


def record(store: RunStore, run: TinyRun, *, tags=(), dataset: str = "MNIST") -> str:
    """``run`` as a finished run in ``store`` (what experiments.tasks records); its id."""
    created = store.create_run(run.name, "single", dataset=dataset, architecture=describe_network(run.config),
                               train_config=run.config.to_dict(), preprocess_config=PREPROCESS.to_dict(), tags=tags)
    store.save_model(created.id, run.model)
    result = run.result
    store.update_run(created.id, status=result.status, message=result.message, history=result.history,
                     epochs_completed=result.epochs_completed, val_accuracy=result.last("val_accuracy"),
                     test_accuracy=result.test_accuracy, seconds=result.seconds,
                     per_class_accuracy=result.per_class_val_accuracy[-1])
    return created.id


def dead_owner() -> str:
    """The owner string of a process that has ended (as a killed server leaves behind)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}:0"


def record_interrupted(store: RunStore, run: TinyRun) -> str:
    """A run whose server died after epoch 1: still ``running`` in the store, its checkpoint on disk."""
    created = store.create_run(f"{run.name} (killed)", "single", dataset="MNIST",
                               architecture=describe_network(run.config), train_config=run.config.to_dict(),
                               preprocess_config=PREPROCESS.to_dict())
    history = {key: values[:1] for key, values in run.result.history.items()}
    store.update_run(created.id, history=history, epochs_completed=1, val_accuracy=history["val_accuracy"][0],
                     owner=dead_owner())
    run.model.save(store.model_path(created.id))  # the per-epoch checkpoint (model_path not yet recorded)
    return created.id


def open_runs():
    at = app_test("app.py")
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


def table(at):
    """The runs table (the first dataframe) as a DataFrame."""
    return at.dataframe[0].value


@pytest.mark.slow
def test_compare_table_filter_and_sort(lab_home, tiny_runs):
    store = RunStore(lab_home)
    tag_sets = (["baseline"], ["baseline", "small"], [])
    ids = [record(store, run, tags=tags) for run, tags in zip(tiny_runs, tag_sets, strict=True)]
    at = open_runs()
    shown = table(at)
    assert list(shown["name"]) == ["slow sgd", "narrow adam", "wide adam"]  # newest first
    assert list(shown["id"]) == ids[::-1]
    best = {run.name: max(run.result.history["val_accuracy"]) for run in tiny_runs}
    assert dict(zip(shown["name"], shown["best val acc"], strict=True)) == pytest.approx(best)
    assert set(shown["architecture"]) == {"[784, 32, 10]", "[784, 8, 10]", "[784, 16, 10]"}

    at.multiselect(key=state.RUNS_FILTER_TAGS).set_value(["small"]).run()
    assert list(table(at)["name"]) == ["narrow adam"]
    at.multiselect(key=state.RUNS_FILTER_TAGS).set_value(["baseline"]).run()
    assert list(table(at)["name"]) == ["narrow adam", "wide adam"]
    at.multiselect(key=state.RUNS_FILTER_TAGS).set_value([]).run()
    at.multiselect(key=state.RUNS_FILTER_ARCHITECTURES).set_value(["[784, 16, 10]"]).run()
    assert list(table(at)["name"]) == ["slow sgd"]
    at.multiselect(key=state.RUNS_FILTER_ARCHITECTURES).set_value([]).run()

    at.selectbox(key=state.RUNS_SORT_COLUMN).set_value("best val accuracy").run()
    by_accuracy = sorted(best, key=best.get, reverse=True)
    assert list(table(at)["name"]) == by_accuracy
    at.toggle(key=state.RUNS_SORT_DESCENDING).set_value(False).run()
    assert list(table(at)["name"]) == by_accuracy[::-1]
    at.selectbox(key=state.RUNS_SORT_COLUMN).set_value("name").run()
    assert list(table(at)["name"]) == ["narrow adam", "slow sgd", "wide adam"]

    threshold = (sorted(best.values())[0] + sorted(best.values())[1]) / 2  # between the worst and the rest
    at.slider(key=state.RUNS_MIN_ACCURACY).set_value(round(threshold, 2)).run()
    kept = {name for name, value in best.items() if value >= round(threshold, 2)}
    assert set(table(at)["name"]) == kept and len(kept) == 2
    assert "2 of 3 runs" in texts(at.caption)
    at.multiselect(key=state.RUNS_FILTER_STATUSES).set_value(["completed"]).run()
    assert set(table(at)["name"]) == kept


@pytest.mark.slow
def test_rename_tag_and_note_a_run(lab_home, tiny_runs):
    store = RunStore(lab_home)
    first, second = record(store, tiny_runs[0]), record(store, tiny_runs[1])
    at = open_runs()
    assert at.selectbox(key=state.RUNS_MANAGED).value == second  # the newest first
    at.selectbox(key=state.RUNS_MANAGED).set_value(first).run()
    at.text_input(key=f"{state.RUNS_NAME_PREFIX}{first}").set_value("  lr 3e-3, width 32  ")
    at.text_input(key=f"{state.RUNS_TAGS_PREFIX}{first}").set_value("keep, width, keep, ")
    at.text_area(key=f"{state.RUNS_NOTE_PREFIX}{first}").set_value("best of the morning")
    at.button(key="runs_save_button").click().run()
    assert not at.exception
    saved = store.get_run(first)
    assert (saved.name, saved.tags, saved.note) == ("lr 3e-3, width 32", ["keep", "width"], "best of the morning")
    assert "Saved lr 3e-3, width 32." in texts(at.success)
    row = table(at).set_index("id").loc[first]
    assert (row["name"], row["tags"], row["note"]) == ("lr 3e-3, width 32", "keep, width", "best of the morning")
    assert at.multiselect(key=state.RUNS_FILTER_TAGS).options == ["keep", "width"]
    # An empty name is refused with a message, and nothing changes.
    at.text_input(key=f"{state.RUNS_NAME_PREFIX}{first}").set_value("   ")
    at.button(key="runs_save_button").click().run()
    assert "Not saved: a run's name cannot be empty" in texts(at.error)
    assert store.get_run(first).name == "lr 3e-3, width 32"


@pytest.mark.slow
def test_delete_asks_for_confirmation_then_removes_the_run_and_its_model_file(lab_home, tiny_runs):
    store = RunStore(lab_home)
    keep, doomed = record(store, tiny_runs[0]), record(store, tiny_runs[1])
    model_file = store.model_path(doomed)
    assert model_file.is_file()
    at = open_runs()
    at.selectbox(key=state.RUNS_MANAGED).set_value(doomed).run()
    at.button(key="runs_make_active_button").click().run()
    at.button(key="runs_delete_button").click().run()
    assert "Delete **narrow adam** and its model file?" in texts(at.warning)
    at.button(key="runs_cancel_delete_button").click().run()
    assert store.get_run(doomed).name == "narrow adam" and model_file.is_file()
    assert not [w for w in at.warning if "Delete" in w.value]
    at.button(key="runs_delete_button").click().run()
    at.button(key="runs_confirm_delete_button").click().run()
    assert not at.exception
    assert [run.id for run in store.list_runs()] == [keep]
    assert not model_file.exists()
    assert "Deleted narrow adam and its model file." in texts(at.success)
    assert list(table(at)["id"]) == [keep]
    assert at.session_state[state.ACTIVE_RUN_ID] is None  # Predict no longer points at it


def expected_confusion(run: TinyRun, mnist) -> np.ndarray:
    """The run's confusion matrix on MNIST's 10,000 test images, computed here with nnlib."""
    from nnlib.preprocessing import Scaler

    scaler = Scaler.from_dict(run.model.metadata["preprocessing"]["scaler"])
    predicted = run.model.predict(scaler.transform(flatten(mnist.x_test)))
    return confusion_matrix(mnist.y_test, predicted, 10)


def difference_figure(at) -> dict:
    return next(f for f in plotly_figures(at) if "A = " in (f["layout"].get("title") or {}).get("text", ""))


def heatmap_values(figure: dict) -> np.ndarray:
    z = figure["data"][0]["z"]
    return np.asarray(z, dtype=np.int64)


@pytest.mark.slow
def test_compare_two_runs_metrics_and_confusion_difference(lab_home, tiny_runs, mnist):
    store = RunStore(lab_home)
    wide, narrow, slow = (record(store, run) for run in tiny_runs)
    at = open_runs()
    assert "Pick two to five runs" in texts(at.caption)
    at.multiselect(key=state.RUNS_COMPARED).set_value([wide, narrow]).run()
    assert not at.exception
    metrics = at.dataframe[1].value.set_index("run")
    for run in tiny_runs[:2]:
        matrix = expected_confusion(run, mnist)
        row = metrics.loc[run.name]
        assert row["test acc (now)"] == pytest.approx(np.trace(matrix) / 10_000)
        assert row["test acc (recorded)"] == pytest.approx(run.result.test_accuracy)  # nnlib's own evaluate
        assert row["final val acc"] == pytest.approx(run.result.history["val_accuracy"][-1])
        assert row["epochs"] == 2
    difference = expected_confusion(tiny_runs[0], mnist) - expected_confusion(tiny_runs[1], mnist)
    figure = difference_figure(at)
    np.testing.assert_array_equal(heatmap_values(figure), difference)
    assert figure["data"][0]["zmid"] == 0 and figure["data"][0]["colorscale"][0][1].startswith("rgb")
    assert f"A got {int(np.trace(difference)):+,} more test images right than B" in texts(at.caption)
    curves = next(f for f in plotly_figures(at) if f["layout"].get("annotations") and
                  f["layout"]["annotations"][0]["text"] == "Validation accuracy")
    assert {trace["name"] for trace in curves["data"]} == {"wide adam", "narrow adam"}

    # Three runs: the pair is picked.
    at.multiselect(key=state.RUNS_COMPARED).set_value([wide, narrow, slow]).run()
    assert len(at.dataframe[1].value) == 3
    at.selectbox(key=state.RUNS_PAIR_A).set_value(slow)
    at.selectbox(key=state.RUNS_PAIR_B).set_value(wide).run()
    expected = expected_confusion(tiny_runs[2], mnist) - expected_confusion(tiny_runs[0], mnist)
    np.testing.assert_array_equal(heatmap_values(difference_figure(at)), expected)


@pytest.mark.slow
def test_make_active_then_the_predict_page_uses_it(lab_home, tiny_runs):
    store = RunStore(lab_home)
    chosen = record(store, tiny_runs[0])
    record(store, tiny_runs[1])
    at = open_runs()
    at.selectbox(key=state.RUNS_MANAGED).set_value(chosen).run()
    at.button(key="runs_make_active_button").click().run()
    assert at.session_state[state.ACTIVE_RUN_ID] == chosen
    assert "The Predict page now uses wide adam." in texts(at.success)
    assert table(at).set_index("id").loc[chosen, "active"] == "✓"

    at.switch_page("pages/predict.py")
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    assert not at.exception
    assert "Answered by **wide adam**" in texts(at.caption)
    assert at.selectbox(key=state.PREDICT_MODEL_CHOICE).value == chosen
    from nnlib.imaging import to_mnist_style
    from nnlib.preprocessing import Scaler

    scaler = Scaler.from_dict(tiny_runs[0].model.metadata["preprocessing"]["scaler"])
    image = scaler.transform(to_mnist_style(drawing("1")).image.reshape(1, 784), already_unit=True)
    assert shown_digit(at) == str(int(tiny_runs[0].model.predict(image)[0]))
    # The picker lists both stored runs beside the bundled models; choosing a bundled one clears the active run.
    picker = at.selectbox(key=state.PREDICT_MODEL_CHOICE)
    assert picker.options[:2] == ["narrow adam", "wide adam"]
    picker.set_value("Bundled MLP (default)").run()
    assert at.session_state[state.ACTIVE_RUN_ID] is None


@pytest.mark.slow
def test_an_interrupted_run_shows_its_last_epoch_and_answers_on_predict(lab_home, tiny_runs):
    store = RunStore(lab_home)
    killed = record_interrupted(store, tiny_runs[0])
    at = open_runs()  # the page opens the store: the run's owner is dead, so it is interrupted
    row = table(at).set_index("id").loc[killed]
    assert (row["status"], row["epochs"]) == ("interrupted", 1)
    assert row["best val acc"] == pytest.approx(tiny_runs[0].result.history["val_accuracy"][0])
    assert "Interrupted after epoch 1" in texts(at.caption)
    at.button(key="runs_make_active_button").click().run()
    at.switch_page("pages/predict.py")
    at.session_state[CANVAS_KEY] = canvas_value(drawing("0"))
    at.run()
    assert not at.exception
    assert "Answered by **wide adam (killed)**" in texts(at.caption)


@pytest.mark.slow
def test_csv_export_holds_the_filtered_rows(lab_home, tiny_runs, monkeypatch):
    store = RunStore(lab_home)
    ids = [record(store, run, tags=tags) for run, tags in zip(tiny_runs, (["a"], ["a", "b"], []), strict=True)]
    served: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        served[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = open_runs()
    at.multiselect(key=state.RUNS_FILTER_TAGS).set_value(["a"]).run()
    payload = served["mnist-lab-runs.csv"]
    rows = list(csv.DictReader(io.StringIO(payload.decode() if isinstance(payload, bytes) else payload)))
    assert [row["id"] for row in rows] == [ids[1], ids[0]]
    assert [row["name"] for row in rows] == ["narrow adam", "wide adam"]
    assert rows[0]["tags"] == "a;b" and rows[0]["status"] == "completed" and rows[0]["architecture"] == "[784, 8, 10]"
    assert float(rows[1]["test_accuracy"]) == pytest.approx(tiny_runs[0].result.test_accuracy)
    assert os.path.isfile(rows[1]["model_path"])


def test_an_empty_store_points_to_the_train_page(lab_home):
    at = open_runs()
    assert "No runs yet" in texts(at.info)
    assert not at.dataframe
    links = [element for element in at.get("page_link") if "Train page" in element.proto.label]
    assert links and links[0].proto.page == "train"


def test_a_damaged_database_is_explained_and_the_other_pages_keep_working(lab_home):
    lab_home.mkdir(parents=True)
    (lab_home / "lab.sqlite3").write_bytes(b"this is not a database " * 200)
    at = open_runs()
    assert not at.exception
    message = texts(at.error)
    assert "The run store cannot be used" in message and "damaged" in message and "MNIST_LAB_HOME" in message
    assert not at.dataframe
    at.button(key="runs_retry_store_button").click().run()  # still damaged: the same message
    assert "damaged" in texts(at.error)
    at.session_state[state.PREPROCESS_CONFIG] = PREPROCESS
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert "Runs are not kept across reloads" in texts(at.warning)
    at.switch_page("pages/predict.py")
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    assert not at.exception and shown_digit(at) == "1"
    # Once the file is moved aside, "Try again" opens a fresh store.
    (lab_home / "lab.sqlite3").rename(lab_home / "damaged.sqlite3")
    at.switch_page("pages/runs.py").run()
    at.button(key="runs_retry_store_button").click().run()
    assert not at.error and "No runs yet" in texts(at.info)


@pytest.mark.slow
def test_the_train_page_lists_stored_runs_of_another_session_and_inspects_them(lab_home, tiny_runs, mnist):
    store = RunStore(lab_home)
    stored = record(store, tiny_runs[0])
    record(store, tiny_runs[1], dataset="Fashion-MNIST")  # another dataset: not on MNIST's Train page
    at = app_test("app.py")
    at.run()
    at.session_state[state.PREPROCESS_CONFIG] = PREPROCESS
    at.switch_page("pages/train.py").run()
    assert not at.exception
    runs_table = at.dataframe[0].value
    assert list(runs_table["run"]) == ["wide adam"]
    assert runs_table["val acc"].iloc[0] == pytest.approx(tiny_runs[0].result.history["val_accuracy"][-1])
    assert runs_table["layers"].iloc[0] == "[784, 32, 10]"
    assert at.session_state[state.TRAIN_INSPECT_RUN] == stored
    # Its confusion matrix: its model on its 60 validation images (300 x 0.2), recomputed from the store.
    confusion = next(f for f in plotly_figures(at) if f["data"][0]["type"] == "heatmap" and len(f["data"]) == 2)
    assert int(np.sum(confusion["data"][0]["text"])) == 60
    # Per-class accuracy: the store keeps the last epoch's, drawn at that epoch.
    per_class = next(f for f in plotly_figures(at)
                     if f["layout"].get("legend", {}).get("title", {}).get("text") == "class")
    assert [trace["x"] for trace in per_class["data"]][:1] == [[2.0]]
    last_epoch = tiny_runs[0].result.per_class_val_accuracy[-1]
    assert [trace["y"][0] for trace in per_class["data"]] == pytest.approx(last_epoch)
    assert "the run store keeps that one" in texts(at.caption)
    at.button(key="train_use_run_button").click().run()
    assert at.session_state[state.ACTIVE_RUN_ID] == stored


@pytest.mark.slow
def test_a_run_trained_in_one_session_is_listed_in_another_and_on_the_runs_page(lab_home):
    from .test_train import SMALL_NET, finish, open_train

    trainer = open_train(1000, **SMALL_NET)
    trainer.button(key="train_start_button").click().run()
    assert finish(trainer).status == "completed"
    (trained,) = trainer.session_state[state.RUNS]
    (stored,) = RunStore(lab_home).list_runs()
    assert stored.id == trained.id and stored.name == trained.name and stored.status == "completed"

    reader = open_train(1000)  # another tab: a new session without the job
    assert reader.session_state[state.JOB_ID] is None
    listed = reader.dataframe[0].value
    assert list(listed["run"]) == [trained.name]
    assert listed["val acc"].iloc[0] == pytest.approx(trained.result.history["val_accuracy"][-1])
    reader.switch_page("pages/runs.py").run()
    assert list(table(reader)["id"]) == [trained.id]
    assert table(reader)["epochs"].iloc[0] == 2


# ---------------------------------------------------------------- the table's plain functions
def test_filters_and_sorting_of_records(tmp_path):
    store = RunStore(tmp_path)
    good = store.create_run("good", dataset="MNIST", architecture="[784, 32, 10]", tags=["x"])
    store.update_run(good.id, status="completed", history={"val_accuracy": [0.5, 0.9, 0.8]}, val_accuracy=0.8)
    failed = store.create_run("failed", dataset="MNIST", architecture="[784, 8, 10]")
    store.update_run(failed.id, status="failed")
    runs = store.list_runs()
    assert run_table.best_accuracy(runs[1]) == 0.9 and run_table.best_accuracy(runs[0]) is None
    assert run_table.filter_runs(runs, run_table.RunFilter(min_accuracy=0.85))[0].name == "good"
    assert run_table.filter_runs(runs, run_table.RunFilter(min_accuracy=0.95)) == []
    assert [r.name for r in run_table.filter_runs(runs, run_table.RunFilter(statuses=["failed"]))] == ["failed"]
    assert [r.name for r in run_table.sort_runs(runs, "best val accuracy", descending=False)] == ["good", "failed"]
    assert run_table.filter_options(runs)["tags"] == ["x"]
    with pytest.raises(ValueError, match="sort column must be one of"):
        run_table.sort_runs(runs, "colour")
    with pytest.raises(ValueError, match="different shapes"):
        run_table.confusion_difference(np.zeros((2, 2)), np.zeros((3, 3)))


def test_compare_curves_draw_a_one_epoch_run_as_a_dot():
    from dashboard.train_charts import compare_runs

    figure = compare_runs([("one", {"epoch": [1.0], "val_accuracy": [0.5], "train_loss": [2.0]}),
                           ("two", {"epoch": [1.0, 2.0], "val_accuracy": [0.5, 0.7], "train_loss": [2.0, 1.0]})])
    modes = {(trace.name, trace.mode) for trace in figure.data}
    assert modes == {("one", "markers"), ("two", "lines")}
    assert figure.data[0].marker.color == figure.data[0].line.color
