"""`make run` is private: the server listens on loopback only and connects to nothing outside.

The server is started by scripts/serve.py exactly as `make run` starts it (the test checks
the Makefile's recipe names that script, with no --host), with an audit hook in the server
process (connect_audit/sitecustomize.py) that logs every connection and name lookup. A
browser then opens the pages that load data and models, so whatever the app does at start
and on first use is in the log.
"""
from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import ROOT, _free_port, open_page

pytestmark = pytest.mark.slow

AUDIT_DIR = Path(__file__).resolve().parent / "connect_audit"
LISTEN_STATE = "0A"
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "", None}


def _make_recipe(target: str) -> str:
    """The commands `make TARGET` would run (dry run), as make prints them."""
    result = subprocess.run(["make", "-n", target, "PORT=8599"], cwd=ROOT, capture_output=True, text=True,
                            check=True, env={**os.environ, "HOST": "192.0.2.99"})
    return result.stdout


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    return inodes


def _decode_address(hex_address: str) -> tuple[str, int]:
    """An address of /proc/net/tcp{,6}: hex IP in host byte order per 32-bit word, hex port."""
    ip_hex, port_hex = hex_address.split(":")
    raw = bytes.fromhex(ip_hex)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words)), int(port_hex, 16)


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """Every TCP address the process ``pid`` listens on, read from /proc."""
    inodes = _socket_inodes(pid)
    found = []
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN_STATE and fields[9] in inodes:
                found.append(_decode_address(fields[1]))
    return found


def _is_local_target(entry: dict) -> bool:
    target = entry["target"]
    if isinstance(target, str):  # an AF_UNIX path: on this machine by definition
        return True
    host = target[0]
    if isinstance(host, bytes):
        host = host.decode()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def test_make_run_uses_serve_script_on_loopback():
    run_lines = [line for line in _make_recipe("run").splitlines() if "scripts/serve.py" in line]
    assert run_lines, "make run does not start scripts/serve.py"
    assert all("--host" not in line for line in run_lines), run_lines  # the script's default: loopback
    serve_lines = [line for line in _make_recipe("serve").splitlines() if "scripts/serve.py" in line]
    assert serve_lines and "--host 0.0.0.0" in serve_lines[0], serve_lines  # an env HOST does not leak in


@contextmanager
def audited_server(tmp_path, *serve_args: str):
    """scripts/serve.py with ``serve_args``, an audit hook logging its connections; yields
    (process, port, connect log). The server is stopped at the end."""
    port = _free_port()
    connect_log = tmp_path / "connects.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(AUDIT_DIR), str(ROOT)]),
           "MNIST_LAB_CONNECT_LOG": str(connect_log), "MNIST_LAB_HOME": str(tmp_path / "lab")}
    with open(tmp_path / "server.log", "w") as server_log:
        process = subprocess.Popen([sys.executable, "scripts/serve.py", *serve_args, "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer within 60 s"
                time.sleep(0.3)
        yield process, port, connect_log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def outside_connections(process, connect_log: Path) -> list[dict]:
    """What the server process (and its children) tried to reach beyond this machine."""
    entries = [json.loads(line) for line in connect_log.read_text().splitlines()]
    assert {"event": "start", "target": None, "pid": process.pid} in entries, "no audit hook in the server"
    return [entry for entry in entries if entry["event"] != "start" and not _is_local_target(entry)]


def _other_ipv4_addresses() -> list[str]:
    output = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=False).stdout
    return [address for address in output.split() if ":" not in address]


def test_server_listens_on_loopback_only_and_connects_nowhere(browser, tmp_path):
    # The way `make run` starts it (minus the browser opener): scripts/serve.py --port PORT.
    with audited_server(tmp_path) as (process, port, connect_log):
        url = f"http://localhost:{port}"
        listening = listening_addresses(process.pid)
        assert ("127.0.0.1", port) in listening, listening
        assert all(ipaddress.ip_address(host).is_loopback for host, _ in listening), listening

        context = browser.new_context()
        page = context.new_page()
        outside_requests = []
        page.on("request", lambda req: None if req.url.startswith((url, "data:", "blob:", "about:"))
                else outside_requests.append(req.url))
        for path in ("", "train", "predict"):
            open_page(page, url, path)
            assert page.locator('[data-testid="stException"]').count() == 0
        context.close()
        time.sleep(1.0)
        assert not outside_requests, outside_requests

    log_text = (tmp_path / "server.log").read_text()
    assert f"http://localhost:{port}" in log_text and "External URL" not in log_text, log_text
    assert not outside_connections(process, connect_log)


def test_a_classroom_server_listens_everywhere_prints_addresses_and_still_connects_nowhere(tmp_path):
    addresses = _other_ipv4_addresses()
    if not addresses:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with audited_server(tmp_path, "--host", "0.0.0.0") as (process, port, connect_log):
        # Every interface, read from the kernel's socket table (no traffic to another address).
        assert listening_addresses(process.pid) == [("0.0.0.0", port)]
    log_text = (tmp_path / "server.log").read_text()
    assert "Students open:" in log_text and f"http://{addresses[0]}:{port}" in log_text, log_text
    assert "External URL" not in log_text
    assert not outside_connections(process, connect_log)
