"""The Inside the network page under AppTest, with the bundled MLP, the bundled CNN and a stored run.

Values shown are checked against the model itself: its predict / predict_proba, a feature
map value against the convolution written out, the Step button against the model's file. The
clickable charts are read from the SVG the click component received (``picker_svgs``) and
clicked by setting the component's state (``pick_state``), as the browser would.
"""
from __future__ import annotations

import re
from itertools import pairwise

import numpy as np
import pytest

from dashboard import code_html, html_charts, inside_inputs, jobs, models, state
from dashboard.svg_picker import pick_state
from experiments.store import RunStore
from nnlib.builders import build_cnn, build_mlp
from nnlib.data import load_mnist
from nnlib.introspect import model_fingerprint
from nnlib.layer_survey import survey_layers
from nnlib.model import Sequential
from tests.pages.helpers import (
    SVG_NAMESPACE,
    app_test,
    dotted_squares,
    markdown_table_rows,
    picker_svgs,
    ringed_square,
    svg_marks,
    svg_tree,
)
from tests.pages.test_predict import CANVAS_KEY, canvas_value, drawing

PAGE = "pages/inside.py"


@pytest.fixture(scope="module")
def mnist_test():
    data = load_mnist()
    return data.x_test, data.y_test


def need(path):
    if not path.is_file():
        pytest.skip(f"{path} is missing: build it with `make model`")
    return Sequential.load(path)


def inside_page(setup=None, timeout: float = 120):
    at = app_test("app.py", timeout)
    at.run()
    if setup:
        setup(at)
    at.switch_page(PAGE)
    return at.run()


def cnn_page(test_index: int):
    """The page on the bundled CNN, looking at test image ``test_index``."""
    return inside_page(lambda at: (at.session_state.__setitem__(state.INSIDE_MODEL_CHOICE, models.CNN_MODEL_NAME),
                                   at.session_state.__setitem__(state.INSIDE_TEST_INDEX, test_index)))


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def probability_table(at) -> np.ndarray:
    """The softmax probabilities the output layer's table writes out, class by class."""
    table = next(element.proto.body for element in at.get("html") if "softmax probability" in element.proto.body)
    numbers = html_charts.numbers_in(table)   # per class: its logit, then its probability
    return np.array([float(number) for number in numbers[1::2]])


def code_shown(at) -> str:
    """Every code panel's source, as the page shows it."""
    return " ".join(code_html.text_of(element.proto.body) for element in at.get("html")
                    if code_html.CODE_CLASS in element.proto.body)


def tip_numbers(svg: str) -> dict[str, float]:
    """Each clickable square's value, read from its tooltip (``"unit 17: 0.532"``), by its pick."""
    return {pick: float(tip.rsplit(": ", 1)[1]) for pick, tip in svg_marks(svg) if ": " in tip}


def markdown_text(at) -> str:
    return " ".join(element.value for element in at.markdown)


def first_misread(model, images, labels) -> int:
    predictions = model.predict(images[:2000].reshape(2000, -1) / 255.0)
    return int(np.flatnonzero(predictions != labels[:2000])[0])


def test_the_bundled_mlp_shows_its_answer_equations_shapes_and_code(mnist_test):
    model = need(models.DEFAULT_MODEL_PATH)
    images, labels = mnist_test
    index = 123
    at = inside_page(lambda at: at.session_state.__setitem__(state.INSIDE_TEST_INDEX, index))
    assert not at.exception
    expected = model.predict_proba(images[index].reshape(1, -1) / np.float32(255))[0]
    shown = metrics(at)
    assert shown["Prediction"] == str(int(np.argmax(expected)))
    assert shown["True label"] == str(labels[index])
    assert shown["Probability"] == f"{100 * expected.max():.2f}%"
    np.testing.assert_allclose(probability_table(at), expected, atol=1e-6)
    code = code_shown(at)
    assert "return x @ W + b" in code and "np.maximum(x, 0)" in code and "param -= self.learning_rate * grad" in code
    latex = " ".join(element.value for element in at.latex)
    assert "Z^{[1]} = W^{[1]} \\, X + b^{[1]}" in latex and "dZ^{[L]} = A - Y" in latex
    markdown = " ".join(element.value for element in at.markdown)
    # the mlp-record network [784, 512, 512, 10]
    assert "`W1: (512, 784)`" in markdown and "`X: (784, m)`" in markdown and "`W: (784, 512)`" in markdown
    assert "`W3: (10, 512)`" in markdown
    # the most active units named under the first layer are the largest activations
    hidden = np.maximum(images[index].reshape(1, -1) / np.float32(255) @ model.layers[0].params["W"]
                        + model.layers[0].params["b"], 0)[0]
    top = int(np.argmax(hidden))
    assert f"unit {top} ({hidden[top]:.2f})" in markdown


def test_three_steps_raise_the_true_class_probability_and_leave_the_bundled_model_alone(mnist_test):
    model = need(models.DEFAULT_MODEL_PATH)
    images, labels = mnist_test
    index = first_misread(model, images, labels)
    at = inside_page(lambda at: at.session_state.__setitem__(state.INSIDE_TEST_INDEX, index))
    bundled = models.default_predictor().model
    fingerprint = model_fingerprint(bundled)
    probability = float(model.predict_proba(images[index].reshape(1, -1) / np.float32(255))[0, labels[index]])
    key = f"Probability of the true class ({labels[index]})"
    assert metrics(at)[key] == f"{100 * probability:.2f}%"
    seen = [probability]
    for step in range(1, 4):
        at.button(key=state.INSIDE_STEP_BUTTON).click().run()
        assert not at.exception
        assert metrics(at)["Steps taken"] == str(step)
        session = at.session_state[state.INSIDE_STEP_SESSION]
        seen.append(session["probabilities"][-1])
        assert metrics(at)[key] == f"{100 * seen[-1]:.2f}%"
    assert all(later > earlier for earlier, later in pairwise(seen)), seen
    assert model_fingerprint(bundled) == fingerprint                       # the cached bundled model
    assert model_fingerprint(Sequential.load(models.DEFAULT_MODEL_PATH)) == model_fingerprint(model)   # its file
    assert session["model"] is not bundled
    at.button(key=state.INSIDE_RESET_BUTTON).click().run()
    assert metrics(at)["Steps taken"] == "0"


def test_the_bundled_cnn_explains_a_feature_map_pixel(mnist_test):
    model = need(models.CNN_MODEL_PATH)
    images, labels = mnist_test
    at = cnn_page(test_index=7)
    assert not at.exception
    x = images[7].reshape(1, -1) / np.float32(255)
    expected = model.predict_proba(x)[0]
    assert metrics(at)["Prediction"] == str(int(np.argmax(expected)))
    np.testing.assert_allclose(probability_table(at), expected, atol=1e-6)
    # the first convolution's pixel: the default is the strongest pixel of the strongest map
    conv = model.layers[1]
    image = x.reshape(28, 28)
    maps = np.stack([[[(image[i:i + 5, j:j + 5] * conv.params["W"][:, :, 0, c]).sum() + conv.params["b"][c]
                       for c in range(conv.out_channels)] for j in range(24)] for i in range(24)])
    # then the batch norm at inference, with the running averages kept while training, then the ReLU
    norm = model.layers[2]
    assert [norm.kind, model.layers[3].kind] == ["BatchNorm", "ReLU"]
    normalised = (maps - norm.buffers["running_mean"]) / np.sqrt(norm.buffers["running_var"] + norm.eps)
    scaled = norm.params["gamma"] * normalised + norm.params["beta"]
    relu = np.maximum(scaled, 0)
    channel = int(np.argmax(relu.max(axis=(0, 1))))
    row, col = np.unravel_index(np.argmax(relu[:, :, channel]), (24, 24))
    z, shown = maps[row, col, channel], relu[row, col, channel]
    captions = [c.value for c in at.caption if c.value.startswith("The feature map holds")]
    assert captions[0].startswith(f"The feature map holds {z:.4f} straight out of the convolution, "
                                  f"{scaled[row, col, channel]:.4f} after BatchNorm, {shown:.4f} after ReLU")
    assert any(f"Pixel (row {row}, col {col}) of map {channel}" in m.value for m in at.markdown)
    sums = [line.value for line in at.latex if "patch} \\odot" in line.value]
    assert sums[0].strip("$\n ").endswith(f"= {z:.4f}")
    norm_lines = [line.value for line in at.latex if "\\hat z = \\frac{" in line.value and "\\mu" not in line.value]
    assert f"{{{z:.4f} - ({norm.buffers['running_mean'][channel]:.4f})}}" in norm_lines[0]
    assert norm_lines[0].strip("$\n ").endswith(f"= {normalised[row, col, channel]:.4f}")
    scale_lines = [line.value.strip("$\n ") for line in at.latex if line.value.strip("$\n ").startswith("z' = ")]
    assert scale_lines[0].endswith(f"= {scaled[row, col, channel]:.4f}")       # on a line of its own
    assert any(line.value.strip("$\n ") == f"\\mathrm{{ReLU}}({scaled[row, col, channel]:.4f}) = {shown:.4f}"
               for line in at.latex)
    np.testing.assert_allclose(shown, model_map_value(model, x, (row, col, channel)), rtol=1e-4, atol=1e-6)
    code = code_shown(at)
    assert "cols @ self.params[\"W\"]" in code and "sliding_window_view" in code


def test_a_feature_map_picked_on_the_cnn_opens_its_kernel_and_strongest_pixel(mnist_test):
    model = need(models.CNN_MODEL_PATH)
    images, _ = mnist_test
    at = cnn_page(test_index=7)
    values = images[7].reshape(1, -1) / np.float32(255)
    for layer in model.layers[:4]:                                     # reshape, conv, batch norm, ReLU
        values = layer.forward(values, False)
    maps = values[0]
    strongest = np.argsort(-maps.max(axis=(0, 1)), kind="stable")
    assert any(f"Kernel {strongest[0]} of conv 1" in m.value for m in at.markdown)   # nothing picked: the strongest
    picked = int(strongest[3])
    at.pills(key=f"{state.INSIDE_CHANNEL_PREFIX}conv 1").set_value(picked).run()
    assert not at.exception
    row, col = np.unravel_index(np.argmax(maps[:, :, picked]), maps.shape[:2])
    markdown = " ".join(m.value for m in at.markdown)
    assert f"Kernel {picked} of conv 1" in markdown and f"Pixel (row {row}, col {col}) of map {picked}" in markdown
    named = next(c.value for c in at.caption if c.value.startswith("Strongest maps for this image"))
    assert named.startswith(f"Strongest maps for this image: map {strongest[0]} ({maps[:, :, strongest[0]].max():.2f})")


def model_map_value(model, x, where) -> float:
    """The first convolution stage's feature map after its activation, by the model's own layers."""
    values = x
    for layer in model.layers[:4]:
        values = layer.forward(values, False)
    return float(values[0][where])


@pytest.fixture()
def stored_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_HOME", str(tmp_path))
    jobs._store_or_problem.clear()
    model = build_mlp([24], seed=3)
    record = RunStore(tmp_path).import_model("tiny mlp", model)
    yield record, model
    jobs._store_or_problem.clear()


def test_a_stored_run_opens_with_its_own_answers(stored_run, mnist_test):
    record, model = stored_run
    images, _ = mnist_test
    label = f"Stored run: tiny mlp ({record.id[:8]})"
    at = inside_page(lambda at: (at.session_state.__setitem__(state.INSIDE_MODEL_CHOICE, label),
                                 at.session_state.__setitem__(state.INSIDE_TEST_INDEX, 5)))
    assert not at.exception
    assert at.selectbox(key=state.INSIDE_MODEL_CHOICE).value == label
    expected = model.predict_proba(images[5].reshape(1, -1) / np.float32(255))[0]
    np.testing.assert_allclose(probability_table(at), expected, atol=1e-6)
    assert metrics(at)["Prediction"] == str(int(np.argmax(expected)))
    markdown = " ".join(element.value for element in at.markdown)
    assert "`W1: (24, 784)`" in markdown and "`W2: (10, 24)`" in markdown
    # the dead-unit table counts what the survey of this model finds
    data = load_mnist()
    indices = np.sort(np.random.default_rng(0).choice(len(data.x_test), inside_inputs.SURVEY_SIZE, replace=False))
    inputs = data.x_test[indices].reshape(len(indices), -1) / np.float32(255)
    survey = survey_layers(model, inputs, data.y_test[indices])
    table = markdown_table_rows(at, "layer")
    assert [row["layer"] for row in table] == ["hidden 1"]
    assert [int(row["dead"]) for row in table] == [len(survey.stages[1].dead_units)]


def test_a_link_naming_a_stored_run_and_an_image_opens_them(stored_run, mnist_test):
    record, model = stored_run
    images, _ = mnist_test
    at = app_test("app.py", 120)
    at.run()
    at.switch_page(PAGE)
    at.query_params.update({"model": f"run:{record.id}", "image": "42"})
    at.run()
    assert not at.exception and not at.warning
    assert at.selectbox(key=state.INSIDE_MODEL_CHOICE).value == f"Stored run: tiny mlp ({record.id[:8]})"
    expected = model.predict_proba(images[42].reshape(1, -1) / np.float32(255))[0]
    np.testing.assert_allclose(probability_table(at), expected, atol=1e-6)
    assert at.query_params["model"] == f"run:{record.id}" and at.query_params["image"] == "42"


def test_the_predict_pages_drawing_is_carried_over_by_look_inside():
    need(models.DEFAULT_MODEL_PATH)
    at = app_test("app.py", 120)
    at.run()
    at.switch_page("pages/predict.py")
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    at.button[[b.label for b in at.button].index("Look inside the network with this picture")].click().run()
    assert not at.exception
    picture = at.session_state[state.INSIDE_PREDICT_PICTURE]
    assert picture.shape == (28, 28)
    assert at.radio(key=state.INSIDE_SOURCE).value == inside_inputs.PREDICT_PICTURE
    expected = models.default_predictor().model.predict_proba(picture.reshape(1, -1))[0]
    assert metrics(at)["Prediction"] == "1" == str(int(np.argmax(expected)))
    np.testing.assert_allclose(probability_table(at), expected, atol=1e-6)
    # no label for a drawing: the learning target is asked for, the predicted class by default
    assert at.selectbox(key=state.INSIDE_TRUE_CLASS).value == 1


def test_the_most_confidently_misread_images_are_misread(mnist_test):
    model = need(models.DEFAULT_MODEL_PATH)
    images, labels = mnist_test
    at = inside_page(lambda at: at.session_state.__setitem__(state.INSIDE_SOURCE, inside_inputs.MISREAD))
    assert not at.exception
    choice = at.selectbox(key=state.INSIDE_CONFUSED_CHOICE)
    assert len(choice.options) == inside_inputs.MISREAD_SHOWN
    index = int(choice.value)
    predicted = int(model.predict(images[index].reshape(1, -1) / np.float32(255))[0])
    assert predicted != labels[index]
    assert metrics(at)["Prediction"] == str(predicted)
    assert re.search(rf"a {labels[index]} read as {predicted} \(\d+\.\d% sure\)", choice.options[0] + " "
                     + " ".join(choice.options)) is not None


def test_the_text_toggle_switches_between_simple_words_and_maths():
    need(models.DEFAULT_MODEL_PATH)
    at = inside_page()
    simple = " ".join(m.value for m in at.markdown)
    assert "The network never sees a picture" in simple
    at.segmented_control(key=state.INSIDE_EXPLAIN_MODE).set_value("The maths").run()
    maths = " ".join(m.value for m in at.markdown)
    assert "flattened row-major" in maths and "The network never sees a picture" not in maths


def test_a_stored_batch_norm_cnn_opens_with_its_own_answers(tmp_path, monkeypatch, mnist_test):
    """BatchNorm layers ride along in their Dense or Conv2D stage; the page answers as the model does."""
    monkeypatch.setenv("MNIST_LAB_HOME", str(tmp_path))
    jobs._store_or_problem.clear()
    model = build_cnn((4, 8), (16,), seed=2, batch_norm=True)
    images, _ = mnist_test
    model.forward(images[:64].reshape(64, -1) / np.float32(255), training=True)   # running averages move off 0/1
    record = RunStore(tmp_path).import_model("tiny bn cnn", model)
    try:
        label = f"Stored run: tiny bn cnn ({record.id[:8]})"
        at = inside_page(lambda at: (at.session_state.__setitem__(state.INSIDE_MODEL_CHOICE, label),
                                     at.session_state.__setitem__(state.INSIDE_TEST_INDEX, 3)))
        assert not at.exception
        expected = model.predict_proba(images[3].reshape(1, -1) / np.float32(255))[0]
        np.testing.assert_allclose(probability_table(at), expected, atol=1e-6)
        assert "BatchNorm" in " ".join(element.value for element in [*at.markdown, *at.caption])
    finally:
        jobs._store_or_problem.clear()


def test_a_unit_clicked_on_the_strip_opens_its_card(mnist_test):
    model = need(models.DEFAULT_MODEL_PATH)
    images, _ = mnist_test
    at = inside_page(lambda at: at.session_state.__setitem__(state.INSIDE_TEST_INDEX, 123))
    assert not at.exception
    assert at.get("plotly_chart") == []                      # the page draws no Plotly chart
    hidden = np.maximum(images[123].reshape(1, -1) / np.float32(255) @ model.layers[0].params["W"]
                        + model.layers[0].params["b"], 0)[0]
    key = f"{state.INSIDE_UNIT_CHART_PREFIX}hidden 1"
    strip = picker_svgs(at)[key]
    values = tip_numbers(strip)
    assert list(values) == [str(unit) for unit in range(512)]
    np.testing.assert_allclose(list(values.values()), hidden, atol=5e-4)   # tooltips: 3 decimals
    strongest = int(np.argmax(hidden))
    assert ringed_square(strip) == str(strongest)            # nothing clicked: the most active unit
    assert f"**Unit {strongest} of hidden 1**: A = {hidden[strongest]:.3f}" in markdown_text(at)
    at.session_state[key] = pick_state("17")
    at.run()
    assert not at.exception
    assert f"**Unit 17 of hidden 1**: A = {hidden[17]:.3f}" in markdown_text(at)
    assert ringed_square(picker_svgs(at)[key]) == "17"
    assert f"Unit {strongest} of hidden 1" not in markdown_text(at)
    at.session_state[key] = pick_state("512")                # past the last unit: the default again
    at.run()
    assert f"**Unit {strongest} of hidden 1**" in markdown_text(at)


def cnn_first_maps(model, image: np.ndarray) -> np.ndarray:
    """The first convolution stage's feature maps after its activation, by the model's own layers."""
    values = image.reshape(1, -1) / np.float32(255)
    for layer in model.layers[:4]:                                     # reshape, conv, batch norm, ReLU
        values = layer.forward(values, False)
    return values[0]


def test_a_feature_map_pixel_clicked_is_explained(mnist_test):
    model = need(models.CNN_MODEL_PATH)
    images, _ = mnist_test
    at = cnn_page(test_index=7)
    assert not at.exception
    assert at.get("plotly_chart") == []
    maps = cnn_first_maps(model, images[7])
    channel = int(np.argmax(maps.max(axis=(0, 1))))
    channel_map = maps[:, :, channel]
    key = f"{state.INSIDE_PIXEL_CHART_PREFIX}conv 1"
    pixels = picker_svgs(at)[key]
    values = tip_numbers(pixels)
    assert list(values) == [f"{r},{c}" for r in range(24) for c in range(24)]
    np.testing.assert_allclose(list(values.values()), channel_map.ravel(), atol=5e-4)
    row, col = np.unravel_index(np.argmax(channel_map), channel_map.shape)
    assert ringed_square(pixels) == f"{row},{col}"
    # the dots: each 2x2 window's largest value, where it is above 0
    window_max = channel_map.reshape(12, 2, 12, 2).max(axis=(1, 3)).repeat(2, axis=0).repeat(2, axis=1)
    kept = (channel_map == window_max) & (channel_map > 0)
    assert dotted_squares(pixels) == {f"{r},{c}" for r, c in zip(*np.nonzero(kept), strict=True)}
    assert 0 < len(dotted_squares(pixels)) <= 144
    # a click on another strong pixel (off the diagonal: row and col cannot be mixed up unseen)
    order = zip(*np.unravel_index(np.argsort(-channel_map, axis=None, kind="stable"), channel_map.shape), strict=True)
    second = next((int(r), int(c)) for r, c in order if r != c and (r, c) != (row, col))
    at.session_state[key] = pick_state(f"{second[0]},{second[1]}")
    at.run()
    assert not at.exception
    markdown = markdown_text(at)
    assert f"Pixel (row {second[0]}, col {second[1]}) of map {channel}" in markdown
    assert f"Pixel (row {row}, col {col})" not in markdown
    assert ringed_square(picker_svgs(at)[key]) == f"{second[0]},{second[1]}"
    held = next(c.value for c in at.caption if c.value.startswith("The feature map holds"))
    assert held.endswith(f"{channel_map[second]:.4f} after ReLU: the same numbers, computed by nnlib's layers.")
    at.session_state[key] = pick_state("30,2")               # outside this 24x24 map: the strongest again
    at.run()
    assert f"Pixel (row {row}, col {col}) of map {channel}" in markdown_text(at)


def surveyed_indices() -> np.ndarray:
    """The test images the page surveys, in its order (a fixed random sample)."""
    data = load_mnist()
    return np.sort(np.random.default_rng(0).choice(len(data.x_test), inside_inputs.SURVEY_SIZE, replace=False))


def test_the_layer_maps_are_drawn_when_asked_for_and_a_clicked_point_shows_its_image(mnist_test):
    model = need(models.DEFAULT_MODEL_PATH)
    images, labels = mnist_test
    at = inside_page()
    assert not at.exception
    assert state.INSIDE_MAP_CHART not in picker_svgs(at)               # no maps before the toggle
    at.toggle(key=state.INSIDE_SHOW_MAPS).set_value(True).run()
    assert not at.exception
    assert at.get("plotly_chart") == []
    root = svg_tree(picker_svgs(at)[state.INSIDE_MAP_CHART])
    panels = [area for area in root.iter(f"{SVG_NAMESPACE}svg") if "data-zoom-area" in area.attrib]
    texts = [t.text for t in root.iter(f"{SVG_NAMESPACE}text")]
    assert texts[0:8:2] == ["input", "hidden 1", "hidden 2", "logits"]
    assert all(re.fullmatch(r"PC1\+PC2: \d+% of variance", text) for text in texts[1:8:2])
    assert len(panels) == 4
    # every panel: the first 250 surveyed images, in order, each with its class and its index
    indices = surveyed_indices()[:250]
    expected = [(str(p), f"class {labels[i]} · image #{i}") for p, i in enumerate(indices)]
    for area in panels:
        points = list(area.iter(f"{SVG_NAMESPACE}circle"))
        assert [(c.get("data-pick"), c.findtext(f"{SVG_NAMESPACE}title")) for c in points] == expected
    assert len({label for label in labels[indices]}) == 10
    assert any(info.value == "Click a point to see its image." for info in at.info)
    at.session_state[state.INSIDE_MAP_CHART] = pick_state("40")
    at.run()
    assert not at.exception
    index = int(indices[40])
    predicted = int(model.predict(images[index].reshape(1, -1) / np.float32(255))[0])
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert f"#{index}: label {labels[index]}, read as {predicted}" in captions
    assert not any(info.value == "Click a point to see its image." for info in at.info)
