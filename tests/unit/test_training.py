import threading
import time

import numpy as np
import pytest

from nnlib.builders import build_mlp
from nnlib.optimizers import SGD, Adam
from nnlib.training import EndEvent, EpochEvent, StepEvent, TrainConfig, TrainingControl, fit, train


def blobs(n=300, features=20, classes=3, seed=0):
    """Separable toy data: a Gaussian cloud per class."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, features)) * 3
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.standard_normal((n, features))).astype(np.float32)
    return x, y


def small_model(seed=0, features=20, classes=3, **kwargs):
    return build_mlp([16], input_size=features, n_classes=classes, seed=seed, **kwargs)


def weights(model):
    return [p.copy() for layer in model.layers for p in layer.params.values()]


def test_fit_learns_and_reports_events():
    x, y = blobs()
    events = []
    model = small_model()
    result = fit(model, x[:240], y[:240], x_val=x[240:], y_val=y[240:], optimizer=Adam(0.01),
                 batch_size=32, epochs=4, callbacks=[events.append])
    assert result.status == "completed" and result.epochs_completed == 4
    assert result.history["epoch"] == [1, 2, 3, 4]
    assert result.history["val_accuracy"][-1] > 0.95
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    steps = [e for e in events if isinstance(e, StepEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert len(steps) == 4 * 8 and steps[0].steps_per_epoch == 8 and steps[-1].samples_seen == 4 * 240
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    assert len(epochs[-1].per_class_val_accuracy) == 3
    assert isinstance(events[-1], EndEvent) and events[-1].status == "completed"
    assert len(result.per_class_val_accuracy) == 4
    seconds = result.history["seconds"]
    assert all(b >= a for a, b in zip(seconds, seconds[1:])) and result.samples_per_second > 0


def test_same_seed_same_weights_bit_for_bit():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = small_model(seed=5, dropout=0.2)
        fit(model, x, y, optimizer=Adam(0.01), batch_size=50, epochs=3, seed=11)
        runs.append(weights(model))
    for a, b in zip(*runs):
        assert np.array_equal(a, b)
    other = small_model(seed=5, dropout=0.2)
    fit(other, x, y, optimizer=Adam(0.01), batch_size=50, epochs=3, seed=12)
    assert not all(np.array_equal(a, b) for a, b in zip(runs[0], weights(other)))


def test_full_batch_is_one_step_per_epoch():
    x, y = blobs(n=100)
    steps = []
    result = fit(small_model(), x, y, optimizer=SGD(0.1), batch_size=None, epochs=5,
                 callbacks=[lambda e: steps.append(e) if isinstance(e, StepEvent) else None])
    assert [s.step for s in steps] == [1] * 5 and steps[0].steps_per_epoch == 1
    assert result.status == "completed"


def test_divergence_is_detected_and_weights_stay_finite():
    x, y = blobs(n=200)
    x *= 100
    model = small_model()
    events = []
    result = fit(model, x, y, optimizer=SGD(1e6), batch_size=None, epochs=50, callbacks=[events.append])
    assert result.status == "diverged"
    assert "learning rate" in result.message
    assert result.epochs_completed < 50
    assert all(np.all(np.isfinite(w)) for w in weights(model))
    assert isinstance(events[-1], EndEvent) and events[-1].status == "diverged"


def test_a_diverged_run_gets_back_its_batch_norm_running_averages_with_its_weights():
    import re

    from nnlib.builders import build_mlp
    from nnlib.training import EpochEvent

    x, y = blobs(n=200)
    x *= 100
    model = build_mlp([8], input_size=x.shape[1], n_classes=int(y.max()) + 1, batch_norm=True, seed=0)
    norm = next(layer for layer in model.layers if layer.buffers)

    def state():
        return ([value.copy() for value in norm.buffers.values()], [w.copy() for w in weights(model)])

    after_epoch = {0: state()}

    def remember(event):
        if isinstance(event, EpochEvent):
            after_epoch[event.epoch] = state()

    result = fit(model, x, y, optimizer=SGD(1e6), batch_size=None, epochs=50, callbacks=[remember])
    assert result.status == "diverged", result.message
    epoch = int(re.search(r"from before epoch (\d+)", result.message).group(1))
    buffers, params = after_epoch[epoch - 1]
    for now, then in zip([*norm.buffers.values(), *weights(model)], [*buffers, *params]):
        np.testing.assert_array_equal(now, then)


def test_stop_flag_ends_training_cleanly():
    x, y = blobs()
    control = TrainingControl()
    seen = []

    def stop_after_three(event):
        if isinstance(event, StepEvent):
            seen.append(event)
            if len(seen) == 3:
                control.request_stop()

    result = fit(small_model(), x, y, batch_size=10, epochs=5, control=control, callbacks=[stop_after_three])
    assert result.status == "stopped" and len(seen) == 3 and result.epochs_completed == 0
    assert "stopped" in result.message


def test_pause_holds_training_until_released():
    x, y = blobs()
    control = TrainingControl()
    control.set_paused(True)
    steps = []
    thread = threading.Thread(target=fit, args=(small_model(), x, y),
                              kwargs=dict(batch_size=30, epochs=1, control=control,
                                          callbacks=[lambda e: steps.append(e)]))
    thread.start()
    time.sleep(0.3)
    assert steps == []                       # nothing happens while paused
    control.set_paused(False)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert isinstance(steps[-1], EndEvent) and steps[-1].status == "completed"
    assert steps[-2].seconds < 0.25          # paused time is not training time


def test_fit_validates_its_inputs():
    x, y = blobs()
    with pytest.raises(ValueError, match="y_train must have shape"):
        fit(small_model(), x, y[:-1])
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        fit(small_model(), x, y + 5)
    with pytest.raises(ValueError, match=r"x_train must be \(n, 20\)"):
        fit(small_model(), x[:, :5], y)


def test_train_config_round_trip():
    config = TrainConfig(hidden_sizes=[32, 16], optimizer="momentum", nesterov=True, batch_size=None)
    assert config.hidden_sizes == (32, 16)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)


@pytest.fixture(scope="module")
def mnist():
    from nnlib.data import load_mnist

    return load_mnist()


@pytest.mark.slow
def test_train_on_a_few_thousand_mnist_images(mnist):
    """The fast accuracy check: 5,000 MNIST images, 5 epochs, well above chance."""
    from nnlib.preprocessing import PreprocessConfig, prepare

    prepared = prepare(mnist, PreprocessConfig(train_size=5000, val_fraction=0.2, seed=0))
    model, result = train(prepared, TrainConfig(hidden_sizes=(128,), epochs=5, batch_size=32, seed=0))
    assert result.status == "completed"
    assert result.history["val_accuracy"][-1] > 0.88
    assert result.test_accuracy > 0.88
    meta = model.metadata
    assert meta["preprocessing"]["config"]["train_size"] == 5000
    assert meta["preprocessing"]["scaler"]["method"] == "unit"
    assert meta["metrics"]["test_accuracy"] == result.test_accuracy
    assert meta["class_names"] == list(mnist.class_names)
    assert meta["train_config"]["hidden_sizes"] == [128]
    assert meta["architecture"][0] == {"kind": "Dense", "in_features": 784, "out_features": 128, "init": "he"}


def test_large_batches_drop_blank_columns_with_the_same_result(monkeypatch):
    import nnlib.training as training

    x, y = blobs(n=300)
    x[:, :5] = 0                                          # five always-blank "pixels"
    results = []
    for threshold in (10_000, 1):                         # compaction off, then on
        monkeypatch.setattr(training, "COMPACT_MIN_BATCH", threshold)
        model = build_mlp([16], input_size=20, n_classes=3, seed=0, dtype=np.float64)
        fit(model, x, y, optimizer=SGD(0.1), batch_size=None, epochs=5)
        assert model.layers[0].forward(x).shape == (300, 16)   # full width after training
        results.append(weights(model))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_full_batch_row_blocks_give_the_same_result(monkeypatch):
    import nnlib.fast as fast

    x, y = blobs(n=400, features=16)
    rng = np.random.default_rng(1)
    x[rng.random(x.shape) < 0.6] = 0                      # sparse inputs, like MNIST's pixels
    x[:, :3] = 0                                          # and a few always-blank columns
    x_val, y_val = x[300:], y[300:]
    x, y = x[:300], y[:300]
    runs = []
    for rows in (10_000, 32, 32):                         # blocks off, then on (twice)
        monkeypatch.setattr(fast, "INPUT_BLOCK_ROWS", rows)
        model = build_mlp([16, 8], input_size=16, n_classes=3, seed=0, dtype=np.float64)
        result = fit(model, x, y, x_val=x_val, y_val=y_val, optimizer=SGD(0.1), batch_size=None, epochs=5)
        assert all(layer._buffers == {} for layer in model.layers if hasattr(layer, "_buffers"))
        runs.append((weights(model), result))
    (w_off, r_off), (w_on, r_on), (w_again, r_again) = runs
    for a, b, c in zip(w_off, w_on, w_again):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(b, c)               # same seed, same weights, bit for bit
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(r_off.history[key], r_on.history[key], rtol=1e-10)
    np.testing.assert_allclose(r_off.per_class_val_accuracy, r_on.per_class_val_accuracy)
    # The caller's model still predicts in the caller's row order.
    np.testing.assert_array_equal(model.predict(x_val).shape, (100,))
