"""The fast path: what the training loop runs in place of the plain Dense layers and Adam.

The maths is that of :class:`nnlib.layers.Dense`, the activations and
:class:`nnlib.optimizers.Adam`, which stay the reference a reader learns from; this module
holds every trick that makes an epoch faster, in one place:

* :class:`FastDense`: a Dense layer's products written into arrays kept from step to
  step (no new activation-sized arrays per step) and straight into the gradient arrays;
  optionally only the rows of ``W`` for input columns that are non-zero somewhere in the
  training set (MNIST's blank border pixels contribute nothing to ``x @ W``).
* In-place activations: ReLU and Tanh overwrite the output of the Dense or Conv2D layer
  before them, a temporary that nobody else reads, instead of allocating a new array.
* :class:`InputBlocks`: full-batch training runs the first layer on sorted row blocks,
  each without the pixel columns that are blank in all of its rows.
* :class:`FusedAdam`: Adam's update over all parameters at once (they live in one flat
  array, see :meth:`nnlib.model.Sequential._pack_parameters`), in cache-sized chunks,
  with rescaled moments that save two passes and a periodic flush of subnormal floats.

``tests/unit/test_fast.py`` checks each of them against the plain version: the same
weights after several training steps, to float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

import numpy as np

from .conv import Conv2D, MaxPool2D
from .fast_conv import FastConv2D, PassThrough, ReLUMaxPool
from .layers import Dense, Layer
from .model import Sequential
from .optimizers import Adam, Optimizer

# Adam's moment estimates of parameters whose gradient is exactly zero (weights from
# always-blank border pixels, dead ReLU units) decay geometrically towards 0 and soon
# become subnormal floats, which the CPU handles very slowly. Every FLUSH_EVERY steps,
# values below FLUSH_BELOW are set to exactly 0 (they are far below anything that moves
# a weight).
FLUSH_EVERY = 50
FLUSH_BELOW = 1e-30
# Elements per chunk of Adam's update: 5 arrays x 32k float32 = 640 KB, inside a 1 MB L2 cache.
CHUNK = 32_768
# Full batch: the first layer works on blocks of this many rows, each without the input
# columns that are blank in every row of the block (see InputBlocks).
INPUT_BLOCK_ROWS = 2048


class Runner(Protocol):
    """One layer as the fast path runs it: the layer protocol's forward and backward."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray: ...

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None: ...


# ---------------------------------------------------------------------- layers
class FastDense:
    """:class:`~nnlib.layers.Dense` with reused output arrays and, optionally, fewer inputs.

    ``active_inputs``: when given, ``forward`` also accepts inputs holding only those
    columns (the training loop drops columns that are zero in every training sample once,
    from the data) and multiplies by the matching rows of ``W`` only: the same result with
    less work. A full-width input works as usual. The arrays a training step returns are
    only valid until the next training step; ``training=False`` never uses the buffers.
    """

    def __init__(self, layer: Dense, active_inputs: np.ndarray | None = None) -> None:
        self.layer = layer
        self.active = None if active_inputs is None else np.asarray(active_inputs, dtype=np.intp)
        self._x: np.ndarray | None = None
        self._compact = False
        self._buffers: dict[str, np.ndarray] = {}

    def _buffer(self, key: str, rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
        buffer = self._buffers.get(key)
        if buffer is None or buffer.shape[0] < rows or buffer.shape[1] != cols or buffer.dtype != dtype:
            buffer = self._buffers[key] = np.empty((rows, cols), dtype=dtype)
        return buffer[:rows]

    def _weights(self) -> np.ndarray:
        weights = self.layer.params["W"]
        return weights[self.active] if self._compact else weights

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._x = x
        self._compact = self.active is not None and x.shape[1] == len(self.active) != self.layer.in_features
        weights = self._weights()
        if training and x.ndim == 2:
            y = np.matmul(x, weights, out=self._buffer("y", x.shape[0], weights.shape[1],
                                                      np.result_type(x, weights)))
        else:
            y = x @ weights
        y += self.layer.params["b"]
        return y

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        if self._x is None:
            raise RuntimeError("FastDense.backward called before forward")
        grads = self.layer.grads
        if self._compact:
            grads["W"][...] = 0
            grads["W"][self.active] = self._x.T @ grad_out
        else:
            np.matmul(self._x.T, grad_out, out=grads["W"])
        np.sum(grad_out, axis=0, out=grads["b"])
        if not input_grad:
            return None
        weights = self._weights()
        if grad_out.ndim == 2:
            return np.matmul(grad_out, weights.T, out=self._buffer("dx", grad_out.shape[0], weights.shape[0],
                                                                   np.result_type(grad_out, weights)))
        return grad_out @ weights.T


class InPlaceReLU:
    """ReLU that overwrites its input (a fresh Dense or Conv2D output) and its incoming gradient."""

    def __init__(self) -> None:
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = np.maximum(x, 0, out=x)
        return self._y

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        # grad_out is a temporary made by the layer above, so it can be written in place.
        return np.multiply(grad_out, self._y > 0, out=grad_out)


class InPlaceTanh:
    """Tanh that overwrites its input (a fresh Dense or Conv2D output)."""

    def __init__(self) -> None:
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = np.tanh(x, out=x)
        return self._y

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        y = self._y
        return grad_out * (1 - y * y)


IN_PLACE_ACTIVATIONS: dict[str, Callable[[], Runner]] = {"ReLU": InPlaceReLU, "Tanh": InPlaceTanh}


def _relu_pool_at(layers: Sequence[Layer], index: int) -> bool:
    """True when ``layers[index:index + 2]`` are ReLU, MaxPool2D (fused by the fast path), as after
    a Conv2D or a Conv2D's BatchNorm."""
    return (index >= 0 and index + 1 < len(layers) and layers[index].kind == "ReLU"
            and isinstance(layers[index + 1], MaxPool2D))


class FastPath:
    """A model's layers as the training loop runs them: :class:`FastDense` for Dense,
    :class:`~nnlib.fast_conv.FastConv2D` for Conv2D, one
    :class:`~nnlib.fast_conv.ReLUMaxPool` for a ReLU and the MaxPool2D after it,
    in-place activations after a layer with a fresh output, the layer itself otherwise.

    The runners share the layers' parameters and gradients, so an optimiser step sees
    no difference. ``active_inputs`` goes to the first layer when it is a Dense.
    """

    def __init__(self, model: Sequential, active_inputs: np.ndarray | None = None) -> None:
        self.model = model
        self.runners: list[Layer | Runner] = []
        layers = model.layers
        for index, layer in enumerate(layers):
            previous = layers[index - 1] if index else None
            runner: Layer | Runner
            if isinstance(layer, Dense):
                runner = FastDense(layer, active_inputs if index == 0 else None)
            elif isinstance(layer, Conv2D):
                runner = FastConv2D(layer)
            elif _relu_pool_at(layers, index):
                runner = PassThrough()                      # the ReLUMaxPool after it applies the ReLU
            elif isinstance(layer, MaxPool2D) and _relu_pool_at(layers, index - 1):
                runner = ReLUMaxPool(layer)
            elif previous is not None and previous.fresh_output and layer.kind in IN_PLACE_ACTIVATIONS:
                runner = IN_PLACE_ACTIVATIONS[layer.kind]()
            else:
                runner = layer
            self.runners.append(runner)
        for index, runner in enumerate(self.runners[:-2]):
            after = self.runners[index + 2]
            if isinstance(runner, FastConv2D) and isinstance(after, ReLUMaxPool) \
                    and isinstance(self.runners[index + 1], PassThrough):
                runner.pool = after.pool.pool          # its output comes in pooling order
        parametrised = [i for i, layer in enumerate(model.layers) if layer.params]
        self.first_trainable = parametrised[0] if parametrised else len(model.layers)

    def forward(self, x: np.ndarray, training: bool, start: int = 0) -> np.ndarray:
        """The logits for ``x`` (the input of layer ``start``, 0 for the network's input)."""
        for runner in self.runners[start:]:
            x = runner.forward(x, training)
        return x

    def backward(self, grad: np.ndarray, stop: int | None = None) -> np.ndarray | None:
        """Fill every gradient down to the first trainable layer (whose input gradient
        nobody needs), or down to layer ``stop`` and return dL/d(input of layer ``stop``)."""
        last = self.first_trainable if stop is None else stop
        for index in range(len(self.runners) - 1, last - 1, -1):
            grad = self.runners[index].backward(grad, input_grad=stop is not None or index > last)
        return grad


class InputBlocks:
    """The full training set as row blocks, each keeping only its own non-blank columns.

    With full-batch training the gradient is a sum over all samples, so their order does
    not matter: the rows are sorted once (by class, then by the width of the ink) so that
    similar images share a block, and each block of ``INPUT_BLOCK_ROWS`` rows drops the
    pixel columns that are zero in all of its rows. On MNIST a block then keeps about 530
    of 784 columns (against 707 for the set as a whole), and the first layer's products,
    ``x @ W`` forward and ``x.T @ g`` backward (the bulk of the work), shrink accordingly.
    The results are those of the whole-set products up to float summation order, and the
    same from run to run. ``y`` holds the labels in the sorted order.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, image_width: int | None) -> None:
        nonzero = x != 0
        if image_width and x.shape[1] % image_width == 0:
            width = nonzero.reshape(len(x), -1, image_width).any(axis=1).sum(axis=1)
        else:
            width = nonzero.sum(axis=1)
        self.order = np.lexsort((width, y))
        self.y = y[self.order]
        self.blocks: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        for start in range(0, len(x), INPUT_BLOCK_ROWS):
            rows = self.order[start:start + INPUT_BLOCK_ROWS]
            columns = np.flatnonzero(nonzero[rows].any(axis=0))
            block = np.ascontiguousarray(x[rows[:, None], columns])
            self.blocks.append((start, start + len(rows), columns, block))

    @staticmethod
    def fits(layer: Layer, x: np.ndarray) -> bool:
        """True when ``x`` is large enough for blocks to pay and ``layer`` is a Dense taking it."""
        return (isinstance(layer, Dense) and x.ndim == 2 and len(x) >= 2 * INPUT_BLOCK_ROWS
                and x.shape[1] == layer.in_features)

    @classmethod
    def of_images(cls, x: np.ndarray, y: np.ndarray) -> InputBlocks:
        """Blocks of flat square images (sorted by ink width) or of any rows."""
        side = math.isqrt(x.shape[1])
        return cls(x, y, side if side * side == x.shape[1] else None)

    def forward(self, layer: Dense, out: np.ndarray) -> np.ndarray:
        """``x @ W + b`` for the whole (sorted) set, written into ``out``."""
        weights = layer.params["W"]
        for start, stop, columns, block in self.blocks:
            np.matmul(block, weights[columns], out=out[start:stop])
        out += layer.params["b"]
        return out

    def backward(self, layer: Dense, grad_out: np.ndarray) -> None:
        """Fill ``layer.grads`` from dL/d(output) of the whole (sorted) set."""
        grad_w = layer.grads["W"]
        grad_w[...] = 0
        for start, stop, columns, block in self.blocks:
            grad_w[columns] += block.T @ grad_out[start:stop]
        np.sum(grad_out, axis=0, out=layer.grads["b"])


# ---------------------------------------------------------------------- Adam
class FusedAdam:
    r"""The update of :class:`~nnlib.optimizers.Adam`, over all parameters at once.

    Works on the flat arrays every parameter and gradient of a :class:`Sequential` are
    views into, in chunks of ``CHUNK`` elements so that the passes below reuse data from
    the CPU cache. It keeps ``M = m / (1 - b1)`` and ``V = v / (1 - b2)``, so that
    ``M <- b1 M + g`` and ``V <- b2 V + g^2`` (no scaling of ``g``), and folds every
    constant into one step size and one epsilon::

        k = sqrt((1 - b2) / (1 - b2^t))
        W <- W - [lr (1 - b1) / ((1 - b1^t) k)] * M / (sqrt(V) + eps / k)

    which is Adam's update, algebraically. The moments start from the Adam object's own
    state and go back into it with :meth:`write_back`, so a later ``fit`` (or the plain
    ``Adam.step``) carries on where this one stopped; ``adam.iterations`` and
    ``adam.learning_rate`` are read and advanced as usual.
    """

    def __init__(self, adam: Adam, model: Sequential) -> None:
        if model.flat_params is None or model.flat_grads is None:
            raise ValueError("FusedAdam needs a model whose parameters share one dtype (one flat array)")
        self.adam = adam
        self.params, self.grads = model.flat_params, model.flat_grads
        trainable = [layer for layer in model.layers if layer.params]
        self.weights = [(layer.params["W"], layer.grads["W"]) for layer in trainable if "W" in layer.params]
        self.spans = [(param, _span_in(self.params, param)) for layer in trainable for param in layer.params.values()]
        self.first_moment = np.zeros_like(self.params)
        self.second_moment = np.zeros_like(self.params)
        self.scratch = np.empty_like(self.params)
        for param, span in self.spans:
            state = adam.state_of(param)
            self.first_moment[span] = state["m"].reshape(-1) / (1 - adam.beta1)
            self.second_moment[span] = state["v"].reshape(-1) / (1 - adam.beta2)

    def write_back(self) -> None:
        """Return the moments to the Adam object's state (``m = (1 - b1) M``, ``v = (1 - b2) V``)."""
        for param, span in self.spans:
            state = self.adam.state_of(param)
            state["m"][...] = (self.first_moment[span] * (1 - self.adam.beta1)).reshape(param.shape)
            state["v"][...] = (self.second_moment[span] * (1 - self.adam.beta2)).reshape(param.shape)

    def step(self) -> None:
        """One Adam update of every parameter from its gradient."""
        adam = self.adam
        adam.iterations += 1
        if adam.l2:
            for param, grad in self.weights:
                grad += adam.l2 * param
        t, b1, b2 = adam.iterations, adam.beta1, adam.beta2
        k = math.sqrt((1 - b2) / (1 - b2 ** t))
        step_size = adam.learning_rate * (1 - b1) / ((1 - b1 ** t) * k)
        eps = adam.epsilon / k
        arrays = (self.params, self.grads, self.first_moment, self.second_moment, self.scratch)
        for start in range(0, self.params.size, CHUNK):
            p, g, m, v, s = (a[start:start + CHUNK] for a in arrays)
            m *= b1
            m += g                                  # M = b1 M + g
            np.square(g, out=s)
            v *= b2
            v += s                                  # V = b2 V + g^2
            np.sqrt(v, out=s)
            s += eps
            np.divide(m, s, out=s)
            s *= step_size
            p -= s
        if t % FLUSH_EVERY == 0:
            self.flush_subnormals()

    def flush_subnormals(self) -> None:
        """Set moment estimates smaller than FLUSH_BELOW to exactly zero."""
        for moment in (self.first_moment, self.second_moment):
            np.copyto(moment, 0, where=np.abs(moment) < FLUSH_BELOW)


def _span_in(flat: np.ndarray, view: np.ndarray) -> slice:
    """Where ``view`` (a contiguous view into the 1-D array ``flat``) lies in it."""
    offset = (view.__array_interface__["data"][0] - flat.__array_interface__["data"][0]) // flat.itemsize
    if not (offset >= 0 and offset + view.size <= flat.size and np.shares_memory(flat, view)):
        raise ValueError("a parameter array is not a view into the model's flat parameters")
    return slice(offset, offset + view.size)


@contextmanager
def fused_updates(optimizer: Optimizer, model: Sequential) -> Iterator[Callable[[], None]]:
    """The optimiser step the training loop calls: :class:`FusedAdam` for Adam (its moments
    written back to ``optimizer`` at the end), the optimiser's own ``step`` otherwise."""
    if type(optimizer) is Adam and model.flat_params is not None:
        fused = FusedAdam(optimizer, model)
        try:
            yield fused.step
        finally:
            fused.write_back()
    else:
        trainable: Sequence[Layer] = [layer for layer in model.layers if layer.params]
        yield lambda: optimizer.step(trainable)
