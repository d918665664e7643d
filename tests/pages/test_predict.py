"""The Predict page under AppTest: drawings injected through the canvas's session state.

AppTest cannot render the canvas component; it keeps the component's value under its key,
so a test writes a drawing there in the shape streamlit-drawable-canvas 0.13 keeps
(``{"drawing": {"raw": ..., "data": "data:image/png;base64,..."}, "backgroundFit": None}``).
"""
from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from dashboard import models, predict_charts, state
from dashboard.runs import RunRecord
from nnlib.builders import build_mlp
from nnlib.imaging import to_mnist_style
from nnlib.model import Sequential
from nnlib.preprocessing import Scaler
from tests.pages.helpers import app_test, plotly_figures

CANVAS_KEY = f"{state.PREDICT_CANVAS_PREFIX}0"


@pytest.fixture(scope="module")
def default_model_path():
    path = models.DEFAULT_MODEL_PATH
    if not path.is_file():
        pytest.skip(f"the default model {path} is missing: build it with `make model`")
    return path


def drawing(shape: str, size: int = 280) -> np.ndarray:
    """A canvas-like RGBA drawing (white strokes on opaque black) of a 1, a 0 or a small 7."""
    picture = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    draw = ImageDraw.Draw(picture)
    white = (255, 255, 255, 255)
    if shape == "1":
        draw.line([(140, 40), (140, 240)], fill=white, width=20)
    elif shape == "0":
        draw.ellipse([85, 40, 195, 240], outline=white, width=20)
    elif shape == "small 7":   # in the top-left corner, a fifth of the canvas tall
        draw.line([(20, 20), (70, 20), (40, 80)], fill=white, width=10)
    return np.asarray(picture)


def canvas_value(image: np.ndarray) -> dict:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"drawing": {"raw": {"objects": []}, "data": url}, "backgroundFit": None}


def predict_page():
    """An AppTest on the Predict page (started from app.py so the sidebar's page links resolve)."""
    at = app_test("app.py")
    at.switch_page("pages/predict.py")
    return at


def svg_charts(at) -> list[str]:
    """The page's inline SVG charts (markdown elements holding an ``<svg>``)."""
    return [m.value for m in at.markdown if m.value.startswith("<svg")]


def chart_titled(at, title: str) -> str:
    """The SVG chart whose own ``<title>`` starts with ``title``."""
    for chart in svg_charts(at):
        if re.match(r'<svg[^>]*><title>' + re.escape(title), chart):
            return chart
    raise AssertionError(f"no chart titled {title!r}")


def tooltips(chart: str, css_class: str) -> list[str]:
    """The tooltip texts of the shapes of ``css_class`` in ``chart``."""
    return re.findall(r'class="' + css_class + r'"[^>]*>\s*<title>([^<]*)</title>', chart)


def shown_probabilities(at) -> np.ndarray:
    """The probability chart's values, read back from each column's tooltip ("3: 0.12%")."""
    return np.array([float(t.rsplit(": ", 1)[1].rstrip("%")) / 100
                     for t in tooltips(chart_titled(at, "probability of each class"), "probability")])


def png_pixels(url: str) -> np.ndarray:
    """A ``data:image/png`` URL's pixels."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def saliency_input(at) -> np.ndarray:
    """The grey 28x28 picture under the saliency map, in 0-1."""
    url = re.search(r'<image href="([^"]+)"', chart_titled(at, "saliency")).group(1)
    return png_pixels(url)[:, :, 0] / 255


def saliency_tooltips(at) -> dict[tuple[int, int], float]:
    """The saliency map's tooltips ("row 3, col 4: 0.0123"): pixel -> gradient."""
    found = re.findall(r"<title>row (\d+), col (\d+): ([^<]+)</title>", chart_titled(at, "saliency"))
    return {(int(row), int(col)): float(value) for row, col, value in found}


def step_titles(at) -> list[str]:
    """The preprocessing strip's step titles, as written (the second line joined with a space)."""
    strip = chart_titled(at, "the preprocessing steps")
    titles = re.findall(r'class="step-title"[^>]*>(.*?)</text>', strip)
    return [re.sub(r"<tspan[^>]*>", " ", t).replace("</tspan>", "") for t in titles]


def shown_digit(at) -> str | None:
    for element in at.markdown:
        match = re.search(r'class="predicted-digit">([^<]*)<', element.value)
        if match:
            return match.group(1)
    return None


def test_empty_canvas_asks_for_a_drawing_and_predicts_nothing(default_model_path):
    at = predict_page().run()
    assert not at.exception
    assert any("Draw a digit" in info.value for info in at.info)
    assert shown_digit(at) is None
    assert not plotly_figures(at)                       # the page needs no Plotly
    assert not shown_probabilities(at).any()            # the bars hold their place, all zero


def test_a_drawn_one_is_read_as_one_with_probabilities_and_steps(default_model_path):
    at = predict_page()
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    assert not at.exception
    assert shown_digit(at) == "1"
    probabilities = shown_probabilities(at)
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1, abs=5e-4)
    assert int(np.argmax(probabilities)) == 1
    coloured = dict(re.findall(r'fill="(#[0-9A-F]+)"><title>([^:]+):', chart_titled(at, "probability of each class")))
    assert coloured[predict_charts.ANSWER_COLOR] == "1"
    runner_up = coloured[predict_charts.RUNNER_UP_COLOR]   # the runner-up's column and text agree
    assert any(f"**Runner-up:** {runner_up} " in m.value for m in at.markdown)
    titles = step_titles(at)
    assert len(titles) == 5 and titles[-1].startswith("Network input")
    assert len(re.findall(r'<image href="data:image/png;base64,', chart_titled(at, "the preprocessing steps"))) == 5
    # the saliency map lies over exactly the 28x28 image the network was given
    expected = to_mnist_style(drawing("1")).image
    np.testing.assert_allclose(saliency_input(at), expected, atol=1 / 255)
    # the strongest pixels carry their gradient: the answer's score's, as the model computes it
    predictor = models.default_predictor()
    network_input = predictor.scaler.transform(expected.reshape(1, 784), already_unit=True).astype(np.float32)
    gradient = predictor.model.input_gradient(network_input, 1)[0].reshape(28, 28)
    tips = saliency_tooltips(at)
    assert len(tips) == predict_charts.TOOLTIP_PIXELS
    for (row, col), value in tips.items():
        assert value == pytest.approx(gradient[row, col], rel=5e-3, abs=1e-6)   # written to 3 digits
    cutoff = np.sort(np.abs(gradient), axis=None)[-predict_charts.TOOLTIP_PIXELS]
    assert min(abs(value) for value in tips.values()) >= cutoff * 0.999
    assert not plotly_figures(at)


def test_a_drawn_zero_is_read_as_zero(default_model_path):
    at = predict_page()
    at.session_state[CANVAS_KEY] = canvas_value(drawing("0"))
    at.run()
    assert not at.exception and shown_digit(at) == "0"


def test_switching_steps_off_changes_the_network_input(default_model_path):
    at = predict_page()
    at.session_state[CANVAS_KEY] = canvas_value(drawing("small 7"))
    at.run()
    assert shown_digit(at) == "7"
    for key in (state.PREDICT_CROP, state.PREDICT_FIT_20, state.PREDICT_CENTER_OF_MASS):
        at.toggle(key=key).set_value(False)
    at.run()
    assert not at.exception
    assert any("squashed into 28x28" in c.value for c in at.caption)
    plain = to_mnist_style(drawing("small 7"), crop=False, fit_20=False, center_of_mass=False).image
    np.testing.assert_allclose(saliency_input(at), plain, atol=1 / 255)
    assert any(t.startswith("Not cropped") for t in step_titles(at))
    assert "Placed in 28x28 by the middle of its box" in step_titles(at)


def test_clear_gives_a_fresh_empty_canvas(default_model_path):
    at = predict_page()
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    assert shown_digit(at) == "1"
    next(b for b in at.button if "Clear" in b.label).click().run()
    assert at.session_state[state.PREDICT_CANVAS_GENERATION] == 1
    assert shown_digit(at) is None
    assert any("Draw a digit" in info.value for info in at.info)


def test_random_test_image_shows_its_true_label_and_the_answer(default_model_path, mnist):
    at = predict_page()
    at.session_state[state.PREDICT_RANDOM_INDEX] = 0          # MNIST test image 0 is a 7
    at.run()
    at.radio(key=state.PREDICT_SOURCE).set_value("Random test image").run()
    assert not at.exception
    assert int(mnist.y_test[0]) == 7
    assert shown_digit(at) == "7"
    assert any("True label: 7 ✅" in c.value for c in at.caption)
    next(b for b in at.button if "Another test image" in b.label).click().run()
    assert 0 <= at.session_state[state.PREDICT_RANDOM_INDEX] < 10_000


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_uploaded_black_on_white_photo_is_read(default_model_path):
    at = predict_page()
    at.run()
    at.radio(key=state.PREDICT_SOURCE).set_value("Upload an image").run()
    black_on_white = 255 - drawing("0")[:, :, :3]
    at.file_uploader(key=state.PREDICT_UPLOAD).set_value(("zero.png", png_bytes(black_on_white), "image/png")).run()
    assert not at.exception and not at.error
    assert shown_digit(at) == "0"


def test_a_bad_upload_shows_an_error_and_the_page_keeps_running(default_model_path):
    at = predict_page()
    at.run()
    at.radio(key=state.PREDICT_SOURCE).set_value("Upload an image").run()
    at.file_uploader(key=state.PREDICT_UPLOAD).set_value(("digit.png", b"this is not a picture", "image/png")).run()
    assert not at.exception
    assert any("Could not read digit.png" in e.value and "not an image" in e.value for e in at.error)
    assert shown_digit(at) is None
    at.radio(key=state.PREDICT_SOURCE).set_value("Draw").run()
    assert not at.exception and any("Draw a digit" in info.value for info in at.info)


@pytest.mark.parametrize("content, message", [(None, "missing"), (b"PK\x03\x04 not really a zip", "damaged")])
def test_a_missing_or_damaged_default_model_is_explained(tmp_path, monkeypatch, content, message):
    path = tmp_path / "default.npz"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setattr(models, "DEFAULT_MODEL_PATH", path)
    at = predict_page()
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    assert not at.exception
    assert any(message in e.value and "make model" in e.value for e in at.error)
    assert shown_digit(at) is None
    # the steps are still shown: the preprocessing needs no model
    assert len(step_titles(at)) == 4


def make_run(run_id: str, name: str, model: Sequential) -> RunRecord:
    return RunRecord(id=run_id, name=name, model=model, train_config=None, preprocess_config=None,
                     scaler=Scaler("unit"), result=None)


def test_the_active_run_answers_and_all_runs_are_side_by_side(default_model_path):
    default = Sequential.load(default_model_path)
    untrained = build_mlp([16], seed=0)
    at = predict_page()
    at.session_state[state.RUNS] = [make_run("a", "Run 1: default copy", default), make_run("b", "Run 2: untrained", untrained)]
    at.session_state[state.ACTIVE_RUN_ID] = "b"
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    assert not at.exception
    assert any("Answered by **Run 2: untrained**" in c.value for c in at.caption)
    untrained_answer = int(np.argmax(untrained.predict_proba(to_mnist_style(drawing("1")).image.reshape(1, 784))))
    assert shown_digit(at) == str(untrained_answer)
    side_by_side = {m.label: m.value for m in at.metric}
    expected = {"Run 2: untrained": str(untrained_answer), "Run 1: default copy": "1", models.DEFAULT_MODEL_NAME: "1"}
    if models.CNN_MODEL_PATH.is_file():
        expected[models.CNN_MODEL_NAME] = "1"
    assert side_by_side == expected
    compare = chart_titled(at, "the probabilities of each model")
    assert re.findall(r'class="legend"[^>]*>([^<]*)<', compare) == list(side_by_side)
    for name, answer in side_by_side.items():      # each model's tallest column is its answer
        shown = [float(t.rsplit(": ", 1)[1].rstrip("%")) for t in tooltips(compare, "model-probability")
                 if t.startswith(f"{name}, ")]
        assert len(shown) == 10 and str(int(np.argmax(shown))) == answer


def test_steps_strip_marks_the_box_and_the_centre_of_mass():
    from dashboard.predict_charts import TILE, steps_strip

    result = to_mnist_style(drawing("small 7"))
    steps = result.steps + [("Network input", result.image)]
    strip = steps_strip(steps, result.bbox, result.center_of_mass, mark_steps=(3, 4))
    frames = re.findall(r'<rect class="frame" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', strip)
    assert len(frames) == len(steps)                   # a frame per step, each TILE on its longer side
    assert all(max(float(w), float(h)) == pytest.approx(TILE) for _, _, w, h in frames)
    assert strip.count('class="centre-of-mass"') == 2  # a cross on each marked step
    assert len(re.findall(r'<g class="centre-of-mass".*?</g>', strip)[0].split("<line")) == 3   # of two lines
    (box,) = re.findall(r'<rect class="ink-box" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', strip)
    top, left, bottom, right = result.bbox              # drawn on the 280x280 input, shown TILE wide
    assert float(box[2]) == pytest.approx((right - left) * TILE / 280, abs=0.01)
    assert float(box[3]) == pytest.approx((bottom - top) * TILE / 280, abs=0.01)
    assert float(box[0]) == pytest.approx(float(frames[0][0]) + left * TILE / 280, abs=0.01)


def test_the_bundled_cnn_can_be_chosen_and_answers(tmp_path, monkeypatch, default_model_path):
    from nnlib.builders import build_cnn

    cnn = build_cnn((2,), (8,), seed=5)
    cnn.metadata["metrics"] = {"test_accuracy": 0.4321}
    cnn.save(tmp_path / "cnn.npz")
    monkeypatch.setattr(models, "CNN_MODEL_PATH", tmp_path / "cnn.npz")
    at = predict_page()
    at.session_state[CANVAS_KEY] = canvas_value(drawing("0"))
    at.run()
    picker = at.selectbox(key=state.PREDICT_MODEL_CHOICE)
    assert picker.options == [models.DEFAULT_MODEL_NAME, models.CNN_MODEL_NAME]
    default_accuracy = Sequential.load(default_model_path).metadata["metrics"]["test_accuracy"]
    assert (f"the default MLP ({100 * default_accuracy:.1f}% on MNIST's test digits) and a CNN "
            "(43.2% on MNIST's test digits)") in picker.help   # each file's own recorded accuracy
    assert picker.value == models.DEFAULT_MODEL_NAME
    picker.set_value(models.CNN_MODEL_NAME).run()
    assert not at.exception
    assert any("Answered by **Bundled CNN**" in c.value for c in at.caption)
    image = to_mnist_style(drawing("0")).image.reshape(1, 784)
    assert shown_digit(at) == str(int(np.argmax(cnn.predict_proba(image))))
    assert at.session_state[state.PREDICT_BUNDLED_MODEL] == models.CNN_MODEL_NAME
    assert {m.label for m in at.metric} == {models.DEFAULT_MODEL_NAME, models.CNN_MODEL_NAME}


def test_a_damaged_bundled_cnn_is_left_out_and_the_default_answers(tmp_path, monkeypatch, default_model_path):
    (tmp_path / "cnn.npz").write_bytes(b"not a model")
    monkeypatch.setattr(models, "CNN_MODEL_PATH", tmp_path / "cnn.npz")
    at = predict_page()
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    assert not at.exception and not at.error
    assert not [s for s in at.selectbox if s.key == state.PREDICT_MODEL_CHOICE]  # one model: nothing to choose
    assert shown_digit(at) == "1"


def test_robustness_sliders_and_fgsm_follow_the_drawing(default_model_path):
    """Issue 14: rotating a drawn 1 by 90 degrees loses the 1; a strong FGSM step fools the model."""
    at = predict_page()
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    assert not at.exception and shown_digit(at) == "1"
    rotation = chart_titled(at, "probability of 1 as the drawing turns")
    curve = np.array([float(re.search(r"p = ([\d.]+)%", t).group(1)) / 100 for t in tooltips(rotation, "angle")])
    assert curve.shape == (37,) and curve[18] > 0.9          # upright (0 degrees): a confident 1
    assert curve[[9, 27]].max() < curve[18]                  # turned a quarter: less sure (a 1 upside down is a 1)
    upright = markdown_percent(at, "**Probability of 1:**")
    at.slider(key=state.PREDICT_ROTATE).set_value(90).run()
    assert not at.exception
    turned = markdown_percent(at, "**Probability of 1:**")
    assert turned < upright
    assert turned == pytest.approx(100 * curve[27], abs=0.1)   # the slider and the curve agree at 90 degrees
    at.slider(key=state.PREDICT_ROTATE).set_value(0)
    at.slider(key=state.PREDICT_SHIFT_X).set_value(8).run()
    shifted = markdown_percent(at, "**Probability of 1:**")
    at.slider(key=state.PREDICT_SHIFT_X).set_value(0)
    at.slider(key=state.PREDICT_SCALE).set_value(0.4).run()
    shrunk = markdown_percent(at, "**Probability of 1:**")
    assert shifted != upright and shrunk != upright        # each slider changes what the network reads
    at.slider(key=state.PREDICT_SCALE).set_value(1.0)
    at.slider(key=state.PREDICT_THICKEN).set_value(2).run()
    assert not at.exception
    at.slider(key=state.PREDICT_FGSM_EPSILON).set_value(0.0).run()
    assert new_answer(at).startswith("1 ") and new_answer(at).endswith("not fooled")
    at.slider(key=state.PREDICT_FGSM_EPSILON).set_value(0.3).run()
    assert not new_answer(at).startswith("1 ") and new_answer(at).endswith(": fooled")
    assert any("smallest strength that flips" in m.value for m in at.markdown)


def markdown_percent(at, prefix: str) -> float:
    text = next(m.value for m in at.markdown if m.value.startswith(prefix))
    return float(text[len(prefix):].strip().rstrip("%"))


def new_answer(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**New answer:**"))[len("**New answer:** "):]
