"""The diagnosing commands of the CLI: ``lr-find`` (range test) and ``calibrate``.

Kept beside :mod:`nnlib.cli`, which registers them: ``lr-find`` takes every flag of
``train`` (the network and optimiser to test) plus the range of rates; ``calibrate`` fits
a temperature to a saved model on a validation split and measures ECE on the test set::

    python -m nnlib lr-find --layers 256,128,64 --optimizer adam --json
    python -m nnlib calibrate --model model.npz --out calibrated.npz --json
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from .builders import build_network
from .calibration import N_BINS, calibrate, store_temperature
from .data import load_dataset
from .lr_finder import END_LR, START_LR, STEPS, range_test
from .model import Sequential
from .preprocessing import PreprocessConfig, prepare
from .train_config import TrainConfig

DEFAULT_LEARNING_RATES = {"sgd": 0.1, "momentum": 0.01, "adam": 1e-3}
RANGE_TEST_BATCH = 128    # the batch of a full-batch config's range test (a step per batch)


def add_diagnose_commands(commands: Any, train_cmd: argparse.ArgumentParser) -> None:
    """Add ``lr-find`` (with all of ``train_cmd``'s flags) and ``calibrate`` to ``commands``."""
    lr_cmd = commands.add_parser("lr-find", parents=[train_cmd], add_help=False,
                                 help="learning-rate range test: loss against an exponentially growing rate")
    lr_cmd.add_argument("--steps", type=int, default=STEPS, help="mini-batches of the test")
    lr_cmd.add_argument("--start-lr", type=float, default=START_LR)
    lr_cmd.add_argument("--end-lr", type=float, default=END_LR)

    calibrate_cmd = commands.add_parser("calibrate", help="temperature scaling: fit on a validation split, "
                                                          "ECE on the test set before and after")
    calibrate_cmd.add_argument("--model", type=Path, required=True)
    calibrate_cmd.add_argument("--dataset", default=None,
                               help="mnist, fashion-mnist or a path (default: the dataset the model names)")
    calibrate_cmd.add_argument("--bins", type=int, default=N_BINS, help="confidence bins of the ECE")
    calibrate_cmd.add_argument("--out", type=Path, default=None,
                               help="save the model with its fitted temperature to this .npz")
    calibrate_cmd.add_argument("--json", action="store_true")


def _train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        hidden_sizes=args.layers, conv_channels=args.conv, activation=args.activation, init=args.init,
        dropout=args.dropout, batch_norm=args.batch_norm, optimizer=args.optimizer,
        learning_rate=args.lr or DEFAULT_LEARNING_RATES[args.optimizer], momentum=args.momentum,
        nesterov=args.nesterov, batch_size=args.batch_size, epochs=max(1, args.epochs), l2=args.l2,
        schedule=args.schedule, seed=args.seed)


def command_lr_find(args: argparse.Namespace, out: TextIO, err: TextIO) -> dict[str, Any]:
    """Run the range test on a fresh network of the train flags; suggest a rate."""
    if args.steps < 2:
        raise ValueError(f"--steps must be at least 2, got {args.steps}")
    dataset = load_dataset(args.dataset)
    prepared = prepare(dataset, PreprocessConfig(train_size=args.train_size, val_fraction=args.val_split,
                                                 seed=args.seed, scaling=args.scaling))
    config = _train_config(args)
    model = build_network(config, input_size=prepared.x_train.shape[1], n_classes=len(prepared.class_names))

    def progress(step: int, steps: int, rate: float, loss: float) -> None:
        if step % 25 == 0 or step == steps:
            err.write(f"step {step}/{steps}  lr {rate:.2e}  smoothed loss {loss:.4f}\n")

    result = range_test(model, prepared.x_train, prepared.y_train, optimizer=config.optimizer,
                        momentum=config.momentum, nesterov=config.nesterov, l2=config.l2,
                        batch_size=config.batch_size or RANGE_TEST_BATCH, start_lr=args.start_lr,
                        end_lr=args.end_lr, steps=args.steps, seed=args.seed, progress=progress)
    report = result.to_dict()
    if not args.json:
        suggestion = "none (the loss never fell)" if result.suggested_lr is None else f"{result.suggested_lr:.3g}"
        out.write(f"{result.status} after {len(result.losses)} steps; suggested learning rate: {suggestion}\n")
    return report


def command_calibrate(args: argparse.Namespace, out: TextIO, err: TextIO) -> dict[str, Any]:
    """Fit a temperature on the model's own validation split (its preprocessing config says
    which images it was not trained on) and measure ECE on the test set."""
    if args.bins < 1:
        raise ValueError(f"--bins must be >= 1, got {args.bins}")
    model = Sequential.load(args.model)
    stored = (model.metadata.get("preprocessing") or {}).get("config")
    config = PreprocessConfig.from_dict(stored) if isinstance(stored, dict) else PreprocessConfig()
    if config.val_fraction <= 0:
        raise ValueError(f"{args.model} was trained without a validation split (val_fraction 0): "
                         f"there are no held-out images to fit a temperature on")
    dataset = load_dataset(args.dataset or str(model.metadata.get("dataset") or "mnist").lower())
    if not dataset.has_test:
        raise ValueError(f"{dataset.name} has no test set to measure the calibration on")
    prepared = prepare(dataset, config)
    report = calibrate(model, prepared.x_val, prepared.y_val, prepared.x_test, prepared.y_test, n_bins=args.bins)
    result: dict[str, Any] = {**report.summary(), "bins_before": report.before.to_dict(),
                              "bins_after": report.after.to_dict()}
    if args.out is not None:
        store_temperature(model, report)
        model.save(args.out)
        result["out"] = str(args.out)
    if not args.json:
        out.write(f"temperature {report.temperature:.4f} (fitted on {report.n_fit:,} validation images)\n"
                  f"test ECE before {report.ece_before:.4f}, after {report.ece_after:.4f}\n")
        if args.out is not None:
            out.write(f"saved to {args.out}\n")
    return result


DIAGNOSE_COMMANDS = {"lr-find": command_lr_find, "calibrate": command_calibrate}
