"""nnlib.augment: shape, dtype and range kept; seeded; zero config changes nothing; geometry right."""
import time

import numpy as np
import pytest

from nnlib.augment import DEFAULT_AUGMENT, AugmentConfig, affine_transform, augment_images, make_augmenter
from nnlib.preprocessing import PreprocessConfig

STRONG = AugmentConfig(max_shift_px=3, max_rotation_deg=20, max_scale=0.2, noise_std=0.1)


@pytest.fixture(scope="module")
def batch(mnist):
    return mnist.x_train[:128]


def test_keeps_shape_dtype_and_range_for_uint8(batch):
    out = augment_images(batch, STRONG, np.random.default_rng(0))
    assert out.shape == batch.shape and out.dtype == np.uint8
    assert out.min() >= 0 and out.max() <= 255
    assert not np.array_equal(out, batch)


def test_keeps_shape_dtype_and_range_for_flat_float_rows(batch):
    rows = (batch.reshape(128, 784) / 255).astype(np.float32)
    out = augment_images(rows, STRONG, np.random.default_rng(0))
    assert out.shape == (128, 784) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_standardised_input_keeps_its_background(batch):
    rows = ((batch.reshape(128, 784) / 255 - 0.13) / 0.31).astype(np.float32)
    out = augment_images(rows, AugmentConfig(max_shift_px=3), np.random.default_rng(1))
    assert out.min() >= rows.min() and out.max() <= rows.max()
    # The shifted-in border reads the background value, not 0.
    assert np.isclose(np.median(out), rows.min())


def test_same_seed_same_result_and_different_seed_differs(batch):
    first = augment_images(batch, STRONG, np.random.default_rng(7))
    again = augment_images(batch, STRONG, np.random.default_rng(7))
    other = augment_images(batch, STRONG, np.random.default_rng(8))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_zero_config_is_identity_and_draws_nothing(batch):
    rng = np.random.default_rng(3)
    out = augment_images(batch, AugmentConfig(), rng)
    assert np.array_equal(out, batch) and out is not batch
    assert rng.random() == np.random.default_rng(3).random()
    assert make_augmenter(AugmentConfig()) is None and make_augmenter(None) is None


def test_integer_shift_moves_pixels_exactly(batch):
    n = len(batch)
    out = affine_transform(batch, np.tile([[2.0, -1.0]], (n, 1)), np.zeros(n), np.ones(n))
    # x + 2 (right), y - 1 (up): out[y, x] = in[y + 1, x - 2]
    assert np.array_equal(out[:, :-1, 2:], batch[:, 1:, :-2])
    assert np.all(out[:, :, :2] == 0) and np.all(out[:, -1, :] == 0)


def test_quarter_turn_matches_rot90(batch):
    n = len(batch)
    out = affine_transform(batch, np.zeros((n, 2)), np.full(n, np.pi / 2), np.ones(n))
    assert np.allclose(out, np.rot90(batch, k=-1, axes=(1, 2)), atol=1e-3)


def test_zoom_out_keeps_ink_centred_and_shrinks_it(batch):
    n = len(batch)
    out = affine_transform(batch, np.zeros((n, 2)), np.zeros(n), np.full(n, 0.5))
    ink_before = batch.reshape(n, -1).sum(1)
    ink_after = out.reshape(n, -1).sum(1)
    assert np.allclose(ink_after / ink_before, 0.25, rtol=0.1)


def test_noise_only_adds_noise_of_the_requested_size():
    images = np.full((64, 28, 28), 128, dtype=np.uint8)
    out = augment_images(images, AugmentConfig(noise_std=0.1), np.random.default_rng(0))
    assert abs(out.astype(float).std() - 25.5) < 1.0
    assert abs(out.astype(float).mean() - 128) < 0.5


def test_fast_enough_for_training_batches(batch):
    rng = np.random.default_rng(0)
    augment_images(batch, STRONG, rng)
    start = time.perf_counter()
    for _ in range(20):
        augment_images(batch, STRONG, rng)
    assert (time.perf_counter() - start) / 20 < 0.05


def test_config_validates_and_round_trips_through_preprocess_config():
    with pytest.raises(ValueError, match="max_rotation_deg"):
        AugmentConfig(max_rotation_deg=-1)
    with pytest.raises(ValueError, match="max_scale"):
        AugmentConfig(max_scale=1.5)
    config = PreprocessConfig(augment=DEFAULT_AUGMENT)
    assert PreprocessConfig.from_dict(config.to_dict()) == config
    assert AugmentConfig.from_dict(DEFAULT_AUGMENT.to_dict()) == DEFAULT_AUGMENT


def test_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"\(n, 28, 28\) or \(n, 784\)"):
        augment_images(np.zeros((4, 100)), STRONG, np.random.default_rng(0))
