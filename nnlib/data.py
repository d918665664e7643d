"""Datasets for MNIST Lab: the bundled MNIST, Fashion-MNIST, CSV and ``.npz`` files.

Every loader returns a :class:`Dataset`: images as ``uint8`` arrays of shape
``(n, 28, 28)`` (0 = background, 255 = ink), labels as ``int64`` of shape ``(n,)``,
and the names of the classes. Errors are ``ValueError`` with a message that names
the file and what is wrong with it, so the UI can show it as it is.

Formats:
- IDX, the original MNIST format (gzip or raw): big-endian magic ``0x00000803``
  then three int32 dimensions for images, ``0x00000801`` then one for labels,
  then the uint8 payload.
- CSV in the style of Kaggle's digit-recognizer ``train.csv``: a header row, then
  ``label,pixel0..pixel783`` (the label column may be absent, as in ``test.csv``).
- ``.npz`` with arrays ``x`` (n, 28, 28) or (n, 784) and ``y`` (n,), loaded with
  ``allow_pickle=False``.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Union

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MNIST_DIR = PROJECT_ROOT / "data" / "mnist"
FASHION_MNIST_DIR = Path(
    os.environ.get("NNLIB_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
)

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801

DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

Source = Union[str, os.PathLike, bytes, BinaryIO]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images and labels of one dataset, split into train and (optionally) test."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_test(self) -> bool:
        return self.x_test is not None and self.y_test is not None

    def __repr__(self) -> str:
        test = f", test={len(self.x_test)}" if self.has_test else ""
        return f"Dataset({self.name!r}, train={len(self.x_train)}{test}, classes={self.n_classes})"


# --------------------------------------------------------------------------- IDX

def _read_bytes(path: Path) -> bytes:
    """Read a file, gunzipping it when it is gzip (by its magic bytes, not its name)."""
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path.name}: damaged gzip archive ({exc})") from None
    return raw


def _parse_idx(raw: bytes, name: str, expected_magic: int) -> np.ndarray:
    """Parse an IDX buffer, checking the magic number, dimensions and payload size."""
    if len(raw) < 8:
        raise ValueError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        kind = "images" if expected_magic == IDX_IMAGES_MAGIC else "labels"
        raise ValueError(
            f"{name}: wrong magic number 0x{magic:08x} for IDX {kind}, "
            f"expected 0x{expected_magic:08x}"
        )
    n_dims = magic & 0xFF
    header_len = 4 + 4 * n_dims
    if len(raw) < header_len:
        raise ValueError(f"{name}: header truncated")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims)]
    if n_dims == 3 and dims[1:] != [IMAGE_SIDE, IMAGE_SIDE]:
        raise ValueError(
            f"{name}: images are {dims[1]}x{dims[2]}, expected {IMAGE_SIDE}x{IMAGE_SIDE}"
        )
    expected = int(np.prod(dims))
    payload = len(raw) - header_len
    if payload != expected:
        raise ValueError(
            f"{name}: payload is {payload} bytes but the header ({' x '.join(map(str, dims))}) "
            f"says {expected}; the file is truncated or damaged"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims).copy()


def load_idx_images(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX image file (gzip or raw) into ``uint8 (n, 28, 28)``."""
    path = Path(path)
    return _parse_idx(_read_bytes(path), path.name, IDX_IMAGES_MAGIC)


def load_idx_labels(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX label file (gzip or raw) into ``int64 (n,)``."""
    path = Path(path)
    return _parse_idx(_read_bytes(path), path.name, IDX_LABELS_MAGIC).astype(np.int64)


def _check_pair(images: np.ndarray, labels: np.ndarray, what: str) -> None:
    if len(images) != len(labels):
        raise ValueError(f"{what}: {len(images)} images but {len(labels)} labels")


def verify_checksums(folder: str | os.PathLike) -> None:
    """Check every file listed in ``folder/SHA256SUMS``; raise naming the damaged file."""
    folder = Path(folder)
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        return
    for line in sums.read_text().splitlines():
        if not line.strip():
            continue
        digest, filename = line.split(maxsplit=1)
        filename = filename.lstrip("*")
        path = folder / filename
        if not path.is_file():
            raise ValueError(f"{path}: file not found (listed in SHA256SUMS)")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise ValueError(
                f"{path}: checksum mismatch, the file is damaged "
                f"(sha256 {actual[:12]}..., expected {digest[:12]}...)"
            )


def load_idx_folder(
    folder: str | os.PathLike,
    name: str,
    class_names: tuple[str, ...] = DIGIT_CLASSES,
    verify: bool = True,
) -> Dataset:
    """Load the four MNIST-layout IDX files (``train-images-idx3-ubyte[.gz]`` ...) of a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder")
    if verify:
        verify_checksums(folder)

    def find(stem: str) -> Path:
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                return candidate
        raise ValueError(f"{folder}: missing {stem}.gz (or {stem})")

    x_train = load_idx_images(find("train-images-idx3-ubyte"))
    y_train = load_idx_labels(find("train-labels-idx1-ubyte"))
    x_test = load_idx_images(find("t10k-images-idx3-ubyte"))
    y_test = load_idx_labels(find("t10k-labels-idx1-ubyte"))
    _check_pair(x_train, y_train, f"{folder.name} training set")
    _check_pair(x_test, y_test, f"{folder.name} test set")
    return Dataset(name, x_train, y_train, x_test, y_test, class_names)


def load_mnist(root: str | os.PathLike = BUNDLED_MNIST_DIR, verify: bool = True) -> Dataset:
    """The bundled MNIST: 60,000 training and 10,000 test digits, checksums verified."""
    return load_idx_folder(root, "MNIST", DIGIT_CLASSES, verify=verify)


def fashion_mnist_available(root: str | os.PathLike | None = None) -> bool:
    """Whether Fashion-MNIST's IDX files are installed (Debian's ``dataset-fashion-mnist``)."""
    root = Path(FASHION_MNIST_DIR if root is None else root)
    return any((root / f"train-images-idx3-ubyte{ext}").is_file() for ext in (".gz", ""))


def load_fashion_mnist(root: str | os.PathLike | None = None) -> Dataset:
    """Fashion-MNIST from Debian's package folder or any folder of its IDX files."""
    root = FASHION_MNIST_DIR if root is None else root
    if not fashion_mnist_available(root):
        raise ValueError(
            f"Fashion-MNIST not found in {root}: install Debian's dataset-fashion-mnist "
            "package or pass a folder holding its four IDX files"
        )
    return load_idx_folder(root, "Fashion-MNIST", FASHION_MNIST_CLASSES, verify=False)


# --------------------------------------------------------------------------- CSV

def _text_of(source: Source) -> tuple[str, str]:
    """Return (display name, decoded text) of a path, bytes or a binary file object."""
    if isinstance(source, (bytes, bytearray)):
        name, raw = "uploaded CSV", bytes(source)
    elif hasattr(source, "read"):
        name = getattr(source, "name", "uploaded CSV")
        raw = source.read()
        if isinstance(raw, str):
            return name, raw
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{path}: file not found")
        name, raw = path.name, path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not a text CSV file (it is not UTF-8)") from None


def load_csv(source: Source, name: str = "Uploaded CSV", n_classes: int = 10) -> Dataset:
    """Load a Kaggle digit-recognizer style CSV: ``label,pixel0..pixel783`` or only pixels.

    All rows become the training set (a CSV has no separate test split); rows without
    a label column get label -1. Pixel values must be integers 0-255.
    """
    file_name, text = _text_of(source)
    rows = csv.reader(io.StringIO(text))
    try:
        header = next(rows)
    except StopIteration:
        raise ValueError(f"{file_name}: the file is empty") from None
    header = [h.strip().lower() for h in header]
    has_header = not all(h.lstrip("-").isdigit() for h in header if h)
    if has_header:
        body_start = 2
        data_rows = rows
        width = len(header)
    else:
        body_start = 1
        data_rows = _chain_first(header, rows)
        width = len(header)
    if width == PIXELS + 1:
        has_label = True
    elif width == PIXELS:
        has_label = False
    else:
        raise ValueError(
            f"{file_name}: expected {PIXELS + 1} columns (label + {PIXELS} pixels) "
            f"or {PIXELS} pixel columns, found {width}"
        )
    table = _fast_table(text, has_header, width)
    if table is None:
        table = _checked_table(data_rows, width, body_start, file_name)
    pixels = table[:, 1:] if has_label else table
    if pixels.min() < 0 or pixels.max() > 255:
        row = int(np.argwhere((pixels < 0) | (pixels > 255))[0, 0]) + body_start
        raise ValueError(f"{file_name}: pixel values must be 0-255 (line {row})")
    if has_label:
        labels = table[:, 0]
        if labels.min() < 0 or labels.max() >= n_classes:
            row = int(np.argwhere((labels < 0) | (labels >= n_classes))[0, 0]) + body_start
            raise ValueError(f"{file_name}: labels must be 0-{n_classes - 1} (line {row})")
    else:
        labels = np.full(len(table), -1, dtype=np.int64)
    images = pixels.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    return Dataset(name, images, labels.astype(np.int64), None, None, DIGIT_CLASSES)


def _fast_table(text: str, has_header: bool, width: int) -> np.ndarray | None:
    """The CSV's numbers by NumPy's C parser, or None when it rejects the file.

    The common case (plain integers, every row ``width`` wide) takes a fraction of the
    time of the line-by-line reader; anything unusual (quotes, a short row, text, a
    value too large) falls back to :func:`_checked_table`, whose errors name the line.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": the checked reader says so
            table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int32, comments=None,
                               skiprows=1 if has_header else 0, ndmin=2)
    except (ValueError, OverflowError):
        return None
    if table.shape[1] != width or len(table) == 0:
        return None
    return table


def _checked_table(data_rows: Iterable[list[str]], width: int, body_start: int, file_name: str) -> np.ndarray:
    """The CSV's numbers read row by row, checking each: errors name the line at fault."""
    values: list[list[int]] = []
    for line_no, row in enumerate(data_rows, start=body_start):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != width:
            raise ValueError(
                f"{file_name}: line {line_no} has {len(row)} columns, expected {width}"
            )
        try:
            values.append([int(cell) for cell in row])
        except ValueError:
            bad = next(c for c in row if not c.strip().lstrip("-").isdigit())
            raise ValueError(
                f"{file_name}: line {line_no} has a non-numeric value {bad.strip()[:20]!r}"
            ) from None
    if not values:
        raise ValueError(f"{file_name}: no data rows")
    return np.asarray(values, dtype=np.int64)


def _chain_first(first: list[str], rest):
    yield first
    yield from rest


# --------------------------------------------------------------------------- NPZ

def load_npz(source: str | os.PathLike | bytes | BinaryIO, name: str | None = None) -> Dataset:
    """Load ``x`` (n, 28, 28) or (n, 784) uint8 and ``y`` (n,) from an ``.npz`` (no pickle)."""
    handle: str | os.PathLike | BinaryIO
    if isinstance(source, (bytes, bytearray)):
        file_name, handle = "uploaded .npz", io.BytesIO(source)
    elif hasattr(source, "read"):
        file_name, handle = getattr(source, "name", "uploaded .npz"), source
    else:
        file_name, handle = Path(source).name, source
    try:
        with np.load(handle, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{file_name}: not a readable .npz archive ({exc})") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise ValueError(f"{file_name}: missing array {key!r} (found {sorted(arrays)})")
    x, y = arrays["x"], arrays["y"]
    if x.ndim == 2 and x.shape[1] == PIXELS:
        x = x.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    if x.ndim != 3 or x.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"{file_name}: x has shape {x.shape}, expected (n, 28, 28) or (n, 784)")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{file_name}: y has shape {y.shape}, expected ({len(x)},)")
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.number) or x.min() < 0 or x.max() > 255:
            raise ValueError(f"{file_name}: x must hold pixel values 0-255")
        x = np.rint(x).astype(np.uint8)
    return Dataset(name or Path(str(file_name)).stem, x, y.astype(np.int64), None, None, DIGIT_CLASSES)


# --------------------------------------------------------------------------- registry

def available_datasets() -> list[str]:
    """Names of the datasets that can be loaded on this machine, bundled MNIST first."""
    names = ["MNIST"]
    if fashion_mnist_available():
        names.append("Fashion-MNIST")
    return names


def load_dataset(name_or_path: str | os.PathLike) -> Dataset:
    """Load a dataset by name (``mnist``, ``fashion-mnist``) or by path (folder, .csv, .npz)."""
    key = str(name_or_path).strip().lower().replace("_", "-")
    if key == "mnist":
        return load_mnist()
    if key in ("fashion-mnist", "fashionmnist", "fashion"):
        return load_fashion_mnist()
    path = Path(name_or_path)
    if path.is_dir():
        return load_idx_folder(path, path.name)
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith((".csv", ".csv.gz")):
        return load_csv(path, name=path.name)
    if suffixes.endswith(".npz"):
        return load_npz(path)
    if not path.exists():
        raise ValueError(
            f"unknown dataset {str(name_or_path)!r}: use mnist, fashion-mnist, "
            "or a path to a folder of IDX files, a .csv or an .npz"
        )
    raise ValueError(f"{path.name}: unsupported file type (use .csv, .npz or a folder of IDX files)")
