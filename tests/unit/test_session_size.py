"""What one session holds, counted: arrays and bytes once each, a few levels deep."""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field

import numpy as np
import pytest

from dashboard.session_size import DEFAULT_SESSION_MB, MEGABYTE, SESSION_LIMIT_ENV, held_bytes, megabytes, session_limit_bytes
from nnlib.builders import build_network
from nnlib.training import TrainConfig


@dataclass
class Details:
    name: str
    probabilities: np.ndarray
    history: dict[str, list[float]] = field(default_factory=dict)


class Holder:
    def __init__(self, *values: object) -> None:
        self.values = list(values)
        self.lock = threading.Lock()


class Slotted:
    __slots__ = ("weights",)

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights


def test_an_array_counts_its_buffer_and_a_view_of_it_counts_nothing_more():
    array = np.zeros((1000, 10), dtype=np.float32)
    assert held_bytes(array) == 40_000
    assert held_bytes([array, array[:10], array.T, array.reshape(-1)]) == 40_000


def test_bytes_and_arrays_over_them_count_once():
    payload = bytes(5000)
    assert held_bytes({"bytes": payload, "view": np.frombuffer(payload, dtype=np.uint8)}) == 5000
    assert held_bytes(bytearray(300)) == 300
    assert held_bytes(memoryview(payload)) == 5000


def test_dataclasses_plain_objects_and_slots_are_looked_into():
    details = Details("#1", np.ones((100, 10), dtype=np.float64), {"loss": [0.5] * 1000})
    assert held_bytes(details) == 8000
    assert held_bytes(Holder(details, Slotted(np.ones(50, dtype=np.int64)))) == 8400


def test_numbers_strings_threads_and_locks_count_nothing():
    thread = threading.Thread(target=lambda: None)
    assert held_bytes([1, 2.5, "x" * 10_000, None, True, np.float32(3), thread, threading.Event()]) == 0


def test_a_cycle_ends_and_shared_arrays_count_once_across_calls():
    array = np.zeros(1000, dtype=np.uint8)
    first, second = Holder(array), Holder(array)
    first.values.append(second)
    second.values.append(first)
    assert held_bytes(first) == 1000
    seen: set[int] = set()
    assert held_bytes(first, seen=seen) == 1000
    assert held_bytes(Holder(array), seen=seen) == 0


def test_what_lies_deeper_than_the_depth_is_not_counted():
    nested = [[[np.zeros(100, dtype=np.uint8)]]]
    assert held_bytes(nested, depth=3) == 100
    assert held_bytes(nested, depth=2) == 0
    with pytest.raises(ValueError, match="depth must be 0 or more"):
        held_bytes(nested, depth=-1)


def test_streamlit_upload_widgets_are_not_the_sessions_own():
    from streamlit.proto.Common_pb2 import FileURLs
    from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

    record = UploadedFileRec(file_id="a", name="train.csv", type="text/csv", data=bytes(10_000))
    assert held_bytes({"widget": UploadedFile(record, FileURLs())}) == 0
    assert held_bytes(io.BytesIO(bytes(10))) == 0


def test_a_model_counts_its_parameters_and_gradients():
    model = build_network(TrainConfig(hidden_sizes=(32,), seed=0), input_size=784, n_classes=10)
    parameters = (784 * 32 + 32 + 32 * 10 + 10) * 4   # float32
    assert held_bytes({"runs": [Holder(model)]}) >= 2 * parameters


def test_the_limit_comes_from_the_environment_in_megabytes():
    assert session_limit_bytes({}) == DEFAULT_SESSION_MB * MEGABYTE
    assert session_limit_bytes({SESSION_LIMIT_ENV: "0.5"}) == MEGABYTE // 2
    assert session_limit_bytes({SESSION_LIMIT_ENV: " 40 "}) == 40 * MEGABYTE
    for bad in ("lots", "0", "-3", "nan"):
        with pytest.raises(ValueError, match=SESSION_LIMIT_ENV):
            session_limit_bytes({SESSION_LIMIT_ENV: bad})
    assert megabytes(3 * MEGABYTE // 2) == "1.5 MB" and megabytes(2500 * MEGABYTE) == "2,500.0 MB"
    assert megabytes(MEGABYTE // 50) == "0.02 MB"
