"""The Inside page's figure builders: what each point stands for and what a click reports."""
from __future__ import annotations

import numpy as np

from dashboard import inside_charts as charts


def test_unit_strip_lays_units_in_rows_and_rings_the_selected_one():
    values = np.arange(40, dtype=float) - 20
    fig = charts.unit_strip(values, "Z", signed=True, selected=33, per_row=16)
    points = fig.data[0]
    assert list(points.customdata) == list(range(40))
    assert (points.x[33], points.y[33]) == (1, 2)
    assert fig.data[1].x == (1,) and fig.data[1].y == (2,)
    assert points.marker.cmin == -20 and points.marker.cmax == 20


def test_clickable_map_reports_row_and_column_and_marks_kept_positions():
    values = np.arange(12, dtype=float).reshape(3, 4)
    kept = np.zeros((3, 4), dtype=bool)
    kept[2, 1] = True
    fig = charts.clickable_map(values, "map", selected=(1, 2), kept=kept)
    assert list(fig.data[0].customdata[6]) == [1, 2]          # row 1, col 2
    assert fig.data[0].marker.color[6] == 6
    assert fig.data[1].x == (1,) and fig.data[1].y == (2,)


def test_layer_maps_put_each_stage_in_its_own_panel_coloured_by_label():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 1, 0])
    coords = [rng.random((5, 2)) for _ in range(3)]
    ratios = [np.array([0.3, 0.2])] * 3
    fig = charts.layer_maps_figure(["input", "hidden 1", "logits"], coords, ratios, labels, [str(d) for d in range(10)])
    panels = [trace for trace in fig.data if trace.customdata is not None]
    assert [trace.xaxis for trace in panels] == ["x", "x2", "x3"]
    np.testing.assert_allclose(panels[1].x, np.round(coords[1][:, 0], 3))
    assert [list(row) for row in panels[0].customdata] == [[i, int(label)] for i, label in enumerate(labels)]
    assert [a.text.split("<br>")[0] for a in fig.layout.annotations] == ["input", "hidden 1", "logits"]
    assert [trace.name for trace in fig.data if trace.customdata is None] == ["0", "1", "2"]   # the legend
