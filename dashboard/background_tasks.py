"""The server's short background tasks (:mod:`experiments.background`), held per server,
and this session's task of each kind (its id kept in the session)."""
from __future__ import annotations

import streamlit as st

from experiments.background import BackgroundTask, BackgroundTasks, Work


@st.cache_resource(show_spinner=False)
def get_background_tasks() -> BackgroundTasks:
    """One holder per Streamlit server process, shared by every session."""
    return BackgroundTasks()


def session_task(session_key: str) -> BackgroundTask | None:
    """The task this session started under ``session_key`` (None if none or evicted)."""
    return get_background_tasks().get(st.session_state.get(session_key))


def start_session_task(session_key: str, kind: str, work: Work) -> BackgroundTask:
    """Start ``work`` for this session (one per key: a running one is returned instead)."""
    running = session_task(session_key)
    if running is not None and running.active:
        return running
    task = get_background_tasks().start(kind, work)
    st.session_state[session_key] = task.id
    return task
