"""Layers: Dense, activations as layers, Dropout, Softmax.

Every layer follows one small protocol (as micrograd's ``Module`` and numpy-ml's
``LayerBase`` do):

* ``forward(x, training)`` maps a batch ``x`` of shape ``(n, features)`` (samples in
  rows) to the layer's output, and remembers what ``backward`` will need;
* ``backward(grad_out)`` takes dL/d(output) and returns dL/d(input), filling
  ``grads`` (same keys and shapes as ``params``) on the way;
* ``params`` / ``grads``: dicts of arrays keyed by name (``"W"``, ``"b"``), updated in
  place by the optimisers, saved as they are by :meth:`Sequential.save`;
* ``config()``: a JSON-able dict from which :func:`layer_from_config` rebuilds the layer.

Layers hold no optimiser state, and a layer keeps only what its backward pass needs
(its input for Dense, its output for the activations, the mask for Dropout).

A note on layout: the seed study kept samples in columns, ``Z = W @ A + b`` with
``W`` of shape ``(fan_out, fan_in)``. We keep samples in rows, ``Z = X @ W + b`` with
``W`` of shape ``(fan_in, fan_out)``: the same numbers, transposed, and what NumPy and
the rest of the ecosystem expect.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .initializers import get_initializer

DEFAULT_DTYPE = np.float32


class Layer:
    """Base class: a layer without parameters whose backward pass is the identity."""

    kind = "Layer"

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        # Set by Sequential when the input of this layer is a temporary that the layer may
        # overwrite (the output of a Dense layer): saves a full pass over memory.
        self.inplace = False

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out

    def config(self) -> dict[str, Any]:
        """JSON-able description of the layer (its kind and hyperparameters)."""
        return {"kind": self.kind}

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "kind")
        return f"{self.kind}({args})"


class Dense(Layer):
    """Fully connected layer: ``y = x @ W + b``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input and output; ``W`` has shape ``(in_features, out_features)``.
    init : str
        ``"he"`` (for ReLU), ``"glorot"`` (tanh/sigmoid), ``"seed"`` (the seed study's
        scaled random init) or ``"small"``; see :mod:`nnlib.initializers`.
    rng : numpy.random.Generator or int, optional
        Source of the random initial weights (seeded: same seed, same weights).
    dtype : numpy dtype
        float32 by default; float64 for gradient checks.

    Notes
    -----
    With ``g = dL/dy`` of shape ``(n, out)``, backpropagation is three products::

        dL/dW = x.T @ g          (in, out)
        dL/db = sum_rows(g)      (out,)
        dL/dx = g @ W.T          (n, in)

    The last one is skipped for the first layer of a network (nobody needs the gradient
    with respect to the pixels while training), which saves a third of that layer's work.
    """

    kind = "Dense"

    def __init__(self, in_features: int, out_features: int, init: str = "he",
                 rng: np.random.Generator | int | None = None,
                 dtype: Any = DEFAULT_DTYPE) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Dense needs positive sizes, got {in_features} -> {out_features}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = init
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(rng)
        weights, biases = get_initializer(init)(self.in_features, self.out_features, rng, self.dtype)
        self.params = {"W": weights, "b": biases}
        self.grads = {"W": np.zeros_like(weights), "b": np.zeros_like(biases)}
        self._x: np.ndarray | None = None
        self._active: np.ndarray | None = None
        self._compact = False
        # Output buffers reused from step to step while a training loop runs (see
        # reuse_buffers); empty otherwise.
        self._reuse = False
        self._buffers: dict[str, np.ndarray] = {}

    def reuse_buffers(self, on: bool) -> None:
        """While ``on``, training-mode ``forward`` and ``backward`` write their outputs into
        arrays kept from the previous call instead of new ones (and ``off`` frees them).

        The training loop turns this on, which saves allocating (and first touching) new
        activation-sized arrays at every step; the gain is small (a few per cent at most).
        The arrays a step returns are only valid until the next training step; inference
        (``training=False``) never uses the buffers.
        """
        self._reuse = bool(on)
        self._buffers = {}

    def _buffer(self, key: str, rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
        buffer = self._buffers.get(key)
        if buffer is None or buffer.shape[0] < rows or buffer.shape[1] != cols or buffer.dtype != dtype:
            buffer = self._buffers[key] = np.empty((rows, cols), dtype=dtype)
        return buffer[:rows]

    def restrict_inputs(self, active: np.ndarray | None) -> None:
        """Let ``forward`` accept inputs holding only the columns ``active`` (or undo it).

        Inputs that are zero in every training sample (MNIST's blank border pixels: 71 of
        784 in the seed study's 42,000 images) contribute nothing to ``x @ W`` and get zero
        gradient. The training loop drops them once from the data and the layer multiplies
        by the matching rows of ``W`` only: the same result with less work. A full-width
        input still works as usual.
        """
        self._active = None if active is None else np.asarray(active, dtype=np.intp)
        self._compact = False

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._x = x
        weights = self.params["W"]
        self._compact = self._active is not None and x.shape[1] == len(self._active) != self.in_features
        if self._compact:
            weights = weights[self._active]
        if training and self._reuse and x.ndim == 2:
            y = np.matmul(x, weights, out=self._buffer("y", x.shape[0], weights.shape[1],
                                                      np.result_type(x, weights)))
        else:
            y = x @ weights
        y += self.params["b"]
        return y

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Fill ``grads`` and return dL/dx (``None`` when ``input_grad`` is False)."""
        if self._x is None:
            raise RuntimeError("Dense.backward called before forward")
        if self._compact:
            self.grads["W"][...] = 0
            self.grads["W"][self._active] = self._x.T @ grad_out
        else:
            np.matmul(self._x.T, grad_out, out=self.grads["W"])
        np.sum(grad_out, axis=0, out=self.grads["b"])
        if not input_grad:
            return None
        weights = self.params["W"][self._active] if self._compact else self.params["W"]
        if self._reuse and grad_out.ndim == 2:
            return np.matmul(grad_out, weights.T, out=self._buffer("dx", grad_out.shape[0], weights.shape[0],
                                                                   np.result_type(grad_out, weights)))
        return grad_out @ weights.T

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "in_features": self.in_features,
                "out_features": self.out_features, "init": self.init}


class ReLU(Layer):
    """Rectified linear unit: ``y = max(x, 0)``; ``dy/dx = 1 where x > 0 else 0``."""

    kind = "ReLU"

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        y = np.maximum(x, 0, out=x if self.inplace else None)
        self._y = y
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        # grad_out is a temporary made by the layer above, so it can be written in place.
        return np.multiply(grad_out, self._y > 0, out=grad_out if self.inplace else None)


class LeakyReLU(Layer):
    """Leaky ReLU: ``y = x if x > 0 else alpha * x``; lets a little gradient through."""

    kind = "LeakyReLU"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"LeakyReLU alpha must be in [0, 1), got {alpha}")
        self.alpha = float(alpha)
        self._positive: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._positive = x > 0
        return np.where(self._positive, x, x * self.alpha)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return np.where(self._positive, grad_out, grad_out * self.alpha)

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "alpha": self.alpha}


class Sigmoid(Layer):
    """Logistic sigmoid: ``y = 1 / (1 + exp(-x))``; ``dy/dx = y (1 - y)``.

    Computed as ``0.5 * (1 + tanh(x / 2))``, which never overflows.
    """

    kind = "Sigmoid"

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        y = np.tanh(x * 0.5)
        y += 1
        y *= 0.5
        self._y = y
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self._y
        return grad_out * y * (1 - y)


class Tanh(Layer):
    """Hyperbolic tangent: ``y = tanh(x)``; ``dy/dx = 1 - y^2``."""

    kind = "Tanh"

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = np.tanh(x, out=x if self.inplace else None)
        return self._y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self._y
        return grad_out * (1 - y * y)


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``rate`` and
    scale the survivors by ``1 / (1 - rate)``, so that at inference nothing changes.

    The mask comes from the layer's own seeded Generator: same seed, same masks.
    """

    kind = "Dropout"

    def __init__(self, rate: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(rng)
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        mask = self.rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
        mask = (mask < keep).astype(x.dtype)
        mask *= 1.0 / keep
        self._mask = mask
        return x * mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        if self._mask is None:
            return grad_out
        return grad_out * self._mask

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "rate": self.rate}


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable: ``exp(z - max z) / sum exp(z - max z)``."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


class Softmax(Layer):
    """Softmax as a layer, for probabilities at the output.

    Training uses :class:`nnlib.losses.SoftmaxCrossEntropy` on the logits instead (the
    fused form is cheaper and stable), so a :class:`Sequential` ends with the last Dense.
    The Jacobian-vector product is ``dx = y * (g - sum(g * y, axis=1))``.
    """

    kind = "Softmax"

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = softmax(x)
        return self._y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self._y
        return y * (grad_out - np.sum(grad_out * y, axis=1, keepdims=True))


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}

LAYER_KINDS: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (Dense, ReLU, LeakyReLU, Sigmoid, Tanh, Dropout, Softmax)
}


def make_activation(name: str) -> Layer:
    """An activation layer by name: ``"relu"``, ``"leaky_relu"``, ``"sigmoid"``, ``"tanh"``."""
    try:
        return ACTIVATIONS[name.lower()]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}") from None


def all_layer_kinds() -> dict[str, type[Layer]]:
    """Every layer class by its ``kind``, the image layers of :mod:`nnlib.conv` included."""
    from .conv import Conv2D, Flatten, MaxPool2D, Reshape

    return {**LAYER_KINDS, **{cls.kind: cls for cls in (Reshape, Flatten, Conv2D, MaxPool2D)}}


def layer_from_config(config: dict[str, Any], dtype: Any = DEFAULT_DTYPE,
                      rng: np.random.Generator | None = None) -> Layer:
    """Rebuild a layer from :meth:`Layer.config` (weights are set separately)."""
    if not isinstance(config, dict) or "kind" not in config:
        raise ValueError(f"a layer config must be a dict with a 'kind', got {config!r}")
    kind = config["kind"]
    args = {k: v for k, v in config.items() if k != "kind"}
    kinds = all_layer_kinds()
    if kind not in kinds:
        raise ValueError(f"unknown layer kind {kind!r}; expected one of {sorted(kinds)}")
    if kind == "Dense":
        return Dense(int(args["in_features"]), int(args["out_features"]),
                     init=args.get("init", "he"), rng=rng, dtype=dtype)
    if kind == "Conv2D":
        return kinds[kind](int(args["in_channels"]), int(args["out_channels"]), int(args["kernel_size"]),
                           padding=int(args.get("padding", 0)), init=args.get("init", "he"), rng=rng, dtype=dtype)
    if kind == "Dropout":
        return Dropout(float(args.get("rate", 0.5)), rng=rng)
    return kinds[kind](**args)
