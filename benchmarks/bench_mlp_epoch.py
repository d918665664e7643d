"""One training epoch of the MLP [784, 256, 128, 64, 10], nnlib against PyTorch (CPU).

Both train with Adam (lr 1e-3), batch 128, float32, on the 60,000 MNIST training images,
shuffling once per epoch, with the same number of threads. Epochs alternate between
the two libraries (after one warm-up epoch each), so that a change in the machine's load
hits both alike. Printed: seconds per epoch (median and best), the ratio nnlib / PyTorch
(<= 1 means nnlib is no slower), and how far each is from the floor set by the
machine's measured matrix-product rate.

FLOP count per epoch: forward ``2 n sum(in*out)``, weight gradients the same again,
input gradients the same again but for the first layer (neither library computes the
gradient with respect to the pixels): 63 GFLOP needed, 87 GFLOP if the first layer's
input gradient were computed too.

PyTorch is imported only here (``pip install torch==2.13.0``); nnlib never uses it.

    python benchmarks/bench_mlp_epoch.py [--rounds 5] [--threads 2] [--save]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from common import emit, machine, matmul_rate, record_headlines, set_threads, table

SIZES = (784, 256, 128, 64, 10)
BATCH = 128


def flops_per_epoch(n: int, with_first_input_grad: bool = False) -> float:
    products = [a * b for a, b in zip(SIZES, SIZES[1:])]
    return 2 * n * (2 * sum(products) + sum(products[1:]) + (products[0] if with_first_input_grad else 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    set_threads(args.threads)

    import torch

    from nnlib.builders import build_mlp
    from nnlib.data import load_mnist
    from nnlib.optimizers import Adam
    from nnlib.preprocessing import PreprocessConfig, prepare
    from nnlib.training import fit

    torch.set_num_threads(args.threads)
    prepared = prepare(load_mnist(), PreprocessConfig(val_fraction=0.0))
    x, y = prepared.x_train, prepared.y_train
    n = len(x)

    model = build_mlp(SIZES[1:-1], seed=0)
    optimizer = Adam(1e-3)

    def nnlib_epoch(epoch: int) -> float:
        start = time.perf_counter()
        fit(model, x, y, optimizer=optimizer, batch_size=BATCH, epochs=1, seed=epoch)
        return time.perf_counter() - start

    torch.manual_seed(0)
    layers = []
    for a, b in zip(SIZES, SIZES[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    torch_optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)

    def torch_epoch(epoch: int) -> float:
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        xs, ys = x_t[order], y_t[order]
        for s in range(0, n, BATCH):
            torch_optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(xs[s:s + BATCH]), ys[s:s + BATCH])
            loss.backward()
            torch_optimizer.step()
        return time.perf_counter() - start

    nnlib_epoch(0), torch_epoch(0)                       # warm-up
    times = {"nnlib": [], "PyTorch": []}
    for round_ in range(1, args.rounds + 1):
        times["nnlib"].append(nnlib_epoch(round_))
        times["PyTorch"].append(torch_epoch(round_))

    rate = matmul_rate("float32")
    needed = flops_per_epoch(n)
    floor = needed / (rate * 1e9)
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append([name, f"{median:.3f}", f"{min(values):.3f}", f"{needed / median / 1e9:.1f}",
                     f"{median / floor:.2f}x"])
    ratio = statistics.median(times["nnlib"]) / statistics.median(times["PyTorch"])
    accuracy = model.evaluate(prepared.x_test, prepared.y_test)["accuracy"]
    text = "\n".join([
        "## One epoch of [784, 256, 128, 64, 10]: Adam, batch 128, float32, 60,000 images",
        "",
        f"Machine: {machine()}. Threads: {args.threads} (NumPy/OpenBLAS and torch {torch.__version__}). "
        f"{args.rounds} alternating rounds after a warm-up.",
        "",
        table(["library", "median s/epoch", "best s/epoch", "GFLOP/s achieved", "x matmul floor"], rows),
        "",
        f"**Ratio nnlib / PyTorch (median): {ratio:.2f}** (<= 1.0: nnlib is no slower).",
        "",
        f"Floor: {needed / 1e9:.1f} GFLOP needed per epoch ({flops_per_epoch(n, True) / 1e9:.1f} GFLOP "
        f"counting the first layer's input gradient, which neither computes) at the measured float32 "
        f"matrix-product rate of {rate:.1f} GFLOP/s (2048x2048 sgemm) = {floor:.3f} s.",
        f"nnlib test accuracy after these {args.rounds + 1} epochs: {accuracy:.4f}.",
    ])
    emit("mlp_epoch", text, args.save)
    record_headlines("mlp_epoch", [[
        f"MLP [784,256,128,64,10] epoch, Adam, batch 128, {n:,} images, {args.threads} threads",
        f"{statistics.median(times['nnlib']):.2f} s", f"PyTorch {statistics.median(times['PyTorch']):.2f} s",
        f"ratio {ratio:.2f}"]])


if __name__ == "__main__":
    main()
