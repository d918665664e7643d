"""The learning-rate range test: suggestion on synthetic curves, the real test on a small net, the CLI."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

from nnlib.builders import build_mlp
from nnlib.cli import main
from nnlib.lr_finder import exponential_rates, range_test, smooth, suggest_learning_rate


def synthetic_curve(steepest_at: float, minimum_at: float, rates: np.ndarray) -> np.ndarray:
    """A loss that falls like a logistic step centred on ``steepest_at`` (log scale), then
    rises sharply after ``minimum_at``: the shape of a real range test."""
    log_rates = np.log10(rates)
    fall = 2.0 / (1 + np.exp(-(np.log10(steepest_at) - log_rates) * 3))
    rise = np.where(log_rates > np.log10(minimum_at), 10 ** (log_rates - np.log10(minimum_at)) - 1, 0) * 3
    return 0.2 + fall + rise


def test_suggestion_is_the_steepest_fall_before_the_minimum():
    rates = exponential_rates(1e-6, 10, 300)
    losses = synthetic_curve(steepest_at=3e-3, minimum_at=0.1, rates=rates)
    suggestion = suggest_learning_rate(rates, losses)
    assert suggestion == pytest.approx(3e-3, rel=0.1)


def test_steep_rise_after_the_minimum_is_not_suggested():
    rates = exponential_rates(1e-6, 10, 300)
    losses = synthetic_curve(steepest_at=1e-4, minimum_at=1e-2, rates=rates)
    suggestion = suggest_learning_rate(rates, losses)
    assert suggestion < 1e-2
    assert suggestion == pytest.approx(1e-4, rel=0.1)


def test_no_suggestion_when_the_loss_never_falls():
    rates = exponential_rates(1e-6, 10, 100)
    assert suggest_learning_rate(rates, np.linspace(1, 5, 100)) is None


def test_smoothing_is_bias_corrected():
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])


def test_bad_range_is_refused():
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        exponential_rates(1.0, 0.1, 10)


@pytest.fixture(scope="module")
def small_mnist(mnist):
    return mnist.x_train[:2000].reshape(2000, -1).astype(np.float32) / 255, mnist.y_train[:2000]


def test_range_test_trains_a_copy_and_suggests_a_rate_adam_can_use(small_mnist):
    x, y = small_mnist
    model = build_mlp((32,), seed=0)
    before = [w.copy() for w in model.weight_arrays()]
    result = range_test(model, x, y, optimizer="adam", steps=200, batch_size=64)
    assert 1e-4 < result.suggested_lr < 3e-2      # Adam on MNIST learns around 1e-3
    assert min(result.smoothed_losses) < 1.5 < result.smoothed_losses[0]
    assert all(np.array_equal(a, b) for a, b in zip(before, model.weight_arrays()))   # a copy was trained


def test_range_test_stops_itself_when_the_loss_explodes(small_mnist):
    x, y = small_mnist
    result = range_test(build_mlp((32,), seed=0), x, y, optimizer="sgd", steps=100, batch_size=64,
                        start_lr=1e-3, end_lr=1e4)
    assert result.status == "diverged"
    assert 10 < len(result.learning_rates) < 100
    assert result.learning_rates[-1] < 1e4


def test_cli_lr_find_json_keys():
    out, err = io.StringIO(), io.StringIO()
    code = main(["lr-find", "--train-size", "2000", "--layers", "32", "--steps", "80", "--json"], out, err)
    assert code == 0
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert set(report) >= {"suggested_lr", "lrs", "losses"}
    assert len(report["lrs"]) == len(report["losses"]) <= 80
    assert report["lrs"][0] == pytest.approx(1e-6)
