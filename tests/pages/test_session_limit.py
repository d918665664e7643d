"""A session's byte limit ($MNIST_LAB_SESSION_MB): the oldest run details go first, with a
message naming the limit and the runs; what cannot fit is refused and nothing else is lost."""
from __future__ import annotations

import io

from streamlit.testing.v1 import AppTest

from dashboard import jobs, state
from dashboard.session_size import MEGABYTE, SESSION_LIMIT_ENV, held_bytes, megabytes
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
    limit_text = megabytes(int(2.5 * run_bytes))
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


def upload_a_dataset() -> None:
    """A page script: a session with one run (in the store) takes a 10-image CSV upload."""
    import streamlit as st

    from dashboard import runs
    from dashboard.data import _accept_upload

    if not st.session_state.get("set_up"):
        st.session_state["set_up"] = True
        run = runs.RunRecord(id="kept", name="#1 kept", model=None, train_config=None, preprocess_config=None,
                             scaler=None, result=None, extras={"val_proba": bytes(400_000)})
        run.in_store = True
        runs.add_run(run)
    if not st.session_state.get("upload"):
        return
    rows = "\n".join(f"{digit}," + ",".join(["0"] * 784) for digit in range(10))
    _accept_upload("ten.csv", ("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n" + rows).encode())


def test_an_upload_that_cannot_fit_is_refused_before_parsing_and_nothing_is_let_go(monkeypatch):
    import dashboard.data

    calls = []
    real = dashboard.data.load_csv
    monkeypatch.setattr(dashboard.data, "load_csv", lambda *args, **kw: calls.append(1) or real(*args, **kw))
    at = AppTest.from_function(upload_a_dataset).run()
    assert [run.name for run in at.session_state[state.RUNS]] == ["#1 kept"]
    monkeypatch.setenv(SESSION_LIMIT_ENV, "0.01")   # 10 KB: less than the file alone
    at.session_state["upload"] = True
    at.run()
    assert not at.exception
    (error,) = [element.value for element in at.error]
    assert error.startswith("The uploaded ten.csv (0.02 MB) was not kept in this session")
    assert "over its limit of 0.01 MB" in error and SESSION_LIMIT_ENV in error
    assert calls == [] and state.UPLOADED_DATASET not in at.session_state
    assert [run.name for run in at.session_state[state.RUNS]] == ["#1 kept"]

    # With room for the file but not for the file and the run, the stored run's details go.
    monkeypatch.setenv(SESSION_LIMIT_ENV, "0.1")
    at.run()
    assert not at.exception and calls == [1]
    assert at.session_state[state.UPLOADED_DATASET]["name"] == "ten.csv"
    assert at.session_state[state.RUNS] == []
    assert "let go of the details of #1 kept" in at.session_state[state.SESSION_RUNS_NOTE]
