"""Datasets for MNIST Lab: the bundled MNIST, Fashion-MNIST, CSV and ``.npz`` files.

Every loader returns a :class:`Dataset`: images as ``uint8`` arrays of shape
``(n, 28, 28)`` (0 = background, 255 = ink), labels as ``int64`` of shape ``(n,)``,
and the names of the classes. Errors are :class:`~nnlib.errors.DatasetError` (a
``ValueError``) with a message that names the file and what is wrong with it, so the UI
can show it as it is. Every file is read within the limits of :mod:`nnlib.limits`, and
every loader's arrays pass the one set of rules of :mod:`nnlib.dataset_rules`.

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
import hashlib
import io
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .bounded_io import CheckedNpz, gunzip_bounded, read_bounded
from .dataset_rules import IMAGE_SIDE, PIXELS, checked_pair
from .errors import DatasetError
from .limits import MAX_CSV_BYTES, MAX_CSV_CELL_CHARS, MAX_DECOMPRESSED_BYTES, MAX_IMAGES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MNIST_DIR = PROJECT_ROOT / "data" / "mnist"
FASHION_MNIST_DIR = Path(
    os.environ.get("NNLIB_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
)

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801

DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

Source = str | os.PathLike | bytes | BinaryIO


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
    """Read a file, gunzipping it when it is gzip (by its magic bytes, not its name), both
    within :data:`~nnlib.limits.MAX_DECOMPRESSED_BYTES`."""
    raw = read_bounded(path, path.name, MAX_DECOMPRESSED_BYTES, DatasetError)
    return gunzip_bounded(raw, path.name, MAX_DECOMPRESSED_BYTES, DatasetError)


def _parse_idx(raw: bytes, name: str, expected_magic: int) -> np.ndarray:
    """Parse an IDX buffer, checking the magic number, dimensions and payload size."""
    if len(raw) < 8:
        raise DatasetError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        kind = "images" if expected_magic == IDX_IMAGES_MAGIC else "labels"
        raise DatasetError(
            f"{name}: wrong magic number 0x{magic:08x} for IDX {kind}, "
            f"expected 0x{expected_magic:08x}"
        )
    n_dims = magic & 0xFF
    header_len = 4 + 4 * n_dims
    if len(raw) < header_len:
        raise DatasetError(f"{name}: header truncated")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims)]
    if n_dims == 3 and dims[1:] != [IMAGE_SIDE, IMAGE_SIDE]:
        raise DatasetError(
            f"{name}: images are {dims[1]}x{dims[2]}, expected {IMAGE_SIDE}x{IMAGE_SIDE}"
        )
    if dims[0] > MAX_IMAGES:
        raise DatasetError(f"{name}: declares {dims[0]:,} items, more than the limit of {MAX_IMAGES:,}")
    expected = int(np.prod(dims))
    payload = len(raw) - header_len
    if payload != expected:
        raise DatasetError(
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
            raise DatasetError(f"{path}: file not found (listed in SHA256SUMS)")
        with path.open("rb") as stream:
            actual = hashlib.file_digest(stream, "sha256").hexdigest()  # in chunks, whatever the size
        if actual != digest:
            raise DatasetError(
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
        raise DatasetError(f"{folder}: no such folder")
    if verify:
        verify_checksums(folder)

    def find(stem: str) -> Path:
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                return candidate
        raise DatasetError(f"{folder}: missing {stem}.gz (or {stem})")

    n_classes = len(class_names)
    x_train, y_train = checked_pair(load_idx_images(find("train-images-idx3-ubyte")),
                                    load_idx_labels(find("train-labels-idx1-ubyte")),
                                    f"{folder.name} training set", n_classes)
    x_test, y_test = checked_pair(load_idx_images(find("t10k-images-idx3-ubyte")),
                                  load_idx_labels(find("t10k-labels-idx1-ubyte")),
                                  f"{folder.name} test set", n_classes, min_images=1)
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
        raise DatasetError(
            f"Fashion-MNIST not found in {root}: install Debian's dataset-fashion-mnist "
            "package or pass a folder holding its four IDX files"
        )
    return load_idx_folder(root, "Fashion-MNIST", FASHION_MNIST_CLASSES, verify=False)


# --------------------------------------------------------------------------- CSV

def _text_of(source: Source) -> tuple[str, str]:
    """Return (display name, decoded text) of a path, bytes or a binary file object.

    The file and its inflated text are refused beyond :data:`~nnlib.limits.MAX_CSV_BYTES`.
    """
    if isinstance(source, (bytes, bytearray)):
        name = "uploaded CSV"
    elif hasattr(source, "read"):
        name = str(getattr(source, "name", "uploaded CSV"))
    else:
        name = Path(source).name
    raw = read_bounded(source, name, MAX_CSV_BYTES, DatasetError)
    raw = gunzip_bounded(raw, name, MAX_CSV_BYTES, DatasetError)
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"{name}: not a text CSV file (it is not UTF-8)") from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def load_csv(source: Source, name: str = "Uploaded CSV", n_classes: int = 10) -> Dataset:
    """Load a Kaggle digit-recognizer style CSV: ``label,pixel0..pixel783`` or only pixels.

    All rows become the training set (a CSV has no separate test split); rows without
    a label column get label -1. Pixels and labels follow :mod:`nnlib.dataset_rules`;
    errors name the line at fault.
    """
    file_name, text = _text_of(source)
    first_line = text[:text.find("\n")] if "\n" in text else text
    if len(first_line) > (PIXELS + 1) * (MAX_CSV_CELL_CHARS + 1):
        raise DatasetError(f"{file_name}: the first line is {len(first_line):,} characters long; "
                           f"expected {PIXELS + 1} short columns")
    rows = csv.reader(io.StringIO(first_line))
    try:
        header = next(rows)
    except StopIteration:
        raise DatasetError(f"{file_name}: the file is empty") from None
    except csv.Error as exc:
        raise DatasetError(f"{file_name}: line 1 is not valid CSV ({exc})") from None
    has_header = not all(_is_number(h) for h in header if h.strip())
    width = len(header)
    if width == PIXELS + 1:
        has_label = True
    elif width == PIXELS:
        has_label = False
    else:
        raise DatasetError(
            f"{file_name}: expected {PIXELS + 1} columns (label + {PIXELS} pixels) "
            f"or {PIXELS} pixel columns, found {width}"
        )
    n_lines = text.count("\n") + (not text.endswith("\n"))
    if n_lines - has_header > MAX_IMAGES:
        raise DatasetError(f"{file_name}: {n_lines - has_header:,} rows, more than the limit of {MAX_IMAGES:,}")
    body_start = 2 if has_header else 1
    table = _fast_table(text, has_header, width)
    if table is None:
        table, line_numbers = _checked_table(text, width, body_start, file_name)
    else:
        line_numbers = np.arange(body_start, body_start + len(table))
    del text

    def where(index: int) -> str:
        return f"line {int(line_numbers[index])}"

    images, labels = checked_pair(table[:, 1:] if has_label else table, table[:, 0] if has_label else None,
                                  file_name, n_classes, where=where)
    return Dataset(name, images, labels, None, None, DIGIT_CLASSES)


def _fast_table(text: str, has_header: bool, width: int) -> np.ndarray | None:
    """The CSV's numbers by NumPy's C parser, or None when it rejects the file.

    The common case (plain integers, every row ``width`` wide) takes a fraction of the
    time of the line-by-line reader, in 2 bytes a number; plain decimals are read as
    float32. Anything unusual (quotes, a short row, text, a value too large, NaN) falls
    back to :func:`_checked_table`, whose errors name the line.
    """
    skip = 1 if has_header else 0
    for dtype in (np.int16, np.float32):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "input contained no data": the checked reader says so
                table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=dtype, comments=None,
                                   skiprows=skip, ndmin=2)
        except (ValueError, OverflowError):
            continue
        if table.shape[1] != width or len(table) == 0:
            return None
        if dtype == np.float32 and not np.isfinite(table).all():
            return None
        return table
    return None


def _checked_table(text: str, width: int, body_start: int, file_name: str) -> tuple[np.ndarray, np.ndarray]:
    """The CSV's numbers read row by row, checking each, and the line of each row.

    Errors name the line at fault. Rows go straight into a preallocated float32 table (its
    size bounded by the row limit); blank lines are skipped.
    """
    reader = csv.reader(io.StringIO(text))
    capacity = min(text.count("\n") + 1, MAX_IMAGES + 1)
    values = np.empty((capacity, width), dtype=np.float32)
    line_numbers = np.empty(capacity, dtype=np.int64)
    count = 0
    line_no = 0
    try:
        for line_no, row in enumerate(reader, start=1):
            if line_no < body_start or not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != width:
                raise DatasetError(f"{file_name}: line {line_no} has {len(row)} columns, expected {width}")
            if count >= MAX_IMAGES:
                raise DatasetError(f"{file_name}: more than the limit of {MAX_IMAGES:,} rows")
            values[count] = [_cell_value(cell, line_no, file_name) for cell in row]
            line_numbers[count] = line_no
            count += 1
    except csv.Error as exc:
        raise DatasetError(f"{file_name}: line {line_no + 1} is not valid CSV ({exc})") from None
    if count == 0:
        raise DatasetError(f"{file_name}: no data rows")
    return values[:count], line_numbers[:count]


def _cell_value(cell: str, line_no: int, file_name: str) -> float:
    """One CSV cell as a number; a message naming the line when it is not one."""
    text = cell.strip()
    if len(text) > MAX_CSV_CELL_CHARS:
        raise DatasetError(f"{file_name}: line {line_no} has a value {len(text):,} characters long "
                           f"(a number here has at most {MAX_CSV_CELL_CHARS})")
    try:
        value = float(text)
    except ValueError:
        raise DatasetError(f"{file_name}: line {line_no} has a non-numeric value {text[:20]!r}") from None
    if not math.isfinite(value):
        raise DatasetError(f"{file_name}: line {line_no} has a value {text!r} that is not a finite number")
    return value


# --------------------------------------------------------------------------- NPZ

def load_npz(source: str | os.PathLike | bytes | BinaryIO, name: str | None = None,
             n_classes: int = 10) -> Dataset:
    """Load ``x`` (n, 28, 28) or (n, 784) and ``y`` (n,) from an ``.npz`` (no pickle).

    Each member's declared shape and dtype are checked before it is loaded
    (:class:`~nnlib.bounded_io.CheckedNpz`); the arrays follow :mod:`nnlib.dataset_rules`.
    """
    if isinstance(source, (bytes, bytearray)):
        file_name = "uploaded .npz"
    elif hasattr(source, "read"):
        file_name = str(getattr(source, "name", "uploaded .npz"))
    else:
        file_name = Path(source).name
    with CheckedNpz(source, file_name, DatasetError) as archive:
        for key in ("x", "y"):
            if key not in archive.headers:
                raise DatasetError(f"{file_name}: missing array {key!r} (found {sorted(archive.headers)})")
        x_shape, y_shape = archive.headers["x"].shape, archive.headers["y"].shape
        if len(x_shape) not in (2, 3) or math.prod(x_shape[1:]) != PIXELS:
            raise DatasetError(f"{file_name}: x has shape {x_shape}, expected (n, 28, 28) or (n, 784)")
        if len(y_shape) != 1 or y_shape[0] != x_shape[0]:
            raise DatasetError(f"{file_name}: y has shape {y_shape}, expected ({x_shape[0]},)")
        if x_shape[0] > MAX_IMAGES:
            raise DatasetError(f"{file_name}: {x_shape[0]:,} images, more than the limit of {MAX_IMAGES:,}")
        x, y = archive.read("x"), archive.read("y")
    images, labels = checked_pair(x, y, file_name, n_classes)
    return Dataset(name or Path(str(file_name)).stem, images, labels, None, None, DIGIT_CLASSES)


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
        raise DatasetError(
            f"unknown dataset {str(name_or_path)!r}: use mnist, fashion-mnist, "
            "or a path to a folder of IDX files, a .csv or an .npz"
        )
    raise DatasetError(f"{path.name}: unsupported file type (use .csv, .npz or a folder of IDX files)")
