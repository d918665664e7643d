"""Streamlit-side helpers shared by the pages: state keys, cached loaders, figures, jobs."""
