"""nnlib.analysis: PCA against known cases, counts, per-pixel statistics, unusual examples."""
import numpy as np
import pytest

from nnlib import analysis
from nnlib.data import Dataset


def test_pca_finds_the_axis_of_a_line():
    rng = np.random.default_rng(0)
    t = rng.normal(size=500)
    direction = np.array([3.0, 4.0]) / 5.0
    x = np.outer(t, direction) + np.array([10.0, -2.0]) + rng.normal(scale=1e-3, size=(500, 2))
    projected, components, ratio = analysis.pca(x, n_components=1)
    assert np.allclose(components[0], direction, atol=1e-4)  # sign fixed: largest entry positive
    assert ratio[0] > 0.9999
    assert np.allclose(projected[:, 0], t - t.mean(), atol=1e-2)


def test_pca_matches_the_covariance_eigenvectors():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 5)) @ np.diag([5.0, 3.0, 1.0, 0.5, 0.1])
    projected, components, ratio = analysis.pca(x, n_components=3)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(x, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    for i in range(3):
        assert abs(abs(components[i] @ eigenvectors[:, order[i]]) - 1) < 1e-5
    assert np.allclose(ratio, eigenvalues[order[:3]] / eigenvalues.sum(), rtol=1e-5)
    assert np.allclose(projected.var(axis=0, ddof=1), eigenvalues[order[:3]], rtol=1e-4)
    # Projections are uncorrelated.
    assert abs(np.corrcoef(projected.T)[0, 1]) < 1e-4


def test_pca_rejects_bad_requests():
    with pytest.raises(ValueError, match="at least 2 samples"):
        analysis.pca(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="n_components"):
        analysis.pca(np.zeros((5, 3)), n_components=4)


def test_class_counts_ignore_unlabelled_and_sum_to_the_set(mnist):
    counts = analysis.class_counts(mnist.y_train, 10)
    assert counts.sum() == 60_000 and counts[1] == 6742
    assert list(analysis.class_counts(np.array([0, 2, 2, -1]), 3)) == [1, 0, 2]


def test_pixel_mean_std_matches_numpy_and_finds_blank_pixels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20_000, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = 0
    mean, std = analysis.pixel_mean_std(images)
    assert np.allclose(mean, images.mean(axis=0), atol=1e-3)
    assert np.allclose(std, images.std(axis=0), atol=1e-2)
    assert std[0, 0] == 0 and mean.dtype == np.float32


def test_class_means_and_ink():
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    images[0, :2] = 255  # 56 white pixels
    images[1, :1] = 255  # 28
    labels = np.array([0, 0, 1, 1])
    means = analysis.class_means(images, labels, 3)
    assert means.shape == (3, 28, 28)
    assert means[0, 0, 0] == 255 and means[0, 1, 0] == 127.5 and means[1].max() == 0 and means[2].max() == 0
    assert list(analysis.ink_per_image(images)) == [56, 28, 0, 0]


def test_box_stats_by_hand():
    values = np.array([1, 2, 3, 4, 100, 10, 10], dtype=float)
    groups = np.array([0, 0, 0, 0, 0, 1, 1])
    stats = analysis.box_stats(values, groups, 3)
    assert stats.median[0] == 3 and stats.q1[0] == 2 and stats.q3[0] == 4
    assert stats.upper_fence[0] == 4 and stats.lower_fence[0] == 1  # 100 is an outlier
    assert stats.median[1] == 10 and np.isnan(stats.median[2])
    assert list(stats.count) == [5, 2, 0]


def test_intensity_histogram_uint8_and_float():
    values = np.array([0, 0, 7, 8, 255], dtype=np.uint8)
    counts, edges = analysis.intensity_histogram(values, bins=32)
    assert counts[0] == 3 and counts[1] == 1 and counts[-1] == 1 and counts.sum() == 5
    assert edges[0] == 0 and edges[-1] == 256
    counts, edges = analysis.intensity_histogram(np.array([-1.0, 0.0, 1.0]), bins=2)
    assert list(counts) == [1, 2] and edges[0] == -1 and edges[-1] == 1


def test_farthest_from_class_mean_finds_the_planted_outlier():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 20, size=(50, 28, 28), dtype=np.uint8)
    images[17] = 255
    labels = np.zeros(50, dtype=np.int64)
    labels[40:] = 1
    indices, distances = analysis.farthest_from_class_mean(images, labels, 3, k=3)
    assert indices[0, 0] == 17
    assert distances[0, 0] > distances[0, 1] >= distances[0, 2]
    assert np.all(labels[indices[1]] == 1)
    assert list(indices[2]) == [-1, -1, -1] and np.isnan(distances[2]).all()


def test_sampling_is_seeded_and_respects_classes(mnist):
    first = analysis.sample_per_class(mnist.y_train, 10, 10, np.random.default_rng(0))
    again = analysis.sample_per_class(mnist.y_train, 10, 10, np.random.default_rng(0))
    other = analysis.sample_per_class(mnist.y_train, 10, 10, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    for c, indices in enumerate(first):
        assert len(indices) == 10 and np.all(mnist.y_train[indices] == c)
    few = analysis.sample_indices(np.array([1, 1, 2]), 5, np.random.default_rng(0), class_index=1)
    assert sorted(few) == [0, 1]


def test_dataset_statistics_on_mnist(mnist):
    stats = analysis.dataset_statistics(mnist)
    assert stats.train_counts.sum() == stats.n_train == 60_000
    assert stats.test_counts.sum() == stats.n_test == 10_000
    assert stats.histogram_counts.sum() == 60_000 * 784
    assert stats.blank_pixels > 50  # MNIST's border is blank in every image
    assert stats.pixel_std[0, 0] == 0 and stats.pixel_std[14, 14] > 50
    # "1" uses the least ink of all digits.
    assert np.argmin(stats.ink.median) == 1
    assert stats.unusual_indices.shape == (10, 6)
    assert all(np.all(mnist.y_train[stats.unusual_indices[c]] == c) for c in range(10))


def test_statistics_and_map_on_unlabelled_data():
    rng = np.random.default_rng(0)
    dataset = Dataset("csv", rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
                      np.full(200, -1, dtype=np.int64), None, None, tuple("0123456789"))
    stats = analysis.dataset_statistics(dataset)
    assert not stats.labelled and stats.train_counts.sum() == 0 and stats.test_counts is None
    assert (stats.unusual_indices == -1).all()
    points = analysis.pca_map(dataset.x_train, dataset.y_train, 150, seed=0)
    assert points.coords.shape == (150, 2) and len(np.unique(points.indices)) == 150


def test_pca_map_is_seeded(mnist):
    a = analysis.pca_map(mnist.x_train, mnist.y_train, 500, seed=0)
    b = analysis.pca_map(mnist.x_train, mnist.y_train, 500, seed=0)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.coords, b.coords)
    assert np.array_equal(a.labels, mnist.y_train[a.indices])
    assert a.explained_variance_ratio[0] > a.explained_variance_ratio[1] > 0.03


def test_fingerprint_tells_datasets_apart(mnist):
    other = Dataset("MNIST", mnist.x_train[:100], mnist.y_train[:100], None, None, mnist.class_names)
    assert analysis.dataset_fingerprint(mnist) == analysis.dataset_fingerprint(mnist)
    assert analysis.dataset_fingerprint(mnist) != analysis.dataset_fingerprint(other)


def test_randomized_pca_agrees_with_the_exact_svd(mnist):
    x = mnist.x_train[:600].reshape(600, -1) / 255.0
    exact_projected, exact, exact_ratio = analysis.pca(x, 2, method="exact")
    fast_projected, fast, fast_ratio = analysis.pca(x, 2, method="randomized")
    assert np.allclose(np.abs(np.sum(exact * fast, axis=1)), 1, atol=1e-5)
    assert np.allclose(exact, fast, atol=1e-3)  # same sign convention
    assert np.allclose(exact_ratio, fast_ratio, rtol=1e-5)
    assert np.allclose(exact_projected, fast_projected, atol=1e-2)
    with pytest.raises(ValueError, match="unknown PCA method"):
        analysis.pca(x, 2, method="magic")


def test_normalized_distance_ignores_stroke_weight():
    rng = np.random.default_rng(0)
    shape = (rng.random((28, 28)) > 0.7).astype(np.uint8)
    images = np.stack([shape * 100] * 9 + [shape * 255]).astype(np.uint8)  # one bold copy
    images[3] = np.roll(shape, 5, axis=1) * 100  # one different shape
    labels = np.zeros(10, dtype=np.int64)
    by_pixels, _ = analysis.farthest_from_class_mean(images, labels, 1, k=1)
    by_shape, _ = analysis.farthest_from_class_mean(images, labels, 1, k=1, normalize=True)
    assert by_pixels[0, 0] == 9 and by_shape[0, 0] == 3
