"""Page tests: each test gets a fresh job registry (no job of an earlier test queues ahead)
and its own run store (no test sees another's runs)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_job_registry():
    """Stop the jobs an earlier test left and drop the cached registry before each test."""
    from dashboard.jobs import get_registry

    get_registry().stop_all(timeout=30)
    get_registry.clear()
    yield


@pytest.fixture(autouse=True)
def lab_home(tmp_path, monkeypatch, fresh_job_registry):
    """A run store of the test's own (``MNIST_LAB_HOME`` in its temporary folder); its path."""
    from dashboard.jobs import reset_store

    home = tmp_path / "lab-home"
    monkeypatch.setenv("MNIST_LAB_HOME", str(home))
    reset_store()
    yield home
    reset_store()
