"""Clickable charts as SVG for :func:`dashboard.svg_picker.svg_picker`: numbers in, a string out.

Each mark a reader can click carries ``data-pick`` (what the page gets back) and a tooltip (its
``<title>``). Two kinds of chart:

* :func:`scatter_panels`: points coloured by class in one or more panels side by side (Explore's
  2-D map, Inside's map of every layer). Each panel can be zoomed and panned; the legend's
  entries hide and show a class. Colours and the point size are set once in a ``<style>``, so a
  point costs its position, its pick and its tooltip (about 80 bytes: 5,000 points are 0.4 MB).
* :func:`square_grid`: values as coloured squares on a grid (Inside's units and feature-map
  pixels), with a colour bar, the picked square ringed, and optional dots on marked squares.

Pure functions, no Streamlit.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .figures import colour_image
from .svg_charts import svg_box

PANEL_SIDE = 300      # a scatter panel's drawing, in the SVG's units (it scales with its column)
PANEL_GAP = 16
LEGEND_HEIGHT = 26
TITLE_HEIGHT = 34
POINT_RADIUS = 2.6
POINT_OPACITY = 0.75
SELECTED_COLOUR = "#ff7f0e"
KEPT_COLOUR = "#ff4b4b"


@dataclass(frozen=True)
class Panel:
    """One scatter panel: ``coords`` (n, 2) in data units, its title and the note under it."""

    coords: np.ndarray
    title: str
    subtitle: str = ""


def _fit(values: np.ndarray, low_px: float, high_px: float, flip: bool = False) -> np.ndarray:
    """``values`` mapped linearly onto ``[low_px, high_px]`` (reversed when ``flip``), 4% padding."""
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    span = high - low if high > low else 1.0
    pad = 0.04 * span
    position = (values - low + pad) / (span + 2 * pad)
    if flip:
        position = 1 - position
    return low_px + position * (high_px - low_px)


def scatter_panels(panels: Sequence[Panel], labels: np.ndarray, picks: Sequence[str], tips: Sequence[str],
                   class_names: Sequence[str], colours: Sequence[str], x_title: str = "", y_title: str = "",
                   side: float = PANEL_SIDE, other_name: str = "other") -> str:
    """Points in ``panels`` side by side (the same points in each), coloured by ``labels``.

    Point ``i`` carries ``picks[i]`` (returned when clicked) and ``tips[i]`` (its tooltip) in every
    panel; ``colours[c]`` is class ``c``'s colour (the last one is for labels outside the names,
    shown as ``other_name``). Each panel is a zoom area; the legend under them hides and shows a class.
    """
    labels = np.asarray(labels, dtype=int)
    n = len(labels)
    if len(picks) != n or len(tips) != n or any(len(panel.coords) != n for panel in panels):
        raise ValueError("every panel needs one point per label, pick and tooltip")
    point_classes = np.where((labels >= 0) & (labels < len(class_names)), labels, -1).tolist()   # -1: other
    classes = sorted(set(point_classes))
    width = len(panels) * side + (len(panels) - 1) * PANEL_GAP + (24 if y_title else 0)
    left = 24 if y_title else 0
    top = TITLE_HEIGHT if any(panel.title or panel.subtitle for panel in panels) else 4
    bottom = top + side
    height = bottom + (22 if x_title else 0) + LEGEND_HEIGHT
    style = "".join(f".g{label}{{fill:{colours[label] if label >= 0 else colours[-1]}}}" for label in classes)
    parts = [f"<style>circle{{r:var(--point-r,{POINT_RADIUS});fill-opacity:{POINT_OPACITY}}}{style}</style>"]
    escaped_tips = [html.escape(tip) for tip in tips]
    escaped_picks = [html.escape(pick, quote=True) for pick in picks]
    for number, panel in enumerate(panels):
        x0 = left + number * (side + PANEL_GAP)
        coords = np.asarray(panel.coords, dtype=np.float64)
        xs, ys = _fit(coords[:, 0], 0, side), _fit(coords[:, 1], 0, side, flip=True)
        if panel.title:
            parts.append(f'<text x="{x0 + side / 2:g}" y="14" text-anchor="middle" font-weight="600">'
                         f"{html.escape(panel.title)}</text>")
        if panel.subtitle:
            parts.append(f'<text x="{x0 + side / 2:g}" y="28" text-anchor="middle" font-size="11">'
                         f"{html.escape(panel.subtitle)}</text>")
        parts.append(f'<rect x="{x0:g}" y="{top:g}" width="{side:g}" height="{side:g}" fill="#fafafa" '
                     f'stroke="#e6e6e6"/>')
        points = "".join(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" class="g{label}" data-pick="{pick}"><title>{tip}</title></circle>'
            for x, y, label, pick, tip in zip(xs, ys, point_classes, escaped_picks, escaped_tips, strict=True))
        parts.append(f'<svg x="{x0:g}" y="{top:g}" width="{side:g}" height="{side:g}" viewBox="0 0 {side:g} {side:g}" '
                     f'data-zoom-area="" data-point-size="{POINT_RADIUS}">{points}</svg>')
    if x_title:
        parts.append(f'<text x="{left + (width - left) / 2:g}" y="{bottom + 16:g}" text-anchor="middle">'
                     f"{html.escape(x_title)}</text>")
    if y_title:
        middle = top + side / 2
        parts.append(f'<text x="12" y="{middle:g}" text-anchor="middle" transform="rotate(-90 12 {middle:g})">'
                     f"{html.escape(y_title)}</text>")
    legend_y = height - 8
    step = min(70.0, (width - left) / max(len(classes), 1))
    for number, label in enumerate(classes):
        x = left + number * step
        name = class_names[label] if label >= 0 else other_name
        parts.append(f'<g data-toggle="g{label}"><title>click to hide or show {html.escape(str(name))}</title>'
                     f'<rect x="{x:g}" y="{legend_y - 14:g}" width="{step - 4:g}" height="18" fill="transparent"/>'
                     f'<circle cx="{x + 6:g}" cy="{legend_y - 5:g}" class="g{label}" style="r:5"/>'
                     f'<text x="{x + 15:g}" y="{legend_y:g}">{html.escape(str(name))}</text></g>')
    return svg_box(width, height, "click a point; Ctrl + wheel to zoom, drag to pan, double-click to reset", parts)


def _colour_bar(x: float, top: float, height: float, scale: str, low: float, high: float) -> list[str]:
    """A vertical colour bar from ``low`` (bottom) to ``high`` (top), labelled at both ends."""
    steps = 24
    rgb = colour_image(np.linspace(high, low, steps)[:, None], scale, low, high)
    step = height / steps
    parts = [f'<rect x="{x:g}" y="{top + i * step:.1f}" width="10" height="{step + 0.3:.1f}" '
             f'fill="rgb({r},{g},{b})"/>' for i, (r, g, b) in enumerate(rgb[:, 0].tolist())]
    parts += [f'<text x="{x + 14:g}" y="{top + 8:g}" font-size="10">{high:.3g}</text>',
              f'<text x="{x + 14:g}" y="{top + height:g}" font-size="10">{low:.3g}</text>']
    return parts


def square_grid(values: np.ndarray, title: str, picks: Sequence[str] | None, tips: Sequence[str], scale: str = "viridis",
                selected: int | None = None, marked: np.ndarray | None = None, marked_name: str = "",
                cell: float = 18, gap: float = 1, max_width: float | None = None) -> str:
    """A 2-D array of values as squares (row 0 on top), coloured on ``scale`` ("viridis", or
    "signed": blue < 0 < red); square ``i`` (in row-major order) carries ``picks[i]`` (none are
    clickable when ``picks`` is None) and ``tips[i]``.

    ``selected`` (a flat index) is ringed; ``marked`` (a boolean array of the same shape) puts a
    dot on its squares, named ``marked_name`` in a note under the grid. Squares are ``cell`` apart
    with ``gap`` between them (0: a continuous picture).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"square_grid draws a 2-D array, got shape {values.shape}")
    rows, columns = values.shape
    if (picks is not None and len(picks) != values.size) or len(tips) != values.size:
        raise ValueError("square_grid needs one pick and one tooltip per value")
    pick_attributes = ([f' data-pick="{html.escape(pick, quote=True)}"' for pick in picks] if picks is not None
                       else [""] * values.size)
    finite = values[np.isfinite(values)]
    if scale == "signed":
        limit = float(np.max(np.abs(finite))) if finite.size else 1.0
        low, high = -(limit or 1.0), (limit or 1.0)
    else:
        low = float(finite.min()) if finite.size else 0.0
        high = float(max(finite.max(), low + 1e-6)) if finite.size else 1.0
    rgb = colour_image(values, scale, low, high).reshape(-1, 3).tolist()
    top = 22
    side = cell - gap   # a square's own side
    grid_width, grid_height = columns * cell, rows * cell
    note = 18 if marked is not None and marked.any() else 0
    width, height = grid_width + 46, top + grid_height + 4 + note
    parts = [f'<text x="0" y="14" font-weight="600">{html.escape(title)}</text>']
    for index, ((r, g, b), pick, tip) in enumerate(zip(rgb, pick_attributes, tips, strict=True)):
        row, column = divmod(index, columns)
        parts.append(f'<rect x="{column * cell:g}" y="{top + row * cell:g}" width="{side:g}" height="{side:g}" '
                     f'fill="rgb({r},{g},{b})"{pick}><title>{html.escape(tip)}</title></rect>')
    if marked is not None:
        for row, column in zip(*np.nonzero(marked), strict=True):
            parts.append(f'<circle cx="{column * cell + side / 2:g}" cy="{top + row * cell + side / 2:g}" '
                         f'r="{max(1.5, cell / 7):g}" fill="{KEPT_COLOUR}" pointer-events="none"/>')
        if note:
            parts.append(f'<circle cx="5" cy="{height - 6:g}" r="3" fill="{KEPT_COLOUR}"/>'
                         f'<text x="12" y="{height - 2:g}" font-size="11">{html.escape(marked_name)}</text>')
    if selected is not None and 0 <= selected < values.size:
        row, column = divmod(selected, columns)
        parts.append(f'<rect x="{column * cell - 1.5:g}" y="{top + row * cell - 1.5:g}" width="{side + 3:g}" '
                     f'height="{side + 3:g}" fill="none" stroke="{SELECTED_COLOUR}" stroke-width="3" '
                     f'pointer-events="none" class="selected"/>')
    parts += _colour_bar(grid_width + 8, top, min(grid_height, 160), scale, low, high)
    return svg_box(width, height, title, parts, max_width=max_width or width)
