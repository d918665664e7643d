"""dashboard.disk_cache: results round-trip through .npz exactly; damaged, stale or pickled
files are ignored and rebuilt, never unpickled."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from dashboard import disk_cache
from nnlib import analysis
from nnlib.data import Dataset

NAMES = tuple(str(digit) for digit in range(10))


@pytest.fixture(autouse=True)
def lab_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_HOME", str(tmp_path / "lab"))
    return tmp_path / "lab"


def small_dataset(seed: int = 0, with_test: bool = True) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(120, 28, 28), dtype=np.uint8)
    y = np.arange(120) % 10
    xt, yt = (x[:30].copy(), y[:30].copy()) if with_test else (None, None)
    return Dataset("tiny", x, y, xt, yt, NAMES)


def assert_same(a, b) -> None:
    assert type(a) is type(b)
    for field in dataclasses.fields(a):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if dataclasses.is_dataclass(left):
            assert_same(left, right)
        elif left is None:
            assert right is None, field.name
        else:
            np.testing.assert_array_equal(np.asarray(left), np.asarray(right), err_msg=field.name)
            assert type(left) is type(right) or isinstance(left, np.ndarray), field.name


@pytest.mark.parametrize("with_test", [True, False])
def test_dataset_statistics_round_trip_exactly(with_test):
    stats = analysis.dataset_statistics(small_dataset(with_test=with_test))
    path = disk_cache.cache_path("stats", "abc")
    disk_cache.save(path, stats)
    assert path.parent == disk_cache.cache_folder()
    loaded = disk_cache.load(path, analysis.DatasetStatistics)
    assert_same(stats, loaded)
    assert (loaded.test_counts is None) is (not with_test)


def test_load_or_compute_computes_once_then_reads_the_file():
    calls = []

    def compute():
        calls.append(1)
        data = small_dataset()
        return analysis.pca_map(data.x_train, data.y_train, 50, seed=0)

    first = disk_cache.load_or_compute("map", "key-1", analysis.Map2D, compute)
    second = disk_cache.load_or_compute("map", "key-1", analysis.Map2D, compute)
    assert len(calls) == 1
    assert_same(first, second)
    disk_cache.load_or_compute("map", "key-2", analysis.Map2D, compute)   # another checksum: another file
    assert len(calls) == 2


@pytest.mark.parametrize("damage", ["truncated", "garbage", "pickled", "other class", "missing field"])
def test_a_damaged_or_stale_file_is_ignored_and_rebuilt(damage):
    data = small_dataset()
    expected = analysis.pca_map(data.x_train, data.y_train, 40, seed=0)
    path = disk_cache.cache_path("map", "k")
    disk_cache.save(path, expected)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "pickled":
        np.savez(path, indices=np.array([{"evil": 1}], dtype=object), __format__=np.array("x"))
    elif damage == "other class":
        disk_cache.save(path, analysis.box_stats(np.arange(10.0), np.arange(10) % 2, 2))
    else:
        arrays = disk_cache.to_arrays(expected)
        del arrays["coords"]
        np.savez(path, **arrays)
    assert disk_cache.load(path, analysis.Map2D) is None
    rebuilt = disk_cache.load_or_compute("map", "k", analysis.Map2D, lambda: expected)
    assert_same(rebuilt, expected)
    assert_same(disk_cache.load(path, analysis.Map2D), expected)   # the good result was written over it


def test_to_arrays_refuses_what_is_not_a_dataclass_of_arrays():
    with pytest.raises(TypeError, match="expected a dataclass instance, got dict"):
        disk_cache.to_arrays({"a": 1})

    @dataclasses.dataclass
    class Holder:
        thing: object

    with pytest.raises(TypeError, match="expected arrays and numbers in Holder.thing, got set"):
        disk_cache.to_arrays(Holder({1, 2}))


def test_an_unwritable_cache_folder_only_costs_the_saving(lab_home):
    lab_home.mkdir(parents=True)
    (lab_home / "cache").write_text("a file where the folder should be")
    data = small_dataset()
    result = disk_cache.load_or_compute("map", "k", analysis.Map2D,
                                        lambda: analysis.pca_map(data.x_train, data.y_train, 30, seed=0))
    assert result.coords.shape == (30, 2)


def test_dataset_checksum_changes_with_any_pixel_and_label():
    data = small_dataset()
    base = analysis.dataset_checksum(data)
    assert base == analysis.dataset_checksum(small_dataset())
    x = data.x_train.copy()
    x[77, 13, 13] ^= 1          # one pixel of one image
    assert analysis.dataset_checksum(Dataset("tiny", x, data.y_train, data.x_test, data.y_test, NAMES)) != base
    y = data.y_test.copy()
    y[3] = (y[3] + 1) % 10
    assert analysis.dataset_checksum(Dataset("tiny", data.x_train, data.y_train, data.x_test, y, NAMES)) != base
    assert analysis.dataset_checksum(small_dataset(with_test=False)) != base


def test_a_result_being_computed_elsewhere_is_waited_for_not_computed_again(lab_home):
    pytest.importorskip("fcntl")
    data = small_dataset()
    expected = analysis.pca_map(data.x_train, data.y_train, 20, seed=0)
    # Another process takes the result's lock, writes the result after a while, then lets go.
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time, numpy as np\n"
        "from dashboard import disk_cache\n"
        "from nnlib import analysis\n"
        "from tests.unit.test_disk_cache import small_dataset\n"
        "path = disk_cache.cache_path('map', 'k')\n"
        "path.parent.mkdir(parents=True, exist_ok=True)\n"
        "with path.with_suffix('.lock').open('a') as lock:\n"
        "    fcntl.flock(lock, fcntl.LOCK_EX)\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(1.0)\n"
        "    d = small_dataset()\n"
        "    disk_cache.save(path, analysis.pca_map(d.x_train, d.y_train, 20, seed=0))\n")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "MNIST_LAB_HOME": str(lab_home)})
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    computed = []
    result = disk_cache.load_or_compute("map", "k", analysis.Map2D, lambda: computed.append(1) or expected)
    assert holder.wait(30) == 0
    assert computed == [] and time.monotonic() - started > 0.5
    assert_same(result, expected)
