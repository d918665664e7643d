"""Many small greyscale images as ONE labelled picture (a montage) for ``st.image``.

A grid of images drawn as a chart costs the browser a chart's layout, a canvas filled cell by
cell and an encoded PNG per draw; the same grid as one picture is decoded once and costs next to
nothing. Each tile keeps its title in a band above it and each row its label on the left, both
written into the picture. Pure NumPy and Pillow: no Streamlit, so tests can read the pixels.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = 255  # white between and around tiles
INK = (40, 40, 40)  # titles and row labels
TITLE_FONT_PX = 11
ROW_LABEL_FONT_PX = 13
TITLE_BAND_PX = 15  # above each tile when titles are given
GAP_PX = 6  # between tiles
ROW_LABEL_PAD_PX = 6  # between a row label and its row


@dataclass(frozen=True)
class Montage:
    """A labelled grid of images as one RGB picture.

    ``picture`` is ``(height, width, 3)`` uint8. ``tile_origins[i]`` is the ``(top, left)`` pixel of
    image ``i`` in it, each tile ``tile_size`` pixels ``(height, width)`` (the image enlarged).
    """

    picture: np.ndarray
    tile_origins: tuple[tuple[int, int], ...]
    tile_size: tuple[int, int]

    def tile(self, index: int) -> np.ndarray:
        """The pixels of tile ``index`` (RGB), as drawn."""
        top, left = self.tile_origins[index]
        return self.picture[top:top + self.tile_size[0], left:left + self.tile_size[1]]


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def grey_levels(images: np.ndarray, vmin: float = 0.0, vmax: float = 255.0) -> np.ndarray:
    """Images as uint8 grey levels: ``vmin`` black, ``vmax`` white, linear between, rounded.

    With the default 0-255 range a uint8 image keeps its exact values. NaN pixels are white.
    """
    values = np.asarray(images, dtype=np.float64)
    if vmax <= vmin:
        raise ValueError(f"expected vmax > vmin for the grey scale, got vmin={vmin}, vmax={vmax}")
    scaled = np.clip((values - vmin) / (vmax - vmin), 0.0, 1.0) * 255.0
    return np.where(np.isfinite(scaled), np.rint(scaled), BACKGROUND).astype(np.uint8)


def montage(
    images: np.ndarray,
    columns: int,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    scale: int = 2,
    vmin: float = 0.0,
    vmax: float = 255.0,
) -> Montage:
    """Tile ``images`` (``(n, h, w)``, NaN for a blank tile) ``columns`` to a row, each enlarged
    ``scale`` times by pixel repetition, titled by ``titles[i]`` (blank titles leave the band
    empty) and each row named by ``row_labels[row]`` on the left."""
    images = np.asarray(images)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected a non-empty stack of images (n, height, width), got shape {images.shape}")
    if columns < 1 or scale < 1:
        raise ValueError(f"expected columns >= 1 and scale >= 1, got columns={columns}, scale={scale}")
    count = len(images)
    rows = -(-count // columns)
    if titles is not None and len(titles) != count:
        raise ValueError(f"expected one title per image ({count}), got {len(titles)}")
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"expected one label per row ({rows}), got {len(row_labels)}")

    tile_h, tile_w = images.shape[1] * scale, images.shape[2] * scale
    band = TITLE_BAND_PX if titles is not None else 0
    row_font, title_font = _font(ROW_LABEL_FONT_PX), _font(TITLE_FONT_PX)
    label_width = 0
    if row_labels:
        label_width = max(int(np.ceil(row_font.getlength(label))) for label in row_labels) + ROW_LABEL_PAD_PX
    title_width = max((int(np.ceil(title_font.getlength(title))) for title in titles or [] if title), default=0)
    cell_w = max(tile_w, title_width + 8)  # a title wider than its tile widens every column
    width = label_width + min(columns, count) * (cell_w + GAP_PX) - GAP_PX
    height = rows * (band + tile_h + GAP_PX) - GAP_PX
    picture = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)

    levels = grey_levels(images, vmin, vmax).repeat(scale, axis=1).repeat(scale, axis=2)
    origins = []
    for index in range(count):
        row, col = divmod(index, columns)
        top = row * (band + tile_h + GAP_PX) + band
        left = label_width + col * (cell_w + GAP_PX) + (cell_w - tile_w) // 2
        picture[top:top + tile_h, left:left + tile_w] = levels[index][:, :, None]
        origins.append((top, left))

    if titles is not None or row_labels:
        canvas = Image.fromarray(picture)
        draw = ImageDraw.Draw(canvas)
        for index, title in enumerate(titles or []):
            if title:
                top, left = origins[index]
                draw.text((left + tile_w / 2, top - band / 2), title, fill=INK, font=title_font, anchor="mm")
        for row, label in enumerate(row_labels or []):
            top = row * (band + tile_h + GAP_PX) + band
            draw.text((label_width - ROW_LABEL_PAD_PX, top + tile_h / 2), label, fill=INK, font=row_font,
                      anchor="rm")
        picture = np.asarray(canvas)
    return Montage(picture, tuple(origins), (tile_h, tile_w))
