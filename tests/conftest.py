"""Shared fixtures: the bundled MNIST, loaded once per test session."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# One BLAS thread per process: the suite's tiny matrices gain nothing from more, and on a
# 2-core machine running a Streamlit server and Chromium beside pytest, OpenBLAS's
# spinning threads made small training runs about 5x slower. Set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The suite never writes the user's run store (lab-data/): every run goes to a throw-away one.
_TEST_LAB_HOME = tempfile.mkdtemp(prefix="mnist-lab-test-home-")
os.environ["MNIST_LAB_HOME"] = _TEST_LAB_HOME
atexit.register(shutil.rmtree, _TEST_LAB_HOME, ignore_errors=True)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST dataset (60,000 + 10,000 images)."""
    from nnlib.data import load_mnist

    return load_mnist()
