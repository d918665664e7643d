"""Batch normalisation: each feature rescaled to mean 0 and variance 1 over the batch.

Ioffe and Szegedy (2015). Put between a Dense (or Conv2D) layer and its activation, it
keeps every layer's inputs in a steady range however the weights before it move, so a
network trains with larger learning rates and is less sensitive to its initialisation.

One layer serves both kinds of network: it normalises the *last* axis, one mean and
variance per feature, taken over every other axis. For a Dense output ``(n, features)``
that is over the batch; for a convolution's feature maps ``(n, height, width, channels)``
(nnlib's channels-last layout) over the batch and every pixel, one pair per channel,
the "2-D" batch norm of the literature.

While training, the batch's own statistics are used and running averages of them are
kept; at inference (``training=False``) the running averages are used, so a prediction
does not depend on which other images share its batch. The running averages are
*buffers*: saved with the model and loaded back, but not trained.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .layers import DEFAULT_DTYPE, Layer

DEFAULT_MOMENTUM = 0.1
DEFAULT_EPS = 1e-5


class BatchNorm(Layer):
    """``y = gamma * (x - mean) / sqrt(var + eps) + beta``, per feature of the last axis.

    Parameters
    ----------
    features : int
        Size of the last axis: units of a Dense layer or channels of a convolution.
    momentum : float
        Weight of the newest batch in the running averages:
        ``running = (1 - momentum) * running + momentum * batch`` (PyTorch's convention).
    eps : float
        Added to the variance so that a constant feature does not divide by zero.

    Notes
    -----
    With ``m`` values per feature, ``x_hat = (x - mean) * inv_std`` and ``g = dL/dy``::

        dL/dbeta  = sum(g)
        dL/dgamma = sum(g * x_hat)
        dL/dx     = gamma * inv_std / m * (m * g - dL/dbeta - x_hat * dL/dgamma)

    (the last line is the chain rule through the mean and the variance, which both
    depend on every ``x`` of the feature). The running variance stores the unbiased
    estimate ``var * m / (m - 1)``. After an inference pass, ``backward`` differentiates the
    fixed affine map the running averages make (see :meth:`_inference_backward`).
    """

    kind = "BatchNorm"
    fresh_output = True
    splittable = False          # the statistics span the whole batch

    def __init__(self, features: int, momentum: float = DEFAULT_MOMENTUM, eps: float = DEFAULT_EPS,
                 dtype: DTypeLike = DEFAULT_DTYPE) -> None:
        super().__init__()
        if int(features) < 1:
            raise ValueError(f"BatchNorm needs a positive number of features, got {features}")
        if not 0 < momentum <= 1:
            raise ValueError(f"BatchNorm momentum must be in (0, 1], got {momentum}")
        if not eps > 0:
            raise ValueError(f"BatchNorm eps must be > 0, got {eps}")
        self.features = int(features)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.dtype = np.dtype(dtype)
        self.params = {"gamma": np.ones(self.features, self.dtype), "beta": np.zeros(self.features, self.dtype)}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.buffers = {"running_mean": np.zeros(self.features, self.dtype),
                        "running_var": np.ones(self.features, self.dtype)}
        self._x_hat: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None
        self._inference_input: np.ndarray | None = None   # the input of an inference pass, for its backward

    def _check(self, x: np.ndarray) -> None:
        if x.ndim < 2 or x.shape[-1] != self.features:
            raise ValueError(f"BatchNorm({self.features}) expects inputs whose last axis has {self.features} "
                             f"features, got shape {x.shape}")

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._check(x)
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not training:
            inv_std = 1.0 / np.sqrt(self.buffers["running_var"] + self.eps)
            scale = (gamma * inv_std).astype(x.dtype, copy=False)
            self._x_hat, self._inv_std, self._inference_input = None, inv_std, x
            return x * scale + (beta - self.buffers["running_mean"] * scale).astype(x.dtype, copy=False)
        self._inference_input = None
        rows = x.reshape(-1, self.features)          # one row per value of each feature
        count = len(rows)
        ones = np.ones(count, dtype=x.dtype)
        mean = ones @ rows / count                    # column sums as a matrix product: one fast pass
        centred = rows - mean
        var = np.einsum("ij,ij->j", centred, centred) / count
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        x_hat = centred
        x_hat *= inv_std
        self._x_hat, self._inv_std = x_hat, inv_std
        running_mean, running_var = self.buffers["running_mean"], self.buffers["running_var"]
        running_mean *= 1 - self.momentum
        running_mean += self.momentum * mean
        running_var *= 1 - self.momentum
        running_var += self.momentum * var * (count / max(count - 1, 1))
        out = x_hat * gamma.astype(x.dtype, copy=False)
        out += beta.astype(x.dtype, copy=False)
        return out.reshape(x.shape)

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Fill ``grads`` (gamma, beta) and return dL/dx (``None`` when ``input_grad`` is False)."""
        if self._inference_input is not None and self._inv_std is not None:
            return self._inference_backward(grad_out, input_grad)
        if self._x_hat is None or self._inv_std is None:
            raise RuntimeError("BatchNorm.backward called before forward")
        x_hat = self._x_hat
        g = grad_out.reshape(-1, self.features)
        count = len(g)
        grad_beta = np.ones(count, dtype=g.dtype) @ g
        grad_gamma = np.einsum("ij,ij->j", g, x_hat)
        self.grads["beta"][...] = grad_beta
        self.grads["gamma"][...] = grad_gamma
        if not input_grad:
            return None
        # dL/dx = gamma * inv_std / m * (m g - dL/dbeta - x_hat dL/dgamma), in three passes
        scale = (self.params["gamma"] * self._inv_std).astype(g.dtype, copy=False)
        grad_in = g * scale
        grad_in -= x_hat * (grad_gamma * scale / count).astype(g.dtype, copy=False)
        grad_in -= (grad_beta * scale / count).astype(g.dtype, copy=False)
        return grad_in.reshape(grad_out.shape)

    def _inference_backward(self, grad_out: np.ndarray, input_grad: bool) -> np.ndarray | None:
        """Backward through an inference pass (the Inside page's one-image step): with the running
        averages fixed the layer is the affine map ``y = gamma * x_hat + beta``, so
        ``dL/dx = g * gamma * inv_std`` and the mean and variance carry no gradient."""
        assert self._inference_input is not None and self._inv_std is not None
        g = grad_out
        axes = tuple(range(g.ndim - 1))
        x_hat = (self._inference_input - self.buffers["running_mean"]) * self._inv_std
        self.grads["beta"][...] = g.sum(axis=axes)
        self.grads["gamma"][...] = np.sum(g * x_hat, axis=axes)
        return g * (self.params["gamma"] * self._inv_std).astype(g.dtype, copy=False) if input_grad else None

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "features": self.features, "momentum": self.momentum, "eps": self.eps}

    @classmethod
    def from_config(cls, args: dict[str, Any], dtype: DTypeLike, rng: np.random.Generator | int | None) -> BatchNorm:
        return cls(int(args["features"]), momentum=float(args.get("momentum", DEFAULT_MOMENTUM)),
                   eps=float(args.get("eps", DEFAULT_EPS)), dtype=dtype)
