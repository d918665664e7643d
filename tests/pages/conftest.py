"""Page tests: each test gets a fresh job registry (no job of an earlier test queues ahead)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_job_registry():
    """Stop the jobs an earlier test left and drop the cached registry before each test."""
    from dashboard.jobs import get_registry

    get_registry().stop_all(timeout=30)
    get_registry.clear()
    yield
