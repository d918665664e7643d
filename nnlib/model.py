"""Sequential: a network that is literally a list of layers.

``forward`` folds a batch through the layers; ``backward`` sends the loss gradient back
through them in reverse. The model ends with the last Dense layer and outputs *logits*;
:meth:`Sequential.predict_proba` applies the softmax, and training uses the fused
softmax cross-entropy (:mod:`nnlib.losses`).

Models are saved as ``.npz``: one array per parameter (``layer0.W``, ``layer0.b``, ...)
plus a JSON header (architecture, preprocessing, metrics, nnlib version) stored as a
``uint8`` array. Loading never unpickles anything (``allow_pickle=False``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .errors import ModelFileError
from .jsonable import dumps
from .layers import DEFAULT_DTYPE, Layer, layer_from_config
from .losses import SoftmaxCrossEntropy, softmax
from .metrics import per_class_accuracy
from .model_file import FILE_FORMAT, FILE_FORMAT_VERSION, HEADER_KEY, open_model_archive, read_buffer, read_header, read_parameter
from .version import __version__

__all__ = ["FILE_FORMAT", "FILE_FORMAT_VERSION", "HEADER_KEY", "ModelFileError", "Sequential"]

EVAL_BATCH = 4096
CONV_EVAL_BATCH = 256  # a CNN's patch matrices grow with the batch: keep them in the cache


class Sequential:
    """A feed-forward network: a list of layers applied in order.

    Parameters
    ----------
    layers : sequence of Layer
        E.g. ``[Dense(784, 256), ReLU(), Dense(256, 10)]``. Input batches are
        ``(n, features)`` arrays (samples in rows); the output is ``(n, n_classes)`` logits.
    metadata : dict, optional
        Free JSON-able information kept with the model and saved in its file
        (architecture, preprocessing, metrics, class names, ...).
    """

    def __init__(self, layers: Sequence[Layer], metadata: dict[str, Any] | None = None) -> None:
        self.layers: list[Layer] = list(layers)
        if not self.layers:
            raise ValueError("a Sequential model needs at least one layer")
        self.metadata: dict[str, Any] = dict(metadata or {})
        # Layers keep their last forward pass for backward: one model shared between threads (a
        # server's cached model, several sessions) runs one pass or gradient at a time.
        self._lock = threading.RLock()
        parametrised = [i for i, layer in enumerate(self.layers) if layer.params]
        self._first_param_index = parametrised[0] if parametrised else len(self.layers)
        self._pack_parameters()

    def _pack_parameters(self) -> None:
        """Make every parameter (and gradient) a view into one flat array.

        The layers see no difference, but the training loop's optimiser
        (:class:`nnlib.fast.FusedAdam`) can then update all parameters with a handful of
        whole-array operations per step instead of a handful per array, and a CNN's large
        batches sum their chunks' gradients in one array.
        """
        arrays = [(layer, name) for layer in self.layers for name in layer.params]
        dtypes = {layer.params[name].dtype for layer, name in arrays}
        if not arrays or len(dtypes) != 1:
            self.flat_params = self.flat_grads = None
            return
        total = sum(layer.params[name].size for layer, name in arrays)
        self.flat_params = np.empty(total, dtype=dtypes.pop())
        self.flat_grads = np.zeros_like(self.flat_params)
        offset = 0
        for layer, name in arrays:
            value = layer.params[name]
            size, shape = value.size, value.shape
            view = self.flat_params[offset:offset + size].reshape(shape)
            view[...] = value
            layer.params[name] = view
            grad_view = self.flat_grads[offset:offset + size].reshape(shape)
            grad_view[...] = layer.grads[name]
            layer.grads[name] = grad_view
            offset += size

    # ------------------------------------------------------------------ shapes & info
    @property
    def input_size(self) -> int | None:
        """Number of input features: what the first layer that fixes a width (Reshape, Dense) takes."""
        return next((layer.input_features for layer in self.layers if layer.input_features is not None), None)

    @property
    def is_convolutional(self) -> bool:
        """True when the network has Conv2D layers (a CNN)."""
        return any(layer.is_convolution for layer in self.layers)

    @property
    def n_classes(self) -> int | None:
        """Number of outputs (the last Dense layer's ``out_features``)."""
        return next((layer.output_features for layer in reversed(self.layers)
                     if layer.output_features is not None), None)

    @property
    def dtype(self) -> np.dtype:
        """The floating dtype of the parameters (float32 unless built otherwise)."""
        for layer in self.layers:
            for value in layer.params.values():
                return value.dtype
        return np.dtype(DEFAULT_DTYPE)

    @property
    def parameter_count(self) -> int:
        """Total number of trainable numbers (weights and biases)."""
        return int(sum(p.size for layer in self.layers for p in layer.params.values()))

    def architecture(self) -> list[dict[str, Any]]:
        """The layer configs, in order (JSON-able)."""
        return [layer.config() for layer in self.layers]

    def weight_arrays(self) -> list[np.ndarray]:
        """Every layer's ``W`` in order: Conv2D kernels ``(k, k, in, out)`` and Dense matrices."""
        return [layer.params["W"] for layer in self.layers if "W" in layer.params]

    def output_shapes(self) -> list[tuple[int, ...]]:
        """Each layer's output shape for one sample (found by a forward pass of one zero image)."""
        if self.input_size is None:
            return []
        x = np.zeros((1, self.input_size), dtype=self.dtype)
        shapes = []
        with self._lock:
            for layer in self.layers:
                x = layer.forward(x, False)
                shapes.append(tuple(x.shape[1:]))
        return shapes

    def dense_weights(self) -> list[np.ndarray]:
        """The weight matrices ``W`` of the Dense layers, ``(fan_in, fan_out)`` each.

        ``dense_weights()[0][:, j].reshape(28, 28)`` is what hidden unit ``j`` looks for.
        """
        return [weights for weights in self.weight_arrays() if weights.ndim == 2]

    def layer_table(self) -> list[dict[str, Any]]:
        """One row per layer: ``name``, ``kind``, ``weight_shape``, ``bias_shape``, ``params``."""
        rows = []
        for index, layer in enumerate(self.layers):
            weights, biases = layer.params.get("W"), layer.params.get("b")
            rows.append({
                "name": f"{layer.kind.lower()}_{index}",
                "kind": layer.kind,
                "weight_shape": None if weights is None else tuple(weights.shape),
                "bias_shape": None if biases is None else tuple(biases.shape),
                "params": int(sum(p.size for p in layer.params.values())),
            })
        return rows

    def summary(self) -> str:
        """A printable table of the layers, their output sizes and parameter counts."""
        lines = [f"{'layer':<14}{'kind':<11}{'output':>12}{'params':>11}", "-" * 48]
        shapes = self.output_shapes() or [()] * len(self.layers)
        for row, shape in zip(self.layer_table(), shapes):
            output = "x".join(str(size) for size in shape)
            lines.append(f"{row['name']:<14}{row['kind']:<11}{output:>12}{row['params']:>11,}")
        lines += ["-" * 48, f"total parameters: {self.parameter_count:,} ({self.dtype.name})"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "Sequential([" + ", ".join(repr(layer) for layer in self.layers) + "])"

    # ------------------------------------------------------------------ computation
    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim > 2:
            x = x.reshape(len(x), -1)
        expected = self.input_size
        if expected is not None and x.shape[1] != expected:
            raise ValueError(f"expected inputs with {expected} features, got shape {x.shape}")
        return np.ascontiguousarray(x, dtype=self.dtype)

    def exclusive(self) -> AbstractContextManager[bool]:
        """Hold while running this model's layers one by one outside its own methods (a trace,
        a survey): each layer keeps its last forward pass, and other threads use the same layers."""
        return self._lock

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Logits ``(n, n_classes)`` for a batch ``x`` ``(n, features)``.

        ``training=True`` turns Dropout on. The layers keep what ``backward`` needs.
        """
        x = self._check_input(x)
        with self._lock:
            return self._forward(x, training)

    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate dL/d(logits) ``(n, n_classes)``; fills every layer's ``grads``.

        Returns dL/d(input) ``(n, features)``, or ``None`` with ``input_grad=False`` (the
        training loop's choice: it skips the product for the first layer, which nobody needs).
        """
        first = 0 if input_grad else self._first_param_index
        for index in range(len(self.layers) - 1, first - 1, -1):
            grad = self.layers[index].backward(grad, input_grad=input_grad or index > first)
        return grad if input_grad else None

    @property
    def eval_batch_size(self) -> int:
        """Images per forward pass when evaluating or predicting many at once."""
        return CONV_EVAL_BATCH if self.is_convolutional else EVAL_BATCH

    def forget_forward(self) -> None:
        """Drop every layer's kept forward pass (:meth:`Layer.forget_forward`).

        Inference calls this when done: a model kept in a cache after answering on a dataset
        would otherwise hold that dataset's last batch, and through it often the whole array.
        """
        with self._lock:
            for layer in self.layers:
                layer.forget_forward()

    def _logits_batched(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        x = self._check_input(x)
        batch_size = batch_size or self.eval_batch_size
        with self._lock:
            if len(x) <= batch_size:
                logits = self._forward(x, False)
            else:
                logits = np.concatenate([self._forward(x[i:i + batch_size], False)
                                         for i in range(0, len(x), batch_size)])
            self.forget_forward()
        return logits

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` float32 (softmax of the logits)."""
        return softmax(self._logits_batched(x)).astype(np.float32, copy=False)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class per sample, ``(n,)`` int64."""
        return self._logits_batched(x).argmax(axis=1).astype(np.int64)

    def evaluate(self, x: np.ndarray, y: np.ndarray, per_class: bool = False) -> dict[str, Any]:
        """Mean cross-entropy ``loss`` and ``accuracy`` on ``(x, y)`` (int labels).

        ``per_class=True`` adds ``per_class_accuracy``: one accuracy per class, as a list.
        """
        y = np.asarray(y)
        x = self._check_input(x)
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)} labels")
        if len(x) == 0:
            return {"loss": float("nan"), "accuracy": float("nan")}
        n_classes = self.n_classes or 0
        if y.min() < 0 or y.max() >= n_classes:
            raise ValueError(f"labels go from {y.min()} to {y.max()} but this model has {n_classes} classes "
                             f"(0..{n_classes - 1})")
        loss_fn = SoftmaxCrossEntropy()
        total_loss = 0.0
        predictions = np.empty(len(x), dtype=np.int64)
        batch = self.eval_batch_size
        with self._lock:
            for start in range(0, len(x), batch):
                logits = self._forward(x[start:start + batch], False)
                predictions[start:start + len(logits)] = logits.argmax(axis=1)
                total_loss += loss_fn.forward(logits, y[start:start + batch]) * len(logits)
            self.forget_forward()
        scores: dict[str, Any] = {"loss": total_loss / len(x),
                                  "accuracy": int(np.count_nonzero(predictions == y)) / len(x)}
        if per_class:
            scores["per_class_accuracy"] = per_class_accuracy(y, predictions, self.n_classes).tolist()
        return scores

    def input_gradient(self, x: np.ndarray, class_index: int | np.ndarray) -> np.ndarray:
        """Gradient of the class *logit* with respect to the input, ``(n, features)``.

        For saliency maps: where changing a pixel would most change the score of
        ``class_index`` (one int for every sample, or one per sample). Uses the
        logit rather than the probability, whose gradient vanishes once the net is sure.
        """
        x = self._check_input(x)
        n, k = len(x), self.n_classes
        classes = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (n,))
        if classes.size and (classes.min() < 0 or classes.max() >= k):
            raise ValueError(f"class_index must be in 0..{k - 1}, got {class_index}")
        seed = np.zeros((n, k), dtype=self.dtype)
        seed[np.arange(n), classes] = 1
        return self.weighted_logits_gradient(x, seed)

    def weighted_logits_gradient(self, x: np.ndarray, logit_weights: np.ndarray) -> np.ndarray:
        """Gradient of ``sum_j logit_weights[:, j] * z_j`` with respect to the input, ``(n, features)``.

        One backward pass for any mix of logits: with ``p - onehot(y)`` as the weights it is the
        gradient of the cross-entropy of ``y`` (what FGSM needs). The training gradients stay as
        they were.
        """
        x = self._check_input(x)
        weights = np.asarray(logit_weights)
        if weights.shape != (len(x), self.n_classes):
            raise ValueError(f"logit_weights must have shape {(len(x), self.n_classes)}, got {weights.shape}")
        with self._lock:
            logits = self._forward(x, False)
            seed = weights.astype(logits.dtype, copy=False)
            saved = [{name: g.copy() for name, g in layer.grads.items()} for layer in self.layers]
            grad = self.backward(seed, input_grad=True)
            for layer, grads in zip(self.layers, saved):   # leave training gradients as they were
                for name, g in grads.items():
                    layer.grads[name][...] = g
            for layer in self.layers:
                layer.forget_forward()
        return grad

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike | BinaryIO, metadata: dict[str, Any] | None = None) -> None:
        """Write the model to a ``.npz``: parameters plus a JSON header.

        ``metadata`` is merged into :attr:`metadata` (and kept there). It must be JSON-able.
        """
        if metadata:
            self.metadata.update(metadata)
        self.metadata.setdefault("architecture", self.architecture())
        self.metadata.setdefault("nnlib_version", __version__)
        header = {
            "format": FILE_FORMAT,
            "format_version": FILE_FORMAT_VERSION,
            "nnlib_version": __version__,
            "dtype": self.dtype.name,
            "layers": self.architecture(),
            "metadata": self.metadata,
        }
        try:
            header_bytes = dumps(header).encode("utf-8")
        except TypeError as error:
            raise TypeError(f"model metadata must be JSON-able: {error}") from None
        arrays = {HEADER_KEY: np.frombuffer(header_bytes, dtype=np.uint8)}
        for index, layer in enumerate(self.layers):
            for name, value in (*layer.params.items(), *layer.buffers.items()):
                arrays[f"layer{index}.{name}"] = value
        if isinstance(path, (str, os.PathLike)):
            path = Path(path)
            if path.suffix != ".npz":
                path = path.with_name(path.name + ".npz")
            path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as bool

    @classmethod
    def load(cls, source: str | os.PathLike | bytes | BinaryIO) -> Sequential:
        """Read a model written by :meth:`save` (a path, raw bytes or a binary file).

        Raises :class:`ModelFileError` (a ``ValueError``) naming the problem when the file
        is missing, not a ``.npz``, not an nnlib model, damaged, or beyond a limit; every
        check is in :mod:`nnlib.model_file`, done before anything large is allocated.
        """
        label = str(source) if isinstance(source, (str, os.PathLike)) else "the uploaded file"
        with open_model_archive(source, label) as archive:
            header = read_header(archive, label, __version__)
            try:
                layers = [layer_from_config(config, dtype=header.dtype, rng=0) for config in header.layers]
            except (KeyError, TypeError, ValueError) as error:
                raise ModelFileError(f"{label}: the architecture in the header is invalid ({error})") from None
            for index, layer in enumerate(layers):
                for name, value in layer.params.items():
                    value[...] = read_parameter(archive, label, f"layer{index}.{name}", value.shape)
                for name, value in layer.buffers.items():
                    value[...] = read_buffer(archive, label, f"layer{index}.{name}", value.shape)
        model = cls(layers, metadata=header.metadata)
        if model.n_classes is None or model.input_size is None:
            raise ModelFileError(f"{label}: the network has no Dense layer, so it cannot classify")
        return model

    def check_fits(self, n_features: int, n_classes: int, dataset_name: str = "the dataset") -> None:
        """Raise :class:`ModelFileError` saying why this model cannot be used on a dataset of
        ``n_features`` pixels and ``n_classes`` classes (e.g. "this model has 5 classes, ...")."""
        if self.input_size != n_features:
            raise ModelFileError(f"this model takes {self.input_size} inputs, {dataset_name} has images of "
                                 f"{n_features} pixels")
        if self.n_classes != n_classes:
            raise ModelFileError(f"this model has {self.n_classes} classes, {dataset_name} {n_classes}: "
                                 "it was trained on another kind of data")
