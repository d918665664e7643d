"""Figure builders of the Explore page: numbers in (from nnlib.analysis), Plotly figures or
pictures out.

Grids of images are pictures (:mod:`dashboard.montage`): a browser shows them at no cost, where a
chart of tiles takes it a moment per draw. Charts stay where hovering or clicking is the point.
Pure functions, no Streamlit: each can be called and inspected in a test.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, qualitative

from nnlib.analysis import BoxStats, Map2D

from .html_charts import share_bars
from .montage import Montage, montage
from .svg_charts import BAR_COLOUR, box_plot, log_histogram

CLASS_COLOURS = qualitative.Plotly  # ten distinct colours, one per class
UNLABELLED_COLOUR = "#888888"
# The map's points are see-through so dense clouds show their density. Written into the colour
# (rgba) rather than as the marker's opacity: Plotly sets an opacity on each of the thousands of SVG
# points, which makes each its own compositing layer and cost the browser about 0.3 s per draw.
MAP_POINT_ALPHA = 0.75


def class_colour(index: int) -> str:
    """The colour of class ``index`` in every chart of the page (grey for unlabelled)."""
    return UNLABELLED_COLOUR if index < 0 else CLASS_COLOURS[index % len(CLASS_COLOURS)]


def translucent(colour: str, alpha: float) -> str:
    """``#rrggbb`` as ``rgba(r, g, b, alpha)``."""
    red, green, blue = hex_to_rgb(colour)
    return f"rgba({red}, {green}, {blue}, {alpha:g})"


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


PIXEL_MAP_GAP = 0.08  # share of the figure's width between the two maps


def pixel_maps_figure(mean: np.ndarray, std: np.ndarray) -> go.Figure:
    """Per-pixel mean and standard deviation side by side, in ONE figure (hover reads a pixel's value).

    Each map has its own colour bar; both are 28x28, rows downwards as in the images.
    """
    half = (1 - PIXEL_MAP_GAP) / 2
    colour_bars = (dict(title=dict(text="mean"), thickness=10, x=half - 0.02, len=0.9),
                   dict(title=dict(text="std"), thickness=10, x=1.0, len=0.9))
    traces = [
        {"type": "heatmap", "z": np.round(np.asarray(values, dtype=np.float32), 2), "colorscale": "Viridis",
         "colorbar": bar, "xaxis": axis, "yaxis": axis.replace("x", "y"),
         "hovertemplate": f"{name}, row %{{y}}, col %{{x}}: %{{z:.2f}}<extra></extra>"}
        for values, name, bar, axis in ((mean, "mean", colour_bars[0], "x"), (std, "std", colour_bars[1], "x2"))
    ]
    hidden = {"showticklabels": False, "showgrid": False, "zeroline": False}
    return go.Figure({"data": traces, "layout": {
        "xaxis": {**hidden, "domain": [0, half - 0.06], "constrain": "domain"},
        "xaxis2": {**hidden, "domain": [half + PIXEL_MAP_GAP, 1 - 0.06], "constrain": "domain"},
        "yaxis": {**hidden, "autorange": "reversed", "scaleanchor": "x", "constrain": "domain"},
        "yaxis2": {**hidden, "autorange": "reversed", "scaleanchor": "x2", "constrain": "domain"},
        "annotations": [
            {"text": "Mean pixel value", "x": (half - 0.06) / 2, "y": 1.0, "xref": "paper", "yref": "paper",
             "xanchor": "center", "yanchor": "bottom", "showarrow": False},
            {"text": "Per-pixel standard deviation", "x": half + PIXEL_MAP_GAP + (half - 0.06) / 2, "y": 1.0,
             "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom", "showarrow": False},
        ],
        "height": 340, "margin": dict(l=10, r=10, t=30, b=10), "plot_bgcolor": "rgba(0,0,0,0)",
    }})


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


def pca_map_figure(points: Map2D, class_names: Sequence[str]) -> go.Figure:
    """The images as points on their first two principal components, one colour per class.

    Each point's ``customdata`` is its image's index in the training set; hover shows it and the label.
    """
    fig = go.Figure()
    groups = sorted(set(points.labels.tolist()))
    for label in groups:
        mask = points.labels == label
        name = class_names[label] if 0 <= label < len(class_names) else "unlabelled"
        fig.add_trace(go.Scatter(
            x=np.round(points.coords[mask, 0], 3), y=np.round(points.coords[mask, 1], 3),
            mode="markers", name=str(name),
            marker=dict(size=5, color=translucent(class_colour(int(label)), MAP_POINT_ALPHA)),
            customdata=points.indices[mask],
            hovertemplate="label " + str(name) + "<br>image #%{customdata}<extra></extra>",
        ))
    ratio = points.explained_variance_ratio
    fig.update_layout(
        xaxis_title=f"PC 1 ({ratio[0] * 100:.1f}% of variance)",
        yaxis_title=f"PC 2 ({ratio[1] * 100:.1f}% of variance)",
        height=520, margin=dict(l=10, r=10, t=10, b=10), legend=dict(itemsizing="constant"),
        dragmode="pan",
    )
    return fig


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
