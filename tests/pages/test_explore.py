"""The Explore page under AppTest: values it shows for MNIST, a fake Fashion-MNIST and an unlabelled CSV."""
import html
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import explore_data, state
from dashboard.svg_picker import pick_state
from dashboard.thumbnails import captions_in, images_in
from nnlib.data import FASHION_MNIST_CLASSES, Dataset
from tests.pages.helpers import open_from_home, picker_svgs, serving_as_fashion_mnist

PAGE = "pages/explore.py"


def open_page(setup=None) -> AppTest:
    """AppTest of this page, entered from the app."""
    return open_from_home(PAGE, setup)


def map_points(at: AppTest) -> list[tuple[int, str]]:
    """The 2-D map's points as ``(image index, colour class)``, read from its SVG."""
    svg = picker_svgs(at)[state.EXPLORE_MAP_CHART]
    return [(int(pick), group) for group, pick in re.findall(r'<circle cx="[\d.]+" cy="[\d.]+" class="g(-?\d+)" '
                                                             r'data-pick="(\d+)"', svg)]


def pixel_map(svg: str) -> np.ndarray:
    """A 28x28 map read back from its squares' tooltips (``"mean, row 3, col 5: 12.34"``)."""
    values = np.full((28, 28), np.nan)
    for row, column, value in re.findall(r"<title>\w+, row (\d+), col (\d+): ([\d.]+)</title>", svg):
        values[int(row), int(column)] = float(value)
    return values


def class_balance(at: AppTest) -> list[tuple[str, int, int]] | None:
    """The class balance's rows ``(class, training images, test images)``, or None if not shown."""
    table = next((e.proto.body for e in at.get("html") if "train (" in e.proto.body), None)
    if table is None:
        return None
    labels = re.findall(r'<span style="white-space:nowrap">([^<]*)</span>', table)
    counts = [int(n.replace(",", "")) for n in re.findall(r">([\d,]+) · [\d.]+%<", table)]
    return [(html.unescape(label), counts[2 * i], counts[2 * i + 1]) for i, label in enumerate(labels)]


def svg_charts(at: AppTest) -> list[str]:
    """The inline SVG charts of the pixel statistics (the histogram, then the ink boxes)."""
    return [m.value for m in at.markdown if m.value.startswith("<svg")]


def pixel_maps(at: AppTest) -> list[str]:
    """The mean and spread maps' SVG."""
    charts = picker_svgs(at)
    return [charts[state.EXPLORE_MEAN_MAP], charts[state.EXPLORE_SPREAD_MAP]]


def pixel_values(grid: str) -> np.ndarray:
    """The 28x28 image an enlarged-image grid shows, read back from its cells' hover text."""
    values = np.zeros((28, 28), dtype=np.uint8)
    cells = re.findall(r'title="row (\d+), col (\d+): (\d+)"', grid)
    assert len(cells) == 784
    for row, column, value in cells:
        values[int(row), int(column)] = int(value)
    return values


def sample_grids(at: AppTest) -> list[str]:
    """The sample grids' HTML, one per row of samples."""
    return [element.proto.body for element in at.get("html") if "<figcaption" in element.proto.body]


def sample_captions(at: AppTest) -> list[str]:
    """Captions of the sample images, row after row."""
    return [caption for grid in sample_grids(at) for caption in captions_in(grid)]


@pytest.fixture(scope="module")
def mnist_page():
    return open_page()


def test_shows_mnist_counts_and_every_chart(mnist_page):
    at = mnist_page
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Training images"] == "60,000" and metrics["Test images"] == "10,000"
    assert metrics["Always-blank pixels"] == "67 of 784"
    assert not at.get("plotly_chart")   # every chart is HTML or SVG: the browser loads no chart library
    assert sorted(picker_svgs(at)) == sorted([state.EXPLORE_MEAN_MAP, state.EXPLORE_SPREAD_MAP, state.EXPLORE_MAP_CHART])
    assert class_balance(at) is not None and len(svg_charts(at)) == 2
    # Ten rows of samples (one grid each), then the class means and the unusual examples as one picture each.
    assert [len(captions_in(grid)) for grid in sample_grids(at)] == [10] * 10
    assert [len(element.proto.imgs) for element in at.get("image")] == [1, 1]
    # Every chart and picture is explained by a caption.
    assert len(at.caption) >= 2 + 2 + 3


def test_class_balance_counts_sum_to_the_dataset(mnist_page, mnist):
    rows = class_balance(mnist_page)
    assert [label for label, _, _ in rows] == [str(d) for d in range(10)]
    assert sum(train for _, train, _ in rows) == 60_000 and sum(test for _, _, test in rows) == 10_000
    assert rows[1][1] == 6742 == np.count_nonzero(mnist.y_train == 1)  # the most frequent digit


def test_histogram_and_ink_boxes_are_drawn_from_the_statistics(mnist_page, mnist):
    from dashboard.explore_data import dataset_statistics
    from nnlib import analysis

    stats = dataset_statistics(analysis.dataset_fingerprint(mnist), mnist)
    histogram, boxes = svg_charts(mnist_page)
    counts = [int(n.replace(",", "")) for n in re.findall(r"<title>values [^:]+: ([\d,]+) pixels</title>", histogram)]
    assert counts == [int(c) for c in stats.histogram_counts if c > 0] and sum(counts) == 60_000 * 784
    medians = [float(m) for m in re.findall(r"<title>\w+: median ([\d.]+),", boxes)]
    np.testing.assert_allclose(medians, stats.ink.median, atol=0.05)


def test_pca_map_has_the_chosen_number_of_points_coloured_by_label(mnist_page, mnist):
    points = map_points(mnist_page)
    assert len(points) == explore_data.DEFAULT_MAP_SIZE == 1000 and len({index for index, _ in points}) == 1000
    assert all(int(mnist.y_train[index]) == int(group) for index, group in points)   # each point's colour is its label
    assert len({group for _, group in points}) == 10
    svg = picker_svgs(mnist_page)[state.EXPLORE_MAP_CHART]
    assert re.search(r">PC 1 \([\d.]+% of variance\)<", svg) and svg.count("data-toggle=") == 10
    assert not mnist_page.get("plotly_chart")      # the page loads no chart library in the browser


def test_a_click_on_the_map_shows_that_image(mnist):
    at = open_page()
    assert [i.value for i in at.info] == ["Click a point to see the image here."]
    index, _ = map_points(at)[123]
    at.session_state[state.EXPLORE_MAP_CHART] = pick_state(str(index))
    at.run()
    assert not at.exception and not at.info
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    assert f"{int(mnist.y_train[index])} · #{index}" in captions


def test_samples_are_labelled_and_a_new_seed_reshuffles_them(mnist_page, mnist):
    at = mnist_page
    first = sample_captions(at)
    assert len(first) == 100
    images = [image for grid in sample_grids(at) for image in images_in(grid)]
    for caption, image in zip(first, images, strict=True):
        label, index = caption.split(" · #")
        assert mnist.y_train[int(index)] == int(label)
        assert np.array_equal(image, mnist.x_train[int(index)])  # each image is the one its caption names
    at.number_input(key=state.EXPLORE_SAMPLE_SEED).set_value(1).run()
    assert not at.exception
    reshuffled = sample_captions(at)
    assert len(reshuffled) == 100 and reshuffled != first
    at.number_input(key=state.EXPLORE_SAMPLE_SEED).set_value(0).run()
    assert sample_captions(at) == first


def test_many_of_one_class_and_the_enlarged_image(mnist):
    at = open_page()
    at.radio(key=state.EXPLORE_SAMPLE_MODE).set_value("Many of one class").run()
    at.selectbox(key=state.EXPLORE_SAMPLE_CLASS).set_value(3)
    at.slider(key=state.EXPLORE_SAMPLE_COUNT).set_value(20).run()
    assert not at.exception
    captions = sample_captions(at)
    assert len(captions) == 20 and all(c.startswith("3 · #") for c in captions)
    index = int(captions[5].split("#")[1])
    at.selectbox(key=state.EXPLORE_ENLARGED).set_value(index).run()
    enlarged = next(element.proto.body for element in at.get("html") if "title=\"row 0, col 0:" in element.proto.body)
    assert f"#{index}, label 3" in enlarged
    assert np.array_equal(pixel_values(enlarged), mnist.x_train[index])


def test_map_size_control_changes_the_map():
    at = open_page()
    at.select_slider(key=state.EXPLORE_MAP_POINTS).set_value(3000).run()
    assert len(map_points(at)) == 3000


def test_pixel_maps_show_the_dataset_mean_and_spread(mnist_page, mnist):
    mean, std = (pixel_map(svg) for svg in pixel_maps(mnist_page))
    assert mean.shape == std.shape == (28, 28) and not np.isnan(mean).any() and not np.isnan(std).any()
    assert np.allclose(mean, mnist.x_train.mean(axis=0), atol=0.06)
    assert np.allclose(std, mnist.x_train.std(axis=0), atol=0.06)
    assert int((std == 0).sum()) == 67  # the always-blank pixels of the metric


def test_class_means_and_unusual_examples_are_pictures_of_the_page_statistics(monkeypatch, mnist):
    from dashboard import explore_charts as charts
    from dashboard.explore_data import dataset_statistics
    from nnlib import analysis

    built = {}

    def spy(name):
        builder = getattr(charts, name)
        monkeypatch.setattr(charts, name, lambda *args: built.setdefault(name, builder(*args)))
    spy("class_means_picture")
    spy("unusual_examples_picture")
    at = open_page()
    assert not at.exception
    stats = dataset_statistics(analysis.dataset_fingerprint(mnist), mnist)
    means, unusual = built["class_means_picture"], built["unusual_examples_picture"]
    assert len(means.tile_origins) == 10 and len(unusual.tile_origins) == 60
    first = int(stats.unusual_indices[3, 0])
    assert np.array_equal(unusual.tile(18)[::2, ::2, 0], mnist.x_train[first])  # row of 3s, first tile
    assert np.array_equal(means.tile(7)[::3, ::3, 0], np.rint(stats.class_means[7]).astype(np.uint8))
    # Both are shown as pictures (the samples are grids of their own).
    assert [len(element.proto.imgs) for element in at.get("image")] == [1, 1]


def test_works_on_fashion_mnist(monkeypatch, mnist):
    fake = Dataset("Fashion-MNIST", mnist.x_train[:600], mnist.y_train[:600], mnist.x_test[:100],
                   mnist.y_test[:100], FASHION_MNIST_CLASSES)
    with serving_as_fashion_mnist(monkeypatch, fake):
        at = open_page(lambda at: at.session_state.__setitem__(state.DATASET_NAME, "Fashion-MNIST"))
        assert not at.exception
        rows = class_balance(at)
        assert [label for label, _, _ in rows] == list(FASHION_MNIST_CLASSES)
        assert sum(train for _, train, _ in rows) == 600 and sum(test for _, _, test in rows) == 100
        assert any(c.startswith("Trouser · #") for c in sample_captions(at))


def unlabelled_csv(n: int = 40) -> bytes:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(n, 784))
    rows = [",".join(f"pixel{i}" for i in range(784))] + [",".join(map(str, row)) for row in pixels]
    return ("\n".join(rows) + "\n").encode()


def use_upload(payload: bytes, name: str = "digits.csv"):
    def setup(at):
        at.session_state[state.UPLOADED_DATASET] = {"name": name, "digest": str(hash(payload)), "bytes": payload}
        at.session_state[state.DATASET_NAME] = "Uploaded file"
    return setup


def test_unlabelled_csv_shows_samples_and_leaves_out_per_class_charts():
    at = open_page(use_upload(unlabelled_csv()))
    assert not at.exception
    assert any("no labels" in w.value for w in at.warning)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Training images"] == "40" and metrics["Test images"] == "none"
    captions = sample_captions(at)
    assert len(captions) == 10 and all(c.startswith("? · #") for c in captions)
    assert class_balance(at) is None and len(svg_charts(at)) == 1   # no class balance, no ink per class
    points = map_points(at)
    assert len(points) == 40 and {group for _, group in points} == {"-1"}
    assert ">unlabelled</text>" in picker_svgs(at)[state.EXPLORE_MAP_CHART]
