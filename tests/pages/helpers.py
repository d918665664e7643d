"""Helpers for page tests: AppTest on a script given relative to the project root."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from streamlit.testing.v1 import AppTest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def app_test(script: str, timeout: float = 60) -> AppTest:
    """An AppTest of ``script`` (``"app.py"``, ``"pages/explore.py"``...), not yet run."""
    return AppTest.from_file(str(PROJECT_ROOT / script), default_timeout=timeout)


def open_from_home(page: str, setup=None, timeout: float = 90) -> AppTest:
    """Run ``page`` as a user reaches it: start on app.py, then switch (so the sidebar's
    page links resolve). ``setup(at)`` may seed session state first."""
    at = app_test("app.py", timeout)
    if setup:
        setup(at)
    at.switch_page(page)
    return at.run()


def plotly_figures(at: AppTest) -> list[dict]:
    """The Plotly figures the page drew, as dicts (AppTest shows them as unknown elements)."""
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


@contextmanager
def serving_as_fashion_mnist(monkeypatch, dataset):
    """Within the block, the app finds ``dataset`` as Fashion-MNIST (no Debian package needed)."""
    import nnlib.data
    from dashboard.data import cached_dataset

    monkeypatch.setattr(nnlib.data, "fashion_mnist_available", lambda *a, **k: True)
    monkeypatch.setattr(nnlib.data, "load_fashion_mnist", lambda *a, **k: dataset)
    cached_dataset.clear()
    try:
        yield
    finally:
        cached_dataset.clear()


def markdown_table_rows(at, first_column: str) -> list[dict[str, str]]:
    """The rows of the Markdown table whose first column is ``first_column``."""
    table = next(m.value for m in at.markdown if m.value.startswith(f"| {first_column} |"))
    lines = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in table.splitlines()]
    return [dict(zip(lines[0], line, strict=True)) for line in lines[2:]]
