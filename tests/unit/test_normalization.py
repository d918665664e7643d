"""BatchNorm: batch statistics while training, running averages at inference, saved with the model.

The gradient checks are in test_gradients.py.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

from nnlib.builders import build_cnn, build_mlp, build_network
from nnlib.errors import ModelFileError
from nnlib.model import HEADER_KEY, Sequential
from nnlib.normalization import BatchNorm
from nnlib.train_config import TrainConfig


def test_training_output_has_zero_mean_and_unit_variance_per_feature():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 3)) * [1.0, 5.0, 0.1] + [2.0, -3.0, 7.0]).astype(np.float32)
    y = BatchNorm(3).forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-3)


def test_feature_maps_are_normalised_per_channel_over_batch_and_pixels():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 6, 6, 2)) * [1.0, 10.0] + [0.0, 50.0]).astype(np.float32)
    y = BatchNorm(2).forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, atol=1e-3)


def test_running_averages_follow_the_batches_and_serve_inference():
    rng = np.random.default_rng(2)
    layer = BatchNorm(2, momentum=0.5)
    batch = (rng.standard_normal((100, 2)) * 2 + 3).astype(np.float32)
    layer.forward(batch, training=True)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.5 * batch.mean(axis=0), rtol=1e-5)
    unbiased = batch.var(axis=0, ddof=1)
    np.testing.assert_allclose(layer.buffers["running_var"], 0.5 + 0.5 * unbiased, rtol=1e-4)
    single = batch[:1]
    expected = (single - layer.buffers["running_mean"]) / np.sqrt(layer.buffers["running_var"] + layer.eps)
    np.testing.assert_allclose(layer.forward(single, training=False), expected, rtol=1e-5)
    # inference does not move the running averages
    before = layer.buffers["running_mean"].copy()
    layer.forward(batch, training=False)
    np.testing.assert_array_equal(layer.buffers["running_mean"], before)


def test_bad_shapes_and_settings_get_clear_messages():
    with pytest.raises(ValueError, match="last axis has 3 features, got shape"):
        BatchNorm(3).forward(np.zeros((2, 4), np.float32), training=True)
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm(3, momentum=0)
    with pytest.raises(ValueError, match="positive number of features"):
        BatchNorm(0)
    with pytest.raises(RuntimeError, match="before forward"):
        BatchNorm(3).backward(np.zeros((2, 3), np.float32))


def test_builders_place_batch_norm_between_layer_and_activation():
    mlp = build_mlp([8, 4], input_size=16, n_classes=3, batch_norm=True)
    assert [layer.kind for layer in mlp.layers] == ["Dense", "BatchNorm", "ReLU", "Dense", "BatchNorm", "ReLU", "Dense"]
    cnn = build_network(TrainConfig(conv_channels=(2,), hidden_sizes=(5,), batch_norm=True), input_size=100, n_classes=3)
    assert [layer.kind for layer in cnn.layers] == ["Reshape", "Conv2D", "BatchNorm", "ReLU", "MaxPool2D", "Flatten",
                                                     "Dense", "BatchNorm", "ReLU", "Dense"]
    assert cnn.layers[2].features == 2 and cnn.layers[7].features == 5
    assert "BatchNorm" not in [layer.kind for layer in build_mlp([8], input_size=16, n_classes=3).layers]


def test_train_config_carries_batch_norm_through_json():
    config = TrainConfig(batch_norm=True)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))).batch_norm is True
    assert TrainConfig.from_dict({"hidden_sizes": [4]}).batch_norm is False
    with pytest.raises(TypeError, match="batch_norm must be True or False"):
        TrainConfig(batch_norm="yes")  # type: ignore[arg-type]


def _trained_cnn() -> tuple[Sequential, np.ndarray]:
    rng = np.random.default_rng(3)
    model = build_cnn((2,), (4,), kernel_size=3, input_size=64, n_classes=3, seed=1, batch_norm=True)
    x = rng.random((16, 64), dtype=np.float32)
    for _ in range(3):
        model.forward(x, training=True)
    return model, x


def test_running_averages_are_saved_and_loaded_with_the_model():
    model, x = _trained_cnn()
    buffer = io.BytesIO()
    model.save(buffer)
    loaded = Sequential.load(buffer.getvalue())
    for mine, theirs in zip(model.layers, loaded.layers):
        for name in mine.buffers:
            np.testing.assert_array_equal(mine.buffers[name], theirs.buffers[name])
    assert np.any(loaded.layers[2].buffers["running_mean"] != 0)
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x), rtol=1e-6)


def _rewritten(model: Sequential, change) -> bytes:
    """The model's file with its arrays (and decoded header) passed through ``change``."""
    buffer = io.BytesIO()
    model.save(buffer)
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    header = json.loads(arrays[HEADER_KEY].tobytes().decode("utf-8"))
    change(header, arrays)
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_model_file_refuses_damaged_batch_norm_layers():
    model, _ = _trained_cnn()

    def negative_variance(header, arrays):
        arrays["layer2.running_var"] = -np.ones_like(arrays["layer2.running_var"])

    def missing_buffer(header, arrays):
        del arrays["layer2.running_mean"]

    def wrong_width(header, arrays):
        header["layers"][2]["features"] = 3

    def bad_momentum(header, arrays):
        header["layers"][2]["momentum"] = 2

    for change, message in [(negative_variance, "negative value"), (missing_buffer, "running_mean' is missing"),
                            (wrong_width, "normalises 3 features but gets 2"), (bad_momentum, "momentum = 2")]:
        with pytest.raises(ModelFileError, match=message):
            Sequential.load(_rewritten(model, change))


def test_a_copy_keeps_the_running_averages_and_the_fingerprint_sees_them():
    from nnlib.introspect import copy_model, model_fingerprint

    model, x = _trained_cnn()
    copied = copy_model(model)
    np.testing.assert_allclose(copied.predict_proba(x), model.predict_proba(x), rtol=1e-6)
    before = model_fingerprint(model)
    model.layers[2].buffers["running_mean"] += 1
    assert model_fingerprint(model) != before
