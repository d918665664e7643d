"""The classroom benchmark's protocol client (benchmarks/streamlit_client.py, canvas_strokes.py,
classroom_visit.py, classroom_protocol.py): the digits it draws as the canvas sends them, how it
reads the server's elements, who plays which user, the order of the training line; and (slow)
one protocol user's whole visit against a real server."""
from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.proto.Element_pb2 import Element

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmarks import each other as scripts do

from canvas_strokes import DIGIT_STROKES, canvas_value, png_data_url, render_stroke  # noqa: E402
from classroom_visit import (  # noqa: E402
    CHROMIUM,
    PROTOCOL,
    UserResult,
    arrival_order,
    class_users,
    note_place,
    place_in_line,
    probe_index,
)
from streamlit_client import (  # noqa: E402
    button_press,
    element_texts,
    exception_messages,
    html_span_text,
    json_widget_value,
    media_urls,
    widget_id,
    widget_ids,
)


def decoded_canvas_image(value_json: str) -> np.ndarray:
    """The RGBA array the page reads: streamlit_drawable_canvas's CanvasResult.image_data decodes
    the data URL exactly so (split at ';base64,', PIL, np.asarray)."""
    data_url = json.loads(value_json)["drawing"]["data"]
    _, encoded = data_url.split(";base64,", 1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))


# ---------------------------------------------------------------------- the digits drawn
@pytest.mark.parametrize("digit", sorted(DIGIT_STROKES))
def test_each_digit_becomes_the_canvas_value_its_frontend_sends(digit):
    value = json.loads(canvas_value(digit))
    assert set(value) == {"drawing"} and set(value["drawing"]) == {"raw", "data"}
    raw = value["drawing"]["raw"]
    assert raw["background"] == "#000000" and len(raw["objects"]) == 1
    path = raw["objects"][0]
    assert path["type"] == "Path" and path["stroke"] == "#FFFFFF" and path["strokeWidth"] == 20
    points = DIGIT_STROKES[digit](0, 0)
    assert path["path"][0] == ["M", *points[0]] and path["path"][-1] == ["L", *points[-1]]
    image = decoded_canvas_image(canvas_value(digit))
    assert image.shape == (280, 280, 4) and image.dtype == np.uint8
    assert (image[..., 3] == 255).all()                      # an opaque canvas, as toDataURL gives it
    assert (image[..., 0] == image[..., 1]).all()            # white ink on black: grey levels only
    ink = np.argwhere(image[..., 0] > 127)
    xs, ys = [x for x, _ in points], [y for _, y in points]
    # the ink covers the stroke's points, widened by half the brush (a pixel of anti-aliasing aside)
    assert ink[:, 1].min() == pytest.approx(min(xs) - 10, abs=2) and ink[:, 1].max() == pytest.approx(max(xs) + 10, abs=2)
    assert ink[:, 0].min() == pytest.approx(min(ys) - 10, abs=2) and ink[:, 0].max() == pytest.approx(max(ys) + 10, abs=2)
    for x, y in points:
        assert image[round(y), round(x), 0] == 255  # every point the pointer passed is inked


def test_the_zero_is_a_ring_with_a_black_hole():
    image = decoded_canvas_image(canvas_value("0"))[..., 0]
    assert image[140, 140] == 0 and image[140, 85] == 255 and image[45, 140] == 255
    assert image[5, 5] == 0 and image[275, 275] == 0


def test_a_one_is_a_vertical_bar_ten_pixels_either_side():
    image = decoded_canvas_image(canvas_value("1"))[..., 0]
    row = image[140]
    assert row[131:150].min() == 255 and row[:128].max() == 0 and row[153:].max() == 0


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="expected one of the digits"):
        canvas_value("8")
    with pytest.raises(ValueError, match="at least one point"):
        render_stroke([])
    with pytest.raises(ValueError, match="positive canvas size"):
        render_stroke([(1, 1)], stroke_width=0)
    with pytest.raises(ValueError, match=r"shape \(height, width, 4\)"):
        png_data_url(np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="#RRGGBB"):
        canvas_value("1", stroke="white")


def test_a_single_point_is_a_round_dot():
    image = render_stroke([(50, 50)], size=100, stroke_width=20)[..., 0]
    assert image[50, 50] == 255 and image[50, 41] > 128 and image[50, 38] == 0
    assert image[43, 43] > 0 and image[41, 41] < 128  # round, not square: the corner stays dark


# ---------------------------------------------------------------------- reading the server's elements
def button(widget: str, label: str) -> Element:
    element = Element()
    element.button.id, element.button.label = widget, label
    return element


def canvas(widget: str) -> Element:
    element = Element()
    element.bidi_component.id = widget
    element.bidi_component.component_name = "streamlit-drawable-canvas.streamlit_drawable_canvas"
    return element


def markdown(body: str) -> Element:
    element = Element()
    element.markdown.body = body
    return element


def test_widget_ids_are_found_by_kind_and_label_the_last_drawn_winning():
    elements = [button("b1", "▶ Start training"), button("b2", "⏸ Pause"), canvas("c1"),
                markdown("no widget"), button("b3", "▶ Start training")]
    assert widget_id(elements, "button", label_contains="Start training") == "b3"
    assert widget_id(elements, "button", label_contains="Pause") == "b2"
    assert widget_id(elements, "button", label_contains="Stop") is None
    assert widget_id(elements, "bidi_component", name_contains="streamlit_drawable_canvas") == "c1"
    assert widget_id(elements, "bidi_component", name_contains="another_component") is None
    assert widget_ids(elements) == {"b1", "b2", "b3", "c1"}


def test_the_answer_digit_is_read_from_its_span():
    page = [markdown("Draw a digit"),
            markdown('<div style="font-size:5.5rem"><span class="predicted-digit">7</span></div>')]
    assert html_span_text(page, "predicted-digit") == "7"
    assert html_span_text(page[:1], "predicted-digit") is None
    assert html_span_text([markdown('<span class="predicted-digit">\n 0 </span>')], "predicted-digit") == "0"
    assert html_span_text([markdown('<span class="predicted-digit-x">1</span>')], "predicted-digit") is None


def test_exception_boxes_are_counted_and_warnings_are_not():
    error, warning = Element(), Element()
    error.exception.type, error.exception.message = "IndexError", "index 10 is out of bounds\nmore"
    warning.exception.type, warning.exception.is_warning = "Deprecation", True
    assert exception_messages([error, warning, markdown("fine")]) == ["IndexError: index 10 is out of bounds"]


def test_texts_media_and_widget_states():
    alert = Element()
    alert.alert.body = "2nd in line, 1 running ahead. This server trains 2 network(s) at a time."
    images = Element()
    images.imgs.imgs.add().url = "/media/abc.png"
    images.imgs.imgs.add().url = "data:image/png;base64,xyz"
    assert element_texts(alert) == [alert.alert.body] and element_texts(button("b", "Go")) == ["Go"]
    assert media_urls([images, alert]) == ["/media/abc.png"]
    assert button_press("b").trigger_value is True and button_press("b").id == "b"
    state = json_widget_value("c", canvas_value("1"))
    assert state.WhichOneof("value") == "json_value" and json.loads(state.json_value)["drawing"]["raw"]["objects"]


# ---------------------------------------------------------------------- the class
def test_places_in_line_are_read_and_repeats_dropped():
    assert place_in_line("2nd in line, 1 running ahead. This server trains 2 at a time.") == "2nd in line, 1 running ahead"
    assert place_in_line("Completed: 1 epoch.") is None
    result = UserResult(0, trains=True)
    for text in ["3rd in line, 2 running ahead. x", "3rd in line, 2 running ahead. y", "nothing",
                 "2nd in line, 2 running ahead. z"]:
        note_place(result, text)
    assert result.places_seen == ["3rd in line, 2 running ahead", "2nd in line, 2 running ahead"]


def test_the_probe_is_the_last_arrival_who_does_not_train():
    assert probe_index(0, 10) == 8 and probe_index(0, 3) == 2 and probe_index(1, 1) == 1
    assert probe_index(0, 1) == 0  # a class of one trainer: the trainer
    users = class_users(0, 10, PROTOCOL)
    assert [u.client for u in users].count(CHROMIUM) == 1 and users[8].client == CHROMIUM
    assert [u.index for u in users if u.trains] == [0, 3, 6, 9]
    assert {u.client for u in class_users(0, 5, CHROMIUM)} == {CHROMIUM}
    with pytest.raises(ValueError, match="clients must be"):
        class_users(0, 3, "firefox")
    with pytest.raises(ValueError, match="at least one user"):
        probe_index(0, 0)


def test_arrival_order_compares_server_side_request_and_start_times():
    waits, in_order = arrival_order({0: (100.0, 100.5), 3: (104.0, 110.0), 6: (102.0, 106.0)})
    assert list(waits) == [0, 6, 3] and waits == {0: 0.5, 6: 4.0, 3: 6.0} and in_order
    _, in_order = arrival_order({0: (100.0, 120.0), 3: (101.0, 110.0)})
    assert not in_order  # asked second, started first
    assert arrival_order({}) == ({}, True)


# ---------------------------------------------------------------------- one real visit
@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    """The real server (scripts/serve.py) on a free loopback port with a run store of its own."""
    from common import start_lab_server, stop_lab_server

    home = tmp_path_factory.mktemp("classroom-home")
    process, url = start_lab_server(home, home / "server.log")
    yield url, home
    stop_lab_server(process)


@pytest.mark.slow
def test_a_protocol_user_visits_every_page_draws_three_digits_and_trains(lab_url):
    from classroom_protocol import protocol_user

    from experiments.store import RunStore

    url, home = lab_url
    browsing, training = UserResult(1, trains=False), UserResult(3, trains=True)

    async def visit() -> None:
        await asyncio.gather(protocol_user(url, browsing, 500, 1), protocol_user(url, training, 500, 1))

    # Its own thread and event loop: the browser tests' Playwright (sync API) keeps a loop running
    # in this one when the whole suite runs.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, visit()).result()
    assert browsing.errors == [] and training.errors == []
    assert browsing.client == training.client == PROTOCOL
    assert len(browsing.page_loads) == 8 and len(training.page_loads) == 7   # Home + 7 pages; Train link + 6
    assert all(0 < seconds < 90 for seconds in browsing.page_loads + training.page_loads)
    assert len(browsing.strokes) == 3 and browsing.wrong_digits == 0     # the bundled model reads 1, 0, 7
    assert training.trained and training.pressed_at is not None
    runs = [run for run in RunStore(home).list_runs() if (run.train_config or {}).get("seed") == 3]
    assert len(runs) == 1 and runs[0].status == "completed"
    assert runs[0].created_at <= runs[0].started_at and not math.isnan(runs[0].created_at)
