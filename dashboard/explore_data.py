"""What the Explore page shows about a dataset, computed once: in memory for the server's
life, and on disk (keyed by the data's checksum) across restarts.

The numbers come from :mod:`nnlib.analysis`; this module only keeps them. The start-up
warm-up (:mod:`dashboard.warm_up`) calls the same functions, so the page finds them ready.
"""
from __future__ import annotations

import streamlit as st

from nnlib import analysis
from nnlib.data import Dataset

from . import disk_cache

MAP_SIZES = (1000, 2000, 3000, 5000)
DEFAULT_MAP_SIZE = 1000


@st.cache_resource(show_spinner=False, max_entries=4)
def dataset_checksum(fingerprint: str, _dataset: Dataset) -> str:
    """The full checksum of a dataset, computed once per dataset (``fingerprint`` keys it)."""
    return analysis.dataset_checksum(_dataset)


# cache_resource: one read-only copy per server (cache_data would unpickle it on every run).
@st.cache_resource(show_spinner="Computing the dataset's statistics (once per dataset)...", max_entries=4)
def dataset_statistics(fingerprint: str, _dataset: Dataset) -> analysis.DatasetStatistics:
    """The dataset's statistics, from the disk cache when it holds them."""
    return disk_cache.load_or_compute("dataset-statistics", dataset_checksum(fingerprint, _dataset),
                                      analysis.DatasetStatistics, lambda: analysis.dataset_statistics(_dataset))


@st.cache_resource(show_spinner="Projecting the images onto two principal components...", max_entries=8)
def pca_points(fingerprint: str, n_points: int, _dataset: Dataset) -> analysis.Map2D:
    """The 2-D PCA map of ``n_points`` seeded training images, from the disk cache when it holds it."""
    return disk_cache.load_or_compute(f"pca-map-{n_points}", dataset_checksum(fingerprint, _dataset), analysis.Map2D,
                                      lambda: analysis.pca_map(_dataset.x_train, _dataset.y_train, n_points, seed=0))
