"""One classroom user's visit, whoever simulates it: what they do and what is recorded of it.

Shared by the two kinds of simulated user of ``classroom.py``: a headless Chromium context
(which renders the pages) and a protocol client (``classroom_protocol.py``: Streamlit's
websocket messages only, as if the student's browser ran on the student's own machine).
"""
from __future__ import annotations

from dataclasses import dataclass, field

PAGES = ["explore", "preprocess", "train", "predict", "inside", "runs", "sweep"]  # after Home, in this order
SETTLE_TIMEOUT_S = 90
TRAIN_TIMEOUT_S = 600
STROKE_ANSWER_TIMEOUT_S = 20
ANSWER_CLASS = "predicted-digit"      # pages/predict.py's big answer: <span class="predicted-digit">
START_LABEL = "Start training"
CLEAR_LABEL = "Clear the canvas"
QUEUE_TEXT = "in line,"               # experiments.jobs.queue_message: "2nd in line, 2 running ahead. ..."
COMPLETED_TEXT = "Completed:"
CHROMIUM, PROTOCOL = "chromium", "protocol"


@dataclass
class UserResult:
    index: int
    trains: bool
    client: str = CHROMIUM                 # who played the user: a Chromium context or a protocol client
    page_loads: list[float] = field(default_factory=list)
    strokes: list[float] = field(default_factory=list)
    wrong_digits: int = 0
    redrawn: int = 0                       # strokes drawn again: the first brought no answer
    errors: list[str] = field(default_factory=list)
    pressed_at: float | None = None        # wall clock of the press of Start (the client's side)
    places_seen: list[str] = field(default_factory=list)
    trained: bool = False


def train_query(index: int, train_size: int, epochs: int) -> str:
    """The query of a teacher's Train link: a small network, ``epochs`` epoch(s) on ``train_size``
    images; the seed is the user's number, so the run store tells the users' runs apart."""
    return (f"net=mlp&layers=64&act=relu&init=he&dropout=0&opt=adam&lr=0.001&batch=64"
            f"&epochs={epochs}&l2=0&schedule=constant&seed={index}&n={train_size}&val=0.2&split_seed=0&scale=unit")


def train_link(url: str, index: int, train_size: int, epochs: int) -> str:
    """The teacher's Train link for user ``index`` (see :func:`train_query`)."""
    return f"{url}/train?{train_query(index, train_size, epochs)}"


def place_in_line(text: str) -> str | None:
    """``"2nd in line, 2 running ahead"`` from the queued job's message (None if ``text`` is no such message)."""
    return text.split(".")[0].strip() if QUEUE_TEXT in text else None


def note_place(result: UserResult, text: str) -> None:
    """Record a place in line read on the page, unless it is the one read last."""
    place = place_in_line(text)
    if place and (not result.places_seen or result.places_seen[-1] != place):
        result.places_seen.append(place)


def probe_index(first_index: int, users: int) -> int:
    """The user whom a real Chromium plays in a protocol round: the last to arrive who does not
    train (the whole visit, drawing included, when most of the class is on)."""
    if users < 1:
        raise ValueError(f"a class needs at least one user, got {users}")
    indices = range(first_index, first_index + users)
    return next((index for index in reversed(indices) if index % 3 != 0), indices[-1])


def class_users(first_index: int, users: int, clients: str) -> list[UserResult]:
    """The round's users: every third trains; with ``clients="protocol"`` all but the probe
    (:func:`probe_index`) are protocol clients."""
    if clients not in (CHROMIUM, PROTOCOL):
        raise ValueError(f"clients must be {CHROMIUM!r} or {PROTOCOL!r}, got {clients!r}")
    probe = probe_index(first_index, users) if clients == PROTOCOL else None
    return [UserResult(index, trains=index % 3 == 0,
                       client=PROTOCOL if clients == PROTOCOL and index != probe else CHROMIUM)
            for index in range(first_index, first_index + users)]


def arrival_order(asked: dict[int, tuple[float, float]]) -> tuple[dict[int, float], bool]:
    """From ``{user: (requested_at, started_at)}``: each user's wait, in request order, and whether
    the starts came in request order."""
    ordered = sorted(asked.items(), key=lambda item: item[1][0])
    waits = {user: max(0.0, started - requested) for user, (requested, started) in ordered}
    starts = [started for _, (_, started) in ordered]
    return waits, starts == sorted(starts)
