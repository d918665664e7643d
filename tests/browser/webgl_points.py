"""Find and click points of WebGL (``scattergl``) Plotly traces, which have no SVG element per point.

Plotly draws a WebGL trace on a canvas, so a test cannot click a ``.point``: it asks the plot
for a point's position on screen (the axes' own data-to-pixel mapping) and clicks there.
"""
from __future__ import annotations

# The trace's point farthest (on screen) from every point of the plot's other traces, so that a
# click there picks that point and no neighbour; returns its page position and its customdata.
_ISOLATED_POINT = """(plot, traceIndex) => {
  const axis = (name, letter) => plot._fullLayout[letter + 'axis' + name.slice(1)];
  const screen = (trace) => {
    const xa = axis(trace.xaxis, 'x'), ya = axis(trace.yaxis, 'y');
    return Array.from(trace.x, (x, i) => [xa._offset + xa.d2p(x), ya._offset + ya.d2p(trace.y[i])]);
  };
  const chosen = plot._fullData[traceIndex];
  const others = plot._fullData.filter((t, i) => i !== traceIndex && t.xaxis === chosen.xaxis && t.x && t.x[0] !== null)
                               .flatMap(screen);
  const mine = screen(chosen);
  let best = 0, bestGap = -1;
  mine.forEach(([x, y], i) => {
    const gap = Math.min(Infinity, ...others.map(([u, v]) => Math.hypot(u - x, v - y)),
                         ...mine.filter((_, j) => j !== i).map(([u, v]) => Math.hypot(u - x, v - y)));
    if (gap > bestGap) { bestGap = gap; best = i; }
  });
  const box = plot.getBoundingClientRect();
  return {x: box.left + mine[best][0], y: box.top + mine[best][1], customdata: chosen.customdata[best]};
}"""

_POINT_POSITION = """(plot, [traceIndex, pointIndex]) => {
  const trace = plot._fullData[traceIndex];
  const xa = plot._fullLayout['xaxis' + trace.xaxis.slice(1)], ya = plot._fullLayout['yaxis' + trace.yaxis.slice(1)];
  const box = plot.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.d2p(trace.x[pointIndex]),
          y: box.top + ya._offset + ya.d2p(trace.y[pointIndex])};
}"""

_POINT_COUNT = """plot => plot._fullData.filter(t => t.type === 'scattergl' && t.x && t.x[0] !== null)
                                  .reduce((total, t) => total + t.x.length, 0)"""


def webgl_point_count(plot) -> int:
    """How many points the plot's WebGL traces hold (legend-only placeholder traces left out)."""
    return plot.evaluate(_POINT_COUNT)


def click_isolated_point(page, plot, trace_index: int = 0):
    """Click the point of trace ``trace_index`` that no other point crowds; return its customdata."""
    plot.scroll_into_view_if_needed()
    found = plot.evaluate(_ISOLATED_POINT, trace_index)
    page.mouse.move(found["x"], found["y"])
    page.mouse.click(found["x"], found["y"])
    return found["customdata"]


def click_point(page, plot, point_index: int, trace_index: int = 0) -> None:
    """Click point ``point_index`` of trace ``trace_index`` where the plot draws it."""
    plot.scroll_into_view_if_needed()
    found = plot.evaluate(_POINT_POSITION, [trace_index, point_index])
    page.mouse.move(found["x"], found["y"])
    page.mouse.click(found["x"], found["y"])
