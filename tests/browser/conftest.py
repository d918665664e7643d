"""Browser tests: the app under `streamlit run`, driven by Playwright in Debian's Chromium.

Chromium comes from Debian (`apt-get install chromium`); Playwright never downloads a
browser. In CI (CI=true) a missing Chromium fails the run; elsewhere the browser tests
are skipped with a message saying how to install it.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage",
]
SETTLE_TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium_path()
    if path is None:
        message = "Chromium not found: install it with `sudo apt-get install chromium` to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def app_url(chromium_path) -> str:
    """Start `streamlit run app.py` on a free port; yield its URL; stop it at the end."""
    port = _free_port()
    log = open(ARTIFACTS.mkdir(exist_ok=True) or ARTIFACTS / "streamlit.log", "w")  # noqa: SIM115 (open while the server runs)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("streamlit did not answer /_stcore/health within 60 s")
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, app_url, request):
    """A fresh browser page that fails the test on an exception box, a JS error, or any
    request that leaves the local server. A screenshot is kept on failure."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(SETTLE_TIMEOUT_MS)
    problems: list[str] = []
    local_host = urlparse(app_url).hostname

    def on_request(req):
        host = urlparse(req.url).hostname
        if req.url.startswith(("data:", "blob:", "about:")):
            return
        if host not in (local_host, "127.0.0.1", "localhost"):
            problems.append(f"outbound request: {req.url}")

    page.on("request", on_request)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    yield page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed or problems:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    exception_boxes = page.locator('[data-testid="stException"]').count()
    context.close()
    assert not problems, "\n".join(problems)
    assert exception_boxes == 0, "the page shows an exception box"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def wait_for_app(page) -> None:
    """Wait until the script has finished running: app present, running indicator gone."""
    from playwright.sync_api import expect

    expect(page.locator('[data-testid="stApp"]')).to_be_visible()
    page.wait_for_timeout(300)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=SETTLE_TIMEOUT_MS)


def open_page(page, app_url: str, path: str = "") -> None:
    """Open a page of the app (``""`` for home, ``"explore"`` ...) and wait until it settles."""
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)


def train_one_epoch(page, app_url: str) -> None:
    """Open the Train page, move the epochs slider to 1, press Start and wait for the run to complete."""
    open_page(page, app_url, "train")
    run_one_epoch(page)


def run_one_epoch(page) -> None:
    """On the Train page already open: move the epochs slider to 1, press Start and wait for the run to complete."""
    import re

    from playwright.sync_api import expect

    epochs = page.get_by_role("slider", name=re.compile("Epochs"))
    epochs.focus()
    for _ in range(4):  # 5 -> 1 epoch
        page.keyboard.press("ArrowLeft")
    expect(epochs).to_have_value("1")
    wait_for_app(page)
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text(re.compile(r"Completed: completed 1 epoch"))).to_be_visible(timeout=120_000)


@pytest.fixture()
def predict_page(page, app_url):
    """The Predict page, open and settled (skipped when the bundled default model is missing)."""
    from dashboard.models import DEFAULT_MODEL_PATH

    if not DEFAULT_MODEL_PATH.is_file():
        pytest.skip(f"the default model {DEFAULT_MODEL_PATH} is missing: build it with `make model`")
    open_page(page, app_url, "predict")
    return page
