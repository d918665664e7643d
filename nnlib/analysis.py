"""Numbers that describe a dataset of digit images, for the Explore and Preprocess pages.

Everything here is plain NumPy on ``uint8`` images ``(n, 28, 28)`` (or flat rows
``(n, 784)``) and ``int64`` labels ``(n,)``. Labels of -1 mean "unlabelled" (a CSV
without a label column): they are left out of anything per class.

Large sets are reduced in chunks, so a statistic over all 60,000 MNIST images never
makes a float64 copy of the whole set (that would be 376 MB).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .data import Dataset

CHUNK = 8192
INTENSITY_LEVELS = 256


def _flat(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    return images.reshape(len(images), -1)


def dataset_fingerprint(dataset: Dataset) -> str:
    """A short key that tells datasets apart: name, sizes and a hash of a strided pixel sample.

    Cheap (about a millisecond on MNIST), so a UI can key caches by it instead of hashing
    the whole array on every run.
    """
    digest = hashlib.blake2b(digest_size=8)
    step = max(1, len(dataset.x_train) // 1000)
    digest.update(np.ascontiguousarray(dataset.x_train[::step]).tobytes())
    digest.update(np.ascontiguousarray(dataset.y_train).tobytes())
    n_test = len(dataset.x_test) if dataset.has_test else 0
    return f"{dataset.name}|{len(dataset.x_train)}|{n_test}|{digest.hexdigest()}"


def dataset_checksum(dataset: Dataset) -> str:
    """A checksum of every image and label of ``dataset`` (BLAKE2b, hex), for results kept on
    disk: unlike :func:`dataset_fingerprint` it changes whenever any pixel does (about 0.1 s on MNIST)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test):
        if array is None:
            digest.update(b"none")
            continue
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).data.cast("B"))
    return digest.hexdigest()


def has_labels(labels: np.ndarray) -> bool:
    """True when at least one label is a real class (not -1)."""
    return bool(np.any(np.asarray(labels) >= 0))


def class_counts(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """How many images of each class: ``int64 (n_classes,)``; labels outside ``0..k-1`` are ignored."""
    labels = np.asarray(labels)
    valid = labels[(labels >= 0) & (labels < n_classes)]
    return np.bincount(valid, minlength=n_classes).astype(np.int64)


def sample_indices(
    labels: np.ndarray, count: int, rng: np.random.Generator, class_index: int | None = None
) -> np.ndarray:
    """``count`` random image indices (fewer if there are not enough), sorted by nothing but chance.

    ``class_index=None`` draws from all images; otherwise only from that class.
    """
    labels = np.asarray(labels)
    pool = np.arange(len(labels)) if class_index is None else np.flatnonzero(labels == class_index)
    if len(pool) == 0:
        return np.empty(0, dtype=np.int64)
    return rng.choice(pool, size=min(count, len(pool)), replace=False).astype(np.int64)


def sample_per_class(
    labels: np.ndarray, n_classes: int, per_class: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """For each class in order, ``per_class`` random indices of its images (fewer if it has fewer)."""
    return [sample_indices(labels, per_class, rng, class_index=c) for c in range(n_classes)]


def pixel_mean_std(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and standard deviation over the set: two ``float32`` arrays shaped like one image.

    A pixel with standard deviation 0 has the same value in every image (the blank border
    of MNIST): it carries no information a network could use.
    """
    images = np.asarray(images)
    flat = _flat(images)
    total = np.zeros(flat.shape[1], dtype=np.float64)
    squares = np.zeros(flat.shape[1], dtype=np.float64)
    for start in range(0, len(flat), CHUNK):
        chunk = flat[start:start + CHUNK].astype(np.float64)
        total += chunk.sum(axis=0)
        squares += np.einsum("ij,ij->j", chunk, chunk)
    n = max(len(flat), 1)
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean**2, 0.0))
    shape = images.shape[1:]
    return mean.astype(np.float32).reshape(shape), std.astype(np.float32).reshape(shape)


def pixel_std(images: np.ndarray) -> np.ndarray:
    """Per-pixel standard deviation across the set, ``float32`` shaped like one image."""
    return pixel_mean_std(images)[1]


def class_means(images: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The average image of each class: ``float32 (n_classes, *image_shape)``; zeros for an empty class."""
    images = np.asarray(images)
    labels = np.asarray(labels)
    means = np.zeros((n_classes, *images.shape[1:]), dtype=np.float32)
    for c in range(n_classes):
        members = images[labels == c]
        if len(members):
            means[c] = members.mean(axis=0, dtype=np.float64)
    return means


def ink_per_image(images: np.ndarray) -> np.ndarray:
    """How much ink each image holds: the sum of its pixels / 255, ``float32 (n,)``.

    The unit is "fully white pixels": a value of 100 is as much ink as 100 pixels at 255.
    """
    return (_flat(images).sum(axis=1, dtype=np.int64) / 255.0).astype(np.float32)


@dataclass(frozen=True)
class BoxStats:
    """Tukey box-plot statistics per group, each ``float64 (n_groups,)`` (NaN for an empty group).

    Whiskers reach the furthest value within 1.5 interquartile ranges of the box.
    """

    q1: np.ndarray
    median: np.ndarray
    q3: np.ndarray
    lower_fence: np.ndarray
    upper_fence: np.ndarray
    mean: np.ndarray
    count: np.ndarray


def box_stats(values: np.ndarray, groups: np.ndarray, n_groups: int) -> BoxStats:
    """Box-plot statistics of ``values`` per group ``0..n_groups-1`` (computed here, so a chart
    needs only five numbers per box instead of every value)."""
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups)
    fields = {name: np.full(n_groups, np.nan) for name in ("q1", "median", "q3", "lower_fence", "upper_fence", "mean")}
    count = np.zeros(n_groups, dtype=np.int64)
    for g in range(n_groups):
        members = values[groups == g]
        count[g] = len(members)
        if not len(members):
            continue
        q1, median, q3 = np.percentile(members, [25, 50, 75])
        reach = 1.5 * (q3 - q1)
        fields["q1"][g], fields["median"][g], fields["q3"][g] = q1, median, q3
        fields["lower_fence"][g] = members[members >= q1 - reach].min()
        fields["upper_fence"][g] = members[members <= q3 + reach].max()
        fields["mean"][g] = members.mean()
    return BoxStats(count=count, **fields)


def intensity_histogram(values: np.ndarray, bins: int = 32, value_range: tuple[float, float] | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of pixel values: ``(counts int64 (bins,), edges float64 (bins + 1,))``.

    ``uint8`` input is counted exactly per grey level first (fast on millions of pixels)
    and the 256 levels are then grouped into ``bins`` equal bins over 0-256. Other input
    uses ``np.histogram`` over ``value_range`` (default: its min to max).
    """
    values = np.asarray(values)
    if values.dtype == np.uint8 and value_range is None:
        if INTENSITY_LEVELS % bins:
            raise ValueError(f"bins must divide {INTENSITY_LEVELS} for uint8 pixels, got {bins}")
        levels = np.bincount(values.ravel(), minlength=INTENSITY_LEVELS)
        counts = levels.reshape(bins, -1).sum(axis=1)
        return counts.astype(np.int64), np.linspace(0, INTENSITY_LEVELS, bins + 1)
    flat = values.ravel()
    if value_range is None:
        low, high = (float(flat.min()), float(flat.max())) if flat.size else (0.0, 1.0)
        value_range = (low, high if high > low else low + 1.0)
    counts, edges = np.histogram(flat, bins=bins, range=value_range)
    return counts.astype(np.int64), edges


def value_summary(values: np.ndarray) -> dict[str, float]:
    """Minimum, maximum, mean and standard deviation of an array, as plain floats."""
    values = np.asarray(values)
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean(dtype=np.float64)),
        "std": float(values.std(dtype=np.float64)),
    }


RANDOMIZED_OVERSAMPLE = 10
RANDOMIZED_POWER_ITERATIONS = 4


def _top_right_singular_vectors(centred: np.ndarray, k: int, method: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest singular values and right singular vectors ``(k, d)`` of ``centred``."""
    if method == "auto":
        method = "randomized" if k + RANDOMIZED_OVERSAMPLE < min(centred.shape) // 4 else "exact"
    if method == "exact":
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        return s[:k], vt[:k]
    if method != "randomized":
        raise ValueError(f"unknown PCA method {method!r}; expected 'auto', 'exact' or 'randomized'")
    # Halko, Martinsson & Tropp (2011): find an orthonormal basis Q of the range that holds the
    # top singular directions (power iterations sharpen it), then take the SVD of the small Q^T X.
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(centred @ rng.standard_normal((centred.shape[1], k + RANDOMIZED_OVERSAMPLE)))
    for _ in range(RANDOMIZED_POWER_ITERATIONS):
        q, _ = np.linalg.qr(centred @ (centred.T @ q))
    _, s, vt = np.linalg.svd(q.T @ centred, full_matrices=False)
    return s[:k], vt[:k]


def pca(
    x: np.ndarray, n_components: int = 2, method: str = "auto", seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal component analysis by singular value decomposition.

    ``x``: ``(n, d)`` samples in rows (images are flattened). Returns
    ``projected float32 (n, n_components)``, ``components float32 (n_components, d)``
    (unit rows, the directions of largest variance) and ``explained_variance_ratio
    float64 (n_components,)``.

    Notes: with the centred data ``Xc = U S V^T``, the components are the first rows of
    ``V^T`` and the projection is ``Xc V``; a component explains ``s_i^2 / sum(Xc^2)`` of the
    variance. ``method="exact"`` takes the full NumPy SVD; ``"randomized"`` the SVD of a small
    sketch of ``Xc`` (a few matrix products instead of the full decomposition: for 2 components
    of 3,000 MNIST images, the same directions to 7 digits at a tenth of the time); ``"auto"``
    picks randomized when few components of a large matrix are asked for. Each component's
    sign is fixed so that its largest-magnitude entry is positive: the result is deterministic.
    """
    x = _flat(x).astype(np.float64)
    if x.shape[0] < 2:
        raise ValueError(f"PCA needs at least 2 samples, got {x.shape[0]}")
    max_components = min(x.shape)
    if not 1 <= n_components <= max_components:
        raise ValueError(f"n_components must be in 1..{max_components}, got {n_components}")
    centred = x - x.mean(axis=0)
    s, vt = _top_right_singular_vectors(centred, n_components, method, seed)
    signs = np.sign(vt[np.arange(n_components), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1
    vt = vt * signs[:, None]
    total = float(np.einsum("ij,ij->", centred, centred))
    ratio = s**2 / total if total > 0 else np.zeros(n_components)
    return (centred @ vt.T).astype(np.float32), vt.astype(np.float32), ratio


@dataclass(frozen=True, eq=False)
class Map2D:
    """A 2-D map of a random subset of images: ``indices (n,)`` into the set, ``coords float32 (n, 2)``."""

    indices: np.ndarray
    coords: np.ndarray
    labels: np.ndarray
    explained_variance_ratio: np.ndarray


def pca_map(images: np.ndarray, labels: np.ndarray, n_points: int, seed: int = 0) -> Map2D:
    """Project ``n_points`` random images (seeded) onto their first two principal components."""
    rng = np.random.default_rng(seed)
    n = len(images)
    indices = np.sort(rng.choice(n, size=min(n_points, n), replace=False)).astype(np.int64)
    coords, _, ratio = pca(_flat(images[indices]) / np.float32(255), n_components=2)
    return Map2D(indices, coords, np.asarray(labels)[indices], ratio)


def farthest_from_class_mean(
    images: np.ndarray, labels: np.ndarray, n_classes: int, k: int = 5, normalize: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the ``k`` images farthest (Euclidean, in pixel space) from their class mean.

    ``normalize=True`` first scales every image to unit length (L2 norm 1), so that the distance
    measures shape, not stroke weight: without it the boldest writing always looks most unusual.

    Returns ``indices int64 (n_classes, k)`` farthest first, and their ``distances float32``;
    a class with fewer than ``k`` images is padded with index -1 and distance NaN. These are
    where odd writing and mislabelled images hide.
    """
    labels = np.asarray(labels)
    flat = _flat(images)
    indices = np.full((n_classes, k), -1, dtype=np.int64)
    distances = np.full((n_classes, k), np.nan, dtype=np.float32)
    for c in range(n_classes):
        members = np.flatnonzero(labels == c)
        if not len(members):
            continue
        pixels = flat[members].astype(np.float32)
        if normalize:
            pixels /= np.maximum(np.linalg.norm(pixels, axis=1, keepdims=True), 1e-12)
        diff = pixels - pixels.mean(axis=0)
        dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        top = np.argsort(-dist, kind="stable")[:k]
        indices[c, :len(top)] = members[top]
        distances[c, :len(top)] = dist[top]
    return indices, distances


@dataclass(frozen=True, eq=False)
class DatasetStatistics:
    """What the Explore page shows about a dataset, computed once.

    Shapes: ``train_counts``/``test_counts int64 (k,)`` (test None without a test set);
    ``class_means float32 (k, 28, 28)``; ``pixel_mean``/``pixel_std float32 (28, 28)``;
    ``histogram_counts int64 (bins,)`` and ``histogram_edges`` over all training pixels;
    ``ink`` box statistics per class; ``unusual_indices int64 (k, m)`` with ``unusual_distances``
    (farthest in shape from their class mean: images scaled to unit length first).
    """

    n_train: int
    n_test: int
    labelled: bool
    train_counts: np.ndarray
    test_counts: np.ndarray | None
    class_means: np.ndarray
    pixel_mean: np.ndarray
    pixel_std: np.ndarray
    blank_pixels: int
    histogram_counts: np.ndarray
    histogram_edges: np.ndarray
    ink: BoxStats
    unusual_indices: np.ndarray
    unusual_distances: np.ndarray


def dataset_statistics(dataset: Dataset, unusual_per_class: int = 6, histogram_bins: int = 32) -> DatasetStatistics:
    """Counts, mean images, per-pixel spread, intensity histogram, ink and unusual examples."""
    k = dataset.n_classes
    x, y = dataset.x_train, dataset.y_train
    mean, std = pixel_mean_std(x)
    counts, edges = intensity_histogram(x, bins=histogram_bins)
    unusual, distances = farthest_from_class_mean(x, y, k, unusual_per_class, normalize=True)
    return DatasetStatistics(
        n_train=len(x),
        n_test=len(dataset.x_test) if dataset.has_test else 0,
        labelled=has_labels(y),
        train_counts=class_counts(y, k),
        test_counts=class_counts(dataset.y_test, k) if dataset.has_test else None,
        class_means=class_means(x, y, k),
        pixel_mean=mean,
        pixel_std=std,
        blank_pixels=int(np.count_nonzero(std == 0)),
        histogram_counts=counts,
        histogram_edges=edges,
        ink=box_stats(ink_per_image(x), y, k),
        unusual_indices=unusual,
        unusual_distances=distances,
    )
