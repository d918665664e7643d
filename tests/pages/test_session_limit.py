"""A session's byte limit ($MNIST_LAB_SESSION_MB): the oldest run details go first, with a
message naming the limit and the runs; what cannot fit is refused and nothing else is lost."""
from __future__ import annotations

import io

from dashboard import jobs, state
from dashboard.session_size import MEGABYTE, SESSION_LIMIT_ENV, held_bytes
from nnlib.builders import build_network
from nnlib.training import TrainConfig

from .test_train import open_train, texts


def model_file(seed: int, width: int = 32) -> bytes:
    """An untrained [784, width, 10] model as the .npz a user uploads."""
    out = io.BytesIO()
    build_network(TrainConfig(hidden_sizes=(width,), seed=seed), input_size=784, n_classes=10).save(out)
    return out.getvalue()


def upload(at, name: str, payload: bytes) -> None:
    at.file_uploader(key=state.TRAIN_MODEL_UPLOAD).set_value((name, payload, "application/octet-stream")).run()
    assert not at.exception


def session_names(at) -> list[str]:
    return [run.name for run in at.session_state[state.RUNS]]


def test_past_the_limit_the_oldest_run_details_go_with_a_message_and_too_big_a_run_is_refused(monkeypatch):
    at = open_train(1000)
    upload(at, "a.npz", model_file(1))
    run_bytes = held_bytes(at.session_state[state.RUNS][0])
    assert run_bytes > 2 * (784 * 32 + 32 + 330) * 4   # its parameters and their gradients at least
    # Room for two such runs and what else the session holds, not for three.
    monkeypatch.setenv(SESSION_LIMIT_ENV, str(2.5 * run_bytes / MEGABYTE))
    upload(at, "b.npz", model_file(2))
    assert session_names(at) == ["#1 uploaded a.npz", "#2 uploaded b.npz"]
    assert state.SESSION_RUNS_NOTE not in at.session_state or not at.session_state[state.SESSION_RUNS_NOTE]

    upload(at, "c.npz", model_file(3))
    assert session_names(at) == ["#2 uploaded b.npz", "#3 uploaded c.npz"]
    note = at.session_state[state.SESSION_RUNS_NOTE]
    limit_text = f"{2.5 * run_bytes / MEGABYTE:,.1f} MB"
    assert limit_text in note and SESSION_LIMIT_ENV in note
    assert "let go of the details of #1 uploaded a.npz" in note and "stay in the run store" in note
    assert note in texts(at.caption)
    # Nothing else is lost: every upload is in the store, the one let go of still opens from it.
    assert sorted(run.name for run in jobs.get_store().list_runs(kind="upload")) == [
        "#1 uploaded a.npz", "#2 uploaded b.npz", "#3 uploaded c.npz"]
    assert at.session_state[state.PREPROCESS_CONFIG].train_size == 1000

    # A model bigger than the whole limit is refused; the session's runs stay as they were.
    upload(at, "big.npz", model_file(4, width=512))
    assert session_names(at) == ["#2 uploaded b.npz", "#3 uploaded c.npz"]
    refusal = at.session_state[state.SESSION_RUNS_NOTE]
    assert refusal.startswith("The details of #4 uploaded big.npz (") and "was not kept in this session" in refusal
    assert f"over its limit of {limit_text}" in refusal and "It stays in the run store" in refusal
    assert refusal in texts(at.caption)
