"""The Train page as one of many users: the place in line, the limit of one running and one
queued run per user, and cancelling a queued run (AppTest; other users are jobs started
straight on the server's registry, held at a gate so the slots stay busy)."""
from __future__ import annotations

import threading

from dashboard import jobs, state
from nnlib.training import TrainResult

from .test_train import JOIN_SECONDS, SMALL_NET, current_job, open_train, texts


def other_users_job(owner: str, release: threading.Event) -> jobs.TrainingJob:
    """A job of another session that trains (holds its slot) until ``release`` is set."""

    def run(callback, control):
        while not release.wait(0.02) and not control.stop.is_set():
            pass
        result = TrainResult(status="completed", message="done", history={}, per_class_val_accuracy=[],
                             epochs_completed=1, seconds=0.1, samples_per_second=1.0)
        return jobs.TaskOutput(label=owner, model=None, result=result)

    job, _ = jobs.get_registry().start(owner, [jobs.JobTask(label=owner, epochs=1, run=run)])
    return job


def wait_for(predicate, timeout: float = JOIN_SECONDS) -> None:
    import time
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_a_queued_user_sees_their_place_and_can_cancel():
    release = threading.Event()
    try:
        busy = [other_users_job(f"other-{n}", release) for n in range(jobs.MAX_RUNNING_JOBS)]
        wait_for(lambda: all(job.status == "running" for job in busy))
        waiting = other_users_job("other-waiting", release)
        at = open_train(1000, **SMALL_NET)
        at.button(key="train_start_button").click().run()
        mine = current_job(at)
        wait_for(lambda: mine.snapshot().queue_position == 2)
        at.run()
        shown = texts(at.info)
        assert f"2nd in line, {jobs.MAX_RUNNING_JOBS} running ahead" in shown, shown
        assert "?job=" in texts(at.caption) and "Share it only" in texts(at.caption)
        # The page names no other user's job: only counts.
        assert "other-" not in shown
        at.button(key="train_cancel_button").click().run()
        assert mine.join(JOIN_SECONDS) and mine.status == "stopped" and mine.outputs == []
        at.run()
        assert "Cancelled before it started" in texts(at.warning)
        assert waiting.status == "queued"
        assert at.button(key="train_start_button").label == "▶ Start training"
    finally:
        release.set()


def test_one_user_holds_one_running_and_one_queued_run_and_a_third_start_says_why():
    at = open_train(1000, **{**SMALL_NET, state.TRAIN_EPOCHS: 300, state.TRAIN_BATCH_SIZE: 16})
    at.button(key="train_start_button").click().run()
    first = current_job(at)
    assert at.button(key="train_start_button").label == "⏭ Queue another run"
    at.button(key="train_start_button").click().run()
    second = at.session_state[state.TRAIN_NEXT_JOB]
    assert second is not None and second is not first and second.status == "queued"
    wait_for(lambda: second.snapshot().queue_position == 1)
    at.run()
    assert "Your next run" in texts(at.info) and "behind your own run" in texts(at.info)
    at.button(key="train_start_button").click().run()
    refusal = texts(at.warning)
    assert "1 network(s) training and 1 waiting in line, the most one user may hold" in refusal
    assert len(jobs.get_registry().jobs_of(at.session_state[state.TRAIN_OWNER])) == 2
    at.button(key="train_cancel_next_button").click().run()
    assert second.join(JOIN_SECONDS) and second.status == "stopped"
    at.button(key="train_stop_button").click().run()
    assert first.join(JOIN_SECONDS)
    at.run()
    assert at.session_state[state.TRAIN_NEXT_JOB] is None
    assert at.session_state[state.JOB_ID] == first.id
    assert not at.exception


def test_a_session_keeps_a_bounded_number_of_runs_and_says_which_it_let_go(monkeypatch):
    import streamlit as st

    from dashboard import runs

    monkeypatch.setattr(runs, "MAX_SESSION_RUNS", 3)
    st.session_state.clear()

    def run(name: str, in_store: bool) -> runs.RunRecord:
        record = runs.RunRecord(id=name, name=name, model=None, train_config=None, preprocess_config=None,
                                scaler=None, result=None)
        record.in_store = in_store
        return record

    for name, stored in (("upload", False), ("a", True), ("b", True), ("c", True)):
        runs.add_run(run(name, stored))
    assert [r.id for r in runs.session_runs()] == ["upload", "b", "c"]  # the stored one goes first
    assert "3 most recent runs" in runs.session_runs_note() and "not stored" not in runs.session_runs_note()
    runs.add_run(run("d", False))
    runs.add_run(run("e", False))
    assert [r.id for r in runs.session_runs()] == ["upload", "d", "e"]
    runs.add_run(run("f", False))
    assert [r.id for r in runs.session_runs()] == ["d", "e", "f"]
    assert "now gone from this session: upload" in runs.session_runs_note()
    st.session_state.clear()
