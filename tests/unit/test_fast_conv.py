"""The CNN fast path (nnlib.fast_conv) against the plain layers it stands in for and against a
direct convolution: the same outputs, gradients and trained weights, to float rounding."""

import numpy as np
import pytest

from nnlib.builders import build_cnn
from nnlib.conv import Conv2D, MaxPool2D
from nnlib.fast import FastPath
from nnlib.fast_conv import FastConv2D, PassThrough, ReLUMaxPool
from nnlib.layers import ReLU
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.optimizers import Adam
from nnlib.training import fit
from tests.unit.test_conv import direct_convolution
from tests.unit.test_fast import plain_training, weights
from tests.unit.test_gradients import numerical_gradient, relative_error

TOLERANCE = {np.float64: 1e-9, np.float32: 1e-5}


def direct_gradients(x, weights_, upstream, padding):
    """dL/dx, dL/dW, dL/db of L = sum(direct_convolution(x) * upstream), loop by loop."""
    k = weights_.shape[0]
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    grad_x, grad_w = np.zeros_like(padded), np.zeros_like(weights_)
    for row in range(upstream.shape[1]):
        for col in range(upstream.shape[2]):
            g = upstream[:, row, col, :]                                         # (n, filters)
            grad_w += np.tensordot(padded[:, row:row + k, col:col + k, :], g, axes=([0], [0]))
            grad_x[:, row:row + k, col:col + k, :] += np.tensordot(g, weights_, axes=([1], [3]))
    if padding:
        grad_x = grad_x[:, padding:-padding, padding:-padding, :]
    return grad_x, grad_w, upstream.sum(axis=(0, 1, 2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("channels", "side", "padding"), [(1, 9, 0), (3, 7, 1), (5, 13, 0), (4, 12, 2)])
def test_fast_conv2d_matches_the_direct_convolution(dtype, channels, side, padding):
    """Few channels (transposed patch matrix) and many; narrow and wide images (one or two
    Toeplitz blocks); with and without padding; outputs and all three gradients."""
    rng = np.random.default_rng(channels)
    layer = Conv2D(channels, 3, kernel_size=3, padding=padding, rng=1, dtype=dtype)
    layer.params["b"][...] = rng.standard_normal(3)
    fast = FastConv2D(layer)
    for n in (4, 2):                       # a smaller second batch reuses (part of) the buffers
        x = rng.standard_normal((n, side, side - 1, channels)).astype(dtype)
        expected = direct_convolution(x, layer.params["W"], layer.params["b"], padding)
        out = fast.forward(x, training=True)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
        upstream = rng.standard_normal(out.shape).astype(dtype)
        grad_x, grad_w, grad_b = direct_gradients(x, layer.params["W"], upstream, padding)
        got_x = fast.backward(upstream.copy())
        tolerance = 10 * TOLERANCE[dtype]
        np.testing.assert_allclose(got_x, grad_x, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(layer.grads["W"], grad_w, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(layer.grads["b"], grad_b, rtol=tolerance, atol=tolerance)


def test_fast_conv2d_gradients_match_numerical_gradients():
    rng = np.random.default_rng(2)
    layer = Conv2D(2, 3, kernel_size=3, padding=1, rng=2, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(3)
    fast = FastConv2D(layer)
    x = rng.standard_normal((2, 11, 10, 2))
    upstream = rng.standard_normal((2, 11, 10, 3))

    def loss():
        return float(np.sum(fast.forward(x, training=True) * upstream))

    fast.forward(x, training=True)
    analytic_x = fast.backward(upstream).copy()
    analytic = {name: grad.copy() for name, grad in layer.grads.items()}
    assert relative_error(analytic_x, numerical_gradient(loss, x)) < 1e-6
    for name, param in layer.params.items():
        assert relative_error(analytic[name], numerical_gradient(loss, param)) < 1e-6
    fast.forward(x, training=True)
    assert fast.backward(upstream, input_grad=False) is None
    np.testing.assert_allclose(layer.grads["W"], analytic["W"], rtol=1e-12)


def test_fast_conv2d_evaluates_with_the_plain_layer_and_checks_its_input():
    layer = Conv2D(2, 3, kernel_size=3, rng=0)
    fast = FastConv2D(layer)
    x = np.random.default_rng(0).random((2, 6, 6, 2), dtype=np.float32)
    np.testing.assert_array_equal(fast.forward(x, training=False), layer.forward(x))
    with pytest.raises(ValueError, match=r"\(n, height, width, 2\)"):
        fast.forward(np.zeros((2, 6, 6, 3), np.float32), training=True)
    with pytest.raises(RuntimeError, match="before a training forward"):
        FastConv2D(layer).backward(np.zeros((2, 4, 4, 3), np.float32))


@pytest.mark.parametrize("shape", [(3, 6, 8, 2), (2, 7, 5, 3)])   # even, and odd sides (dropped edge)
def test_relu_max_pool_gives_relu_then_max_pool_ties_included(shape):
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, shape).astype(np.float64)      # many ties, zeros and negatives
    upstream = rng.standard_normal((shape[0], shape[1] // 2, shape[2] // 2, shape[3]))
    relu, pool = ReLU(), MaxPool2D(2)
    expected = pool.forward(relu.forward(x, training=True), training=True)
    expected_grad = relu.backward(pool.backward(upstream))
    fused = ReLUMaxPool(MaxPool2D(2))
    np.testing.assert_array_equal(fused.forward(x.copy(), training=True), expected)
    np.testing.assert_array_equal(fused.backward(upstream), expected_grad)
    np.testing.assert_array_equal(fused.forward(x.copy(), training=False), expected)


@pytest.mark.parametrize("shape", [(3, 6, 8, 2), (2, 7, 5, 3)])
def test_relu_max_pool_in_pooling_order_gives_the_same_maxima_and_gradients(shape):
    """The input as FastConv2D hands it over, one block per window position: the same output,
    and the same gradient, ties (the first maximum wins) and non-positive maxima included."""
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, shape).astype(np.float32)
    n, h2, w2, c = shape[0], shape[1] // 2, shape[2] // 2, shape[3]
    upstream = rng.standard_normal((n, h2, w2, c)).astype(np.float32)
    plain = ReLUMaxPool(MaxPool2D(2))
    expected = plain.forward(x.copy(), training=True).copy()
    expected_grad = plain.backward(upstream).copy()
    blocks = np.ascontiguousarray(x[:, :2 * h2, :2 * w2].reshape(n, h2, 2, w2, 2, c).transpose(2, 4, 0, 1, 3, 5))
    fused = ReLUMaxPool(MaxPool2D(2))
    np.testing.assert_array_equal(fused.forward(blocks.reshape(4, n, h2, w2, c), training=True), expected)
    grad = fused.backward(upstream).reshape(2, 2, n, h2, w2, c).transpose(2, 3, 0, 4, 1, 5).reshape(n, 2 * h2, 2 * w2, c)
    np.testing.assert_array_equal(grad, expected_grad[:, :2 * h2, :2 * w2])


@pytest.mark.parametrize("side", [16, 17])     # 17: the first convolution's 13x13 map has an edge no window covers
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_path_gives_the_plain_cnns_outputs_and_gradients(dtype, batch_norm, side):
    rng = np.random.default_rng(4)
    size = side * side
    model = build_cnn((4, 5), (8,), input_size=size, n_classes=5, seed=1, dtype=dtype, batch_norm=batch_norm)
    for layer in model.layers:
        if "b" in layer.params:
            layer.params["b"][...] = rng.standard_normal(layer.params["b"].shape) * 0.1
    x, y = rng.random((6, size)).astype(dtype), rng.integers(0, 5, 6)
    x[x < 0.5] = 0
    loss_fn = SoftmaxCrossEntropy()
    plain_logits = model.forward(x, training=True).copy()
    loss_fn.forward(plain_logits, y)
    plain_input_grad = model.backward(loss_fn.backward())
    plain_grads = model.flat_grads.copy()
    path = FastPath(model)
    kinds = [type(runner) for runner in path.runners]
    assert kinds.count(FastConv2D) == 2 and kinds.count(ReLUMaxPool) == 2 and kinds.count(PassThrough) == 2
    # Both convolutions (1 input channel: transposed patches; 4: row-major patches) hand the pooling their output in
    # pooling order, but not past a BatchNorm.
    convolutions = [runner for runner in path.runners if isinstance(runner, FastConv2D)]
    assert [conv.transposed for conv in convolutions] == [True, False]
    assert [conv.pool for conv in convolutions] == [0 if batch_norm else 2] * 2
    tolerance = TOLERANCE[dtype]
    for _ in range(2):                                       # the second step runs on reused buffers
        fast_logits = path.forward(x.copy(), True)
        np.testing.assert_allclose(fast_logits, plain_logits, rtol=tolerance, atol=tolerance)
        loss_fn.forward(fast_logits, y)
        fast_input_grad = path.backward(loss_fn.backward(), stop=0)
        np.testing.assert_allclose(fast_input_grad, plain_input_grad, rtol=10 * tolerance, atol=tolerance)
        np.testing.assert_allclose(model.flat_grads, plain_grads, rtol=10 * tolerance, atol=tolerance)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_fit_trains_a_cnn_to_the_weights_of_the_plain_loop(batch_norm):
    rng = np.random.default_rng(5)
    x, y = rng.random((70, 144)), rng.integers(0, 3, 70)
    x[x < 0.4] = 0
    reference = build_cnn((3, 4), (6,), kernel_size=3, input_size=144, n_classes=3, seed=2, dtype=np.float64,
                          batch_norm=batch_norm)
    model = build_cnn((3, 4), (6,), kernel_size=3, input_size=144, n_classes=3, seed=2, dtype=np.float64,
                      batch_norm=batch_norm)
    plain_training(reference, x, y, Adam(1e-2), 16, epochs=2, seed=9)      # 16 * 4 + 6: a short last batch
    fit(model, x, y, optimizer=Adam(1e-2), batch_size=16, epochs=2, seed=9)
    # A bias just before a batch norm has a zero gradient; rounding noise moves it by ~1e-9 in either loop.
    atol = 1e-8 if batch_norm else 1e-11
    for got, expected in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=atol)
