"""The server process: load what every first visit needs, then hand over to Streamlit.

``scripts/serve.py`` (``make run``, ``make serve``) runs ``python -m dashboard.server_process run
app.py [options]`` where plain ``streamlit run`` would import the app's modules and read the
dataset in the first visitor's script run (a second or more, while that visitor waits, and
while the warm-up that run starts competes with it). Here both happen before the port opens:

* every ``dashboard`` module is imported (and with them nnlib, NumPy and Plotly);
* the default dataset is read into the very cache the pages read it from;
* with ``MNIST_LAB_WARM_UP=1`` (as ``scripts/serve.py`` sets it), the warm-up's work
  (:mod:`dashboard.warm_up`: the bundled models, the Inside page's surveys, Explore's results)
  is done too. Done in a thread beside the server instead, it took the CPU from the first
  visitor's browser while it loaded Streamlit's scripts, and the GIL from the first page's run.

Then Streamlit's own command line runs with the arguments given, in this process.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import pkgutil
import sys
from collections.abc import Iterator

from . import warm_up
from .memory_release import release_memory


@contextlib.contextmanager
def _no_script_context_warnings() -> Iterator[None]:
    """Cached calls outside a script run log "missing ScriptRunContext": expected here."""
    context_logger = logging.getLogger(warm_up.CONTEXT_LOGGER)
    was_disabled = context_logger.disabled
    context_logger.disabled = True
    try:
        yield
    finally:
        context_logger.disabled = was_disabled


# Streamlit modules the first page run would import: the emoji table (its regex takes 0.1-0.2 s
# to compile) that page icons are checked against.
STREAMLIT_MODULES = ("streamlit.emojis",)


def import_app_modules() -> list[str]:
    """Import every module of the ``dashboard`` package and :data:`STREAMLIT_MODULES`; their names."""
    import dashboard

    names = [f"dashboard.{module.name}" for module in pkgutil.iter_modules(dashboard.__path__)]
    names += [name for name in STREAMLIT_MODULES if importlib.util.find_spec(name) is not None]
    for name in names:
        importlib.import_module(name)
    return names


def preload() -> None:
    """The app's modules, the default dataset (a failure is left for the page to report) and,
    when enabled, the warm-up's work; then the freed memory goes back to the system."""
    import_app_modules()
    from .data import DEFAULT_DATASET, cached_dataset

    with _no_script_context_warnings():
        warm_up.quietly(f"reading {DEFAULT_DATASET}", lambda: cached_dataset(DEFAULT_DATASET))
        if warm_up.enabled():
            warm_up.warm_before_serving()
    # The warm-up's temporaries (a layer survey runs 256 images through each model) are freed by
    # now; give their pages back, so the server starts at its warm size instead of ~120 MB above it.
    release_memory()


def main(argv: list[str]) -> None:
    """Preload, then ``streamlit <argv>`` (for example ``run app.py --server.port 8501``)."""
    preload()
    from streamlit.web import cli

    cli.main(args=argv, prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
