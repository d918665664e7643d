import numpy as np
import pytest

from nnlib.initializers import get_initializer
from nnlib.layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, layer_from_config, make_activation
from nnlib.losses import softmax


def test_dense_forward_is_x_at_w_plus_b_in_float32():
    layer = Dense(3, 2, rng=0)
    layer.params["W"][...] = [[1, 0], [0, 1], [1, 1]]
    layer.params["b"][...] = [0.5, -0.5]
    x = np.array([[1, 2, 3]], dtype=np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[4.5, 4.5]])


def test_he_init_statistics_and_zero_biases():
    weights, biases = get_initializer("he")(784, 256, np.random.default_rng(0), np.float32)
    assert weights.shape == (784, 256) and weights.dtype == np.float32
    assert weights.std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert not biases.any()


def test_glorot_init_is_bounded():
    weights, _ = get_initializer("glorot")(100, 50, np.random.default_rng(0), np.float64)
    limit = np.sqrt(6 / 150)
    assert np.abs(weights).max() <= limit and weights.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)


def test_seed_study_init_scales_weights_and_biases_by_fan_out():
    weights, biases = get_initializer("seed")(784, 64, np.random.default_rng(0), np.float64)
    assert weights.shape == (784, 64)
    assert weights.std() == pytest.approx(np.sqrt(1 / 64), rel=0.02)
    assert biases.std() == pytest.approx(np.sqrt(1 / 64), rel=0.3) and biases.any()
    # Same draws as the study's (fan_out, fan_in) layout, transposed.
    study = np.random.default_rng(0).standard_normal((64, 784)) * np.sqrt(1 / 64)
    np.testing.assert_array_equal(weights, study.T)


def test_unknown_init_and_activation_are_refused():
    with pytest.raises(ValueError, match="unknown init"):
        Dense(2, 2, init="zeros")
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("swish")


def test_activation_values():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(ReLU().forward(x), [[0, 0, 3]])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(x), [[-0.2, 0, 3]])
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x))
    assert Sigmoid().forward(np.array([[-1e4, 1e4]])).tolist() == [[0.0, 1.0]]


def test_relu_does_not_overwrite_a_callers_array():
    x = np.array([[-1.0, 2.0]])
    ReLU().forward(x)
    assert x[0, 0] == -1.0


def test_softmax_rows_sum_to_one_even_for_huge_values():
    probs = softmax(np.array([[1e4, 0.0, -1e4], [1.0, 1.0, 1.0]], dtype=np.float32))
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(Softmax().forward(np.zeros((1, 4))), [[0.25] * 4])


def test_dropout_is_identity_at_inference_and_keeps_the_mean_in_training():
    x = np.ones((200, 100), dtype=np.float32)
    layer = Dropout(0.3, rng=0)
    assert layer.forward(x, training=False) is x
    out = layer.forward(x, training=True)
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    assert np.mean(out == 0) == pytest.approx(0.3, abs=0.02)
    with pytest.raises(ValueError, match="rate"):
        Dropout(1.0)


@pytest.mark.parametrize("layer", [Dense(3, 4, init="glorot"), ReLU(), LeakyReLU(0.2), Sigmoid(), Tanh(),
                                   Dropout(0.25), Softmax()])
def test_config_round_trip(layer):
    rebuilt = layer_from_config(layer.config())
    assert rebuilt.config() == layer.config()
    assert type(rebuilt) is type(layer)


def test_layer_from_config_names_the_problem():
    with pytest.raises(ValueError, match="unknown layer kind 'Conv9D'"):
        layer_from_config({"kind": "Conv9D"})
