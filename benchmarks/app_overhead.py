"""Training inside the app vs the command line, same settings; and the live chart's update rate.

The CLI run is ``python -m nnlib train ... --json`` (its ``samples_per_second``). The app
run is the real thing: ``streamlit run app.py``, the Train page open in headless Chromium
(so the live fragment polls and redraws the whole time), Start pressed, and the training
seconds read from the finished message ("completed N epoch(s) in S s"). Both count the
same work: nnlib's fit time for the training steps plus the per-epoch validation pass.
The app is measured twice: with the page open (the live fragment polls, Chromium
draws, on the same machine), and unobserved (the page closed after Start, reopened every
3 s to see whether the job has ended). While the app trains, the script samples the chart every 50 ms and counts how often it
changed. Runs alternate (CLI, app, CLI, app...) so that a change in machine load hits both.

Wall-clock speed is only comparable on a quiet machine. So the script also measures CPU
time: of the CLI process, and of the Streamlit server process while it trains, for a
short and a long run; the difference divided by the extra epochs is the marginal CPU
cost of one epoch, free of start-up, data loading and preparation. The browser's own
CPU (drawing the chart) is not counted: in use it runs on the user's machine.

The app trains with APP_BLAS_THREADS OpenBLAS thread(s) per job (dashboard/jobs.py), so the
like-for-like CLI run sets OPENBLAS_NUM_THREADS to the same; the CLI with OpenBLAS's default
(one thread per core) is shown too.

    python benchmarks/app_overhead.py [--short 2] [--long 5] [--repeats 1] [--save]

Settings: the page's defaults, [784, 256, 128, 10], ReLU, He, Adam 1e-3, batch 128,
seed 0, on all 60,000 MNIST images (48,000 train / 12,000 validation).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

from common import ROOT, emit, machine, table

from dashboard.jobs import APP_BLAS_THREADS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
DEFAULT_EPOCHS = 5  # the page's default
CLI_ARGS = ["--layers", "256,128", "--activation", "relu", "--init", "he", "--optimizer", "adam",
            "--lr", "0.001", "--batch-size", "128", "--schedule", "constant", "--seed", "0"]
COUNT_POINTS = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  const live = plots.find(p => (p._fullData || []).some(t => t.name === 'train loss per step'));
  if (!live) return -1;
  return live._fullData.reduce((n, t) => n + (t._length || 0), 0);
}"""


def cpu_seconds_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cli_run(epochs: int, blas_threads: int | None = None) -> dict:
    env = dict(os.environ)
    if blas_threads is not None:
        env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    before = cpu_seconds_children()
    out = subprocess.run([sys.executable, "-m", "nnlib", "train", *CLI_ARGS, "--epochs", str(epochs), "--json"],
                         cwd=ROOT, capture_output=True, text=True, check=True, env=env).stdout
    return {"samples_per_second": float(json.loads(out.strip().splitlines()[-1])["samples_per_second"]),
            "cpu": cpu_seconds_children() - before}


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
         str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("streamlit did not start")


def app_run(browser, url: str, epochs: int, server_pid: int, watch: bool = True) -> dict:
    """One training run in the app. ``watch=False`` closes the page once the job has started
    and looks again every 3 s (a fresh page at ``?job=<id>``): the job then runs unobserved."""
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
        cpu_before = cpu_seconds_of(server_pid)
        page.get_by_role("button", name="Start training").click()
        done = page.get_by_text(finished)
        changes, first_change, last_change, last = 0, None, None, -1
        if not watch:
            page.wait_for_url(re.compile("job="))
            job_url = page.url
            page.close()
            while True:
                time.sleep(3)
                page = browser.new_page()
                page.goto(job_url)
                page.get_by_text(re.compile("Completed|epoch")).first.wait_for()
                done = page.get_by_text(finished)
                if done.count():
                    break
                page.close()
        while not done.count():
            count = page.evaluate(COUNT_POINTS)
            now = time.monotonic()
            if count != last and count > 0:
                changes += 1
                first_change = first_change or now
                last_change = now
            last = count
            page.wait_for_timeout(50)
        cpu = cpu_seconds_of(server_pid) - cpu_before
        match = finished.search(done.first.inner_text())
        done_epochs, seconds = int(match.group(1)), float(match.group(2))
        assert done_epochs == epochs, f"the app trained {done_epochs} epochs, expected {epochs}"
        span = (last_change - first_change) if changes > 1 else float("nan")
        return {"samples_per_second": n_train * done_epochs / seconds, "updates": changes, "cpu": cpu,
                "updates_per_second": (changes - 1) / span if changes > 1 else float("nan")}
    finally:
        page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=2, help="epochs of the short run")
    parser.add_argument("--long", type=int, default=5, help="epochs of the long run")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    header = machine()
    runs: dict[tuple[str, int], list[dict]] = {}
    process, url = start_server()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for repeat in range(args.repeats):
                for epochs in (args.short, args.long):
                    cli_default = cli_run(epochs)
                    cli = cli_run(epochs, blas_threads=APP_BLAS_THREADS)
                    app = app_run(browser, url, epochs, process.pid)
                    unobserved = app_run(browser, url, epochs, process.pid, watch=False)
                    runs.setdefault(("unobserved", epochs), []).append(unobserved)
                    runs.setdefault(("cli_default", epochs), []).append(cli_default)
                    runs.setdefault(("cli", epochs), []).append(cli)
                    runs.setdefault(("app", epochs), []).append(app)
                    print(f"repeat {repeat + 1}, {epochs} epoch(s): CLI {cli_default['samples_per_second']:,.0f} "
                          f"samples/s (default BLAS threads), {cli['samples_per_second']:,.0f} samples/s "
                          f"({cli['cpu']:.1f} CPU s, 1 BLAS thread), app unobserved {unobserved['samples_per_second']:,.0f}, "
                          f"app watched {app['samples_per_second']:,.0f} samples/s "
                          f"({app['cpu']:.1f} CPU s), {app['updates_per_second']:.2f} chart updates/s",
                          file=sys.stderr, flush=True)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)

    def median(side: str, epochs: int, key: str) -> float:
        return statistics.median(run[key] for run in runs[(side, epochs)])

    extra = args.long - args.short
    cpu_per_epoch = {side: (median(side, args.long, "cpu") - median(side, args.short, "cpu")) / extra
                     for side in ("cli", "app")}
    rows = []
    for epochs in (args.short, args.long):
        cli_speed, app_speed = median("cli", epochs, "samples_per_second"), median("app", epochs, "samples_per_second")
        rows.append([f"{epochs} epoch(s)", f"{median('cli_default', epochs, 'samples_per_second'):,.0f}",
                     f"{cli_speed:,.0f}", f"{median('unobserved', epochs, 'samples_per_second'):,.0f}",
                     f"{app_speed:,.0f}",
                     f"{100 * (cli_speed - app_speed) / cli_speed:+.1f}%",
                     f"{median('cli', epochs, 'cpu'):.1f}", f"{median('app', epochs, 'cpu'):.1f}",
                     f"{median('app', epochs, 'updates_per_second'):.2f}"])
    overhead = 100 * (cpu_per_epoch["app"] / cpu_per_epoch["cli"] - 1)
    text = "\n".join([
        "# Training in the app vs the CLI",
        "",
        f"{header}. [784, 256, 128, 10], Adam 1e-3, batch 128, seed 0, 48,000 training images; the app "
        f"with the Train page open in headless Chromium (live chart polled every 0.75 s). Medians of "
        f"{args.repeats} repeat(s).",
        "",
        table(["run", "CLI samples/s (default BLAS threads)", f"CLI samples/s ({APP_BLAS_THREADS} BLAS thread)",
               "app samples/s, page closed", "app samples/s, page open", "app (page open) slower than CLI, same threads", "CLI CPU s", "app server CPU s",
               "chart updates/s"], rows),
        "",
        f"Marginal CPU per epoch: CLI {cpu_per_epoch['cli']:.1f} s, app server {cpu_per_epoch['app']:.1f} s: "
        f"**app overhead {overhead:+.1f}%** (CPU; wall-clock speed depends on the machine's load).",
    ])
    emit("app_overhead", text, args.save)


if __name__ == "__main__":
    main()
