"""nnlib.layer_health against a forward/backward written out in NumPy here."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nnlib.builders import build_cnn, build_mlp
from nnlib.layer_health import HealthEvent, HealthMonitor, LayerHealth, health_sample, layer_health
from nnlib.training import EpochEvent, StepEvent


def plain_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_health(weights, x, labels):
    """Weight-gradient norms (output layer last) and dead ReLU units per hidden layer, by hand."""
    activations, zs = [x], []
    for position, (w, b) in enumerate(weights):
        z = activations[-1] @ w + b
        zs.append(z)
        activations.append(z if position == len(weights) - 1 else np.maximum(z, 0))
    n = len(x)
    targets = np.zeros((n, weights[-1][0].shape[1]))
    targets[np.arange(n), labels] = 1
    dz = (plain_softmax(zs[-1]) - targets) / n
    norms = []
    for position in range(len(weights) - 1, -1, -1):
        norms.append(np.linalg.norm(activations[position].T @ dz))
        if position:
            dz = (dz @ weights[position][0].T) * (zs[position - 1] > 0)
    dead = [int(np.sum(np.all(a <= 0, axis=0))) for a in activations[1:-1]]
    return list(reversed(norms)), dead


def mlp_with_dead_units(seed=0):
    model = build_mlp([7, 5], input_size=12, n_classes=4, seed=seed, dtype=np.float64)
    dense = [layer for layer in model.layers if layer.params]
    dense[0].params["b"][[1, 4]] = -1e3     # two units of hidden 1 can never switch on
    dense[1].params["b"][2] = -1e3          # one of hidden 2
    return model


def test_layer_health_matches_numpy_gradient_norms_and_dead_units():
    model = mlp_with_dead_units()
    rng = np.random.default_rng(1)
    x, labels = rng.normal(size=(40, 12)), rng.integers(0, 4, size=40)
    before = [layer.params["W"].copy() for layer in model.layers if layer.params]
    health = layer_health(model, x, labels)
    weights = [(layer.params["W"], layer.params["b"]) for layer in model.layers if layer.params]
    norms, dead = numpy_health(weights, x, labels)
    assert health.gradient_layers == ("dense_0", "dense_2", "dense_4")
    assert health.gradient_norms == pytest.approx(norms, rel=1e-10)
    assert health.hidden_stages == ("hidden 1", "hidden 2")
    assert list(health.dead_units) == dead
    assert health.dead_units == (2, 1)   # exactly the ones switched off above
    assert health.unit_counts == (7, 5) and health.samples == 40
    assert all(np.array_equal(w, layer.params["W"])
               for w, layer in zip(before, [layer for layer in model.layers if layer.params]))  # untouched


def test_layer_health_of_a_cnn_counts_dead_channels():
    model = build_cnn((2, 3), (5,), kernel_size=3, input_size=100, n_classes=4, seed=0, dtype=np.float64)
    model.layers[1].params["b"][1] = -1e3   # (layer 0 reshapes) the first convolution's second channel never fires
    rng = np.random.default_rng(2)
    health = layer_health(model, rng.normal(size=(16, 100)), rng.integers(0, 4, size=16))
    assert health.hidden_stages == ("conv 1", "conv 2", "hidden 1")
    assert health.unit_counts == (2, 3, 5)
    assert health.dead_units[0] == 1
    assert len(health.gradient_norms) == 4 and all(norm >= 0 for norm in health.gradient_norms)


def test_health_events_round_trip_through_json():
    event = HealthEvent(3, layer_health(mlp_with_dead_units(), np.ones((5, 12)), np.arange(5) % 4))
    back = HealthEvent.from_dict(json.loads(json.dumps(event.to_dict())))
    assert back == event and isinstance(back.health, LayerHealth)


def test_the_monitor_measures_after_each_epoch_on_a_fixed_sample_only():
    model = mlp_with_dead_units()
    rng = np.random.default_rng(3)
    x, labels = rng.normal(size=(300, 12)), rng.integers(0, 4, size=300)
    heard: list[HealthEvent] = []
    monitor = HealthMonitor(model, x, labels, heard.append, sample_size=50, seed=7)
    chosen = health_sample(300, 50, 7)
    assert len(chosen) == 50 and np.array_equal(monitor.labels, labels[chosen])
    monitor(StepEvent(1, 1, 10, 0.5, 32, 0.1, 320.0))
    assert heard == []
    monitor(EpochEvent(1, 2, 0.5, 0.8, 0.6, 0.7, 1.0, 300.0))
    monitor(EpochEvent(2, 2, 0.4, 0.85, 0.5, 0.75, 2.0, 300.0))
    assert [event.epoch for event in heard] == [1, 2]
    assert heard[0].health == layer_health(model, x[chosen], labels[chosen])


def test_the_monitor_refuses_mismatched_or_empty_data():
    model = mlp_with_dead_units()
    with pytest.raises(ValueError, match="x has 3 samples but labels has 2"):
        HealthMonitor(model, np.ones((3, 12)), np.zeros(2, dtype=int), print)
    with pytest.raises(ValueError, match="at least one image"):
        HealthMonitor(model, np.ones((0, 12)), np.zeros(0, dtype=int), print)
