"""The pages facing hostile input: a refused upload is not parsed again on every rerun, and a
``?job=`` link whose job is gone says what became of it."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

import dashboard.data
from dashboard import state

from .helpers import app_test


def upload_twice() -> None:
    """A page script: the same bad upload seen on two reruns of the sidebar."""
    from dashboard.data import _accept_upload

    _accept_upload("bomb.csv", b"label,pixel0\n" + b"1,2\n" * 3)
    _accept_upload("bomb.csv", b"label,pixel0\n" + b"1,2\n" * 3)


def test_a_refused_upload_is_remembered_and_not_parsed_again(monkeypatch):
    calls = []
    real = dashboard.data.load_csv
    monkeypatch.setattr(dashboard.data, "load_csv", lambda *args, **kw: calls.append(1) or real(*args, **kw))
    at = AppTest.from_function(upload_twice).run()
    assert not at.exception
    assert len(calls) == 1
    errors = [element.value for element in at.error]
    assert len(errors) == 2 and all("Could not use bomb.csv: uploaded CSV: expected 785 columns" in e for e in errors)
    assert at.session_state[state.REFUSED_UPLOAD]["message"] == errors[0]
    at.run()  # a later rerun of the page: still not parsed again
    assert len(calls) == 1


def test_a_job_link_from_before_a_server_restart_says_so():
    at = app_test("app.py")
    at.query_params["job"] = "a-job-of-the-previous-server"
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    notes = " ".join(element.value for element in at.info)
    assert "ended when the server restarted" in notes and "interrupted" in notes
    assert "No training yet" not in notes
    assert at.session_state[state.JOB_ID] is None


def digest_per_file() -> None:
    """A page script: the upload widget's file handed back on reruns, then another file."""
    import streamlit as st

    from dashboard.data import _digest_of

    st.session_state["same"] = _digest_of("file-1", b"first") == _digest_of("file-1", b"not hashed again")
    st.session_state["other"] = _digest_of("file-2", b"second")


def test_an_uploads_checksum_is_worked_out_once_per_file():
    import hashlib

    at = AppTest.from_function(digest_per_file).run()
    assert not at.exception
    assert at.session_state["same"] is True
    assert at.session_state["other"] == hashlib.sha256(b"second").hexdigest()
    assert at.session_state[state.UPLOAD_DIGEST] == ("file-2", hashlib.sha256(b"second").hexdigest())
