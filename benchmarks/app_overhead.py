"""Training inside the app vs the command line, same settings; and the live chart's update rate.

The CLI run is ``python -m nnlib train ... --json`` (its ``samples_per_second``). The app
run is the real thing: ``streamlit run app.py``, the Train page in headless Chromium,
Start pressed, and the training seconds read from the finished message ("completed N
epoch(s) in S s"). Both count the same work: nnlib's fit time for the training steps
plus the per-epoch validation pass. The app is measured twice:

* page open: the live fragment polls the job and Chromium redraws the chart the whole
  time, on the same machine; the script samples the chart every 50 ms and counts how
  often it changed (the update rate);
* page closed: the page is closed once the job has started and opened again only after
  the server's training process has ended, so nothing else runs meanwhile: this is what
  the app itself (job runner, child process, event relay) costs.

Runs alternate (CLI, app, CLI, app...) so that a change in machine load hits both.
Headless Chromium drawing the live page uses about half a core, which on a 2-core
machine it takes from the trainer. ``--pin`` shows the app with the browser on a core of
its own, as on a machine with more cores: the server and Chromium run on CPU 1, the
training (the CLI, and the app's training process) on CPU 0.

Wall-clock speed is only comparable on a quiet machine. So the script also measures CPU
time: of the CLI process, and of the Streamlit server process with its training
processes, for a short and a long run; the difference divided by the extra epochs is the
marginal CPU cost of one epoch, free of start-up, data loading and preparation. The
browser's own CPU is reported apart: in use it runs on the user's machine.

The app trains with APP_BLAS_THREADS OpenBLAS thread(s) per job (dashboard/jobs.py), so the
like-for-like CLI run sets OPENBLAS_NUM_THREADS to the same; the CLI with OpenBLAS's default
(one thread per core) is shown too.

    python benchmarks/app_overhead.py [--short 2] [--long 5] [--repeats 1] [--pin] [--save]

Settings: the page's defaults, [784, 256, 128, 10], ReLU, He, Adam 1e-3, batch 128,
seed 0, on all 60,000 MNIST images (48,000 train / 12,000 validation).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import ROOT, emit, free_port, machine, table, wait_until_healthy

from dashboard.jobs import APP_BLAS_THREADS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
DEFAULT_EPOCHS = 5  # the page's default
CLI_ARGS = ["--layers", "256,128", "--activation", "relu", "--init", "he", "--optimizer", "adam",
            "--lr", "0.001", "--batch-size", "128", "--schedule", "constant", "--seed", "0"]
# How far the live chart has got: points drawn plus 1000 x the x axis's reach (it grows with
# every poll even once the step series is thinned to a fixed number of points).
COUNT_POINTS = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  const live = plots.find(p => (p._fullData || []).some(t => t.name === 'train loss per step'));
  if (!live) return -1;
  const points = live._fullData.reduce((n, t) => n + (t._length || 0), 0);
  return points + 1000 * live._fullLayout.xaxis.range[1];
}"""


def cpu_seconds_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds of a running process and of its ended children (Linux
    /proc): the server's training processes count once the server has waited for them."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds_of_browser() -> float:
    """CPU seconds of every running Chromium process (the browser drawing the page)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if b"chromium" not in handle.read().split(b"\0")[0]:
                    continue
            total += cpu_seconds_of(int(entry))
        except (OSError, ValueError):
            continue
    return total


TRAIN_CPU, OTHER_CPU = 0, 1  # with --pin


def children_of(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
        except OSError:
            continue
    return found


class TrainerPinner:
    """With --pin: moves each new training process of the server to TRAIN_CPU (checks every 20 ms)."""

    def __init__(self, server_pid: int, enabled: bool) -> None:
        self.server_pid, self.enabled = server_pid, enabled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TrainerPinner:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()

    def _run(self) -> None:
        pinned: set[int] = set()
        while not self._stop.wait(0.02):
            for child in children_of(self.server_pid):
                if child not in pinned:
                    try:
                        os.sched_setaffinity(child, {TRAIN_CPU})
                        pinned.add(child)
                    except OSError:
                        pass


def cli_run(epochs: int, blas_threads: int | None = None, pin: bool = False) -> dict:
    env = dict(os.environ)
    if blas_threads is not None:
        env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    before = cpu_seconds_children()
    out = subprocess.run([sys.executable, "-m", "nnlib", "train", *CLI_ARGS, "--epochs", str(epochs), "--json"],
                         cwd=ROOT, capture_output=True, text=True, check=True, env=env,
                         preexec_fn=(lambda: os.sched_setaffinity(0, {TRAIN_CPU})) if pin else None).stdout
    return {"samples_per_second": float(json.loads(out.strip().splitlines()[-1])["samples_per_second"]),
            "cpu": cpu_seconds_children() - before}


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
         str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}"
    wait_until_healthy(process, url, timeout=90.0, where="streamlit did not start")
    return process, url


def app_run(browser, url: str, epochs: int, server_pid: int, watch: bool = True) -> dict:
    """One training run in the app. ``watch=False`` closes the page once the job has started
    and opens it again (at ``?job=<id>``) only when the server has no training process left."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    finished = re.compile(r"completed (\d+) epoch\(s\) in ([\d.]+) s")
    try:
        page.goto(f"{url}/train")
        page.get_by_text("No training yet").wait_for()
        n_train = int(re.search(r"([\d,]+) to train on", page.locator("body").inner_text()).group(1).replace(",", ""))
        if epochs != DEFAULT_EPOCHS:
            slider = page.get_by_role("slider", name=re.compile("Epochs"))
            slider.focus()
            key = "ArrowLeft" if epochs < DEFAULT_EPOCHS else "ArrowRight"
            for _ in range(abs(epochs - DEFAULT_EPOCHS)):
                page.keyboard.press(key)
            page.wait_for_timeout(1500)
        cpu_before, browser_before = cpu_seconds_of(server_pid), cpu_seconds_of_browser()
        page.get_by_role("button", name="Start training").click()
        done = page.get_by_text(finished)
        changes, first_change, last_change, last = 0, None, None, -1
        if not watch:
            page.wait_for_url(re.compile("job="))
            job_url = page.url
            page.close()
            deadline = time.monotonic() + 30
            while not children_of(server_pid) and time.monotonic() < deadline:
                time.sleep(0.02)  # the training process starts
            while children_of(server_pid):
                time.sleep(0.2)
            page = browser.new_page()
            page.goto(job_url)
            done = page.get_by_text(finished)
            done.wait_for()
        give_up = time.monotonic() + 120 + 20 * epochs
        while not done.count():
            if time.monotonic() > give_up:
                raise RuntimeError("the run did not finish; the page says: " + page.locator("body").inner_text()[-1500:])
            count = page.evaluate(COUNT_POINTS)
            now = time.monotonic()
            if count != last and count > 0:
                changes += 1
                first_change = first_change or now
                last_change = now
            last = count
            page.wait_for_timeout(50)
        cpu = cpu_seconds_of(server_pid) - cpu_before
        browser_cpu = cpu_seconds_of_browser() - browser_before
        match = finished.search(done.first.inner_text())
        done_epochs, seconds = int(match.group(1)), float(match.group(2))
        assert done_epochs == epochs, f"the app trained {done_epochs} epochs, expected {epochs}"
        span = (last_change - first_change) if changes > 1 else float("nan")
        return {"samples_per_second": n_train * done_epochs / seconds, "updates": changes, "cpu": cpu,
                "browser_cpu": browser_cpu, "seconds": seconds,
                "updates_per_second": (changes - 1) / span if changes > 1 else float("nan")}
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=2, help="epochs of the short run")
    parser.add_argument("--long", type=int, default=5, help="epochs of the long run")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--pin", action="store_true",
                        help="server and browser on CPU 1, training (CLI and app) on CPU 0")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    header = machine()
    if args.pin:
        os.sched_setaffinity(0, {OTHER_CPU})  # inherited by the server and Chromium
    runs: dict[tuple[str, int], list[dict]] = {}
    process, url = start_server()
    try:
        with sync_playwright() as playwright, TrainerPinner(process.pid, args.pin):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for repeat in range(args.repeats):
                for epochs in (args.short, args.long):
                    measured = {
                        "cli_default": cli_run(epochs, pin=args.pin),
                        "cli": cli_run(epochs, blas_threads=APP_BLAS_THREADS, pin=args.pin),
                        "app": app_run(browser, url, epochs, process.pid),
                        "closed": app_run(browser, url, epochs, process.pid, watch=False),
                    }
                    for side, run in measured.items():
                        runs.setdefault((side, epochs), []).append(run)
                    cli, app, closed = measured["cli"], measured["app"], measured["closed"]
                    print(f"repeat {repeat + 1}, {epochs} epoch(s): CLI "
                          f"{measured['cli_default']['samples_per_second']:,.0f} samples/s (default BLAS threads), "
                          f"{cli['samples_per_second']:,.0f} ({cli['cpu']:.1f} CPU s, 1 BLAS thread); app, page "
                          f"closed {closed['samples_per_second']:,.0f} ({closed['cpu']:.1f} CPU s); app, page open "
                          f"{app['samples_per_second']:,.0f} ({app['cpu']:.1f} CPU s, browser {app['browser_cpu']:.1f} "
                          f"CPU s in {app['seconds']:.1f} s), {app['updates_per_second']:.2f} chart updates/s",
                          file=sys.stderr, flush=True)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)

    def median(side: str, epochs: int, key: str) -> float:
        return statistics.median(run[key] for run in runs[(side, epochs)])

    def slower(side: str, epochs: int) -> str:
        cli_speed = median("cli", epochs, "samples_per_second")
        return f"{100 * (cli_speed - median(side, epochs, 'samples_per_second')) / cli_speed:+.1f}%"

    extra = args.long - args.short
    cpu_per_epoch = {side: (median(side, args.long, "cpu") - median(side, args.short, "cpu")) / extra
                     for side in ("cli", "closed", "app")}
    rows = []
    for epochs in (args.short, args.long):
        browser_share = median("app", epochs, "browser_cpu") / median("app", epochs, "seconds")
        rows.append([f"{epochs} epoch(s)", f"{median('cli_default', epochs, 'samples_per_second'):,.0f}",
                     f"{median('cli', epochs, 'samples_per_second'):,.0f}",
                     f"{median('closed', epochs, 'samples_per_second'):,.0f}", slower("closed", epochs),
                     f"{median('app', epochs, 'samples_per_second'):,.0f}", slower("app", epochs),
                     f"{browser_share:.2f}", f"{median('app', epochs, 'updates_per_second'):.2f}"])
    placement = ("server and Chromium pinned to CPU 1, training (CLI and app) to CPU 0" if args.pin
                 else "server, Chromium and training share both cores")
    text = "\n".join([
        "# Training in the app vs the CLI" + (" (browser on its own core)" if args.pin else ""),
        "",
        f"{header}. [784, 256, 128, 10], Adam 1e-3, batch 128, seed 0, 48,000 training images; "
        f"{placement}; live chart polled every 0.75 s. Medians of {args.repeats} repeat(s).",
        "",
        table(["run", "CLI samples/s (default BLAS threads)", f"CLI samples/s ({APP_BLAS_THREADS} BLAS thread)",
               "app samples/s, page closed", "app (page closed) slower than CLI", "app samples/s, page open",
               "app (page open) slower than CLI", "browser cores busy (page open)", "chart updates/s"], rows),
        "",
        f"Marginal CPU per epoch: CLI {cpu_per_epoch['cli']:.2f} s; app server with its training process "
        f"{cpu_per_epoch['closed']:.2f} s page closed ({100 * (cpu_per_epoch['closed'] / cpu_per_epoch['cli'] - 1):+.1f}%), "
        f"{cpu_per_epoch['app']:.2f} s page open ({100 * (cpu_per_epoch['app'] / cpu_per_epoch['cli'] - 1):+.1f}%).",
    ])
    emit("app_overhead_pinned" if args.pin else "app_overhead", text, args.save)


if __name__ == "__main__":
    main()
