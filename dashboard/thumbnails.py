"""Many small captioned images as ONE block of HTML (for ``st.html``): the images travel inside it.

``st.image`` with a list sends each image as a file of its own, which the browser then fetches
one by one (six at a time over HTTP/1.1): Explore's 100 sample images took about a second of
its first visit that way. Here each 28x28 image is a PNG of a few hundred bytes written into
the page as a ``data:`` address and enlarged by the browser with crisp pixels, and each caption
stays text that can be read, selected and searched. Pure NumPy, Pillow and the standard library.
"""
from __future__ import annotations

import base64
import functools
import html
import io
import re
from collections.abc import Sequence

import numpy as np
from PIL import Image

from .figures import png_bytes

CAPTION_STYLE = ("font-size:0.8rem;line-height:1.3;color:rgba(49,51,63,0.6);text-align:center;margin-top:2px;"
                 "overflow-wrap:anywhere")   # a long caption wraps under its image, never over the next one
# The class the grid's figures carry: what tests and the browser find the thumbnails by.
FIGURE_CLASS = "lab-thumbnail"


def png_data_address(image: np.ndarray) -> str:
    """A greyscale image (values 0-255) as a ``data:image/png;base64,...`` address."""
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return _encoded(np.ascontiguousarray(pixels).tobytes(), pixels.shape)


@functools.lru_cache(maxsize=2048)
def _encoded(pixels: bytes, shape: tuple[int, ...]) -> str:
    """The address of the image with these bytes: a page rerun shows the same images again, and
    encoding 100 of them each time took about 25 ms of every rerun."""
    image = np.frombuffer(pixels, dtype=np.uint8).reshape(shape)
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def thumbnail_grid_html(images: Sequence[np.ndarray], captions: Sequence[str] | None, width_px: int) -> str:
    """Images side by side (wrapping), each ``width_px`` wide with its caption below it.

    The images are sent at their own size and enlarged in the browser without smoothing, so a
    28x28 digit shows its real pixels. ``captions`` (one per image) also serve as the images'
    alternative text; without captions the images are described by their position."""
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"{len(captions)} captions for {len(images)} images")
    figures = []
    for number, image in enumerate(images):
        caption = captions[number] if captions is not None else ""
        alt = html.escape(caption or f"image {number + 1}", quote=True)
        below = f'<figcaption style="{CAPTION_STYLE}">{html.escape(caption)}</figcaption>' if caption else ""
        height_px = round(width_px * np.shape(image)[0] / np.shape(image)[1])
        figures.append(f'<figure class="{FIGURE_CLASS}" style="margin:0;width:{width_px}px">'
                       f'<img src="{png_data_address(image)}" alt="{alt}" width="{width_px}" height="{height_px}" '
                       f'style="image-rendering:pixelated;display:block">{below}</figure>')
    return f'<div style="display:flex;flex-wrap:wrap;gap:8px 10px">{"".join(figures)}</div>'


def captions_in(grid_html: str) -> list[str]:
    """The captions of a grid made by :func:`thumbnail_grid_html`, in order."""
    return [html.unescape(text) for text in re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", grid_html)]


def images_in(grid_html: str) -> list[np.ndarray]:
    """The images of a grid made by :func:`thumbnail_grid_html`, decoded, in order."""
    addresses = re.findall(r'src="data:image/png;base64,([^"]+)"', grid_html)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(address)))) for address in addresses]
