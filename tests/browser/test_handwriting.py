"""Teach it your handwriting in a real browser: draw a digit, correct its label, keep it, and
see it in the personal set (issue 14)."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import wait_for_app
from tests.browser.test_predict_canvas import ANSWER_TIMEOUT_MS, draw_stroke, one, ready_canvas


def test_draw_correct_the_label_keep_and_see_it_in_the_personal_set(predict_page):
    page = predict_page
    canvas = ready_canvas(page)
    box = canvas.bounding_box()
    draw_stroke(page, one(box["x"], box["y"]))
    expect(page.locator(".predicted-digit")).to_have_text("1", timeout=ANSWER_TIMEOUT_MS)
    wait_for_app(page)
    page.mouse.move(5, 5)
    digits = page.locator('[data-testid="stRadio"]').filter(has_text="The digit I drew")
    expect(digits).to_be_visible()
    before = page.get_by_text("kept as 4", exact=True).count()
    digits.get_by_text("4", exact=True).click()           # "correct" the label: say it was a 4
    wait_for_app(page)
    page.get_by_role("button", name="Keep this drawing").click()
    expect(page.get_by_text("Kept as 4.")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    wait_for_app(page)
    expect(page.get_by_text("kept as 4", exact=True)).to_have_count(before + 1)
    expect(page.get_by_text("Your personal set:")).to_contain_text("drawing(s)")
