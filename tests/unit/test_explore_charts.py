"""The Explore page's pictures and pixel maps built from real MNIST statistics."""
import re

import numpy as np

from dashboard import explore_charts as charts
from nnlib import analysis

SUBSET = 3000


def test_class_means_picture_shows_each_class_mean_rounded_with_its_name(mnist):
    means = analysis.class_means(mnist.x_train[:SUBSET], mnist.y_train[:SUBSET], 10)
    picture = charts.class_means_picture(mnist.class_names, means)
    scale = charts.CLASS_MEAN_SCALE
    assert len(picture.tile_origins) == 10
    assert len({top for top, _ in picture.tile_origins}) == 1  # one row
    for digit in range(10):
        expected = np.rint(means[digit]).astype(np.uint8).repeat(scale, axis=0).repeat(scale, axis=1)
        assert np.array_equal(picture.tile(digit)[:, :, 0], expected)
        top, left = picture.tile_origins[digit]
        assert (picture.picture[:top, left:left + 28 * scale] < 255).any()  # its name above


def test_unusual_examples_picture_shows_the_listed_images_row_by_row(mnist):
    indices = np.array([[10, 20, 30], [-1, -1, -1], [40, 50, -1]])
    distances = np.array([[1.5, 1.2, 1.1], [np.nan] * 3, [0.9, 0.8, np.nan]])
    picture = charts.unusual_examples_picture(mnist.x_train, indices, distances, ["zero", "one", "two"])
    scale = charts.UNUSUAL_SCALE
    # The class without examples gets no row: two rows of three tiles.
    assert len(picture.tile_origins) == 6
    assert len({top for top, _ in picture.tile_origins}) == 2
    for tile, index in enumerate([10, 20, 30, 40, 50]):
        expected = mnist.x_train[index].repeat(scale, axis=0).repeat(scale, axis=1)
        assert np.array_equal(picture.tile(tile)[:, :, 0], expected)
    assert (picture.tile(5) == 255).all()  # a missing example is a blank tile
    assert charts.unusual_examples_picture(mnist.x_train, np.full((2, 3), -1), np.full((2, 3), np.nan),
                                           ["a", "b"]) is None


def test_pixel_maps_give_every_pixel_of_the_mean_and_spread_on_its_tooltip(mnist):
    mean, std = analysis.pixel_mean_std(mnist.x_train[:SUBSET])
    for svg, values, name in zip(charts.pixel_maps_svg(mean, std), (mean, std), ("mean", "std"), strict=True):
        cells = re.findall(rf"<title>{name}, row (\d+), col (\d+): ([\d.]+)</title>", svg)
        assert len(cells) == 784 and "data-pick" not in svg        # shown, not clicked
        read = np.zeros((28, 28))
        for row, column, value in cells:
            read[int(row), int(column)] = float(value)
        np.testing.assert_allclose(read, values, atol=0.005)


def test_map_points_carry_their_image_index_and_class_and_the_legend_toggles_classes():
    from nnlib.analysis import Map2D

    points = Map2D(coords=np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]), labels=np.array([0, 1, 0]),
                   indices=np.array([7, 8, 9]), explained_variance_ratio=np.array([0.1, 0.05]))
    svg = charts.pca_map_svg(points, [str(d) for d in range(10)])
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" class="g(\d)" data-pick="(\d+)"><title>([^<]*)</title>', svg)
    assert [(group, pick, tip) for _, _, group, pick, tip in circles] == [
        ("0", "7", "label 0 · image #7"), ("1", "8", "label 1 · image #8"), ("0", "9", "label 0 · image #9")]
    xs, ys = [float(x) for x, *_ in circles], [float(y) for _, y, *_ in circles]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)    # larger PC 2 is higher up
    assert ".g0{fill:#636EFA}" in svg and ".g1{fill:#EF553B}" in svg
    assert re.findall(r'data-toggle="(g\d)"', svg) == ["g0", "g1"]   # one legend entry per class shown
    assert "PC 1 (10.0% of variance)" in svg and "data-zoom-area" in svg
