"""The home page in a real browser: sample grid drawn, counts shown, no error."""
import re

from playwright.sync_api import expect

from dashboard.chart_preload import PRELOAD_FLAG
from dashboard.thumbnails import FIGURE_CLASS

from .conftest import open_page, run_one_epoch, wait_for_app


def test_home_shows_real_mnist_samples(page, app_url):
    open_page(page, app_url)
    expect(page.get_by_text("MNIST Lab").first).to_be_visible()
    expect(page.locator('[data-testid="stMetricValue"]').nth(1)).to_have_text("60,000")
    images = page.locator(f"figure.{FIGURE_CLASS} img")
    expect(images).to_have_count(20)
    # Each sample is a real decoded 28x28 image, not a broken link, drawn 84 pixels wide (wait until all have loaded).
    page.wait_for_function(f"() => [...document.querySelectorAll('figure.{FIGURE_CLASS} img')].every(e => e.complete)")
    sizes = images.evaluate_all("els => els.map(e => [e.naturalWidth, e.getBoundingClientRect().width])")
    assert all(size == [28, 84] for size in sizes), sizes
    expect(page.locator(f"figure.{FIGURE_CLASS} figcaption").first).to_have_text(re.compile(r"^0 · #\d+$"))


def test_home_loads_plotly_in_the_background_for_the_chart_pages(page, app_url):
    open_page(page, app_url)
    expect(page.locator(f"figure.{FIGURE_CLASS} img")).to_have_count(20)
    assert page.locator(".js-plotly-plot").count() == 0  # Home draws no chart itself
    # A couple of seconds after the page arrived, the browser has loaded and run Streamlit's Plotly chunk.
    page.wait_for_function(f"() => window['{PRELOAD_FLAG}'] === 'loaded'", timeout=30_000)
    fetched = page.evaluate("() => performance.getEntriesByType('resource').map(r => r.name)")
    assert [name for name in fetched if "/static/js/PlotlyChart." in name] != []
    # The first Plotly chart (a training run's live curves) then draws with it, and neither the page
    # switch nor the chart imports it again.
    page.locator('[data-testid="stSidebar"] a[href="train"]').first.click()
    wait_for_app(page)
    run_one_epoch(page)
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=60_000)
    fetched = page.evaluate("() => performance.getEntriesByType('resource').map(r => r.name)")
    assert len([name for name in fetched if "/static/js/PlotlyChart." in name]) == 1
    assert page.evaluate(f"() => window['{PRELOAD_FLAG}']") == "loaded"
