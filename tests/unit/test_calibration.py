"""Calibration: ECE of known predictors, temperature scaling of a known miscalibration, the CLI."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from nnlib.calibration import (
    calibrated_proba,
    expected_calibration_error,
    fit_temperature,
    model_temperature,
    reliability_bins,
    scaled_softmax,
)
from nnlib.cli import main
from nnlib.model import Sequential

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "data" / "models" / "default.npz"


def calibrated_sample(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two classes; confidence c drawn uniformly in [0.5, 1], the answer right with probability
    exactly c: a perfectly calibrated predictor (up to sampling noise)."""
    confidence = rng.uniform(0.5, 1.0, n)
    right = rng.uniform(size=n) < confidence
    probabilities = np.stack([confidence, 1 - confidence], axis=1)
    labels = np.where(right, 0, 1)
    return probabilities, labels


def test_ece_of_a_perfectly_calibrated_predictor_is_near_zero():
    probabilities, labels = calibrated_sample(200_000, np.random.default_rng(0))
    assert expected_calibration_error(probabilities, labels) < 0.005


def test_ece_of_an_always_90_percent_sure_predictor_right_60_percent_is_0_3():
    n = 1000
    probabilities = np.tile([0.9, 0.1], (n, 1))
    labels = np.zeros(n, dtype=np.int64)
    labels[600:] = 1    # right on 600 of 1000
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.3)
    bins = reliability_bins(probabilities, labels)
    assert bins.counts.sum() == n and bins.counts[13] == n    # 0.9 falls in the bin (0.8667, 0.9333]
    assert bins.accuracy[13] == pytest.approx(0.6)


def test_temperature_scaling_undoes_a_known_over_confidence():
    rng = np.random.default_rng(1)
    n, k, true_temperature = 20_000, 10, 2.5
    true_logits = rng.normal(0, 2.0, (n, k))
    labels = np.array([rng.choice(k, p=p) for p in scaled_softmax(true_logits, 1.0)])
    overconfident = true_logits * true_temperature      # the same answers, 2.5 times too sharp
    fitted = fit_temperature(overconfident, labels)
    assert fitted == pytest.approx(true_temperature, rel=0.05)
    before = expected_calibration_error(scaled_softmax(overconfident, 1.0), labels)
    after = expected_calibration_error(scaled_softmax(overconfident, fitted), labels)
    assert before > 0.1 and after < 0.02


def test_fit_temperature_refuses_mismatched_labels():
    with pytest.raises(ValueError, match="labels"):
        fit_temperature(np.zeros((3, 2)), np.array([0, 1]))


def test_calibrated_proba_divides_the_logits_by_the_stored_temperature():
    model = Sequential.load(DEFAULT_MODEL)
    x = np.random.default_rng(0).uniform(0, 1, (4, 784)).astype(np.float32)
    assert model_temperature(model) == 1.0
    assert np.allclose(calibrated_proba(model, x), model.predict_proba(x))
    model.metadata["calibration"] = {"temperature": 2.0}
    expected = scaled_softmax(model.forward(x), 2.0)
    assert np.allclose(calibrated_proba(model, x), expected, atol=1e-6)
    assert not np.allclose(calibrated_proba(model, x), model.predict_proba(x), atol=1e-3)


@pytest.mark.slow
def test_cli_calibrate_lowers_the_bundled_mlp_test_ece_and_saves_the_temperature(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    saved = tmp_path / "calibrated.npz"
    assert main(["calibrate", "--model", str(DEFAULT_MODEL), "--out", str(saved), "--json"], out, err) == 0
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert report["temperature"] > 1.0      # trained to ~zero training loss: over-confident
    assert report["ece_after"] < report["ece_before"]
    assert model_temperature(Sequential.load(saved)) == pytest.approx(report["temperature"])
