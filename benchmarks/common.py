"""Shared helpers for the benchmark scripts: machine description, timing, Markdown tables.

Benchmarks are not tests: they time the full-size workloads of issue 2 and print a
Markdown table, which ``--save`` also writes to ``benchmarks/results/``.
Run them on a quiet machine: the load average is printed with every result.

Every benchmark measures what a user's machine gets: importing this module drops
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` from the environment by re-executing the
script without them (they pin OpenBLAS to older, slower kernels than the processor has), and
:func:`machine` names the BLAS kernel in use as threadpoolctl reports it.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DROPPED_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def run_as_users_get_it() -> None:
    """Re-execute this script without the variables that pin OpenBLAS's kernel (no-op when absent)."""
    if any(name in os.environ for name in DROPPED_VARIABLES):
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, *sys.argv],
                  {key: value for key, value in os.environ.items() if key not in DROPPED_VARIABLES})


run_as_users_get_it()


def set_threads(threads: int) -> None:
    """Ask the BLAS libraries for ``threads`` threads; call before importing NumPy."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def blas_kernel() -> str:
    """What OpenBLAS (or another BLAS) runs here, as threadpoolctl reports it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS kernel unknown (pip install threadpoolctl)"
    import numpy  # noqa: F401  (loads the BLAS library so threadpoolctl can see it)

    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return "; ".join(f"{pool.get('internal_api')} {pool.get('version')}, kernel {pool.get('architecture')}, "
                     f"{pool.get('num_threads')} thread(s) in this process" for pool in pools) or "no BLAS found"


def machine() -> str:
    import numpy as np

    blas = "unknown BLAS"
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{info.get('name')} {info.get('version')}"
    except Exception:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu_name()}, {os.cpu_count()} cores; Python {platform.python_version()}, NumPy {np.__version__} "
            f"({blas}); BLAS: {blas_kernel()}; load average at start {load:.2f}")


def matmul_rate(dtype="float32", repeats: int = 5) -> float:
    """Best measured GFLOP/s of a large matrix product (the machine's practical ceiling)."""
    import numpy as np

    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float64).astype(dtype)
    a @ a
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * 2048 ** 3 / best / 1e9


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def emit(name: str, text: str, save: bool) -> None:
    """Print the report; with ``save`` also write it to ``benchmarks/results/NAME.md``."""
    print(text)
    if save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.md").write_text(text + "\n")


def record_headlines(name: str, headlines: Sequence[Sequence[object]]) -> None:
    """Keep a benchmark's headline figures for ``make bench``'s summary table.

    Each headline is ``(figure, measured, reference, verdict)``: what was measured, its
    value with unit, what it compares with (a target, PyTorch, or the earlier nnlib), and
    whether it met the target. Written to ``benchmarks/results/headlines/NAME.json``.
    """
    import json

    folder = RESULTS / "headlines"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [[str(cell) for cell in row] for row in headlines]
    (folder / f"{name}.json").write_text(json.dumps({"benchmark": name, "machine": machine(), "rows": rows},
                                                    indent=1) + "\n")


def free_port() -> int:
    """A TCP port free on the loopback address right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_lab_server(home: Path, log_path: Path, timeout: float = 90.0):
    """``scripts/serve.py`` on a free loopback port with ``home`` as MNIST_LAB_HOME.

    Returns ``(process, url)`` once ``/_stcore/health`` answers; the server's output goes
    to ``log_path``. Raises RuntimeError if it exits or stays silent for ``timeout`` seconds.
    """
    import subprocess

    url = f"http://localhost:{(port := free_port())}"
    log = log_path.open("w")
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve.py"), "--port", str(port)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "MNIST_LAB_HOME": str(home)})
    wait_until_healthy(process, url, timeout, f"see {log_path}")
    return process, url


def wait_until_healthy(process, url: str, timeout: float = 90.0, where: str = "") -> None:
    """Return once the Streamlit server ``process`` at ``url`` answers ``/_stcore/health``.

    Raises RuntimeError (naming ``where`` to look) if it exits, or kills it and raises if it
    stays silent for ``timeout`` seconds."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}; {where}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the server did not answer /_stcore/health within {timeout:.0f} s; {where}")


def stop_lab_server(process, timeout: float = 20.0) -> None:
    """Terminate a server from :func:`start_lab_server`, killing it if it does not end in time."""
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
