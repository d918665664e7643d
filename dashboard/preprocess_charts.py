"""Figure builders of the Preprocess page: arrays in, Plotly figures or pictures out (no Streamlit here).

Rows of images are pictures (:mod:`dashboard.montage`), which a browser shows at no cost; charts
remain for the histograms, the split and the diagrams.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .montage import Montage, montage

TRAIN_COLOUR, VAL_COLOUR, TEST_COLOUR = "#636efa", "#ef553b", "#00cc96"
SAMPLE_COLOUR = "#ffa15a"


IMAGE_SCALE = 2


def before_after_picture(
    before: np.ndarray, before_titles: list[str], after: np.ndarray, after_titles: list[str],
    row_labels: tuple[str, str] = ("before", "after"),
) -> Montage:
    """Two rows of images (the first ones before and after a step), each titled ``label · #index``.

    A shorter row is padded with blank tiles; tile ``i`` of the second row is tile ``columns + i``.
    """
    columns = max(len(before), len(after), 1)
    blank = np.full((max(columns - len(before), 0), *before.shape[1:]), np.nan, dtype=np.float32)
    tiles = np.concatenate([before.astype(np.float32), blank, after.astype(np.float32)])
    titles = list(before_titles) + [""] * len(blank) + list(after_titles)
    rows = -(-len(tiles) // columns)
    return montage(tiles, columns=columns, titles=titles, row_labels=list(row_labels)[:rows], scale=IMAGE_SCALE)


def split_figure(n_train: int, n_val: int, n_test: int = 0, n_unused: int = 0) -> go.Figure:
    """Where the images go: one horizontal bar cut into training, validation (and unused / test)."""
    fig = go.Figure()
    parts = [("training", n_train, TRAIN_COLOUR), ("validation", n_val, VAL_COLOUR),
             ("not used", n_unused, "#bbbbbb"), ("test (separate file)", n_test, TEST_COLOUR)]
    for name, count, colour in parts:
        if count <= 0:
            continue
        fig.add_bar(y=["images"], x=[count], name=name, orientation="h", marker_color=colour,
                    text=[f"{name}: {count:,}"], textposition="inside", insidetextanchor="middle",
                    hovertemplate=f"{name}: {count:,} images<extra></extra>")
    fig.update_layout(barmode="stack", height=150, margin=dict(l=10, r=10, t=10, b=10), showlegend=False)
    fig.update_yaxes(visible=False)
    fig.update_xaxes(title="images")
    return fig


def scaling_histogram_figure(
    before_counts: np.ndarray, before_edges: np.ndarray, after_counts: np.ndarray, after_edges: np.ndarray,
    after_title: str,
) -> go.Figure:
    """Pixel-value histograms before (raw 0-255) and after scaling, side by side, log counts."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("before: raw pixels 0-255", after_title))
    for col, (counts, edges, colour) in enumerate(
        ((before_counts, before_edges, "#888888"), (after_counts, after_edges, TRAIN_COLOUR)), start=1
    ):
        edges = np.asarray(edges, dtype=np.float64)
        fig.add_bar(
            x=((edges[:-1] + edges[1:]) / 2).tolist(), y=np.asarray(counts).tolist(),
            width=float(np.diff(edges).mean()), marker_color=colour, showlegend=False,
            hovertemplate="value %{x:.3g}: %{y:,} pixels<extra></extra>", row=1, col=col,
        )
        fig.update_yaxes(type="log", row=1, col=col)
        fig.update_xaxes(title="pixel value", row=1, col=col)
    fig.update_yaxes(title="pixels (log scale)", row=1, col=1)
    fig.update_layout(height=330, bargap=0.05, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def _matrix(fig: go.Figure, x0: float, y0: float, width: float, height: float, stripe: str, label: str) -> None:
    """A grey rectangle standing for a matrix, with one image's stripe (row or column) highlighted."""
    fig.add_shape(type="rect", x0=x0, y0=y0, x1=x0 + width, y1=y0 + height,
                  line=dict(color="#444444"), fillcolor="rgba(150,150,150,0.25)")
    if stripe == "row":
        fig.add_shape(type="rect", x0=x0, y0=y0 + height - 0.3, x1=x0 + width, y1=y0 + height,
                      line=dict(width=0), fillcolor=SAMPLE_COLOUR)
    else:
        fig.add_shape(type="rect", x0=x0, y0=y0, x1=x0 + 0.3, y1=y0 + height,
                      line=dict(width=0), fillcolor=SAMPLE_COLOUR)
    fig.add_annotation(x=x0 + width / 2, y=y0 - 0.35, text=label, showarrow=False, font=dict(size=13))


def transpose_diagram(n_samples: int, n_features: int = 784, first_hidden: int = 256) -> go.Figure:
    """The two layouts of the same training matrix, drawn with their real shapes.

    Left: nnlib's rows ``(m, 784)``, one image per row; right: the seed study's columns
    ``(784, m)``, one image per column; between them the transposition ``X.T``.
    """
    fig = go.Figure()
    _matrix(fig, 0.0, 0.0, 2.0, 4.0, "row", f"<b>X</b>  ({n_samples}, {n_features})  rows: nnlib")
    fig.add_annotation(x=1.0, y=4.35, text=f"one image = one row of {n_features} pixels", showarrow=False,
                       font=dict(color=SAMPLE_COLOUR, size=12))
    fig.add_annotation(x=-0.15, y=2.0, text=f"{n_samples:,} images", textangle=-90, showarrow=False, xanchor="right")
    fig.add_annotation(x=1.0, y=-0.8, text=f"X @ W1 with W1 ({n_features}, {first_hidden}) → ({n_samples}, {first_hidden})",
                       showarrow=False, font=dict(size=11))

    fig.add_annotation(x=5.4, y=2.25, ax=2.6, ay=2.25, xref="x", yref="y", axref="x", ayref="y",
                       text="", showarrow=True, arrowhead=3, arrowsize=1.5, arrowwidth=2)
    fig.add_annotation(x=4.0, y=2.6, text="<b>transpose</b>: X.T", showarrow=False, font=dict(size=13))
    fig.add_annotation(x=4.0, y=1.9, text="same numbers,<br>other axis first", showarrow=False, font=dict(size=11))

    _matrix(fig, 6.0, 1.0, 4.0, 2.0, "column", f"<b>X.T</b>  ({n_features}, {n_samples})  columns: seed study")
    fig.add_annotation(x=6.15, y=3.35, text=f"one image = one column of {n_features} pixels", showarrow=False,
                       xanchor="left", font=dict(color=SAMPLE_COLOUR, size=12))
    fig.add_annotation(x=10.15, y=2.0, text=f"{n_features} pixels", textangle=90, showarrow=False, xanchor="left")
    fig.add_annotation(x=8.0, y=-0.8, text=f"W1 @ X.T with W1 ({first_hidden}, {n_features}) → ({first_hidden}, {n_samples})",
                       showarrow=False, font=dict(size=11))
    fig.update_xaxes(visible=False, range=[-1.0, 11.2])
    fig.update_yaxes(visible=False, range=[-1.2, 4.7], scaleanchor="x")
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="rgba(0,0,0,0)")
    return fig


def one_hot_figure(labels: np.ndarray, encoded: np.ndarray, class_names: Sequence[str],
                   indices: np.ndarray | None = None) -> go.Figure:
    """A few labels and their one-hot rows: one row per image, a 1 in the column of its class."""
    labels = np.asarray(labels)
    encoded = np.asarray(encoded)
    rows = [f"#{i} → {class_names[y]}" if indices is not None else str(class_names[y])
            for i, y in zip(indices if indices is not None else labels, labels)]
    fig = go.Figure(go.Heatmap(
        z=encoded, x=[str(c) for c in class_names], y=rows,
        colorscale=[[0, "#f4f4f4"], [1, TRAIN_COLOUR]], zmin=0, zmax=1, showscale=False,
        text=encoded.astype(int), texttemplate="%{text}", xgap=2, ygap=2,
        hovertemplate="%{y}, column %{x}: %{z:.0f}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", type="category", title="image → label")
    fig.update_xaxes(side="top", type="category", title="class")
    fig.update_layout(height=60 + 32 * len(rows), margin=dict(l=10, r=10, t=50, b=10))
    return fig


AUGMENT_SCALE = 3


def augment_preview_picture(original: np.ndarray, augmented: np.ndarray, columns: int = 6) -> Montage:
    """The original image (tile 0) followed by random augmented versions of it (tiles 1...)."""
    tiles = np.concatenate([np.asarray(original, dtype=np.float32)[None], np.asarray(augmented, dtype=np.float32)])
    titles = ["original"] + [f"random {i}" for i in range(1, len(augmented) + 1)]
    return montage(tiles, columns=columns, titles=titles, scale=AUGMENT_SCALE)
