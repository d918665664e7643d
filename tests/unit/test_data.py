"""nnlib.data: the bundled MNIST and every loader, including broken files."""
from __future__ import annotations

import gzip
import io
import shutil

import numpy as np
import pytest

from nnlib import data
from nnlib.data import (
    load_csv,
    load_dataset,
    load_idx_folder,
    load_idx_images,
    load_idx_labels,
    load_mnist,
    load_npz,
)


def idx_images(images: np.ndarray) -> bytes:
    n, rows, cols = images.shape
    header = (0x803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, rows, cols))
    return header + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return (0x801).to_bytes(4, "big") + len(labels).to_bytes(4, "big") + labels.astype(np.uint8).tobytes()


@pytest.fixture()
def small_images():
    return np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)


def test_bundled_mnist_has_the_known_sizes_and_labels(mnist):
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.y_train.shape == (60_000,) and mnist.y_train.dtype == np.int64
    assert mnist.x_test.shape == (10_000, 28, 28)
    # The first training labels of MNIST are well known.
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(mnist.y_train).tolist()[1] == 6742
    assert mnist.class_names == tuple("0123456789")


def test_idx_roundtrip_raw_and_gzip(tmp_path, small_images):
    raw = tmp_path / "images-idx3-ubyte"
    raw.write_bytes(idx_images(small_images))
    zipped = tmp_path / "images-idx3-ubyte.gz"
    zipped.write_bytes(gzip.compress(idx_images(small_images)))
    assert np.array_equal(load_idx_images(raw), small_images)
    assert np.array_equal(load_idx_images(zipped), small_images)
    labels = tmp_path / "labels"
    labels.write_bytes(idx_labels(np.array([3, 1, 4, 1, 5])))
    assert load_idx_labels(labels).tolist() == [3, 1, 4, 1, 5]


def test_truncated_idx_names_the_file(tmp_path, small_images):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_images(small_images)[:-100])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: payload is .* truncated"):
        load_idx_images(path)


def test_wrong_magic_is_reported(tmp_path):
    path = tmp_path / "labels-as-images"
    path.write_bytes(idx_labels(np.arange(5)))
    with pytest.raises(ValueError, match="labels-as-images: wrong magic number 0x00000801"):
        load_idx_images(path)


def test_wrong_image_size_is_reported(tmp_path):
    path = tmp_path / "big-images"
    path.write_bytes(idx_images(np.zeros((2, 32, 32), np.uint8)))
    with pytest.raises(ValueError, match="big-images: images are 32x32, expected 28x28"):
        load_idx_images(path)


def test_damaged_gzip_is_reported(tmp_path, small_images):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_images(small_images))[:50])
    with pytest.raises(ValueError, match="x.gz: damaged gzip archive"):
        load_idx_images(path)


def test_damaged_bundled_file_fails_its_checksum(tmp_path):
    copy = tmp_path / "mnist"
    shutil.copytree(data.BUNDLED_MNIST_DIR, copy)
    target = copy / "t10k-labels-idx1-ubyte.gz"
    target.chmod(0o644)
    content = bytearray(target.read_bytes())
    content[-10] ^= 0xFF
    target.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        load_mnist(copy)


def test_folder_with_mismatched_counts(tmp_path, small_images):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_images(small_images))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_labels(np.arange(4)))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_images(small_images))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_labels(np.arange(5)))
    with pytest.raises(ValueError, match="training set: 5 images but 4 labels"):
        load_idx_folder(tmp_path, "tiny")


def csv_text(images: np.ndarray, labels: np.ndarray | None, header: bool = True) -> str:
    flat = images.reshape(len(images), -1)
    lines = []
    if header:
        names = ([] if labels is None else ["label"]) + [f"pixel{i}" for i in range(784)]
        lines.append(",".join(names))
    for i, row in enumerate(flat):
        cells = ([] if labels is None else [str(labels[i])]) + [str(v) for v in row]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def test_kaggle_csv_with_and_without_labels(small_images):
    labels = np.array([7, 2, 1, 0, 4])
    dataset = load_csv(csv_text(small_images, labels).encode())
    assert np.array_equal(dataset.x_train, small_images)
    assert dataset.y_train.tolist() == labels.tolist()
    assert not dataset.has_test
    unlabelled = load_csv(io.BytesIO(csv_text(small_images, None).encode()))
    assert np.array_equal(unlabelled.x_train, small_images)
    assert unlabelled.y_train.tolist() == [-1] * 5
    headerless = load_csv(csv_text(small_images, labels, header=False).encode())
    assert headerless.y_train.tolist() == labels.tolist()


def test_csv_the_fast_parser_rejects_is_read_by_the_checked_reader(small_images, monkeypatch):
    """Quoted cells and blank lines: NumPy's parser gives up, the line-by-line reader
    reads the same numbers; the fast parser is what reads a plain file."""
    import nnlib.data as data

    labels = np.array([7, 2, 1, 0, 4])
    quoted = csv_text(small_images, labels).replace("\n7,", '\n"7",').replace("\n2,", "\n\n2,")
    assert data._fast_table(quoted, True, 785) is None
    dataset = load_csv(quoted.encode())
    assert np.array_equal(dataset.x_train, small_images) and dataset.y_train.tolist() == labels.tolist()
    monkeypatch.setattr(data, "_checked_table", lambda *args: pytest.fail("plain CSV took the slow path"))
    assert np.array_equal(load_csv(csv_text(small_images, labels).encode()).x_train, small_images)


def test_csv_with_text_in_a_pixel_column_names_the_line(small_images):
    text = csv_text(small_images, np.arange(5)).splitlines()
    cells = text[3].split(",")
    cells[100] = "abc"
    text[3] = ",".join(cells)
    with pytest.raises(ValueError, match=r"line 4 has a non-numeric value 'abc'"):
        load_csv("\n".join(text).encode())


def test_csv_with_wrong_width_and_bad_values(small_images):
    with pytest.raises(ValueError, match="expected 785 columns .* found 3"):
        load_csv(b"label,a,b\n1,2,3\n")
    text = csv_text(small_images, np.arange(5)).replace("\n0,", "\n0,300,", 1)
    with pytest.raises(ValueError, match="line 2 has 786 columns, expected 785"):
        load_csv(text.encode())
    over = csv_text(small_images[:1] * 0, np.array([1])).replace("1,0,", "1,999,", 1)
    with pytest.raises(ValueError, match="pixel values must be 0-255"):
        load_csv(over.encode())
    with pytest.raises(ValueError, match="labels must be 0-9"):
        load_csv(csv_text(small_images[:1], np.array([12])).encode())
    with pytest.raises(ValueError, match="empty"):
        load_csv(b"")
    with pytest.raises(ValueError, match="not a text CSV"):
        load_csv(b"\xff\xfe\x00binary")


def test_npz_roundtrip_and_errors(tmp_path, small_images):
    good = tmp_path / "digits.npz"
    np.savez(good, x=small_images.reshape(5, 784), y=np.arange(5))
    dataset = load_npz(good)
    assert dataset.x_train.shape == (5, 28, 28) and dataset.name == "digits"
    assert np.array_equal(dataset.x_train, small_images)
    missing = tmp_path / "missing.npz"
    np.savez(missing, images=small_images)
    with pytest.raises(ValueError, match=r"missing.npz: missing array 'x'"):
        load_npz(missing)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x=np.array([{"a": 1}], dtype=object), y=np.arange(1))
    with pytest.raises(ValueError, match="pickled.npz: not a readable .npz"):
        load_npz(pickled)
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_npz(b"this is not a zip file")


def test_load_dataset_by_name_and_path(tmp_path, small_images):
    assert load_dataset("mnist").name == "MNIST"
    path = tmp_path / "mine.csv"
    path.write_text(csv_text(small_images, np.arange(5)))
    assert len(load_dataset(str(path)).x_train) == 5
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        load_dataset("nope")


def test_fashion_mnist_from_a_folder(tmp_path, small_images, monkeypatch):
    for stem, payload in [
        ("train-images-idx3-ubyte", idx_images(small_images)),
        ("train-labels-idx1-ubyte", idx_labels(np.arange(5))),
        ("t10k-images-idx3-ubyte", idx_images(small_images[:2])),
        ("t10k-labels-idx1-ubyte", idx_labels(np.arange(2))),
    ]:
        (tmp_path / f"{stem}.gz").write_bytes(gzip.compress(payload))
    monkeypatch.setattr(data, "FASHION_MNIST_DIR", tmp_path)
    assert "Fashion-MNIST" in data.available_datasets()
    fashion = data.load_fashion_mnist(tmp_path)
    assert fashion.class_names[9] == "Ankle boot" and len(fashion.x_test) == 2
    with pytest.raises(ValueError, match="Fashion-MNIST not found"):
        data.load_fashion_mnist(tmp_path / "nowhere")
