import io
import json
import zipfile

import numpy as np
import pytest

from nnlib.builders import build_mlp
from nnlib.layers import Dense, ReLU
from nnlib.model import HEADER_KEY, ModelFileError, Sequential


@pytest.fixture
def model():
    return build_mlp([16, 8], input_size=784, n_classes=10, seed=3)


@pytest.fixture
def images():
    return np.random.default_rng(0).random((5, 784), dtype=np.float32)


def test_build_mlp_structure_and_counts(model):
    kinds = [layer.kind for layer in model.layers]
    assert kinds == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    assert model.parameter_count == 784 * 16 + 16 + 16 * 8 + 8 + 8 * 10 + 10
    table = model.layer_table()
    assert table[0] == {"name": "dense_0", "kind": "Dense", "weight_shape": (784, 16),
                        "bias_shape": (16,), "params": 784 * 16 + 16}
    assert table[1]["params"] == 0 and table[1]["weight_shape"] is None
    assert [w.shape for w in model.dense_weights()] == [(784, 16), (16, 8), (8, 10)]
    text = model.summary()
    assert "12,786" in text.replace(" ", "") or f"{model.parameter_count:,}" in text
    assert "float32" in text


def test_seed_network_size():
    assert build_mlp([256, 128, 64]).parameter_count == 242_762


def test_predictions(model, images):
    probs = model.predict_proba(images)
    assert probs.shape == (5, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    predicted = model.predict(images)
    assert predicted.dtype == np.int64
    np.testing.assert_array_equal(predicted, probs.argmax(axis=1))
    one = model.predict_proba(images[0])                       # a single flat image
    np.testing.assert_allclose(one[0], probs[0], rtol=1e-5)
    square = model.predict(images.reshape(5, 28, 28))          # images, not rows
    np.testing.assert_array_equal(square, predicted)


def test_predict_is_the_same_for_large_batches(model):
    x = np.random.default_rng(1).random((9000, 784), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x)[:10], model.predict(x[:10]))


def test_wrong_input_width_is_explained(model):
    with pytest.raises(ValueError, match="expected inputs with 784 features, got shape"):
        model.predict(np.zeros((2, 783)))


def test_evaluate(model, images):
    labels = model.predict(images)
    scores = model.evaluate(images, labels)
    assert scores["accuracy"] == 1.0 and scores["loss"] > 0
    with pytest.raises(ValueError, match="5 samples but y has 2"):
        model.evaluate(images, labels[:2])


def test_input_gradient_shape_and_training_grads_untouched(model, images):
    model.layers[0].grads["W"][...] = 7.0
    saliency = model.input_gradient(images, class_index=3)
    assert saliency.shape == (5, 784) and np.any(saliency)
    assert np.all(model.layers[0].grads["W"] == 7.0)
    with pytest.raises(ValueError, match="class_index"):
        model.input_gradient(images, 10)


def test_save_load_round_trip(model, images, tmp_path):
    path = tmp_path / "m.npz"
    model.save(path, metadata={"metrics": {"test_accuracy": 0.5}, "class_names": list("0123456789")})
    loaded = Sequential.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(images), model.predict_proba(images))
    for a, b in zip(model.dense_weights(), loaded.dense_weights()):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert loaded.metadata["metrics"] == {"test_accuracy": 0.5}
    assert loaded.metadata["architecture"] == model.architecture()
    assert loaded.metadata["nnlib_version"] == "0.1.0"
    # Also from bytes (an upload) and a file object.
    assert Sequential.load(path.read_bytes()).parameter_count == model.parameter_count
    with open(path, "rb") as handle:
        assert Sequential.load(handle).parameter_count == model.parameter_count


def test_saved_file_contains_no_pickled_objects(model, tmp_path):
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
        header = json.loads(archive[HEADER_KEY].tobytes())
    assert header["format"] == "nnlib.Sequential" and header["layers"][0]["kind"] == "Dense"


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        Sequential.load(tmp_path / "nope.npz")


def test_foreign_npz_is_refused_clearly(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ModelFileError, match="not an nnlib model.*weights"):
        Sequential.load(path)


def test_not_a_zip_is_refused_clearly(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello, I am not a model")
    with pytest.raises(ModelFileError, match="not an nnlib model"):
        Sequential.load(path)
    npy = tmp_path / "single.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ModelFileError, match="single .npy array"):
        Sequential.load(npy)


def test_truncated_file_is_refused_clearly(model, tmp_path):
    path = tmp_path / "m.npz"
    model.save(path)
    data = path.read_bytes()
    with pytest.raises(ModelFileError):
        Sequential.load(data[: len(data) // 2])


def test_corrupted_member_is_refused_clearly(model, tmp_path):
    path = tmp_path / "m.npz"
    model.save(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("layer0.W.npy")
    start = info.header_offset + 30 + len(info.filename) + 200
    data[start:start + 50] = b"\x00" * 50
    with pytest.raises(ModelFileError, match="layer0.W|damaged|not an nnlib"):
        Sequential.load(bytes(data))


def test_wrong_shapes_and_missing_arrays_are_named(model, tmp_path):
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    shaped = dict(arrays, **{"layer2.W": np.zeros((3, 3), np.float32)})
    np.savez(tmp_path / "shape.npz", **shaped)
    with pytest.raises(ModelFileError, match="layer2.W.*shape"):
        Sequential.load(tmp_path / "shape.npz")
    missing = {k: v for k, v in arrays.items() if k != "layer4.b"}
    np.savez(tmp_path / "missing.npz", **missing)
    with pytest.raises(ModelFileError, match="layer4.b.*missing"):
        Sequential.load(tmp_path / "missing.npz")
    broken = dict(arrays, **{HEADER_KEY: np.frombuffer(b"{not json", np.uint8)})
    np.savez(tmp_path / "header.npz", **broken)
    with pytest.raises(ModelFileError, match="header is damaged"):
        Sequential.load(tmp_path / "header.npz")


def test_model_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)


def test_hand_built_sequential():
    model = Sequential([Dense(4, 3, rng=0), ReLU(), Dense(3, 2, rng=1)])
    assert model.input_size == 4 and model.n_classes == 2
    assert "Dense(in_features=4" in repr(model)
    with pytest.raises(ValueError):
        Sequential([])


def answer_with(model, answer: str, x: np.ndarray, y: np.ndarray):
    """Ask ``model`` one of its questions about ``x``."""
    if answer == "evaluate":
        return model.evaluate(x, y)
    if answer == "input_gradient":
        return model.input_gradient(x[:50], 3)
    return getattr(model, answer)(x)


@pytest.mark.parametrize("answer", ["predict_proba", "predict", "evaluate", "input_gradient"])
def test_a_model_that_answered_keeps_no_batch_of_the_data_it_answered_on(answer):
    """A cached model must not keep the dataset it last answered on alive (through a batch view)."""
    import gc
    import weakref

    from nnlib.builders import build_cnn
    from nnlib.model import EVAL_BATCH

    for model, rows in ((build_mlp([16], seed=0), EVAL_BATCH + 7),
                        (build_cnn((4,), (8,), input_size=784, n_classes=10, seed=0, batch_norm=True), 300)):
        x = np.random.default_rng(0).random((rows, 784), dtype=np.float32)
        y = np.arange(rows) % 10
        watched = weakref.ref(x)
        probe = np.random.default_rng(1).random((3, 784), dtype=np.float32)
        before = model.predict_proba(probe)
        result = answer_with(model, answer, x, y)
        assert result is not None
        del x, result
        gc.collect()
        assert watched() is None, f"{answer} left the data alive in {model!r}"
        kept = [name for layer in model.layers for name, value in vars(layer).items()
                if name.startswith("_") and isinstance(value, np.ndarray)]
        assert kept == []
        # The model answers as before, and trains: forward then backward still work.
        assert np.array_equal(model.predict_proba(probe), before)
        logits = model.forward(probe, training=True)
        assert model.backward(np.ones_like(logits)).shape == (3, 784)


def test_one_model_shared_by_threads_gives_each_its_own_gradient_and_predictions():
    """A server caches one model for every session: a saliency map (forward then backward on one
    image) must not pick up the forward pass another thread ran on a batch in between."""
    import threading

    from nnlib.builders import build_cnn
    from nnlib.introspect import forward_trace

    model = build_cnn((4, 8), (16,), seed=0)
    rng = np.random.default_rng(0)
    image, batch = rng.random((1, 784), dtype=np.float32), rng.random((64, 784), dtype=np.float32)
    expected_gradient = model.input_gradient(image, 3)
    expected_probabilities = model.predict_proba(batch)
    expected_trace = forward_trace(model, batch).layers[-1].output.copy()
    failures: list[BaseException] = []

    def repeat(task) -> None:
        try:
            for _ in range(40):
                task()
        except BaseException as error:  # noqa: BLE001 (reported by the main thread)
            failures.append(error)

    threads = [threading.Thread(target=repeat, args=(lambda: np.testing.assert_allclose(
                   model.input_gradient(image, 3), expected_gradient, rtol=1e-5, atol=1e-7),)),
               threading.Thread(target=repeat, args=(lambda: np.testing.assert_allclose(
                   model.predict_proba(batch), expected_probabilities, rtol=1e-5, atol=1e-7),)),
               threading.Thread(target=repeat, args=(lambda: np.testing.assert_allclose(   # layer by layer
                   forward_trace(model, batch).layers[-1].output, expected_trace, rtol=1e-5, atol=1e-6),))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
