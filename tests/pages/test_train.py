"""The Train page under AppTest: controls, a real tiny run, stop, divergence, re-attach, models.

Training happens in the job's thread: a test clicks, joins that thread, then runs the
script again (the fragment's timer does not tick under AppTest). Runs use a small subset
(``PreprocessConfig(train_size=...)``) so each test takes a few seconds.
"""
from __future__ import annotations

import base64
import io
import time
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import jobs, presets, run_metrics, runs, state
from dashboard.model_files import model_npz_bytes
from nnlib.preprocessing import PreprocessConfig

from .helpers import app_test, markdown_table_rows, plotly_figures

JOIN_SECONDS = 120


def open_train(train_size: int = 1000, **controls) -> AppTest:
    at = app_test("app.py")
    at.run()
    at.session_state[state.PREPROCESS_CONFIG] = PreprocessConfig(train_size=train_size)
    for key, value in controls.items():
        at.session_state[key] = value
    at.switch_page("pages/train.py").run()
    assert not at.exception
    return at


def current_job(at) -> jobs.TrainingJob:
    job = jobs.get_registry().get(at.session_state[state.JOB_ID])
    assert job is not None
    return job


def wait_until_training(job: jobs.TrainingJob, timeout: float = JOIN_SECONDS) -> None:
    """Until the job has taken a step (it may first queue behind other tests' jobs)."""
    deadline = time.monotonic() + timeout
    while job.snapshot().progress.samples_seen == 0:
        assert job.active, job.snapshot().message
        assert time.monotonic() < deadline, "the job did not start training"
        time.sleep(0.02)


def finish(at) -> jobs.TrainingJob:
    job = current_job(at)
    assert job.join(JOIN_SECONDS), "the training thread did not end"
    at.run()
    assert not at.exception
    return job


def decoded(values) -> list[float]:
    """A trace's values from figure JSON: a list, or Plotly's base64 typed array."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])).tolist()
    return list(values)


def texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


SMALL_NET = {state.TRAIN_LAYER_COUNT: 1, f"{state.TRAIN_LAYER_WIDTH_PREFIX}1": 32, state.TRAIN_EPOCHS: 2}


def test_parameter_count_and_shapes_follow_the_sliders():
    at = open_train()
    at.slider(key=state.TRAIN_LAYER_COUNT).set_value(1).run()
    at.select_slider(key=f"{state.TRAIN_LAYER_WIDTH_PREFIX}1").set_value(32).run()
    # [784, 32, 10]: 784*32 + 32 + 32*10 + 10
    assert at.metric[0].value == "25,450"
    table = markdown_table_rows(at, "layer")
    assert [row["weights W"] for row in table] == ["784 x 32", "", "32 x 10"]
    assert [row["parameters"] for row in table] == ["25,120", "0", "330"]
    assert not at.dataframe                  # a plain table: no data grid for the browser to load
    at.slider(key=state.TRAIN_LAYER_COUNT).set_value(3).run()
    at.select_slider(key=f"{state.TRAIN_LAYER_WIDTH_PREFIX}1").set_value(256)
    at.select_slider(key=f"{state.TRAIN_LAYER_WIDTH_PREFIX}2").set_value(128)
    at.select_slider(key=f"{state.TRAIN_LAYER_WIDTH_PREFIX}3").set_value(64).run()
    assert at.metric[0].value == "242,762"  # the seed study's best network
    assert "[784, 256, 128, 64, 10]" in texts(at.markdown)


def test_presets_set_the_controls_and_the_page_shows_the_data_in_use():
    at = open_train(train_size=1000)
    assert "the first 1,000 training images" in texts(at.markdown)
    assert "800 to train on, 200 for validation" in texts(at.markdown)
    at.button(key="train_preset_seed_button").click().run()
    assert at.select_slider(key=state.TRAIN_BATCH_SIZE).value == "full batch"
    assert at.slider(key=state.TRAIN_EPOCHS).value == 150
    assert at.slider(key=state.TRAIN_EPOCHS).label.startswith("Iterations")
    assert at.radio(key=state.TRAIN_OPTIMIZER).value == "sgd"
    assert at.metric[0].value == "242,762"
    at.button(key="train_preset_fast_button").click().run()
    assert at.radio(key=state.TRAIN_OPTIMIZER).value == "adam"
    assert at.select_slider(key=state.TRAIN_BATCH_SIZE).value == 128
    assert at.slider(key=state.TRAIN_EPOCHS).value == 10


@pytest.mark.parametrize("preset", presets.LOADABLE, ids=lambda preset: preset.title)
def test_loading_a_preset_sets_every_control_and_the_controls_read_back_as_its_config(preset):
    from dashboard import train_controls
    from dashboard.architecture import describe_config

    at = open_train()
    at.button(key=preset.button_key).click().run()
    assert not at.exception
    expected = train_controls.values_for_config(preset.config)
    for key, value in expected.items():
        assert at.session_state[key] == value, key
    for control in train_controls.CONTROLS:  # the widgets on screen show the same values
        widgets = [w for w in getattr(at, control.widget) if w.key == control.key]
        if widgets:
            assert widgets[0].value == expected[control.key], control.key
        else:
            assert control is train_controls.MOMENTUM or control is train_controls.CONV_LAYERS.count
    assert train_controls.config_from_values(at.session_state) == preset.config
    assert preset.measured in texts(at.caption)
    assert describe_config(preset.config, 784, 10) in texts(at.caption)  # the line beside Start


def test_choosing_a_cnn_shows_its_layers_shapes_and_parameter_count():
    at = open_train()
    at.radio(key=state.TRAIN_NETWORK).set_value("cnn").run()
    assert at.slider(key=state.TRAIN_CONV_STAGES).value == 2
    assert at.select_slider(key=f"{state.TRAIN_CONV_FILTERS_PREFIX}1").value == 16
    at.slider(key=state.TRAIN_LAYER_COUNT).set_value(1).run()
    at.select_slider(key=f"{state.TRAIN_LAYER_WIDTH_PREFIX}1").set_value(128).run()
    # conv 5*5*1*16+16, conv 5*5*16*32+32, dense 512*128+128, output 128*10+10
    assert at.metric[0].value == "80,202"
    assert "[784, conv16, conv32, 128, 10]" in texts(at.markdown)
    table = markdown_table_rows(at, "layer")
    assert [row["kind"] for row in table[:4]] == ["Reshape", "Conv2D", "ReLU", "MaxPool2D"]
    assert [row["output"] for row in table[:4]] == ["28x28x1", "24x24x16", "24x24x16", "12x12x16"]
    assert table[1]["weights W"] == "5 x 5 x 1 x 16"
    at.slider(key=state.TRAIN_CONV_STAGES).set_value(1).run()
    assert "[784, conv16, 128, 10]" in texts(at.markdown)
    at.radio(key=state.TRAIN_NETWORK).set_value("mlp").run()
    assert at.metric[0].value == "101,770"  # [784, 128, 10]


def test_the_cnn_preset_sets_a_cnn():
    at = open_train()
    at.button(key="train_preset_cnn_button").click().run()
    assert at.radio(key=state.TRAIN_NETWORK).value == "cnn"
    assert "[784, conv16, conv32, 128, 10]" in texts(at.markdown)
    assert at.radio(key=state.TRAIN_OPTIMIZER).value == "adam"


@pytest.mark.slow
def test_a_tiny_cnn_run_trains_and_shows_its_filters():
    at = open_train(1000, **{state.TRAIN_NETWORK: "cnn", f"{state.TRAIN_CONV_FILTERS_PREFIX}1": 4,
                             f"{state.TRAIN_CONV_FILTERS_PREFIX}2": 8, state.TRAIN_LAYER_COUNT: 1,
                             f"{state.TRAIN_LAYER_WIDTH_PREFIX}1": 16, state.TRAIN_EPOCHS: 2,
                             state.TRAIN_LEARNING_RATE: 5e-3, state.TRAIN_BATCH_SIZE: 32})
    at.button(key="train_start_button").click().run()
    job = finish(at)
    assert job.status == "completed", job.snapshot().message
    run = at.session_state[state.RUNS][0]
    assert run.train_config.conv_channels == (4, 8) and run.model.is_convolutional
    assert run.result.history["val_accuracy"][-1] > 0.4  # chance: 0.1
    assert at.dataframe[0].value["layers"].iloc[0] == "[784, conv4, conv8, 16, 10]"
    figures = plotly_figures(at)
    # The first convolution's 4 filters as 5x5 tiles side by side: 5 rows, 4 * 6 - 1 columns.
    tiles = next(f for f in figures if f["data"][0]["type"] == "heatmap" and len(f["data"]) == 1
                 and f["data"][0].get("colorscale") and f["data"][0].get("hoverinfo") == "skip")
    z = tiles["data"][0]["z"]
    shape = tuple(int(v) for v in str(z["shape"]).split(",")) if isinstance(z, dict) else np.shape(z)
    assert shape == (5, 23)
    histogram_titles = [a["text"] for f in figures for a in f["layout"].get("annotations", [])]
    assert "W1 5x5x1x4" in histogram_titles and "W2 5x5x4x8" in histogram_titles


@pytest.mark.slow
def test_a_tiny_run_completes_and_its_metrics_land_in_session_state_and_on_the_page():
    at = open_train(1000, **SMALL_NET)
    assert "No training yet" in texts(at.info)
    at.button(key="train_start_button").click().run()
    assert at.session_state[state.JOB_ID]
    assert at.query_params["job"] in (at.session_state[state.JOB_ID], [at.session_state[state.JOB_ID]])
    job = finish(at)
    assert job.status == "completed"
    recorded = at.session_state[state.RUNS]
    assert len(recorded) == 1
    run = recorded[0]
    assert run.result.status == "completed" and run.result.epochs_completed == 2
    assert run.train_config.hidden_sizes == (32,)
    assert run.preprocess_config.train_size == 1000
    val_accuracy = run.result.history["val_accuracy"][-1]
    assert 0.3 < val_accuracy <= 1.0
    assert "Completed" in texts(at.success)
    table = at.dataframe[0].value
    assert table["val acc"].iloc[0] == pytest.approx(val_accuracy)
    assert table["status"].iloc[0] == "completed"
    # The live chart and the comparison show the run's two epochs.
    figures = plotly_figures(at)
    val_curve = next(t for f in figures for t in f["data"] if t.get("name") == "validation accuracy")
    assert decoded(val_curve["y"]) == pytest.approx(run.result.history["val_accuracy"])
    # Confusion matrix on the 200 validation images, and the cell's images are shown.
    confusion = next(f for f in figures if f["data"][0]["type"] == "heatmap" and len(f["data"]) == 2)
    assert int(np.sum(confusion["data"][0]["text"])) == 200
    assert "validation images of" in texts(at.markdown)
    # Start is available again; choosing the run for Predict makes it active.
    assert not at.button(key="train_start_button").disabled
    at.button(key="train_use_run_button").click().run()
    assert at.session_state[state.ACTIVE_RUN_ID] == run.id


@pytest.mark.slow
def test_a_tiny_run_shows_its_layer_health_per_epoch_in_two_charts():
    at = open_train(1000, **SMALL_NET)
    at.button(key="train_start_button").click().run()
    job = finish(at)
    assert job.status == "completed", job.snapshot().message
    health = job.health_of(0)
    assert [event.epoch for event in health] == [1, 2]
    figures = {(f["layout"].get("title") or {}).get("text"): f for f in plotly_figures(at)}
    gradients, dead = figures["Gradient size per layer"], figures["Dead units per layer"]
    assert gradients["layout"]["yaxis"]["type"] == "log"
    assert [trace["name"] for trace in gradients["data"]] == ["dense_0", "dense_2"]
    for position, trace in enumerate(gradients["data"]):
        assert decoded(trace["x"]) == [1.0, 2.0]
        assert decoded(trace["y"]) == pytest.approx([event.health.gradient_norms[position] for event in health])
    assert [trace["name"] for trace in dead["data"]] == ["hidden 1 (32 units)"]
    assert decoded(dead["data"][0]["y"]) == [event.health.dead_units[0] for event in health]
    assert "measured on the same 200 images (validation images" in texts(at.caption)


@pytest.mark.slow
def test_stop_ends_a_running_job():
    at = open_train(1000, **{**SMALL_NET, state.TRAIN_EPOCHS: 300, state.TRAIN_BATCH_SIZE: 16})
    at.button(key="train_start_button").click().run()
    job = current_job(at)
    assert job.active
    assert not at.button(key="train_stop_button").disabled
    wait_until_training(job)
    at.button(key="train_stop_button").click().run()
    job = finish(at)
    assert job.status == "stopped"
    assert "Stopped" in texts(at.warning)
    run = at.session_state[state.RUNS][0]
    assert run.result.status == "stopped" and run.result.epochs_completed < 300


@pytest.mark.slow
def test_pause_and_resume_from_the_page():
    at = open_train(1000, **{**SMALL_NET, state.TRAIN_EPOCHS: 300, state.TRAIN_BATCH_SIZE: 16})
    at.button(key="train_start_button").click().run()
    job = current_job(at)
    wait_until_training(job)
    at.run()  # the page now sees a running job: Pause is enabled
    at.button(key="train_pause_button").click().run()
    assert job.status == "paused"
    assert at.button(key="train_pause_button").label == "▶ Resume"
    at.button(key="train_pause_button").click().run()
    assert job.status == "running"
    at.button(key="train_stop_button").click().run()
    assert finish(at).status == "stopped"


@pytest.mark.slow
def test_learning_rate_1_with_full_batch_sgd_shows_the_divergence_message():
    at = open_train(2000, **{state.TRAIN_LAYER_COUNT: 3, state.TRAIN_OPTIMIZER: "sgd",
                             state.TRAIN_LEARNING_RATE: 1.0, state.TRAIN_BATCH_SIZE: "full batch",
                             state.TRAIN_EPOCHS: 60})
    at.button(key="train_start_button").click().run()
    job = finish(at)
    assert job.status == "diverged"
    message = texts(at.error)
    assert "The loss blew up" in message and "lower learning rate" in message
    assert "smaller learning rate (now 1)" in message
    assert at.session_state[state.RUNS][0].result.status == "diverged"


@pytest.mark.slow
def test_a_refresh_finds_the_job_through_the_url_and_other_sessions_do_not():
    at = open_train(1000, **SMALL_NET)
    at.button(key="train_start_button").click().run()
    job_id = at.session_state[state.JOB_ID]
    current_job(at).join(JOIN_SECONDS)

    refreshed = app_test("pages/train.py")  # a new session, opened at ...?job=<id>
    refreshed.query_params["job"] = job_id
    refreshed.session_state[state.PREPROCESS_CONFIG] = PreprocessConfig(train_size=1000)
    refreshed = app_test_switch(refreshed)
    assert refreshed.session_state[state.JOB_ID] == job_id
    assert len(refreshed.session_state[state.RUNS]) == 1  # the finished run is recovered

    stranger = app_test_switch(app_test("pages/train.py"))
    assert stranger.session_state[state.JOB_ID] is None
    assert "No training yet" in texts(stranger.info)


def app_test_switch(at):
    """Run ``pages/train.py`` the way the app does (through app.py's page registry)."""
    query = dict(at.query_params)
    seeded = {key: at.session_state[key] for key in (state.PREPROCESS_CONFIG,) if key in at.session_state}
    fresh = app_test("app.py")
    for key, value in query.items():
        fresh.query_params[key] = value
    fresh.run()
    for key, value in seeded.items():
        fresh.session_state[key] = value
    fresh.switch_page("pages/train.py").run()
    assert not fresh.exception
    return fresh


@pytest.mark.slow
def test_the_seed_study_batch_fills_the_comparison_with_four_runs(monkeypatch):
    assert presets.SEED_STUDY_TRAIN.epochs == 150 and presets.SEED_STUDY_TRAIN.batch_size is None
    # 150 iterations x 4 networks is the real preset; the test runs 5 iterations of each.
    monkeypatch.setattr(presets, "SEED_STUDY_TRAIN", replace(presets.SEED_STUDY_TRAIN, epochs=5))
    at = open_train(200)
    at.button(key="train_seed_study_button").click().run()
    job = current_job(at)
    assert [task.train_config.hidden_sizes for task in job.tasks] == [(256, 128, 64), (128, 64), (128,), (32,)]
    assert all(task.train_config.batch_size is None and task.train_config.optimizer == "sgd"
               and task.train_config.init == "seed" for task in job.tasks)
    finish(at)
    recorded = at.session_state[state.RUNS]
    assert len(recorded) == 4
    assert at.multiselect(key=state.TRAIN_COMPARE_SELECTION).value == [run.id for run in recorded]
    compare = next(f for f in plotly_figures(at) if sum(t.get("showlegend") is not False for t in f["data"]) == 4)
    assert {t["name"] for t in compare["data"]} == {run.name for run in recorded}


def test_download_and_upload_a_model_and_refuse_a_foreign_file():
    at = open_train(1000, **SMALL_NET)
    at.button(key="train_start_button").click().run()
    finish(at)
    run = at.session_state[state.RUNS][0]
    payload = model_npz_bytes(run)
    assert payload[:2] == b"PK"  # a zip: the .npz the download button serves

    foreign = io.BytesIO()
    np.savez(foreign, weights=np.ones((3, 3)))
    at.file_uploader(key=state.TRAIN_MODEL_UPLOAD).set_value(("weights.npz", foreign.getvalue(), "application/octet-stream")).run()
    assert "Could not use weights.npz" in texts(at.error) and "not an nnlib model" in texts(at.error)
    assert len(at.session_state[state.RUNS]) == 1

    at.file_uploader(key=state.TRAIN_MODEL_UPLOAD).set_value(("mine.npz", payload, "application/octet-stream")).run()
    assert not at.exception
    recorded = at.session_state[state.RUNS]
    assert len(recorded) == 2 and recorded[1].name.endswith("uploaded mine.npz")
    # Same weights, same predictions on the same validation images.
    assert np.allclose(recorded[1].extras["val_proba"], run.extras["val_proba"], atol=1e-6)
    assert at.session_state[state.TRAIN_INSPECT_RUN] == recorded[1].id
    # The upload is a run of the store (kind "upload", its model file beside the database).
    (stored,) = jobs.get_store().list_runs(kind="upload")
    assert stored.id == recorded[1].id and stored.name == recorded[1].name and stored.status == "completed"
    assert stored.val_accuracy == pytest.approx(run.result.history["val_accuracy"][-1])
    assert np.allclose(jobs.get_store().load_model(stored.id).weight_arrays()[0], run.model.weight_arrays()[0])


def test_the_bundled_cnn_uploads_as_a_run_and_shows_its_filters():
    from dashboard.models import CNN_MODEL_PATH

    if not CNN_MODEL_PATH.is_file():
        pytest.skip("data/models/cnn.npz is missing: build it with `make model`")
    at = open_train(1000)
    at.file_uploader(key=state.TRAIN_MODEL_UPLOAD).set_value(
        ("cnn.npz", CNN_MODEL_PATH.read_bytes(), "application/octet-stream")).run()
    assert not at.exception
    run = at.session_state[state.RUNS][0]
    assert run.model.is_convolutional and run.name.endswith("uploaded cnn.npz")
    assert run.extras["val_proba"].shape == (200, 10)
    # The bundled CNN was trained on most of these images: this checks that the upload reads it
    # right (same predictions as the file's own accuracy), not how well it generalises.
    val_accuracy = float(np.mean(run.extras["val_proba"].argmax(axis=1) == run.extras["y_val"]))
    assert val_accuracy > 0.97
    tiles = next(f for f in plotly_figures(at) if f["data"][0]["type"] == "heatmap" and len(f["data"]) == 1
                 and f["data"][0].get("hoverinfo") == "skip")
    z = tiles["data"][0]["z"]
    shape = tuple(int(v) for v in str(z["shape"]).split(",")) if isinstance(z, dict) else np.shape(z)
    assert shape == (2 * 5 + 1, 8 * 6 - 1)  # 16 filters of 5x5 in two rows of eight


# ---------------------------------------------------------------- the page's figure builders
def test_weight_tiles_lay_out_each_unit_as_a_28x28_tile_scaled_to_its_own_maximum():
    from dashboard.train_charts import weight_tiles

    weights = np.zeros((784, 3))
    weights[0, 0], weights[783, 1], weights[29, 2] = 2.0, -0.5, 0.25
    mosaic = weight_tiles(weights, n_tiles=64, columns=2)
    assert mosaic.shape == (28 * 2 + 1, 28 * 2 + 1)
    assert mosaic[0, 0] == 1.0                   # unit 0, pixel (0, 0), scaled by its max 2.0
    assert mosaic[27, 29 + 27] == -1.0           # unit 1, pixel (27, 27)
    assert mosaic[29 + 1, 1] == 1.0              # unit 2 (second row), pixel (1, 1)
    assert np.isnan(mosaic[28, 0]) and np.isnan(mosaic[29 + 5, 29 + 5])  # gaps and the empty 4th tile
    with pytest.raises(ValueError, match="784"):
        weight_tiles(np.zeros((100, 3)))


def test_confusion_heatmap_puts_a_clickable_marker_on_every_cell():
    from dashboard.train_charts import confusion_heatmap

    cm = np.array([[5, 1, 0], [0, 7, 2], [1, 0, 9]])
    figure = confusion_heatmap(cm, ["a", "b", "c"], selected=(1, 2)).to_dict()
    heatmap, cells = figure["data"]
    assert heatmap["text"] == cm.tolist()
    customdata = np.asarray(cells["customdata"])
    assert customdata.shape == (9, 2)
    assert customdata[5].tolist() == [1, 2]      # row-major: true 1, predicted 2
    assert (list(cells["x"])[5], list(cells["y"])[5]) == ("c", "b")
    assert figure["layout"]["shapes"][0]["x0"] == 1.5 and figure["layout"]["shapes"][0]["y0"] == 0.5


def test_thin_keeps_at_most_max_points_and_the_last_one():
    from dashboard.train_charts import thin

    xs, ys = thin(list(range(10_001)), list(range(10_001)), max_points=1000)
    assert len(xs) <= 1000 and xs[-1] == 10_000 and ys[-1] == 10_000 and xs == sorted(xs)
    assert thin([1, 2], [3, 4], 10) == ([1, 2], [3, 4])


def test_cell_examples_return_the_most_confident_mistakes_first():
    proba = np.array([[0.1, 0.9], [0.4, 0.6], [0.8, 0.2], [0.3, 0.7]], dtype=np.float32)
    run = runs.RunRecord(id="r", name="r", model=None, train_config=None, preprocess_config=None, scaler=None,
                         result=None, class_names=("zero", "one"),
                         extras={"val_proba": proba, "y_val": np.array([0, 0, 0, 1]),
                                 "val_indices": np.array([10, 11, 12, 13])})
    indices, probabilities, total = run_metrics.cell_examples(run, true_class=0, predicted_class=1)
    assert total == 2 and indices.tolist() == [10, 11]
    assert probabilities[0].tolist() == pytest.approx([0.1, 0.9])
    assert run_metrics.run_confusion(run).tolist() == [[1, 2], [0, 1]]
    assert run_metrics.most_confused_pair(run_metrics.run_confusion(run)) == (0, 1)
    assert run_metrics.probability_caption(proba[0], run.class_names) == "one: 90% · zero: 10%"
