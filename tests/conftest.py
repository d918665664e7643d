"""Shared fixtures: the bundled MNIST, loaded once per test session."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST dataset (60,000 + 10,000 images)."""
    from nnlib.data import load_mnist

    return load_mnist()
