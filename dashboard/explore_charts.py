"""Figure builders of the Explore page: numbers in (from nnlib.analysis), SVG, HTML or pictures out.

Grids of images are pictures (:mod:`dashboard.montage`): a browser shows them at no cost, where a
chart of tiles takes it a moment per draw. Charts are SVG or HTML, every value on a tooltip; the
2-D map is clicked (:mod:`dashboard.svg_picker`), so the page loads no chart library in the
browser. Pure functions, no Streamlit: each can be called and inspected in a test.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from plotly.colors import qualitative

from nnlib.analysis import BoxStats, Map2D

from .html_charts import share_bars
from .montage import Montage, montage
from .pick_charts import Panel, scatter_panels, square_grid
from .svg_charts import BAR_COLOUR, box_plot, log_histogram

CLASS_COLOURS = qualitative.Plotly  # ten distinct colours, one per class
UNLABELLED_COLOUR = "#888888"
MAP_SIDE = 520  # the 2-D map's drawing, in the SVG's units (it scales with its column)


def class_colour(index: int) -> str:
    """The colour of class ``index`` in every chart of the page (grey for unlabelled)."""
    return UNLABELLED_COLOUR if index < 0 else CLASS_COLOURS[index % len(CLASS_COLOURS)]


TEST_SET_COLOUR = "#8fb8ff"   # beside the training set's bars, lighter


def class_balance_html(class_names: Sequence[str], train_counts: np.ndarray, test_counts: np.ndarray | None) -> str:
    """Images per class in the training and test sets, each bar the class's share of its set and
    every count and share written out (HTML, :func:`dashboard.html_charts.share_bars`)."""
    sets = [("train", train_counts, BAR_COLOUR)]
    if test_counts is not None:
        sets.append(("test", test_counts, TEST_SET_COLOUR))
    return share_bars(list(class_names), sets)


CLASS_MEANS_PER_ROW = 10
CLASS_MEAN_SCALE = 3
UNUSUAL_SCALE = 2


def class_means_picture(class_names: Sequence[str], means: np.ndarray) -> Montage:
    """The average image of every class, ten to a row, titled by class: the 'typical' shape the
    network can latch onto. Grey levels are the means rounded (0 black, 255 white)."""
    return montage(means, columns=min(len(means), CLASS_MEANS_PER_ROW), titles=[str(n) for n in class_names],
                   scale=CLASS_MEAN_SCALE)


PIXEL_MAP_CELL = 9  # a pixel's square in the mean and spread maps, in the SVG's units


def pixel_maps_svg(mean: np.ndarray, std: np.ndarray) -> tuple[str, str]:
    """Per-pixel mean and standard deviation as two square grids (SVG), each with its colour bar;
    every pixel's row, column and value on its tooltip."""
    maps = []
    for values, name, title in ((mean, "mean", "Mean pixel value"), (std, "std", "Per-pixel standard deviation")):
        values = np.asarray(values, dtype=np.float64)
        columns = values.shape[1]
        tips = [f"{name}, row {i // columns}, col {i % columns}: {v:.2f}" for i, v in enumerate(values.ravel().tolist())]
        maps.append(square_grid(values, title, None, tips, cell=PIXEL_MAP_CELL, gap=0))
    return maps[0], maps[1]


def intensity_histogram_svg(counts: np.ndarray, edges: np.ndarray) -> str:
    """Histogram of pixel values on a log count axis (the background's spike would hide the rest),
    as an SVG picture; each bar's range and count on its tooltip."""
    return log_histogram(counts, edges, "Pixel values over all training images")


def ink_box_svg(class_names: Sequence[str], ink: BoxStats) -> str:
    """Ink per image (sum of pixels / 255) per class as box plots from precomputed quartiles, as an
    SVG picture; each box's numbers on its tooltip."""
    return box_plot([str(name) for name in class_names], ink.q1, ink.median, ink.q3, ink.lower_fence,
                    ink.upper_fence, ink.mean, [class_colour(i) for i in range(len(class_names))],
                    "Ink per image by class", "class", "ink (white-pixel equivalents)")


def pca_map_svg(points: Map2D, class_names: Sequence[str]) -> str:
    """The images as points on their first two principal components, one colour per class, for
    :func:`dashboard.svg_picker.svg_picker`: a click returns the image's index in the training set
    (its ``data-pick``); the tooltip gives label and index; Ctrl + wheel zooms, the legend hides a class."""
    names = [str(name) for name in class_names]
    labels = [int(label) for label in points.labels.tolist()]
    tips = [f"label {names[label] if 0 <= label < len(names) else 'unlabelled'} · image #{index}"
            for label, index in zip(labels, points.indices.tolist(), strict=True)]
    ratio = points.explained_variance_ratio
    return scatter_panels([Panel(points.coords, "")], points.labels, [str(i) for i in points.indices.tolist()], tips,
                          names, [class_colour(c) for c in range(len(names))] + [UNLABELLED_COLOUR],
                          x_title=f"PC 1 ({ratio[0] * 100:.1f}% of variance)",
                          y_title=f"PC 2 ({ratio[1] * 100:.1f}% of variance)", side=MAP_SIDE,
                          other_name="unlabelled")


def unusual_examples_picture(
    images: np.ndarray, indices: np.ndarray, distances: np.ndarray, class_names: Sequence[str]
) -> Montage | None:
    """Per class (one row each, named on the left), the images farthest from the class mean,
    each titled ``#index · distance``; ``None`` when no class has any.

    ``images`` is the whole training set; ``indices`` is ``(k, m)`` with -1 for missing (a blank tile).
    """
    tiles, titles, row_labels = [], [], []
    blank = np.full(images.shape[1:], np.nan, dtype=np.float32)
    for c, row in enumerate(indices):
        if (row < 0).all():
            continue
        row_labels.append(str(class_names[c]))
        for index, distance in zip(row, distances[c]):
            tiles.append(images[index] if index >= 0 else blank)
            titles.append(f"#{index} · {distance:.3g}" if index >= 0 else "")
    if not tiles:
        return None
    return montage(np.stack(tiles), columns=indices.shape[1], titles=titles, row_labels=row_labels,
                   scale=UNUSUAL_SCALE)
