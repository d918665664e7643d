"""What every page does first: page config, the navigation and the shared sidebar."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from .data import render_dataset_picker

APP_ROOT = Path(__file__).resolve().parent.parent

# (file relative to the app root, label, icon); a page is linked once its file exists.
PAGES = (
    ("app.py", "Home", "🏠"),
    ("pages/explore.py", "Explore the data", "🔍"),
    ("pages/preprocess.py", "Preprocess", "🧪"),
    ("pages/train.py", "Train a network", "🏋️"),
    ("pages/predict.py", "Draw and predict", "✏️"),
)


def setup_page(title: str, icon: str, layout: str = "wide") -> None:
    """Set the page config, draw the labelled page list and the dataset picker."""
    st.set_page_config(page_title=f"{title} · MNIST Lab", page_icon=icon, layout=layout)
    with st.sidebar:
        st.markdown("### MNIST Lab")
        for path, label, page_icon in PAGES:
            if (APP_ROOT / path).is_file():
                st.page_link(path, label=label, icon=page_icon)
        st.divider()
    render_dataset_picker()
