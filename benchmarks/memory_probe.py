"""What the server holds after a class has gone: users come, leave, and the server reports.

Starts the real server (as ``classroom.py`` does) with ``MNIST_LAB_MEMORY_REPORT`` set, so its
memory releaser appends a report line (sessions, media files, object counts by type; allocation
sites under ``--tracemalloc``) every ``--period`` seconds; runs one warm-up user, then N users
through every page, waits past the session TTL and prints the report lines taken at the warm
baseline and after the sessions were dropped, side by side.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from classroom import SESSION_TTL_S, Sampler, classroom, start_server, stop_server, visit_once


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
    parser.add_argument("--period", type=float, default=10.0, help="seconds between two releaser rounds")
    parser.add_argument("--report", type=Path, default=Path(tempfile.gettempdir()) / "memory-probe.jsonl",
                        help="where the server appends its report lines (kept after the run)")
    parser.add_argument("--tracemalloc", action="store_true", help="trace allocation sites (slower)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mnist-lab-memory-") as folder:
        home = Path(folder)
        report = args.report
        report.unlink(missing_ok=True)
        os.environ["MNIST_LAB_MEMORY_REPORT"] = str(report)
        os.environ["MNIST_LAB_MEMORY_PERIOD"] = str(args.period)
        if args.tracemalloc:
            os.environ["PYTHONTRACEMALLOC"] = "1"
        process, url = start_server(home)
        try:
            with Sampler(process.pid) as sampler:
                asyncio.run(classroom(url, 1, 2.0, 2000, 1, first_index=1))
                dropped(url, args.period)
                baseline = last_report(report)
                print(f"warm baseline: {sampler.now():.0f} MB", flush=True)
                asyncio.run(classroom(url, args.users, 2.0, 2000, 1))
                print(f"after users: {sampler.now():.0f} MB, peak {max(sampler.samples):.0f} MB", flush=True)
                dropped(url, args.period)
                after = last_report(report)
                print(f"after sessions dropped: {sampler.now():.0f} MB", flush=True)
        finally:
            stop_server(process)
    for name, line in (("baseline", baseline), ("after", after)):
        print(f"--- {name}")
        print(json.dumps({k: v for k, v in line.items() if k not in ("objects", "top_lines", "caches_mb")}))
        print(f"caches (MB): {json.dumps(line.get('caches_mb', {}))}")
    grown = {k: after.get("objects", {}).get(k, 0) - baseline.get("objects", {}).get(k, 0)
             for k in after.get("objects", {})}
    print("object growth:", json.dumps(dict(sorted(grown.items(), key=lambda kv: -kv[1])[:15])))
    for line in after.get("top_lines", [])[:15]:
        print("  ", line)


if __name__ == "__main__":
    main()
