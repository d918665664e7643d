"""The fast path (nnlib.fast) against the plain layers and optimisers it stands in for:
the same outputs, gradients and weights, to float rounding."""

import numpy as np
import pytest

from nnlib.builders import build_mlp
from nnlib.fast import FLUSH_EVERY, FastDense, FastPath, FusedAdam, InPlaceReLU, fused_updates
from nnlib.layers import Dense
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.model import Sequential
from nnlib.optimizers import SGD, Adam
from nnlib.training import fit


def blank_bordered(rng, n, side=8):
    """Random 'images' ``(n, side * side)`` whose border pixels are zero in every sample."""
    x = rng.standard_normal((n, side, side))
    x[:, 0, :] = x[:, -1, :] = x[:, :, 0] = x[:, :, -1] = 0
    x[rng.random((n, side, side)) < 0.3] = 0
    return x.reshape(n, side * side)


def plain_training(model, x, y, optimizer, batch, epochs, seed):
    """What fit does, written with the plain layers and optimiser only (the reference)."""
    rng = np.random.default_rng(seed)
    trainable = [layer for layer in model.layers if layer.params]
    loss_fn = SoftmaxCrossEntropy()
    for _ in range(epochs):
        order = np.arange(len(x)) if batch >= len(x) else rng.permutation(len(x))
        for start in range(0, len(x), batch):
            rows = order[start:start + batch]
            loss_fn.forward(model.forward(x[rows], training=True), y[rows])
            model.backward(loss_fn.backward(), input_grad=False)
            optimizer.step(trainable)


def weights(model):
    return [p.copy() for layer in model.layers for p in layer.params.values()]


def test_dense_restricted_to_active_inputs_matches_the_full_layer():
    """Dropping always-zero input columns changes the work, not the result."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((6, 8))
    x[:, [0, 3, 7]] = 0
    active = np.flatnonzero(np.any(x != 0, axis=0))
    layer = Dense(8, 4, rng=0, dtype=np.float64)
    upstream = rng.standard_normal((6, 4))
    full_out = layer.forward(x).copy()
    full_input_grad = layer.backward(upstream)
    full_grads = {k: g.copy() for k, g in layer.grads.items()}
    fast = FastDense(layer, active)
    np.testing.assert_allclose(fast.forward(x[:, active], training=True), full_out, rtol=1e-12)
    compact_input_grad = fast.backward(upstream)
    assert compact_input_grad.shape == (6, len(active))
    np.testing.assert_allclose(compact_input_grad, full_input_grad[:, active], rtol=1e-12)
    for name in full_grads:
        np.testing.assert_allclose(layer.grads[name], full_grads[name], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.forward(x), full_out, rtol=1e-12)   # full width still works
    assert fast.backward(upstream, input_grad=False) is None


def test_in_place_relu_overwrites_the_fresh_array_and_gives_relus_gradient():
    x = np.array([[-1.0, 2.0, 0.5]])
    relu = InPlaceReLU()
    y = relu.forward(x)
    assert y is x and x.tolist() == [[0.0, 2.0, 0.5]]
    assert relu.backward(np.array([[3.0, 3.0, 3.0]])).tolist() == [[0.0, 3.0, 3.0]]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_fast_path_gives_the_plain_networks_outputs_and_gradients(activation):
    rng = np.random.default_rng(3)
    model = build_mlp([12, 7], activation=activation, input_size=64, n_classes=5, seed=1, dtype=np.float64)
    x, y = blank_bordered(rng, 20), rng.integers(0, 5, 20)
    loss_fn = SoftmaxCrossEntropy()
    plain_logits = model.forward(x, training=True).copy()
    loss_fn.forward(plain_logits, y)
    plain_input_grad = model.backward(loss_fn.backward())
    plain_grads = model.flat_grads.copy()
    path = FastPath(model)
    fast_logits = path.forward(x.copy(), True)
    np.testing.assert_allclose(fast_logits, plain_logits, rtol=1e-12)
    loss_fn.forward(fast_logits, y)
    fast_input_grad = path.backward(loss_fn.backward(), stop=0)
    np.testing.assert_allclose(fast_input_grad, plain_input_grad, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(model.flat_grads, plain_grads, rtol=1e-10, atol=1e-15)


def test_fused_adam_takes_the_textbook_steps_and_hands_its_moments_back():
    rng = np.random.default_rng(4)
    plain_model = build_mlp([9], input_size=6, n_classes=3, seed=5, dtype=np.float64)
    fused_model = build_mlp([9], input_size=6, n_classes=3, seed=5, dtype=np.float64)
    plain, fused = Adam(0.01, l2=0.1), Adam(0.01, l2=0.1)
    with fused_updates(fused, fused_model) as step:
        for _ in range(2 * FLUSH_EVERY + 7):
            gradient = rng.standard_normal(plain_model.flat_grads.shape)
            plain_model.flat_grads[...] = gradient
            fused_model.flat_grads[...] = gradient
            plain.step([layer for layer in plain_model.layers if layer.params])
            step()
    np.testing.assert_allclose(fused_model.flat_params, plain_model.flat_params, rtol=1e-9, atol=1e-12)
    assert fused.iterations == plain.iterations == 2 * FLUSH_EVERY + 7
    for plain_layer, fused_layer in zip(plain_model.layers, fused_model.layers):
        for name in plain_layer.params:
            for moment in ("m", "v"):
                np.testing.assert_allclose(fused.state_of(fused_layer.params[name])[moment],
                                           plain.state_of(plain_layer.params[name])[moment], rtol=1e-9, atol=1e-15)


def test_fused_adam_keeps_float32_and_flushes_tiny_moments():
    model = Sequential([Dense(2, 1, rng=0)])
    model.layers[0].params["W"][...] = 1.0
    optimizer = Adam(1e-3)
    fused = FusedAdam(optimizer, model)
    model.layers[0].grads["W"][...] = [[1e-3], [1.0]]
    fused.step()
    model.flat_grads[...] = 0
    for _ in range(FLUSH_EVERY * 20):
        fused.step()
    m = fused.first_moment
    assert m.dtype == np.float32 and model.layers[0].params["W"].dtype == np.float32
    tiny = np.finfo(np.float32).tiny
    assert np.all((m == 0) | (np.abs(m) >= tiny))       # no subnormal left
    assert m[0] == 0


@pytest.mark.parametrize("batch", [16, 2048])   # 2048: blank input columns dropped (FastDense)
def test_fit_gives_the_weights_of_the_plain_loop(batch):
    rng = np.random.default_rng(7)
    x, y = blank_bordered(rng, 2100), rng.integers(0, 4, 2100)
    reference = build_mlp([10, 6], input_size=64, n_classes=4, seed=2, dtype=np.float64)
    model = build_mlp([10, 6], input_size=64, n_classes=4, seed=2, dtype=np.float64)
    plain_training(reference, x, y, Adam(1e-2), batch, epochs=2, seed=9)
    fit(model, x, y, optimizer=Adam(1e-2), batch_size=batch, epochs=2, seed=9)
    for got, expected in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-11)


def test_full_batch_in_row_blocks_gives_the_weights_of_the_plain_loop():
    rng = np.random.default_rng(8)
    x, y = blank_bordered(rng, 4200), rng.integers(0, 3, 4200)     # >= 2 blocks: InputBlocks
    reference = build_mlp([8], input_size=64, n_classes=3, seed=4, dtype=np.float64)
    model = build_mlp([8], input_size=64, n_classes=3, seed=4, dtype=np.float64)
    plain_training(reference, x, y, SGD(0.5), len(x), epochs=5, seed=0)
    result = fit(model, x, y, x_val=x, y_val=y, optimizer=SGD(0.5), batch_size=None, epochs=5, seed=0)
    for got, expected in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    scores = reference.evaluate(x, y)
    assert result.history["val_accuracy"][-1] == pytest.approx(scores["accuracy"])
    assert result.history["val_loss"][-1] == pytest.approx(scores["loss"], rel=1e-9)
