"""The Sweep page in a real browser: a small sweep's parallel coordinates gain lines, the best
configuration loads into Train, and a reload finds the sweep and its runs again."""
from __future__ import annotations

import os
import re
import time

import pytest
from playwright.sync_api import expect

from dashboard.train_controls import nearest_shown_config
from experiments.space import SearchSpace
from experiments.store import RunStore

from .conftest import ARTIFACTS, open_page, wait_for_app

# How many lines the parallel-coordinates plot draws now (-1 before it exists): the length of
# its first axis's values in the figure Plotly drew.
PARCOORDS_LINES = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')]
    .find(p => (p.data || []).some(t => t.type === 'parcoords'));
  if (!plot) return -1;
  return plot.data.find(t => t.type === 'parcoords').dimensions[0].values.length;
}"""
TRIALS = 4


def set_slider_to_first(page, name: str, shown: str) -> None:
    slider = page.get_by_role("slider", name=name)
    slider.focus()
    page.keyboard.press("Home")
    expect(slider).to_have_attribute("aria-valuetext", shown)
    wait_for_app(page)


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label)
    box.fill(str(value))
    box.press("Enter")
    wait_for_app(page)


@pytest.mark.slow
def test_a_sweep_gains_lines_loads_its_best_into_train_and_is_found_after_a_reload(page, app_url):
    open_page(page, app_url, "sweep")
    page.get_by_role("button", name=re.compile("Preset: Learning rate")).click()
    wait_for_app(page)
    expect(page.get_by_text(re.compile("16 trial\\(s\\) of 2 epoch\\(s\\) each on 10,000"))).to_be_visible()
    set_number(page, "Trial budget (trials)", TRIALS)
    set_slider_to_first(page, "Trials at once", "1")
    set_slider_to_first(page, "Training-set size (images; 20% of them validate)", "1,000")
    expect(page.get_by_text(f"{TRIALS} trial(s) of 2 epoch(s) each on 1,000 MNIST images, 1 at once")).to_be_visible()

    page.get_by_role("button", name="Start sweep").click()
    seen: list[int] = []
    deadline = time.monotonic() + 180
    while not page.get_by_text("(completed)").count():
        assert time.monotonic() < deadline, f"the sweep did not finish; lines seen {seen}"
        seen.append(page.evaluate(PARCOORDS_LINES))
        page.wait_for_timeout(100)
    wait_for_app(page)
    final = page.evaluate(PARCOORDS_LINES)
    assert final == TRIALS, seen
    grown = sorted(set(count for count in seen if count >= 0))
    assert any(0 < count < TRIALS for count in grown), f"the plot did not gain lines one by one: {grown}"
    assert "sweep=" in page.url
    sweep_url = page.url

    store = RunStore(os.environ["MNIST_LAB_HOME"], recover=False)   # the server's store
    record = next(sweep for sweep in store.list_sweeps() if sweep.name == "learning rate x width")
    runs = store.list_runs(sweep_id=record.id)
    assert len(runs) == TRIALS and record.status == "completed"
    best = max((run for run in runs if run.status == "completed"), key=lambda run: run.val_accuracy)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sweep_page.png"))

    page.get_by_role("button", name="Load the best configuration into Train").click()
    wait_for_app(page)
    shown, _ = nearest_shown_config(SearchSpace.from_dict(record.space).train_config(best.params, epochs=2))
    expect(page.get_by_role("heading", name=re.compile("Train a network"))).to_be_visible()
    expect(page.get_by_role("slider", name="Learning rate (log scale)")).to_have_attribute(
        "aria-valuetext", f"{shown.learning_rate:g}")
    expect(page.get_by_role("slider", name="Units in hidden layer 1")).to_have_attribute(
        "aria-valuetext", str(shown.hidden_sizes[0]))
    expect(page.get_by_text(re.compile(
        rf"\[784-{'-'.join(map(str, shown.hidden_sizes))}-10\] sgd lr {shown.learning_rate:g}, batch 32, 2 epochs"))
    ).to_be_visible()

    page.goto(sweep_url)
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"learning rate x width.*\(completed\)")).first).to_be_visible()
    page.wait_for_function(f"() => ({PARCOORDS_LINES})() === {TRIALS}")
    cells = page.locator('[role="gridcell"]')
    expect(cells.filter(has_text=record.id)).to_have_count(1)  # the tables have drawn their cells
    texts = [cells.nth(index).inner_text() for index in range(cells.count())]
    for run in runs:
        assert run.status in texts and str(run.trial_number) in texts
    assert record.id in texts  # the past sweeps table lists it
    page.get_by_text("Best trial:").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "sweep_page_results.png"))
