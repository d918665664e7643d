"""nnlib.split_batch: a batch split between threads gives the one-thread step's loss, gradients
and trained weights (to float rounding), and only networks that allow it are split."""

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController, threadpool_limits

from nnlib.builders import build_cnn, build_mlp
from nnlib.fast import FastPath
from nnlib.losses import SoftmaxCrossEntropy
from nnlib.optimizers import Adam
from nnlib.split_batch import SplitBatchStep, blas_threads, replica_sharing_parameters, splittable
from nnlib.training import MiniBatches, SplitBatches, choose_steps, fit
from tests.unit.test_fast import plain_training, weights


def one_thread_step(model, x, y):
    """Loss, correct predictions and flat gradients of one unsplit fast-path step."""
    loss_fn, path = SoftmaxCrossEntropy(), FastPath(model)
    logits = path.forward(x, True)
    loss = loss_fn.forward(logits, y)
    correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
    path.backward(loss_fn.backward())
    return loss, correct, model.flat_grads.copy()


def small_cnn():
    return build_cnn((3, 4), (6,), kernel_size=3, input_size=144, n_classes=3, seed=2, dtype=np.float64)


@pytest.mark.parametrize("build", [small_cnn, lambda: build_mlp([7, 5], input_size=144, n_classes=3, seed=3,
                                                                  dtype=np.float64)])
@pytest.mark.parametrize(("rows", "parts"), [(40, 2), (37, 3), (20, 2)])
def test_split_step_gives_the_one_thread_loss_and_gradients(build, rows, parts):
    """Even and uneven parts, and a batch too small for more than one part (20 rows)."""
    rng = np.random.default_rng(rows)
    x, y = rng.random((rows, 144)), rng.integers(0, 3, rows)
    model = build()
    expected_loss, expected_correct, expected_grads = one_thread_step(model, x, y)
    model.flat_grads[...] = np.nan                    # every element must be written by the split step
    step = SplitBatchStep(model, FastPath(model), parts, ThreadpoolController())
    try:
        loss, correct = step(x, y)
    finally:
        step.close()
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert correct == expected_correct
    np.testing.assert_allclose(model.flat_grads, expected_grads, rtol=1e-10, atol=1e-14)


def test_replica_shares_the_parameters_but_not_the_gradients():
    model = small_cnn()
    replica = replica_sharing_parameters(model)
    for layer, twin in zip(model.layers, replica.layers):
        for name in layer.params:
            assert twin.params[name] is layer.params[name]
            assert not np.shares_memory(twin.grads[name], layer.grads[name])
    model.flat_params += 1                              # an optimiser step on the model moves the replica too
    np.testing.assert_array_equal(replica.layers[1].params["W"], model.layers[1].params["W"])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_fit_with_two_blas_threads_trains_to_the_weights_of_the_plain_loop(batch_norm):
    rng = np.random.default_rng(5)
    x, y = rng.random((150, 144)), rng.integers(0, 3, 150)
    x[x < 0.4] = 0
    build = lambda: build_cnn((3, 4), (6,), kernel_size=3, input_size=144, n_classes=3, seed=2, dtype=np.float64,
                              batch_norm=batch_norm)
    reference, model = build(), build()
    plain_training(reference, x, y, Adam(1e-2), 40, epochs=2, seed=9)     # 40 * 3 + 30: a short last batch
    with threadpool_limits(2, user_api="blas"):
        steps = choose_steps(model, x, y, 40, None, None, None)
        steps.close()
        assert isinstance(steps, MiniBatches if batch_norm else SplitBatches)
        fit(model, x, y, optimizer=Adam(1e-2), batch_size=40, epochs=2, seed=9)
        assert blas_threads(ThreadpoolController()) == 2                   # each step gives the threads back
    atol = 1e-8 if batch_norm else 1e-11
    for got, expected in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=atol)


def test_only_networks_without_batch_statistics_or_random_masks_are_split():
    assert splittable(small_cnn())
    assert not splittable(build_cnn((3,), (6,), kernel_size=3, input_size=144, batch_norm=True))
    assert not splittable(build_mlp([8], input_size=16, dropout=0.5))
    with pytest.raises(ValueError, match="BatchNorm or Dropout"):
        model = build_mlp([8], input_size=16, dropout=0.5)
        SplitBatchStep(model, FastPath(model), 2, ThreadpoolController())
    with pytest.raises(ValueError, match="at least 2 parts, got 1"):
        model = small_cnn()
        SplitBatchStep(model, FastPath(model), 1, ThreadpoolController())


def test_one_blas_thread_or_a_full_batch_keeps_the_one_thread_step():
    rng = np.random.default_rng(6)
    x, y = rng.random((64, 144)), rng.integers(0, 3, 64)
    with threadpool_limits(1, user_api="blas"):
        assert type(choose_steps(small_cnn(), x, y, 32, None, None, None)) is MiniBatches
    with threadpool_limits(2, user_api="blas"):
        assert type(choose_steps(small_cnn(), x, y, 64, None, None, None)) is MiniBatches
        assert type(choose_steps(small_cnn(), x, y, 16, None, None, None)) is MiniBatches   # parts too small
