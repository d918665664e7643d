"""Helpers for page tests: AppTest on a script given relative to the project root."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
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


def picker_svgs(at: AppTest) -> dict[str, str]:
    """The SVG each clickable chart (:func:`dashboard.svg_picker.svg_picker`) received, by the
    chart's key. AppTest shows a custom component (v2) as an unknown element, ``bidi_component``:
    its proto's ``json`` field holds the data sent (``{"svg": ...}``) and its ``id`` ends with the
    key (``$$ID-<hash>-<key>``)."""
    svgs = {}
    for element in at.get("bidi_component"):
        proto = element.proto
        data = json.loads(proto.json if proto.WhichOneof("data") == "json" else proto.mixed.json)
        key = proto.id.split("-", 2)[2] if proto.id.startswith("$$ID-") else proto.id
        svgs[key] = data["svg"]
    return svgs


SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


def svg_tree(svg: str) -> ET.Element:
    """``svg`` parsed as XML."""
    return ET.fromstring(svg)


def svg_marks(svg: str) -> list[tuple[str, str]]:
    """Each clickable mark of ``svg`` in drawing order: its ``data-pick`` and its tooltip."""
    root = svg_tree(svg)
    return [(mark.get("data-pick", ""), mark.findtext(f"{SVG_NAMESPACE}title", ""))
            for mark in root.iter() if "data-pick" in mark.attrib]


def _square_centres(root: ET.Element) -> dict[tuple[float, float], str]:
    """Each clickable square of a square grid by its centre: its pick."""
    return {(float(r.get("x")) + float(r.get("width")) / 2, float(r.get("y")) + float(r.get("height")) / 2):
            r.get("data-pick") for r in root.iter(f"{SVG_NAMESPACE}rect") if "data-pick" in r.attrib}


def _square_at(squares: dict[tuple[float, float], str], x: float, y: float) -> str:
    """The pick of the square whose centre is (``x``, ``y``) (to 0.01)."""
    return next(pick for (cx, cy), pick in squares.items() if abs(cx - x) < 0.01 and abs(cy - y) < 0.01)


def ringed_square(svg: str) -> str | None:
    """The pick of the square a square grid (:func:`dashboard.pick_charts.square_grid`) rings, if any."""
    root = svg_tree(svg)
    ring = next((r for r in root.iter(f"{SVG_NAMESPACE}rect") if r.get("class") == "selected"), None)
    if ring is None:
        return None
    return _square_at(_square_centres(root), float(ring.get("x")) + float(ring.get("width")) / 2,
                      float(ring.get("y")) + float(ring.get("height")) / 2)


def dotted_squares(svg: str) -> set[str]:
    """The picks of the squares a square grid marks with a dot."""
    root = svg_tree(svg)
    squares = _square_centres(root)
    return {_square_at(squares, float(c.get("cx")), float(c.get("cy")))
            for c in root.iter(f"{SVG_NAMESPACE}circle") if c.get("pointer-events") == "none"}


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
