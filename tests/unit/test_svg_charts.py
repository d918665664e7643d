"""Static SVG charts: bars and boxes placed by value, every value on a tooltip, bad input refused."""
import re

import numpy as np
import pytest

from dashboard import svg_charts


def rects(chart: str) -> list[dict[str, float]]:
    return [{k: float(v) for k, v in re.findall(r'(\w+)="([\d.]+)"', attrs)}
            for attrs in re.findall(r"<rect ([^>]*)>", chart)]


def test_log_histogram_bars_rise_one_step_per_decade_and_skip_empty_bins():
    chart = svg_charts.log_histogram([1, 10, 0, 1000], [0, 64, 128, 192, 256], "pixels <all>")
    bars = rects(chart)
    assert len(bars) == 3                                   # the empty bin has no bar
    heights = [bar["height"] for bar in bars]
    step = (svg_charts.BOTTOM - svg_charts.TOP) / 3         # decades 1 to 1000
    assert heights == pytest.approx([0.0, step, 3 * step], abs=0.11)
    assert re.findall(r"<title>(values[^<]*)</title>", chart) == [
        "values 0 to 64: 1 pixels", "values 64 to 128: 10 pixels", "values 192 to 256: 1,000 pixels"]
    assert ">1k</text>" in chart and ">100</text>" in chart   # one label per decade
    assert "pixels &lt;all&gt;" in chart


def test_log_histogram_needs_one_more_edge_than_counts():
    with pytest.raises(ValueError, match="one more edge than counts"):
        svg_charts.log_histogram([1, 2], [0, 1], "x")


def test_box_plot_places_each_box_by_its_quartiles_and_skips_an_empty_group():
    nan = float("nan")
    chart = svg_charts.box_plot(["a", "b", "c"], q1=[10, nan, 40], median=[20, nan, 50], q3=[30, nan, 60],
                                lower=[0, nan, 30], upper=[40, nan, 100], mean=[21, nan, 52],
                                colours=["#111111", "#222222", "#333333"], title="ink", x_title="class", y_title="ink")
    tips = re.findall(r"<title>([abc]: [^<]*)</title>", chart)
    assert tips == ["a: median 20.0, box 10.0 to 30.0, whiskers 0.0 to 40.0, mean 21.0",
                    "c: median 50.0, box 40.0 to 60.0, whiskers 30.0 to 100.0, mean 52.0"]
    boxes = rects(chart)
    scale = (svg_charts.BOTTOM - svg_charts.TOP) / 100       # the axis runs 0 to 100
    assert [box["height"] for box in boxes] == pytest.approx([20 * scale, 20 * scale], abs=0.11)
    assert boxes[0]["y"] == pytest.approx(svg_charts.BOTTOM - 30 * scale, abs=0.11)
    assert ">b</text>" in chart                              # the empty group keeps its place on the axis


def test_box_plot_needs_statistics_and_a_colour_per_group():
    with pytest.raises(ValueError, match="each of the 2 groups"):
        svg_charts.box_plot(["a", "b"], [1], [2], [3], [0], [4], [2], ["#000000", "#111111"], "t", "x", "y")


def test_nice_ticks_are_round_and_cover_the_range():
    assert svg_charts.nice_ticks(0, 255) == [0, 50, 100, 150, 200, 250]
    assert svg_charts.nice_ticks(3.2, 9.7, target=3) == [4, 6, 8]
    assert np.all(np.diff(svg_charts.nice_ticks(-0.013, 0.021)) > 0)


def test_percent_line_places_points_by_value_and_writes_the_last():
    chart = svg_charts.percent_line([0, 1, 2], [10.0, 50.0, 90.0], "P(class 7)")
    circles = [(float(x), float(y)) for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', chart)]
    top, bottom = svg_charts.PLOT_TOP, svg_charts.PLOT_BOTTOM
    assert [y for _, y in circles] == pytest.approx([bottom - (bottom - top) * p / 100 for p in (10, 50, 90)], abs=0.05)
    assert circles[0][0] == svg_charts.PLOT_LEFT and circles[-1][0] == svg_charts.PLOT_RIGHT
    assert "<title>step 1: 50.00%</title>" in chart and ">90.00%</text>" in chart


def test_percent_line_wants_one_value_per_step():
    with pytest.raises(ValueError, match="as many steps as values"):
        svg_charts.percent_line([0, 1], [10.0], "P")


def test_log_histogram_panels_share_one_log_axis_and_name_each_bar_by_its_panel():
    chart = svg_charts.log_histogram_panels(
        [("raw <0-255>", [1000, 0, 10], [0, 128, 192, 256], "#888888"), ("scaled", [1, 100], [-1.5, 0, 2.5], "#636efa")],
        "two sets")
    assert re.findall(r"<title>([^<]*pixels)</title>", chart) == [
        "raw &lt;0-255&gt;: values 0 to 128: 1,000 pixels", "raw &lt;0-255&gt;: values 192 to 256: 10 pixels",
        "scaled: values -1.5 to 0: 1 pixels", "scaled: values 0 to 2.5: 100 pixels"]
    bars = [{k: float(v) for k, v in re.findall(r'(\w+)="(-?[\d.]+)"', attrs)} for attrs in re.findall(r"<rect ([^>]*)>", chart)]
    step = (svg_charts.BOTTOM - svg_charts.TOP) / 3          # one axis for both: decades 1 to 1000
    assert [bar["height"] for bar in bars] == pytest.approx([3 * step, step, 0.0, 2 * step], abs=0.11)
    second = svg_charts.LEFT + svg_charts.PANEL_WIDTH + svg_charts.PANEL_GAP
    assert [bar["x"] for bar in bars[2:]] == pytest.approx([second + 0.5, second + 0.5 + svg_charts.PANEL_WIDTH * 0.375], abs=0.06)
    assert chart.count(">pixel value</text>") == 2 and ">pixels (log scale)</text>" in chart and ">1k</text>" in chart
    assert 'viewBox="0 0 ' + f"{second + svg_charts.PANEL_WIDTH + svg_charts.WIDTH - svg_charts.RIGHT:g} " in chart


def test_log_histogram_panels_refuse_bad_panels():
    with pytest.raises(ValueError, match="at least one panel"):
        svg_charts.log_histogram_panels([], "none")
    with pytest.raises(ValueError, match="b: expected one more edge than counts"):
        svg_charts.log_histogram_panels([("a", [1], [0, 1], "#000"), ("b", [1, 2], [0, 1], "#000")], "t")
    with pytest.raises(ValueError, match="increasing edges"):
        svg_charts.log_histogram_panels([("a", [1, 2], [0, 1, 1], "#000")], "t")
    with pytest.raises(ValueError, match="at least 0"):
        svg_charts.log_histogram_panels([("a", [1, -2], [0, 1, 2], "#000")], "t")
