"""The Inside page's chart builders: what each mark stands for, what a click on it reports, its tooltip."""
from __future__ import annotations

import re

import numpy as np
import pytest

from dashboard import inside_charts as charts
from dashboard.explore_charts import class_colour
from tests.pages.helpers import SVG_NAMESPACE, dotted_squares, ringed_square, svg_marks, svg_tree


def test_unit_rows_pad_the_last_row_with_nan():
    grid = charts.unit_rows(np.arange(5.0), per_row=2)
    assert grid.shape == (3, 2)
    np.testing.assert_array_equal(grid.ravel()[:5], np.arange(5.0))
    assert np.isnan(grid[2, 1])
    assert charts.unit_rows(np.arange(3.0)).shape == (1, 3)   # a small layer: one row of its own width


def test_unit_strip_picks_each_unit_by_index_and_rings_the_selected_one():
    values = np.linspace(-1, 2, 40)
    svg = charts.unit_strip(values, "A1", selected=33, per_row=16)
    marks = svg_marks(svg)
    assert [pick for pick, _ in marks] == [str(unit) for unit in range(48)]   # 3 rows of 16, the last padded
    assert [tip for _, tip in marks[:40]] == [f"unit {unit}: {value:.3f}" for unit, value in enumerate(values)]
    assert {tip for _, tip in marks[40:]} == {"no unit"}
    assert ringed_square(svg) == "33"
    fills = [r.get("fill") for r in svg_tree(svg).iter(f"{SVG_NAMESPACE}rect") if "data-pick" in r.attrib]
    assert set(fills[40:]) == {"rgb(255,255,255)"} and "rgb(255,255,255)" not in fills[:40]
    assert ringed_square(charts.unit_strip(values, "A1")) is None


def test_clickable_map_picks_row_and_column_and_dots_the_kept_positions():
    values = np.arange(12, dtype=float).reshape(3, 4) / 10
    kept = np.zeros((3, 4), dtype=bool)
    kept[2, 1] = kept[0, 3] = True
    svg = charts.clickable_map(values, "map", selected=(1, 2), kept=kept)
    marks = svg_marks(svg)
    assert marks[6] == ("1,2", "row 1, col 2: 0.600")
    assert [pick for pick, _ in marks] == [f"{r},{c}" for r in range(3) for c in range(4)]
    assert ringed_square(svg) == "1,2"
    assert dotted_squares(svg) == {"2,1", "0,3"}
    assert "kept by max-pooling" in svg


def test_layer_maps_draw_the_same_images_in_every_panel_with_their_class_and_index():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 1, 0])
    indices = np.array([4, 17, 230, 1234, 9999])
    coords = [rng.random((5, 2)) for _ in range(3)]
    ratios = [np.array([0.3, 0.2]), np.array([0.4, 0.25]), np.array([0.1, 0.05])]
    svg = charts.layer_maps(["input", "hidden 1", "logits"], coords, ratios, labels, indices,
                            [str(d) for d in range(10)])
    root = svg_tree(svg)
    panels = [area for area in root.iter(f"{SVG_NAMESPACE}svg") if "data-zoom-area" in area.attrib]
    assert len(panels) == 3
    for area in panels:
        points = list(area.iter(f"{SVG_NAMESPACE}circle"))
        assert [p.get("data-pick") for p in points] == ["0", "1", "2", "3", "4"]
        assert [p.findtext(f"{SVG_NAMESPACE}title") for p in points] == [
            "class 0 · image #4", "class 1 · image #17", "class 2 · image #230", "class 1 · image #1234",
            "class 0 · image #9999"]
        assert [p.get("class") for p in points] == [f"g{label}" for label in labels]
    # a panel's points keep the order of its coordinates: the highest x is the rightmost point
    xs = [float(p.get("cx")) for p in panels[1].iter(f"{SVG_NAMESPACE}circle")]
    assert int(np.argmax(xs)) == int(np.argmax(coords[1][:, 0]))
    texts = [t.text for t in root.iter(f"{SVG_NAMESPACE}text")]
    assert texts[:2] == ["input", "PC1+PC2: 50% of variance"] and "PC1+PC2: 65% of variance" in texts
    colours = dict(re.findall(r"\.g(-?\d+)\{fill:(#[0-9a-fA-F]+)\}", root.findtext(f"{SVG_NAMESPACE}style")))
    assert colours == {str(c): class_colour(c) for c in (0, 1, 2)}


def test_layer_maps_need_one_index_per_point():
    with pytest.raises(ValueError):
        charts.layer_maps(["input"], [np.zeros((3, 2))], [np.array([0.5, 0.1])], np.array([0, 1, 2]),
                          np.array([1, 2]), ["0", "1", "2"])
