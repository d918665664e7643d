"""Any picture of a digit to a 28x28 MNIST-style image, the way the MNIST images were made.

LeCun, Cortes and Burges describe MNIST's digits as "size normalized to fit in a 20x20
pixel box while preserving their aspect ratio" (with anti-aliasing, hence the grey
edges), then "centered in a 28x28 image by computing the center of mass of the pixels,
and translating the image so as to position this point at the center of the 28x28
field". A network trained on MNIST has only ever seen digits placed like that: a
drawing squashed whole into 28x28 (a small digit in a corner of a big canvas) looks to
it like nothing it knows. :func:`to_mnist_style` repeats MNIST's steps on any image:

1. **ink**: greyscale, RGB or RGBA to one channel of *ink* in 0-1, white ink on black.
   A transparent background means the ink is the alpha channel; otherwise the colour
   of the border decides whether the picture is black-on-white (then it is inverted).
   The background level becomes 0 and the strongest ink 1.
2. **crop** to the ink's bounding box.
3. **fit_20**: scale it (anti-aliased) so that its longer side is 20 pixels, aspect kept.
4. **center_of_mass**: put it into 28x28 so that its centre of mass lands on pixel
   (14, 14), the point where MNIST's digits have theirs (mean over the test set: 13.99
   rows, 14.01 columns, in array index coordinates).

Each step can be switched off to see why it matters. Without ``crop`` the whole picture
is scaled; without ``fit_20`` it is scaled to fill 28 pixels instead of 20; without
``center_of_mass`` it is placed by the middle of its box. With all three off, a square
picture is simply resized to 28x28, which is what most drawing demos do (a picture that
is not square keeps its aspect and is padded).

Images are arrays of rows: ``(height, width)`` or ``(height, width, channels)``.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageFileError
from .limits import MAX_IMAGE_ASPECT, MAX_IMAGE_PIXELS, MIN_IMAGE_SIDE

SIDE = 28                 # MNIST images are 28x28
BOX = 20                  # ... with the digit fitted into a 20x20 box
CENTRE = 14.0             # where MNIST's centre of mass lies (row and column index)
BORDER_FRACTION = 0.03    # the frame of the picture that tells its background colour
MIN_CONTRAST = 0.12       # ink fainter than this above the background: an empty picture
NOISE_FLOOR = 0.08        # ink values below this (after contrast stretch) become 0
BBOX_THRESHOLD = 0.2      # pixels counted as ink for the bounding box
RESAMPLE = Image.Resampling.BILINEAR  # area-weighted when shrinking (anti-aliased), no ringing
INVERT_CHOICES = ("auto", True, False)


@dataclass(eq=False)
class MnistStyleResult:
    """What :func:`to_mnist_style` made of a picture.

    ``image``: float32 ``(28, 28)`` in 0-1, white ink on black (all zeros when empty).
    ``steps``: ``(title, image)`` pairs, each a float32 array in 0-1, in order: the ink,
    the crop, the scaled box, the 28x28 placement. ``bbox``: the ink's bounding box in
    the input picture as ``(top, left, bottom, right)``, bottom/right exclusive (``None``
    when empty). ``is_empty``: the picture has no ink. ``inverted``: it was read as
    black-on-white and inverted. ``center_of_mass``: ``(row, col)`` of the result.
    """

    image: np.ndarray
    steps: list[tuple[str, np.ndarray]] = field(default_factory=list)
    bbox: tuple[int, int, int, int] | None = None
    is_empty: bool = False
    inverted: bool = False
    center_of_mass: tuple[float, float] | None = None


def load_image(source: str | os.PathLike | bytes | BinaryIO, max_side: int | None = None) -> np.ndarray:
    """Read an image file (path, bytes or binary file) into a uint8 array.

    Returns ``(h, w)`` for greyscale pictures, ``(h, w, 3)`` for colour and ``(h, w, 4)``
    when the picture has transparency. A photo's EXIF orientation is applied.
    ``max_side``: shrink (anti-aliased, aspect kept) so that neither side exceeds it; a
    12-megapixel photo needs no more than a few hundred pixels to find a digit in. Raises
    :class:`~nnlib.errors.ImageFileError` (a ``ValueError``) naming the problem when the data
    is not a readable image, or :class:`ImageSizeError` when its size cannot hold a digit
    (checked from the file's header, before the pixels are decoded).
    """
    label = str(source) if isinstance(source, (str, os.PathLike)) else "the uploaded file"
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageFileError("the uploaded file is empty, expected an image (PNG, JPEG, ...)")
        source = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise ImageFileError(f"image file not found: {label}")
    try:
        with Image.open(source) as opened:
            check_picture_size(opened.size, label)  # from the file's header, before decoding
            opened.load()
            picture: Image.Image = opened
            picture = ImageOps.exif_transpose(picture)
            if max_side is not None and max(picture.size) > max_side:
                if picture.mode not in ("1", "L", "LA", "RGB", "RGBA", "I", "F"):
                    picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
                picture.thumbnail((max_side, max_side), Image.Resampling.BOX)
            return _pil_to_array(picture)
    except ImageFileError:
        raise
    except UnidentifiedImageError:
        raise ImageFileError(f"{label} is not an image that Pillow can read "
                             "(expected PNG, JPEG, GIF, BMP, ...)") from None
    except Image.DecompressionBombError as error:  # Pillow's own check, when it comes first
        raise ImageSizeError(f"{label} is more than the limit of {MAX_IMAGE_PIXELS / 1e6:g} megapixels "
                             f"({error})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageFileError(f"{label} is a damaged or truncated image: {error}") from None


class ImageSizeError(ImageFileError):
    """A picture too large, too small or too thin to hold a digit (the message says which)."""


def check_picture_size(size: tuple[int, int], label: str = "the picture") -> None:
    """Refuse a ``(width, height)`` that is beyond :data:`~nnlib.limits.MAX_IMAGE_PIXELS`, below
    :data:`~nnlib.limits.MIN_IMAGE_SIDE` or longer than :data:`~nnlib.limits.MAX_IMAGE_ASPECT`
    times its width: a 1x5000 strip holds no digit, and would be squashed into nonsense."""
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageSizeError(f"{label} is {width}x{height} pixels, more than the limit of "
                             f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels")
    if min(width, height) < MIN_IMAGE_SIDE:
        raise ImageSizeError(f"{label} is {width}x{height} pixels; a picture of a digit needs at least "
                             f"{MIN_IMAGE_SIDE} pixels each way")
    if max(width, height) > MAX_IMAGE_ASPECT * min(width, height):
        raise ImageSizeError(f"{label} is {width}x{height} pixels, more than {MAX_IMAGE_ASPECT} times longer "
                             "one way than the other; a digit fits a roughly square picture")


def _pil_to_array(picture: Image.Image) -> np.ndarray:
    """A Pillow image of any mode to uint8 ``(h, w)``, ``(h, w, 3)`` or ``(h, w, 4)``."""
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
    if has_alpha:
        return np.asarray(picture.convert("RGBA"), dtype=np.uint8)
    if picture.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(picture, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        return scaled.round().astype(np.uint8)
    if picture.mode in ("1", "L"):
        return np.asarray(picture.convert("L"), dtype=np.uint8)
    return np.asarray(picture.convert("RGB"), dtype=np.uint8)


def _as_unit_array(image: Any) -> np.ndarray:
    """Any accepted input to float32 in 0-1, shape ``(h, w)`` or ``(h, w, c)``."""
    if isinstance(image, Image.Image):
        image = _pil_to_array(image)
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"expected an image of shape (h, w), (h, w, 3) or (h, w, 4), got {array.shape}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"the image has no pixels (shape {array.shape})")
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"expected image pixels as numbers, got dtype {array.dtype}")
    unit = array.astype(np.float32)
    if not np.all(np.isfinite(unit)):
        raise ValueError("the image contains NaN or infinite values")
    if np.issubdtype(array.dtype, np.integer) or unit.max(initial=0) > 1.0:
        unit /= np.float32(255)
    return np.clip(unit, 0, 1)


def _border_level(grey: np.ndarray) -> float:
    """Median of a thin frame around the picture: the background's level."""
    height, width = grey.shape
    band = max(1, int(round(BORDER_FRACTION * min(height, width))))
    frame = np.concatenate([grey[:band].ravel(), grey[-band:].ravel(),
                            grey[:, :band].ravel(), grey[:, -band:].ravel()])
    return float(np.median(frame))


def ink_image(image: Any, invert: str | bool = "auto") -> tuple[np.ndarray, bool]:
    """One channel of ink in 0-1 (white ink on a 0 background) and whether it was inverted.

    Transparent background (RGBA whose frame is mostly transparent): the ink is the
    alpha channel. Otherwise the luminance (ITU-R 601 weights, as Pillow's ``L``);
    ``invert="auto"`` inverts when the frame is light (black-on-white), ``True`` or
    ``False`` force it. Then the background level goes to 0, the strongest ink to 1,
    and faint noise below ``NOISE_FLOOR`` to 0.
    """
    if invert not in INVERT_CHOICES:
        raise ValueError(f"invert must be 'auto', True or False, got {invert!r}")
    unit = _as_unit_array(image)
    inverted = False
    if unit.ndim == 3 and unit.shape[2] == 4 and unit[:, :, 3].min() < 1 and _border_level(unit[:, :, 3]) < 0.5:
        grey = unit[:, :, 3].copy()
    else:
        if unit.ndim == 3:
            rgb = unit[:, :, :3]
            grey = rgb[:, :, 0] * np.float32(0.299) + rgb[:, :, 1] * np.float32(0.587) + rgb[:, :, 2] * np.float32(0.114)
        else:
            grey = unit
        inverted = _border_level(grey) > 0.5 if invert == "auto" else bool(invert)
        if inverted:
            grey = 1 - grey
    background = _border_level(grey)
    peak = float(grey.max())
    if peak - background < MIN_CONTRAST:
        return np.zeros_like(grey, dtype=np.float32), inverted
    ink = np.clip((grey - background) / np.float32(peak - background), 0, 1).astype(np.float32)
    ink[ink < NOISE_FLOOR] = 0
    return ink, inverted


def ink_bbox(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(top, left, bottom, right)`` of the pixels above ``BBOX_THRESHOLD`` (exclusive ends)."""
    mask = ink > BBOX_THRESHOLD
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """``(row, col)`` centre of mass of pixel values (index coordinates: pixel ``i`` at ``i``)."""
    image = np.asarray(image, dtype=np.float64)
    total = image.sum()
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows = (image.sum(axis=1) * np.arange(image.shape[0])).sum() / total
    cols = (image.sum(axis=0) * np.arange(image.shape[1])).sum() / total
    return float(rows), float(cols)


_center_of_mass = center_of_mass  # to_mnist_style's flag of the same name hides the function


def fit_into(image: np.ndarray, side: int) -> np.ndarray:
    """Scale ``image`` (anti-aliased, Pillow bilinear) so its longer side is ``side``, aspect kept."""
    height, width = image.shape
    scale = side / max(height, width)
    new_height = max(1, int(round(height * scale)))
    new_width = max(1, int(round(width * scale)))
    if (new_height, new_width) == (height, width):
        return image.astype(np.float32, copy=True)
    resized = Image.fromarray(image.astype(np.float32), mode="F").resize((new_width, new_height), RESAMPLE)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def place_in_frame(patch: np.ndarray, by_center_of_mass: bool = True, side: int = SIDE) -> np.ndarray:
    """Put ``patch`` (at most ``side`` on each side) into a ``side x side`` black frame.

    By centre of mass: translate by whole pixels so that it lands as near to
    ``(CENTRE, CENTRE)`` as the frame allows without cutting ink off (empty margins of
    the patch may leave the frame). Otherwise: the middle of the patch at the middle
    of the frame.
    """
    height, width = patch.shape
    if height > side or width > side:
        raise ValueError(f"patch of {height}x{width} does not fit into {side}x{side}")
    if by_center_of_mass and patch.any():
        com_row, com_col = center_of_mass(patch)
        centre = CENTRE * side / SIDE
        rows, cols = np.flatnonzero(patch.any(axis=1)), np.flatnonzero(patch.any(axis=0))
        top = int(np.clip(np.round(centre - com_row), -rows[0], side - 1 - rows[-1]))
        left = int(np.clip(np.round(centre - com_col), -cols[0], side - 1 - cols[-1]))
    else:
        top, left = (side - height) // 2, (side - width) // 2
    frame = np.zeros((side, side), dtype=np.float32)
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    rows_n = min(height - src_top, side - dst_top)
    cols_n = min(width - src_left, side - dst_left)
    frame[dst_top:dst_top + rows_n, dst_left:dst_left + cols_n] = \
        patch[src_top:src_top + rows_n, src_left:src_left + cols_n]
    return frame


def to_mnist_style(
    image: Any,
    *,
    crop: bool = True,
    fit_20: bool = True,
    center_of_mass: bool = True,
    invert: str | bool = "auto",
) -> MnistStyleResult:
    """Turn a picture of a digit into a 28x28 MNIST-style image (see the module docstring).

    ``image``: a NumPy array ``(h, w)``, ``(h, w, 1)``, ``(h, w, 3)`` or ``(h, w, 4)``
    (uint8 0-255, or floats in 0-1) or a Pillow image, of any size. ``crop``, ``fit_20``
    and ``center_of_mass`` switch MNIST's three steps on or off; ``invert`` is
    ``"auto"`` (decide from the picture's border), ``True`` or ``False``.
    """
    ink, inverted = ink_image(image, invert)
    steps: list[tuple[str, np.ndarray]] = [("Input as white ink on black" + (" (inverted)" if inverted else ""), ink)]
    bbox = ink_bbox(ink)
    if bbox is None:
        return MnistStyleResult(np.zeros((SIDE, SIDE), np.float32), steps, None, True, inverted, None)
    top, left, bottom, right = bbox
    if crop:
        region = ink[top:bottom, left:right]
        steps.append((f"Cropped to the ink's box ({bottom - top}x{right - left})", region))
    else:
        region = ink
        steps.append(("Not cropped: the whole picture", region))
    side = BOX if fit_20 else SIDE
    patch = fit_into(region, side)
    label = f"Scaled to fit {side}x{side} ({patch.shape[0]}x{patch.shape[1]})"
    steps.append((label if fit_20 else label + ", not 20x20", patch))
    framed = place_in_frame(patch, by_center_of_mass=center_of_mass)
    com = _center_of_mass(framed)
    how = "by centre of mass" if center_of_mass else "by the middle of its box"
    steps.append((f"Placed in 28x28 {how}", framed))
    return MnistStyleResult(framed, steps, bbox, False, inverted, com)


__all__ = [
    "ImageFileError", "ImageSizeError", "MnistStyleResult", "check_picture_size", "to_mnist_style", "load_image",
    "ink_image", "ink_bbox",
    "center_of_mass", "fit_into", "place_in_frame", "SIDE", "BOX", "CENTRE",
]
