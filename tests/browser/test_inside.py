"""Inside the network in a real browser: pick a misread test image, walk its layers, step three
times and watch the true class's probability rise; the same with the bundled CNN.

The page's open time (after a first visit has filled the caches) and each Step's answer time
are measured and printed (run with ``-s`` to see them); they are not asserted, as a loaded
2-core CI machine makes timings noisy. A screenshot of each view is saved under
``tests/browser/artifacts/inside/``.

The clickable charts (units, feature-map pixels, the layer maps) are inline SVG shown by the
page's own small component (:mod:`dashboard.svg_picker`): a click on a mark with ``data-pick``
reaches the script, and no Plotly chart is drawn.
"""
from __future__ import annotations

import re
import time
from itertools import pairwise

import numpy as np
import pytest
from playwright.sync_api import expect

from dashboard.code_html import CODE_CLASS
from dashboard.inside_inputs import SURVEY_SIZE
from dashboard.models import CNN_MODEL_PATH, DEFAULT_MODEL_PATH
from nnlib.data import load_mnist
from nnlib.model import Sequential
from tests.browser.conftest import ARTIFACTS, SETTLE_TIMEOUT_MS

expect.set_options(timeout=SETTLE_TIMEOUT_MS)   # a busy machine takes more than expect's default 5 s to rerun
SHOTS = ARTIFACTS / "inside"
FIRST_VISIT_TIMEOUT_MS = 120_000
STATUS = '[data-testid="stStatusWidget"]'
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def misread_index():
    """A test image the bundled MLP misreads (among the first 2,000) and its label."""
    if not DEFAULT_MODEL_PATH.is_file():
        pytest.skip(f"{DEFAULT_MODEL_PATH} is missing: build it with `make model`")
    model = Sequential.load(DEFAULT_MODEL_PATH)
    data = load_mnist()
    images = data.x_test[:2000].reshape(2000, -1) / np.float32(255)
    index = int(np.flatnonzero(model.predict(images) != data.y_test[:2000])[0])
    return index, int(data.y_test[index])


def charts(page):
    """The page's clickable charts: the SVG each click component holds (inside its shadow root)."""
    return page.locator(".svg-picker > svg")


def settle(page, timeout: float = SETTLE_TIMEOUT_MS) -> int:
    """Wait until the script has finished and every chart is drawn; return the number of charts."""
    expect(page.locator('[data-testid="stApp"]')).to_be_visible(timeout=timeout)
    expect(page.get_by_role("heading", name="Dead and saturated units")).to_be_visible(timeout=timeout)
    expect(page.locator(STATUS)).to_have_count(0, timeout=timeout)
    expect(charts(page).first).to_be_visible(timeout=timeout)
    assert page.locator(".js-plotly-plot").count() == 0      # no Plotly chart on the page
    return charts(page).count()


def uncovered_point(maps):
    """A point of the layer maps no later point covers (a click on it reaches it), from the 40th on."""
    uncovered = maps.locator("circle[data-pick]").evaluate_all("""points => points.findIndex((p, i) => {
        const r = p.getBoundingClientRect();
        return i >= 40 && p.getRootNode().elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === p;
    })""")
    assert uncovered >= 0
    return maps.locator("circle[data-pick]").nth(uncovered)


def surveyed_index(position: int) -> int:
    """The test-set index of the surveyed image at ``position`` (the page's fixed random sample)."""
    return int(np.sort(np.random.default_rng(0).choice(10_000, SURVEY_SIZE, replace=False))[position])


def timed_open(page, url: str, expected_charts: int) -> float:
    """Seconds from asking for the page to every one of its charts drawn and the script done."""
    started = time.perf_counter()
    page.goto(url)
    expect(charts(page)).to_have_count(expected_charts, timeout=FIRST_VISIT_TIMEOUT_MS)
    settle(page)
    return time.perf_counter() - started


def metric_value(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def true_class_probability(page) -> float:
    return float(metric_value(page, "Probability of the true class").rstrip("%"))


def shot(page, name: str, heading: str | None = None, text: str | None = None) -> None:
    """A screenshot of the view that starts at ``heading`` (or at ``text``) into the artifacts folder."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = page.get_by_role("heading", name=heading).first if heading else page.get_by_text(text).first
    target.scroll_into_view_if_needed()
    target.evaluate("element => element.scrollIntoView({block: 'start'})")
    page.mouse.move(5, 5)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def step_three_times(page, model: str) -> list[float]:
    """Press Step three times; return the true-class probability before and after each step."""
    seen = [true_class_probability(page)]
    step = page.get_by_role("button", name="Step")
    for count in range(1, 4):
        started = time.perf_counter()
        step.click()
        expect(page.locator('[data-testid="stMetric"]').filter(has_text="Steps taken")
               .locator('[data-testid="stMetricValue"]')).to_have_text(str(count), timeout=SETTLE_TIMEOUT_MS)
        TIMINGS[f"{model} step {count}"] = time.perf_counter() - started
        expect(page.locator(STATUS)).to_have_count(0)
        seen.append(true_class_probability(page))
    return seen


def choose_model(page, name: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").click()
    page.get_by_role("option", name=name).click()


def test_walk_an_mlp_through_its_layers_and_learn_three_steps(page, app_url, misread_index):
    index, label = misread_index
    started = time.perf_counter()
    page.goto(f"{app_url}/inside")
    count = settle(page, FIRST_VISIT_TIMEOUT_MS)
    TIMINGS["MLP first visit"] = time.perf_counter() - started
    # The code panels are coloured on the server and the output layer is a plain table: the page
    # needs neither Streamlit's syntax highlighter nor its data grid (1.5 and 1.2 MB of script).
    fetched = page.evaluate("() => performance.getEntriesByType('resource').map(r => r.name)")
    assert not [name for name in fetched if re.search(r"/(StreamlitSyntaxHighlighter|DataFrame)\.", name)], fetched
    code = page.locator(f"pre.{CODE_CLASS}").filter(has_text="return x @ W + b").first
    expect(code).to_be_visible()
    assert code.locator("span").count() > 10   # coloured token by token
    table = page.locator("div").filter(has_text="softmax probability").last
    expect(table).to_contain_text("logit Z3")   # the bundled MLP has two hidden layers
    TIMINGS["MLP open after the first visit"] = timed_open(page, f"{app_url}/inside", count)

    box = page.get_by_label(re.compile(r"Index in the test set"))
    box.fill(str(index))
    box.press("Enter")
    expect(page.get_by_text(f"Looking inside with test image #{index}, label {label}.")).to_be_visible()
    settle(page)
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="True label")).to_contain_text("misread")
    shot(page, "mlp_1_input", heading="The input: 784 numbers")

    # a first-layer unit clicked: its 784 weights as a 28x28 image
    strip = charts(page).filter(has_text="A1 = ReLU(Z1)")
    expect(strip).to_have_count(1)
    tip = strip.locator('[data-pick="5"] title').text_content()
    strip.locator('[data-pick="5"]').click()
    expect(page.get_by_text("Unit 5 of hidden 1")).to_be_visible(timeout=SETTLE_TIMEOUT_MS)
    settle(page)
    value = re.fullmatch(r"unit 5: (-?\d+\.\d+)", tip).group(1)
    expect(page.get_by_text(f"Unit 5 of hidden 1: A = {value} for this image")).to_be_visible()
    ring = strip.locator(".selected")      # the strip, redrawn, rings the unit shown
    assert float(ring.get_attribute("x")) == float(strip.locator('[data-pick="5"]').get_attribute("x")) - 1.5
    weights = page.locator('[data-testid="stImage"]').filter(has_text="its 784 weights as 28x28")
    expect(weights).to_have_count(1)
    expect(weights.locator("img")).to_have_js_property("naturalWidth", 196)
    shot(page, "mlp_2_first_layer_unit_weights", text="Unit 5 of hidden 1")
    # a deeper unit clicked: the test images that excite it most
    charts(page).filter(has_text="A2 = ReLU(Z2)").locator('[data-pick="3"]').click()
    expect(page.get_by_text("Unit 3 of hidden 2")).to_be_visible(timeout=SETTLE_TIMEOUT_MS)
    settle(page)
    shot(page, "mlp_3_deeper_unit_top_images", text="Unit 3 of hidden 2")
    shot(page, "mlp_4_logits_softmax", heading=re.compile(r"the logits\), then softmax"))

    seen = step_three_times(page, "MLP")
    assert all(later > earlier for earlier, later in pairwise(seen)), seen
    # The probability line is inline SVG: each step's point carries its value as a tooltip.
    tips = page.locator("svg circle title").all_text_contents()
    assert [tip.split(":")[0] for tip in tips] == ["step 0", "step 1", "step 2", "step 3"], tips
    assert float(tips[-1].split(": ")[1].rstrip("%")) == pytest.approx(seen[-1], abs=0.01)
    settle(page)
    shot(page, "mlp_5_backward_three_steps", heading="Backward: one step of learning")
    shot(page, "mlp_6_backward_first_layer_dW", text="The first layer's weights")

    page.get_by_text("Show the layer maps").click()
    maps = charts(page).filter(has_text="PC1+PC2")
    expect(maps).to_have_count(1, timeout=SETTLE_TIMEOUT_MS)
    settle(page)
    expect(maps.locator('circle[data-pick="40"]')).to_have_count(4)   # the same image in each of the 4 panels
    maps.scroll_into_view_if_needed()
    point = uncovered_point(maps)
    shown = surveyed_index(int(point.get_attribute("data-pick")))
    assert point.locator("title").text_content() == f"class {load_mnist().y_test[shown]} · image #{shown}"
    point.click()
    expect(page.get_by_text("Click a point to see its image.")).to_have_count(0, timeout=SETTLE_TIMEOUT_MS)
    expect(page.locator('[data-testid="stImage"]').filter(has_text=f"#{shown}: label ")).to_have_count(1)
    settle(page)
    shot(page, "mlp_7_layer_maps", heading="What the layers learned")
    shot(page, "mlp_8_dead_units", heading="Dead and saturated units")
    print(f"\nMLP, test image #{index} (label {label}): P(true class) {seen}")


def test_walk_the_cnn_and_explain_a_feature_map_pixel(page, app_url, misread_index):
    if not CNN_MODEL_PATH.is_file():
        pytest.skip(f"{CNN_MODEL_PATH} is missing: build it with `make model`")
    index, label = misread_index
    page.goto(f"{app_url}/inside")
    settle(page, FIRST_VISIT_TIMEOUT_MS)
    started = time.perf_counter()
    choose_model(page, "Bundled CNN")
    expect(page.get_by_role("heading", name=re.compile(r"Layer 1: convolution"))).to_be_visible(
        timeout=FIRST_VISIT_TIMEOUT_MS)
    cnn_charts = settle(page, FIRST_VISIT_TIMEOUT_MS)
    TIMINGS["CNN first visit (model switched)"] = time.perf_counter() - started
    # A new visit starts on the MLP (a reload is a new session): time the switch back to the CNN.
    choose_model(page, "Bundled MLP (default)")
    expect(page.get_by_role("heading", name=re.compile(r"Layer 1: convolution"))).to_have_count(0)
    settle(page)
    started = time.perf_counter()
    choose_model(page, "Bundled CNN")
    expect(charts(page)).to_have_count(cnn_charts, timeout=SETTLE_TIMEOUT_MS)
    expect(page.get_by_role("heading", name=re.compile(r"Layer 1: convolution"))).to_be_visible()
    settle(page)
    TIMINGS["CNN open after the first visit (model switched)"] = time.perf_counter() - started

    box = page.get_by_label(re.compile(r"Index in the test set"))
    box.fill(str(index))
    box.press("Enter")
    expect(page.get_by_text(f"Looking inside with test image #{index}, label {label}.")).to_be_visible()
    settle(page)
    shot(page, "cnn_1_feature_maps", heading=re.compile(r"Layer 1: convolution"))
    pixel_map = charts(page).filter(has_text="click a pixel").first
    pixel_map.locator('[data-pick="12,10"]').click()
    expect(page.get_by_text("Pixel (row 12, col 10) of map")).to_be_visible(timeout=SETTLE_TIMEOUT_MS)
    settle(page)
    held = page.get_by_text(re.compile(r"The feature map holds")).first.inner_text()
    value = re.search(r"holds (-?\d+\.\d+)", held).group(1)
    expect(page.locator(".katex").filter(has_text=f"= {value}").first).to_be_visible()
    shot(page, "cnn_2_pixel_explained_and_max_pool", text="Pixel (row 12, col 10) of map")
    shot(page, "cnn_3_second_convolution", heading=re.compile(r"Layer 2: convolution"))
    seen = step_three_times(page, "CNN")
    assert all(later > earlier for earlier, later in pairwise(seen)), seen
    settle(page)
    shot(page, "cnn_4_backward_three_steps", heading="Backward: one step of learning")
    shot(page, "cnn_5_layer_maps", heading="What the layers learned")
    print(f"\nCNN, test image #{index} (label {label}): P(true class) {seen}")


def test_print_timings():
    """Print what the tests above measured (seconds)."""
    print("\nInside the network, measured in the browser: "
          + ", ".join(f"{name}: {seconds:.2f} s" for name, seconds in TIMINGS.items()))
