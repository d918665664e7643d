"""What the server holds after a class has gone: users come, leave, and the server reports.

Starts the real server (as ``classroom.py`` does) with ``MNIST_LAB_MEMORY_REPORT`` set, so its
memory releaser appends a report line (sessions, media files, object counts by type; allocation
sites under ``--tracemalloc``) every ``--period`` seconds; runs one warm-up user, then N users
through every page, waits past the session TTL and prints the report lines taken at the warm
baseline and after the sessions were dropped, side by side: first the table of the server's
resident memory (the server process alone, and with its children) at start, warm, peak and after
the drop, then what the report lines say of it (anonymous or file-backed, glibc's heap in use and
free, threads).

    python benchmarks/memory_probe.py --users 20 [--ramp 2] [--timeout 90] [--tracemalloc]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import classroom as classroom_module
from classroom import SESSION_TTL_S, Sampler, classroom, rss_mb, visit_once
from common import start_lab_server, stop_lab_server


class ServerAlone(Sampler):
    """Samples the server process's own resident memory (not its training or warm-up children)."""

    def now(self) -> float:
        return rss_mb([self.pid])


def last_report(path: Path) -> dict:
    lines = path.read_text().splitlines() if path.exists() else []
    return json.loads(lines[-1]) if lines else {}


def dropped(url: str, period: float) -> None:
    """Wait until Streamlit has dropped the sessions that left and the releaser has run."""
    time.sleep(SESSION_TTL_S + 5)
    asyncio.run(visit_once(url))
    time.sleep(2 * period + 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--ramp", type=float, default=2.0,
                        help="seconds between two users' arrivals (longer on a busy machine, so pages do not time out)")
    parser.add_argument("--timeout", type=float, default=classroom_module.SETTLE_TIMEOUT_MS / 1000,
                        help="seconds a page may take to load or settle (longer on a busy machine: this probe "
                             "measures memory, and a user who timed out leaves early)")
    parser.add_argument("--period", type=float, default=10.0, help="seconds between two releaser rounds")
    parser.add_argument("--report", type=Path, default=Path(tempfile.gettempdir()) / "memory-probe.jsonl",
                        help="where the server appends its report lines (kept after the run)")
    parser.add_argument("--tracemalloc", action="store_true", help="trace allocation sites (slower)")
    args = parser.parse_args()
    classroom_module.SETTLE_TIMEOUT_MS = int(args.timeout * 1000)
    with tempfile.TemporaryDirectory(prefix="mnist-lab-memory-") as folder:
        home = Path(folder)
        report = args.report
        report.unlink(missing_ok=True)
        os.environ["MNIST_LAB_MEMORY_REPORT"] = str(report)
        os.environ["MNIST_LAB_MEMORY_PERIOD"] = str(args.period)
        if args.tracemalloc:
            os.environ["PYTHONTRACEMALLOC"] = "1"
        process, url = start_lab_server(home, home / "server.log")
        figures: dict[str, tuple[float, float]] = {}
        try:
            with Sampler(process.pid) as sampler, ServerAlone(process.pid) as alone:
                time.sleep(2)
                figures["start"] = (alone.now(), sampler.now())
                asyncio.run(classroom(url, 1, 2.0, 2000, 1, first_index=1))
                dropped(url, args.period)
                baseline = last_report(report)
                figures["warm"] = (alone.now(), sampler.now())
                print(f"warm baseline: {figures['warm'][0]:.0f} MB", flush=True)
                alone.samples.clear()
                sampler.samples.clear()
                results, _ = asyncio.run(classroom(url, args.users, args.ramp, 2000, 1))
                figures["peak"] = (max(alone.samples), max(sampler.samples))
                print(f"after users: {alone.now():.0f} MB, peak {figures['peak'][0]:.0f} MB", flush=True)
                dropped(url, args.period)
                after = last_report(report)
                figures["after drop"] = (alone.now(), sampler.now())
        finally:
            stop_lab_server(process)
    errors = [f"user {r.index}: {error}" for r in results for error in r.errors]
    print(f"{args.users} users, load average {os.getloadavg()[0]:.1f} at the end; errors: {errors or 'none'}")
    print("| MB | start | warm | peak | after drop |\n|---|---|---|---|---|")
    for column, label in ((0, "server"), (1, "server and children")):
        print(f"| {label} | " + " | ".join(f"{figures[key][column]:.0f}" for key in figures) + " |")
    for key in ("process", "malloc", "pymalloc", "mappings"):
        print(f"{key}: warm {json.dumps(baseline.get(key, {}))}\n{' ' * len(key)}  after {json.dumps(after.get(key, {}))}")
    for name, line in (("baseline", baseline), ("after", after)):
        print(f"--- {name}")
        apart = ("objects", "top_lines", "caches_mb", "process", "malloc", "pymalloc", "mappings")
        print(json.dumps({k: v for k, v in line.items() if k not in apart}))
        print(f"caches (MB): {json.dumps(line.get('caches_mb', {}))}")
    grown = {k: after.get("objects", {}).get(k, 0) - baseline.get("objects", {}).get(k, 0)
             for k in after.get("objects", {})}
    print("object growth:", json.dumps(dict(sorted(grown.items(), key=lambda kv: -kv[1])[:15])))
    for line in after.get("top_lines", [])[:15]:
        print("  ", line)


if __name__ == "__main__":
    main()
