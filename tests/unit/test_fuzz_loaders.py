"""Property-based fuzzing of every loader of untrusted files (Hypothesis).

For CSV, ``.npz`` and IDX datasets, pictures and model files, each example is a file made
from a valid one by hostile changes (wrong types and shapes, absurd declared sizes, cut or
flipped bytes, gzip wrapping) or from random bytes. The property: the loader returns a
valid dataset / picture / model, or raises nnlib's own error type, never anything else,
and its traced memory peak stays under ``MEMORY_BOUND`` (the inputs are tiny, so nothing
may be allocated from what a file merely declares).

Examples are derandomized (a fixed seed, the same every run) and bounded in number, so
the file runs in CI in well under 20 seconds.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from nnlib.data import Dataset, load_csv, load_idx_images, load_idx_labels, load_npz
from nnlib.errors import DatasetError, ImageFileError, ModelFileError
from nnlib.imaging import load_image
from nnlib.layers import Dense, ReLU
from nnlib.model import HEADER_KEY, Sequential

MEMORY_BOUND = 48 * 1024 * 1024
# CI: a fixed seed and 50 examples per loader. NNLIB_FUZZ_EXAMPLES=5000 NNLIB_FUZZ_RANDOM=1 hunts
# for new cases locally (a failure prints the example to add to test_hostile_files.py).
FUZZ = settings(derandomize=not os.environ.get("NNLIB_FUZZ_RANDOM"),
                max_examples=int(os.environ.get("NNLIB_FUZZ_EXAMPLES", "50")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CELLS = st.sampled_from(["0", "255", "128", "-1", "256", "3.5", "0.5", "1e309", "nan", "inf", "", " ", "abc",
                         "\"7\"", "9" * 5000, "1" * 40, "0x10", "٣", "1,2", "\x00"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8)


def within_memory(load, data, allowed: tuple[type[Exception], ...]):
    """``load(data)``, asserting it raises only ``allowed`` and stays under the memory bound."""
    tracemalloc.start()
    try:
        result = load(data)
    except allowed:
        result = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"peak {peak / 2**20:.0f} MiB"
    return result


def mutate_bytes(data: bytes, draw) -> bytes:
    """Cut, flip or splice the bytes of a valid file (or leave them)."""
    how = draw(st.sampled_from(["keep", "cut", "flip", "splice"]))
    if how == "keep" or not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    if how == "cut":
        return data[:at]
    if how == "flip":
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
    return data[:at] + draw(st.binary(max_size=64)) + data[at:]


def check_dataset(dataset: Dataset | None) -> None:
    if dataset is None:
        return
    assert dataset.x_train.dtype == np.uint8 and dataset.x_train.shape[1:] == (28, 28)
    assert len(dataset.x_train) >= 2 and dataset.y_train.shape == (len(dataset.x_train),)
    assert dataset.y_train.dtype == np.int64
    assert ((dataset.y_train >= 0) & (dataset.y_train < 10)).all() or (dataset.y_train == -1).all()


# ---------------------------------------------------------------------- CSV
@st.composite
def csv_files(draw) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    width = draw(st.sampled_from([785, 785, 785, 784, 3, 786]))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        cells = ["1"] + ["0"] * (width - 1)
        for index, value in draw(st.lists(st.tuples(st.integers(0, width - 1), CELLS), max_size=3)):
            cells[index] = value
        rows.append(",".join(cells))
    header = ",".join(["label"] + [f"pixel{i}" for i in range(width - 1)])
    text = "\n".join(([header] if draw(st.booleans()) else []) + rows) + draw(st.sampled_from(["\n", "", "\n\n"]))
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = gzip.compress(data)
    return mutate_bytes(data, draw)


@FUZZ
@given(csv_files())
def test_csv_loader_gives_a_dataset_or_a_dataset_error(data):
    check_dataset(within_memory(load_csv, data, (DatasetError,)))


# ---------------------------------------------------------------------- .npz
DTYPES = st.sampled_from(["uint8", "int16", "int64", "float32", "float64", "bool", "complex64", "<U2", ">f4"])


@st.composite
def npz_files(draw) -> bytes:
    n = draw(st.integers(0, 4))
    shape = draw(st.sampled_from([(n, 784), (n, 28, 28), (n, 27, 28), (n,), (n, 784, 1)]))
    with np.errstate(invalid="ignore"):  # NaN cast to an integer dtype: whatever it becomes is a case too
        x = np.full(shape, draw(st.sampled_from([0, 1, 0.5, 255, 300, -1, np.nan]))).astype(draw(DTYPES))
        y = np.asarray(draw(st.lists(st.sampled_from([0, 3, 9, 10, -1, 3.5, np.nan]), min_size=max(0, n - 1),
                                     max_size=n + 1))).astype(draw(DTYPES))
    arrays = {"x": x, "y": y}
    if draw(st.booleans()):
        del arrays[draw(st.sampled_from(["x", "y"]))]
    buffer = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buffer, **arrays)
    data = buffer.getvalue()
    if draw(st.integers(0, 4)) == 0:  # a member that declares far more than it holds
        data = huge_member_npz(draw(st.sampled_from([(10**9, 784), (2**40,), (10**6, 28, 28)])))
    return mutate_bytes(data, draw)


def huge_member_npz(shape: tuple[int, ...]) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.npy", header.getvalue())
        archive.writestr("y.npy", header.getvalue())
    return buffer.getvalue()


@FUZZ
@given(npz_files())
def test_npz_loader_gives_a_dataset_or_a_dataset_error(data):
    check_dataset(within_memory(load_npz, data, (DatasetError,)))


# ---------------------------------------------------------------------- IDX
@st.composite
def idx_files(draw) -> tuple[bool, bytes]:
    images = draw(st.booleans())
    magic = draw(st.sampled_from([0x803, 0x801, 0x802, 0xFFFFFFFF])) if draw(st.integers(0, 4)) == 0 \
        else (0x803 if images else 0x801)
    n = draw(st.integers(0, 5))
    declared = draw(st.sampled_from([n, n, 2**32 - 1, 10**6, n + 1]))
    dims = [declared, 28, 28] if images else [declared]
    if draw(st.integers(0, 5)) == 0:
        dims[-1] = draw(st.integers(0, 2**32 - 1))
    payload = bytes(draw(st.integers(0, 255)) for _ in range(3)) * ((n * (784 if images else 1)) // 3 + 1)
    data = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + payload
    if draw(st.booleans()):
        data = gzip.compress(data)
    return images, mutate_bytes(data, draw)


@FUZZ
@given(idx_files())
def test_idx_loader_gives_arrays_or_a_dataset_error(tmp_path_factory, case):
    images, data = case
    path = tmp_path_factory.mktemp("idx") / "file-idx-ubyte"
    path.write_bytes(data)
    result = within_memory(load_idx_images if images else load_idx_labels, path, (DatasetError,))
    if result is not None:
        assert result.shape[1:] == ((28, 28) if images else ())


# ---------------------------------------------------------------------- pictures
@st.composite
def picture_files(draw) -> bytes:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.binary(max_size=300))
    width, height = draw(st.integers(1, 80)), draw(st.integers(1, 80))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "1", "I", "F", "P", "LA"]))
    picture = Image.new(mode, (width, height))
    buffer = io.BytesIO()
    try:
        picture.save(buffer, format=draw(st.sampled_from(["PNG", "BMP", "GIF", "TIFF"])))
    except OSError:  # a mode this format cannot hold
        buffer = io.BytesIO()
        picture.save(buffer, format="TIFF")
    return mutate_bytes(buffer.getvalue(), draw)


@FUZZ
@given(picture_files())
def test_image_loader_gives_a_picture_or_an_image_error(data):
    picture = within_memory(load_image, data, (ImageFileError,))
    if picture is not None:
        assert picture.dtype == np.uint8 and picture.ndim in (2, 3) and min(picture.shape[:2]) >= 5


# ---------------------------------------------------------------------- models
@pytest.fixture(scope="module")
def model_parts() -> dict[str, np.ndarray]:
    buffer = io.BytesIO()
    Sequential([Dense(784, 6, rng=0), ReLU(), Dense(6, 10, rng=1)]).save(buffer)
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


HEADER_PATHS = [("format",), ("format_version",), ("dtype",), ("layers",), ("layers", 0), ("layers", 0, "kind"),
                ("layers", 0, "in_features"), ("layers", 0, "out_features"), ("layers", 2, "out_features"),
                ("metadata",), ("metadata", "preprocessing"), ("metadata", "class_names")]


@st.composite
def model_files(draw, parts: dict[str, np.ndarray]) -> bytes:
    arrays = dict(parts)
    header = json.loads(arrays[HEADER_KEY].tobytes())
    for path in draw(st.lists(st.sampled_from(HEADER_PATHS), max_size=2)):
        target = header
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = draw(JSON_VALUES | st.sampled_from([100_000, 10**9, -3, 0, "float16", "Conv2D"]))
        except (KeyError, IndexError, TypeError):
            pass
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(name for name in arrays if name != HEADER_KEY)))
        arrays[key] = np.zeros(draw(st.sampled_from([(3,), (784, 6), (6,), (2, 2, 2)])), dtype=draw(DTYPES))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return mutate_bytes(buffer.getvalue(), draw)


@FUZZ
@given(st.data())
def test_model_loader_gives_a_model_or_a_model_file_error(model_parts, data):
    model = within_memory(Sequential.load, data.draw(model_files(model_parts)), (ModelFileError,))
    if model is not None:
        assert model.n_classes is not None and model.input_size is not None
        assert all(np.isfinite(w).all() for w in model.weight_arrays())
