"""The fast path of a CNN: what the training loop runs in place of Conv2D, ReLU and MaxPool2D.

The maths is that of :class:`nnlib.conv.Conv2D` and :class:`nnlib.conv.MaxPool2D`, which
stay the plain reference a reader learns from; this module holds the tricks that make a
CNN's epoch faster (``tests/unit/test_fast_conv.py`` checks each against the plain layers):

* :class:`FastConv2D`: the patch matrix is written once per step into an array kept from
  step to step, with a last column of ones so that one matrix product adds the bias in
  the forward pass and sums the bias gradient in the backward pass. For images with few
  channels (the first convolution: one) the patch matrix is stored transposed, one row
  per kernel position, so that it is built with image-long runs instead of many short
  ones, in one copy from a strided view of the images. The input gradient is ``k`` matrix
  products with a block-Toeplitz matrix made of the kernels ("one product per kernel row"),
  whose results are added onto whole image rows: long, contiguous additions instead of
  ``k * k`` strided ones (col2im).
  When a ReLU and a max-pooling follow (:attr:`FastConv2D.pool`), the patch rows, and so
  the output rows, come in *pooling order*: ``(p * p, n, h / p, w / p, filters)``, one block
  per position in the pooling window, so that the pooling compares whole contiguous blocks
  instead of strided views. Output positions that no window covers (an odd edge) are not computed at all:
  their gradient is zero. A row-major patch matrix is then built and multiplied one block at a
  time, each block while it is still in the CPU cache (3-5% of a step on the MNIST CNN).
* :class:`ReLUMaxPool`: a ReLU followed by a max-pooling, in one runner. ReLU and max
  commute, ``relu(max(window)) = max(relu(window))``, so it pools first and applies the
  ReLU to the pooled map, four times smaller; the gradient goes to each window's first
  largest value where that value is positive, exactly as the two plain layers give it.

The arrays a training step returns are only valid until the next training step;
``training=False`` runs the plain layers and keeps nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from .conv import Conv2D, MaxPool2D

# Below this many input channels the patch matrix is stored transposed (rows = kernel
# positions): its k * k * channels copies are then image-sized, not channel-sized.
TRANSPOSED_PATCHES_BELOW = 4
# The input gradient's block-Toeplitz products cover the input columns in blocks this share
# of a kernel wide. Narrower blocks multiply by fewer zeros but make more, smaller products;
# half a kernel (3 columns for 5x5 kernels on 12-wide maps) measured fastest, 20% ahead of 6.
TOEPLITZ_BLOCK_SHARE = 0.5


def _reused(buffers: dict[str, np.ndarray], key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An array of ``shape`` kept in ``buffers`` under ``key``, reallocated only when it changes."""
    buffer = buffers.get(key)
    if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
        buffer = buffers[key] = np.empty(shape, dtype=dtype)
    return buffer


class FastConv2D:
    """:class:`~nnlib.conv.Conv2D` for training: reused patch matrix, bias in the product,
    input gradient by row-wise block-Toeplitz products."""

    def __init__(self, layer: Conv2D) -> None:
        self.layer = layer
        k, c = layer.kernel_size, layer.in_channels
        self.patch_size = k * k * c
        self.transposed = c < TRANSPOSED_PATCHES_BELOW
        self._buffers: dict[str, np.ndarray] = {}
        self._patches: np.ndarray | None = None     # (rows, patch + 1), possibly a transposed view
        self._padded_shape: tuple[int, ...] | None = None
        # The size of the max-pooling window after this layer when its output comes in
        # pooling order (set by the fast path; 0: plain ``(n, h', w', filters)`` order).
        self.pool = 0

    def _pooled_sides(self, height: int, width: int) -> tuple[int, int]:
        """The pooled map's height and width for an output of ``height x width``."""
        return height // self.pool, width // self.pool

    # -------------------------------------------------------------- forward
    def _patch_matrix(self, x: np.ndarray) -> tuple[np.ndarray, Iterator[slice]]:
        """im2col with a column of ones: ``(n * h' * w', k * k * c + 1)``, in a reused buffer.

        Returns the matrix and an iterator that fills it: each step writes a range of rows
        and yields it, so that the caller can multiply those rows while they are still in
        the CPU cache (one range per pooling-window position, or all rows at once).
        """
        k = self.layer.kernel_size
        n, height, width = x.shape[:3]
        h, w = height - k + 1, width - k + 1
        rows, size = n * h * w, self.patch_size
        if self.pool:
            h2, w2 = self._pooled_sides(h, w)
            rows = self.pool * self.pool * n * h2 * w2
        if self.transposed:
            stored = _reused(self._buffers, "patchesT", (size + 1, rows), x.dtype)
            return stored.T, self._fill_transposed(x, stored)
        stored = _reused(self._buffers, "patches", (rows, size + 1), x.dtype)
        return stored, self._fill_rows(x, stored)

    def _fill_transposed(self, x: np.ndarray, stored: np.ndarray) -> Iterator[slice]:
        """Fill the transposed patch matrix ``(k * k * c + 1, rows)`` with one copy from a strided
        view of the images (one call, not one per kernel position: fewer hand-overs of Python's
        lock between the threads of a split batch)."""
        k, c = self.layer.kernel_size, self.layer.in_channels
        n, height, width = x.shape[:3]
        h, w = height - k + 1, width - k + 1
        size = self.patch_size
        image, row, column, channel = x.strides
        shape: tuple[int, ...]
        strides: tuple[int, ...]
        if self.pool:
            p = self.pool
            h2, w2 = self._pooled_sides(h, w)
            # positions[i, j, ch, di, dj, m, a, b] = x[m, p * a + di + i, p * b + dj + j, ch]
            shape = (k, k, c, p, p, n, h2, w2)
            strides = (row, column, channel, row, column, image, p * row, p * column)
        else:
            shape, strides = (k, k, c, n, h, w), (row, column, channel, image, row, column)
        np.copyto(stored[:size].reshape(shape), as_strided(x, shape, strides, writeable=False))
        stored[size] = 1
        yield slice(0, stored.shape[1])

    def _fill_rows(self, x: np.ndarray, stored: np.ndarray) -> Iterator[slice]:
        """Fill the row-major patch matrix, one block of rows per pooling-window position."""
        k, c = self.layer.kernel_size, self.layer.in_channels
        size = self.patch_size
        windows = sliding_window_view(x, (k, k), axis=(1, 2))  # (n, h', w', c, k, k), no copy
        stored[:, size] = 1
        if not self.pool:
            n, h, w = windows.shape[:3]
            np.copyto(stored[:, :size].reshape(n, h, w, k, k, c), windows.transpose(0, 1, 2, 4, 5, 3))
            yield slice(0, len(stored))
            return
        p = self.pool
        n = len(x)
        h2, w2 = self._pooled_sides(windows.shape[1], windows.shape[2])
        block_rows = n * h2 * w2
        blocks = stored[:, :size].reshape(p, p, n, h2, w2, k, k, c)
        for di in range(p):
            for dj in range(p):
                np.copyto(blocks[di, dj], windows[:, di:h2 * p:p, dj:w2 * p:p].transpose(0, 1, 2, 4, 5, 3))
                start = (di * p + dj) * block_rows
                yield slice(start, start + block_rows)

    def _weights_with_bias(self, dtype: np.dtype) -> np.ndarray:
        """``W`` as a ``(k * k * c, filters)`` matrix with ``b`` as one more row."""
        layer = self.layer
        weights = _reused(self._buffers, "weights", (self.patch_size + 1, layer.out_channels), dtype)
        weights[:-1] = layer.params["W"].reshape(self.patch_size, layer.out_channels)
        weights[-1] = layer.params["b"]
        return weights

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        layer = self.layer
        if not training:
            return layer.forward(x)
        if x.ndim != 4 or x.shape[3] != layer.in_channels:
            raise ValueError(f"Conv2D expects (n, height, width, {layer.in_channels}) images, got {x.shape}")
        p, k = layer.padding, layer.kernel_size
        if p:
            x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        if x.shape[1] < k or x.shape[2] < k:
            raise ValueError(f"images of {x.shape[1]}x{x.shape[2]} are smaller than the {k}x{k} kernel")
        dtype = np.result_type(x, layer.params["W"])
        self._padded_shape = x.shape
        patches, filled_rows = self._patch_matrix(x.astype(dtype, copy=False))
        self._patches = patches
        n, h, w = len(x), x.shape[1] - k + 1, x.shape[2] - k + 1
        out = _reused(self._buffers, "out", (len(patches), layer.out_channels), dtype)
        weights = self._weights_with_bias(dtype)
        for rows in filled_rows:                     # multiply each part while it is in cache
            np.matmul(patches[rows], weights, out=out[rows])
        if self.pool:
            return out.reshape(self.pool * self.pool, n, *self._pooled_sides(h, w), layer.out_channels)
        return out.reshape(n, h, w, layer.out_channels)

    # -------------------------------------------------------------- backward
    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Fill ``grads``; return dL/dx (``None`` when ``input_grad`` is False)."""
        if self._patches is None or self._padded_shape is None:
            raise RuntimeError("FastConv2D.backward called before a training forward")
        layer = self.layer
        filters = layer.out_channels
        g = np.ascontiguousarray(grad_out).reshape(-1, filters)
        if self.transposed:                         # dL/dW and, from the row of ones, dL/db
            both = _reused(self._buffers, "grads", (self.patch_size + 1, filters), g.dtype)
            # np.dot, not np.matmul: matmul keeps the GIL for an output this small (under 500
            # numbers), which would stall the other thread of a split batch for the whole product.
            np.dot(self._patches.T, g, out=both)
        else:                                       # row-major patches: this order multiplies faster
            both = _reused(self._buffers, "gradsT", (filters, self.patch_size + 1), g.dtype)
            np.matmul(g.T, self._patches, out=both)
            both = both.T
        layer.grads["W"][...] = both[:-1].reshape(layer.grads["W"].shape)
        layer.grads["b"][...] = both[-1]
        if not input_grad:
            return None
        if grad_out.ndim == 5:
            grad_out = self._from_pooling_order(grad_out)
        grad_x = self._input_gradient(np.ascontiguousarray(grad_out))
        p = layer.padding
        return grad_x[:, p:grad_x.shape[1] - p, p:grad_x.shape[2] - p, :] if p else grad_x

    def _from_pooling_order(self, grad: np.ndarray) -> np.ndarray:
        """A gradient in pooling order ``(p * p, n, h2, w2, f)`` as ``(n, h', w', f)``, zero
        where no pooling window reached."""
        if self._padded_shape is None:
            raise RuntimeError("FastConv2D.backward called before a training forward")
        k, p = self.layer.kernel_size, self.pool
        n, height, width = self._padded_shape[:3]
        h, w = height - k + 1, width - k + 1
        h2, w2, f = grad.shape[2], grad.shape[3], grad.shape[4]
        plain = _reused(self._buffers, "plain_grad", (n, h, w, f), grad.dtype)
        plain[:, h2 * p:], plain[:, :h2 * p, w2 * p:] = 0, 0
        covered = plain[:, :h2 * p, :w2 * p].reshape(n, h2, p, w2, p, f)
        np.copyto(covered, grad.reshape(p, p, n, h2, w2, f).transpose(2, 3, 0, 4, 1, 5))
        return plain

    def _input_gradient(self, grad_out: np.ndarray) -> np.ndarray:
        r"""dL/d(padded input), one image row at a time.

        Output row ``r`` reads input rows ``r .. r + k - 1``; kernel row ``i`` maps output row
        ``r`` (all its columns and filters, ``w' * f`` numbers) onto input row ``r + i`` (all its
        columns and channels, ``W * c``) by the matrix ``T_i[(x', f), (x, c)] = W[i, x - x', c, f]``
        (zero unless ``0 <= x - x' < k``). So ``dX[:, r + i] += dY[:, r] @ T_i.T``-like products,
        one per kernel row, added onto whole rows. The output columns are cut into blocks so
        that each product only spans the columns its block can reach.
        """
        layer = self.layer
        k, c, f = layer.kernel_size, layer.in_channels, layer.out_channels
        n, h, w = grad_out.shape[:3]
        height, width = self._padded_shape[1:3]
        block = self._column_block()
        blocks = math.ceil(width / block)
        grad_rows = grad_out.reshape(n * h, w * f)
        # Every block's product lands in one array, so that each kernel row's contributions to
        # all the image are one addition. The image is widened to whole blocks: columns past its
        # edge receive nothing (no kernel reaches them) and are cut off on return.
        products = _reused(self._buffers, "products", (blocks, n * h, k * block * c), grad_out.dtype)
        kernels = layer.params["W"].transpose(3, 0, 1, 2)  # (f, i, j, c)
        for number in range(blocks):
            start, stop = number * block, (number + 1) * block
            first, last = max(0, start - k + 1), min(w, stop)         # output columns reaching the block
            toeplitz = _reused(self._buffers, f"toeplitz{start}", ((last - first) * f, k, block, c), grad_out.dtype)
            toeplitz[...] = 0
            for column in range(first, last):
                # the kernel columns j with start <= column + j < stop
                lo, hi = max(0, start - column), min(k, stop - column)
                toeplitz[(column - first) * f:(column - first + 1) * f, :, column + lo - start:column + hi - start] = \
                    kernels[:, :, lo:hi]
            np.matmul(grad_rows[:, first * f:last * f], toeplitz.reshape((last - first) * f, -1), out=products[number])
        contributions = products.reshape(blocks, n, h, k, block * c).transpose(1, 2, 0, 3, 4)  # (n, h, blocks, i, .)
        grad_x = _reused(self._buffers, "grad_x", (n, height, blocks * block, c), grad_out.dtype)
        image_rows = grad_x.reshape(n, height, blocks, block * c)
        image_rows[:, h:] = 0                        # the rows that kernel row 0 does not reach
        np.copyto(image_rows[:, :h], contributions[:, :, :, 0])
        for i in range(1, k):
            image_rows[:, i:i + h] += contributions[:, :, :, i]
        return grad_x[:, :, :width] if blocks * block != width else grad_x

    def _column_block(self) -> int:
        """How many input columns each of the input gradient's products covers."""
        return max(2, math.ceil(self.layer.kernel_size * TOEPLITZ_BLOCK_SHARE))


class PassThrough:
    """A layer whose work another runner does (the ReLU that :class:`ReLUMaxPool` applies)."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        return grad_out


class ReLUMaxPool:
    """ReLU then :class:`~nnlib.conv.MaxPool2D` in one runner: pool, then ReLU on the pooled map."""

    def __init__(self, pool: MaxPool2D) -> None:
        self.pool = pool
        self._buffers: dict[str, np.ndarray] = {}
        self._x: np.ndarray | None = None
        self._masks: list[np.ndarray] = []

    def _views(self, x: np.ndarray) -> list[np.ndarray]:
        """One view per window position: whole blocks for an input in pooling order
        (``(p * p, n, h, w, c)``, see :attr:`FastConv2D.pool`), strided views otherwise."""
        return list(x) if x.ndim == 5 else self.pool._views(x)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 4 and not (training and x.ndim == 5):
            raise ValueError(f"MaxPool2D expects (n, height, width, channels), got {x.shape}")
        if not training:
            return self.pool.forward(np.maximum(x, 0))
        self._x = x
        if x.ndim == 5:
            return self._forward_blocks(x)
        views = self._views(x)
        out = _reused(self._buffers, "out", views[0].shape, x.dtype)
        np.copyto(out, views[0])
        for view in views[1:]:
            np.maximum(out, view, out=out)
        self._masks = self._first_positive_maxima(views, out)
        return np.maximum(out, 0, out=out)

    def _forward_blocks(self, x: np.ndarray) -> np.ndarray:
        """The forward pass on an input in pooling order, each step one operation over all the
        window positions at once (fewer calls than the per-position loop, so fewer hand-overs of
        Python's lock between the threads of a split batch): the same maxima and masks."""
        out = _reused(self._buffers, "out", x.shape[1:], x.dtype)
        np.maximum.reduce(x, axis=0, out=out)
        masks = _reused(self._buffers, "masks", x.shape, np.dtype(bool))
        np.equal(x, out, out=masks)                  # every position holding its window's maximum
        if len(x) > 1:                               # keep only the first of them: not seen before
            seen = _reused(self._buffers, "seen", (len(x) - 1, *x.shape[1:]), np.dtype(bool))
            np.copyto(seen[0], masks[0])             # (logical_or.accumulate: element by element, slow)
            for index in range(1, len(seen)):
                np.logical_or(seen[index - 1], masks[index], out=seen[index])
            np.greater(masks[1:], seen, out=masks[1:])
        positive = _reused(self._buffers, "positive", out.shape, np.dtype(bool))
        np.logical_and(masks, np.greater(out, 0, out=positive), out=masks)   # a ReLU passes nothing below 0
        self._masks = [masks]
        return np.maximum(out, 0, out=out)

    def _first_positive_maxima(self, views: list[np.ndarray], out: np.ndarray) -> list[np.ndarray]:
        """One boolean mask per window position: where it holds the window's first largest
        value and that value is positive (a ReLU passes no gradient below zero)."""
        taken = _reused(self._buffers, "taken", out.shape, np.dtype(bool))
        np.less_equal(out, 0, out=taken)
        masks = []
        for index, view in enumerate(views):
            mask = _reused(self._buffers, f"mask{index}", out.shape, np.dtype(bool))
            np.equal(view, out, out=mask)
            np.greater(mask, taken, out=mask)           # mask and not taken
            if index < len(views) - 1:
                np.logical_or(taken, mask, out=taken)
            masks.append(mask)
        return masks

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("ReLUMaxPool.backward called before a training forward")
        p = self.pool.pool
        grad = _reused(self._buffers, "grad", self._x.shape, grad_out.dtype)
        if grad.ndim == 5:                           # pooling order: one product over all positions
            return np.multiply(grad_out, self._masks[0], out=grad)
        if grad.ndim == 4:
            h, w = grad_out.shape[1] * p, grad_out.shape[2] * p
            grad[:, h:], grad[:, :h, w:] = 0, 0  # rows and columns that no window covers
        for mask, view in zip(self._masks, self._views(grad)):
            np.multiply(grad_out, mask, out=view)
        return grad
