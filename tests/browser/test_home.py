"""The home page in a real browser: sample grid drawn, counts shown, no error."""
from playwright.sync_api import expect

from .conftest import open_page


def test_home_shows_real_mnist_samples(page, app_url):
    open_page(page, app_url)
    expect(page.get_by_text("MNIST Lab").first).to_be_visible()
    expect(page.locator('[data-testid="stMetricValue"]').nth(1)).to_have_text("60,000")
    images = page.locator('[data-testid="stImage"] img')
    expect(images).to_have_count(20)
    # Each sample is a real decoded image, not a broken link (wait until all have loaded).
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')].every(e => e.complete)")
    widths = images.evaluate_all("els => els.map(e => e.naturalWidth)")
    assert all(w == 84 for w in widths), widths
