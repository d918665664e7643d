"""Shared fixtures: the bundled MNIST, loaded once per test session."""
from __future__ import annotations

import os

# One BLAS thread per process: the suite's tiny matrices gain nothing from more, and on a
# 2-core machine running a Streamlit server and Chromium beside pytest, OpenBLAS's
# spinning threads made small training runs about 5x slower. Set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST dataset (60,000 + 10,000 images)."""
    from nnlib.data import load_mnist

    return load_mnist()
