"""Small charts as plain HTML (for ``st.html``): numbers in, a string out (SVG ones: :mod:`dashboard.svg_charts`).

For the small charts that change on every click (the Inside page's Step): a Plotly chart
costs the browser about 0.1 s to draw each time, a dozen ``<div>`` bars or one SVG line almost
nothing. Every value is written out (beside its bar, or on its point's tooltip and the last point).
"""
from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

import numpy as np

BAR_COLOUR = "#1f77b4"
HIGHLIGHT_COLOUR = "#ff7f0e"
NORM_COLOUR = "#9467bd"
BAR_HEIGHT = "0.85em"
# A log-scale bar's length counts decades above this many below the largest value; smaller ones get a sliver.
LOG_DECADES_SHOWN = 8


def _bar(percent: float, colour: str, align: str) -> str:
    return (f'<div style="display:flex;justify-content:{align}"><div style="width:{percent:.1f}%;'
            f'height:{BAR_HEIGHT};background:{colour};border-radius:2px"></div></div>')


def _chart(title: str, rows: list[str], columns: str) -> str:
    heading = f'<div style="font-weight:600;margin-bottom:0.3em">{html.escape(title)}</div>' if title else ""
    return ('<div style="font-size:0.85rem;line-height:1.25">' + heading +
            f'<div style="display:grid;grid-template-columns:{columns};align-items:center;gap:3px 8px">'
            + "".join(rows) + "</div></div>")


def _label(text: str, bold: bool = False) -> str:
    weight = "font-weight:600;" if bold else ""
    return f'<span style="{weight}white-space:nowrap">{html.escape(text)}</span>'


def _number(text: str) -> str:
    return f'<span style="font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap">{text}</span>'


def signed_bars(values: Sequence[float] | np.ndarray, labels: Sequence[str], title: str,
                highlight: int | None = None, decimals: int = 4) -> str:
    """One bar per label, left of a centre line for a value below 0 and right of it above
    (lengths on one linear scale: the largest ``|value|`` fills its half); ``highlight`` in orange.

    ``values`` and ``labels`` have the same length (a ValueError otherwise).
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if len(values) != len(labels):
        raise ValueError(f"expected one label per value, got {len(labels)} labels for {len(values)} values")
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    scale = largest if largest > 0 else 1.0
    rows = []
    for index, (value, label) in enumerate(zip(values, labels, strict=True)):
        colour = HIGHLIGHT_COLOUR if index == highlight else BAR_COLOUR
        percent = 100 * abs(float(value)) / scale
        negative = _bar(percent, colour, "flex-end") if value < 0 else "<div></div>"
        positive = _bar(percent, colour, "flex-start") if value > 0 else "<div></div>"
        rows.append(_label(str(label), bold=index == highlight)
                    + f'<div style="border-right:1px solid #999">{negative}</div>' + positive
                    + _number(f"{float(value):+.{decimals}f}"))
    return _chart(title, rows, "max-content 1fr 1fr max-content")


def log_bars(values: Sequence[float] | np.ndarray, labels: Sequence[str], title: str) -> str:
    """One bar per label, its length on a log scale (decades above ``LOG_DECADES_SHOWN`` below the
    largest value), each value written out; for sizes spanning many orders of magnitude."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if len(values) != len(labels):
        raise ValueError(f"expected one label per value, got {len(labels)} labels for {len(values)} values")
    positive = values[values > 0]
    top = math.log10(float(positive.max())) if positive.size else 0.0
    floor = top - LOG_DECADES_SHOWN
    rows = []
    for value, label in zip(values, labels, strict=True):
        decades = math.log10(value) - floor if value > 0 else 0.0
        percent = max(0.5, 100 * min(decades, LOG_DECADES_SHOWN) / LOG_DECADES_SHOWN)
        rows.append(_label(str(label)) + _bar(percent, NORM_COLOUR, "flex-start") + _number(f"{float(value):.2e}"))
    return _chart(title, rows, "max-content 1fr max-content")


def probability_table(labels: Sequence[str], logits: Sequence[float] | np.ndarray,
                      probabilities: Sequence[float] | np.ndarray, logit_title: str, highlight: int | None = None) -> str:
    """The output layer as a table: per class its logit and its softmax probability, written out
    and drawn as a bar from 0 to 1; the row ``highlight`` (the answer) in bold and orange."""
    logits = np.asarray(logits, dtype=np.float64).ravel()
    probabilities = np.asarray(probabilities, dtype=np.float64).ravel()
    if not len(labels) == len(logits) == len(probabilities):
        raise ValueError(f"expected one logit and one probability per class, got {len(labels)} classes, "
                         f"{len(logits)} logits and {len(probabilities)} probabilities")
    header = _label("class", bold=True) + _label(logit_title, bold=True) + _label("softmax probability", bold=True) + "<span></span>"
    rows = [header]
    for index, (label, logit, probability) in enumerate(zip(labels, logits, probabilities, strict=True)):
        colour = HIGHLIGHT_COLOUR if index == highlight else BAR_COLOUR
        percent = 100 * min(max(float(probability), 0.0), 1.0)
        rows.append(_label(str(label), bold=index == highlight) + _number(f"{float(logit):.3f}")
                    + _bar(percent, colour, "flex-start") + _number(f"{float(probability):.6f}"))
    return _chart("", rows, "max-content max-content 1fr max-content")


def share_bars(labels: Sequence[str], sets: Sequence[tuple[str, Sequence[int] | np.ndarray, str]]) -> str:
    """Counts per label for one or more sets (``(name, counts, colour)``), side by side: each bar is
    the label's share of its set, on one scale for every set (the largest share fills its column),
    so sets of different sizes compare; each count and share is written beside its bar."""
    series = [(name, np.asarray(counts, dtype=np.int64).ravel(), colour) for name, counts, colour in sets]
    if any(len(counts) != len(labels) for _, counts, _ in series):
        raise ValueError(f"expected one count per label ({len(labels)}) in every set")
    shares = [counts / max(int(counts.sum()), 1) for _, counts, _ in series]
    largest = max((float(share.max()) for share in shares if share.size), default=0.0) or 1.0
    rows = ["<span></span>" + "".join(_label(f"{name} ({int(counts.sum()):,})", bold=True) + "<span></span>"
                                      for name, counts, _ in series)]
    for index, label in enumerate(labels):
        cells = [_label(str(label))]
        for (_, counts, colour), share in zip(series, shares, strict=True):
            cells.append(_bar(100 * float(share[index]) / largest, colour, "flex-start")
                         + _number(f"{int(counts[index]):,} · {100 * float(share[index]):.1f}%"))
        rows.append("".join(cells))
    return _chart("", rows, "max-content" + " 1fr max-content" * len(series))


PIXEL_CELL_PX = 20
PIXEL_GRID_CLASS = "lab-pixels"   # its cells are square, the value centred


def pixel_grid(image: np.ndarray, title: str) -> str:
    """A greyscale image (0-255) as a grid of square cells, each its pixel's grey with the value
    written in (inked pixels only: 784 zeros would hide the shape); hover names row, column and value.

    HTML, not a chart: 784 written numbers cost a Plotly heatmap hundreds of SVG text elements
    to lay out, and this grid nothing but the browser's text layout."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {image.shape}")
    cells = []
    for row, values in enumerate(np.clip(np.rint(image), 0, 255).astype(int)):
        for column, value in enumerate(values):
            ink = "#000" if value >= 128 else "#fff"
            cells.append(f'<div title="row {row}, col {column}: {value}" style="background:rgb({value},{value},{value});'
                         f'color:{ink}">{value if value else ""}</div>')
    width = PIXEL_CELL_PX * image.shape[1]
    return (f"<style>.{PIXEL_GRID_CLASS} > div {{aspect-ratio:1;display:flex;align-items:center;"
            "justify-content:center;overflow:hidden}</style>"
            f'<div style="font-size:0.85rem;font-weight:600;margin-bottom:0.3em">{html.escape(title)}</div>'
            f'<div class="{PIXEL_GRID_CLASS}" style="display:grid;grid-template-columns:repeat({image.shape[1]},'
            f'minmax(0,1fr));width:{width}px;max-width:100%;font-size:7px;line-height:1;'
            f'font-variant-numeric:tabular-nums">{"".join(cells)}</div>')


def numbers_in(chart: str) -> list[str]:
    """Every number written out in a chart of this module, in order (for tests and checks)."""
    return re.findall(r"tabular-nums[^>]*>([^<]*)<", chart)
