"""Drawings from stroke coordinates, as the Predict page's canvas makes them.

For tests and benchmarks that need handwriting no one has to draw: :func:`render_strokes`
paints polylines (white, round joints) on a black 280x280 canvas, and
:func:`seven_segment_digit` makes a digit in the boxy style of a seven-segment display, a
style MNIST's writers never used (its 6 is mostly read as a 5 by the bundled MLP), with a
little random wobble per drawing.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280
Stroke = Sequence[tuple[float, float]]

# Segment end points on the 280x280 canvas: a (top), b/c (right), d (bottom), e/f (left), g (middle).
SEGMENTS = {"a": ((80, 50), (200, 50)), "b": ((200, 50), (200, 145)), "c": ((200, 145), (200, 240)),
            "d": ((80, 240), (200, 240)), "e": ((80, 145), (80, 240)), "f": ((80, 50), (80, 145)),
            "g": ((80, 145), (200, 145))}
DIGIT_SEGMENTS = {0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc", 5: "afgcd", 6: "afgedc", 7: "abc",
                  8: "abcdefg", 9: "abcdfg"}
WOBBLE_PX = 5.0
STROKE_WIDTHS = (14, 26)


def render_strokes(strokes: Sequence[Stroke], width: int = 20, size: int = CANVAS) -> np.ndarray:
    """Paint each polyline white on black; uint8 ``(size, size)``."""
    if width < 1:
        raise ValueError(f"stroke width must be >= 1, got {width}")
    picture = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(picture)
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke]
        if len(points) == 1:
            points = points * 2
        draw.line(points, fill=255, width=int(width), joint="curve")
    return np.asarray(picture)


def seven_segment_strokes(digit: int, rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """The segments of ``digit`` as strokes, each end point moved by a little Gaussian wobble."""
    if digit not in DIGIT_SEGMENTS:
        raise ValueError(f"expected a digit 0-9, got {digit!r}")
    return [[(x + rng.normal(0, WOBBLE_PX), y + rng.normal(0, WOBBLE_PX)) for x, y in SEGMENTS[segment]]
            for segment in DIGIT_SEGMENTS[digit]]


def seven_segment_digit(digit: int, rng: np.random.Generator) -> np.ndarray:
    """One seven-segment drawing of ``digit`` on a 280x280 canvas, uint8, random stroke width."""
    return render_strokes(seven_segment_strokes(digit, rng), width=int(rng.integers(*STROKE_WIDTHS)))
