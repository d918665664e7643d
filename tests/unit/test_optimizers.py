import numpy as np
import pytest

from nnlib.optimizers import SGD, Adam, Momentum, make_optimizer
from nnlib.schedules import Constant, Cosine, StepDecay, make_schedule


class FakeLayer:
    """A layer with one weight matrix and one bias, gradients set by the test."""

    def __init__(self, w, b):
        self.params = {"W": np.array(w, dtype=np.float64), "b": np.array(b, dtype=np.float64)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}


def run(optimizer, gradients, w0=(1.0, -2.0), b0=(0.5,)):
    layer = FakeLayer(w0, b0)
    for g_w, g_b in gradients:
        layer.grads["W"][...] = g_w
        layer.grads["b"][...] = g_b
        optimizer.step([layer])
    return layer.params["W"], layer.params["b"]


GRADS = [((0.5, 1.0), (2.0,)), ((-1.0, 0.25), (1.0,)), ((0.3, -0.7), (-0.5,))]


def test_sgd_step():
    w, b = run(SGD(0.1), GRADS[:1])
    np.testing.assert_allclose(w, [0.95, -2.1])
    np.testing.assert_allclose(b, [0.3])


def test_l2_decays_weights_but_not_biases():
    w, b = run(SGD(0.1, l2=0.5), [((0.0, 0.0), (0.0,))])
    np.testing.assert_allclose(w, [1.0 - 0.05, -2.0 + 0.1])
    np.testing.assert_allclose(b, [0.5])


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_the_reference_formula(nesterov):
    lr, mu = 0.1, 0.9
    w, v = np.array([1.0, -2.0]), np.zeros(2)
    for g, _ in GRADS:
        g = np.array(g)
        v = mu * v - lr * g
        w = w + (mu * v - lr * g if nesterov else v)
    got, _ = run(Momentum(lr, mu, nesterov=nesterov), GRADS)
    np.testing.assert_allclose(got, w, rtol=1e-12)


def test_adam_matches_the_textbook_update():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    w, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    for t, (g, _) in enumerate(GRADS, start=1):
        g = np.array(g)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    got, _ = run(Adam(lr), GRADS)
    np.testing.assert_allclose(got, w, rtol=1e-10)


def test_make_optimizer_and_bad_values():
    assert isinstance(make_optimizer("momentum", 0.1, nesterov=True), Momentum)
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("rmsprop", 0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        SGD(0.0)


def test_schedules():
    assert Constant(0.1)(7.5) == 0.1
    step = StepDecay(1.0, step_epochs=2, gamma=0.5)
    assert [step(p) for p in (0, 1.9, 2, 4.5)] == [1.0, 1.0, 0.5, 0.25]
    cosine = Cosine(1.0, epochs=10)
    assert cosine(0) == 1.0 and cosine(5) == pytest.approx(0.5) and cosine(10) == pytest.approx(0.0)
    assert make_schedule("cosine", 0.2, 4)(2) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown schedule"):
        make_schedule("exp", 0.1, 3)
