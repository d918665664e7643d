"""One training step on several cores: the batch split between threads, one part each.

OpenBLAS given two threads speeds up each matrix product of a small CNN only a little
(the products are too small to split well), and everything around the products
(patch matrices, pooling, activations) runs on one core. Splitting the *batch* instead
keeps every core busy the whole step: each thread runs the fast path
(:class:`nnlib.fast.FastPath`) on its share of the samples with a single-threaded BLAS,
into its own gradient arrays, and the parts' gradients are added up, weighted by their
share of the batch. The mean loss gradient of the whole batch is exactly that sum, so
the step is the one-thread step up to float summation order.

This holds only for layers that treat every sample on its own and draw no random
numbers (``Layer.splittable``): batch normalisation's statistics span the whole batch
and Dropout's masks come from one generator, so networks with them keep the one-thread
step. NumPy releases the GIL inside its loops and products, so the threads do run in
parallel; the BLAS thread count is set back when each step ends.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import ThreadpoolController

from .fast import FastPath
from .layers import layer_from_config
from .losses import SoftmaxCrossEntropy
from .model import Sequential

# Each part gets at least this many samples: below it, a thread's share of the work is
# too small to pay for handing it over.
MIN_ROWS_PER_PART = 16


def blas_threads(controller: ThreadpoolController) -> int:
    """How many threads the loaded BLAS libraries are allowed (1 when none is found)."""
    pools = controller.select(user_api="blas").info()
    return max((int(pool.get("num_threads") or 1) for pool in pools), default=1)


def splittable(model: Sequential) -> bool:
    """True when a training batch of ``model`` may be split between threads: every layer
    treats each sample on its own, and all gradients live in one flat array."""
    return model.flat_grads is not None and all(layer.splittable for layer in model.layers)


def replica_sharing_parameters(model: Sequential) -> Sequential:
    """A copy of ``model``'s layers whose parameters *are* the model's arrays (an optimiser
    step on the model moves both) but whose gradients are arrays of its own."""
    replica = Sequential([layer_from_config(layer.config(), model.dtype, rng=0) for layer in model.layers])
    for layer, twin in zip(model.layers, replica.layers):
        for name, param in layer.params.items():
            twin.params[name] = param
    return replica


class SplitBatchStep:
    """Forward, loss and backward for one batch, split into ``parts`` between as many threads.

    Part 0 runs on the calling thread through ``path`` (the model's own gradients); the
    others run on worker threads through replicas sharing the parameters. After a step
    the model's gradients hold the batch's mean gradient, as after a one-thread step.
    """

    def __init__(self, model: Sequential, path: FastPath, parts: int, controller: ThreadpoolController,
                 active_inputs: np.ndarray | None = None) -> None:
        if not splittable(model):
            raise ValueError("the batch of a network with BatchNorm or Dropout cannot be split between threads")
        if parts < 2:
            raise ValueError(f"a split step needs at least 2 parts, got {parts}")
        self.model, self.controller = model, controller
        replicas = [replica_sharing_parameters(model) for _ in range(parts - 1)]
        self.paths = [path, *(FastPath(replica, active_inputs) for replica in replicas)]
        self.grads = [model.flat_grads, *(replica.flat_grads for replica in replicas)]
        self.losses = [SoftmaxCrossEntropy() for _ in range(parts)]
        self.executor = ThreadPoolExecutor(parts - 1, thread_name_prefix="nnlib-part")
        self._bounds_of: dict[int, tuple[int, ...]] = {}

    def __call__(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """The batch's mean loss and its number of correct predictions; the mean gradient
        lands in the model's gradients (not when the loss is not finite)."""
        bounds = self._bounds(len(x))
        parts = len(bounds) - 1
        with self.controller.limit(limits=1, user_api="blas"):
            futures = [self.executor.submit(self._part, index, x[bounds[index]:bounds[index + 1]],
                                            y[bounds[index]:bounds[index + 1]], len(x))
                       for index in range(1, parts)]
            results = [self._part(0, x[:bounds[1]], y[:bounds[1]], len(x))]
            results += [future.result() for future in futures]
        loss = sum(part_loss * rows for part_loss, _, rows in results) / len(x)
        if math.isfinite(loss):
            for grads in self.grads[1:parts]:
                self.model.flat_grads += grads
        return loss, sum(correct for _, correct, _ in results)

    def _bounds(self, rows: int) -> tuple[int, ...]:
        """Where the parts of a batch of ``rows`` samples start and end: as equal as can be
        (worked out once per batch size: an epoch has at most two)."""
        bounds = self._bounds_of.get(rows)
        if bounds is None:
            parts = min(len(self.paths), max(1, rows // MIN_ROWS_PER_PART))
            bounds = self._bounds_of[rows] = tuple(int(b) for b in np.linspace(0, rows, parts + 1).round())
        return bounds

    def _part(self, index: int, x: np.ndarray, y: np.ndarray, batch_rows: int) -> tuple[float, int, int]:
        """Forward, loss and backward of one part; its gradient is scaled by its share of the batch."""
        path, loss_fn = self.paths[index], self.losses[index]
        logits = path.forward(x, True)
        loss = loss_fn.forward(logits, y)
        correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
        if math.isfinite(loss):
            grad = loss_fn.backward()
            grad *= np.asarray(len(x) / batch_rows, dtype=grad.dtype)
            path.backward(grad)
        return loss, correct, len(x)

    def close(self) -> None:
        """Stop the worker threads."""
        self.executor.shutdown(wait=True)
