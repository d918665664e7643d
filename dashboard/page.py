"""What every page does first: page config, the navigation and the shared sidebar."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

# Imported before any page draws a chart, and so before the server opens (it imports every
# dashboard module): Plotly looks pandas up in sys.modules, and with two sessions on their first
# run at once it could find pandas half-imported by the other session's thread ("partially
# initialized module 'pandas' has no attribute 'Series'"). An import statement waits instead.
import pandas  # noqa: F401
import streamlit as st

from . import warm_up
from .chart_preload import preload_plotly
from .data import render_dataset_picker
from .memory_release import start_memory_releaser

APP_ROOT = Path(__file__).resolve().parent.parent

# (file relative to the app root, label, icon); a page is linked once its file exists.
PAGES = (
    ("app.py", "Home", "🏠"),
    ("pages/explore.py", "Explore the data", "🔍"),
    ("pages/preprocess.py", "Preprocess", "🧪"),
    ("pages/train.py", "Train a network", "🏋️"),
    ("pages/runs.py", "Runs", "🗂️"),
    ("pages/predict.py", "Draw and predict", "✏️"),
    ("pages/sweep.py", "Sweep", "🧭"),
    ("pages/inside.py", "Inside the network", "🔬"),
)


def setup_page(title: str, icon: str, layout: Literal["centered", "wide"] = "wide") -> None:
    """Set the page config, draw the labelled page list and the dataset picker, have the browser
    preload Plotly (:mod:`dashboard.chart_preload`) and, on the server's first script run, start
    its warm-up (:mod:`dashboard.warm_up`)."""
    st.set_page_config(page_title=f"{title} · MNIST Lab", page_icon=icon, layout=layout)
    warm_up.start_once()
    start_memory_releaser()
    linked = [page for page in PAGES if (APP_ROOT / page[0]).is_file()]
    with st.sidebar:
        st.markdown("### MNIST Lab")
        # Streamlit knows the pages only once the pages/ folder holds one.
        if len(linked) > 1:
            for path, label, page_icon in linked:
                st.page_link(path, label=label, icon=page_icon)
        st.divider()
        preload_plotly()
    render_dataset_picker()
