"""The Explore page's pictures and pixel maps built from real MNIST statistics."""
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


def test_pixel_maps_figure_holds_mean_and_std_in_one_figure(mnist):
    mean, std = analysis.pixel_mean_std(mnist.x_train[:SUBSET])
    figure = charts.pixel_maps_figure(mean, std)
    assert [trace.type for trace in figure.data] == ["heatmap", "heatmap"]
    assert np.allclose(figure.data[0].z, np.round(mean, 2), atol=1e-4)
    assert np.allclose(figure.data[1].z, np.round(std, 2), atol=1e-4)
    assert (figure.data[0].xaxis, figure.data[1].xaxis) == ("x", "x2")
    assert "mean" in figure.data[0].hovertemplate and "std" in figure.data[1].hovertemplate


def test_map_points_are_see_through_by_their_colour_not_an_opacity():
    from nnlib.analysis import Map2D

    points = Map2D(coords=np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]), labels=np.array([0, 1, 0]),
                   indices=np.array([7, 8, 9]), explained_variance_ratio=np.array([0.1, 0.05]))
    figure = charts.pca_map_figure(points, [str(d) for d in range(10)])
    assert [trace.marker.color for trace in figure.data] == ["rgba(99, 110, 250, 0.75)", "rgba(239, 85, 59, 0.75)"]
    assert all(trace.marker.opacity is None for trace in figure.data)
    assert list(figure.data[0].customdata) == [7, 9]
    assert charts.translucent("#00CC96", 0.5) == "rgba(0, 204, 150, 0.5)"
