"""Draw digits with the mouse on the Predict page's canvas in headless Chromium.

Each digit is one stroke; the canvas sends its image when the mouse is released, the
script reruns, and the answer appears without any click. The time from releasing the
mouse to the answer on the page is measured and printed (run with ``-s`` to see it).
"""
from __future__ import annotations

import math
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, wait_for_app

ANSWER_TIMEOUT_MS = 20_000
LATENCY_LIMIT_S = 8.0   # generous for a loaded 2-core CI machine; typically about a second


def one(cx: float, cy: float) -> list[tuple[float, float]]:
    return [(cx + 140, cy + 40 + 10 * i) for i in range(21)]


def zero(cx: float, cy: float) -> list[tuple[float, float]]:
    return [(cx + 140 + 55 * math.sin(t / 40 * 2 * math.pi), cy + 140 - 95 * math.cos(t / 40 * 2 * math.pi))
            for t in range(42)]


def seven(cx: float, cy: float) -> list[tuple[float, float]]:
    top = [(cx + 70 + 7 * i, cy + 50) for i in range(21)]
    down = [(cx + 210 - 4.5 * i, cy + 50 + 10 * i) for i in range(1, 21)]
    return top + down


def draw_stroke(page, points: list[tuple[float, float]]) -> float:
    """Draw one stroke through ``points``; return the moment the mouse was released."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x, y, steps=2)
    released = time.perf_counter()
    page.mouse.up()
    return released


def ready_canvas(page):
    """The one drawable canvas, once it is mounted (Clear replaces it by a new one)."""
    canvases = page.locator("canvas.upper-canvas")
    expect(canvases).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(canvases.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_timeout(200)   # fabric.js binds its mouse handlers just after mounting
    return canvases.first


def test_drawn_one_zero_seven_are_read_as_drawn(predict_page):
    page = predict_page
    answer = page.locator(".predicted-digit")
    latencies = {}
    for digit, path in (("1", one), ("0", zero), ("7", seven)):
        canvas = ready_canvas(page)
        expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
        box = canvas.bounding_box()
        released = draw_stroke(page, path(box["x"], box["y"]))
        expect(answer).to_have_text(digit, timeout=ANSWER_TIMEOUT_MS)
        latencies[digit] = time.perf_counter() - released
        wait_for_app(page)
        expect(answer).to_have_text(digit)
        page.get_by_role("button", name="Clear the canvas").click()
        expect(answer).to_have_count(0, timeout=ANSWER_TIMEOUT_MS)
        wait_for_app(page)
    print("stroke end -> answer on the page: " + ", ".join(f"{d}: {s:.2f} s" for d, s in latencies.items()))
    assert max(latencies.values()) < LATENCY_LIMIT_S, latencies


def test_steps_switched_off_change_the_answer_of_a_small_corner_digit(predict_page):
    """A small 7 in a corner: read as 7 with MNIST's steps; all steps off, the page says
    so and shows what the whole-canvas resize makes of it."""
    page = predict_page
    box = ready_canvas(page).bounding_box()
    small_seven = [(box["x"] + 20 + 3 * i, box["y"] + 25) for i in range(16)] + \
                  [(box["x"] + 65 - 1.5 * i, box["y"] + 25 + 4 * i) for i in range(1, 16)]
    draw_stroke(page, small_seven)
    expect(page.locator(".predicted-digit")).to_have_text("7", timeout=ANSWER_TIMEOUT_MS)
    wait_for_app(page)
    for label in ("Crop to the ink's bounding box", "Scale to fit 20x20, keeping the aspect", "Centre by the centre of mass"):
        page.get_by_text(label).click()
        wait_for_app(page)
    expect(page.get_by_text("All off: the whole picture squashed into 28x28")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_text("Placed in 28x28 by the middle of its box")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


def test_a_bad_upload_shows_an_error_and_the_canvas_still_works(predict_page):
    page = predict_page
    page.get_by_text("Upload an image").click()
    wait_for_app(page)
    page.locator('input[type="file"]').last.set_input_files(
        files=[{"name": "digit.png", "mimeType": "image/png", "buffer": b"this is not a picture"}])
    expect(page.get_by_text("Could not read digit.png")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    page.get_by_text("Draw", exact=True).click()
    wait_for_app(page)
    box = ready_canvas(page).bounding_box()
    draw_stroke(page, one(box["x"], box["y"]))
    expect(page.locator(".predicted-digit")).to_have_text("1", timeout=ANSWER_TIMEOUT_MS)


def test_the_answer_charts_are_inline_svg_with_readable_values(predict_page):
    """After a drawn 1: the probability columns, the saliency map, the steps and the rotation
    curve are SVG on the page (no Plotly chart), laid out at a readable size, and hovering
    the answer's column names its probability."""
    page = predict_page
    box = ready_canvas(page).bounding_box()
    draw_stroke(page, one(box["x"], box["y"]))
    expect(page.locator(".predicted-digit")).to_have_text("1", timeout=ANSWER_TIMEOUT_MS)
    wait_for_app(page)
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    sizes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('svg > title')].map(
        t => [t.textContent, [t.parentNode.getBoundingClientRect().width, t.parentNode.getBoundingClientRect().height]]))""")
    for title in ("probability of each class", "saliency: d score / d pixel", "the preprocessing steps",
                  "probability of 1 as the drawing turns"):
        width, height = sizes[title]
        assert width > 200 and height > 100, (title, width, height)
    answer_column = page.locator("rect.probability", has_text="1: ")
    tip = answer_column.locator("title").text_content()
    percent = float(tip.split(": ")[1].rstrip("%"))
    sure = page.get_by_text("% sure").first.text_content()
    assert percent == pytest.approx(float(sure.split("%")[0]), abs=0.06)   # the column and the big answer agree
    page.screenshot(path=str(ARTIFACTS / "predict_svg_charts.png"), full_page=True)
