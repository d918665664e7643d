"""Links that open a setup, under AppTest: Train, Preprocess and Predict read their link once,
show what they could not use, and keep the URL in step with the page."""
from __future__ import annotations

import pytest

from dashboard import inside_inputs, models, share_links, state
from dashboard import train_controls as controls
from nnlib.augment import AugmentConfig
from nnlib.preprocessing import PreprocessConfig

from .helpers import app_test

# A setup far from the defaults in every control and every preprocessing field.
TRAIN_LINK = {
    "net": "cnn", "conv": "8-64", "layers": "512-64-16", "act": "tanh", "init": "glorot", "dropout": "0.15", "bn": "on",
    "opt": "momentum", "lr": "0.02", "momentum": "0.8", "batch": "full", "epochs": "12", "l2": "0.0001",
    "schedule": "cosine", "seed": "4242",
    "n": "5000", "val": "0.1", "split_seed": "3", "scale": "standardize",
    "shift": "1.5", "rot": "12", "zoom": "0.1", "noise": "0.04",
}
EXPECTED_CONTROLS = [
    (controls.NETWORK, controls.CNN), (controls.CONV_LAYERS.count, 2), (controls.DENSE_LAYERS.count, 3),
    (controls.ACTIVATION, "tanh"), (controls.INIT, "glorot"), (controls.DROPOUT, 0.15),
    (controls.BATCH_NORM, True),
    (controls.OPTIMIZER, "momentum"), (controls.LEARNING_RATE, 0.02), (controls.MOMENTUM, 0.8),
    (controls.BATCH_SIZE, controls.FULL_BATCH), (controls.EPOCHS, 12), (controls.L2, 1e-4),
    (controls.SCHEDULE, "cosine"), (controls.SEED, 4242),
]
EXPECTED_LAYERS = {"train_conv_filters_1": 8, "train_conv_filters_2": 64, "train_layer_width_1": 512,
                   "train_layer_width_2": 64, "train_layer_width_3": 16}
EXPECTED_PREPROCESS = PreprocessConfig(train_size=5000, val_fraction=0.1, seed=3, scaling="standardize",
                                       augment=AugmentConfig(max_shift_px=1.5, max_rotation_deg=12, max_scale=0.1,
                                                             noise_std=0.04))


def open_with_link(page: str, params: dict[str, str]):
    """Open ``page`` the way a link does: a fresh session, the link's parameters in the URL."""
    at = app_test("app.py")
    at.run()
    at.switch_page(page)
    at.query_params.update(params)
    at.run()
    assert not at.exception
    return at


def widget(at, control: controls.Control):
    return getattr(at, control.widget)(key=control.key)


def link_warnings(at) -> list[str]:
    return [w.value for w in at.warning if "this link" in w.value]


def test_a_train_link_sets_every_control_and_the_preprocessing():
    at = open_with_link("pages/train.py", TRAIN_LINK)
    assert {control.key for control, _ in EXPECTED_CONTROLS} == {control.key for control in controls.CONTROLS}
    for control, value in EXPECTED_CONTROLS:
        assert widget(at, control).value == (pytest.approx(value) if isinstance(value, float) else value), control.key
    for key, size in EXPECTED_LAYERS.items():
        assert at.select_slider(key=key).value == size, key
    assert at.session_state[state.PREPROCESS_CONFIG] == EXPECTED_PREPROCESS
    assert link_warnings(at) == []
    # what the page trains on is what the link says
    config = controls.config_from_values({key: at.session_state[key] for key in controls.default_values()})
    assert (config.conv_channels, config.hidden_sizes, config.batch_size) == ((8, 64), (512, 64, 16), None)
    # the URL is the canonical link, and the copy-link box holds it
    assert at.query_params == TRAIN_LINK
    assert any(code.value.endswith("?" + "&".join(f"{k}={v}" for k, v in TRAIN_LINK.items())) for code in at.code)


def test_a_garbage_link_opens_with_defaults_and_names_every_bad_value():
    at = open_with_link("pages/train.py", {"lr": "banana", "layers": "256,7", "opt": "rmsprop",
                                           "epochs": "-3", "batch": "full", "val": "0.9", "colour": "red"})
    (note,) = link_warnings(at)
    for named in ("lr='banana'", "layers='256,7'", "opt='rmsprop'", "epochs='-3'", "val='0.9'", "colour"):
        assert named in note, named
    defaults = controls.default_values()
    for control in (controls.LEARNING_RATE, controls.OPTIMIZER, controls.EPOCHS, controls.DENSE_LAYERS.count):
        assert widget(at, control).value == defaults[control.key], control.key
    assert widget(at, controls.BATCH_SIZE).value == controls.FULL_BATCH   # the good value is used
    assert at.query_params["lr"] == "0.001" and "colour" not in at.query_params


def test_the_link_is_read_once_then_the_users_changes_win():
    at = open_with_link("pages/train.py", {"opt": "sgd", "lr": "0.1"})
    at.radio(key=controls.OPTIMIZER.key).set_value("adam").run()
    assert not at.exception
    assert widget(at, controls.OPTIMIZER).value == "adam"
    assert at.query_params["opt"] == "adam" and at.query_params["lr"] == "0.1"
    # a rerun that still carries the old address (the browser had not caught up) keeps the change
    at.query_params["opt"] = "sgd"
    at.slider(key=controls.EPOCHS.key).set_value(3).run()
    assert widget(at, controls.OPTIMIZER).value == "adam" and widget(at, controls.EPOCHS).value == 3
    assert at.query_params["opt"] == "adam" and not link_warnings(at)


def test_a_link_changes_only_the_session_that_opens_it():
    open_with_link("pages/train.py", {"opt": "sgd", "epochs": "40"})
    other = open_with_link("pages/train.py", {})
    assert widget(other, controls.OPTIMIZER).value == "adam" and widget(other, controls.EPOCHS).value == 5


def test_a_preprocess_link_restores_the_config_and_its_widgets():
    params = {key: TRAIN_LINK[key] for key in share_links.PREPROCESS_KEYS}
    at = open_with_link("pages/preprocess.py", params)
    assert at.session_state[state.PREPROCESS_CONFIG] == EXPECTED_PREPROCESS
    assert at.number_input(key=state.PREPROCESS_TRAIN_SIZE).value == 5000
    assert at.slider(key=state.PREPROCESS_TRAIN_SHARE).value == pytest.approx(0.9)
    assert at.radio(key=state.PREPROCESS_SCALING).value == "standardize"
    assert at.checkbox(key=state.PREPROCESS_AUGMENT_ON).value is True
    assert at.slider(key=state.PREPROCESS_ROTATION).value == pytest.approx(12)
    assert at.query_params == params
    assert link_warnings(at) == []


def test_the_links_augment_bounds_are_the_preprocess_sliders():
    at = open_with_link("pages/preprocess.py", {})
    widgets = {"shift": state.PREPROCESS_SHIFT, "rot": state.PREPROCESS_ROTATION, "zoom": state.PREPROCESS_ZOOM,
               "noise": state.PREPROCESS_NOISE}
    for link_key, (_, low, high, step) in share_links.AUGMENT_KEYS.items():
        slider = at.slider(key=widgets[link_key])
        assert (slider.min, slider.max, slider.step) == pytest.approx((low, high, step)), link_key
    share = at.slider(key=state.PREPROCESS_TRAIN_SHARE)
    low, high, step = share_links.VALIDATION_SHARE
    assert (round(1 - share.max, 2), round(1 - share.min, 2), share.step) == pytest.approx((low, high, step))


def test_a_garbage_preprocess_link_keeps_the_page_running_with_a_note():
    at = open_with_link("pages/preprocess.py", {"scale": "log", "n": "12000", "lr": "0.1"})
    (note,) = link_warnings(at)
    assert "scale='log'" in note and "lr: not a setting of this page" in note
    assert at.session_state[state.PREPROCESS_CONFIG].train_size == 12000


@pytest.fixture()
def bundled_models():
    for path in (models.DEFAULT_MODEL_PATH, models.CNN_MODEL_PATH):
        if not path.is_file():
            pytest.skip(f"{path} is missing: build it with `make model`")


def test_a_predict_link_picks_the_bundled_cnn(bundled_models):
    at = open_with_link("pages/predict.py", {"model": "cnn"})
    assert at.selectbox(key=state.PREDICT_MODEL_CHOICE).value == models.CNN_MODEL_NAME
    assert at.query_params["model"] == "cnn" and link_warnings(at) == []
    at.selectbox(key=state.PREDICT_MODEL_CHOICE).set_value(models.DEFAULT_MODEL_NAME).run()
    assert at.query_params["model"] == "default"


@pytest.mark.parametrize("name, named", [("resnet", "model='resnet'"), ("run:nope", "model=run:nope: no run")])
def test_an_unknown_model_gives_a_note_and_the_default(bundled_models, name, named):
    at = open_with_link("pages/predict.py", {"model": name})
    (note,) = link_warnings(at)
    assert named in note and "the default model answers" in note
    assert at.selectbox(key=state.PREDICT_MODEL_CHOICE).value == models.DEFAULT_MODEL_NAME
    assert at.query_params["model"] == "default"


def test_an_inside_link_opens_the_model_and_the_test_image_and_follows_the_users_choice(bundled_models):
    at = open_with_link("pages/inside.py", {"model": "cnn", "image": "123"})
    assert link_warnings(at) == []
    assert at.selectbox(key=state.INSIDE_MODEL_CHOICE).value == models.CNN_MODEL_NAME
    assert at.radio(key=state.INSIDE_SOURCE).value == inside_inputs.BY_INDEX
    assert at.number_input(key=state.INSIDE_TEST_INDEX).value == 123
    assert any("test image #123" in caption.value for caption in at.caption)
    assert at.query_params["model"] == "cnn" and at.query_params["image"] == "123"
    at.number_input(key=state.INSIDE_TEST_INDEX).set_value(7).run()
    assert at.query_params["image"] == "7"
    at.selectbox(key=state.INSIDE_MODEL_CHOICE).set_value(models.DEFAULT_MODEL_NAME).run()
    assert at.query_params["model"] == "default" and at.query_params["image"] == "7"


@pytest.mark.parametrize("image", ["10000", "seven"])
def test_an_invalid_inside_image_gives_a_note_naming_it_and_the_default(bundled_models, image):
    at = open_with_link("pages/inside.py", {"image": image, "model": "default"})
    (note,) = link_warnings(at)
    assert f"image={image!r}" in note and "expected a whole number from 0 to 9999" in note
    assert "the page shows test image 0, the default" in note
    assert at.number_input(key=state.INSIDE_TEST_INDEX).value == 0
    assert at.query_params["image"] == "0" and at.query_params["model"] == "default"


def test_an_inside_link_to_an_unknown_run_opens_the_default_model_with_a_note(bundled_models):
    at = open_with_link("pages/inside.py", {"model": "run:nope", "image": "3"})
    (note,) = link_warnings(at)
    assert "model=run:nope: this model is not available here" in note and models.DEFAULT_MODEL_NAME in note
    assert at.selectbox(key=state.INSIDE_MODEL_CHOICE).value == models.DEFAULT_MODEL_NAME
    assert at.number_input(key=state.INSIDE_TEST_INDEX).value == 3
