"""scripts/serve.py: the server command of `make run` and `make serve`, and the addresses it prints."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("serve", ROOT / "scripts" / "serve.py")
serve = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serve)


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_default_server_is_private_and_says_so_to_streamlit():
    command = serve.streamlit_command(port=8600)
    assert command[1:4] == ["-m", "dashboard.server_process", "run"] and command[4].endswith("app.py")
    assert _option(command, "--server.address") == "127.0.0.1"
    assert _option(command, "--server.port") == "8600"
    # set, so that Streamlit neither looks up the external IP nor probes 8.8.8.8 for the LAN one
    assert _option(command, "--browser.serverAddress") == "localhost"
    assert _option(command, "--browser.gatherUsageStats") == "false"
    assert _option(command, "--server.enableXsrfProtection") == "true"


def test_the_upload_cap_is_the_one_of_the_streamlit_config():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert int(_option(serve.streamlit_command(), "--server.maxUploadSize")) == config["server"]["maxUploadSize"]
    assert config["browser"]["gatherUsageStats"] is False


def test_the_served_app_watches_no_files_and_collects_no_garbage_after_each_rerun():
    """Both took most of the server's CPU with a class on (benchmarks/classroom.py under py-spy)."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["fileWatcherType"] == "none" and config["server"]["runOnSave"] is False
    assert config["runner"]["postScriptGC"] is False


def test_a_classroom_server_binds_everywhere_and_prints_each_local_address(monkeypatch):
    monkeypatch.setattr(serve.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, stdout="192.168.1.20 10.0.0.5 127.0.0.1 fd00::7 \n"))
    command = serve.streamlit_command("0.0.0.0", 8501)
    assert _option(command, "--server.address") == "0.0.0.0"
    assert _option(command, "--browser.serverAddress") == "192.168.1.20"
    assert serve.student_urls("0.0.0.0", 8501) == ["http://192.168.1.20:8501", "http://10.0.0.5:8501"]
    assert serve.student_urls("::", 9000) == ["http://192.168.1.20:9000", "http://10.0.0.5:9000",
                                              "http://[fd00::7]:9000"]
    text = serve.banner("0.0.0.0", 8501)
    assert "Students open:" in text and "http://10.0.0.5:8501" in text and "127.0.0.1" not in text


def test_one_interface_is_printed_as_it_is():
    assert serve.student_urls("192.168.1.20", 8080) == ["http://192.168.1.20:8080"]
    assert _option(serve.streamlit_command("192.168.1.20"), "--browser.serverAddress") == "192.168.1.20"
    assert serve.student_urls("127.0.0.1", 8501) == ["http://localhost:8501"]
    assert "this computer only" in serve.banner("127.0.0.1", 8501)


def test_without_hostname_the_host_names_addresses_are_used(monkeypatch):
    def no_hostname(*args, **kwargs):
        raise FileNotFoundError("hostname")

    monkeypatch.setattr(serve.subprocess, "run", no_hostname)
    monkeypatch.setattr(serve.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("127.0.1.1", 0)),
                                                                      (2, 1, 6, "", ("172.16.0.9", 0))])
    assert serve.local_addresses() == ["172.16.0.9"]


@pytest.mark.parametrize("port", [0, 70000])
def test_a_port_out_of_range_is_refused(port):
    with pytest.raises(ValueError, match=f"expected a port from 1 to 65535, got {port}"):
        serve.streamlit_command(port=port)


def test_the_server_starts_warm_with_two_malloc_arenas_unless_told_otherwise():
    environment = serve.server_environment({"PATH": "/usr/bin"})
    assert environment == {"PATH": "/usr/bin", "MALLOC_ARENA_MAX": "2", "MNIST_LAB_WARM_UP": "1"}
    assert serve.server_environment({"MALLOC_ARENA_MAX": "4"})["MALLOC_ARENA_MAX"] == "4"


def test_a_first_start_is_told_by_an_empty_disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_HOME", str(tmp_path))
    assert serve.cache_is_empty()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "stats.npz.lock").write_text("")        # a lock is not a result
    assert serve.cache_is_empty()
    (tmp_path / "cache" / "dataset_statistics-0a1b.npz").write_bytes(b"PK")
    assert not serve.cache_is_empty()


@pytest.mark.slow  # the server process's preload on the bundled MNIST, with an empty disk cache (about 10 s)
def test_the_first_start_fills_the_disk_cache_before_the_server_opens(tmp_path, monkeypatch):
    environment = serve.server_environment({**os.environ, "MNIST_LAB_HOME": str(tmp_path)})
    subprocess.run([sys.executable, "-c", "from dashboard import server_process; server_process.preload()"],
                   cwd=serve.APP_ROOT, env=environment, check=True, capture_output=True, timeout=300)
    monkeypatch.setenv("MNIST_LAB_HOME", str(tmp_path))
    assert not serve.cache_is_empty()
