"""Reading untrusted files within a memory bound: whole files, gzip streams and ``.npz`` archives.

Every reader here checks a size before it allocates it: a file's size before reading it,
the inflated size of a gzip stream as it inflates (a 1 MB gzip can hold 1 GiB of zeros),
and each ``.npz`` member's shape and dtype from its ``.npy`` header before loading the
array. Errors are raised as the caller's own error type (``DatasetError`` or
``ModelFileError``), with a message naming the file and the limit.
"""
from __future__ import annotations

import io
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from .limits import MAX_ARCHIVE_MEMBERS, MAX_ARRAY_BYTES, megabytes

Source = str | os.PathLike | bytes | bytearray | BinaryIO
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")   # a zip with members, an empty zip
NPY_MAGIC = b"\x93NUMPY"
INFLATE_CHUNK = 1 << 20
# dtype kinds an array of numbers may have: bool, signed and unsigned integers, floats.
NUMERIC_KINDS = frozenset("biuf")


def read_bounded(source: Source, label: str, limit: int, error: type[ValueError]) -> bytes:
    """The bytes of a path, a bytes object or a binary file, refused beyond ``limit`` bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif hasattr(source, "read"):
        read = source.read(limit + 1)
        raw = read.encode("utf-8") if isinstance(read, str) else bytes(read)
    else:
        path = Path(source)
        if not path.is_file():
            raise error(f"{path}: file not found")
        if path.stat().st_size > limit:
            raise error(f"{label}: the file is {megabytes(path.stat().st_size)}, more than the limit of "
                        f"{megabytes(limit)}")
        raw = path.read_bytes()
    if len(raw) > limit:
        raise error(f"{label}: the file is more than the limit of {megabytes(limit)}")
    return raw


def gunzip_bounded(raw: bytes, label: str, limit: int, error: type[ValueError]) -> bytes:
    """``raw`` inflated when it is gzip (by its magic bytes), refused once it passes ``limit``.

    Inflates in chunks, so a gzip bomb costs at most ``limit`` bytes before it is refused.
    Concatenated gzip members are read one after the other, as ``gzip`` does.
    """
    if raw[:2] != GZIP_MAGIC:
        return raw
    parts: list[bytes] = []
    total = 0
    pending = raw
    while pending[:2] == GZIP_MAGIC:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = pending
        try:
            while True:
                chunk = inflater.decompress(data, INFLATE_CHUNK)
                total += len(chunk)
                if total > limit:
                    raise error(f"{label}: it inflates to more than the limit of {megabytes(limit)} "
                                "(a gzip bomb, or a dataset too large for this server)")
                parts.append(chunk)
                data = inflater.unconsumed_tail
                if inflater.eof or not data:
                    break
        except zlib.error as exc:
            raise error(f"{label}: damaged gzip archive ({exc})") from None
        if not inflater.eof:
            raise error(f"{label}: damaged gzip archive: it is truncated (it ends before its end marker)")
        pending = inflater.unused_data
    return b"".join(parts)


# --------------------------------------------------------------------------- .npz

@dataclass(frozen=True)
class ArrayHeader:
    """What a ``.npy`` member declares before its data: shape and dtype."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def n_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class CheckedNpz:
    """A ``.npz`` archive opened without loading anything: each member's ``.npy`` header is
    read and checked (a ``.npy`` member, a numeric dtype, at most ``max_array_bytes``)
    when the archive opens; :meth:`read` then loads one member (never unpickling).

    Use as a context manager. ``error`` is the exception type raised for a bad archive.
    """

    def __init__(self, source: Source, label: str, error: type[ValueError],
                 max_array_bytes: int = MAX_ARRAY_BYTES) -> None:
        self.label, self.error = label, error
        self.headers: dict[str, ArrayHeader] = {}
        handle = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) else source
        if isinstance(handle, (str, os.PathLike)):
            path = Path(handle)
            if not path.is_file():
                raise error(f"{label}: file not found")
            with path.open("rb") as opened:
                self._check_signature(opened.read(8))
        else:
            start = handle.tell()
            self._check_signature(handle.read(8))
            handle.seek(start)
        try:
            self.zip = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise error(f"{label}: not a readable .npz archive: a damaged or truncated zip file ({exc})") from None
        try:
            self._read_headers(max_array_bytes)
        except BaseException:
            self.zip.close()
            raise

    def _check_signature(self, start: bytes) -> None:
        if start.startswith(NPY_MAGIC):
            raise self.error(f"{self.label} holds a single .npy array, not a .npz archive")
        if not start.startswith(ZIP_MAGICS):
            raise self.error(f"{self.label}: not a readable .npz: it is not a .npz archive "
                             f"(no zip signature; it starts with {start[:8]!r})")

    def _read_headers(self, max_array_bytes: int) -> None:
        infos = self.zip.infolist()
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise self.error(f"{self.label}: {len(infos)} members, more than the limit of {MAX_ARCHIVE_MEMBERS}")
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise self.error(f"{self.label}: member {info.filename[:60]!r} is not a .npy array "
                                 "(a .npz holds only .npy arrays)")
            name = info.filename[:-4]
            header = self._member_header(info)
            if header.dtype.hasobject or header.dtype.kind not in NUMERIC_KINDS:
                what = "Python objects (pickled data, never loaded)" if header.dtype.hasobject \
                    else f"dtype {header.dtype.str!r}"
                raise self.error(f"{self.label}: not a readable .npz: array {name!r} holds {what}; "
                                 "expected numbers")
            if header.n_bytes > max_array_bytes:
                raise self.error(f"{self.label}: array {name!r} declares shape {header.shape} of "
                                 f"{header.dtype.name}, {megabytes(header.n_bytes)}, more than the limit of "
                                 f"{megabytes(max_array_bytes)}")
            self.headers[name] = header

    def _member_header(self, info: zipfile.ZipInfo) -> ArrayHeader:
        name = info.filename[:-4]
        try:
            with self.zip.open(info) as member:
                version = npy_format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = npy_format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _, dtype = npy_format.read_array_header_2_0(member)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
        except Exception as exc:  # NumPy parses the header's Python literal: any failure means damaged
            raise self.error(f"{self.label}: array {name!r} is damaged or not a .npy array "
                             f"({type(exc).__name__}: {str(exc)[:120]})") from None
        return ArrayHeader(tuple(int(size) for size in shape), np.dtype(dtype))

    @property
    def files(self) -> list[str]:
        """The array names, in the archive's order."""
        return list(self.headers)

    def read(self, name: str) -> np.ndarray:
        """Load the array ``name`` (its header was checked when the archive opened)."""
        if name not in self.headers:
            raise self.error(f"{self.label}: missing array {name!r} (found {sorted(self.headers)})")
        try:
            with self.zip.open(f"{name}.npy") as member:
                array = npy_format.read_array(member, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise self.error(f"{self.label}: array {name!r} is damaged ({exc})") from None
        if array.shape != self.headers[name].shape:
            raise self.error(f"{self.label}: array {name!r} is damaged (its data does not match its header)")
        return array

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> CheckedNpz:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
