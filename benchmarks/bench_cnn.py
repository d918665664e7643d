"""The CNN: test accuracy per epoch on all 60,000 images, and one epoch beside PyTorch.

nnlib's ``build_cnn((16, 32), (128,))``: 28x28x1 -> conv 5x5x16 -> max-pool -> conv 5x5x32
-> max-pool -> 512 -> 128 -> 10 (ReLU, He), Adam with a cosine schedule, batch 128,
trained on the 60,000 training images; test accuracy on the 10,000 test images after
each epoch (not timed), and the first epoch reaching 99%; the time to predict one image.
Then one epoch of the same network, float32, batch 128, Adam, all 60,000 images, in nnlib
and in PyTorch eager on the CPU (benchmarks only), in the same process with the same
threads: a short warm-up of each, then ``--speed-repeats`` epochs of each, alternating,
compared by their medians (the issue's target: nnlib's at most PyTorch's).

    python benchmarks/bench_cnn.py [--epochs 4] [--filters 16,32] [--hidden 128] [--lr 0.002]
                                   [--threads 2] [--speed-repeats 7] [--save]

``--epochs 0`` skips the accuracy part; ``--speed-repeats 0`` the timing part.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench_accuracy import predict_latency
from common import emit, machine, record_headlines, set_threads, table

TARGET = 0.99
WARM_UP_IMAGES = 2560


def nnlib_epoch_seconds(x, y, filters, hidden, seed: int = 0) -> float:
    """Seconds for one epoch of a fresh nnlib CNN over ``x`` (Adam, batch 128), as ``fit`` runs it."""
    from nnlib.builders import build_cnn
    from nnlib.optimizers import Adam
    from nnlib.training import fit

    model = build_cnn(filters, hidden, seed=seed)
    start = time.perf_counter()
    fit(model, x, y, optimizer=Adam(1e-3), batch_size=128, epochs=1, seed=seed)
    return time.perf_counter() - start


def torch_epoch_seconds(x_train, y_train, filters, hidden, seed: int = 0) -> float:
    """Seconds for one epoch of the same CNN in PyTorch eager (Adam, batch 128, new shuffle)."""
    import torch

    torch.manual_seed(seed)
    layers, channels, side = [], 1, 28
    for count in filters:
        layers += [torch.nn.Conv2d(channels, count, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        channels, side = count, (side - 4) // 2
    layers.append(torch.nn.Flatten())
    width = channels * side * side
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        width = size
    layers.append(torch.nn.Linear(width, 10))
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.from_numpy(x_train.reshape(-1, 1, 28, 28))
    y = torch.from_numpy(y_train)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    order = torch.randperm(len(x), generator=generator)
    for begin in range(0, len(x), 128):
        rows = order[begin:begin + 128]
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def compare_epochs(prepared, filters, hidden, repeats: int, threads: int, seed: int) -> dict[str, list[float]]:
    """Epoch seconds of nnlib and PyTorch, ``repeats`` each, alternating after a short warm-up."""
    import torch

    torch.set_num_threads(threads)
    x, y = prepared.x_train, prepared.y_train
    nnlib_epoch_seconds(x[:WARM_UP_IMAGES], y[:WARM_UP_IMAGES], filters, hidden, seed)
    torch_epoch_seconds(x[:WARM_UP_IMAGES], y[:WARM_UP_IMAGES], filters, hidden, seed)
    times: dict[str, list[float]] = {"nnlib": [], "PyTorch": []}
    for repeat in range(repeats):
        times["nnlib"].append(nnlib_epoch_seconds(x, y, filters, hidden, seed + repeat))
        times["PyTorch"].append(torch_epoch_seconds(x, y, filters, hidden, seed + repeat))
        print(f"epoch {repeat + 1}/{repeats}: nnlib {times['nnlib'][-1]:.2f} s, "
              f"PyTorch {times['PyTorch'][-1]:.2f} s", flush=True)
    return times


def accuracy_report(prepared, filters, hidden, args) -> list[str]:
    """Train for ``args.epochs`` with a cosine schedule; test accuracy per epoch and prediction time."""
    from nnlib.builders import build_cnn
    from nnlib.optimizers import Adam
    from nnlib.schedules import make_schedule
    from nnlib.training import EpochEvent, fit

    model = build_cnn(filters, hidden, seed=args.seed)
    rows, first_hit = [], None

    def on_epoch(event):
        nonlocal first_hit
        if isinstance(event, EpochEvent):
            accuracy = model.evaluate(prepared.x_test, prepared.y_test)["accuracy"]  # not timed
            if accuracy >= TARGET and first_hit is None:
                first_hit = event.epoch
            rows.append([event.epoch, f"{event.train_loss:.4f}", f"{event.train_accuracy:.4f}",
                         f"{accuracy:.4f}", f"{event.seconds:.1f}"])
            print(f"epoch {event.epoch}: test {accuracy:.4f} at {event.seconds:.1f} s", flush=True)

    result = fit(model, prepared.x_train, prepared.y_train, optimizer=Adam(args.lr), batch_size=128,
                 epochs=args.epochs, schedule=make_schedule("cosine", args.lr, args.epochs), seed=args.seed,
                 callbacks=[on_epoch])
    model_ms, drawing_ms = predict_latency(model, prepared.scaler)
    return [
        f"Accuracy: {model.parameter_count:,} parameters, Adam {args.lr:g} (cosine), {args.epochs} epochs. "
        "Seconds = cumulative training time (test evaluation excluded).",
        "",
        table(["epoch", "train loss", "train acc", "test acc", "seconds"], rows),
        "",
        (f"First epoch with test accuracy >= {TARGET:.0%}: {first_hit}." if first_hit
         else f"Test accuracy did not reach {TARGET:.0%} in {args.epochs} epochs.")
        + f" Total training time: {result.seconds:.1f} s.",
        "",
        f"Predicting one image: {model_ms:.3f} ms for the model; {drawing_ms:.3f} ms from a 280x280 drawing "
        "through the MNIST-style preprocessing (medians).",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs of the accuracy run (0: skip it)")
    parser.add_argument("--filters", default="16,32")
    parser.add_argument("--hidden", default="128")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads")
    parser.add_argument("--speed-repeats", type=int, default=7,
                        help="alternating epochs per library (0: skip); seven, as one epoch varies by 10-20%% on a shared machine")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    set_threads(args.threads)
    filters = tuple(int(v) for v in args.filters.split(","))
    hidden = tuple(int(v) for v in args.hidden.split(",") if v)

    from nnlib.data import load_mnist
    from nnlib.preprocessing import PreprocessConfig, prepare

    header = machine()
    prepared = prepare(load_mnist(), PreprocessConfig(val_fraction=0.0, seed=args.seed))
    lines = [f"## CNN: conv {'-'.join(map(str, filters))} (5x5, max-pool 2) + dense {list(hidden)}, "
             f"batch 128, 60,000 training images", "", f"Machine: {header}. Seed {args.seed}.", ""]
    if args.epochs > 0:
        lines += accuracy_report(prepared, filters, hidden, args)
    if args.speed_repeats:
        times = compare_epochs(prepared, filters, hidden, args.speed_repeats, args.threads, args.seed)
        medians = {name: statistics.median(values) for name, values in times.items()}
        ratio = medians["nnlib"] / medians["PyTorch"]
        rows = [[name, f"{medians[name]:.2f}", " / ".join(f"{v:.2f}" for v in times[name]),
                 f"{60_000 / medians[name]:,.0f}", f"{medians[name] / medians['PyTorch']:.2f}"] for name in times]
        verdict = "met" if ratio <= 1.0 else "not met"
        lines += [f"One epoch, float32, batch 128, Adam 0.001, {args.threads} threads (NumPy/OpenBLAS and "
                  f"PyTorch): {args.speed_repeats} epochs of each, alternating, after a warm-up; medians. "
                  f"Load average at the end: {_load():.2f}.", "",
                  table(["library", "median s/epoch", "each epoch (s)", "images/s", "ratio to PyTorch"], rows), "",
                  f"nnlib / PyTorch: {ratio:.2f}x (target: at most 1.00x, {verdict})."]
        record_headlines("cnn", [(f"CNN epoch, 60,000 images, {args.threads} threads", f"{medians['nnlib']:.1f} s",
                                  f"PyTorch eager {medians['PyTorch']:.1f} s", f"ratio {ratio:.2f}x: {verdict}")])
    emit("cnn", "\n".join(lines), args.save)


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


if __name__ == "__main__":
    main()
