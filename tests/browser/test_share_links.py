"""A shared Train link opened in a fresh browser: every control shows what the link encodes;
a garbage link opens with the defaults and a note naming what was ignored."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

from playwright.sync_api import expect

from dashboard import share_links
from dashboard import train_controls as controls

from .conftest import open_page

EXPECT_MS = 15_000  # the machine is shared: a rerun can take a few seconds

TRAIN_LINK = {
    "net": "cnn", "conv": "8-64", "layers": "512-64-16", "act": "tanh", "init": "glorot", "dropout": "0.15",
    "opt": "momentum", "lr": "0.02", "momentum": "0.8", "batch": "full", "epochs": "12", "l2": "0.0001",
    "schedule": "cosine", "seed": "4242", "n": "5000", "val": "0.1", "split_seed": "3", "scale": "standardize",
}


def shown_value(page, control: controls.Control, value) -> str:
    """What the widget of ``control`` shows for ``value`` (its option's name, or the number)."""
    if control.widget in ("slider", "select_slider") and isinstance(value, float):
        return f"{value:.2f}" if control.widget == "slider" else control.format(value)
    return control.format(value) if control.widget != "number_input" else str(value)


def expect_control(page, key: str, widget: str, text: str) -> None:
    container = page.locator(f".st-key-{key}")
    if widget == "radio":
        chosen = container.locator('[data-testid="stRadioOption"][data-selected="true"]')
        expect(chosen).to_have_text(text, timeout=EXPECT_MS)
    elif widget in ("selectbox", "number_input"):
        expect(container.locator("input")).to_have_value(text, timeout=EXPECT_MS)
    elif widget == "toggle":
        expect(container.locator('input[type="checkbox"]')).to_be_checked(checked=text == "on", timeout=EXPECT_MS)
    else:
        expect(container.locator('[data-testid="stSliderThumbValue"]')).to_have_text(text, timeout=EXPECT_MS)


def expect_controls(page, values: dict) -> None:
    """Every control of the field table, and each layer's size, shows ``values``."""
    hidden = {controls.CONV_LAYERS.count.key} if values[controls.NETWORK.key] != controls.CNN else set()
    if values[controls.OPTIMIZER.key] != "momentum":
        hidden.add(controls.MOMENTUM.key)
    for control in controls.CONTROLS:
        if control.key not in hidden:
            expect_control(page, control.key, control.widget, shown_value(page, control, values[control.key]))
    for stack in controls.STACKS:
        if stack is controls.CONV_LAYERS and values[controls.NETWORK.key] != controls.CNN:
            continue
        for index in range(1, int(values[stack.count.key]) + 1):
            expect_control(page, stack.item_key(index), "select_slider", str(values[stack.item_key(index)]))


def test_a_shared_train_link_sets_every_control(page, app_url):
    open_page(page, app_url, "train?" + urlencode(TRAIN_LINK))
    decoded, problems = share_links.decode_train(TRAIN_LINK)
    assert problems == [] and len({c.key for c in controls.CONTROLS} - set(decoded)) == 0
    expect_controls(page, {**controls.default_values(), **decoded})
    assert page.get_by_text("were not used").count() == 0
    data_line = page.locator('[data-testid="stMarkdownContainer"]', has_text="Data:").first
    expect(data_line).to_contain_text("the first 5,000 training images", timeout=EXPECT_MS)
    expect(data_line).to_contain_text("4,500 to train on, 500 for validation", timeout=EXPECT_MS)
    # the URL still is the link, and the copy-link popover offers it in full
    assert parse_qs(urlparse(page.url).query) == {key: [value] for key, value in TRAIN_LINK.items()}
    page.get_by_text("Copy link to this setup").click()
    expect(page.locator('[data-testid="stCode"]').last).to_contain_text(
        f"{app_url}/train?net=cnn&conv=8-64&layers=512-64-16", timeout=EXPECT_MS)


def test_a_garbage_link_opens_with_defaults_and_a_note(page, app_url):
    open_page(page, app_url, "train?lr=banana&layers=3-4&opt=rmsprop&epochs=-3&seed=x&colour=red")
    note = page.locator('[data-testid="stAlertContentWarning"]')
    for named in ("lr='banana'", "layers='3-4'", "opt='rmsprop'", "epochs='-3'", "seed='x'", "colour"):
        expect(note).to_contain_text(named, timeout=EXPECT_MS)
    expect_controls(page, controls.default_values())
    expect(page.locator(".st-key-train_learning_rate")).to_contain_text("0.001", timeout=EXPECT_MS)
