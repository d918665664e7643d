import numpy as np
import pytest

from nnlib.losses import MeanSquaredError, SoftmaxCrossEntropy, get_loss


def test_cross_entropy_matches_the_definition_for_moderate_logits():
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    labels = np.array([1, 2])
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probs[[0, 1], labels]))
    assert SoftmaxCrossEntropy().forward(logits, labels) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]], dtype=dtype)
    loss_fn = SoftmaxCrossEntropy()
    # Row 0: the true class has a margin of 1e4: loss 0. Row 1: wrong class wins by 1e4.
    loss_right = loss_fn.forward(logits[:1], np.array([0]))
    assert loss_right == pytest.approx(0.0, abs=1e-6)
    loss_wrong = SoftmaxCrossEntropy().forward(np.array([[1e4, 0.0]], dtype=dtype), np.array([1]))
    assert loss_wrong == pytest.approx(1e4, rel=1e-6)
    both = SoftmaxCrossEntropy()
    value = both.forward(logits, np.array([0, 1]))
    assert np.isfinite(value) and value == pytest.approx(np.log(2) / 2, rel=1e-5)
    grad = both.backward()
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, np.array([[0, 0, 0], [0, -0.25, 0.25]]), atol=1e-6)


def test_cross_entropy_gradient_rows_sum_to_zero():
    rng = np.random.default_rng(0)
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(rng.standard_normal((8, 10)).astype(np.float32), rng.integers(0, 10, 8))
    grad = loss_fn.backward()
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-7)


def test_cross_entropy_rejects_bad_targets():
    with pytest.raises(ValueError, match="expected 2 integer labels"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="integers"):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_mse_value_and_gradient():
    outputs = np.array([[0.5, 0.5], [1.0, 0.0]])
    loss_fn = MeanSquaredError()
    # targets one-hot [1,0],[0,1]: squared errors 0.5, 2 -> 0.5 * 2.5 / 2
    assert loss_fn.forward(outputs, np.array([0, 1])) == pytest.approx(0.625)
    np.testing.assert_allclose(loss_fn.backward(), [[-0.25, 0.25], [0.5, -0.5]])


def test_get_loss_by_name():
    assert isinstance(get_loss("mse"), MeanSquaredError)
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss("hinge")
