"""A user's own drawings with their true digits: the personal set that fine-tuning learns from.

Kept under ``$MNIST_LAB_HOME/personal/`` beside the run store: each drawing is one ``.npz``
(the 28x28 MNIST-style image, float32 0-1, and its label) and ``index.json`` lists them in
the order they were kept (id, label, time, file). Files are written atomically; loading
never unpickles (``allow_pickle=False``). UI-free: the Predict page and tests use it alike.
"""
from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .store import default_home

FOLDER = "personal"
INDEX_FILE = "index.json"
SIDE = 28
_WRITE_LOCK = threading.Lock()   # one writer of the index per server process


@dataclass(frozen=True)
class PersonalDrawing:
    """One kept drawing: its id, true digit, when it was kept and its file name."""

    id: str
    label: int
    created_at: float
    file: str


class PersonalSet:
    """The drawings under ``home/personal`` (``home``: ``MNIST_LAB_HOME`` by default)."""

    def __init__(self, home: str | os.PathLike | None = None) -> None:
        self.folder = Path(home if home is not None else default_home()).expanduser() / FOLDER
        self.index_path = self.folder / INDEX_FILE

    def entries(self) -> list[PersonalDrawing]:
        """Every kept drawing, oldest first (empty when nothing was kept yet)."""
        if not self.index_path.is_file():
            return []
        try:
            rows = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"the personal set's index {self.index_path} cannot be read: {error}") from None
        return [PersonalDrawing(str(r["id"]), int(r["label"]), float(r["created_at"]), str(r["file"])) for r in rows]

    def __len__(self) -> int:
        return len(self.entries())

    def add(self, image: np.ndarray, label: int) -> PersonalDrawing:
        """Keep a 28x28 image (values 0-1) with its true digit ``label``."""
        image = np.asarray(image, dtype=np.float32)
        if image.shape != (SIDE, SIDE):
            raise ValueError(f"expected a 28x28 image, got shape {image.shape}")
        if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
            raise ValueError("expected pixel values between 0 and 1")
        if not isinstance(label, (int, np.integer)) or not 0 <= int(label) <= 9:
            raise ValueError(f"expected a digit label 0-9, got {label!r}")
        entry = PersonalDrawing(secrets.token_hex(8), int(label), time.time(), "")
        entry = PersonalDrawing(entry.id, entry.label, entry.created_at, f"{entry.id}.npz")
        with _WRITE_LOCK:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f".{entry.id}.partial.npz"
            np.savez_compressed(partial, image=image, label=np.int64(entry.label))
            os.replace(partial, self.folder / entry.file)
            self._write_index(self.entries() + [entry])
        return entry

    def delete(self, drawing_id: str) -> None:
        """Forget one drawing (KeyError when no drawing has that id)."""
        with _WRITE_LOCK:
            entries = self.entries()
            kept = [entry for entry in entries if entry.id != drawing_id]
            if len(kept) == len(entries):
                raise KeyError(f"no personal drawing with id {drawing_id!r}")
            self._write_index(kept)
            removed = next(entry for entry in entries if entry.id == drawing_id)
            (self.folder / removed.file).unlink(missing_ok=True)

    def image(self, entry: PersonalDrawing) -> np.ndarray:
        """The 28x28 float32 image of one entry."""
        with np.load(self.folder / entry.file, allow_pickle=False) as archive:
            image = np.asarray(archive["image"], dtype=np.float32)
        if image.shape != (SIDE, SIDE):
            raise ValueError(f"{entry.file} holds an image of shape {image.shape}, not 28x28")
        return image

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All images ``(n, 28, 28)`` float32 and labels ``(n,)`` int64, oldest first."""
        entries = self.entries()
        if not entries:
            return np.empty((0, SIDE, SIDE), np.float32), np.empty(0, np.int64)
        return np.stack([self.image(entry) for entry in entries]), np.array([e.label for e in entries], np.int64)

    def _write_index(self, entries: list[PersonalDrawing]) -> None:
        partial = self.folder / f".{INDEX_FILE}.{os.getpid()}.partial"
        partial.write_text(json.dumps([asdict(entry) for entry in entries], indent=1), encoding="utf-8")
        os.replace(partial, self.index_path)
