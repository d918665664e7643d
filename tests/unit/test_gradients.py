"""Numerical gradient checks (float64, central differences) for every layer, loss and a network.

Each check compares the analytic backward pass with ``(f(p + eps) - f(p - eps)) / (2 eps)``
for every input and parameter entry, using the relative error
``||a - b|| / max(||a|| + ||b||, tiny)``, which must stay below 1e-6.
"""

import numpy as np
import pytest

from nnlib.builders import build_cnn, build_mlp
from nnlib.layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from nnlib.losses import MeanSquaredError, SoftmaxCrossEntropy
from nnlib.normalization import BatchNorm

EPS = 1e-5
TOLERANCE = 1e-6


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def numerical_gradient(f, array: np.ndarray) -> np.ndarray:
    """dF/d(array) by central differences; ``f()`` reads ``array`` (changed in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + EPS
        plus = f()
        array[index] = original - EPS
        minus = f()
        array[index] = original
        grad[index] = (plus - minus) / (2 * EPS)
    return grad


def away_from_kinks(rng, shape, margin=0.05):
    """Random inputs whose entries are not within ``margin`` of 0 (ReLU's kink)."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin * 2, x)


def check_layer(layer, x, rng, training=False, before_forward=lambda: None):
    """Check dL/dx and dL/dparams for L = sum(layer(x) * g) with a random g."""
    before_forward()
    out = layer.forward(x.copy(), training)
    upstream = rng.standard_normal(out.shape)

    def loss():
        before_forward()
        return float(np.sum(layer.forward(x.copy(), training) * upstream))

    before_forward()
    layer.forward(x.copy(), training)
    analytic_input = layer.backward(upstream.copy())
    analytic_params = {name: g.copy() for name, g in layer.grads.items()}
    numeric_input = numerical_gradient(loss, x)
    assert relative_error(analytic_input, numeric_input) < TOLERANCE
    for name, param in layer.params.items():
        numeric = numerical_gradient(loss, param)
        assert relative_error(analytic_params[name], numeric) < TOLERANCE, name


@pytest.mark.parametrize("init", ["he", "glorot", "seed"])
def test_dense_gradients(init):
    rng = np.random.default_rng(1)
    layer = Dense(6, 4, init=init, rng=rng, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(4)
    check_layer(layer, rng.standard_normal((5, 6)), rng)


@pytest.mark.parametrize("layer_class", [ReLU, Sigmoid, Tanh, Softmax])
def test_activation_gradients(layer_class):
    rng = np.random.default_rng(2)
    check_layer(layer_class(), away_from_kinks(rng, (4, 7)) * 2, rng)


def test_leaky_relu_gradients():
    rng = np.random.default_rng(3)
    check_layer(LeakyReLU(alpha=0.1), away_from_kinks(rng, (4, 7)), rng)


def test_dropout_gradients_with_a_fixed_mask():
    rng = np.random.default_rng(4)
    layer = Dropout(0.4)

    def same_mask():
        layer.rng = np.random.default_rng(123)

    check_layer(layer, rng.standard_normal((6, 8)), rng, training=True, before_forward=same_mask)
    same_mask()
    out = layer.forward(np.ones((6, 8)), training=True)
    assert set(np.unique(out)) <= {0.0, 1 / 0.6}
    assert 0 < np.count_nonzero(out == 0) < out.size


@pytest.mark.parametrize("loss_class", [SoftmaxCrossEntropy, MeanSquaredError])
def test_loss_gradients(loss_class):
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((6, 4)) * 3
    labels = rng.integers(0, 4, size=6)
    loss_fn = loss_class()
    loss_fn.forward(logits.copy(), labels)
    analytic = loss_fn.backward().copy()
    numeric = numerical_gradient(lambda: loss_class().forward(logits, labels), logits)
    assert relative_error(analytic, numeric) < TOLERANCE


def test_cross_entropy_gradient_with_one_hot_targets_matches_labels():
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((5, 3))
    labels = np.array([0, 2, 1, 1, 0])
    one_hot = np.eye(3)[labels]
    a, b = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    assert a.forward(logits, labels) == pytest.approx(b.forward(logits, one_hot))
    np.testing.assert_allclose(a.backward(), b.backward())


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_whole_network_gradients(activation):
    """A small [6, 5, 4, 3] network with cross-entropy: every parameter and the input."""
    rng = np.random.default_rng(7)
    model = build_mlp([5, 4], activation=activation, input_size=6, n_classes=3, seed=8, dtype=np.float64)
    for layer in model.layers:
        if "b" in layer.params:
            layer.params["b"][...] = rng.standard_normal(layer.params["b"].shape) * 0.5
    check_network(model, rng.standard_normal((7, 6)), rng.integers(0, 3, size=7))


def check_network(model, x, labels):
    """Every parameter's gradient and the input's, for the mean cross-entropy of ``model(x)``.

    A gradient that is zero in exact arithmetic (a bias just before a BatchNorm, which
    subtracts it again) is compared absolutely: both sides must be below 1e-9 (central differences of a constant are rounding noise).
    """

    def loss():
        return SoftmaxCrossEntropy().forward(model.forward(x, training=True), labels)

    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x, training=True), labels)
    analytic_input = model.backward(loss_fn.backward(), input_grad=True)
    analytic = [{k: g.copy() for k, g in layer.grads.items()} for layer in model.layers]
    for layer, grads in zip(model.layers, analytic):
        for name, param in layer.params.items():
            numeric = numerical_gradient(loss, param)
            if max(np.abs(numeric).max(), np.abs(grads[name]).max()) < 1e-9:
                continue
            assert relative_error(grads[name], numeric) < TOLERANCE, (layer.kind, name)
    assert relative_error(analytic_input, numerical_gradient(loss, x)) < TOLERANCE


def test_skipping_the_input_gradient_leaves_parameter_gradients_unchanged():
    rng = np.random.default_rng(9)
    model = build_mlp([5], input_size=4, n_classes=3, seed=1, dtype=np.float64)
    x, labels = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    results = []
    for input_grad in (True, False):
        loss_fn = SoftmaxCrossEntropy()
        loss_fn.forward(model.forward(x, training=True), labels)
        returned = model.backward(loss_fn.backward(), input_grad=input_grad)
        results.append([g.copy() for layer in model.layers for g in layer.grads.values()])
        assert (returned is None) == (not input_grad)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_input_gradient_is_the_gradient_of_the_class_logit():
    rng = np.random.default_rng(10)
    model = build_mlp([5, 4], input_size=6, n_classes=3, seed=2, dtype=np.float64)
    x = away_from_kinks(rng, (2, 6))
    analytic = model.input_gradient(x, class_index=np.array([1, 2]))
    for row, cls in enumerate([1, 2]):
        sample = x[row:row + 1].copy()
        numeric = numerical_gradient(lambda sample=sample, cls=cls: float(model.forward(sample)[0, cls]), sample)
        assert relative_error(analytic[row:row + 1], numeric) < TOLERANCE


def test_a_weighted_mix_of_logits_is_differentiated_in_one_pass_and_leaves_training_gradients_alone():
    rng = np.random.default_rng(13)
    model = build_mlp([5, 4], input_size=6, n_classes=3, seed=3, dtype=np.float64)
    x, weights = away_from_kinks(rng, (2, 6)), rng.standard_normal((2, 3))
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x, training=True), np.array([0, 2]))
    model.backward(loss_fn.backward())
    training_grads = [g.copy() for layer in model.layers for g in layer.grads.values()]
    mixed = model.weighted_logits_gradient(x, weights)
    per_class = sum(weights[:, [cls]] * model.input_gradient(x, cls) for cls in range(3))
    np.testing.assert_allclose(mixed, per_class, rtol=1e-10, atol=1e-12)
    for row in range(2):
        sample = x[row:row + 1].copy()
        numeric = numerical_gradient(lambda sample=sample, row=row: float(model.forward(sample)[0] @ weights[row]),
                                     sample)
        assert relative_error(mixed[row:row + 1], numeric) < TOLERANCE
    for before, after in zip(training_grads, (g for layer in model.layers for g in layer.grads.values())):
        np.testing.assert_array_equal(before, after)
    with pytest.raises(ValueError, match="logit_weights must have shape"):
        model.weighted_logits_gradient(x, weights[:, :2])


@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 4, 5)], ids=["dense-output", "feature-maps"])
def test_batch_norm_gradients(shape):
    """Training mode: dL/dx through the batch mean and variance, and dL/dgamma, dL/dbeta."""
    rng = np.random.default_rng(11)
    layer = BatchNorm(shape[-1], dtype=np.float64)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, shape[-1])
    layer.params["beta"][...] = rng.standard_normal(shape[-1])
    check_layer(layer, rng.standard_normal(shape) * 3 + 1, rng, training=True)


def test_batch_norm_inference_gradients_use_the_running_statistics():
    rng = np.random.default_rng(12)
    layer = BatchNorm(4, dtype=np.float64)
    layer.buffers["running_mean"][...] = rng.standard_normal(4)
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2.0, 4)
    x = rng.standard_normal((5, 4))
    numeric = numerical_gradient(lambda: float(np.sum(layer.forward(x, training=False))), x)
    expected = layer.params["gamma"] / np.sqrt(layer.buffers["running_var"] + layer.eps)
    np.testing.assert_allclose(numeric, np.broadcast_to(expected, x.shape), rtol=1e-6)
    # backward after an inference pass differentiates that same fixed map, parameters included
    check_layer(layer, x, rng, training=False)


@pytest.mark.parametrize("network", ["mlp", "cnn"])
def test_whole_network_gradients_with_batch_norm(network):
    """Every parameter of a batch-normalised MLP and CNN, cross-entropy loss, training mode."""
    rng = np.random.default_rng(13)
    if network == "mlp":
        model = build_mlp([5, 4], input_size=6, n_classes=3, seed=3, dtype=np.float64, batch_norm=True)
        x = rng.standard_normal((7, 6))
    else:
        model = build_cnn((2, 3), (4,), kernel_size=3, input_size=100, n_classes=3, seed=3,
                          dtype=np.float64, batch_norm=True)
        x = rng.standard_normal((4, 100))
    assert sum(layer.kind == "BatchNorm" for layer in model.layers) == (2 if network == "mlp" else 3)
    for before, after in zip(model.layers, model.layers[1:]):
        if after.kind == "BatchNorm":   # the batch mean takes the bias away again: its gradient is 0
            loss_fn = SoftmaxCrossEntropy()
            loss_fn.forward(model.forward(x, training=True), rng.integers(0, 3, size=len(x)))
            model.backward(loss_fn.backward())
            assert np.abs(before.grads["b"]).max() < 1e-12
    check_network(model, x, rng.integers(0, 3, size=len(x)))
