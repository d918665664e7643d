"""The Preprocess page under AppTest: shapes, the stored PreprocessConfig, persistence, other datasets."""
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from nnlib.augment import AugmentConfig
from nnlib.data import FASHION_MNIST_CLASSES, Dataset
from nnlib.preprocessing import PreprocessConfig
from tests.pages.helpers import open_from_home, plotly_figures, serving_as_fashion_mnist
from tests.pages.test_explore import plotly_array, unlabelled_csv, use_upload

PAGE = "pages/preprocess.py"


def open_page(setup=None) -> AppTest:
    """AppTest of this page, entered from the app."""
    return open_from_home(PAGE, setup)


figures = plotly_figures


def shapes_shown(at: AppTest) -> tuple[list[str], list[str]]:
    """The two array layouts, one line per array (markdown lines of inline code)."""
    blocks = [block.value for block in at.markdown if block.value.startswith("`X train")]
    seed_layout, row_layout = ([line.strip("` ") for line in block.split("  \n")] for block in blocks[:2])
    return seed_layout, row_layout


def open_recording_pictures(monkeypatch, setup=None) -> tuple[AppTest, list[tuple[str, tuple, object]]]:
    """Open the page while recording every picture builder call: ``(name, arguments, montage)``."""
    from dashboard import preprocess_charts as charts

    calls = []

    def record(name):
        builder = getattr(charts, name)

        def recorded(*args, **kwargs):
            result = builder(*args, **kwargs)
            calls.append((name, args, result))
            return result
        monkeypatch.setattr(charts, name, recorded)
    record("before_after_picture")
    record("augment_preview_picture")
    return open_page(setup), calls


def last_call(calls, name: str):
    return next(call for call in reversed(calls) if call[0] == name)


def shown_pictures(at: AppTest) -> int:
    return sum(len(element.proto.imgs) for element in at.get("image"))


def stored(at: AppTest) -> PreprocessConfig:
    return at.session_state[state.PREPROCESS_CONFIG]


def test_seed_study_defaults_give_the_seed_study_shapes():
    at = open_page()
    assert not at.exception
    seed_layout, row_layout = shapes_shown(at)
    assert seed_layout == ["X train (784, 33600)", "Y train (33600,)", "X val (784, 8400)", "Y val (8400,)"]
    assert row_layout[:4] == ["X train (33600, 784)", "Y train (33600,)", "X val (8400, 784)", "Y val (8400,)"]
    assert row_layout[4:] == ["X test (10000, 784)", "Y test (10000,)"]
    assert stored(at) == PreprocessConfig(train_size=42_000, val_fraction=0.2, seed=0, scaling="unit", augment=None)
    # The page shows the config it stored.
    assert json.loads(at.json[-1].value) == stored(at).to_dict()
    assert len(figures(at)) == 4
    assert shown_pictures(at) == 2  # before/after the shuffle, the augmentation preview


def test_controls_change_the_stored_config_and_the_shapes():
    at = open_page()
    at.number_input(key=state.PREPROCESS_TRAIN_SIZE).set_value(10_000)
    at.number_input(key=state.PREPROCESS_SEED).set_value(5)
    at.slider(key=state.PREPROCESS_TRAIN_SHARE).set_value(0.9)
    at.radio(key=state.PREPROCESS_SCALING).set_value("standardize")
    at.checkbox(key=state.PREPROCESS_AUGMENT_ON).check()
    at.slider(key=state.PREPROCESS_SHIFT).set_value(3.0)
    at.slider(key=state.PREPROCESS_NOISE).set_value(0.1).run()
    assert not at.exception
    config = stored(at)
    assert config.train_size == 10_000 and config.seed == 5 and config.scaling == "standardize"
    assert config.val_fraction == pytest.approx(0.1)
    assert config.augment == AugmentConfig(max_shift_px=3.0, max_rotation_deg=10.0, max_scale=0.1, noise_std=0.1)
    seed_layout, _ = shapes_shown(at)
    assert seed_layout == ["X train (784, 9000)", "Y train (9000,)", "X val (784, 1000)", "Y val (1000,)"]
    split = next(f for f in figures(at) if f["data"] and f["data"][0].get("orientation") == "h")
    assert [bar["x"][0] for bar in split["data"]] == [9000, 1000, 50_000, 10_000]
    assert any("fitted on the training split" in m.value for m in at.markdown)
    # Standardised pixels have negative values: the "after" histogram starts below 0.
    scaling = next(f for f in figures(at) if len(f["data"]) == 2 and f["data"][0]["type"] == "bar"
                   and f["layout"].get("xaxis2"))
    assert min(plotly_array(scaling["data"][1]["x"])) < 0 < min(plotly_array(scaling["data"][0]["x"]))


def test_a_new_seed_changes_the_shuffled_order(monkeypatch, mnist):
    at, calls = open_recording_pictures(monkeypatch)
    _, (before, file_order, after, shuffled), picture = last_call(calls, "before_after_picture")[:3]
    assert file_order == [f"{mnist.y_train[i]} · #{i}" for i in range(10)]
    assert np.array_equal(before, mnist.x_train[:10])
    first_shuffled = int(shuffled[0].split("#")[1])
    assert np.array_equal(after[0], mnist.x_train[first_shuffled])
    assert np.array_equal(picture.tile(10)[::2, ::2, 0], mnist.x_train[first_shuffled])  # second row, first tile
    at.number_input(key=state.PREPROCESS_SEED).set_value(1).run()
    reshuffled = last_call(calls, "before_after_picture")[1][3]
    assert reshuffled != shuffled and len(reshuffled) == 10
    one_hot = next(f for f in figures(at) if f["data"] and f["data"][0]["type"] == "heatmap" and f["data"][0].get("texttemplate"))
    rows = plotly_array(one_hot["data"][0]["z"])
    labels = [int(row.split("→ ")[1]) for row in one_hot["data"][0]["y"]]
    assert rows.shape == (8, 10) and np.array_equal(rows.argmax(axis=1), labels) and rows.sum() == 8
    assert [t.split(" · ")[0] for t in reshuffled[:8]] == [str(label) for label in labels]


def test_widgets_start_from_a_stored_config_and_survive_a_page_switch():
    config = PreprocessConfig(train_size=20_000, val_fraction=0.3, seed=7, scaling="none",
                              augment=AugmentConfig(max_shift_px=1.0, max_rotation_deg=5.0))
    at = open_page(lambda at: at.session_state.__setitem__(state.PREPROCESS_CONFIG, config))
    assert not at.exception
    assert stored(at) == config
    assert at.number_input(key=state.PREPROCESS_TRAIN_SIZE).value == 20_000
    assert at.radio(key=state.PREPROCESS_SCALING).value == "none"
    assert shapes_shown(at)[0][0] == "X train (784, 14000)"
    at.number_input(key=state.PREPROCESS_SEED).set_value(11).run()
    at.switch_page("pages/explore.py").run()
    assert not at.exception
    at.switch_page(PAGE).run()
    assert at.number_input(key=state.PREPROCESS_SEED).value == 11
    assert stored(at) == PreprocessConfig(train_size=20_000, val_fraction=0.3, seed=11, scaling="none",
                                          augment=config.augment)


def test_augmentation_preview_follows_the_strengths(monkeypatch, mnist):
    at, calls = open_recording_pictures(monkeypatch)
    at.slider(key=state.PREPROCESS_SHIFT).set_value(0.0)
    at.slider(key=state.PREPROCESS_ROTATION).set_value(0.0)
    at.slider(key=state.PREPROCESS_ZOOM).set_value(0.0).run()
    scale = 3

    def tiles():
        picture = last_call(calls, "augment_preview_picture")[2]
        return [picture.tile(i)[::scale, ::scale, 0] for i in range(12)]
    assert all(np.array_equal(tile, mnist.x_train[0]) for tile in tiles())  # all strengths zero: copies
    assert stored(at).augment is None  # off by default
    at.slider(key=state.PREPROCESS_ROTATION).set_value(20.0).run()
    rotated = tiles()
    assert np.array_equal(rotated[0], mnist.x_train[0])
    assert not any(np.array_equal(tile, mnist.x_train[0]) for tile in rotated[1:])
    assert stored(at).augment is None  # the preview alone does not turn augmentation on
    assert shown_pictures(at) == 2


def test_works_on_fashion_mnist(monkeypatch, mnist):
    fake = Dataset("Fashion-MNIST", mnist.x_train[:500], mnist.y_train[:500], mnist.x_test[:100],
                   mnist.y_test[:100], FASHION_MNIST_CLASSES)
    with serving_as_fashion_mnist(monkeypatch, fake):
        at = open_page(lambda at: at.session_state.__setitem__(state.DATASET_NAME, "Fashion-MNIST"))
        assert not at.exception
        # 42,000 is more than this set has: the subset is the whole set.
        assert stored(at).train_size == 500
        assert shapes_shown(at)[0] == ["X train (784, 400)", "Y train (400,)", "X val (784, 100)", "Y val (100,)"]
        one_hot = next(f for f in figures(at) if f["data"] and f["data"][0]["type"] == "heatmap" and f["data"][0].get("texttemplate"))
        assert one_hot["data"][0]["x"] == list(FASHION_MNIST_CLASSES)


def test_unlabelled_csv_previews_without_one_hot():
    at = open_page(use_upload(unlabelled_csv(40)))
    assert not at.exception
    assert any("no labels" in w.value for w in at.warning)
    assert any("No labels" in i.value for i in at.info)
    assert shapes_shown(at)[0] == ["X train (784, 32)", "Y train (32,)", "X val (784, 8)", "Y val (8,)"]
    assert stored(at).train_size == 40
    assert len(figures(at)) == 3  # no one-hot table
    assert shown_pictures(at) == 2
