"""The Preprocess page under AppTest: shapes, the stored PreprocessConfig, persistence, other datasets,
and the numbers its SVG charts show (read back from their text and tooltips)."""
import html
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from nnlib.augment import AugmentConfig
from nnlib.data import FASHION_MNIST_CLASSES, Dataset
from nnlib.preprocessing import SCALING_LABELS, PreprocessConfig, Scaler, flatten, split_indices
from tests.pages.helpers import open_from_home, serving_as_fashion_mnist
from tests.pages.test_explore import unlabelled_csv, use_upload

PAGE = "pages/preprocess.py"


def open_page(setup=None) -> AppTest:
    """AppTest of this page, entered from the app."""
    return open_from_home(PAGE, setup)


def svg_charts(at: AppTest) -> list[str]:
    """The inline SVG charts, in page order (split, histograms, transposition, one-hot)."""
    return [m.value for m in at.markdown if m.value.startswith("<svg")]


def chart(at: AppTest, title: str) -> str | None:
    """The SVG chart whose own title (its first ``<title>``) starts with ``title``, or None."""
    return next((svg for svg in svg_charts(at) if re.search(r"^<svg[^>]*><title>" + re.escape(title), svg)), None)


def split_parts(at: AppTest) -> dict[str, int]:
    """The split bar's segments, ``{name: images}``, from their tooltips."""
    tips = re.findall(r"<rect [^>]*><title>([^<:]+): ([\d,]+) images", chart(at, "Where the"))
    return {name: int(count.replace(",", "")) for name, count in tips}


def histogram_bars(at: AppTest) -> dict[str, list[tuple[float, float, int]]]:
    """The scaling histograms' bars, ``{panel: [(start, end, pixels)]}``, from their tooltips."""
    bars: dict[str, list[tuple[float, float, int]]] = {}
    svg = chart(at, "Pixel values before and after scaling")
    for panel, start, end, count in re.findall(r"<title>([^<]+): values (\S+) to (\S+): ([\d,]+) pixels</title>", svg):
        bars.setdefault(html.unescape(panel), []).append((float(start), float(end), int(count.replace(",", ""))))
    return bars


def expected_bars(values: np.ndarray, value_range: tuple[float, float]) -> list[tuple[float, float, int]]:
    """``np.histogram`` of ``values`` in 32 bins, the empty bins left out (they have no bar)."""
    counts, edges = np.histogram(np.asarray(values).ravel(), bins=32, range=value_range)
    return [(edges[i], edges[i + 1], int(c)) for i, c in enumerate(counts) if c]


def assert_same_bars(shown: list[tuple[float, float, int]], expected: list[tuple[float, float, int]]) -> None:
    assert [count for _, _, count in shown] == [count for _, _, count in expected]
    # The edges are written with 3 significant digits.
    np.testing.assert_allclose([(s, e) for s, e, _ in shown], [(s, e) for s, e, _ in expected], rtol=5e-3, atol=1e-9)


def assert_histograms_show(at: AppTest, dataset: Dataset, scaling: str) -> None:
    """Both panels' bars are ``np.histogram`` of the page's sample: the first 2,000 training images."""
    config = stored(at)
    train_indices, _ = split_indices(config.train_size, config.val_fraction, config.seed)
    raw = dataset.x_train[train_indices[:2000]]
    scaled = Scaler.fit(scaling, flatten(dataset.x_train[train_indices])).transform(flatten(raw))
    bars = histogram_bars(at)
    assert list(bars) == ["before: raw pixels 0-255", f"after: {SCALING_LABELS[scaling]}"]
    before, after = bars.values()
    assert_same_bars(before, expected_bars(raw, (0, 256)))
    assert_same_bars(after, expected_bars(scaled, (float(scaled.min()), float(scaled.max()))))
    assert sum(c for _, _, c in before) == sum(c for _, _, c in after) == len(raw) * 784


def one_hot_rows(at: AppTest) -> tuple[list[int], list[str], list[str], np.ndarray]:
    """The one-hot table read back from its cells' tooltips: image indices, their labels, the class
    columns and the 0/1 matrix."""
    cells = re.findall(r"<title>#(\d+) → ([^<,]+), column ([^<:]+): ([\d.]+)</title>", chart(at, "One-hot rows"))
    indices = list(dict.fromkeys(int(index) for index, _, _, _ in cells))
    labels = [html.unescape(label) for _, label, _, _ in cells][:: len(cells) // len(indices)]
    columns = list(dict.fromkeys(html.unescape(column) for _, _, column, _ in cells))
    matrix = np.array([float(value) for *_, value in cells]).reshape(len(indices), len(columns))
    return indices, labels, columns, matrix


def transpose_shapes(at: AppTest) -> dict[str, tuple[int, int]]:
    """The matrices' names and shapes written under them in the transposition diagram."""
    svg = chart(at, "X (")
    return {name: (int(rows), int(columns))
            for name, rows, columns in re.findall(r'<tspan font-weight="700">(X|X\.T)</tspan>\s+\((\d+), (\d+)\)', svg)}


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
    assert len(svg_charts(at)) == 4
    assert at.get("plotly_chart") == []   # the page needs no Plotly
    assert shown_pictures(at) == 2  # before/after the shuffle, the augmentation preview


def test_default_charts_show_the_real_numbers(mnist):
    at = open_page()
    assert not at.exception
    parts = split_parts(at)
    assert parts == {"training": 33_600, "validation": 8400, "not used": 18_000, "test (separate file)": 10_000}
    assert parts["training"] + parts["validation"] + parts["not used"] == len(mnist.x_train)
    split = chart(at, "Where the 70,000 images go")
    assert "training: 33,600 images (80.0% of the 42,000 used)" in split
    assert "validation: 8,400 images (20.0% of the 42,000 used)" in split
    assert ">images</text>" in split   # the axis is labelled
    assert_histograms_show(at, mnist, "unit")
    assert transpose_shapes(at) == {"X": (33_600, 784), "X.T": (784, 33_600)}
    assert "33,600 images" in chart(at, "X (")
    indices, labels, columns, rows = one_hot_rows(at)
    train_indices, _ = split_indices(42_000, 0.2, 0)
    assert indices == list(train_indices[:8])
    assert labels == [str(mnist.y_train[i]) for i in indices]
    assert columns == [str(d) for d in range(10)]
    assert rows.shape == (8, 10) and np.array_equal(rows.sum(axis=1), np.ones(8))
    assert np.array_equal(rows.argmax(axis=1), mnist.y_train[indices])


def test_controls_change_the_stored_config_and_the_shapes(mnist):
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
    assert split_parts(at) == {"training": 9000, "validation": 1000, "not used": 50_000, "test (separate file)": 10_000}
    assert "(90.0% of the 10,000 used)" in chart(at, "Where the")
    assert any("fitted on the training split" in m.value for m in at.markdown)
    assert_histograms_show(at, mnist, "standardize")
    # Standardised pixels have negative values: the "after" histogram starts below 0.
    before, after = histogram_bars(at).values()
    assert after[0][0] < 0 == before[0][0]
    assert transpose_shapes(at) == {"X": (9000, 784), "X.T": (784, 9000)}
    assert at.get("plotly_chart") == []


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
    indices, labels, _, rows = one_hot_rows(at)
    assert rows.shape == (8, 10) and np.array_equal(rows.argmax(axis=1), [int(label) for label in labels]) and rows.sum() == 8
    # The one-hot rows are the first images of the new shuffle, each with its true label.
    assert [f"{label} · #{index}" for label, index in zip(labels, indices)] == reshuffled[:8]
    assert np.array_equal(rows.argmax(axis=1), mnist.y_train[indices])


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
        indices, labels, columns, rows = one_hot_rows(at)
        assert columns == list(FASHION_MNIST_CLASSES)
        assert labels == [FASHION_MNIST_CLASSES[fake.y_train[i]] for i in indices]
        assert np.array_equal(rows.argmax(axis=1), fake.y_train[indices]) and rows.sum() == len(indices) == 8
        assert split_parts(at) == {"training": 400, "validation": 100, "test (separate file)": 100}


def test_unlabelled_csv_previews_without_one_hot():
    at = open_page(use_upload(unlabelled_csv(40)))
    assert not at.exception
    assert any("no labels" in w.value for w in at.warning)
    assert any("No labels" in i.value for i in at.info)
    assert shapes_shown(at)[0] == ["X train (784, 32)", "Y train (32,)", "X val (784, 8)", "Y val (8,)"]
    assert stored(at).train_size == 40
    assert len(svg_charts(at)) == 3 and chart(at, "One-hot rows") is None  # no one-hot table
    assert split_parts(at) == {"training": 32, "validation": 8}
    assert at.get("plotly_chart") == []
    assert shown_pictures(at) == 2
