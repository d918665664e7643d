"""Runs: every training run in the store, from every session and tab, before a restart too.

Find runs (filters, sort), rename, tag, note or delete them, export the table, compare two
to five of them, and make any one the Predict page's model. The sections are drawn by
dashboard.runs_page; the store is experiments.store, opened by dashboard.jobs.
"""
from __future__ import annotations

import streamlit as st

from dashboard.page import setup_page

setup_page("Runs", "🗂️")

from dashboard import runs_page  # noqa: E402

st.title("🗂️ Runs")
st.markdown(
    "Every network trained here is kept: single runs, presets, the seed study and uploaded models, "
    "from any tab, even after the server restarts. Find them, name them, compare them, and pick the "
    "one that answers on the Predict page."
)

store, all_runs = runs_page.open_store()
runs_page.show_flash()
if not all_runs:
    runs_page.empty_store(store)
    st.stop()

shown = runs_page.filters(all_runs)
runs_page.runs_table(store, shown, len(all_runs))

st.subheader("One run")
runs_page.manage_run(store, shown)

st.subheader("Compare runs")
runs_page.compare(all_runs, shown)
