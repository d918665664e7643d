"""The CNN: test accuracy per epoch on all 60,000 images, and one epoch beside PyTorch.

nnlib's ``build_cnn((16, 32), (128,))``: 28x28x1 -> conv 5x5x16 -> max-pool -> conv 5x5x32
-> max-pool -> 512 -> 128 -> 10 (ReLU, He), Adam with a cosine schedule, batch 128,
trained on the 60,000 training images; test accuracy on the 10,000 test images after
each epoch (not timed), and the first epoch reaching 99%; the time to predict one image.
Then one epoch of the same
network, float32, batch 128, in nnlib and in PyTorch CPU (when installed; benchmarks
only), alternating, same threads, and the ratio.

    python benchmarks/bench_cnn.py [--epochs 4] [--filters 16,32] [--hidden 128] [--lr 0.002] [--save]
"""

from __future__ import annotations

import argparse
import time

from bench_accuracy import predict_latency
from common import emit, machine, table

TARGET = 0.99


def nnlib_epoch_seconds(prepared, filters, hidden, seed: int = 0) -> float:
    from nnlib.builders import build_cnn
    from nnlib.optimizers import Adam
    from nnlib.training import fit

    model = build_cnn(filters, hidden, seed=seed)
    start = time.perf_counter()
    fit(model, prepared.x_train, prepared.y_train, optimizer=Adam(1e-3), batch_size=128, epochs=1, seed=seed)
    return time.perf_counter() - start


def torch_epoch_seconds(prepared, filters, hidden, seed: int = 0) -> float | None:
    try:
        import torch
    except ImportError:
        return None
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
    x = torch.from_numpy(prepared.x_train.reshape(-1, 1, 28, 28))
    y = torch.from_numpy(prepared.y_train)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--filters", default="16,32")
    parser.add_argument("--hidden", default="128")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed-repeats", type=int, default=2, help="alternating epochs per library (0: skip)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    filters = tuple(int(v) for v in args.filters.split(","))
    hidden = tuple(int(v) for v in args.hidden.split(",") if v)

    from nnlib.builders import build_cnn
    from nnlib.data import load_mnist
    from nnlib.optimizers import Adam
    from nnlib.preprocessing import PreprocessConfig, prepare
    from nnlib.schedules import make_schedule
    from nnlib.training import EpochEvent, fit

    header = machine()
    prepared = prepare(load_mnist(), PreprocessConfig(val_fraction=0.0, seed=args.seed))
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
    speed_rows = []
    if args.speed_repeats:
        times: dict[str, list[float]] = {"nnlib": [], "PyTorch": []}
        for _ in range(args.speed_repeats):
            times["nnlib"].append(nnlib_epoch_seconds(prepared, filters, hidden, args.seed))
            seconds = torch_epoch_seconds(prepared, filters, hidden, args.seed)
            if seconds is not None:
                times["PyTorch"].append(seconds)
        best = {name: min(values) for name, values in times.items() if values}
        for name, seconds in best.items():
            ratio = f"{seconds / best['PyTorch']:.2f}" if "PyTorch" in best else ""
            speed_rows.append([name, f"{seconds:.1f}", f"{60_000 / seconds:,.0f}", ratio])

    text = "\n".join([
        f"## CNN: {model.parameter_count:,} parameters, conv {'-'.join(map(str, filters))} (5x5, max-pool 2) + "
        f"dense {list(hidden)}, Adam {args.lr:g} (cosine), batch 128, {args.epochs} epochs, 60,000 images",
        "",
        f"Machine: {header}. Seed {args.seed}. Seconds = cumulative training time (test evaluation excluded).",
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
        *([f"One epoch, float32, batch 128, Adam (best of {args.speed_repeats}, alternating):", "",
           table(["library", "seconds", "images/s", "ratio to PyTorch"], speed_rows)] if speed_rows else []),
    ])
    emit("cnn", text, args.save)


if __name__ == "__main__":
    main()
