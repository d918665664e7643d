"""Montages: many small images as one labelled picture, each tile's pixels exactly the image's."""
import numpy as np
import pytest

from dashboard.montage import BACKGROUND, GAP_PX, TITLE_BAND_PX, grey_levels, montage


def has_ink(region: np.ndarray) -> bool:
    return bool((region < BACKGROUND).any())


def test_each_tile_holds_its_image_enlarged_pixel_for_pixel(mnist):
    images = mnist.x_train[:7]
    picture = montage(images, columns=3, scale=2)
    assert picture.tile_size == (56, 56)
    assert len(picture.tile_origins) == 7
    for index, image in enumerate(images):
        tile = picture.tile(index)
        assert np.array_equal(tile[:, :, 0], image.repeat(2, axis=0).repeat(2, axis=1))
        assert np.array_equal(tile[:, :, 0], tile[:, :, 2])  # grey: R = G = B
    # Three columns, three rows (the last with one tile), white gaps between.
    assert picture.picture.shape == (3 * 56 + 2 * GAP_PX, 3 * 56 + 2 * GAP_PX, 3)
    top, left = picture.tile_origins[1]
    assert (picture.picture[top:top + 56, left - GAP_PX:left] == BACKGROUND).all()
    assert (picture.picture[-56:, 56 + GAP_PX:] == BACKGROUND).all()  # no tiles 8 and 9


def test_titles_are_written_above_their_tiles_and_blank_titles_leave_the_band_white(mnist):
    picture = montage(mnist.x_train[:3], columns=3, titles=["5 · #0", "", "4 · #2"], scale=2)
    for index, inked in enumerate((True, False, True)):
        top, left = picture.tile_origins[index]
        assert top == TITLE_BAND_PX
        assert has_ink(picture.picture[:top, left:left + 56]) is inked


def test_row_labels_sit_left_of_their_row(mnist):
    picture = montage(mnist.x_train[:4], columns=2, row_labels=["first", "second"], scale=1)
    (top0, left0), (top1, _), (top2, _) = picture.tile_origins[:3]
    assert left0 > 0 and top1 == top0 and top2 == 28 + GAP_PX
    assert has_ink(picture.picture[top0:top0 + 28, :left0])
    assert has_ink(picture.picture[top2:top2 + 28, :left0])
    assert not has_ink(picture.picture[28:top2, :left0])  # the gap between the rows


def test_grey_levels_map_the_range_to_black_and_white_and_nan_to_white():
    values = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]])
    assert grey_levels(values, 0.0, 1.0).tolist() == [[0, 0, 128, 255, 255, 255]]
    with pytest.raises(ValueError, match="vmax > vmin"):
        grey_levels(values, 1.0, 1.0)


@pytest.mark.parametrize("images, kwargs, message", [
    (np.zeros((0, 28, 28)), {}, "non-empty stack"),
    (np.zeros((28, 28)), {}, "non-empty stack"),
    (np.zeros((2, 28, 28)), {"columns": 0}, "columns >= 1"),
    (np.zeros((2, 28, 28)), {"titles": ["a"]}, "one title per image"),
    (np.zeros((3, 28, 28)), {"columns": 2, "row_labels": ["a"]}, "one label per row"),
])
def test_bad_input_is_named(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        montage(images, **{"columns": 2, **kwargs})
