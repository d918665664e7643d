"""Start the MNIST Lab server: private on this machine by default, or for a class by choice.

`make run` and `make serve` both come here, and so does the server-privacy test, so the
command they run is written once (:func:`streamlit_command`).

Private (the default, ``--host 127.0.0.1``): the server listens on the loopback address
only, so nobody else on the network can open it. ``browser.serverAddress`` is set to the
address users type, which also keeps Streamlit from asking an outside service for the
machine's external IP address at start (and from opening a socket towards 8.8.8.8 to
learn its own LAN address); usage statistics are off. Nothing leaves the machine.

Classroom (``--host 0.0.0.0`` or one interface's address): the server listens there and
prints the addresses students type, found locally (``hostname -I`` or the host name's
addresses, never an outside lookup). XSRF protection stays on and uploads stay capped.

Memory: the server starts with ``MALLOC_ARENA_MAX=2`` (:data:`MALLOC_ENVIRONMENT`), so what a
class frees goes back to a few compact heaps that the memory releaser can trim.

Warm start: the server process (:mod:`dashboard.server_process`) gets ``MNIST_LAB_WARM_UP=1``:
before its port opens it imports the app's modules, reads the dataset and computes what the
slow pages need (:mod:`dashboard.warm_up`), so no first visit waits for it. On the very first
start (no disk cache yet) that includes the dataset's statistics, a few seconds once, and the
terminal says so.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

APP_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8501
WILDCARDS = ("0.0.0.0", "::")
# The same cap as .streamlit/config.toml: Kaggle's digit-recognizer train.csv is 73 MB.
MAX_UPLOAD_MB = 200


def is_wildcard(host: str) -> bool:
    """Whether ``host`` means every interface of the machine."""
    return host in WILDCARDS


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return address == "localhost"


def local_addresses() -> list[str]:
    """This machine's non-loopback IP addresses, found without any network request.

    ``hostname -I`` (Debian's inetutils/hostname) lists every configured address; where it
    is missing, the addresses the host name resolves to locally are used.
    """
    found: list[str] = []
    try:
        output = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5, check=False).stdout
        found = output.split()
    except (OSError, subprocess.SubprocessError):
        pass
    if not found:
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None)
            found = [info[4][0] for info in infos]
        except OSError:
            found = []
    unique = list(dict.fromkeys(address for address in found if not _is_loopback(address)))
    return sorted(unique, key=lambda address: ":" in address)  # IPv4 first: the shorter thing to type


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def student_urls(host: str, port: int) -> list[str]:
    """The addresses to type to reach a server bound to ``host``: every local address for a
    wildcard, else ``host`` itself (``localhost`` for the loopback address)."""
    if _is_loopback(host):
        return [_url("localhost", port)]
    if is_wildcard(host):
        return [_url(address, port) for address in _reachable(host)] or [_url("localhost", port)]
    return [_url(host, port)]


def _reachable(wildcard: str) -> list[str]:
    """The local addresses a wildcard bind answers on: IPv4 only for 0.0.0.0, all for ::."""
    return [address for address in local_addresses() if wildcard == "::" or ":" not in address]


def browser_address(host: str) -> str:
    """What ``browser.serverAddress`` says users type: set on every start, so Streamlit never
    looks the machine's addresses up on the internet."""
    if _is_loopback(host):
        return "localhost"
    if is_wildcard(host):
        addresses = _reachable(host)
        return addresses[0] if addresses else "localhost"
    return host


def streamlit_command(host: str = LOOPBACK, port: int = DEFAULT_PORT, python: str = sys.executable) -> list[str]:
    """The ``streamlit run`` command line of the server, bound to ``host``, nothing sent out:
    through :mod:`dashboard.server_process`, which loads the app's modules and dataset first."""
    if not 1 <= port <= 65535:
        raise ValueError(f"expected a port from 1 to 65535, got {port}")
    return [
        python, "-m", "dashboard.server_process", "run", str(APP_ROOT / "app.py"),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.serverAddress", browser_address(host),
        "--browser.gatherUsageStats", "false",
        "--server.enableXsrfProtection", "true",
        "--server.maxUploadSize", str(MAX_UPLOAD_MB),
    ]


# glibc gives each busy thread a heap arena of its own (up to 8 per core), and Streamlit runs
# every script run in a new thread: freed memory then lies scattered over many arenas and the
# server stays near its peak after a class has gone. Two arenas keep it compact
# (benchmarks/memory_probe.py); an environment that sets its own value keeps it.
MALLOC_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2"}


def server_environment(environment: dict[str, str]) -> dict[str, str]:
    """``environment`` with what the server process needs at its start: the warm start, and
    :data:`MALLOC_ENVIRONMENT` unless already set."""
    return {**MALLOC_ENVIRONMENT, **environment, "MNIST_LAB_WARM_UP": "1"}


def cache_is_empty() -> bool:
    """True on a first start: the lab's disk cache (:func:`dashboard.disk_cache.cache_folder`)
    holds no result yet."""
    if str(APP_ROOT) not in sys.path:
        sys.path.insert(0, str(APP_ROOT))
    from dashboard.disk_cache import cache_folder

    return not any(cache_folder().glob("*.npz"))


FIRST_START_MESSAGE = "First start: computing the dataset's statistics for the pages (a few seconds, once)..."


def banner(host: str, port: int) -> str:
    """What the terminal says before the server starts: where to open it, and who can."""
    urls = student_urls(host, port)
    if _is_loopback(host):
        return (f"MNIST Lab at {urls[0]} (this computer only; Ctrl+C stops it)\n"
                "For a class: make serve HOST=0.0.0.0 PORT=8501")
    lines = [f"MNIST Lab for a class, listening on {host}:{port}. Students open:"]
    lines += [f"  {url}" for url in urls]
    lines.append("Anyone who can reach these addresses can use the lab (Ctrl+C stops it).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=LOOPBACK,
                        help="interface to listen on: 127.0.0.1 (default, this computer only), "
                             "0.0.0.0 (every interface) or one address of this machine")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    command = streamlit_command(args.host, args.port)
    print(banner(args.host, args.port), flush=True)
    os.chdir(APP_ROOT)
    environment = server_environment(dict(os.environ))
    if cache_is_empty():
        print(FIRST_START_MESSAGE, flush=True)
    # exec: the server is this process, so Ctrl+C and a test's terminate() reach it directly;
    # glibc reads MALLOC_ARENA_MAX when the new program starts.
    os.execve(command[0], command, environment)


if __name__ == "__main__":
    main()
