"""The Plotly preload: it names Streamlit's real Plotly chunk and is added to every page once."""
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import chart_preload


def test_the_chunk_is_streamlits_own_plotly_file():
    name = chart_preload.plotly_chunk_name()
    assert name is not None and name.startswith("PlotlyChart.") and name.endswith(".js")
    path = Path(st.__file__).parent / "static" / "static" / "js" / name
    assert "plotly.js v" in path.read_text(encoding="utf-8", errors="replace")


def test_the_script_imports_it_once_per_tab_after_the_delay():
    script = chart_preload.preload_script("PlotlyChart.abc.js", delay_ms=1234)
    assert script.startswith("<script>") and script.endswith("</script>")
    assert 'new URL("PlotlyChart.abc.js"' in script and "import(url)" in script
    assert script.rstrip().removesuffix("</script>").rstrip().endswith(", 1234);\n})();")
    # Once per tab: a page switch mounts it again, the flag on the window stops a second import.
    assert f'window["{chart_preload.PRELOAD_FLAG}"] === "loading"' in script


def test_a_page_gets_it_in_its_sidebar(monkeypatch):
    monkeypatch.setattr(chart_preload, "PRELOAD_DELAY_MS", 10)
    at = AppTest.from_string(
        "from dashboard.chart_preload import preload_plotly\nimport streamlit as st\n"
        "with st.sidebar:\n    preload_plotly()\n").run()
    assert not at.exception
    bodies = [element.proto.body for element in at.sidebar.get("html")]
    assert len(bodies) == 1 and chart_preload.plotly_chunk_name() in bodies[0]


def test_nothing_is_added_without_the_chunk(monkeypatch):
    monkeypatch.setattr(chart_preload, "plotly_chunk_name", lambda: None)
    at = AppTest.from_function(lambda: __import__("dashboard.chart_preload").chart_preload.preload_plotly()).run()
    assert not at.exception and not at.get("html")
