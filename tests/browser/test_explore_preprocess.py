"""Explore and Preprocess in a real browser: every chart drawn, controls work, choices persist."""
import re

from playwright.sync_api import expect

from dashboard.thumbnails import FIGURE_CLASS
from nnlib.data import load_mnist

from .conftest import open_page, wait_for_app

CHART_TIMEOUT_MS = 90_000
PREPROCESS_SVG_CHARTS = 4   # the split, the histograms, the transposition, the one-hot rows: no Plotly
PREPROCESS_PIXELS = 2000 * 784   # the histograms' sample: 2,000 training images


def test_explore_draws_its_charts_and_sample_grid(page, app_url):
    open_page(page, app_url, "explore")
    expect(page.get_by_role("heading", name="Explore the data")).to_be_visible()
    # The 2-D map holds 1,000 points by default, drawn by the page's own small component.
    points = page.locator(".svg-picker circle[data-pick]")
    expect(points).to_have_count(1000, timeout=CHART_TIMEOUT_MS)
    # The histogram, the ink boxes and the pixel maps are inline SVG: each bar, box and pixel carries
    # its numbers as a tooltip. No chart library is loaded for any of them.
    tooltips = page.locator("svg title").all_text_contents()
    assert sum(t.startswith("values ") and t.endswith(" pixels") for t in tooltips) > 10
    assert sum(": median " in t for t in tooltips) == 10
    assert sum(t.startswith("mean, row ") for t in tooltips) == sum(t.startswith("std, row ") for t in tooltips) == 784
    assert page.locator(".js-plotly-plot").count() == 0
    expect(page.get_by_text("6,742 · 11.2%")).to_be_visible()   # the class balance writes each count out
    samples = page.locator(f"figure.{FIGURE_CLASS} img")
    expect(samples).to_have_count(100)
    page.wait_for_function(f"() => [...document.querySelectorAll('figure.{FIGURE_CLASS} img')].every(e => e.complete)")
    sizes = samples.evaluate_all("els => els.map(e => [e.naturalWidth, e.getBoundingClientRect().width])")
    assert all(size == [28, 72] for size in sizes), sizes
    # The class means and the unusual examples as one picture each.
    images = page.locator('[data-testid="stImage"] img')
    expect(images).to_have_count(2)
    assert min(images.evaluate_all("els => els.map(e => e.naturalWidth)")) > 400
    # A plain wheel scrolls the page; Ctrl + wheel zooms the map in, and points keep their size on the
    # screen (a cloud comes apart).
    area = page.locator(".svg-picker [data-zoom-area]")
    radius = points.nth(0).evaluate("e => e.getBoundingClientRect().width")
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    page.wait_for_timeout(300)
    assert area.get_attribute("viewBox") == "0 0 520 520"
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -400)
    page.keyboard.up("Control")
    expect(area).not_to_have_attribute("viewBox", "0 0 520 520")
    zoomed = [float(v) for v in area.get_attribute("viewBox").split()]
    assert zoomed[2] < 520 and abs(points.nth(0).evaluate("e => e.getBoundingClientRect().width") - radius) < 0.5
    # A click reruns the page; the map comes back the same, so the reader's zoom stays.
    points.nth(1).dispatch_event("click")
    wait_for_app(page)
    page.wait_for_timeout(500)
    expect(page.get_by_text("Click a point to see the image here.")).to_have_count(0)
    assert [float(v) for v in area.get_attribute("viewBox").split()] == zoomed
    page.mouse.dblclick(box["x"] + 5, box["y"] + 5)
    expect(area).to_have_attribute("viewBox", "0 0 520 520")
    # A class clicked in the legend hides its points.
    page.locator('.svg-picker [data-toggle="g1"]').click()
    hidden = page.locator(".svg-picker circle.g1[data-pick]")
    expect(hidden.first).to_be_hidden()
    assert hidden.count() > 50 and page.locator(".svg-picker circle.g0[data-pick]").first.is_visible()
    # Clicking a point shows that image next to the map.
    pick = points.nth(0).get_attribute("data-pick")
    points.nth(0).click(force=True)
    wait_for_app(page)
    expect(page.get_by_text("Click a point to see the image here.")).to_have_count(0)
    expect(images).to_have_count(3)
    # Beside the map (after the class means, before the unusual examples).
    expect(images.nth(1)).to_have_js_property("naturalWidth", 140)
    picked = page.locator('[data-testid="stImage"]').filter(has_text=" · #").last
    label, index = picked.inner_text().strip().split(" · #")
    assert index == pick and load_mnist().y_train[int(index)] == int(label)   # the point clicked, its true label


def expect_svg_charts_drawn(page) -> list[str]:
    """The Preprocess page's inline SVG charts all laid out, and no Plotly chart; their tooltips."""
    charts = page.locator('[data-testid="stMarkdownContainer"] svg[viewBox]:has(> title)')
    expect(charts).to_have_count(PREPROCESS_SVG_CHARTS)
    sizes = charts.evaluate_all("els => els.map(e => e.getBoundingClientRect()).map(r => [r.width, r.height])")
    assert all(width > 200 and height > 100 for width, height in sizes), sizes
    assert page.locator(".js-plotly-plot").count() == 0
    return charts.locator("title").all_text_contents()


def pixels_in(tooltips: list[str], panel: str) -> int:
    """The pixels counted by one histogram panel's bars, from their tooltips."""
    return sum(int(t.rsplit(": ", 1)[1].removesuffix(" pixels").replace(",", ""))
               for t in tooltips if t.startswith(panel + ": values "))


def test_preprocess_draws_its_charts_and_reacts_to_scaling(page, app_url):
    open_page(page, app_url, "preprocess")
    tooltips = expect_svg_charts_drawn(page)
    assert "training: 33,600 images (80.0% of the 42,000 used)" in tooltips
    assert "test (separate file): 10,000 images" in tooltips
    assert pixels_in(tooltips, "before: raw pixels 0-255") == pixels_in(tooltips, "after: 0-255 to 0-1 (divide by 255)") \
        == PREPROCESS_PIXELS
    ones = [t for t in tooltips if t.startswith("#") and t.endswith(": 1")]
    assert len(ones) == 8 and all(t.split(" → ")[1].split(",")[0] == t.split("column ")[1][:-3] for t in ones)
    expect(page.get_by_text("X.T (784, 33600)")).to_be_visible()
    expect(page.get_by_text("X train (784, 33600)")).to_be_visible()
    expect(page.get_by_text("X val (8400, 784)")).to_be_visible()
    page.get_by_text("standardise (zero mean, unit variance)").click()
    wait_for_app(page)
    expect(page.get_by_text("fitted on the training split")).to_be_visible()
    expect(page.locator('[data-testid="stJson"]').get_by_text('"standardize"')).to_be_visible()
    tooltips = expect_svg_charts_drawn(page)
    assert pixels_in(tooltips, "after: standardise (zero mean, unit variance)") == PREPROCESS_PIXELS
    assert any(t.startswith("after: standardise (zero mean, unit variance): values -") for t in tooltips)


def test_preprocess_choice_survives_a_trip_to_explore(page, app_url):
    open_page(page, app_url, "preprocess")
    page.get_by_text("none (raw 0-255)").click()
    wait_for_app(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Explore the data", exact=True).click()
    page.wait_for_url(re.compile(r"/explore(\?.*)?$"))
    wait_for_app(page)
    sidebar.get_by_text("Preprocess", exact=True).click()
    page.wait_for_url(re.compile(r"/preprocess(\?.*)?$"))
    wait_for_app(page)
    expect(page.get_by_role("radio", name="none (raw 0-255)")).to_be_checked()
    assert pixels_in(expect_svg_charts_drawn(page), "after: none (raw 0-255)") == PREPROCESS_PIXELS
