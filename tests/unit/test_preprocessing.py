"""nnlib.preprocessing: subset, shuffle, split, scaling and one-hot, as the seed study did."""
import numpy as np
import pytest

from nnlib.preprocessing import (
    PreprocessConfig,
    Scaler,
    one_hot,
    prepare,
    shuffle_split,
    split_sizes,
)


def test_seed_study_split_sizes(mnist):
    prepared = prepare(mnist, PreprocessConfig(train_size=42_000, val_fraction=0.2, seed=0))
    assert prepared.x_train.shape == (33_600, 784) and prepared.x_train.dtype == np.float32
    assert prepared.x_val.shape == (8_400, 784) and prepared.y_val.shape == (8_400,)
    assert prepared.x_train.T.shape == (784, 33_600)  # the seed study's column layout
    assert prepared.x_test.shape == (10_000, 784)
    # Train and validation come from the first 42,000 images and never overlap.
    both = np.concatenate([prepared.train_indices, prepared.val_indices])
    assert sorted(both.tolist()) == list(range(42_000))
    assert prepared.x_train.min() == 0.0 and prepared.x_train.max() == 1.0


def test_same_seed_same_split_other_seed_other_split(mnist):
    a = prepare(mnist, PreprocessConfig(train_size=1000, seed=1))
    b = prepare(mnist, PreprocessConfig(train_size=1000, seed=1))
    c = prepare(mnist, PreprocessConfig(train_size=1000, seed=2))
    assert np.array_equal(a.train_indices, b.train_indices)
    assert not np.array_equal(a.train_indices, c.train_indices)


def test_rows_of_prepared_data_are_the_scaled_images(mnist):
    prepared = prepare(mnist, PreprocessConfig(train_size=100, seed=3))
    index = prepared.train_indices[7]
    assert np.allclose(prepared.x_train[7], mnist.x_train[index].reshape(-1) / 255)
    assert prepared.y_train[7] == mnist.y_train[index]


def test_split_sizes_and_shuffle_split():
    assert split_sizes(42_000, 0.2) == (33_600, 8_400)
    assert split_sizes(10, 0.0) == (10, 0)
    x = np.arange(10)
    x_tr, y_tr, x_val, y_val = shuffle_split(x, x * 10, 0.3, seed=0)
    assert len(x_tr) == 7 and len(x_val) == 3
    assert np.array_equal(y_tr, x_tr * 10)
    assert sorted(np.concatenate([x_tr, x_val]).tolist()) == list(range(10))


def test_scalers():
    raw = np.array([[0, 51, 255]], dtype=np.uint8)
    assert np.allclose(Scaler.fit("unit", raw).transform(raw), [[0, 0.2, 1]])
    assert np.allclose(Scaler.fit("none", raw).transform(raw), [[0, 51, 255]])
    standard = Scaler.fit("standardize", raw)
    out = standard.transform(raw)
    assert abs(out.mean()) < 1e-6 and abs(out.std() - 1) < 1e-5
    assert np.allclose(standard.transform(raw / 255, already_unit=True), out)
    assert Scaler.from_dict(standard.to_dict()) == standard
    for scaler in (Scaler.fit("unit", raw), Scaler.fit("none", raw), standard):   # back to 0-1 pixels
        np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(raw)), raw / 255, rtol=1e-6, atol=1e-7)
    assert Scaler.from_metadata({"preprocessing": {"scaler": standard.to_dict()}}) == standard
    assert Scaler.from_metadata({}) == Scaler.from_metadata(None) == Scaler("unit")
    with pytest.raises(ValueError, match="unknown scaling"):
        Scaler.fit("minmax", raw)


def test_one_hot():
    encoded = one_hot(np.array([3, 0, 9]), 10)
    assert encoded.shape == (3, 10) and encoded.dtype == np.float32
    assert encoded.argmax(axis=1).tolist() == [3, 0, 9] and encoded.sum() == 3
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        one_hot(np.array([10]), 10)


def test_config_validation_and_roundtrip():
    config = PreprocessConfig(train_size=500, val_fraction=0.25, seed=4, scaling="standardize")
    assert PreprocessConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="val_fraction"):
        PreprocessConfig(val_fraction=1.5)
    with pytest.raises(ValueError, match="unknown scaling"):
        PreprocessConfig(scaling="log")


def test_unlabelled_data_cannot_be_prepared():
    from nnlib.data import Dataset

    dataset = Dataset("unlabelled", np.zeros((4, 28, 28), np.uint8), np.full(4, -1), None, None, tuple("0123456789"))
    with pytest.raises(ValueError, match="no labels"):
        prepare(dataset, PreprocessConfig())
