"""Plotly's script loaded while the reader looks at the first page, not when a chart first needs it.

Streamlit's browser side loads plotly.js (a 4.7 MB script) the first time a page of the tab
shows a Plotly chart, and then spends about 1.2 s evaluating it before it draws anything: the
first page with such a chart a visitor opens (Train's live curves and a run's results, Runs,
Sweep) paid for it on top of its own time; Explore, Inside, Preprocess and Predict draw theirs as
SVG (clicked through :mod:`dashboard.svg_picker`) and need none.
Every page here asks the browser, once per tab, to load that script a couple of seconds after
the page has been drawn, while its reader reads it; the chart pages then find it loaded. A page
opened directly in a new tab still loads it itself, as before.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

# After the first page's elements arrive: enough for the page to be drawn and settled first.
PRELOAD_DELAY_MS = 2000
# Set on the browser's window: "loading", then "loaded" (or "failed", and a later page tries again).
PRELOAD_FLAG = "__mnistLabPlotly"


@functools.cache
def plotly_chunk_name() -> str | None:
    """The file name of Streamlit's Plotly chunk (``PlotlyChart.<hash>.js``), or None if this
    Streamlit build has not exactly one."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    names = sorted(path.name for path in folder.glob("PlotlyChart.*.js"))
    return names[0] if len(names) == 1 else None


def preload_script(chunk: str, delay_ms: int = PRELOAD_DELAY_MS) -> str:
    """A ``<script>`` that imports ``chunk`` from beside Streamlit's own entry script, once per tab,
    ``delay_ms`` after it runs and then when the browser is idle."""
    flag = json.dumps(PRELOAD_FLAG)
    return f"""<script>
(() => {{
  if (window[{flag}] === "loading" || window[{flag}] === "loaded") return;
  window[{flag}] = "loading";
  const entry = [...document.scripts].find((s) => /\\/static\\/js\\/index\\.[^/]*\\.js$/.test(s.src));
  const url = new URL({json.dumps(chunk)}, entry ? entry.src : new URL("static/js/", document.baseURI)).href;
  const idle = window.requestIdleCallback || ((callback) => setTimeout(callback, 0));
  setTimeout(() => idle(() => import(url).then(
    () => {{ window[{flag}] = "loaded"; }},
    () => {{ window[{flag}] = "failed"; }})), {int(delay_ms)});
}})();
</script>"""


def preload_plotly() -> None:
    """Add the preload to the page (it takes no space); nothing if Plotly's chunk is not found."""
    chunk = plotly_chunk_name()
    if chunk is not None:
        st.html(preload_script(chunk), unsafe_allow_javascript=True)
