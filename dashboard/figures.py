"""Figure builders shared by several pages: data in, Plotly figure or image out."""
from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image


def upscale(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """Enlarge a small greyscale image by pixel repetition (crisp, no blur)."""
    return np.kron(np.asarray(image), np.ones((factor, factor), dtype=np.asarray(image).dtype))


MOSAIC_GAP = 4  # empty cells between tiles
MOSAIC_TITLE_BAND = 9  # cells above each tile for its title


def mosaic_figure(
    images: np.ndarray,
    titles: list[str] | None = None,
    columns: int = 10,
    zmin: float = 0.0,
    zmax: float = 255.0,
    colorscale: str = "gray",
    row_labels: list[str] | None = None,
    pixels_per_cell: float = 3.0,
) -> go.Figure:
    """Many small images tiled into ONE heatmap (fast to draw), each with an optional title.

    ``images``: ``(n, h, w)``. Tiles fill rows of ``columns``; gaps are NaN (transparent).
    ``row_labels`` name each row on the left. One trace keeps the figure light even for
    a hundred images, where a subplot per image would be slow in the browser.
    """
    images = np.asarray(images, dtype=np.float32)
    n, height, width = images.shape
    rows = max(1, -(-n // columns))
    band = MOSAIC_TITLE_BAND if titles else 0
    tile_h, tile_w = height + band + MOSAIC_GAP, width + MOSAIC_GAP
    z = np.full((rows * tile_h, columns * tile_w - MOSAIC_GAP), np.nan, dtype=np.float32)
    annotations = []
    for i, image in enumerate(images):
        row, col = divmod(i, columns)
        top, left = row * tile_h + band, col * tile_w
        z[top:top + height, left:left + width] = image
        if titles:
            annotations.append(dict(x=left + width / 2 - 0.5, y=top - band / 2 - 0.5, text=titles[i],
                                    showarrow=False, font=dict(size=10), xref="x", yref="y"))
    for row, label in enumerate(row_labels or []):
        annotations.append(dict(x=-2, y=row * tile_h + band + height / 2, text=f"<b>{label}</b>",
                                showarrow=False, xanchor="right", font=dict(size=11), xref="x", yref="y"))
    left_margin = 90 if row_labels else 5
    # One constructor call: Plotly validates the whole figure once (each update_* call validates again).
    return go.Figure({
        "data": [{"type": "heatmap", "z": np.round(z, 3), "zmin": zmin, "zmax": zmax, "colorscale": colorscale,
                  "showscale": False, "hoverinfo": "skip"}],
        "layout": {
            "annotations": annotations,
            "yaxis": {"autorange": "reversed", "scaleanchor": "x", "visible": False},
            "xaxis": {"visible": False, "constrain": "domain"},
            "height": int(z.shape[0] * pixels_per_cell) + 20,
            "margin": dict(l=left_margin, r=5, t=10, b=5),
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    })


# Colour scales for images drawn as pictures (no chart): (position 0-1, RGB) stops.
COLOUR_SCALES = {
    "gray": ((0.0, (0, 0, 0)), (1.0, (255, 255, 255))),
    "viridis": ((0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)), (0.75, (94, 201, 98)),
                (1.0, (253, 231, 37))),
    "signed": ((0.0, (33, 102, 172)), (0.5, (247, 247, 247)), (1.0, (178, 24, 43))),   # blue < 0 < red
}


def colour_image(values: np.ndarray, scale: str = "gray", vmin: float | None = None, vmax: float | None = None,
                 factor: int = 1) -> np.ndarray:
    """A 2-D array as an RGB picture (uint8, enlarged ``factor`` times): a browser shows it at no
    cost, where a chart per small image would each take a moment to draw.

    ``scale="signed"`` centres a blue-white-red scale on 0 (``vmin = -vmax``). NaN cells are white.
    """
    values = np.asarray(values, dtype=np.float64)
    stops = COLOUR_SCALES[scale]
    finite = values[np.isfinite(values)]
    if scale == "signed":
        limit = vmax if vmax is not None else (float(np.max(np.abs(finite))) if finite.size else 1.0)
        vmin, vmax = -(limit or 1.0), (limit or 1.0)
    low = float(finite.min()) if vmin is None and finite.size else (vmin if vmin is not None else 0.0)
    high = float(finite.max()) if vmax is None and finite.size else (vmax if vmax is not None else 1.0)
    position = np.clip((values - low) / (high - low if high > low else 1.0), 0, 1)
    positions = [stop for stop, _ in stops]
    rgb = np.stack([np.interp(position, positions, [colour[channel] for _, colour in stops])
                    for channel in range(3)], axis=-1)
    rgb[~np.isfinite(values)] = 255
    return rgb.astype(np.uint8).repeat(factor, axis=0).repeat(factor, axis=1)


def tile_images(images: list[np.ndarray] | np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """Same-sized 2-D images tiled into one array, ``columns`` to a row, ``gap`` NaN cells between
    (white in :func:`colour_image`): one picture to send instead of many."""
    images = [np.asarray(image, dtype=np.float64) for image in images]
    height, width = images[0].shape
    rows = -(-len(images) // columns)
    tiled = np.full((rows * (height + gap) - gap, min(columns, len(images)) * (width + gap) - gap), np.nan)
    for index, image in enumerate(images):
        row, col = divmod(index, columns)
        top, left = row * (height + gap), col * (width + gap)
        tiled[top:top + height, left:left + width] = image
    return tiled


# zlib level 1: on these small flat-coloured pictures it writes ~2-15x faster than PIL's default
# (level 6) for files 10-50% larger, and a page of a dozen pictures writes them on every run.
PNG_COMPRESS_LEVEL = 1


def png_bytes(picture: np.ndarray) -> bytes:
    """A uint8 picture (``(h, w)`` grey or ``(h, w, 3)`` RGB, as :func:`colour_image` and
    :func:`upscale` give) as PNG bytes, for ``st.image`` to send as they are."""
    picture = np.asarray(picture)
    if picture.dtype != np.uint8:
        raise TypeError(f"expected a uint8 picture, got dtype {picture.dtype}")
    if picture.ndim not in (2, 3) or (picture.ndim == 3 and picture.shape[2] not in (3, 4)):
        raise ValueError(f"expected a (h, w), (h, w, 3) or (h, w, 4) picture, got shape {picture.shape}")
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
