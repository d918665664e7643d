"""The Preprocess page's pictures and SVG charts: the right images in the right tiles, the numbers
shown round-trip, bad input refused."""
import html
import re

import numpy as np
import pytest

from dashboard import preprocess_charts as charts
from nnlib.augment import AugmentConfig, augment_images


def test_before_after_picture_puts_each_row_in_order_and_pads_a_short_row(mnist):
    before, after = mnist.x_train[:3], mnist.x_train[10:15]
    picture = charts.before_after_picture(before, ["a", "b", "c"], after, [str(i) for i in range(5)],
                                          row_labels=("file order", "shuffled"))
    scale = charts.IMAGE_SCALE
    assert len(picture.tile_origins) == 10  # two rows of five
    for tile, image in enumerate([*before, None, None, *after]):
        pixels = picture.tile(tile)[::scale, ::scale, 0]
        if image is None:
            assert (picture.tile(tile) == 255).all()
        else:
            assert np.array_equal(pixels, image)
    assert picture.tile_origins[5][0] > picture.tile_origins[4][0]  # the shuffled row is below


def test_augment_preview_picture_starts_with_the_original(mnist):
    original = mnist.x_train[7]
    copies = augment_images(np.repeat(original[None], 5, axis=0), AugmentConfig(max_rotation_deg=30.0),
                            np.random.default_rng(3))
    picture = charts.augment_preview_picture(original, copies, columns=3)
    scale = charts.AUGMENT_SCALE
    assert len(picture.tile_origins) == 6
    assert np.array_equal(picture.tile(0)[::scale, ::scale, 0], original)
    for tile, copy in enumerate(copies, start=1):
        assert np.array_equal(picture.tile(tile)[::scale, ::scale, 0], np.rint(np.clip(copy, 0, 255)).astype(np.uint8))


def tips(chart: str) -> list[str]:
    """The tooltips of a chart's shapes (not the chart's own title)."""
    return [html.unescape(tip) for tip in re.findall(r"<title>([^<]*)</title>", chart)[1:]]


def test_split_svg_cuts_the_bar_by_the_counts_and_writes_sizes_and_shares():
    chart = charts.split_svg(33_600, 8400, n_test=10_000, n_unused=18_000)
    assert tips(chart) == ["training: 33,600 images (80.0% of the 42,000 used)",
                           "validation: 8,400 images (20.0% of the 42,000 used)",
                           "not used: 18,000 images (30.0% of the 60,000 in the training file)",
                           "test (separate file): 10,000 images"]
    segments = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="40"', chart)
    widths = [float(width) for _, width in segments]
    span = charts.SPLIT_WIDTH - 2 * charts.SPLIT_MARGIN
    assert widths == pytest.approx([span * n / 70_000 for n in (33_600, 8400, 18_000, 10_000)], abs=0.06)
    assert float(segments[1][0]) == pytest.approx(charts.SPLIT_MARGIN + span * 0.48, abs=0.06)  # after training
    assert ">training: 33,600</text>" in chart and ">8,400</text>" in chart   # written in where they fit
    assert ">70,000</text>" in chart and ">images</text>" in chart            # the axis, labelled
    assert "<title>Where the 70,000 images go</title>" in chart


def test_split_svg_leaves_out_empty_parts_and_refuses_bad_counts():
    assert tips(charts.split_svg(9, 1)) == ["training: 9 images (90.0% of the 10 used)",
                                            "validation: 1 images (10.0% of the 10 used)"]
    with pytest.raises(ValueError, match="at least 0"):
        charts.split_svg(10, -1)
    with pytest.raises(ValueError, match="not all 0"):
        charts.split_svg(0, 0)


def test_scaling_histogram_svg_shows_both_sets_in_their_colours():
    raw = np.array([0, 0, 0, 10, 255], dtype=np.uint8)
    before_counts, before_edges = np.histogram(raw, bins=4, range=(0, 256))
    after_counts, after_edges = np.histogram(raw / 255, bins=2, range=(0, 1))
    chart = charts.scaling_histogram_svg(before_counts, before_edges, after_counts, after_edges, "after: 0-1")
    assert tips(chart) == ["before: raw pixels 0-255: values 0 to 64: 4 pixels",
                           "before: raw pixels 0-255: values 192 to 256: 1 pixels",
                           "after: 0-1: values 0 to 0.5: 4 pixels", "after: 0-1: values 0.5 to 1: 1 pixels"]
    fills = re.findall(r'<rect [^>]*fill="([^"]+)"', chart)
    assert fills == [charts.BEFORE_COLOUR] * 2 + [charts.TRAIN_COLOUR] * 2
    assert ">before: raw pixels 0-255</text>" in chart and ">after: 0-1</text>" in chart


def test_transpose_svg_writes_both_shapes_and_the_products():
    chart = charts.transpose_svg(33_600, 784, first_hidden=128)
    shapes = re.findall(r'<tspan font-weight="700">(X|X\.T)</tspan>\s+\((\d+), (\d+)\)', chart)
    assert shapes == [("X", "33600", "784"), ("X.T", "784", "33600")]
    assert "X @ W1 with W1 (784, 128) → (33600, 128)" in chart
    assert "W1 @ X.T with W1 (128, 784) → (128, 33600)" in chart
    assert ">33,600 images</text>" in chart and ">784 pixels</text>" in chart
    assert "X: 33,600 rows (one per image) x 784 columns (one per pixel)" in tips(chart)
    with pytest.raises(ValueError, match="at least 1"):
        charts.transpose_svg(0)


def test_one_hot_svg_round_trips_the_matrix():
    labels = np.array([3, 0, 2])
    encoded = np.eye(4)[labels]
    chart = charts.one_hot_svg(labels, encoded, ["a", "b", "c<d>", "e"], indices=np.array([10, 20, 30]))
    cells = re.findall(r"^#(\d+) → ([^,]+), column (.+): ([\d.]+)$", "\n".join(tips(chart)), flags=re.M)
    assert len(cells) == 12
    assert [int(i) for i, _, _, _ in cells[::4]] == [10, 20, 30]
    assert [label for _, label, _, _ in cells[::4]] == ["e", "a", "c<d>"]
    assert [column for _, _, column, _ in cells[:4]] == ["a", "b", "c<d>", "e"]
    matrix = np.array([float(value) for *_, value in cells]).reshape(3, 4)
    assert np.array_equal(matrix, encoded)
    assert chart.count(">1</text>") == 3 and chart.count(">0</text>") == 9   # every value written in its cell
    assert ">class</text>" in chart and ">image → label</text>" in chart and "c&lt;d&gt;" in chart
    assert tips(charts.one_hot_svg(labels, encoded, "abcd"))[0] == "d, column a: 0"   # without indices


def test_one_hot_svg_wants_a_row_per_label_and_a_column_per_class():
    with pytest.raises(ValueError, match="one row per label"):
        charts.one_hot_svg(np.array([1, 0]), np.eye(3)[[1]], ["a", "b", "c"])
    with pytest.raises(ValueError, match="one column per class"):
        charts.one_hot_svg(np.array([1]), np.eye(3)[[1]], ["a", "b"])
    with pytest.raises(ValueError, match="one index per label"):
        charts.one_hot_svg(np.array([1]), np.eye(3)[[1]], ["a", "b", "c"], indices=np.array([1, 2]))
