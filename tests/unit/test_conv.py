"""Image layers (nnlib/conv.py): gradient checks in float64, a direct convolution as the
reference, pooling by hand, the CNN builder, save/load and a short training run."""
from __future__ import annotations

import numpy as np
import pytest

from nnlib.builders import build_cnn
from nnlib.conv import Conv2D, Flatten, MaxPool2D, Reshape
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.model import Sequential
from tests.unit.test_gradients import check_layer, check_network


def direct_convolution(x: np.ndarray, weights: np.ndarray, bias: np.ndarray, padding: int) -> np.ndarray:
    """The textbook definition, loop by loop: the reference for the im2col product."""
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    k, _, _, filters = weights.shape
    n, height, width, _ = x.shape
    out = np.zeros((n, height - k + 1, width - k + 1, filters))
    for row in range(height - k + 1):
        for col in range(width - k + 1):
            patch = x[:, row:row + k, col:col + k, :]
            out[:, row, col, :] = np.tensordot(patch, weights, axes=([1, 2, 3], [0, 1, 2])) + bias
    return out


@pytest.mark.parametrize("padding", [0, 1])
def test_conv2d_matches_the_direct_convolution(padding):
    rng = np.random.default_rng(0)
    layer = Conv2D(3, 4, kernel_size=3, padding=padding, rng=1, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(4)
    x = rng.standard_normal((2, 7, 6, 3))
    expected = direct_convolution(x, layer.params["W"], layer.params["b"], padding)
    out = layer.forward(x)
    assert out.shape == ((2, 5, 4, 4) if padding == 0 else (2, 7, 6, 4))
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding", [0, 1])
def test_conv2d_gradients(padding):
    rng = np.random.default_rng(1)
    layer = Conv2D(2, 3, kernel_size=3, padding=padding, rng=2, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(3)
    check_layer(layer, rng.standard_normal((2, 5, 6, 2)), rng)


def test_conv2d_without_input_gradient_gives_the_same_parameter_gradients():
    rng = np.random.default_rng(2)
    layer = Conv2D(1, 2, kernel_size=3, rng=3, dtype=np.float64)
    x, upstream = rng.standard_normal((3, 6, 6, 1)), rng.standard_normal((3, 4, 4, 2))
    layer.forward(x)
    assert layer.backward(upstream, input_grad=True).shape == x.shape
    with_input = layer.grads["W"].copy()
    layer.forward(x)
    assert layer.backward(upstream, input_grad=False) is None
    np.testing.assert_array_equal(layer.grads["W"], with_input)


def test_max_pool_takes_each_window_maximum_and_drops_the_leftover_row():
    x = np.arange(2 * 5 * 4 * 1, dtype=np.float64).reshape(2, 5, 4, 1)
    out = MaxPool2D(2).forward(x)
    assert out.shape == (2, 2, 2, 1)
    # Window (rows 0-1, cols 0-1) of the first image holds 0, 1, 4, 5.
    assert out[0, 0, 0, 0] == 5 and out[0, 1, 1, 0] == 15 and out[1, 0, 0, 0] == 25


def test_max_pool_gradients_and_routing():
    rng = np.random.default_rng(3)
    pool = MaxPool2D(2)
    check_layer(pool, rng.standard_normal((2, 5, 6, 3)), rng)  # odd height: a dropped row
    x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)  # a tie: the first maximum wins
    pool.forward(x)
    grad = pool.backward(np.ones((1, 1, 1, 1)))
    assert grad.reshape(2, 2).tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_reshape_and_flatten_round_trip_and_pass_gradients_back():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 12))
    reshape, flatten = Reshape((2, 3, 2)), Flatten()
    images = reshape.forward(x)
    assert images.shape == (3, 2, 3, 2)
    np.testing.assert_array_equal(flatten.forward(images), x)
    check_layer(Reshape((2, 3, 2)), x, rng)
    with pytest.raises(ValueError, match="cannot reshape"):
        reshape.forward(rng.standard_normal((3, 10)))


def test_whole_cnn_gradients_in_float64():
    """A tiny CNN on 10x10 images (conv 3x3 -> pool -> dense) with cross-entropy."""
    rng = np.random.default_rng(5)
    model = Sequential([Reshape((10, 10, 1)), Conv2D(1, 2, 3, rng=6, dtype=np.float64), *build_tail(rng)])
    for layer in model.layers:
        if "b" in layer.params:
            layer.params["b"][...] = rng.standard_normal(layer.params["b"].shape) * 0.3
    check_network(model, rng.standard_normal((3, 100)), rng.integers(0, 3, 3))


def build_tail(rng):
    from nnlib.layers import Dense, Tanh

    return [Tanh(), MaxPool2D(2), Flatten(), Dense(32, 3, rng=7, dtype=np.float64)]


def test_build_cnn_shapes_parameters_and_summary():
    model = build_cnn((16, 32), (128,), seed=0)
    assert model.input_size == 784 and model.n_classes == 10 and model.is_convolutional
    assert model.output_shapes()[-1] == (10,)
    shapes = dict(zip([layer.kind for layer in model.layers], model.output_shapes()))
    assert shapes["Flatten"] == (512,)
    # conv1 5*5*1*16+16, conv2 5*5*16*32+32, dense 512*128+128, out 128*10+10
    assert model.parameter_count == 416 + 12_832 + 65_664 + 1_290
    assert "4x4x32" in model.summary() and "24x24x16" in model.summary()
    assert model.predict_proba(np.zeros((2, 784), np.float32)).shape == (2, 10)
    with pytest.raises(ValueError, match="square"):
        build_cnn((8,), input_size=780)
    with pytest.raises(ValueError, match="do not fit"):
        build_cnn((4, 4, 4), input_size=784)


def test_a_cnn_saves_and_loads_with_the_same_predictions(tmp_path):
    model = build_cnn((4, 8), (16,), seed=1)
    x = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    model.save(tmp_path / "cnn.npz")
    loaded = Sequential.load(tmp_path / "cnn.npz")
    assert [layer.kind for layer in loaded.layers] == [layer.kind for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


@pytest.mark.slow
def test_a_small_cnn_learns_mnist(mnist):
    from nnlib.preprocessing import PreprocessConfig, prepare
    from nnlib.training import TrainConfig, train

    prepared = prepare(mnist, PreprocessConfig(train_size=3000, val_fraction=0.2))
    config = TrainConfig(conv_channels=(8, 16), hidden_sizes=(32,), optimizer="adam", learning_rate=2e-3,
                         batch_size=64, epochs=3, seed=0)
    model, result = train(prepared, config)
    assert model.is_convolutional and result.status == "completed"
    assert result.history["val_accuracy"][-1] > 0.88  # an MLP of this size gets about 0.85-0.88 here
    assert model.metadata["train_config"]["conv_channels"] == [8, 16]


def test_large_cnn_batches_are_processed_in_chunks_with_the_same_mean_gradient():
    from nnlib.training import _chunked_step

    rng = np.random.default_rng(6)
    model = build_cnn((2,), (4,), input_size=100, n_classes=3, seed=2, dtype=np.float64)
    x, y = rng.standard_normal((37, 100)), rng.integers(0, 3, 37)
    loss_fn = SoftmaxCrossEntropy()
    whole_loss = loss_fn.forward(model.forward(x, training=True), y)
    model.backward(loss_fn.backward(), input_grad=False)
    whole = model.flat_grads.copy()
    model.flat_grads[...] = 0
    loss, correct = _chunked_step(model, SoftmaxCrossEntropy(), x, y, rows=10)  # 10 + 10 + 10 + 7
    assert loss == pytest.approx(whole_loss, rel=1e-12)
    np.testing.assert_allclose(model.flat_grads, whole, rtol=1e-10, atol=1e-14)
    assert correct == int(np.sum(model.predict(x) == y))


@pytest.mark.slow
def test_full_batch_gradient_descent_trains_a_cnn(monkeypatch, mnist):
    import nnlib.training as training
    from nnlib.preprocessing import PreprocessConfig, prepare

    monkeypatch.setattr(training, "CONV_CHUNK_ROWS", 128)  # 800 images: 7 chunks per step
    prepared = prepare(mnist, PreprocessConfig(train_size=1000, val_fraction=0.2))
    config = training.TrainConfig(conv_channels=(4,), hidden_sizes=(), optimizer="sgd", learning_rate=0.1,
                                  batch_size=None, epochs=8, seed=0)
    model, result = training.train(prepared, config)
    assert result.status == "completed" and result.epochs_completed == 8
    losses = result.history["train_loss"]
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0] - 0.8
    assert result.history["val_accuracy"][-1] > 0.5
