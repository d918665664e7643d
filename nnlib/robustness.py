"""How robust is an answer? Rotate, shift, scale and thicken a 28x28 digit and read it again.

The changes apply to the MNIST-style image (values 0-1, white ink on black, after
:func:`nnlib.imaging.to_mnist_style`), the picture the network really reads. Rotation,
scaling and shifting are one affine map (:func:`nnlib.augment.affine_transform`, bilinear);
thickening is a grey-level dilation: each pass makes every pixel the brightest of its 3x3
neighbourhood, which widens a stroke by about one pixel on each side.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .augment import affine_transform
from .calibration import calibrated_proba
from .model import Sequential
from .preprocessing import Scaler

SIDE = 28
MAX_THICKEN_PASSES = 5


def _checked_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.shape != (SIDE, SIDE):
        raise ValueError(f"expected a 28x28 image, got shape {image.shape}")
    return image


def thicken(image: np.ndarray, passes: int = 1) -> np.ndarray:
    """Grey dilation by a 3x3 square, ``passes`` times (0 returns a copy)."""
    if not 0 <= passes <= MAX_THICKEN_PASSES:
        raise ValueError(f"passes must be in 0..{MAX_THICKEN_PASSES}, got {passes}")
    out = _checked_image(image).copy()
    for _ in range(passes):
        padded = np.pad(out, 1)
        out = np.max([padded[r:r + SIDE, c:c + SIDE] for r in range(3) for c in range(3)], axis=0)
    return out


def transform_image(image: np.ndarray, rotation_deg: float = 0.0, shift: tuple[float, float] = (0.0, 0.0),
                    scale: float = 1.0, thicken_passes: int = 0) -> np.ndarray:
    """The digit rotated (degrees, counter-clockwise), scaled about the centre, shifted
    ``(right, down)`` in pixels and thickened; float32 ``(28, 28)`` in 0-1."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    moved = affine_transform(_checked_image(image)[None], np.asarray([shift], dtype=np.float32),
                             np.asarray([-math.radians(rotation_deg)]), np.asarray([scale]))[0]
    return np.clip(thicken(moved, thicken_passes), 0.0, 1.0)


def read_images(model: Sequential, scaler: Scaler, images: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, k)`` of 0-1 images ``(n, 28, 28)``, scaled as the model was
    trained (and with its fitted temperature, if any)."""
    images = np.asarray(images, dtype=np.float32)
    x = scaler.transform(images.reshape(len(images), SIDE * SIDE), already_unit=True).astype(np.float32)
    return calibrated_proba(model, x)


def rotation_curve(model: Sequential, scaler: Scaler, image: np.ndarray,
                   angles: Sequence[float]) -> np.ndarray:
    """Probabilities ``(len(angles), k)`` of the image rotated by each angle (degrees)."""
    turns = np.radians(-np.asarray(angles, dtype=np.float64))
    images = np.broadcast_to(_checked_image(image), (len(turns), *np.shape(image)))
    rotated = affine_transform(images, np.zeros((len(turns), 2), dtype=np.float32), turns, np.ones(len(turns)))
    return read_images(model, scaler, np.clip(rotated, 0.0, 1.0))
