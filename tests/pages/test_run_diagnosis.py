"""The Train page's run diagnosis under AppTest: calibrate a run (the temperature is saved with
it and used by Predict), its highest-loss test images, per-class table and per-epoch record."""
from __future__ import annotations

import numpy as np
import pytest

from dashboard import jobs, state
from dashboard.models import Predictor, predict
from nnlib.calibration import model_temperature, scaled_softmax
from nnlib.preprocessing import Scaler

from .helpers import plotly_figures
from .test_train import SMALL_NET, decoded, finish, open_train, texts


def tracked_chart(at) -> dict:
    """The figure of one test image's true-class probability over the epochs."""
    return next(f for f in plotly_figures(at) if f["data"] and str(f["data"][0].get("name", "")).startswith("p("))


@pytest.mark.slow
def test_calibrate_a_run_and_see_where_it_is_wrong():
    at = open_train(2000, **SMALL_NET)
    at.button(key="train_start_button").click().run()
    finish(at)
    run = at.session_state[state.RUNS][0]
    # Where it is wrong: 12 highest-loss test images, a 10-row per-class table, the epoch record.
    assert not at.exception
    table = next(frame.value for frame in at.dataframe if "F1" in frame.value.columns)
    assert list(table["class"]) == [str(d) for d in range(10)] and table["test images"].sum() == 10_000
    assert 0 < table["F1"].mean() < 1
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert sum("true" in caption for caption in captions) >= 12
    tracked = at.selectbox(key="diagnose_tracked_image")
    assert len(tracked.options) == 200
    epoch_chart = tracked_chart(at)
    assert len(epoch_chart["data"][0]["x"]) == 2    # two epochs
    stored = jobs.get_store().load_outputs(run.id)
    history, indices = stored["tracked_true_class_proba"], stored["tracked_test_indices"]
    assert history.shape == (2, 200)
    hardest = int(np.argmin(history[-1]))
    assert tracked.value == hardest                   # the hardest image at the end comes first
    assert np.allclose(decoded(epoch_chart["data"][0]["y"]), history[:, hardest], atol=1e-6)
    easiest = int(np.argmax(history[-1]))
    tracked.set_value(easiest).run()
    chart = tracked_chart(at)
    assert np.allclose(decoded(chart["data"][0]["y"]), history[:, easiest], atol=1e-6)
    assert f"test image #{int(indices[easiest])}" in [c for e in at.get("image") for c in
                                                       (i.caption for i in e.proto.imgs)]
    # Calibrate: metrics, diagram, and the temperature in the run's stored model file.
    at.button(key="diagnose_calibrate_button").click().run()
    assert not at.exception
    labels = [metric.label for metric in at.metric]
    assert "Test ECE before" in labels and "Temperature T" in labels
    stored_temperature = model_temperature(jobs.get_store().load_model(run.id))
    assert stored_temperature != 1.0
    assert at.metric[labels.index("Temperature T")].value == f"{stored_temperature:.3f}"
    reliability = next(f for f in plotly_figures(at) if any(t.get("name") == "perfectly calibrated" for t in f["data"]))
    assert sum(t["type"] == "bar" for t in reliability["data"]) == 2
    assert "Not calibrated yet" not in texts(at.caption)
    # Predict answers with logits / T for this run's stored model.
    stored = jobs.get_store().load_model(run.id)
    image = np.zeros((28, 28), np.float32)
    image[4:24, 12:16] = 1
    expected = scaled_softmax(stored.forward(image.reshape(1, -1)), stored_temperature)[0]
    answer = predict(Predictor("run", stored, Scaler("unit"), tuple("0123456789"), run.id), image)
    assert np.allclose(answer.probabilities, expected, atol=1e-5)
