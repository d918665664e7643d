"""The seed study, reproduced: full-batch gradient descent, 150 iterations, 42,000 images.

The first 42,000 MNIST training images are shuffled (seed 0) and split 33,600 / 8,400;
each network trains with plain SGD on the whole training set at once (one step per
iteration), as the seed did. Reported: validation accuracy and training seconds for the
seed's best network [784, 256, 128, 64, 10] and its weakest [784, 32, 10], with nnlib
(float32) and, side by side, a plain float64 NumPy implementation written the way the
seed study wrote it (samples in columns, softmax and its derivative done separately).

    python benchmarks/bench_seed_reproduction.py [--lr 0.2] [--iterations 150] [--save]
"""

from __future__ import annotations

import argparse
import time

from common import emit, machine, record_headlines, table

SEED_LR = 0.2


def numpy_reference(x_train, y_train, x_val, y_val, layer_dims, iterations, learning_rate, seed=0):
    """The seed study's algorithm in float64 NumPy, columns layout: returns (val acc, seconds)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = x_train.T.astype(np.float64)                     # (784, m)
    m = X.shape[1]
    Y = np.zeros((10, m))
    Y[y_train, np.arange(m)] = 1
    params = {}
    for layer in range(1, len(layer_dims)):
        scale = np.sqrt(1.0 / layer_dims[layer])
        params[f"W{layer}"] = rng.standard_normal((layer_dims[layer], layer_dims[layer - 1])) * scale
        params[f"b{layer}"] = rng.standard_normal((layer_dims[layer], 1)) * scale
    L = len(layer_dims) - 1

    def forward(A):
        acts = {"A0": A}
        for layer in range(1, L + 1):
            Z = params[f"W{layer}"] @ acts[f"A{layer - 1}"] + params[f"b{layer}"]
            acts[f"Z{layer}"] = Z
            if layer < L:
                acts[f"A{layer}"] = np.maximum(Z, 0)
            else:
                E = np.exp(Z - Z.max(axis=0))
                acts[f"A{layer}"] = E / E.sum(axis=0)
        return acts

    start = time.perf_counter()
    for _ in range(iterations):
        acts = forward(X)
        dZ = acts[f"A{L}"] - Y
        for layer in range(L, 0, -1):
            dW = dZ @ acts[f"A{layer - 1}"].T / m
            db = dZ.sum(axis=1, keepdims=True) / m
            if layer > 1:
                dZ = (params[f"W{layer}"].T @ dZ) * (acts[f"Z{layer - 1}"] > 0)
            params[f"W{layer}"] -= learning_rate * dW
            params[f"b{layer}"] -= learning_rate * db
    seconds = time.perf_counter() - start
    predicted = forward(x_val.T.astype(np.float64))[f"A{L}"].argmax(axis=0)
    return float(np.mean(predicted == y_val)), seconds


def matrix_products_alone(m: int, layer_dims: list[int], iterations: int) -> float:
    """Seconds for only the float32 matrix products of ``iterations`` full-batch steps (samples in rows).

    Per layer and step: the forward product, the weight gradient and (above the first layer)
    the input gradient, on random matrices of the training set's shapes. No activation, softmax,
    update or evaluation: the floor the BLAS library sets for this training on this machine.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    acts = [rng.random((m, width), dtype=np.float32) for width in layer_dims]
    weights = [rng.random((fan_in, fan_out), dtype=np.float32) for fan_in, fan_out in zip(layer_dims, layer_dims[1:])]
    outs = [np.empty((m, fan_out), np.float32) for fan_out in layer_dims[1:]]
    grads = [np.empty_like(w) for w in weights]
    back = [np.empty((m, fan_in), np.float32) for fan_in in layer_dims[:-1]]
    start = time.perf_counter()
    for _ in range(iterations):
        for layer, w in enumerate(weights):
            np.matmul(acts[layer], w, out=outs[layer])
        for layer in range(len(weights) - 1, -1, -1):
            np.matmul(acts[layer].T, outs[layer], out=grads[layer])
            if layer > 0:
                np.matmul(outs[layer], weights[layer].T, out=back[layer])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lr", type=float, default=SEED_LR)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--init", default="seed", choices=["seed", "he"])
    parser.add_argument("--no-reference", action="store_true", help="skip the float64 NumPy reference")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()

    from nnlib.data import load_mnist
    from nnlib.preprocessing import PreprocessConfig, prepare
    from nnlib.training import TrainConfig, train

    prepared = prepare(load_mnist(), PreprocessConfig(train_size=42_000, val_fraction=0.2, seed=0))
    header = machine()
    rows, headlines = [], []
    for hidden, seed_figure in (((256, 128, 64), "92%"), ((32,), "83%")):
        config = TrainConfig(hidden_sizes=hidden, optimizer="sgd", learning_rate=args.lr, batch_size=None,
                             epochs=args.iterations, init=args.init, seed=0)
        start = time.perf_counter()
        model, result = train(prepared, config)
        wall = time.perf_counter() - start
        arch = str([784, *hidden, 10])
        rows.append([arch, "nnlib float32", args.lr, result.status,
                     f"{result.last('train_accuracy'):.4f}", f"{result.last('val_accuracy'):.4f}",
                     f"{result.test_accuracy:.4f}", f"{result.seconds:.1f}", f"{wall:.1f}", seed_figure, ""])
        if not args.no_reference:
            val_accuracy, seconds = numpy_reference(prepared.x_train, prepared.y_train, prepared.x_val,
                                                    prepared.y_val, [784, *hidden, 10], args.iterations, args.lr)
            rows.append([arch, "plain NumPy float64", args.lr, "completed", "", f"{val_accuracy:.4f}", "",
                         f"{seconds:.1f}", f"{seconds:.1f}", seed_figure, f"{seconds / wall:.2f}x"])
        floor = matrix_products_alone(len(prepared.x_train), [784, *hidden, 10], args.iterations)
        rows.append([arch, "its matrix products alone (float32)", "", "", "", "", "", f"{floor:.1f}", f"{floor:.1f}",
                     "", f"{floor / wall:.2f}x"])
        headlines.append([f"Seed reproduction {arch}, full-batch SGD, {args.iterations} iterations",
                          f"{100 * result.last('val_accuracy'):.2f}% val in {wall:.1f} s",
                          f"seed study {seed_figure}" + ("" if args.no_reference else
                                                         f"; float64 NumPy {seconds:.1f} s"),
                          ("" if args.no_reference else f"{seconds / wall:.2f}x faster; ")
                          + f"matrix products alone {floor:.1f} s"])
    text = "\n".join([
        f"## Seed reproduction: full-batch SGD, {args.iterations} iterations, 33,600 / 8,400 of the first 42,000",
        "",
        f"Machine: {header}. Init: {args.init!r}. `train s` = the training loop; `wall s` adds building the network, "
        "the one-off copy of the inputs into row blocks without their blank pixel columns, and the test evaluation "
        "(data loading excluded). `its matrix products alone` times only the forward and backward matrix products "
        "of the same shapes, float32, with all 784 input columns: what the BLAS library takes for this training "
        "on this machine, whatever the library around it.",
        "",
        table(["network", "implementation", "lr", "status", "train acc", "val acc", "test acc", "train s",
               "wall s", "seed study val", "reference / nnlib (wall)"], rows),
        "",
        "Reproduce: `python benchmarks/bench_seed_reproduction.py --save`; CLI equivalent: "
        f"`python -m nnlib train --layers 256,128,64 --init {args.init} --optimizer sgd --lr {args.lr} "
        f"--batch-size full --epochs {args.iterations} --train-size 42000 --val-split 0.2`.",
    ])
    emit("seed_reproduction", text, args.save)
    record_headlines("seed_reproduction", headlines)


if __name__ == "__main__":
    main()
