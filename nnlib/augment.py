"""Random shifts, rotations, zooms and noise for digit images, a whole batch at a time.

Augmentation shows the network a slightly different version of each training image
every epoch, so it learns "a 7 is still a 7 when it sits two pixels to the left" instead
of memorising pixel positions. The changes are small on purpose: a digit rotated by
90 degrees is no longer the same digit (a 6 becomes a 9).

One affine map per image (rotate and scale about the image centre, then shift) is
applied to the whole batch in one vectorised step: every output pixel asks where it
came from in the source image and reads that point by bilinear interpolation. Points
that fall outside the source read the background (the darkest value of the batch:
0 for raw or 0-1 pixels, the standardised zero otherwise). Nothing loops over images
in Python, so a batch of 128 takes a few milliseconds.

Images keep their shape, dtype and range: ``uint8`` in 0-255 stays ``uint8``;
floats stay floats within the batch's own minimum and maximum. Batches may be images
``(n, 28, 28)`` or flat rows ``(n, 784)``, the layout the training loop uses.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE


@dataclass(frozen=True)
class AugmentConfig:
    """How strong each random change may be; all zero (the default) changes nothing.

    ``max_shift_px``: shift by up to this many pixels along each axis (uniform, sub-pixel).
    ``max_rotation_deg``: rotate by up to this many degrees either way.
    ``max_scale``: zoom by a factor drawn from ``[1 - max_scale, 1 + max_scale]``.
    ``noise_std``: add Gaussian noise with this standard deviation, as a fraction of
    the full intensity range (0.1 = 25.5 grey levels on 0-255 pixels).
    """

    max_shift_px: float = 0.0
    max_rotation_deg: float = 0.0
    max_scale: float = 0.0
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        for name in ("max_shift_px", "max_rotation_deg", "max_scale", "noise_std"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.max_scale >= 1:
            raise ValueError(f"max_scale must be below 1 (a zoom factor of 1 +/- max_scale), got {self.max_scale}")

    @property
    def is_identity(self) -> bool:
        """True when every strength is zero: augmenting returns the images unchanged."""
        return not (self.max_shift_px or self.max_rotation_deg or self.max_scale or self.noise_std)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentConfig:
        return cls(**{name: float(data.get(name, 0.0)) for name in cls.__dataclass_fields__})


# A mild setting that helps an MLP on MNIST (used by `make model` via the CLI's --augment).
DEFAULT_AUGMENT = AugmentConfig(max_shift_px=2.0, max_rotation_deg=10.0, max_scale=0.1, noise_std=0.0)


def random_affine_params(n: int, config: AugmentConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw per-image ``shift (n, 2)`` in pixels (x, y), ``angle (n,)`` in radians and ``scale (n,)``."""
    shift = rng.uniform(-1.0, 1.0, size=(n, 2)) * config.max_shift_px
    angle = np.deg2rad(rng.uniform(-1.0, 1.0, size=n) * config.max_rotation_deg)
    scale = 1.0 + rng.uniform(-1.0, 1.0, size=n) * config.max_scale
    return {"shift": shift, "angle": angle, "scale": scale}


def affine_transform(
    images: np.ndarray, shift: np.ndarray, angle: np.ndarray, scale: np.ndarray, fill: float = 0.0
) -> np.ndarray:
    """Rotate by ``angle`` and zoom by ``scale`` about the centre, then shift, by bilinear sampling.

    ``images``: ``(n, h, w)``. Returns float32 ``(n, h, w)``. For an output pixel ``p`` the
    source point is ``c + R(-angle) (p - c - shift) / scale`` with ``c`` the image centre;
    the value there blends the four nearest pixels, and sources outside the image read ``fill``.
    """
    n, height, width = images.shape
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    dx = cols.ravel()[None, :] - np.float32(centre_x) - shift[:, 0:1].astype(np.float32)  # (n, hw)
    dy = rows.ravel()[None, :] - np.float32(centre_y) - shift[:, 1:2].astype(np.float32)
    cos = (np.cos(angle) / scale).astype(np.float32)[:, None]
    sin = (np.sin(angle) / scale).astype(np.float32)[:, None]
    # Inverse rotation R(-angle) = [[cos, sin], [-sin, cos]], divided by the zoom.
    src_x = cos * dx + sin * dy + np.float32(centre_x)
    src_y = cos * dy - sin * dx + np.float32(centre_y)

    # Pad with one ring of `fill`: a source inside [-1, w) x [-1, h) then has all four
    # neighbours in the padded image. Sources further out read the fill corner only.
    inside = (src_x >= -1) & (src_x < width) & (src_y >= -1) & (src_y < height)
    src_x = np.where(inside, src_x, -1.0)
    src_y = np.where(inside, src_y, -1.0)
    x0 = np.floor(src_x)
    y0 = np.floor(src_y)
    wx = (src_x - x0).astype(np.float32)
    wy = (src_y - y0).astype(np.float32)
    stride = width + 2
    padded = np.full((n, height + 2, stride), fill, dtype=np.float32)
    padded[:, 1:-1, 1:-1] = images
    base = (y0.astype(np.int64) + 1) * stride + x0.astype(np.int64) + 1
    base += np.arange(n, dtype=np.int64)[:, None] * padded[0].size
    flat = padded.ravel()
    top = flat[base] * (1 - wx) + flat[base + 1] * wx
    bottom = flat[base + stride] * (1 - wx) + flat[base + stride + 1] * wx
    return (top * (1 - wy) + bottom * wy).reshape(n, height, width)


def augment_images(images: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """A randomly shifted, rotated, zoomed and noised copy of each image.

    ``images``: ``(n, 28, 28)`` or ``(n, 784)``, ``uint8`` (0-255) or float. Returns the same
    shape and dtype; values stay in 0-255 for ``uint8`` and within the batch's own
    ``[min, max]`` for floats. The same ``rng`` state gives the same result; a config of
    all zeros returns an unchanged copy without drawing from ``rng``.
    """
    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == PIXELS:
        squares = images.reshape(len(images), IMAGE_SIDE, IMAGE_SIDE)
    elif images.ndim == 3:
        squares = images
    else:
        raise ValueError(f"expected images of shape (n, 28, 28) or (n, 784), got {images.shape}")
    if config.is_identity or len(images) == 0:
        return images.copy()

    is_integer = np.issubdtype(images.dtype, np.integer)
    if is_integer:
        low, high = 0.0, 255.0
    else:
        low, high = float(squares.min()), float(squares.max())
    value_range = (high - low) or 1.0

    params = random_affine_params(len(squares), config, rng)
    out = affine_transform(squares, fill=low, **params)
    if config.noise_std:
        out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(config.noise_std * value_range)
    np.clip(out, low, high, out=out)
    if is_integer:
        out = np.rint(out)
    return out.astype(images.dtype).reshape(images.shape)


def make_augmenter(config: AugmentConfig | None) -> Callable[[np.ndarray, np.random.Generator], np.ndarray] | None:
    """The ``augment(x_batch, rng)`` callable that ``nnlib.training.fit`` takes, or None when off."""
    if config is None or config.is_identity:
        return None

    def augment(x_batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return augment_images(x_batch, config, rng)

    return augment
