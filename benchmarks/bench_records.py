"""The accuracy records: each record preset trained once, its MNIST test accuracy against its target.

Issue 12's targets on two CPU cores: an MLP at >= 98.8% test accuracy in at most 60 s of
training (``mlp-record``), a CNN at >= 99.4% in at most 3 minutes (``cnn-record``) and at
>= 99.5% in at most 10 minutes (``cnn-best``). Each preset trains exactly as
``python -m nnlib train --preset NAME`` does (:mod:`nnlib.presets`: its config, data split
and augmentation), with 2 BLAS threads; seconds are the training loop's own (test
evaluation excluded). The load average is printed with every row: on a shared machine
the times are pessimistic.

    python benchmarks/bench_records.py [--only NAME] [--save]
"""

from __future__ import annotations

import argparse
import os

from common import emit, machine, record_headlines, set_threads, table

THREADS = 2
# Preset name -> (test accuracy at least, training seconds at most), from issue 12.
TARGETS: dict[str, tuple[float, float]] = {
    "mlp-record": (0.988, 60.0),
    "cnn-record": (0.994, 180.0),
    "cnn-best": (0.995, 600.0),
}


def train_record(name: str) -> dict:
    """Train preset ``name`` once as the command line does; its test accuracy and seconds."""
    from nnlib.data import load_mnist
    from nnlib.preprocessing import PreprocessConfig, prepare
    from nnlib.presets import get_preset
    from nnlib.training import train

    preset = get_preset(name)
    prepared = prepare(load_mnist(), PreprocessConfig(train_size=preset.train_size, val_fraction=preset.val_fraction,
                                                      seed=preset.config.seed, augment=preset.augment))
    load_before = os.getloadavg()[0]
    _, result = train(prepared, preset.config)
    return {"accuracy": result.test_accuracy, "seconds": result.seconds, "epochs": result.epochs_completed,
            "load": (load_before + os.getloadavg()[0]) / 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(TARGETS), help="train this record preset only")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/records.md")
    args = parser.parse_args()
    set_threads(THREADS)
    header = machine()
    print(header, flush=True)
    names = [args.only] if args.only else list(TARGETS)
    rows, headlines = [], []
    for name in names:
        target_accuracy, budget = TARGETS[name]
        measured = train_record(name)
        met = measured["accuracy"] >= target_accuracy and measured["seconds"] <= budget
        verdict = "met" if met else "missed"
        rows.append([name, f"{measured['accuracy']:.2%}", f"{measured['seconds']:.1f}", measured["epochs"],
                     f">= {target_accuracy:.1%} in <= {budget:.0f} s", verdict, f"{measured['load']:.2f}"])
        headlines.append([f"{name}: MNIST test accuracy and training time",
                          f"{measured['accuracy']:.2%} in {measured['seconds']:.0f} s",
                          f">= {target_accuracy:.1%} in <= {budget:.0f} s", verdict])
        print(" | ".join(str(cell) for cell in rows[-1]), flush=True)
    text = "\n".join([
        f"Machine: {header}. {THREADS} BLAS threads. Each preset trained once as `python -m nnlib train "
        "--preset NAME` does; seconds = the training loop's time (test evaluation excluded); load = the "
        "1-minute load average, mean of before and after.",
        "",
        table(["preset", "test accuracy", "training seconds", "epochs", "target", "verdict", "load"], rows),
    ])
    emit("records", text, args.save)
    record_headlines("records", headlines)


if __name__ == "__main__":
    main()
