"""Charts as inline SVG (for ``st.markdown(..., unsafe_allow_html=True)``): numbers in, a string out.

For charts that need no zoom, drawn once (Explore's) or redrawn on every click (Inside's Step): the browser lays out a
few dozen SVG shapes, where a Plotly chart costs it a layout, axes and event handlers each
(about 70 ms apiece on two cores, on a page's first visit). Every value stays readable: on each
bar's or box's tooltip (its ``<title>``: inline SVG keeps them, ``st.html`` would drop the SVG
and ``st.image`` the tooltips), and on the axes. The picture scales to its column's width.
"""
from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np

TEXT_COLOUR = "#31333f"   # Streamlit's light theme text
GRID_COLOUR = "#e6e6e6"
BAR_COLOUR = "#636efa"
WIDTH, HEIGHT = 600, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 590, 12, 270


def _svg(parts: list[str], title: str, x_title: str, y_title: str) -> str:
    middle_y = (TOP + BOTTOM) / 2
    return svg_box(WIDTH, HEIGHT, title, [
        *parts, f'<text x="{(LEFT + RIGHT) / 2}" y="{HEIGHT - 4}" text-anchor="middle">{html.escape(x_title)}</text>',
        f'<text x="14" y="{middle_y}" text-anchor="middle" transform="rotate(-90 14 {middle_y})">'
        f"{html.escape(y_title)}</text>"])


def svg_box(width: float, height: float, title: str, parts: list[str], max_width: float | None = None,
            left: float = 0) -> str:
    """An SVG root of ``width`` x ``height`` (at most ``max_width`` pixels wide, its own width by
    default, narrower with its column) in the text style of this module's charts, ``title`` its
    tooltip, holding ``parts``; its drawing starts at x = ``left``."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left:g} 0 {width:g} {height:g}" '
            f'style="width:100%;max-width:{max_width or width:g}px;height:auto" font-family="sans-serif" font-size="12" '
            f'fill="{TEXT_COLOUR}"><title>{html.escape(title)}</title>' + "".join(parts) + "</svg>")


def _decades(counts: np.ndarray) -> tuple[int, int]:
    """The powers of ten a log count axis spans for the positive ``counts`` (at least one decade)."""
    positive = counts[counts > 0]
    low = math.floor(math.log10(positive.min())) if positive.size else 0
    return low, max(math.ceil(math.log10(positive.max())) if positive.size else 1, low + 1)


def _histogram_bars(counts: np.ndarray, edges: np.ndarray, x: Callable[[float], float], y: Callable[[float], float],
                    bottom: float, colour: str, tip: str, unit: str) -> list[str]:
    """One ``<rect>`` per non-empty bin from ``bottom`` up to ``y(count)``, its range and count on
    its tooltip (``tip`` in front)."""
    bars = []
    for count, start, end in zip(counts, edges[:-1], edges[1:], strict=True):
        if count <= 0:
            continue
        left, right = x(start), x(end)
        text = html.escape(f"{tip}values {start:.3g} to {end:.3g}: {int(count):,} {unit}")
        bars.append(f'<rect x="{left + 0.5:.1f}" y="{y(count):.1f}" width="{max(right - left - 1, 0.5):.1f}" '
                    f'height="{bottom - y(count):.1f}" fill="{colour}"><title>{text}</title></rect>')
    return bars


def _count_label(value: float) -> str:
    """1, 10, 100, 1k, 10k, 100k, 1M, ... for the decades of a log axis."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def log_histogram(counts: Sequence[int] | np.ndarray, edges: Sequence[float] | np.ndarray, title: str,
                  x_title: str = "pixel value", y_title: str = "pixels (log scale)") -> str:
    """A histogram with counts on a log axis (one grid line per decade); an empty bin has no bar."""
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if len(edges) != len(counts) + 1 or not len(counts):
        raise ValueError(f"expected one more edge than counts, got {len(edges)} edges for {len(counts)} counts")
    low, high = _decades(counts)

    def x(value: float) -> float:
        return LEFT + (RIGHT - LEFT) * (value - edges[0]) / max(edges[-1] - edges[0], 1e-12)

    def y(count: float) -> float:
        return BOTTOM - (BOTTOM - TOP) * (math.log10(count) - low) / (high - low)

    parts = []
    for decade in range(low, high + 1):
        level = y(10.0 ** decade)
        parts.append(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{level:.1f}" y2="{level:.1f}" stroke="{GRID_COLOUR}"/>'
                     f'<text x="{LEFT - 6}" y="{level + 4:.1f}" text-anchor="end">{_count_label(10.0 ** decade)}</text>')
    for tick in nice_ticks(edges[0], edges[-1]):
        parts.append(f'<text x="{x(tick):.1f}" y="{BOTTOM + 16}" text-anchor="middle">{tick:g}</text>')
    parts += _histogram_bars(counts, edges, x, y, BOTTOM, BAR_COLOUR, "", "pixels")
    parts.append(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{BOTTOM}" y2="{BOTTOM}" stroke="{TEXT_COLOUR}"/>')
    return _svg(parts, title, x_title, y_title)


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick values within ``low`` to ``high``, about ``target`` of them: steps of 1, 2 or 5
    times a power of ten."""
    span = max(high - low, 1e-12)
    power = 10.0 ** math.floor(math.log10(span / target))
    step = min((m * power for m in (1, 2, 5, 10)), key=lambda candidate: abs(span / candidate - target))
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def box_plot(names: Sequence[str], q1: Sequence[float] | np.ndarray, median: Sequence[float] | np.ndarray,
             q3: Sequence[float] | np.ndarray, lower: Sequence[float] | np.ndarray, upper: Sequence[float] | np.ndarray,
             mean: Sequence[float] | np.ndarray, colours: Sequence[str], title: str, x_title: str, y_title: str) -> str:
    """Tukey box plots from precomputed statistics, one per name: the box from ``q1`` to ``q3`` with
    the median across it, whiskers from ``lower`` to ``upper``, the mean as a dashed line. A group
    whose statistics are NaN (no data) keeps its place, empty."""
    stats = np.array([q1, median, q3, lower, upper, mean], dtype=np.float64)
    if stats.shape[1] != len(names) or len(colours) != len(names):
        raise ValueError(f"expected statistics and a colour for each of the {len(names)} groups")
    present = cast(np.ndarray, ~np.isnan(stats).any(axis=0))  # stats is 2-D: one flag per group, not a scalar
    low = float(np.min(stats[3, present])) if present.any() else 0.0
    high = float(np.max(stats[4, present])) if present.any() else 1.0
    ticks = nice_ticks(low, high)
    slot = (RIGHT - LEFT) / max(len(names), 1)

    def y(value: float) -> float:
        return BOTTOM - (BOTTOM - TOP) * (value - low) / max(high - low, 1e-12)

    parts = []
    for tick in ticks:
        parts.append(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GRID_COLOUR}"/>'
                     f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for index, name in enumerate(names):
        centre = LEFT + slot * (index + 0.5)
        parts.append(f'<text x="{centre:.1f}" y="{BOTTOM + 16}" text-anchor="middle">{html.escape(str(name))}</text>')
        if not present[index]:
            continue
        first, middle, third, bottom, top, average = stats[:, index]
        half = slot * 0.3
        colour = colours[index]
        tip = (f"{name}: median {middle:.1f}, box {first:.1f} to {third:.1f}, whiskers {bottom:.1f} to {top:.1f}, "
               f"mean {average:.1f}")
        parts.append(
            f'<g stroke="{colour}" stroke-width="1.5"><title>{html.escape(tip)}</title>'
            f'<line x1="{centre:.1f}" x2="{centre:.1f}" y1="{y(top):.1f}" y2="{y(third):.1f}"/>'
            f'<line x1="{centre:.1f}" x2="{centre:.1f}" y1="{y(first):.1f}" y2="{y(bottom):.1f}"/>'
            f'<line x1="{centre - half / 2:.1f}" x2="{centre + half / 2:.1f}" y1="{y(top):.1f}" y2="{y(top):.1f}"/>'
            f'<line x1="{centre - half / 2:.1f}" x2="{centre + half / 2:.1f}" y1="{y(bottom):.1f}" y2="{y(bottom):.1f}"/>'
            f'<rect x="{centre - half:.1f}" y="{y(third):.1f}" width="{2 * half:.1f}" height="{y(first) - y(third):.1f}" '
            f'fill="{colour}" fill-opacity="0.3"/>'
            f'<line x1="{centre - half:.1f}" x2="{centre + half:.1f}" y1="{y(middle):.1f}" y2="{y(middle):.1f}" stroke-width="2.5"/>'
            f'<line x1="{centre - half:.1f}" x2="{centre + half:.1f}" y1="{y(average):.1f}" y2="{y(average):.1f}" '
            f'stroke-dasharray="3 2"/></g>')
    parts.append(f'<line x1="{LEFT}" x2="{RIGHT}" y1="{BOTTOM}" y2="{BOTTOM}" stroke="{TEXT_COLOUR}"/>')
    return _svg(parts, title, x_title, y_title)


# The Inside page's Step: a line of percentages, redrawn on every click.
LINE_COLOUR = "#2ca02c"
SVG_WIDTH, SVG_HEIGHT = 600, 220
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 584, 12, 186
MAX_STEP_TICKS = 20


def percent_line(steps: Sequence[int], percents: Sequence[float], title: str) -> str:
    """A line of percentages (0-100) over steps as SVG, to show inline (``st.html`` keeps no SVG, and
    in ``st.image`` the tooltips do not show): y from 0 to 100 with a grid line every 25, one tick per
    step (fewer past ``MAX_STEP_TICKS``), each point's value on its tooltip and the last one written
    beside it."""
    steps = [int(step) for step in steps]
    percents = [float(value) for value in percents]
    if len(steps) != len(percents) or not steps:
        raise ValueError(f"expected as many steps as values (at least one), got {len(steps)} and {len(percents)}")
    first, last = steps[0], steps[-1]
    span = max(last - first, 1)

    def x(step: int) -> float:
        return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (step - first) / span

    def y(value: float) -> float:
        return PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * min(max(value, 0.0), 100.0) / 100

    parts = []
    for level in (0, 25, 50, 75, 100):
        parts.append(f'<line x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
                     f'stroke="{GRID_COLOUR}"/><text x="{PLOT_LEFT - 6}" y="{y(level) + 4:.1f}" text-anchor="end">'
                     f"{level}</text>")
    every = max(1, -(-len(steps) // MAX_STEP_TICKS))
    for step in steps[::every]:
        parts.append(f'<text x="{x(step):.1f}" y="{PLOT_BOTTOM + 16}" text-anchor="middle">{step}</text>')
    points = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in zip(steps, percents, strict=True))
    parts.append(f'<polyline points="{points}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
    for step, value in zip(steps, percents, strict=True):
        parts.append(f'<circle cx="{x(step):.1f}" cy="{y(value):.1f}" r="4" fill="{LINE_COLOUR}">'
                     f"<title>step {step}: {value:.2f}%</title></circle>")
    anchor = "end" if len(steps) > 1 else "start"
    label_y = y(percents[-1]) - 8 if y(percents[-1]) > PLOT_TOP + 16 else y(percents[-1]) + 18   # below when near the top
    parts.append(f'<text x="{x(last) + (-8 if anchor == "end" else 8):.1f}" y="{label_y:.1f}" '
                 f'text-anchor="{anchor}" font-weight="600">{percents[-1]:.2f}%</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}" width="{SVG_WIDTH}" '
            f'height="{SVG_HEIGHT}" font-family="sans-serif" font-size="12" fill="{TEXT_COLOUR}">'
            f"<title>{html.escape(title)}</title>" + "".join(parts)
            + f'<text x="{(PLOT_LEFT + PLOT_RIGHT) / 2}" y="{SVG_HEIGHT - 2}" text-anchor="middle">step</text></svg>')


# Preprocess's charts
PANEL_WIDTH, PANEL_GAP, PANEL_HEADING = RIGHT - LEFT, 36, 20


def log_histogram_panels(panels: Sequence[tuple[str, Sequence[int] | np.ndarray, Sequence[float] | np.ndarray, str]],
                         title: str, x_title: str = "pixel value", y_title: str = "pixels (log scale)",
                         unit: str = "pixels") -> str:
    """Histograms side by side, one panel per ``(name, counts, edges, colour)``, on one shared log
    count axis (sets of one size then compare bar for bar), each with its own value axis and its
    name above it. Each bar's panel, range and count on its tooltip; an empty bin has no bar."""
    if not panels:
        raise ValueError("expected at least one panel")
    checked = []
    for name, counts, edges, colour in panels:
        counts, edges = np.asarray(counts, dtype=np.float64), np.asarray(edges, dtype=np.float64)
        if len(edges) != len(counts) + 1 or not len(counts):
            raise ValueError(f"{name}: expected one more edge than counts, got {len(edges)} edges for {len(counts)} counts")
        if np.any(np.diff(edges) <= 0) or np.any(counts < 0):
            raise ValueError(f"{name}: expected increasing edges and counts of at least 0")
        checked.append((str(name), counts, edges, colour))
    low, high = _decades(np.concatenate([counts for _, counts, _, _ in checked]))
    top, bottom = TOP + PANEL_HEADING, BOTTOM + PANEL_HEADING
    width = LEFT + len(checked) * PANEL_WIDTH + (len(checked) - 1) * PANEL_GAP + WIDTH - RIGHT
    height = HEIGHT + PANEL_HEADING

    def y(count: float) -> float:
        return bottom - (bottom - top) * (math.log10(count) - low) / (high - low)

    parts = []
    for decade in range(low, high + 1):
        parts.append(f'<text x="{LEFT - 6}" y="{y(10.0 ** decade) + 4:.1f}" text-anchor="end">'
                     f"{_count_label(10.0 ** decade)}</text>")
    for index, (name, counts, edges, colour) in enumerate(checked):
        start_x = LEFT + index * (PANEL_WIDTH + PANEL_GAP)
        centre = start_x + PANEL_WIDTH / 2

        def x(value: float, start_x: float = start_x, edges: np.ndarray = edges) -> float:
            return start_x + PANEL_WIDTH * (value - edges[0]) / (edges[-1] - edges[0])

        parts.append(f'<text x="{centre:.1f}" y="{TOP + 4}" text-anchor="middle" font-weight="600">{html.escape(name)}</text>')
        for decade in range(low, high + 1):
            level = y(10.0 ** decade)
            parts.append(f'<line x1="{start_x}" x2="{start_x + PANEL_WIDTH}" y1="{level:.1f}" y2="{level:.1f}" '
                         f'stroke="{GRID_COLOUR}"/>')
        for tick in nice_ticks(edges[0], edges[-1]):
            parts.append(f'<text x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle">{tick:g}</text>')
        parts += _histogram_bars(counts, edges, x, y, bottom, colour, f"{name}: ", unit)
        parts.append(f'<line x1="{start_x}" x2="{start_x + PANEL_WIDTH}" y1="{bottom}" y2="{bottom}" stroke="{TEXT_COLOUR}"/>'
                     f'<text x="{centre:.1f}" y="{height - 4}" text-anchor="middle">{html.escape(x_title)}</text>')
    middle_y = (top + bottom) / 2
    parts.append(f'<text x="14" y="{middle_y}" text-anchor="middle" transform="rotate(-90 14 {middle_y})">'
                 f"{html.escape(y_title)}</text>")
    return svg_box(width, height, title, parts)
