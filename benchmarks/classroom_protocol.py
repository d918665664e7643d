"""A classroom user as their browser speaks to the server, nothing rendered (``classroom.py --clients protocol``).

The same visit as a Chromium user's (:mod:`classroom_visit`), through
:class:`streamlit_client.StreamlitSession`: open Home (or the teacher's Train link), switch to
every page as the sidebar's links do, draw 1, 0 and 7 on Predict by sending the canvas's value
as its frontend sends it (:func:`canvas_strokes.canvas_value`), press Clear between digits;
a training user presses Start, follows the Train page's live fragment on its timer until the run
trains, browses, and comes back to Train for the result.

What it measures is what the server delivers: a page load is from sending the rerun to the
``script_finished`` of that page's full run; stroke to answer is from sending the canvas's value
to the end of the run that shows the answer. A browser would add its own rendering on the
student's machine (and the canvas's 200 ms debounce after mouse-up); the Chromium probe of
``classroom.py`` measures that.
"""
from __future__ import annotations

import time

from canvas_strokes import DIGIT_STROKES, canvas_value
from classroom_visit import (
    ANSWER_CLASS,
    CLEAR_LABEL,
    COMPLETED_TEXT,
    PAGES,
    PROTOCOL,
    SETTLE_TIMEOUT_S,
    START_LABEL,
    TRAIN_TIMEOUT_S,
    UserResult,
    note_place,
    train_query,
)
from streamlit.proto.Element_pb2 import Element
from streamlit_client import (
    RunResult,
    StreamlitSession,
    button_press,
    element_kind,
    element_texts,
    exception_messages,
    html_span_text,
    json_widget_value,
    widget_id,
)

CANVAS_COMPONENT = "streamlit_drawable_canvas"


def has_text(element: Element, text: str) -> bool:
    """Whether ``text`` is in what the user reads of ``element``."""
    return any(text in shown for shown in element_texts(element))


def training_started(element: Element) -> bool:
    """The Train page shows the run training (its progress bar) or finished."""
    return element_kind(element) == "progress" or has_text(element, COMPLETED_TEXT)


def note_run(result: UserResult, where: str, run: RunResult) -> None:
    """Count the exception boxes a run drew on page ``where``."""
    result.errors += [f"exception box on {where}: {message}" for message in exception_messages(run.elements)]


async def draw_digits(session: StreamlitSession, predict: RunResult, result: UserResult) -> None:
    """Draw 1, 0 and 7 on Predict (the canvas's value), read each answer, clear the canvas."""
    elements = predict.elements
    for digit in DIGIT_STROKES:
        canvas = widget_id(elements, "bidi_component", name_contains=CANVAS_COMPONENT)
        if canvas is None:
            raise LookupError("no drawable canvas on Predict")
        session.widget_states[canvas] = json_widget_value(canvas, canvas_value(digit))
        answered = await session.rerun()
        result.strokes.append(answered.seconds)
        note_run(result, "predict", answered)
        answer = html_span_text(answered.elements, ANSWER_CLASS)
        if answer is None:
            raise LookupError(f"no answer shown after drawing {digit}")
        if answer != digit:
            result.wrong_digits += 1
        clear = widget_id(answered.elements, "button", label_contains=CLEAR_LABEL)
        if clear is None:
            raise LookupError("no Clear button on Predict")
        cleared = await session.rerun(once=[button_press(clear)])
        if html_span_text(cleared.elements, ANSWER_CLASS) is not None:
            raise LookupError("the answer stayed after Clear")
        elements = cleared.elements


async def start_training(session: StreamlitSession, result: UserResult, train_size: int, epochs: int) -> None:
    """Open the teacher's Train link, press Start, and follow the page until the run trains."""
    await session.load_app_shell("train")
    opened = await session.run_page(path="train", query_string=train_query(result.index, train_size, epochs))
    result.page_loads.append(opened.seconds)
    note_run(result, "train", opened)
    start = widget_id(opened.elements, "button", label_contains=START_LABEL)
    if start is None:
        raise LookupError("no Start button on the Train link's page")
    result.pressed_at = time.time()
    pressed = await session.rerun(once=[button_press(start)])
    for element in pressed.elements:
        for text in element_texts(element):
            note_place(result, text)
    if any(training_started(element) for element in pressed.elements):
        return
    await session.wait_for(training_started, timeout=TRAIN_TIMEOUT_S, since=pressed.next_index,
                           seen=lambda element: [note_place(result, text) for text in element_texts(element)])


async def protocol_user(url: str, result: UserResult, train_size: int, epochs: int) -> None:
    """One user's visit through the websocket protocol; what went wrong is counted in ``result``."""
    result.client = PROTOCOL
    session = StreamlitSession(url, timeout=SETTLE_TIMEOUT_S)
    try:
        async with session:
            if result.trains:
                await start_training(session, result, train_size, epochs)
            else:
                await session.load_app_shell()
                home = await session.run_page(path="")
                result.page_loads.append(home.seconds)
                note_run(result, "home", home)
            for path in PAGES:
                if result.trains and path == "train":
                    continue  # seen first
                run = await session.run_page(page=path)
                result.page_loads.append(run.seconds)
                note_run(result, path, run)
                if path == "predict":
                    await draw_digits(session, run, result)
            if result.trains:
                back = await session.run_page(page="train")
                if not any(has_text(element, COMPLETED_TEXT) for element in back.elements):
                    await session.wait_for(lambda element: has_text(element, COMPLETED_TEXT),
                                           timeout=TRAIN_TIMEOUT_S, since=back.next_index)
                result.trained = True
    except Exception as error:  # a timeout, a disconnect or a missing element is counted, the others go on
        result.errors.append(f"{type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''}")
    finally:
        result.errors += session.errors
