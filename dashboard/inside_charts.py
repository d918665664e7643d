"""Chart builders of the Inside page: numbers in (from nnlib.introspect / layer_survey), SVG out.

The charts a reader clicks (a layer's units, a feature map's pixels, the map of every layer) are
inline SVG drawn by :mod:`dashboard.pick_charts` and shown by :func:`dashboard.svg_picker.svg_picker`,
which returns the ``data-pick`` of the mark clicked. They were Plotly charts, and a tab opened
straight on the page had to load and evaluate Plotly's 4.7 MB browser script before drawing
anything; the page now draws no Plotly chart at all.

Pure functions, no Streamlit. What each mark's pick says:

* a unit: its index (``"17"``); the blank squares padding the last row carry indices past the
  last unit, which the page ignores;
* a feature-map pixel: ``"row,col"``;
* a map point: its position in the surveyed images (``"42"``).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .explore_charts import class_colour
from .pick_charts import Panel, scatter_panels, square_grid

UNITS_PER_ROW = 32


def unit_rows(values: np.ndarray, per_row: int = UNITS_PER_ROW) -> np.ndarray:
    """A layer's unit values in rows of ``per_row`` (fewer for a smaller layer), the last row
    padded with NaN (drawn blank)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    per_row = max(1, min(per_row, len(values)))
    grid = np.full(-(-len(values) // per_row) * per_row, np.nan)
    grid[:len(values)] = values
    return grid.reshape(-1, per_row)


def unit_strip(values: np.ndarray, title: str, selected: int | None = None, per_row: int = UNITS_PER_ROW) -> str:
    """A layer's units as squares coloured by value (Viridis), ``per_row`` to a row (the last
    row padded blank), unit ``selected`` ringed. Pick: the unit index."""
    grid = unit_rows(values, per_row)
    units = np.size(values)
    tips = [f"unit {unit}: {value:.3f}" if unit < units else "no unit" for unit, value in enumerate(grid.ravel().tolist())]
    return square_grid(grid, title, [str(unit) for unit in range(grid.size)], tips, selected=selected)


def clickable_map(values: np.ndarray, title: str, selected: tuple[int, int] | None = None,
                  kept: np.ndarray | None = None) -> str:
    """One 2-D feature map as squares (Viridis), pixel ``selected`` (row, col) ringed and the
    positions of ``kept`` (a boolean mask of the same shape) dotted as kept by max-pooling.
    Pick: ``"row,col"``."""
    values = np.asarray(values, dtype=np.float64)
    rows, cols = np.divmod(np.arange(values.size), values.shape[1])
    picks = [f"{row},{col}" for row, col in zip(rows.tolist(), cols.tolist(), strict=True)]
    tips = [f"row {row}, col {col}: {value:.3f}"
            for row, col, value in zip(rows.tolist(), cols.tolist(), values.ravel().tolist(), strict=True)]
    flat = None if selected is None else selected[0] * values.shape[1] + selected[1]
    return square_grid(values, title, picks, tips, selected=flat, marked=kept, marked_name="kept by max-pooling")


def share_note(ratio: np.ndarray) -> str:
    """How much of a layer's variance its map's two axes hold."""
    return f"PC1+PC2: {100 * float(np.sum(ratio)):.0f}% of variance"


def layer_maps(stage_names: Sequence[str], coords: Sequence[np.ndarray], ratios: Sequence[np.ndarray],
               labels: np.ndarray, indices: np.ndarray, class_names: Sequence[str]) -> str:
    """Each stage's 2-D PCA map of the same images side by side, coloured by label.

    Point ``i`` is surveyed image ``i`` (``indices[i]`` in its image set) in every panel. Pick:
    ``"i"``; tooltip: its class and image index.
    """
    labels = np.asarray(labels, dtype=int)
    panels = [Panel(points, name, share_note(ratio)) for name, points, ratio in zip(stage_names, coords, ratios,
                                                                                      strict=True)]
    tips = [f"class {class_names[label] if 0 <= label < len(class_names) else '?'} · image #{index}"
            for label, index in zip(labels.tolist(), np.asarray(indices).tolist(), strict=True)]
    colours = [class_colour(c) for c in range(len(class_names))] + [class_colour(-1)]
    return scatter_panels(panels, labels, [str(i) for i in range(len(labels))], tips, class_names, colours)
