"""nnlib.introspect and nnlib.layer_survey against a forward/backward written out in NumPy here,
and against numerical gradients (float64)."""
from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from nnlib.builders import build_cnn, build_mlp
from nnlib.introspect import (
    copy_model,
    explain_conv_pixel,
    forward_trace,
    max_pool_kept,
    model_fingerprint,
    training_step,
)
from nnlib.layer_survey import (
    most_confident_mistakes,
    network_stages,
    survey_layers,
    top_exciting,
    unit_activity,
)
from nnlib.losses import SoftmaxCrossEntropy


def relu(z):
    return np.maximum(z, 0)


def plain_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mlp_weights(model):
    return [(layer.params["W"], layer.params["b"]) for layer in model.layers if layer.params]


def seed_forward(weights, x):
    """The seed study's forward pass, in its column layout: Z = W.A + b, A = ReLU(Z), softmax."""
    a = x.T                                    # (features, m)
    zs, activations = [], [a]
    for position, (w, b) in enumerate(weights):
        z = w.T @ a + b[:, None]               # seed's W is nnlib's W transposed
        zs.append(z)
        a = z if position == len(weights) - 1 else relu(z)
        activations.append(a)
    probs = plain_softmax(zs[-1].T).T
    return zs, activations, probs


def seed_backward(weights, x, labels):
    """dZ = A - Y at the output, dW = dZ.A_prev^T / m, db = sum(dZ) / m, dA_prev = W^T.dZ."""
    zs, activations, probs = seed_forward(weights, x)
    m = x.shape[0]
    y = np.zeros_like(probs)
    y[labels, np.arange(m)] = 1
    dz = probs - y
    grads = []
    for position in range(len(weights) - 1, -1, -1):
        w, _ = weights[position]
        dw = dz @ activations[position].T / m   # seed layout (fan_out, fan_in)
        db = dz.sum(axis=1) / m
        grads.append((dw.T, db))                # back to nnlib's layout
        if position:
            dz = (w @ dz) * (zs[position - 1] > 0)
    return list(reversed(grads)), probs - y


def small_mlp(seed=0):
    return build_mlp([7, 5], input_size=12, n_classes=4, seed=seed, dtype=np.float64)


def small_cnn(seed=0):
    # 10x10 images: conv 3x3 -> 8x8x2 -> pool 4x4x2 -> conv 3x3 -> 2x2x3 -> pool 1x1x3 -> 5 -> 4
    return build_cnn((2, 3), (5,), kernel_size=3, input_size=100, n_classes=4, seed=seed, dtype=np.float64)


def data(n, features, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, features)), rng.integers(0, 4, n)


# ------------------------------------------------------------------------------------ forward
def test_forward_trace_of_an_mlp_matches_the_seed_forward_pass():
    model = small_mlp()
    x, _ = data(6, 12)
    trace = forward_trace(model, x)
    zs, activations, probs = seed_forward(mlp_weights(model), x)
    assert [layer.name for layer in trace.layers] == ["dense_0", "relu_1", "dense_2", "relu_3", "dense_4"]
    np.testing.assert_allclose(trace.layers[0].output, zs[0].T, rtol=1e-12)
    np.testing.assert_allclose(trace.layers[1].output, activations[1].T, rtol=1e-12)
    np.testing.assert_allclose(trace.layers[2].output, zs[1].T, rtol=1e-12)
    np.testing.assert_allclose(trace.logits, zs[-1].T, rtol=1e-12)
    np.testing.assert_allclose(trace.probabilities, probs.T, rtol=1e-5)
    np.testing.assert_allclose(trace.probabilities, model.predict_proba(x), rtol=1e-5)
    assert np.array_equal(trace.predictions, model.predict(x))
    assert trace.input_of(0) is trace.inputs and trace.input_of(2) is trace.layers[1].output


def plain_conv(images, kernels, bias):
    """Valid cross-correlation written with loops: (n, h, w, c_in) * (k, k, c_in, c_out)."""
    n, h, w, _ = images.shape
    k, c_out = kernels.shape[0], kernels.shape[3]
    out = np.zeros((n, h - k + 1, w - k + 1, c_out))
    for i in range(h - k + 1):
        for j in range(w - k + 1):
            patch = images[:, i:i + k, j:j + k, :]
            out[:, i, j, :] = np.einsum("nabc,abcd->nd", patch, kernels) + bias
    return out


def plain_pool(maps, pool=2):
    n, h, w, c = maps.shape
    out = np.zeros((n, h // pool, w // pool, c))
    kept = np.zeros(maps.shape, dtype=bool)
    for s in range(n):
        for i in range(h // pool):
            for j in range(w // pool):
                for ch in range(c):
                    window = maps[s, i * pool:(i + 1) * pool, j * pool:(j + 1) * pool, ch]
                    out[s, i, j, ch] = window.max()
                    r, q = divmod(int(np.argmax(window)), pool)
                    kept[s, i * pool + r, j * pool + q, ch] = True
    return out, kept


def test_forward_trace_of_a_cnn_matches_loops_written_out():
    model = small_cnn()
    x, _ = data(3, 100)
    trace = forward_trace(model, x)
    conv1, conv2 = model.layers[1], model.layers[4]
    feature_maps = plain_conv(x.reshape(3, 10, 10, 1), conv1.params["W"], conv1.params["b"])
    np.testing.assert_allclose(trace.layers[1].output, feature_maps, rtol=1e-12)
    pooled, kept = plain_pool(relu(feature_maps))
    np.testing.assert_allclose(trace.layers[3].output, pooled, rtol=1e-12)
    assert np.array_equal(trace.layers[3].kept, kept)
    assert trace.layers[3].kept.reshape(3, 4, 2, 4, 2, 2).sum(axis=(2, 4)).min() == 1   # one per window
    second = plain_conv(pooled, conv2.params["W"], conv2.params["b"])
    np.testing.assert_allclose(trace.layers[4].output, second, rtol=1e-12)
    np.testing.assert_allclose(trace.probabilities, model.predict_proba(x), rtol=1e-5)


def test_max_pool_kept_leaves_uncovered_rows_out_and_takes_the_first_maximum():
    maps = np.zeros((1, 5, 5, 1))
    maps[0, 0, 1, 0] = maps[0, 1, 0, 0] = 3.0           # a tie: row-major first wins
    kept = max_pool_kept(maps, 2)
    assert kept[0, 0, 1, 0] and not kept[0, 1, 0, 0]
    assert not kept[0, 4, :, 0].any() and not kept[0, :, 4, 0].any()


def test_conv_pixel_explanation_equals_the_feature_map_value():
    model = small_cnn(seed=3)
    x, _ = data(2, 100, seed=4)
    trace = forward_trace(model, x)
    for layer_index, (row, col, channel) in ((1, (5, 2, 1)), (4, (1, 0, 2))):
        pixel = explain_conv_pixel(model, trace, layer_index, 1, row, col, channel)
        value = trace.layers[layer_index].output[1, row, col, channel]
        assert pixel.pre_activation == pytest.approx(value, rel=1e-12)
        assert pixel.products_sum == pytest.approx(float((pixel.patch * pixel.kernel).sum()), rel=1e-12)
        assert pixel.batch_norm is None and pixel.activation_input == pixel.pre_activation   # no BatchNorm here
        assert pixel.activation == pytest.approx(trace.layers[layer_index + 1].output[1, row, col, channel])
        assert pixel.activation_kind == "ReLU"
        assert pixel.patch.shape == pixel.kernel.shape == (3, 3, model.layers[layer_index].in_channels)
    first = explain_conv_pixel(model, trace, 1, 0, 0, 0, 0)
    np.testing.assert_array_equal(first.patch[:, :, 0], x[0].reshape(10, 10)[:3, :3])


def test_conv_pixel_explanation_goes_through_batch_norm_to_the_models_own_feature_map():
    model = build_cnn((2, 3), (5,), kernel_size=3, input_size=100, n_classes=4, seed=5, dtype=np.float64,
                      batch_norm=True)
    assert [layer.kind for layer in model.layers[1:4]] == ["Conv2D", "BatchNorm", "ReLU"]
    rng = np.random.default_rng(6)
    for layer in model.layers:              # running averages and a scale/shift far from the defaults
        if layer.kind == "BatchNorm":
            layer.buffers["running_mean"][...] = rng.normal(0, 0.5, layer.features)
            layer.buffers["running_var"][...] = rng.uniform(0.2, 3.0, layer.features)
            layer.params["gamma"][...] = rng.uniform(0.5, 2.0, layer.features)
            layer.params["beta"][...] = rng.normal(0, 0.5, layer.features)
    x, _ = data(2, 100, seed=7)
    trace = forward_trace(model, x)
    for layer_index, (row, col, channel) in ((1, (5, 2, 1)), (1, (0, 7, 0)), (5, (1, 0, 2))):
        pixel = explain_conv_pixel(model, trace, layer_index, 1, row, col, channel)
        z = trace.layers[layer_index].output[1, row, col, channel]
        assert pixel.pre_activation == pytest.approx(z, rel=1e-12)
        norm = model.layers[layer_index + 1]
        step = pixel.batch_norm
        assert step is not None
        assert step.running_mean == norm.buffers["running_mean"][channel]
        assert step.gamma == norm.params["gamma"][channel] and step.beta == norm.params["beta"][channel]
        by_hand = (z - step.running_mean) / np.sqrt(step.running_var + norm.eps)
        assert step.normalised == pytest.approx(by_hand, rel=1e-12)
        assert step.output == pytest.approx(trace.layers[layer_index + 1].output[1, row, col, channel], rel=1e-9)
        assert pixel.activation_input == step.output
        assert pixel.activation_kind == "ReLU"
        assert pixel.activation == pytest.approx(trace.layers[layer_index + 2].output[1, row, col, channel],
                                                 rel=1e-9, abs=1e-12)
    negatives = [explain_conv_pixel(model, trace, 1, 0, r, c, 0) for r in range(8) for c in range(8)]
    assert any(p.batch_norm.output < 0 and p.activation == 0.0 for p in negatives)   # the ReLU cut some
    assert any(p.pre_activation > 0 > p.batch_norm.output for p in negatives) or \
        any(p.pre_activation < 0 < p.batch_norm.output for p in negatives)          # BN changed a sign


def test_conv_pixel_explanation_rejects_a_layer_that_is_not_a_convolution():
    model = small_cnn()
    trace = forward_trace(model, data(1, 100)[0])
    with pytest.raises(ValueError, match="must be a Conv2D, found ReLU"):
        explain_conv_pixel(model, trace, 2, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="must lie within"):
        explain_conv_pixel(model, trace, 1, 0, 8, 0, 0)


# ------------------------------------------------------------------------------------ backward
def test_training_step_gradients_match_the_seed_backward_pass():
    model = small_mlp()
    x, labels = data(5, 12)
    step = training_step(model, x, labels, learning_rate=0.1)
    expected, output_error = seed_backward(mlp_weights(model), x, labels)
    dense = [layer for layer in step.layers if layer.param_grads]
    assert [layer.name for layer in dense] == ["dense_0", "dense_2", "dense_4"]
    for layer, (dw, db) in zip(dense, expected, strict=True):
        np.testing.assert_allclose(layer.param_grads["W"], dw, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.param_grads["b"], db, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.updated_params["W"], layer.params_before["W"] - 0.1 * dw, rtol=1e-12)
    np.testing.assert_allclose(step.output_error, output_error.T, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(step.layers[-1].grad_output, output_error.T / 5, rtol=1e-10, atol=1e-14)
    norms = dict(step.gradient_norms())
    assert norms["dense_4"] == pytest.approx(np.linalg.norm(output_error) / 5)
    assert list(norms)[0] == "dense_4"


def numerical_gradient(model, x, labels, layer, name, eps=1e-5):
    loss_fn = SoftmaxCrossEntropy()
    param = layer.params[name]
    grad = np.zeros_like(param)
    for position in np.ndindex(param.shape):
        saved = param[position]
        param[position] = saved + eps
        plus = loss_fn.forward(model.forward(x), labels)
        param[position] = saved - eps
        minus = loss_fn.forward(model.forward(x), labels)
        param[position] = saved
        grad[position] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12))


@pytest.mark.parametrize("make, features", [(small_mlp, 12), (small_cnn, 100)])
def test_training_step_gradients_match_numerical_gradients(make, features):
    model = make(seed=5)
    x, labels = data(4, features, seed=6)
    step = training_step(model, x, labels)
    checked = 0
    for layer, gradient in zip(model.layers, step.layers, strict=True):
        for name in layer.params:
            numeric = numerical_gradient(model, x, labels, layer, name)
            assert relative_error(gradient.param_grads[name], numeric) < 1e-6, (gradient.name, name)
            checked += 1
    assert checked == 2 * sum(1 for layer in model.layers if layer.params)
    # the gradient with respect to the input, too
    loss_fn = SoftmaxCrossEntropy()
    numeric = np.zeros_like(x)
    for position in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[position] += 1e-5
        plus = loss_fn.forward(model.forward(shifted), labels)
        shifted[position] -= 2e-5
        numeric[position] = (plus - loss_fn.forward(model.forward(shifted), labels)) / 2e-5
    analytic = step.input_gradient.reshape(x.shape)   # many pixel gradients are tiny: compare as a whole
    assert np.linalg.norm(analytic - numeric) / (np.linalg.norm(analytic) + np.linalg.norm(numeric)) < 1e-6


def test_a_step_not_applied_leaves_the_model_exactly_as_it_was():
    model = small_mlp()
    x, labels = data(3, 12)
    before = [{name: value.copy() for name, value in layer.params.items()} for layer in model.layers]
    grads_before = model.flat_grads.copy()
    step = training_step(model, x, labels, learning_rate=0.5, apply=False)
    assert not step.applied
    for layer, saved in zip(model.layers, before, strict=True):
        for name, value in saved.items():
            assert np.array_equal(layer.params[name], value)
    assert np.array_equal(model.flat_grads, grads_before)


def test_an_applied_step_moves_the_weights_by_sgd_and_raises_the_true_class_probability():
    model = small_mlp(seed=2)
    x, labels = data(1, 12, seed=9)
    fingerprint = model_fingerprint(model)
    probabilities = []
    for _ in range(3):
        step = training_step(model, x, labels, learning_rate=0.2, apply=True)
        probabilities.append(float(step.true_class_probability[0]))
        for layer, gradient in zip(model.layers, step.layers, strict=True):
            for name, value in gradient.updated_params.items():
                np.testing.assert_allclose(layer.params[name], value, rtol=1e-12)
    probabilities.append(float(model.predict_proba(x)[0, labels[0]]))
    assert all(later > earlier for earlier, later in pairwise(probabilities)), probabilities
    assert model_fingerprint(model) != fingerprint


def test_copy_model_shares_no_weights():
    model = small_cnn()
    copy = copy_model(model)
    assert model_fingerprint(copy) == model_fingerprint(model)
    copy.layers[1].params["W"][...] += 1
    assert model_fingerprint(copy) != model_fingerprint(model)
    assert copy.metadata == model.metadata and copy.metadata is not model.metadata


def test_training_step_rejects_bad_labels_and_inputs():
    model = small_mlp()
    x, _ = data(2, 12)
    with pytest.raises(ValueError, match="expected 2 labels"):
        training_step(model, x, np.array([1]))
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.3"):
        training_step(model, x, np.array([1, 4]))
    with pytest.raises(TypeError, match="labels must be integers"):
        training_step(model, x, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="expected inputs with 12 features"):
        forward_trace(model, np.zeros((2, 11)))
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        training_step(model, x, np.array([0, 1]), learning_rate=0)


# ------------------------------------------------------------------------------------ layer survey
def test_network_stages_of_the_mlp_and_the_cnn():
    assert [(s.name, s.first_index, s.last_index) for s in network_stages(small_mlp())] == [
        ("input", -1, -1), ("hidden 1", 0, 1), ("hidden 2", 2, 3), ("logits", 4, 4)]
    stages = network_stages(small_cnn())
    assert [(s.name, s.first_index, s.last_index, s.activation) for s in stages] == [
        ("input", -1, -1, None), ("conv 1", 1, 3, "ReLU"), ("conv 2", 4, 6, "ReLU"),
        ("hidden 1", 8, 9, "ReLU"), ("logits", 10, 10, None)]


def test_survey_finds_dead_units_and_each_units_values():
    model = small_mlp()
    model.layers[0].params["b"][3] = -1e6          # unit 3 of the first layer can never be active
    x, labels = data(40, 12)
    survey = survey_layers(model, x, labels, batch_size=16)
    hidden = survey.stages[1]
    assert 3 in hidden.dead_units
    trace = forward_trace(model, x)
    np.testing.assert_allclose(hidden.unit_values, trace.layers[1].output, rtol=1e-6)
    np.testing.assert_allclose(hidden.active_fraction, (trace.layers[1].output > 0).mean(axis=0))
    np.testing.assert_allclose(survey.probabilities, model.predict_proba(x), rtol=1e-5)
    assert survey.stages[0].coords.shape == (40, 2) and survey.stages[-1].active_fraction is None
    assert len(hidden.saturated_units) == 0


def test_survey_of_a_cnn_summarises_each_channel_by_its_largest_value():
    model = small_cnn()
    x, labels = data(20, 100)
    survey = survey_layers(model, x, labels)
    trace = forward_trace(model, x)
    conv = survey.stages[1]
    assert conv.n_units == 2
    np.testing.assert_allclose(conv.unit_values, trace.layers[3].output.max(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(conv.active_fraction, (trace.layers[2].output.max(axis=(1, 2)) > 0).mean(axis=0))


def test_saturated_units_of_tanh_and_sigmoid():
    values = np.array([[0.999, 0.1], [-0.995, 0.0]])
    active, saturated = unit_activity(values, "Tanh")
    assert saturated.tolist() == [[True, False], [True, False]] and (active == ~saturated).all()
    _, saturated = unit_activity(np.array([[0.001, 0.5]]), "Sigmoid")
    assert saturated.tolist() == [[True, False]]
    model = build_mlp([6], activation="tanh", input_size=12, n_classes=4, dtype=np.float64)
    model.layers[0].params["b"][2] = 50.0
    survey = survey_layers(model, *data(30, 12))
    assert 2 in survey.stages[1].saturated_units and 2 in survey.stages[1].dead_units
    with pytest.raises(ValueError, match="unknown activation kind"):
        unit_activity(values, "Softplus")


def test_top_exciting_and_most_confident_mistakes():
    values = np.array([[0.1, 5.0], [0.9, 1.0], [0.5, 3.0], [0.7, 0.0]])
    assert top_exciting(values, 0, k=3).tolist() == [1, 3, 2]
    assert top_exciting(values, 1, k=10).tolist() == [0, 2, 1, 3]
    with pytest.raises(ValueError, match="unit must be in 0..1"):
        top_exciting(values, 2)
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = np.array([1, 1, 1, 0])
    assert most_confident_mistakes(probabilities, labels, k=5).tolist() == [0, 3, 2]
    assert most_confident_mistakes(probabilities, labels, k=1).tolist() == [0]
