"""``python -m experiments sweep|runs``: sweeps and the run store from a terminal.

``MNIST_LAB_HOME`` chooses the store. ``--json`` prints one JSON object as the last line of
stdout; progress goes to stderr (a bar on a terminal, one line per finished trial otherwise).

* ``sweep --preset lr-width --trials 16 --parallel 2 --train-size 10000 --epochs 2
  --backend local|ray [--address ADDR] [--seed S] --json``: keys ``sweep_id``,
  ``trials_completed``, ``trials_pruned``, ``trials_failed``, ``best_val_accuracy``,
  ``best_params``, ``seconds`` (and ``status``, ``best_run_id``). ``--config FILE`` reads the
  space and settings from TOML instead; flags given on the command line win.
* ``sweep --resume SWEEP_ID --json``: finishes an interrupted or stopped sweep, same keys.
* ``runs --json``: ``{"runs": [{"id", "name", "status", "sweep_id", "val_accuracy",
  "test_accuracy", "created_at", "model_path"}, ...]}``, newest first.

Exit status: 0 done, 1 the sweep was stopped (Ctrl+C or the time budget) before its
budget, 2 bad input or an unusable store or backend (the message says which).
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from nnlib.cli import BAR_WIDTH

from .executors import EXECUTOR_NAMES, ExecutorError, make_executor
from .space import PRESETS, SearchSpace
from .store import RUN_STATUSES, SORTABLE_COLUMNS, RunStore, StoreError
from .sweep import METHODS, PRUNERS, Sweep, SweepSettings, SweepSnapshot

SETTING_FLAGS = ("name", "method", "trials", "seconds", "parallel", "pruner", "seed", "epochs", "train_size",
                 "dataset")


class SweepProgressBar:
    """Draws a sweep's progress on ``stream``: a bar of finished trials on a terminal, and
    one line per finished trial when the stream is a file or a pipe."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self.reported: set[str] = set()

    def __call__(self, snap: SweepSnapshot) -> None:
        finished = [t for t in snap.trials if t.status not in ("queued", "running")]
        best = snap.best_so_far[-1] if snap.best_so_far else math.nan
        best_text = "-" if math.isnan(best) else f"{best:.4f}"
        if self.interactive:
            done = len(finished) / snap.budget if snap.budget else 1.0
            filled = int(BAR_WIDTH * min(1.0, done))
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            running = sum(t.status == "running" for t in snap.trials)
            self.stream.write(f"\r\033[Ktrials [{bar}] {len(finished)}/{snap.budget}  running {running}  "
                              f"best val acc {best_text}")
            if snap.finished:
                self.stream.write("\n")
        else:
            for trial in finished:
                if trial.run_id in self.reported:
                    continue
                self.reported.add(trial.run_id)
                accuracy = "-" if trial.val_accuracy is None else f"{trial.val_accuracy:.4f}"
                params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in trial.params.items())
                self.stream.write(f"trial {trial.number} {trial.status:<9} val acc {accuracy}  {params}  "
                                  f"(best {best_text})\n")
        self.stream.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m experiments",
                                     description="MNIST Lab's run store and hyperparameter sweeps.")
    commands = parser.add_subparsers(dest="command", required=True)

    sweep = commands.add_parser("sweep", help="run (or resume) a hyperparameter sweep")
    source = sweep.add_mutually_exclusive_group()
    source.add_argument("--preset", choices=sorted(PRESETS), help="a preset search space (default lr-width)")
    source.add_argument("--config", type=Path, help="a TOML file with [space], [fixed] and settings")
    source.add_argument("--resume", metavar="SWEEP_ID", help="finish an interrupted or stopped sweep")
    sweep.add_argument("--name")
    sweep.add_argument("--method", choices=METHODS)
    sweep.add_argument("--trials", type=int, help="the trial budget")
    sweep.add_argument("--seconds", type=float, help="the time budget")
    sweep.add_argument("--parallel", type=int, help="trials at once")
    sweep.add_argument("--pruner", choices=PRUNERS)
    sweep.add_argument("--seed", type=int)
    sweep.add_argument("--epochs", type=int)
    sweep.add_argument("--train-size", type=int, dest="train_size")
    sweep.add_argument("--dataset", help="mnist, fashion-mnist, or a path nnlib can load")
    sweep.add_argument("--backend", choices=EXECUTOR_NAMES, default="local")
    sweep.add_argument("--address", help="the Ray cluster's address (ray backend; default: a local Ray)")
    sweep.add_argument("--json", action="store_true", help="print one JSON object as the last line")

    runs = commands.add_parser("runs", help="list the runs in the store")
    runs.add_argument("--sweep", dest="sweep_id")
    runs.add_argument("--status", choices=RUN_STATUSES)
    runs.add_argument("--tag")
    runs.add_argument("--sort", choices=SORTABLE_COLUMNS, default="created_at")
    runs.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    return parser


def read_config(path: Path) -> tuple[SearchSpace, dict[str, Any]]:
    """A TOML sweep file: ``[space.NAME]`` tables (``min``/``max``/``log`` or ``values``),
    an optional ``[fixed]`` table and top-level settings (``method``, ``trials``...)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from None
    space = SearchSpace.from_dict({"params": data.pop("space", {}), "fixed": data.pop("fixed", {}),
                                   "grid_points": data.pop("grid_points", 4)})
    return space, data


def command_sweep(args: argparse.Namespace, store: RunStore, err: TextIO) -> tuple[dict[str, Any], int]:
    executor = make_executor(args.backend, args.address)
    try:
        if args.resume:
            sweep = Sweep.resume(store, args.resume, executor=executor, parallel=args.parallel)
        else:
            if args.config:
                space, settings = read_config(args.config)
            else:
                preset = args.preset or "lr-width"
                space, settings = PRESETS[preset], {"name": preset, "method": "grid"}
            flags = {key: getattr(args, key) for key in SETTING_FLAGS if getattr(args, key) is not None}
            sweep = Sweep(store, space, SweepSettings.from_dict({**settings, **flags}), executor=executor)
        err.write(f"sweep {sweep.id}: {sweep.budget} trial(s), {sweep.settings.parallel} at once, "
                  f"{sweep.settings.method} search, backend {executor.name}\n")
        previous = {sig: signal.signal(sig, lambda *_: sweep.stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            summary = sweep.run(SweepProgressBar(err))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        executor.close()
    return summary.as_json(), 0 if summary.status == "completed" else 1


def command_runs(args: argparse.Namespace, store: RunStore, out: TextIO) -> dict[str, Any]:
    runs = store.list_runs(sweep_id=args.sweep_id, status=args.status, tag=args.tag, sort_by=args.sort)
    if not args.json:
        for run in runs:
            accuracy = "-" if run.val_accuracy is None else f"{run.val_accuracy:.4f}"
            out.write(f"{run.id}  {run.status:<11} val {accuracy:<7} {run.name}\n")
    return {"runs": [run.summary() for run in runs]}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 stopped early, 2 error)."""
    out, err = out or sys.stdout, err or sys.stderr
    args = build_parser().parse_args(argv)
    status = 0
    try:
        store = RunStore()
        if args.command == "sweep":
            report, status = command_sweep(args, store, err)
        else:
            report = command_runs(args, store, out)
    except (ValueError, TypeError, KeyError, StoreError, ExecutorError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
        err.write(f"error: {message}\n")
        if args.json:
            out.write(json.dumps({"error": message}) + "\n")
        return 2
    if args.json:
        out.write(json.dumps(report) + "\n")
    out.flush()
    return status
