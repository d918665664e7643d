"""The command line: ``python -m nnlib train|evaluate|predict``.

The same engine as the dashboard, for terminal users. Progress goes to stderr (a bar
that redraws itself on a terminal, one line per epoch otherwise); results go to stdout,
and with ``--json`` the last line of stdout is one JSON object, for scripts::

    python -m nnlib train --layers 256,128,64 --optimizer adam --epochs 10 --out model.npz --json
    python -m nnlib train --preset cnn --epochs 2      # a named recipe, one flag overridden
    python -m nnlib train --list-presets
    python -m nnlib evaluate --model model.npz --json
    python -m nnlib predict --model model.npz digit.png --json
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .augment import AugmentConfig
from .builders import describe_network
from .cli_diagnose import DIAGNOSE_COMMANDS, add_diagnose_commands
from .data import load_dataset
from .imaging import load_image, to_mnist_style
from .jsonable import dumps
from .model import Sequential
from .preprocessing import PreprocessConfig, Scaler, prepare
from .presets import PRESETS, Preset, get_preset
from .training import EndEvent, EpochEvent, Event, StepEvent, TrainConfig, train

DEFAULT_LEARNING_RATES = {"sgd": 0.1, "momentum": 0.01, "adam": 1e-3}
BAR_WIDTH = 24
REDRAW_SECONDS = 0.1


class ProgressBar:
    """A callback that draws training progress on ``stream`` (stderr)."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self._last_draw = 0.0

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepEvent) and self.interactive:
            now = time.perf_counter()
            if now - self._last_draw < REDRAW_SECONDS and event.step != event.steps_per_epoch:
                return
            self._last_draw = now
            done = event.step / event.steps_per_epoch
            filled = int(BAR_WIDTH * done)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\repoch {event.epoch} [{bar}] {done:4.0%} loss {event.loss:.4f} "
                              f"{event.samples_per_second:,.0f} samples/s")
            self.stream.flush()
        elif isinstance(event, EpochEvent):
            val = ("" if math.isnan(event.val_accuracy)
                   else f"  val loss {event.val_loss:.4f}  val acc {event.val_accuracy:.4f}")
            self.stream.write("\r\033[K" if self.interactive else "")
            self.stream.write(f"epoch {event.epoch}/{event.epochs}  loss {event.train_loss:.4f}  "
                              f"acc {event.train_accuracy:.4f}{val}  {event.seconds:.1f} s  "
                              f"{event.samples_per_second:,.0f} samples/s\n")
            self.stream.flush()
        elif isinstance(event, EndEvent):
            if self.interactive:
                self.stream.write("\r\033[K")
            if event.status != "completed":
                self.stream.write(f"{event.status}: {event.message}\n")
            self.stream.flush()


# ---------------------------------------------------------------------- arguments
def _layers(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layers expects sizes like 256,128,64, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--layers expects positive sizes like 256,128,64, got {text!r}")
    return sizes


def _conv(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none", "0"):
        return ()
    try:
        channels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--conv expects filter counts like 16,32, got {text!r}") from None
    if min(channels, default=0) < 1:
        raise argparse.ArgumentTypeError(f"--conv expects positive filter counts like 16,32, got {text!r}")
    return channels


def _batch_size(text: str) -> int | None:
    if text.strip().lower() == "full":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch-size expects a number or 'full', got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--batch-size must be >= 1, got {value}")
    return value


def _positive_float(name: str) -> Callable[[str], float]:
    """An argparse type: a finite number > 0 (a learning rate of 0 would train nothing)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} expects a number, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be a number > 0, got {text!r}")
        return value
    return parse


def _fraction(name: str, include_zero: bool = True) -> Callable[[str], float]:
    """An argparse type: a number in [0, 1) (or (0, 1) when ``include_zero`` is False)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} expects a number, got {text!r}") from None
        if not (0 <= value < 1) or (value == 0 and not include_zero):
            interval = "[0, 1)" if include_zero else "(0, 1)"
            raise argparse.ArgumentTypeError(f"{name} must be in {interval}, got {text!r}")
        return value
    return parse


def _at_least(name: str, minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} expects a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be >= {minimum}, got {value}")
        return value
    return parse


def _on_off(name: str) -> Callable[[str], bool]:
    """An argparse type: on/off (also yes/no, true/false, 1/0)."""
    def parse(text: str) -> bool:
        word = text.strip().lower()
        if word in ("on", "yes", "true", "1"):
            return True
        if word in ("off", "no", "false", "0"):
            return False
        raise argparse.ArgumentTypeError(f"{name} expects on or off, got {text!r}")
    return parse


def _train_size(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    return _at_least("--train-size", 2)(text)


def _augment(text: str) -> AugmentConfig | None:
    if text.strip().lower() in ("none", "off"):
        return None
    try:
        shift, rotation, scale, noise = (float(v) for v in text.split(","))
        return AugmentConfig(max_shift_px=shift, max_rotation_deg=rotation, max_scale=scale, noise_std=noise)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--augment expects four numbers SHIFT,ROTATION,SCALE,NOISE "
                                         f"(or 'none'), got {text!r} ({error})") from None


# What each flag a preset can set takes when neither the command line nor a preset gives it.
TRAIN_DEFAULTS: dict[str, Any] = {
    "layers": (256, 128, 64), "conv": (), "activation": "relu", "init": "he", "dropout": 0.0, "batch_norm": False,
    "optimizer": "adam", "lr": None, "momentum": 0.9, "nesterov": False, "l2": 0.0, "schedule": "constant",
    "batch_size": 128, "epochs": 10, "train_size": None, "val_split": 0.2, "augment": None, "seed": 0,
}


def preset_arguments(preset: Preset) -> dict[str, Any]:
    """The command-line values (by argparse dest) that reproduce ``preset``."""
    config = preset.config
    return {"layers": config.hidden_sizes, "conv": config.conv_channels, "activation": config.activation,
            "init": config.init, "dropout": config.dropout, "batch_norm": config.batch_norm,
            "optimizer": config.optimizer, "lr": config.learning_rate, "momentum": config.momentum,
            "nesterov": config.nesterov, "l2": config.l2, "schedule": config.schedule,
            "batch_size": config.batch_size, "epochs": config.epochs, "train_size": preset.train_size,
            "val_split": preset.val_fraction, "augment": preset.augment, "seed": config.seed}


def resolve_train_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """Fill every training flag left out: from ``--preset`` when given, else from :data:`TRAIN_DEFAULTS`.

    A flag given on the command line always wins. ValueError for an unknown preset name.
    """
    name = getattr(args, "preset", None)
    base = preset_arguments(get_preset(name)) if name is not None else TRAIN_DEFAULTS
    for dest, value in base.items():
        if not hasattr(args, dest):
            setattr(args, dest, value)
    if not hasattr(args, "preset"):
        args.preset = None
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nnlib", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train_cmd = commands.add_parser("train", help="train an MLP (or a CNN with --conv) and optionally save it",
                                    description="Flags not given take the --preset's value, else their default.")
    train_cmd.add_argument("--preset", default=argparse.SUPPRESS, metavar="NAME",
                           help=f"start from a named recipe ({', '.join(PRESETS)}); other flags override it")
    train_cmd.add_argument("--list-presets", action="store_true", default=argparse.SUPPRESS,
                           help="list the presets with what they train and what they reached, then exit")
    train_cmd.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist, or a folder/.csv/.npz path")
    # The flags a preset sets have no argparse default (argparse.SUPPRESS): one given on the
    # command line is then told apart from one left out, which resolve_train_arguments fills.
    train_cmd.add_argument("--layers", type=_layers, default=argparse.SUPPRESS, help="hidden sizes, e.g. 256,128,64")
    train_cmd.add_argument("--conv", type=_conv, default=argparse.SUPPRESS, metavar="16,32",
                           help="a CNN: filters of each 5x5 convolution + 2x2 max-pool stage before the "
                                "--layers (default: none, an MLP)")
    train_cmd.add_argument("--activation", default=argparse.SUPPRESS, choices=["relu", "leaky_relu", "tanh", "sigmoid"])
    train_cmd.add_argument("--init", default=argparse.SUPPRESS, choices=["he", "glorot", "seed", "small"])
    train_cmd.add_argument("--dropout", type=_fraction("--dropout"), default=argparse.SUPPRESS,
                           help="dropout rate in [0, 1)")
    train_cmd.add_argument("--batch-norm", type=_on_off("--batch-norm"), default=argparse.SUPPRESS,
                           metavar="on|off", help="batch normalisation before each hidden activation (default off)")
    train_cmd.add_argument("--optimizer", default=argparse.SUPPRESS, choices=["sgd", "momentum", "adam"])
    train_cmd.add_argument("--lr", type=_positive_float("--lr"), default=argparse.SUPPRESS,
                           help="learning rate (default: sgd 0.1, momentum 0.01, adam 0.001)")
    train_cmd.add_argument("--momentum", type=_fraction("--momentum"), default=argparse.SUPPRESS)
    train_cmd.add_argument("--nesterov", action="store_true", default=argparse.SUPPRESS)
    train_cmd.add_argument("--l2", type=float, default=argparse.SUPPRESS, help="L2 weight decay")
    train_cmd.add_argument("--schedule", default=argparse.SUPPRESS, choices=["constant", "step", "cosine"])
    train_cmd.add_argument("--batch-size", type=_batch_size, default=argparse.SUPPRESS,
                           help="samples per step, or 'full'")
    train_cmd.add_argument("--epochs", type=_at_least("--epochs", 1), default=argparse.SUPPRESS)
    train_cmd.add_argument("--train-size", type=_train_size, default=argparse.SUPPRESS,
                           help="use the first N training images ('all' for every one)")
    train_cmd.add_argument("--val-split", type=_fraction("--val-split"), default=argparse.SUPPRESS,
                           help="fraction held out for validation, in [0, 1) (default 0.2)")
    train_cmd.add_argument("--scaling", default="unit", choices=["unit", "standardize", "none"])
    train_cmd.add_argument("--augment", type=_augment, default=argparse.SUPPRESS, metavar="SHIFT,ROTATION,SCALE,NOISE",
                           help="random augmentation of training batches, e.g. 2,10,0.1,0 ('none' for off)")
    train_cmd.add_argument("--seed", type=int, default=argparse.SUPPRESS)
    train_cmd.add_argument("--out", type=Path, default=None, help="save the model to this .npz")
    train_cmd.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    evaluate_cmd = commands.add_parser("evaluate", help="accuracy and loss of a saved model")
    evaluate_cmd.add_argument("--model", type=Path, required=True)
    evaluate_cmd.add_argument("--dataset", default="mnist",
                              help="mnist, fashion-mnist or a path; its test set is used when it has one")
    evaluate_cmd.add_argument("--json", action="store_true")

    predict_cmd = commands.add_parser("predict", help="classify image files")
    predict_cmd.add_argument("--model", type=Path, required=True)
    predict_cmd.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    predict_cmd.add_argument("--json", action="store_true")

    add_diagnose_commands(commands, train_cmd)   # lr-find, calibrate: nnlib/cli_diagnose.py
    return parser


# ---------------------------------------------------------------------- commands
def command_list_presets(out: TextIO, as_json: bool) -> dict[str, Any]:
    """``train --list-presets``: each preset's name, what it trains and what it reached."""
    listed = [{"name": preset.name, "title": preset.title, "summary": preset.summary,
               "measured": preset.measured, "data": preset.data_text(), "config": preset.config.to_dict()}
              for preset in PRESETS.values()]
    if not as_json:
        for entry in listed:
            out.write(f"{entry['name']}: {entry['title']}\n  {entry['summary']}\n  data: {entry['data']}\n"
                      f"  measured: {entry['measured']}\n")
    return {"presets": listed}


def command_train(args: argparse.Namespace, out: TextIO, err: TextIO) -> dict[str, Any]:
    if getattr(args, "list_presets", False):
        return command_list_presets(out, args.json)
    dataset = load_dataset(args.dataset)
    prepared = prepare(dataset, PreprocessConfig(train_size=args.train_size, val_fraction=args.val_split,
                                                 seed=args.seed, scaling=args.scaling, augment=args.augment))
    config = TrainConfig(
        hidden_sizes=args.layers, conv_channels=args.conv, activation=args.activation, init=args.init, dropout=args.dropout,
        batch_norm=args.batch_norm, optimizer=args.optimizer,
        learning_rate=DEFAULT_LEARNING_RATES[args.optimizer] if args.lr is None else args.lr,
        momentum=args.momentum, nesterov=args.nesterov, batch_size=args.batch_size, epochs=args.epochs,
        l2=args.l2, schedule=args.schedule, seed=args.seed)
    if args.preset is not None:
        err.write(f"preset {args.preset}: {get_preset(args.preset).title}\n")
    err.write(f"{dataset.name}: {len(prepared.x_train):,} training / {len(prepared.x_val):,} validation images; "
              f"network {describe_network(config, prepared.x_train.shape[1], len(prepared.class_names))}"
              f"{' with batch norm' if config.batch_norm else ''}, "
              f"{config.optimizer} lr {config.learning_rate:g}, batch {config.batch_size or 'full'}"
              f"{', augmented' if args.augment is not None else ''}\n")
    model, result = train(prepared, config, callbacks=[ProgressBar(err)])
    train_scores = model.evaluate(prepared.x_train, prepared.y_train)
    model.metadata["metrics"]["train_accuracy_final"] = train_scores["accuracy"]
    report = {
        "preset": args.preset,
        "status": result.status,
        "message": result.message,
        "train_accuracy": train_scores["accuracy"],
        "val_accuracy": model.metadata["metrics"]["val_accuracy"],
        "test_accuracy": result.test_accuracy,
        "epochs": result.epochs_completed,
        "seconds": round(result.seconds, 3),
        "samples_per_second": round(result.samples_per_second, 1),
        "learning_rate": config.learning_rate,
    }
    if args.out is not None:
        model.save(args.out)
        report["out"] = str(args.out)
    if not args.json:
        out.write(f"{result.status}: {result.message}\n")
        for key in ("train_accuracy", "val_accuracy", "test_accuracy"):
            if report[key] is not None:
                out.write(f"{key:<16} {report[key]:.4f}\n")
        out.write(f"{'seconds':<16} {result.seconds:.2f}  ({result.samples_per_second:,.0f} samples/s)\n")
        if args.out is not None:
            out.write(f"saved to {args.out}\n")
    return report


def command_evaluate(args: argparse.Namespace, out: TextIO, err: TextIO) -> dict[str, Any]:
    model = Sequential.load(args.model)
    dataset = load_dataset(args.dataset)
    model.check_fits(int(dataset.x_train[0].size), dataset.n_classes, dataset.name)
    if dataset.has_test:
        images, labels, part = dataset.x_test, dataset.y_test, "test"
    else:
        images, labels, part = dataset.x_train, dataset.y_train, "all"
    if labels.min(initial=0) < 0:
        raise ValueError(f"{dataset.name} has no labels to evaluate against")
    x = Scaler.from_metadata(model.metadata).transform(images.reshape(len(images), -1))
    scores = model.evaluate(x, labels)
    report = {"accuracy": scores["accuracy"], "loss": scores["loss"], "n": int(len(labels)),
              "dataset": dataset.name, "split": part}
    if not args.json:
        out.write(f"{dataset.name} ({part}, {len(labels):,} images): accuracy {scores['accuracy']:.4f}, "
                  f"loss {scores['loss']:.4f}\n")
    return report


def command_predict(args: argparse.Namespace, out: TextIO, err: TextIO) -> dict[str, Any]:
    model = Sequential.load(args.model)
    scaler = Scaler.from_metadata(model.metadata)
    class_names = model.metadata.get("class_names") or [str(i) for i in range(model.n_classes)]
    predictions = []
    for path in args.images:
        entry: dict[str, Any] = {"path": str(path)}
        try:
            styled = to_mnist_style(load_image(path))
        except (OSError, ValueError) as error:
            entry.update(label=None, probabilities=None, error=str(error))
            predictions.append(entry)
            continue
        x = scaler.transform(styled.image.reshape(1, -1), already_unit=True)
        probabilities = model.predict_proba(x)[0]
        label = int(probabilities.argmax())
        entry.update(label=label, class_name=str(class_names[label]),
                     probabilities=[round(float(p), 6) for p in probabilities], empty=bool(styled.is_empty))
        predictions.append(entry)
        if not args.json:
            note = "  (no ink found)" if styled.is_empty else ""
            out.write(f"{path}: {class_names[label]} ({probabilities[label]:.1%}){note}\n")
    if not args.json:
        for entry in predictions:
            if entry.get("error"):
                out.write(f"{entry['path']}: error: {entry['error']}\n")
    failed = sum(1 for entry in predictions if entry.get("error"))
    return {"predictions": predictions, "failed": failed,
            "status": "failed" if failed == len(predictions) else "completed"}


TRAINING_COMMANDS = ("train", "lr-find")   # the commands with the training flags (and --preset)
COMMANDS = {"train": command_train, "evaluate": command_evaluate, "predict": command_predict}
COMMANDS.update(DIAGNOSE_COMMANDS)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 training diverged/stopped, 2 error, including
    ``predict`` when no image could be read)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        if args.command in TRAINING_COMMANDS:
            resolve_train_arguments(args)
        report = COMMANDS[args.command](args, out, err)
    except (ValueError, OSError) as error:
        err.write(f"error: {error}\n")
        if getattr(args, "json", False):
            out.write(dumps({"error": str(error)}) + "\n")
        return 2
    if args.json:
        out.write(dumps(report) + "\n")
    out.flush()
    if report.get("status") == "failed":
        err.write("error: none of the images could be read\n")
        return 2
    return 1 if report.get("status") in ("diverged", "stopped") else 0

