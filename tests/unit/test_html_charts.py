"""The HTML/SVG charts of the Inside page's Step: each value written out, bars and points placed by value."""
from __future__ import annotations

import re

import numpy as np
import pytest

from dashboard import html_charts


def widths(chart: str) -> list[float]:
    return [float(w) for w in re.findall(r"width:([\d.]+)%", chart)]


def test_signed_bars_put_negatives_left_and_scale_to_the_largest_magnitude():
    chart = html_charts.signed_bars([-0.5, 0.25, 0.0], ["a", "b<c", "d"], "A − Y", highlight=1)
    assert widths(chart) == [100.0, 50.0]              # |-0.5| fills its half, 0.25 half of it, 0 has no bar
    assert chart.index("justify-content:flex-end") < chart.index("justify-content:flex-start")   # left, then right
    assert "-0.5000" in chart and "+0.2500" in chart and "+0.0000" in chart
    assert "b&lt;c" in chart and "b<c" not in chart   # labels are escaped
    assert chart.count(html_charts.HIGHLIGHT_COLOUR) == 1


def test_log_bars_measure_decades_below_the_largest():
    chart = html_charts.log_bars([1e-2, 1e-6, 0.0], ["out", "mid", "in"], "sizes")
    shown = html_charts.LOG_DECADES_SHOWN
    assert widths(chart) == pytest.approx([100.0, 100 * (shown - 4) / shown, 0.5])
    assert "1.00e-02" in chart and "1.00e-06" in chart and "0.00e+00" in chart


def test_bars_need_one_label_per_value():
    with pytest.raises(ValueError, match="one label per value"):
        html_charts.signed_bars([1.0, 2.0], ["a"], "t")


def test_probability_table_writes_each_logit_and_probability_and_bars_them_from_0_to_1():
    chart = html_charts.probability_table(["0", "1", "<2>"], [1.23456, -2.0, 0.5], [0.7, 0.05, 0.25],
                                          "logit Z3", highlight=0)
    assert html_charts.numbers_in(chart) == ["1.235", "0.700000", "-2.000", "0.050000", "0.500", "0.250000"]
    assert widths(chart) == pytest.approx([70.0, 5.0, 25.0])
    assert "logit Z3" in chart and "softmax probability" in chart
    assert "&lt;2&gt;" in chart and "<2>" not in chart
    assert chart.count(html_charts.HIGHLIGHT_COLOUR) == 1


def test_probability_table_needs_one_logit_and_probability_per_class():
    with pytest.raises(ValueError, match="2 classes, 1 logits and 2 probabilities"):
        html_charts.probability_table(["a", "b"], [1.0], [0.5, 0.5], "logit")


def test_pixel_grid_shows_every_pixel_grey_and_writes_the_inked_ones():
    image = np.zeros((28, 28), dtype=np.uint8)
    image[3, 4], image[10, 20] = 255, 17
    grid = html_charts.pixel_grid(image, "#5, label <3>")
    cells = re.findall(r'<div title="row (\d+), col (\d+): (\d+)" style="background:rgb\((\d+),\d+,\d+\);color:(#\w+)">(\d*)</div>', grid)
    assert len(cells) == 784
    written = {(int(r), int(c)): text for r, c, _, _, _, text in cells if text}
    assert written == {(3, 4): "255", (10, 20): "17"}          # zeros are left blank
    colours = {(int(r), int(c)): (int(grey), ink) for r, c, _, grey, ink, _ in cells}
    assert colours[(3, 4)] == (255, "#000") and colours[(10, 20)] == (17, "#fff") and colours[(0, 0)] == (0, "#fff")
    assert "#5, label &lt;3&gt;" in grid


def test_pixel_grid_needs_a_2d_image():
    with pytest.raises(ValueError, match="2-D image"):
        html_charts.pixel_grid(np.zeros(784), "flat")


def test_share_bars_compare_sets_of_different_sizes_by_share():
    chart = html_charts.share_bars(["a", "b"], [("train", [30, 10], "#111111"), ("test", [5, 5], "#222222")])
    # shares: train 75% / 25%, test 50% / 50%; the largest (75%) fills its column
    assert widths(chart) == pytest.approx([100.0, 100 * 50 / 75, 100 * 25 / 75, 100 * 50 / 75], abs=0.05)
    assert html_charts.numbers_in(chart) == ["30 · 75.0%", "5 · 50.0%", "10 · 25.0%", "5 · 50.0%"]
    assert "train (40)" in chart and "test (10)" in chart


def test_share_bars_need_one_count_per_label():
    with pytest.raises(ValueError, match="one count per label"):
        html_charts.share_bars(["a", "b"], [("train", [1], "#111111")])
