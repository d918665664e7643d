"""Layers: Dense, activations as layers, Dropout, Softmax.

Every layer follows one small protocol (as micrograd's ``Module`` and numpy-ml's
``LayerBase`` do):

* ``forward(x, training)`` maps a batch ``x`` of shape ``(n, features)`` (samples in
  rows) to the layer's output, and remembers what ``backward`` will need;
* ``backward(grad_out, input_grad=True)`` takes dL/d(output) and returns dL/d(input),
  filling ``grads`` (same keys and shapes as ``params``) on the way; with
  ``input_grad=False`` it may skip dL/d(input) and return ``None`` (the first layer of a
  network: nobody needs the gradient with respect to the pixels);
* ``params`` / ``grads``: dicts of arrays keyed by name (``"W"``, ``"b"``), updated in
  place by the optimisers, saved as they are by :meth:`Sequential.save`;
* ``buffers``: arrays a layer keeps but does not train (BatchNorm's running averages),
  saved and loaded with the parameters; empty for most layers;
* ``config()``: a JSON-able dict from which :func:`layer_from_config` rebuilds the layer;
* ``input_features`` / ``output_features``: the width a layer takes or gives when it
  fixes one (Dense, Reshape), else ``None``; ``is_convolution`` marks image layers whose
  activations grow with the batch.

Every subclass registers itself under its ``kind`` (see :data:`LAYER_KINDS`), so a saved
network is rebuilt without a list of classes. The code here is the plain maths; the
training loop runs the same maths faster through :mod:`nnlib.fast`.

Layers hold no optimiser state, and a layer keeps only what its backward pass needs
(its input for Dense, its output for the activations, the mask for Dropout).

A note on layout: the seed study kept samples in columns, ``Z = W @ A + b`` with
``W`` of shape ``(fan_out, fan_in)``. We keep samples in rows, ``Z = X @ W + b`` with
``W`` of shape ``(fan_in, fan_out)``: the same numbers, transposed, and what NumPy and
the rest of the ecosystem expect.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import DTypeLike

from .initializers import get_initializer
from .losses import softmax

DEFAULT_DTYPE = np.float32

# Every layer class by its ``kind``, filled as classes are defined (Layer.__init_subclass__).
LAYER_KINDS: dict[str, type[Layer]] = {}


class Layer:
    """Base class: a layer without parameters whose backward pass is the identity."""

    kind: ClassVar[str] = "Layer"
    # True when ``forward`` returns a new array that nothing else holds, which the layer
    # after it may overwrite (the fast path's in-place activations rely on it).
    fresh_output: ClassVar[bool] = False
    is_convolution: ClassVar[bool] = False
    # True when the training forward treats every sample on its own and draws no random
    # numbers, so a batch may be split between threads (nnlib.split_batch).
    splittable: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            LAYER_KINDS[cls.kind] = cls

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}

    @property
    def input_features(self) -> int | None:
        """The input width this layer requires, or None when any width goes."""
        return None

    @property
    def output_features(self) -> int | None:
        """The output width this layer gives, or None when it follows the input."""
        return None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return grad_out

    def forget_forward(self) -> None:
        """Drop what ``forward`` kept for ``backward`` (its private arrays: the input, the output,
        masks), so a layer that only answers holds its parameters and no batch of data.

        Such a kept input is often a view of a whole dataset (a batch sliced from it), which
        it then keeps alive too. ``backward`` needs a new ``forward`` after this.
        """
        for name, value in list(vars(self).items()):
            if name.startswith("_") and (isinstance(value, np.ndarray) or (
                    isinstance(value, (list, tuple)) and any(isinstance(item, np.ndarray) for item in value))):
                setattr(self, name, None)

    def config(self) -> dict[str, Any]:
        """JSON-able description of the layer (its kind and hyperparameters)."""
        return {"kind": self.kind}

    @classmethod
    def from_config(cls, args: dict[str, Any], dtype: DTypeLike, rng: np.random.Generator | int | None) -> Layer:
        """The layer ``config()`` described (``args`` without the kind); weights are set separately."""
        return cls(**args)

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
    The training loop runs the same products with less memory traffic through
    :class:`nnlib.fast.FastDense`.
    """

    kind = "Dense"
    fresh_output = True

    def __init__(self, in_features: int, out_features: int, init: str = "he",
                 rng: np.random.Generator | int | None = None,
                 dtype: DTypeLike = DEFAULT_DTYPE) -> None:
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

    @property
    def input_features(self) -> int:
        return self.in_features

    @property
    def output_features(self) -> int:
        return self.out_features

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._x = x
        W, b = self.params["W"], self.params["b"]
        return x @ W + b

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Fill ``grads`` and return dL/dx (``None`` when ``input_grad`` is False)."""
        if self._x is None:
            raise RuntimeError("Dense.backward called before forward")
        x, W, g = self._x, self.params["W"], grad_out
        self.grads["W"][...] = x.T @ g
        self.grads["b"][...] = g.sum(axis=0)
        return g @ W.T if input_grad else None

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "in_features": self.in_features,
                "out_features": self.out_features, "init": self.init}

    @classmethod
    def from_config(cls, args: dict[str, Any], dtype: DTypeLike, rng: np.random.Generator | int | None) -> Dense:
        return cls(int(args["in_features"]), int(args["out_features"]), init=args.get("init", "he"),
                   rng=rng, dtype=dtype)


class ReLU(Layer):
    """Rectified linear unit: ``y = max(x, 0)``; ``dy/dx = 1 where x > 0 else 0``."""

    kind = "ReLU"

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = np.maximum(x, 0)
        return self._y

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        return grad_out * (self._y > 0)


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

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
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

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        y = self._y
        return grad_out * y * (1 - y)


class Tanh(Layer):
    """Hyperbolic tangent: ``y = tanh(x)``; ``dy/dx = 1 - y^2``."""

    kind = "Tanh"

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        y = self._y
        return grad_out * (1 - y * y)


class Dropout(Layer):
    """Inverted dropout: while training, zero each unit with probability ``rate`` and
    scale the survivors by ``1 / (1 - rate)``, so that at inference nothing changes.

    The mask comes from the layer's own seeded Generator: same seed, same masks.
    """

    kind = "Dropout"
    splittable = False          # one generator draws the masks of the whole batch

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

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        if self._mask is None:
            return grad_out
        return grad_out * self._mask

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "rate": self.rate}

    @classmethod
    def from_config(cls, args: dict[str, Any], dtype: DTypeLike, rng: np.random.Generator | int | None) -> Dropout:
        return cls(float(args.get("rate", 0.5)), rng=rng)


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

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray:
        y = self._y
        return y * (grad_out - np.sum(grad_out * y, axis=1, keepdims=True))


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}

def make_activation(name: str) -> Layer:
    """An activation layer by name: ``"relu"``, ``"leaky_relu"``, ``"sigmoid"``, ``"tanh"``."""
    try:
        return ACTIVATIONS[name.lower()]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}") from None


def layer_from_config(config: dict[str, Any], dtype: DTypeLike = DEFAULT_DTYPE,
                      rng: np.random.Generator | int | None = None) -> Layer:
    """Rebuild a layer from :meth:`Layer.config` (weights are set separately).

    Any kind registered in :data:`LAYER_KINDS` works; ``import nnlib`` registers them all
    (the image layers live in :mod:`nnlib.conv`).
    """
    if not isinstance(config, dict) or "kind" not in config:
        raise ValueError(f"a layer config must be a dict with a 'kind', got {config!r}")
    kind = config["kind"]
    if kind not in LAYER_KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; expected one of {sorted(LAYER_KINDS)}")
    args = {k: v for k, v in config.items() if k != "kind"}
    return LAYER_KINDS[kind].from_config(args, dtype, rng)
