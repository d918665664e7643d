"""Inside a network: every layer's values for some inputs, and one step of learning.

Nothing here is new maths. :func:`forward_trace` runs the model's own layers (their plain
``forward`` from :mod:`nnlib.layers` and :mod:`nnlib.conv`, not the training loop's fast
path) and keeps what each one gave; :func:`training_step` runs their ``backward`` after the
fused softmax cross-entropy and keeps every gradient on the way back, then (only when asked)
moves the weights by one plain SGD step; :func:`explain_conv_pixel` writes out how one value
of a feature map was computed (batch norm included, when the model has one). They exist so that a page can show a network at work and a
test can check the numbers against a NumPy forward/backward written out by hand.

Layout: samples in rows, as everywhere in nnlib (``(n, 784)``; images ``(n, h, w, c)``).
The seed study wrote the same network with samples in columns (``X: (784, m)``,
``W1: (256, 784)``): the same numbers, transposed.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from .conv import Conv2D, MaxPool2D
from .layers import ACTIVATIONS, Layer, layer_from_config
from .losses import SoftmaxCrossEntropy, softmax
from .model import Sequential
from .normalization import BatchNorm
from .optimizers import SGD

ACTIVATION_KINDS = frozenset(cls.kind for cls in ACTIVATIONS.values())


def layer_names(model: Sequential) -> list[str]:
    """Each layer's name as :meth:`Sequential.layer_table` gives it (``dense_0``, ``relu_1``...)."""
    return [row["name"] for row in model.layer_table()]


def model_fingerprint(model: Sequential) -> str:
    """A short key that changes whenever the architecture or any weight changes.

    A hash of the layer configs and every parameter's bytes (about a millisecond for the
    bundled MLP): a UI keys its caches by it, whatever file or session the model came from.
    """
    digest = hashlib.blake2b(digest_size=10)
    digest.update(json.dumps(model.architecture(), sort_keys=True).encode())
    for layer in model.layers:
        for name in sorted(layer.params):
            digest.update(np.ascontiguousarray(layer.params[name]).tobytes())
        for name in sorted(layer.buffers):   # BatchNorm's running averages change its answers too
            digest.update(np.ascontiguousarray(layer.buffers[name]).tobytes())
    return digest.hexdigest()


def copy_model(model: Sequential) -> Sequential:
    """An independent copy of ``model``: same layers, same weights (and buffers), same metadata.

    What the copy learns leaves the original untouched (the weights are copied, not shared).
    """
    dtype = model.dtype
    layers = [layer_from_config(config, dtype=dtype) for config in model.architecture()]
    for source, target in zip(model.layers, layers, strict=True):
        for name, value in source.params.items():
            target.params[name][...] = value
        for name, value in source.buffers.items():
            target.buffers[name][...] = value
    return Sequential(layers, metadata=json.loads(json.dumps(model.metadata, default=str)))


def as_network_input(model: Sequential, x: np.ndarray) -> np.ndarray:
    """``x`` as the ``(n, features)`` rows of the model's dtype that its first layer takes.

    One image ``(784,)`` or ``(28, 28)`` becomes one row; ``(n, 28, 28)`` becomes n rows.
    """
    x = np.asarray(x)
    expected = model.input_size
    if x.ndim == 1 or (x.ndim == 2 and expected is not None and x.size == expected and x.shape[1] != expected):
        x = x.reshape(1, -1)
    elif x.ndim > 2:
        x = x.reshape(len(x), -1)
    if expected is not None and (x.ndim != 2 or x.shape[1] != expected):
        raise ValueError(f"expected inputs with {expected} features per sample, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"inputs must be numbers, got dtype {x.dtype}")
    return np.ascontiguousarray(x, dtype=model.dtype)


def max_pool_kept(x: np.ndarray, pool: int) -> np.ndarray:
    """Where max-pooling keeps a value: a boolean mask shaped like its input ``(n, h, w, c)``.

    Exactly one True per ``pool x pool`` window: the window's first largest value in
    row-major order, the one :class:`~nnlib.conv.MaxPool2D` passes the gradient back to.
    Rows and columns that no window covers stay False.
    """
    n, height, width, channels = x.shape
    h, w = height // pool, width // pool
    windows = x[:, :h * pool, :w * pool, :].reshape(n, h, pool, w, pool, channels)
    flat = windows.transpose(0, 1, 3, 5, 2, 4).reshape(n, h, w, channels, pool * pool)
    winners = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(winners, flat.argmax(axis=-1)[..., None], True, axis=-1)
    kept = np.zeros(x.shape, dtype=bool)
    kept[:, :h * pool, :w * pool, :] = (winners.reshape(n, h, w, channels, pool, pool)
                                        .transpose(0, 1, 4, 2, 5, 3).reshape(n, h * pool, w * pool, channels))
    return kept


# ---------------------------------------------------------------------------- forward
@dataclass(frozen=True, eq=False)
class LayerValues:
    """What one layer gave for the traced inputs.

    ``output``: ``(n, ...)``, the layer's output (a Dense layer's ``Z``, an activation's
    ``A``, a convolution's feature maps ``(n, h, w, c)``). ``kept``: for MaxPool2D only, the
    boolean mask over its *input* of the values it kept (see :func:`max_pool_kept`).
    """

    index: int
    name: str
    kind: str
    output: np.ndarray
    kept: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class ForwardTrace:
    """Every layer's values for a batch: ``inputs (n, features)`` then one entry per layer."""

    inputs: np.ndarray
    layers: tuple[LayerValues, ...]

    def input_of(self, index: int) -> np.ndarray:
        """What layer ``index`` received: the inputs for the first layer, else the previous output."""
        return self.inputs if index == 0 else self.layers[index - 1].output

    @property
    def logits(self) -> np.ndarray:
        """The last layer's output ``(n, k)``: one score per class."""
        return self.layers[-1].output

    @property
    def probabilities(self) -> np.ndarray:
        """The softmax of the logits ``(n, k)``, as :meth:`Sequential.predict_proba` gives them."""
        return softmax(np.array(self.logits, dtype=np.float64)).astype(np.float32)

    @property
    def predictions(self) -> np.ndarray:
        """The most probable class of each sample ``(n,)``."""
        return self.logits.argmax(axis=1)


def forward_trace(model: Sequential, x: np.ndarray) -> ForwardTrace:
    """Run ``x`` through the model's layers one by one (inference: Dropout off) and keep
    every layer's output.

    The model's weights are not touched (its layers only remember their last input, as
    any forward pass does).
    """
    values = as_network_input(model, x)
    inputs = values
    traced = []
    with model.exclusive():
        for index, (layer, name) in enumerate(zip(model.layers, layer_names(model), strict=True)):
            output = layer.forward(values, False)
            kept = max_pool_kept(values, layer.pool) if isinstance(layer, MaxPool2D) else None
            traced.append(LayerValues(index, name, layer.kind, output, kept))
            values = output
    return ForwardTrace(inputs, tuple(traced))


# ---------------------------------------------------------------------------- a convolution, one pixel
@dataclass(frozen=True, eq=False)
class BatchNormPixel:
    """How a BatchNorm at inference rescaled one value ``z`` of its channel.

    ``normalised = (z - running_mean) / sqrt(running_var + eps)`` with the averages kept
    while training, then ``output = gamma * normalised + beta`` with the learned scale and shift.
    """

    running_mean: float
    running_var: float
    eps: float
    gamma: float
    beta: float
    normalised: float
    output: float


@dataclass(frozen=True, eq=False)
class ConvPixel:
    """How one value of a feature map was computed: ``sum(patch * kernel) + bias``, then the
    batch norm (when the model has one there), then the activation.

    ``patch`` and ``kernel``: ``(k, k, in_channels)``; ``products = patch * kernel``.
    ``pre_activation`` is the convolution's own value ``Z`` (the sum plus the bias).
    ``batch_norm`` is the BatchNorm right after the convolution applied to ``Z`` (None when
    there is none); ``activation_input`` is what the activation reads: its output, else ``Z``.
    ``activation`` is that activation's value (None when the convolution, or its batch norm,
    is not followed by one; ``activation_kind`` names it).
    """

    row: int
    col: int
    channel: int
    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    products_sum: float
    bias: float
    pre_activation: float
    batch_norm: BatchNormPixel | None
    activation: float | None
    activation_kind: str | None

    @property
    def activation_input(self) -> float:
        """The value the activation reads: the batch norm's output if there is one, else ``Z``."""
        return self.batch_norm.output if self.batch_norm is not None else self.pre_activation


def _batch_norm_pixel(norm: BatchNorm, channel: int, value: float) -> BatchNormPixel:
    """The inference-time batch norm of ``value`` in ``channel``, written out in float64."""
    mean = float(norm.buffers["running_mean"][channel])
    var = float(norm.buffers["running_var"][channel])
    gamma, beta = float(norm.params["gamma"][channel]), float(norm.params["beta"][channel])
    normalised = (value - mean) / np.sqrt(var + norm.eps)
    return BatchNormPixel(mean, var, norm.eps, gamma, beta, float(normalised), float(gamma * normalised + beta))


def explain_conv_pixel(model: Sequential, trace: ForwardTrace, layer_index: int, sample: int,
                       row: int, col: int, channel: int) -> ConvPixel:
    """Write out the value at ``(row, col)`` of feature map ``channel`` of the Conv2D layer
    ``layer_index`` for sample ``sample`` of ``trace``, from the patch of its input under the kernel.

    The result's ``pre_activation`` equals ``trace.layers[layer_index].output[sample, row, col, channel]``
    (up to float rounding): the convolution computed it as one row of its im2col product.
    When a BatchNorm follows, ``batch_norm.output`` equals that layer's traced value, and
    ``activation`` equals the traced activation's value, the feature map the model passes on.
    """
    layer = model.layers[layer_index] if 0 <= layer_index < len(model.layers) else None
    if not isinstance(layer, Conv2D):
        kind = layer.kind if layer is not None else "nothing"
        raise ValueError(f"layer {layer_index} must be a Conv2D, found {kind}")
    feature_maps = trace.layers[layer_index].output
    n, height, width, channels = feature_maps.shape
    if not (0 <= sample < n and 0 <= row < height and 0 <= col < width and 0 <= channel < channels):
        raise ValueError(f"(sample, row, col, channel) must lie within {(n, height, width, channels)}, "
                         f"got {(sample, row, col, channel)}")
    image = trace.input_of(layer_index)[sample]
    p, k = layer.padding, layer.kernel_size
    if p:
        image = np.pad(image, ((p, p), (p, p), (0, 0)))
    patch = np.array(image[row:row + k, col:col + k, :], dtype=np.float64)
    kernel = np.array(layer.params["W"][:, :, :, channel], dtype=np.float64)
    products = patch * kernel
    products_sum = float(products.sum())
    bias = float(layer.params["b"][channel])
    pre_activation = products_sum + bias
    following_index = layer_index + 1
    following = model.layers[following_index] if following_index < len(model.layers) else None
    batch_norm = None
    if isinstance(following, BatchNorm):
        batch_norm = _batch_norm_pixel(following, channel, pre_activation)
        following_index += 1
        following = model.layers[following_index] if following_index < len(model.layers) else None
    activation_input = batch_norm.output if batch_norm is not None else pre_activation
    activation = activation_kind = None
    if following is not None and following.kind in ACTIVATION_KINDS:
        fresh: Layer = layer_from_config(following.config(), dtype=np.float64)  # leaves the model's layer alone
        activation = float(fresh.forward(np.array([[activation_input]]))[0, 0])
        activation_kind = following.kind
    return ConvPixel(row, col, channel, patch, kernel, products, products_sum, bias, pre_activation,
                     batch_norm, activation, activation_kind)


# ---------------------------------------------------------------------------- backward
@dataclass(frozen=True, eq=False)
class LayerGradient:
    """The gradient at one layer during one training step.

    ``grad_output``: dL/d(this layer's output), shaped like that output: what arrives from
    the layer above. ``param_grads``: dL/dW and dL/db for layers with parameters (empty
    otherwise), shaped like the parameters. ``updated_params``: the parameters after one SGD
    step, ``W - learning_rate * dW`` (whether or not the step was applied to the model).
    """

    index: int
    name: str
    kind: str
    grad_output: np.ndarray
    param_grads: dict[str, np.ndarray] = field(default_factory=dict)
    params_before: dict[str, np.ndarray] = field(default_factory=dict)
    updated_params: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def grad_output_norm(self) -> float:
        """Size (Euclidean norm) of the gradient arriving at this layer: vanishing or exploding shows here."""
        return float(np.linalg.norm(np.asarray(self.grad_output, dtype=np.float64)))

    @property
    def weight_grad_norm(self) -> float | None:
        """Norm of dL/dW, or None for a layer without weights."""
        grad = self.param_grads.get("W")
        return None if grad is None else float(np.linalg.norm(np.asarray(grad, dtype=np.float64)))


@dataclass(frozen=True, eq=False)
class TrainingStep:
    """One step of learning on a batch, layer by layer.

    ``probabilities``: the softmax output ``A`` before the step ``(n, k)``; ``targets``: the
    one-hot ``Y``; ``output_error = A - Y``, the seed study's ``dZ`` at the output. nnlib's
    loss averages over the batch inside its gradient, so the gradient that enters the last
    layer is ``(A - Y) / n`` (the seed divided by ``m`` in ``dW`` instead: the same numbers).
    ``layers``: one :class:`LayerGradient` per layer, in forward order. ``applied``: True
    when the model's weights were moved by the step.
    """

    loss: float
    labels: np.ndarray
    probabilities: np.ndarray
    targets: np.ndarray
    layers: tuple[LayerGradient, ...]
    input_gradient: np.ndarray
    learning_rate: float
    applied: bool

    @property
    def output_error(self) -> np.ndarray:
        """``A - Y`` at the output ``(n, k)``."""
        return self.probabilities - self.targets

    @property
    def true_class_probability(self) -> np.ndarray:
        """Each sample's probability of its true class before the step ``(n,)``."""
        return self.probabilities[np.arange(len(self.labels)), self.labels]

    def gradient_norms(self) -> list[tuple[str, float]]:
        """``(layer name, norm of the gradient arriving at it)`` from the output back to the input."""
        return [(layer.name, layer.grad_output_norm) for layer in reversed(self.layers)]


def _check_labels(labels: np.ndarray, n: int, n_classes: int) -> np.ndarray:
    labels = np.atleast_1d(np.asarray(labels))
    if labels.shape != (n,):
        raise ValueError(f"expected {n} labels, one per input, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must be in 0..{n_classes - 1}, got {labels.tolist()}")
    return labels.astype(np.int64)


def training_step(model: Sequential, x: np.ndarray, labels: np.ndarray, learning_rate: float = 0.1,
                  apply: bool = False) -> TrainingStep:
    """One step of gradient descent on ``(x, labels)``, with every gradient on the way back.

    Forward (Dropout off, so the step can be replayed), the fused softmax cross-entropy
    loss, then each layer's own ``backward`` from the output to the input. With
    ``apply=False`` (the default) all of it runs on a copy and ``model`` is left exactly as
    it was; with ``apply=True`` the model's weights move by plain SGD,
    ``W <- W - learning_rate * dW``.
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    network = model if apply else copy_model(model)
    inputs = as_network_input(network, x)
    n_classes = network.n_classes
    labels = _check_labels(labels, len(inputs), n_classes)
    names = layer_names(network)
    with network.exclusive():  # forward and backward on the same kept passes
        values = inputs
        for layer in network.layers:
            values = layer.forward(values, False)
        loss_fn = SoftmaxCrossEntropy()
        loss = loss_fn.forward(values, labels)
        probabilities = softmax(np.array(values, dtype=np.float64))
        targets = np.zeros_like(probabilities)
        targets[np.arange(len(labels)), labels] = 1
        grad = loss_fn.backward()                      # (A - Y) / n
        gradients: list[LayerGradient] = []
        for index in range(len(network.layers) - 1, -1, -1):
            layer = network.layers[index]
            grad_output = np.array(grad, copy=True)
            grad = layer.backward(grad, input_grad=True)
            param_grads = {name: np.array(value, copy=True) for name, value in layer.grads.items()}
            before = {name: np.array(value, copy=True) for name, value in layer.params.items()}
            updated = {name: before[name] - learning_rate * param_grads[name] for name in before}
            gradients.append(LayerGradient(index, names[index], layer.kind, grad_output, param_grads, before, updated))
        if apply:
            SGD(learning_rate).step([layer for layer in network.layers if layer.params])
    return TrainingStep(loss, labels, probabilities, targets, tuple(reversed(gradients)), np.asarray(grad),
                        float(learning_rate), bool(apply))
