"""The Train page in a real browser: live curve gains points, survives a page switch, Stop works."""
from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from .conftest import open_page, train_one_epoch, wait_for_app

# How far the live chart has got: the points drawn in all its traces (Plotly keeps the drawn
# figure on its div as ``_fullData[i]._length``; the arrays arrive base64-encoded, so
# ``data[i].x`` is no array) plus 1000 x the x axis's reach, which keeps growing with the
# training steps once the long step series is thinned to a fixed number of points.
COUNT_POINTS = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  const live = plots.find(p => (p._fullData || []).some(t => t.name === 'train loss per step'));
  if (!live) return -1;
  const points = live._fullData.reduce((n, t) => n + (t._length || 0), 0);
  return points + 1000 * live._fullLayout.xaxis.range[1];
}"""


def live_points(page) -> int:
    return page.evaluate(COUNT_POINTS)


def wait_for_more_points(page, than: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = live_points(page)
        if count > than:
            return count
        page.wait_for_timeout(100)
    raise AssertionError(f"the live chart did not grow past {than} points in {timeout} s")


def test_live_curve_grows_survives_a_page_switch_and_stops(page, app_url):
    open_page(page, app_url, "train")
    expect(page.get_by_text("No training yet")).to_be_visible(timeout=30_000)
    # The most epochs, so that the run is still going when Stop is pressed, however fast the machine.
    epochs = page.get_by_role("slider", name=re.compile("Epochs"))
    epochs.focus()
    page.keyboard.press("End")
    expect(epochs).to_have_value("300")
    wait_for_app(page)
    page.get_by_role("button", name="Start training").click()

    first = wait_for_more_points(page, 0, timeout=30)
    # The chart keeps growing while the job runs: sample it for two seconds.
    changes, last, start = 0, first, time.monotonic()
    while time.monotonic() - start < 2.0:
        page.wait_for_timeout(50)
        count = live_points(page)
        if count != last:
            changes, last = changes + 1, count
    assert last > first, "the live chart did not gain points"
    assert changes >= 2, f"only {changes} chart updates in 2 s"
    expect(page.get_by_text("samples/s").first).to_be_visible(timeout=10_000)

    # Another page, then back: the job is still there and still running.
    page.get_by_role("link", name="Home").first.click()
    wait_for_app(page)
    expect(page.get_by_text("Where to go next")).to_be_visible(timeout=30_000)
    page.get_by_role("link", name="Train a network").first.click()
    back = wait_for_more_points(page, 0, timeout=30)
    wait_for_more_points(page, back, timeout=20)
    assert "job=" in page.url

    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Stopped", exact=False).first).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Start training")).to_be_enabled(timeout=30_000)


# Page coordinates of a confusion-matrix cell (true, predicted), from Plotly's own axes.
CELL_POSITION = """([trueClass, predictedClass]) => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find(g => (g._fullData || []).some(d => d.name === 'cells'));
  gd.scrollIntoView();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.d2p(String(predictedClass)), box.top + ya._offset + ya.d2p(String(trueClass))];
}"""


def test_clicking_a_confusion_matrix_cell_shows_its_images(page, app_url):
    train_one_epoch(page, app_url)
    summary = page.get_by_text(re.compile("validation images of"))
    expect(summary).to_be_visible(timeout=30_000)
    # The diagonal cell: after one epoch it surely holds images (the default cell is the
    # most frequent mistake, so this click changes the selection).
    # On a loaded machine the page may still be redrawing (and moving) when the click lands:
    # the cell's position is read again before each of up to three clicks.
    wanted = re.compile(r"validation images of 7 predicted as 7")
    for attempt in range(3):
        x, y = page.evaluate(CELL_POSITION, [7, 7])
        page.mouse.click(x, y)
        try:
            expect(summary).to_contain_text(wanted, timeout=15_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    expect(page.get_by_text(re.compile(r"^7: \d+%")).first).to_be_visible()
