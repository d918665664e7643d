"""dashboard.warm_up: the server's start-up work runs once, only when asked for, and leaves in
the disk cache exactly what the Explore page would compute."""
from __future__ import annotations

import threading

import numpy as np

from dashboard import disk_cache, explore_data, warm_up
from dashboard.data import cached_dataset
from nnlib import analysis


def test_without_the_variable_nothing_starts(monkeypatch):
    monkeypatch.delenv(warm_up.ENABLE_VARIABLE, raising=False)
    assert warm_up.start_once() is None


def test_the_thread_starts_once_per_server(monkeypatch):
    ran = []
    finished = threading.Event()
    monkeypatch.setenv(warm_up.ENABLE_VARIABLE, "1")
    monkeypatch.setattr(warm_up, "warm_everything", lambda: (ran.append(1), finished.set()))
    warm_up._warm_up_thread.clear()
    try:
        first = warm_up.start_once()
        assert warm_up.start_once() is first and first.name == warm_up.THREAD_NAME
        assert finished.wait(10)
        first.join(10)
        assert ran == [1]
    finally:
        warm_up._warm_up_thread.clear()


def test_warming_explore_writes_the_statistics_the_page_shows(lab_home):
    explore_data.dataset_statistics.clear()
    explore_data.pca_points.clear()
    warm_up.warm_explore()
    names = sorted(path.name for path in (lab_home / "cache").glob("*.npz"))
    assert [name.split("-")[0] for name in names] == ["dataset", "pca"], names
    dataset = cached_dataset("MNIST")
    checksum = analysis.dataset_checksum(dataset)
    stored = disk_cache.load(disk_cache.cache_path("dataset-statistics", checksum), analysis.DatasetStatistics)
    fresh = analysis.dataset_statistics(dataset)
    np.testing.assert_array_equal(stored.pixel_std, fresh.pixel_std)
    np.testing.assert_array_equal(stored.unusual_indices, fresh.unusual_indices)
    np.testing.assert_array_equal(stored.ink.median, fresh.ink.median)
    assert stored.n_test == fresh.n_test == 10_000
    stored_map = disk_cache.load(disk_cache.cache_path(f"pca-map-{explore_data.DEFAULT_MAP_SIZE}", checksum), analysis.Map2D)
    assert stored_map.coords.shape == (explore_data.DEFAULT_MAP_SIZE, 2)


def test_work_done_before_serving_leaves_no_thread_to_start(monkeypatch):
    ran = []
    monkeypatch.setenv(warm_up.ENABLE_VARIABLE, "1")
    monkeypatch.setattr(warm_up, "warm_everything", lambda: ran.append("now"))
    warm_up._warm_up_thread.clear()
    try:
        warm_up.warm_before_serving()
        assert ran == ["now"]
        assert warm_up.start_once() is None
    finally:
        warm_up._warmed_before_serving.clear()
        warm_up._warm_up_thread.clear()
