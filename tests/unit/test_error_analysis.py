"""Where it is wrong: highest-loss examples, per-class scores, the per-epoch tracker."""
from __future__ import annotations

import numpy as np
import pytest

from nnlib.builders import build_mlp
from nnlib.error_analysis import highest_loss, per_class_scores, tracked_sample, tracker_for_test_set
from nnlib.training import fit


def test_highest_loss_puts_the_confidently_wrong_first_with_top_3():
    probabilities = np.array([[0.9, 0.05, 0.05],    # right
                              [0.05, 0.9, 0.05],    # wrong, true 0 at 5%
                              [0.4, 0.35, 0.25]])   # right but unsure
    labels = np.array([0, 0, 0])
    worst = highest_loss(probabilities, labels, count=2)
    assert [w.index for w in worst] == [1, 2]
    assert worst[0].loss == pytest.approx(-np.log(0.05))
    assert worst[0].top_classes == (1, 0, 2) and worst[0].top_probabilities[0] == pytest.approx(0.9)


def test_per_class_scores_match_hand_counts():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    scores = per_class_scores(y_true, y_pred, 3)
    assert scores["precision"].tolist() == pytest.approx([1.0, 0.5, 0.5])
    assert scores["recall"].tolist() == pytest.approx([2 / 3, 0.5, 1.0])
    assert scores["f1"][0] == pytest.approx(0.8)
    assert scores["support"].tolist() == [3, 2, 1]


def test_tracked_sample_is_fixed_and_sorted():
    first, second = tracked_sample(10_000), tracked_sample(10_000)
    assert np.array_equal(first, second) and len(first) == 200 and np.all(np.diff(first) > 0)


def test_tracker_records_the_true_class_probability_after_every_epoch(mnist):
    x = mnist.x_train[:1000].reshape(1000, -1).astype(np.float32) / 255
    y = mnist.y_train[:1000]
    x_test = mnist.x_test[:500].reshape(500, -1).astype(np.float32) / 255
    model = build_mlp((32,), seed=0)
    tracker = tracker_for_test_set(model, x_test, mnist.y_test[:500])
    fit(model, x, y, epochs=3, batch_size=64, callbacks=[tracker])
    outputs = tracker.outputs()
    assert outputs["tracked_true_class_proba"].shape == (3, 200)
    final = model.predict_proba(x_test[outputs["tracked_test_indices"]])
    expected = final[np.arange(200), mnist.y_test[:500][outputs["tracked_test_indices"]]]
    assert np.allclose(outputs["tracked_true_class_proba"][-1], expected, atol=1e-6)
    assert outputs["tracked_true_class_proba"][-1].mean() > outputs["tracked_true_class_proba"][0].mean()
