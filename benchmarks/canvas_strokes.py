"""The three digits the classroom's users draw on Predict, as mouse strokes and as the canvas's value.

:data:`DIGIT_STROKES` are the pointer paths (1, 0, 7) that a Chromium user draws with the mouse
on the 280x280 canvas. :func:`canvas_value` turns the same path into what
streamlit-drawable-canvas 0.13's frontend sends the server on mouse-up (its
``setStateValue("drawing", {raw, data})``): the fabric.js canvas JSON of one free-drawn path
(``raw``) and the canvas as a PNG data URL (``data``, what ``return_image_data=True`` reads as
an RGBA array), so a user without a browser draws what the browser user draws.
"""
from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable

import numpy as np

Point = tuple[float, float]

# Pointer paths, from the canvas's top-left corner (x, y) in CSS pixels.
DIGIT_STROKES: dict[str, Callable[[float, float], list[Point]]] = {
    "1": lambda x, y: [(x + 140, y + 40 + 10 * i) for i in range(21)],
    "0": lambda x, y: [(x + 140 + 55 * math.sin(t / 40 * 2 * math.pi), y + 140 - 95 * math.cos(t / 40 * 2 * math.pi))
                       for t in range(42)],
    "7": lambda x, y: [(x + 70 + 7 * i, y + 50) for i in range(21)] + [(x + 210 - 4.5 * i, y + 50 + 10 * i)
                                                                         for i in range(1, 21)],
}
FABRIC_VERSION = "7.4.0"   # the fabric.js that streamlit-drawable-canvas 0.13 bundles
SUPERSAMPLE = 4            # drawn at 4x and averaged down: anti-aliased edges, as a browser canvas has


def render_stroke(points: list[Point], *, size: int = 280, stroke_width: float = 20,
                  stroke_rgb: tuple[int, int, int] = (255, 255, 255),
                  background_rgb: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """The canvas after one free-drawn stroke through ``points``: uint8 RGBA of shape (size, size, 4).

    A round-capped, round-joined line ``stroke_width`` pixels wide on an opaque background,
    as fabric.js's pencil brush draws it (its curve smoothing aside)."""
    from PIL import Image, ImageDraw

    if len(points) < 1:
        raise ValueError("a stroke needs at least one point, got none")
    if size < 1 or stroke_width <= 0:
        raise ValueError(f"expected a positive canvas size and stroke width, got {size} and {stroke_width}")
    scale = SUPERSAMPLE
    image = Image.new("RGB", (size * scale, size * scale), background_rgb)
    draw = ImageDraw.Draw(image)
    scaled = [(x * scale, y * scale) for x, y in points]
    width = max(1, round(stroke_width * scale))
    if len(scaled) > 1:
        draw.line(scaled, fill=stroke_rgb, width=width, joint="curve")
    radius = width / 2
    for x, y in (scaled[0], scaled[-1]):  # round caps
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=stroke_rgb)
    small = image.resize((size, size), Image.Resampling.BOX)
    rgba = np.dstack([np.asarray(small, dtype=np.uint8), np.full((size, size), 255, dtype=np.uint8)])
    return rgba


def png_data_url(rgba: np.ndarray) -> str:
    """An RGBA uint8 image as the ``data:image/png;base64,...`` URL a canvas's ``toDataURL`` gives."""
    from PIL import Image

    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected a uint8 array of shape (height, width, 4), got {rgba.dtype} {rgba.shape}")
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def fabric_path(points: list[Point], *, stroke_width: float, stroke: str) -> dict:
    """One free-drawn path as fabric.js serialises it: moves through the midpoints by quadratic curves."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    commands: list[list] = [["M", points[0][0], points[0][1]]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        commands.append(["Q", x0, y0, (x0 + x1) / 2, (y0 + y1) / 2])
    commands.append(["L", points[-1][0], points[-1][1]])
    return {"type": "Path", "version": FABRIC_VERSION, "originX": "left", "originY": "top",
            "left": min(xs) - stroke_width / 2, "top": min(ys) - stroke_width / 2,
            "width": max(xs) - min(xs), "height": max(ys) - min(ys), "fill": None, "stroke": stroke,
            "strokeWidth": stroke_width, "strokeLineCap": "round", "strokeLineJoin": "round", "path": commands}


def canvas_value(digit: str, *, size: int = 280, stroke_width: float = 20, stroke: str = "#FFFFFF",
                 background: str = "#000000") -> str:
    """The JSON the canvas's frontend sends after ``digit`` (a key of :data:`DIGIT_STROKES`) is drawn
    on an empty canvas: ``{"drawing": {"raw": <fabric JSON>, "data": <PNG data URL>}}``."""
    if digit not in DIGIT_STROKES:
        raise ValueError(f"expected one of the digits {sorted(DIGIT_STROKES)}, got {digit!r}")
    points = DIGIT_STROKES[digit](0.0, 0.0)
    rgba = render_stroke(points, size=size, stroke_width=stroke_width, stroke_rgb=_rgb(stroke),
                         background_rgb=_rgb(background))
    raw = {"version": FABRIC_VERSION, "objects": [fabric_path(points, stroke_width=stroke_width, stroke=stroke)],
           "background": background}
    return json.dumps({"drawing": {"raw": raw, "data": png_data_url(rgba)}})


def _rgb(color: str) -> tuple[int, int, int]:
    if len(color) != 7 or not color.startswith("#"):
        raise ValueError(f"expected a colour as #RRGGBB, got {color!r}")
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
