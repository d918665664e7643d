"""The rules every dataset obeys, whatever its file format: one function, used by every loader.

A dataset is images ``uint8 (n, 28, 28)`` (0 = background, 255 = ink) and labels
``int64 (n,)`` in ``0..n_classes-1``. Files come with other types, and each is either
made into that or refused with a message naming the image (or line) at fault:

* at least :data:`~nnlib.limits.MIN_IMAGES` images (a training set), at most
  :data:`~nnlib.limits.MAX_IMAGES`;
* pixels: integers 0-255 as they are; floats in 0-1 are scaled to 0-255 (a 0.5 is grey
  128, not rounded to 0 or 1); other floats are rounded when in 0-255; NaN, infinities
  and anything outside 0-255 are refused;
* labels: whole numbers in ``0..n_classes-1`` (3.5 is refused, not truncated to 3; -1
  and 10 are refused); ``None`` means an unlabelled set (Kaggle's ``test.csv``), whose
  labels become -1.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import DatasetError
from .limits import MAX_IMAGES, MIN_IMAGES

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE
UNLABELLED = -1
CONVERT_CHUNK = 4096  # images converted to uint8 at a time

Where = Callable[[int], str]


def _image(index: int) -> str:
    return f"image {index}"


def checked_images(images: np.ndarray, file_name: str, *, min_images: int = MIN_IMAGES,
                   where: Where = _image) -> np.ndarray:
    """``images`` as ``uint8 (n, 28, 28)``, by the rules above; :class:`DatasetError` otherwise.

    ``where(i)`` names image ``i`` in messages (``"line 12"`` for a CSV).
    """
    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == PIXELS:
        images = images.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DatasetError(f"{file_name}: images have shape {images.shape}, expected (n, 28, 28) or (n, 784)")
    n = len(images)
    if n > MAX_IMAGES:
        raise DatasetError(f"{file_name}: {n:,} images, more than the limit of {MAX_IMAGES:,}")
    pixels = _checked_pixels(images, file_name, where)
    if n < min_images:
        raise DatasetError(f"{file_name}: {n} image(s); a dataset needs at least {min_images}")
    return pixels


def _checked_pixels(images: np.ndarray, file_name: str, where: Where) -> np.ndarray:
    """``(n, 28, 28)`` pixels of any numeric dtype as uint8, by the rules of the module."""
    if images.dtype == np.uint8:
        return images
    n = len(images)
    if n == 0:
        return images.astype(np.uint8)
    if images.dtype.kind not in "iuf":
        raise DatasetError(f"{file_name}: pixels must be numbers 0-255, found dtype {images.dtype}")
    flat = images.reshape(n, -1)
    if images.dtype.kind == "f":
        bad = ~np.isfinite(flat).all(axis=1)
        if bad.any():
            raise DatasetError(f"{file_name}: {where(int(np.argmax(bad)))} has NaN or infinite pixel values")
    low, high = flat.min(axis=1), flat.max(axis=1)
    out_of_range = (low < 0) | (high > 255)
    if out_of_range.any():
        index = int(np.argmax(out_of_range))
        raise DatasetError(f"{file_name}: pixel values must be 0-255 (or floats in 0-1); {where(index)} has "
                           f"values {low[index]:g} to {high[index]:g}")
    scale = 255.0 if images.dtype.kind == "f" and float(high.max()) <= 1.0 else 1.0
    pixels = np.empty(images.shape, dtype=np.uint8)
    for start in range(0, n, CONVERT_CHUNK):  # in chunks: no second full-size float copy
        pixels[start:start + CONVERT_CHUNK] = np.rint(images[start:start + CONVERT_CHUNK] * scale)
    return pixels


def checked_labels(labels: np.ndarray | None, n_images: int, file_name: str, n_classes: int, *,
                   where: Where = _image) -> np.ndarray:
    """``labels`` as ``int64 (n_images,)`` in ``0..n_classes-1``; ``None``: all -1 (unlabelled)."""
    if labels is None:
        return np.full(n_images, UNLABELLED, dtype=np.int64)
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n_images:
        raise DatasetError(f"{file_name}: labels have shape {labels.shape}, expected ({n_images},)")
    if labels.dtype.kind not in "iuf":
        raise DatasetError(f"{file_name}: labels must be whole numbers 0-{n_classes - 1}, found dtype {labels.dtype}")
    if labels.dtype.kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.round(labels))
        if bad.any():
            index = int(np.argmax(bad))
            raise DatasetError(f"{file_name}: labels must be whole numbers 0-{n_classes - 1}; {where(index)} "
                               f"has label {labels[index]:g}")
    outside = (labels < 0) | (labels >= n_classes)
    if outside.any():
        index = int(np.argmax(outside))
        raise DatasetError(f"{file_name}: labels must be 0-{n_classes - 1}; {where(index)} has label "
                           f"{labels[index]:g}")
    return labels.astype(np.int64)


def checked_pair(images: np.ndarray, labels: np.ndarray | None, file_name: str, n_classes: int, *,
                 min_images: int = MIN_IMAGES, where: Where = _image) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split, both checked: the one validation every loader calls."""
    if labels is not None and len(np.asarray(labels)) != len(images):
        raise DatasetError(f"{file_name}: {len(images)} images but {len(np.asarray(labels))} labels")
    checked = checked_images(images, file_name, min_images=0, where=where)
    checked_y = checked_labels(labels, len(checked), file_name, n_classes, where=where)
    if len(checked) < min_images:
        raise DatasetError(f"{file_name}: {len(checked)} image(s); a dataset needs at least {min_images}")
    return checked, checked_y
