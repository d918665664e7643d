"""The app's own speed, measured in headless Chromium against the real server (issues 12 and 13).

The server is ``scripts/serve.py`` (what ``make run`` starts) on a free loopback port, with a
run store of its own in a temporary folder. Two server starts are measured:

* fresh: nothing cached on disk yet (a new install's first start);
* restart: the same folder again, so the disk cache the first start wrote is there.

Each start: Home is opened, then every page is reached through the sidebar's links (first
visit after the start, each page read for 3 s before the next link is followed), then every
page again (revisit). After the restart, each page is also opened straight by its address in
a new tab (a shared link: no earlier page has loaded anything for it). Then Inside the network: open
after the first visit with the bundled MLP, switch to the bundled CNN and back, Step
pressed several times on each; and on the Predict page, 20 strokes drawn one after another on a
cleared canvas, each timed from releasing the mouse to the answer on the page.

Two times per figure: ``script`` is from the browser seeing the script start running to
seeing it finish (the server's script time plus the websocket's delivery, no drawing);
``shown`` is from the click (or the mouse release) until the script has finished, every
Plotly chart on the page is drawn and the browser has finished its work on the page (its last
long task: Streamlit mounts charts lazily, after the script's last message). Targets apply to
``shown`` except where noted.
The load average (1 min) is printed with each figure: the machine is shared.

    python benchmarks/page_speed.py [--strokes 20] [--steps 5] [--only inside] [--save]

``--only inside``: one server start only (a fresh folder), Home, the Inside page's first visit with
each model, then the Inside figures above; no server-side script times, no other page, no strokes.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, emit, free_port, machine, record_headlines, start_lab_server, stop_lab_server, table, wait_until_healthy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]
PAGES = (("", "Home"), ("explore", "Explore the data"), ("preprocess", "Preprocess"),
         ("train", "Train a network"), ("runs", "Runs"), ("predict", "Draw and predict"),
         ("sweep", "Sweep"), ("inside", "Inside the network"))
FIRST_VISIT_TARGET_S = 2.0
READING_PAUSE_S = 3.0   # on each page, first visits, before the next link is followed
REVISIT_TARGET_S = 0.5
INSIDE_OPEN_TARGET_S = 2.0
STEP_TARGET_S = 0.5
TIMEOUT_MS = 120_000
RUN_SEEN_TIMEOUT_MS = 20_000

# Counts the script runs the page sees finish (and when each started and ended), whatever the
# page: the app element's data-test-script-state goes "running" -> "notRunning" on every run.
RUN_WATCHER = """
window.__runs = {done: 0, startedAt: null, doneAt: null};
new MutationObserver((records) => {
  for (const record of records) {
    const state = record.target.getAttribute('data-test-script-state');
    if (state === 'running' && record.oldValue !== 'running') window.__runs.startedAt = performance.now();
    if (state === 'notRunning' && record.oldValue !== 'notRunning') {
      window.__runs.done += 1; window.__runs.doneAt = performance.now();
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""
# Streamlit mounts a page's Plotly charts lazily, after the script's last message and often in
# long tasks of their own: "every chart drawn" alone passes before a chart exists. So the page
# also records when its main thread was last busy and when its number of charts last changed,
# and a page is shown once that is QUIET_MS in the past; the time shown is then the later of
# the conditions being met and that last busy moment. Busy: a 20 ms timer that fires late (the
# main thread ran something else meanwhile) or a long task reported by the browser (reported
# with a delay, so the timer is what counts at once).
BUSY_WATCHER = """
window.__busy = {lastEnd: 0, charts: 0, chartsAt: 0, tick: performance.now()};
new PerformanceObserver((list) => {
  for (const task of list.getEntries()) {
    window.__busy.lastEnd = Math.max(window.__busy.lastEnd, task.startTime + task.duration);
  }
}).observe({type: 'longtask', buffered: true});
setInterval(() => {
  const busy = window.__busy, now = performance.now();
  if (now - busy.tick > 70) busy.lastEnd = Math.max(busy.lastEnd, now);
  busy.tick = now;
  const charts = document.querySelectorAll('.js-plotly-plot').length;
  if (charts !== busy.charts) { busy.charts = charts; busy.chartsAt = now; }
}, 20);
"""
QUIET_MS = 1000
ALL_CHARTS_DRAWN = "() => [...document.querySelectorAll('.js-plotly-plot')].every(p => p._fullLayout)"
# The timer must also have fired on time just now: right after a long task this check can run
# before the timer has noted it.
QUIET = (f"() => {{ const b = window.__busy, now = performance.now(); return now - b.tick < 70"
         f" && now - Math.max(b.lastEnd, b.chartsAt) > {QUIET_MS} && ({ALL_CHARTS_DRAWN})(); }}")
APP_IDLE = ("() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
            " return app && app.getAttribute('data-test-script-state') === 'notRunning'"
            " && !document.querySelector('[data-testid=\"stStatusWidget\"]'); }")


@dataclass
class Timing:
    """One measured interaction: seconds until the script finished and until the page was drawn."""

    script: float
    shown: float
    load: float


def load_average() -> float:
    return os.getloadavg()[0]


def runs_done(page) -> int:
    return int(page.evaluate("() => window.__runs.done"))


def settle(page, runs_before: int, started: float, page_started: float, ready=None) -> Timing:
    """Wait for the page to show the result (``ready()``, else a script run after ``runs_before``
    finished), the script to be idle, every chart drawn and the page quiet (see
    :data:`BUSY_WATCHER`). A run too short for the browser to show its "running" state has no
    script time (nan)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    if ready is None:
        # A run the browser never shows as running (a page switch right after a fragment's run):
        # then idle and drawn decide.
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(f"() => window.__runs.done > {runs_before}", timeout=RUN_SEEN_TIMEOUT_MS)
    else:
        ready()
    page.wait_for_function(APP_IDLE, timeout=TIMEOUT_MS)
    page.wait_for_function(ALL_CHARTS_DRAWN, timeout=TIMEOUT_MS)
    conditions_met = time.perf_counter()
    page.wait_for_function(QUIET, timeout=TIMEOUT_MS)
    busy = page.evaluate("() => window.__busy")
    last_busy_after = (max(busy["lastEnd"], busy["chartsAt"]) - page_clock(page)) / 1000   # <= 0: seconds before now
    shown = max(conditions_met, time.perf_counter() + last_busy_after) - started
    run = page.evaluate("() => window.__runs")
    seen = run["startedAt"] is not None and run["startedAt"] >= page_started and run["doneAt"] >= run["startedAt"]
    script = (run["doneAt"] - run["startedAt"]) / 1000 if seen else float("nan")
    return Timing(script, shown, load_average())


def page_clock(page) -> float:
    return float(page.evaluate("() => performance.now()"))


def watched_page(browser):
    """A new browser context (a cold cache, as a first visitor's) with the run and busy watchers,
    and its page: ``(context, page)``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(RUN_WATCHER)
    context.add_init_script(BUSY_WATCHER)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page


def open_timed(page, url: str) -> Timing:
    """Open ``url`` in ``page`` and time it until the page has settled (see :func:`settle`)."""
    started = time.perf_counter()
    page.goto(url)
    return settle(page, 0, started, 0.0)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(page, action, what: str = "", ready=None) -> Timing:
    """Do ``action`` (a click...) and time it until the page has settled (see :func:`settle`)."""
    before = runs_done(page)
    page_started = page_clock(page)
    started = time.perf_counter()
    action()
    timing = settle(page, before, started, page_started, ready)
    if what:
        progress(f"  {what}: script {timing.script:.2f} s, shown {timing.shown:.2f} s (load {timing.load:.2f})")
    return timing


FIRST_HEADING = "() => (document.querySelector('[data-testid=\"stMain\"] h1') || {}).textContent || ''"


def switch_to(page, path: str) -> Timing:
    """Follow the sidebar's link to ``path`` (no reload: the same session, as a user switches pages).

    The new page is there when its title replaced the old one: a page whose script runs too fast
    for the browser to show it running (Runs with an empty store) is timed by that, not by a timeout."""
    link = page.locator(f'[data-testid="stSidebar"] a[href="{path}"]').first
    old_title = page.evaluate(FIRST_HEADING)

    def new_title_shown() -> None:
        page.wait_for_function(f"() => {{ const t = ({FIRST_HEADING})(); return t !== '' && t !== {old_title!r}; }}",
                               timeout=TIMEOUT_MS)

    return timed(page, link.click, f"to {path or 'home'}", ready=new_title_shown)


def visit_every_page(page, url: str) -> tuple[dict[str, Timing], dict[str, Timing]]:
    """Home by URL, then each page by the sidebar (first visit), then each page again (revisit).

    On a first visit the visitor reads the page for :data:`READING_PAUSE_S` before following the
    next link: the app uses such pauses (it loads Plotly's script during the first one,
    :mod:`dashboard.chart_preload`), so clicking on at once would time a visitor nobody is."""
    first = {"Home": open_timed(page, url)}
    for path, label in PAGES[1:]:
        time.sleep(READING_PAUSE_S)
        first[label] = switch_to(page, path)
    again = {}
    for path, label in PAGES:
        again[label] = switch_to(page, path)
    return first, again


def choose_model(page, name: str) -> None:
    """Pick ``name`` in the Inside page's model box (the click that opens it is retried: after a
    fragment rerun the first click may only focus it)."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Model")
    option = page.get_by_role("option", name=name)
    for _ in range(5):
        box.click()
        try:
            option.wait_for(state="visible", timeout=3000)
            break
        except Exception:   # not open yet: Escape closes a half-open box, then try again
            page.keyboard.press("Escape")
    option.click()


def inside_figures(page, steps: int) -> dict[str, Timing | list[Timing]]:
    """Inside after its first visit (MLP), the CNN after its first visit, and Step (MLP)."""
    figures: dict[str, Timing | list[Timing]] = {}
    switch_to(page, "predict")
    figures["Inside open, MLP"] = switch_to(page, "inside")
    timed(page, lambda: choose_model(page, "Bundled CNN"), "the CNN's first visit")
    timed(page, lambda: choose_model(page, "Bundled MLP (default)"))
    figures["Inside switch to CNN"] = timed(page, lambda: choose_model(page, "Bundled CNN"), "switch to the CNN")
    figures["Step (CNN)"] = press_step(page, steps)
    timed(page, lambda: choose_model(page, "Bundled MLP (default)"))
    figures["Step (MLP)"] = press_step(page, steps)
    return figures


def press_step(page, times: int) -> list[Timing]:
    """Press Step ``times`` times, each timed until "Steps taken" shows the new count and the page is drawn."""
    step = page.get_by_role("button", name="Step")
    taken = (page.locator('[data-testid="stMetric"]').filter(has_text="Steps taken")
             .locator('[data-testid="stMetricValue"]'))
    measured = []
    for _ in range(times):
        step.scroll_into_view_if_needed()
        expected = str(int(taken.inner_text()) + 1)

        def counted(expected: str = expected) -> None:
            page.wait_for_function("([selector, text]) => [...document.querySelectorAll(selector)].some("
                                   "m => m.innerText.includes('Steps taken') && m.querySelector("
                                   "'[data-testid=\"stMetricValue\"]').innerText.trim() === text)",
                                   arg=['[data-testid="stMetric"]', expected], timeout=TIMEOUT_MS)
        measured.append(timed(page, step.click, "Step", ready=counted))
    return measured


def stroke_figures(page, strokes: int) -> list[Timing]:
    """Draw a "1" on a cleared canvas ``strokes`` times: mouse release -> answer shown."""
    switch_to(page, "predict")
    answer = page.locator(".predicted-digit")
    times = []
    for _ in range(strokes):
        canvas = page.locator("canvas.upper-canvas")
        canvas.first.wait_for(state="visible", timeout=TIMEOUT_MS)
        page.wait_for_timeout(200)   # fabric.js binds its mouse handlers just after mounting
        box = canvas.first.bounding_box()
        page.mouse.move(box["x"] + 140, box["y"] + 40)
        page.mouse.down()
        page.mouse.move(box["x"] + 140, box["y"] + 240, steps=20)
        page_started = page_clock(page)
        released = time.perf_counter()
        page.mouse.up()
        answer.wait_for(state="visible", timeout=TIMEOUT_MS)
        answered = time.perf_counter() - released
        timing = settle(page, 0, released, page_started, ready=lambda: None)
        times.append(Timing(timing.script, answered, timing.load))
        progress(f"  stroke {len(times)}: answer {answered:.2f} s, script {timing.script:.2f} s (load {timing.load:.2f})")
        page.mouse.move(5, 5)
        timed(page, page.get_by_role("button", name="Clear the canvas").click)
        answer.wait_for(state="detached", timeout=TIMEOUT_MS)
    return times


SERVER_TIMES_SCRIPT = """
import json, sys, time
from streamlit.testing.v1 import AppTest
pages = sys.argv[1:]
at = AppTest.from_file("app.py", default_timeout=300)
times = {}
for visit in ("first", "again"):
    for page in pages:
        started = time.perf_counter()
        if page == "app.py" and visit == "first":
            at.run()
        else:
            at.switch_page(page)
            at.run()
        times[f"{visit}|{page}"] = time.perf_counter() - started
print(json.dumps(times))
"""


def server_script_times(home: Path) -> dict[str, float]:
    """Each page's script time in a new server-side process (AppTest, no browser, no warm-up thread):
    first visit in page order, then every page again. ``home`` is MNIST_LAB_HOME (its disk cache)."""
    pages = ["app.py"] + [f"pages/{path}.py" for path, _ in PAGES[1:]]
    done = subprocess.run([sys.executable, "-c", SERVER_TIMES_SCRIPT, *pages], cwd=ROOT, capture_output=True,
                          text=True, check=True, env={**os.environ, "MNIST_LAB_HOME": str(home)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_timing(timings: list[Timing]) -> Timing:
    """Medians of the times (script: over the runs the browser saw), and the highest load seen."""
    scripts = [t.script for t in timings if t.script == t.script]
    return Timing(statistics.median(scripts) if scripts else float("nan"), statistics.median(t.shown for t in timings),
                  max(t.load for t in timings))


def verdict(seconds: float, target: float) -> str:
    return "met" if seconds < target else "missed"


def add_inside_rows(figures: dict[str, Timing | list[Timing]], add, headlines: list[list[object]]) -> None:
    """The Inside page's figures as report rows and headlines (a list of Step times: their median)."""
    for figure, measured in figures.items():
        if isinstance(measured, list):
            timing = median_timing(measured)
            add(f"{figure}, median of {len(measured)}", timing, STEP_TARGET_S)
            headlines.append([f"Inside: {figure} median", f"{timing.shown:.2f} s",
                              f"target < {STEP_TARGET_S:g} s", verdict(timing.shown, STEP_TARGET_S)])
        else:
            add(figure, measured, INSIDE_OPEN_TARGET_S)
            headlines.append([f"Inside: {figure}", f"{measured.shown:.2f} s",
                              f"target < {INSIDE_OPEN_TARGET_S:g} s", verdict(measured.shown, INSIDE_OPEN_TARGET_S)])


def run_inside_only(steps: int) -> tuple[list[list[object]], list[list[object]]]:
    """One server start: Home, the Inside page's first visit, then :func:`inside_figures`."""
    from playwright.sync_api import sync_playwright

    rows: list[list[object]] = []
    headlines: list[list[object]] = []

    def add(figure: str, timing: Timing, target: float | None, what_target: str = "shown") -> None:
        value = timing.shown if what_target == "shown" else timing.script
        rows.append([figure, f"{timing.script:.2f}", f"{timing.shown:.2f}", f"< {target:g} s ({what_target})",
                     verdict(value, target), f"{timing.load:.2f}"])

    with tempfile.TemporaryDirectory(prefix="page-speed-") as folder, sync_playwright() as playwright:
        process, url = start_lab_server(Path(folder) / "lab-home", Path(folder) / "server.log")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context, page = watched_page(browser)
        try:
            open_timed(page, url)
            add("first visit, Inside", switch_to(page, "inside"), FIRST_VISIT_TARGET_S)
            # The CNN once too, so the server's warm-up (both models' surveys) is over before anything is timed,
            # as in the full run, where every page has been visited twice by then.
            timed(page, lambda: choose_model(page, "Bundled CNN"), "the CNN's first visit (warm-up over)")
            timed(page, lambda: choose_model(page, "Bundled MLP (default)"))
            add_inside_rows(inside_figures(page, steps), add, headlines)
        finally:
            context.close()
            browser.close()
            stop_lab_server(process)
    return rows, headlines


PLAIN_PAGE = 'import streamlit as st\n\nst.title("A plain Streamlit page")\n'


def direct_visits(browser, url: str) -> dict[str, Timing]:
    """Each page opened straight by its address in a new tab (a cold browser cache): a shared link.

    Such a visit also pays for Streamlit's own start in the browser (see the plain page's
    reference) and for any script the page needs that no earlier page loaded (Plotly's)."""
    timings = {}
    for path, label in PAGES:
        context, page = watched_page(browser)
        try:
            timings[label] = open_timed(page, f"{url}/{path}")
            progress(f"  direct to {path or 'home'}: shown {timings[label].shown:.2f} s")
        finally:
            context.close()
    return timings


def plain_streamlit_first_visit(browser, folder: Path) -> Timing:
    """The reference for Home's first visit: a Streamlit page holding one title, on a server of its
    own (plain ``streamlit run``), opened in a new browser context and timed as Home is."""
    script = folder / "plain_page.py"
    script.write_text(PLAIN_PAGE)
    url = f"http://localhost:{(port := free_port())}"
    with (folder / "plain-server.log").open("w") as log:   # the child keeps its own copy of the file
        process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                                    "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                                   cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(process, url, where=str(folder / "plain-server.log"))
        context, page = watched_page(browser)
        try:
            return open_timed(page, url)
        finally:
            context.close()
    finally:
        stop_lab_server(process)


def run(strokes: int, steps: int) -> tuple[list[list[object]], list[list[object]]]:
    """Measure everything; return the report's rows and the headline rows."""
    from playwright.sync_api import sync_playwright

    rows: list[list[object]] = []
    headlines: list[list[object]] = []

    def add(figure: str, timing: Timing, target: float | None, what_target: str = "shown") -> None:
        value = timing.shown if what_target == "shown" else timing.script
        mark = verdict(value, target) if target is not None else ""
        rows.append([figure, f"{timing.script:.2f}", f"{timing.shown:.2f}",
                     f"< {target:g} s ({what_target})" if target is not None else "", mark, f"{timing.load:.2f}"])

    with tempfile.TemporaryDirectory(prefix="page-speed-") as folder, sync_playwright() as playwright:
        home = Path(folder) / "lab-home"
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            plain = plain_streamlit_first_visit(browser, Path(folder))
            add("reference: first visit of a plain Streamlit page holding one title", plain, None)
            headlines.append(["reference: a plain Streamlit page of one title, first visit (shown in Chromium)",
                              f"{plain.shown:.2f} s", "the browser's and Streamlit's own start", "reported"])
            for start in ("fresh", "restart"):
                launched = time.perf_counter()
                process, url = start_lab_server(home, Path(folder) / f"server-{start}.log")
                # Reported beside the first visits: the server loads the app and warms up before it answers.
                rows.append([f"{start}: server start, launch to health check answered", "",
                             f"{time.perf_counter() - launched:.2f}", "", "", f"{load_average():.2f}"])
                context, page = watched_page(browser)
                try:
                    first, again = visit_every_page(page, url)
                    for label, timing in first.items():
                        add(f"{start}: first visit, {label}", timing, FIRST_VISIT_TARGET_S)
                    for label, timing in again.items():
                        # The revisit target is server time (the table below): what the browser sees
                        # of a script also holds its own handling of the messages before the last.
                        add(f"{start}: revisit, {label}", timing, None)
                    slowest_first = max(first.values(), key=lambda t: t.shown)
                    slowest_again = max(again.values(), key=lambda t: t.shown)
                    headlines.append([f"slowest first page visit after a {start} start (shown in Chromium)",
                                      f"{slowest_first.shown:.2f} s", f"target < {FIRST_VISIT_TARGET_S:g} s",
                                      verdict(slowest_first.shown, FIRST_VISIT_TARGET_S)])
                    headlines.append([f"slowest revisit after a {start} start (shown in Chromium)",
                                      f"{slowest_again.shown:.2f} s", "server time: see server-side rows", "reported"])
                    if start == "restart":
                        add_inside_rows(inside_figures(page, steps), add, headlines)
                        stroke_times = stroke_figures(page, strokes)
                        timing = median_timing(stroke_times)
                        add(f"stroke to answer, median of {len(stroke_times)}", timing, None)
                        rows.append([f"stroke to answer, slowest of {len(stroke_times)}",
                                     f"{max(t.script for t in stroke_times):.2f}",
                                     f"{max(t.shown for t in stroke_times):.2f}", "", "", f"{timing.load:.2f}"])
                        headlines.append([f"Predict: stroke to answer, median of {len(stroke_times)}",
                                          f"{timing.shown:.2f} s", "earlier: 0.5-0.9 s (issue 12)", "reported"])
                        direct = direct_visits(browser, url)
                        for label, timing in direct.items():
                            add(f"restart: direct visit in a new tab, {label}", timing, None)
                        slowest_direct = max(direct.items(), key=lambda item: item[1].shown)
                        headlines.append([f"slowest page opened directly in a new tab ({slowest_direct[0]}; shown in "
                                          "Chromium)", f"{slowest_direct[1].shown:.2f} s",
                                          f"plain Streamlit page: {plain.shown:.2f} s", "reported"])
                finally:
                    context.close()
                    stop_lab_server(process)
        finally:
            browser.close()
    return rows, headlines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=20, help="strokes drawn on the Predict canvas")
    parser.add_argument("--steps", type=int, default=5, help="Step presses per model on the Inside page")
    parser.add_argument("--only", choices=("inside",), help="measure only this part (inside: the Inside page's "
                                                            "figures after one server start; nothing is saved)")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/page_speed.md")
    args = parser.parse_args()
    if not Path(CHROMIUM).is_file():
        sys.exit(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    described = machine()
    if args.only == "inside":
        rows, _ = run_inside_only(args.steps)
        print("\n".join(["# The Inside page's speed (headless Chromium, scripts/serve.py)", "", described, "",
                         table(["figure", "script seen by the browser (s)", "shown (s)", "target", "met?", "load"],
                               rows)]))
        return
    server_rows = []
    with tempfile.TemporaryDirectory(prefix="page-speed-server-") as folder:
        for start in ("fresh", "restart"):
            progress(f"server-side script times, {start} start")
            times = server_script_times(Path(folder))
            for (path, label) in PAGES:
                script = "app.py" if not path else f"pages/{path}.py"
                first, again = times[f"first|{script}"], times[f"again|{script}"]
                server_rows.append([f"{start}: {label}", f"{first:.2f}", verdict(first, FIRST_VISIT_TARGET_S),
                                    f"{again:.2f}", verdict(again, REVISIT_TARGET_S), f"{load_average():.2f}"])
    rows, headlines = run(args.strokes, args.steps)
    slowest = max(server_rows[len(PAGES):], key=lambda row: float(row[1]))
    headlines.append([f"slowest server-side first visit after a restart ({slowest[0]})", f"{slowest[1]} s",
                      f"target < {FIRST_VISIT_TARGET_S:g} s", slowest[2]])
    slowest = max(server_rows, key=lambda row: float(row[3]))
    headlines.append([f"slowest server-side revisit ({slowest[0]})", f"{slowest[3]} s",
                      f"target < {REVISIT_TARGET_S:g} s", slowest[4]])
    text = "\n".join([
        "# The app's own speed (headless Chromium, scripts/serve.py)", "", described, "",
        "script: the script's run as the browser sees it start and finish (server time, plus the browser's "
        "own handling of the messages before the last: nan when it ran too fast to be seen running); "
        "shown: from the click or mouse release until the script is done, every chart drawn and the browser "
        "done with the page (its last long task). "
        "First visits are judged by what is shown; revisits by server time (the second table). "
        "load: 1-minute load average after the measurement (2 cores, shared).", "",
        table(["figure", "script seen by the browser (s)", "shown (s)", "target", "met?", "load"], rows),
        "",
        "## Server-side script time per page (AppTest in a new process, no browser, no warm-up thread)", "",
        "fresh: empty MNIST_LAB_HOME; restart: the same folder again, with the disk cache the first wrote. "
        f"Targets: first visit < {FIRST_VISIT_TARGET_S:g} s, revisit < {REVISIT_TARGET_S:g} s.", "",
        table(["page", "first visit (s)", "met?", "revisit (s)", "met?", "load"], server_rows),
    ])
    emit("page_speed", text, args.save)
    record_headlines("page_speed", headlines)


if __name__ == "__main__":
    main()
