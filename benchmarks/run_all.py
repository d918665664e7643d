"""Every benchmark in one run, then one table of their headline figures (``make bench``).

Each script runs in its own process, as users get it (``common`` drops the variables that
pin OpenBLAS's kernel) and saves its full report to ``benchmarks/results/``. Each also
records its headline figures (``common.record_headlines``); the table printed at the end
holds only the figures written during this run, with the machine and BLAS kernel they
were measured on, and is saved to ``benchmarks/results/summary.md``.

    python benchmarks/run_all.py [--only NAME[,NAME...]] [--skip NAME[,NAME...]]
    python benchmarks/run_all.py --summary-only     # the table of every recorded headline, runs nothing
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import RESULTS, ROOT, emit, machine, table

BENCHMARKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bench_seed_reproduction", ("--save",)),
    ("bench_mlp_epoch", ("--save",)),
    ("bench_accuracy", ("--save",)),
    ("bench_cnn", ("--save",)),
    ("bench_records", ("--save",)),
    ("drawn_digits", ()),
    ("drawn_digits_cnn", ("--model", "data/models/cnn.npz", "--out", "benchmarks/results/drawn_digits_cnn.md")),
    ("page_speed", ("--save",)),
    ("classroom", ("--users", "5,10,20", "--save")),
    ("bench_sweep", ("--save",)),
    ("bench_diagnose", ("--save",)),
)


def script_of(name: str) -> str:
    """``drawn_digits_cnn`` is ``drawn_digits.py`` on the bundled CNN."""
    return "drawn_digits" if name.startswith("drawn_digits") else name


def names(text: str | None) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()} if text else set()


def headlines_since(started: float) -> tuple[list[list[str]], list[str]]:
    """The headline rows written after ``started``, in the order of BENCHMARKS, and their machines."""
    rows, machines = [], []
    files = sorted((RESULTS / "headlines").glob("*.json"), key=lambda path: path.stat().st_mtime)
    for path in files:
        if path.stat().st_mtime < started:
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        rows += [[record["benchmark"], *row] for row in record.get("rows", [])]
        if record.get("machine") not in machines:
            machines.append(record.get("machine"))
    return rows, machines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmark names to run")
    parser.add_argument("--skip", help="comma-separated benchmark names to leave out")
    parser.add_argument("--summary-only", action="store_true",
                        help="run nothing; print the table of every headline recorded so far")
    args = parser.parse_args()
    only, skip = names(args.only), names(args.skip)
    known = {name for name, _ in BENCHMARKS}
    if unknown := (only | skip) - known:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; known: {', '.join(sorted(known))}")

    started = 0.0 if args.summary_only else time.time()
    outcomes = []
    for name, extra in () if args.summary_only else BENCHMARKS:
        if (only and name not in only) or name in skip:
            continue
        script = ROOT / "benchmarks" / f"{script_of(name)}.py"
        if not script.exists():
            outcomes.append([name, "not found", ""])
            continue
        print(f"\n=== {name} ===", flush=True)
        begun = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *extra], cwd=ROOT)
        outcomes.append([name, "ok" if code == 0 else f"exit {code}", f"{time.perf_counter() - begun:.0f}"])

    rows, machines = headlines_since(started)
    text = "\n".join([
        "# Headline figures, " + ("as recorded by the latest run of each script" if args.summary_only
                                  else "from one run of `make bench`"), "",
        *[f"- {text}" for text in machines or [machine()]], "",
        table(["benchmark", "figure", "measured", "reference", "verdict"], rows), "",
        table(["script", "outcome", "seconds"], outcomes),
    ])
    emit("summary", text, save=True)
    return 0 if all(outcome[1] == "ok" for outcome in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
