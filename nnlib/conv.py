"""Layers for images: Reshape, Flatten, Conv2D and MaxPool2D, for a small CNN on MNIST.

Images travel as ``(n, height, width, channels)`` arrays ("NHWC", channels last), so a
convolution is one matrix product: every ``k x k x channels`` patch becomes a row of a
matrix ("im2col", built with NumPy's ``sliding_window_view`` and one copy), multiplied by
the kernels reshaped to ``(k * k * channels, filters)``. The result is already NHWC,
with no transpose. Backward is two more products: ``cols.T @ g`` for the kernels and
``g @ W.T`` for the patches, which are added back onto the image they came from
("col2im": for each of the ``k * k`` kernel positions, a small product added onto the
shifted image). The rest of nnlib sees flat ``(n, 784)`` rows:
a :class:`Reshape` turns them into images at the start of the network, a :class:`Flatten`
turns feature maps back into rows before the Dense layers.

This is the plain maths. The training loop runs the same layers through
:mod:`nnlib.fast_conv` (reused arrays, the bias inside the product, the input gradient by
whole image rows, ReLU fused with max-pooling), tested equal to these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import DTypeLike

from .initializers import get_initializer
from .layers import DEFAULT_DTYPE, Layer


class Reshape(Layer):
    """Give each sample the shape ``shape`` (e.g. ``(28, 28, 1)`` for flat MNIST rows)."""

    kind = "Reshape"

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        if not self.shape or any(s < 1 for s in self.shape):
            raise ValueError(f"Reshape needs positive sizes, got {self.shape}")
        self._input_shape: tuple[int, ...] | None = None

    @property
    def size(self) -> int:
        """Numbers per sample: the product of ``shape``."""
        return math.prod(self.shape)

    @property
    def input_features(self) -> int:
        return self.size

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if math.prod(x.shape[1:]) != self.size:
            raise ValueError(f"cannot reshape samples of shape {x.shape[1:]} to {self.shape}")
        self._input_shape = x.shape
        return x.reshape((len(x), *self.shape))

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        return grad_out.reshape(self._input_shape)

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape)}


class Flatten(Layer):
    """Feature maps ``(n, h, w, c)`` to rows ``(n, h * w * c)`` for the Dense layers."""

    kind = "Flatten"

    def __init__(self) -> None:
        super().__init__()
        self._input_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._input_shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        return grad_out.reshape(self._input_shape)


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every deep-learning library), stride 1.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input images and number of filters.
    kernel_size : int
        Side ``k`` of the square kernels; ``W`` has shape ``(k, k, in_channels, out_channels)``.
    padding : int
        Zeros added on every side: 0 ("valid") shrinks the image by ``k - 1``;
        ``(k - 1) // 2`` keeps its size for odd ``k`` ("same").
    init : str
        As for :class:`~nnlib.layers.Dense`, with ``fan_in = k * k * in_channels``.
    """

    kind = "Conv2D"
    fresh_output = True
    is_convolution = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, padding: int = 0,
                 init: str = "he", rng: np.random.Generator | int | None = None,
                 dtype: DTypeLike = DEFAULT_DTYPE) -> None:
        super().__init__()
        if min(in_channels, out_channels, kernel_size) < 1 or padding < 0:
            raise ValueError(f"Conv2D needs positive sizes and padding >= 0, got {in_channels} -> "
                             f"{out_channels}, kernel {kernel_size}, padding {padding}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.padding, self.init = int(kernel_size), int(padding), init
        self.dtype = np.dtype(dtype)
        k = self.kernel_size
        weights, biases = get_initializer(init)(k * k * self.in_channels, self.out_channels,
                                                np.random.default_rng(rng), self.dtype)
        self.params = {"W": weights.reshape(k, k, self.in_channels, self.out_channels), "b": biases}
        self.grads = {"W": np.zeros_like(self.params["W"]), "b": np.zeros_like(biases)}
        self._cols: np.ndarray | None = None
        self._padded_shape: tuple[int, ...] | None = None

    def output_side(self, side: int) -> int:
        """Height (or width) of the output for an input of this height (or width)."""
        return side + 2 * self.padding - self.kernel_size + 1

    def _patches(self, x: np.ndarray) -> np.ndarray:
        """im2col: ``(n * h' * w', k * k * c)``, one row per output pixel."""
        if x.ndim != 4 or x.shape[3] != self.in_channels:
            raise ValueError(f"Conv2D expects (n, height, width, {self.in_channels}) images, got {x.shape}")
        p = self.padding
        if p:
            x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        k = self.kernel_size
        if x.shape[1] < k or x.shape[2] < k:
            raise ValueError(f"images of {x.shape[1]}x{x.shape[2]} are smaller than the {k}x{k} kernel")
        self._padded_shape = x.shape
        windows = sliding_window_view(x, (k, k), axis=(1, 2))  # (n, h', w', c, k, k), no copy
        n, h, w = windows.shape[:3]
        return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * w, k * k * self.in_channels)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        cols = self._patches(x)
        self._cols = cols
        n, h = len(x), self.output_side(x.shape[1])
        w = self.output_side(x.shape[2])
        y = cols @ self.params["W"].reshape(-1, self.out_channels)
        y += self.params["b"]
        return y.reshape(n, h, w, self.out_channels)

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Fill ``grads``; return dL/dx (``None`` when ``input_grad`` is False)."""
        if self._cols is None:
            raise RuntimeError("Conv2D.backward called before forward")
        g = grad_out.reshape(-1, self.out_channels)
        np.matmul(self._cols.T, g, out=self.grads["W"].reshape(-1, self.out_channels))
        np.sum(g, axis=0, out=self.grads["b"])
        if not input_grad:
            return None
        k, c = self.kernel_size, self.in_channels
        n, h, w = grad_out.shape[:3]
        # col2im, one kernel position at a time: the patch gradients of position (i, j) are
        # g @ W[i, j].T, added onto the input shifted by (i, j). 25 small products into one
        # reused buffer beat one big product followed by 25 strided additions (4 vs 8-12 ms
        # for the second convolution of the default CNN, batch 128).
        weights_t = self.params["W"].transpose(0, 1, 3, 2)  # (k, k, out, in), a view
        grad_x = np.zeros(self._padded_shape, dtype=np.result_type(g, weights_t))
        part = np.empty((len(g), c), dtype=grad_x.dtype)
        for i in range(k):
            for j in range(k):
                np.matmul(g, weights_t[i, j], out=part)
                grad_x[:, i:i + h, j:j + w, :] += part.reshape(n, h, w, c)
        p = self.padding
        return grad_x[:, p:grad_x.shape[1] - p, p:grad_x.shape[2] - p, :] if p else grad_x

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": self.kernel_size, "padding": self.padding, "init": self.init}

    @classmethod
    def from_config(cls, args: dict[str, Any], dtype: DTypeLike, rng: np.random.Generator | int | None) -> Conv2D:
        return cls(int(args["in_channels"]), int(args["out_channels"]), int(args["kernel_size"]),
                   padding=int(args.get("padding", 0)), init=args.get("init", "he"), rng=rng, dtype=dtype)


class MaxPool2D(Layer):
    """Largest value of each ``pool x pool`` window (stride ``pool``); halves the image for 2.

    Rows or columns left over when the side is not a multiple of ``pool`` are dropped, as
    in Keras and PyTorch. The gradient goes to the first largest value of each window (in
    row-major order), found in the training forward pass. Both passes work on the
    ``pool * pool`` strided views of the input (one per position in the window), with no
    copy of the input.
    """

    kind = "MaxPool2D"

    def __init__(self, pool: int = 2) -> None:
        super().__init__()
        if pool < 1:
            raise ValueError(f"MaxPool2D needs pool >= 1, got {pool}")
        self.pool = int(pool)
        self._x: np.ndarray | None = None
        self._out: np.ndarray | None = None
        self._masks: list[np.ndarray] | None = None

    def _views(self, x: np.ndarray) -> list[np.ndarray]:
        """The ``pool * pool`` views ``(n, h, w, c)``: position (i, j) of every window."""
        p = self.pool
        n, height, width, c = x.shape
        h, w = height // p, width // p
        windows = x[:, :h * p, :w * p, :].reshape(n, h, p, w, p, c)
        return [windows[:, :, i, :, j, :] for i in range(p) for j in range(p)]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 4:
            raise ValueError(f"MaxPool2D expects (n, height, width, channels), got {x.shape}")
        views = self._views(x)
        out = views[0].copy()
        for view in views[1:]:
            np.maximum(out, view, out=out)
        self._x, self._out = x, out
        # Training needs the backward pass: find the winners now, while x is in the cache.
        self._masks = self._first_maxima() if training else None
        return out

    def _first_maxima(self) -> list[np.ndarray]:
        """One boolean mask per window position: where that position holds the window's
        first largest value (exactly one True per window)."""
        taken = None
        masks = []
        for view in self._views(self._x):
            mask = view == self._out
            if taken is None:
                taken = mask.copy()
            else:
                mask &= ~taken
                taken |= mask
            masks.append(mask)
        return masks

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("MaxPool2D.backward called before forward")
        masks = self._masks if self._masks is not None else self._first_maxima()
        p = self.pool
        grad = np.empty(self._x.shape, dtype=grad_out.dtype)
        h, w = self._out.shape[1] * p, self._out.shape[2] * p
        grad[:, h:], grad[:, :h, w:] = 0, 0  # rows and columns that no window covers
        for mask, view in zip(masks, self._views(grad)):
            np.multiply(grad_out, mask, out=view)
        return grad

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "pool": self.pool}
