"""Figure builders shared by several pages: data in, Plotly figure or image out."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def upscale(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """Enlarge a small greyscale image by pixel repetition (crisp, no blur)."""
    return np.kron(np.asarray(image), np.ones((factor, factor), dtype=np.asarray(image).dtype))


def digit_heatmap(image: np.ndarray, title: str = "", colorscale: str = "gray", show_values: bool = False) -> go.Figure:
    """One 28x28 image as a heatmap with a square aspect; optional pixel values written in."""
    image = np.asarray(image)
    fig = go.Figure(
        go.Heatmap(
            z=image,
            colorscale=colorscale,
            showscale=False,
            text=image if show_values else None,
            texttemplate="%{text}" if show_values else None,
            textfont={"size": 7},
            hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=40 if title else 10, b=10))
    return fig
