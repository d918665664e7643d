"""Captioned thumbnails as one block of HTML: the images and captions come back out exactly."""
import numpy as np
import pytest

from dashboard.thumbnails import FIGURE_CLASS, captions_in, images_in, png_data_address, thumbnail_grid_html


def test_images_and_captions_round_trip():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(3)]
    grid = thumbnail_grid_html(images, ["7 · #1", "0 · #22", "<b> & 'x'"], width_px=56)
    assert grid.count(f'class="{FIGURE_CLASS}"') == 3
    assert captions_in(grid) == ["7 · #1", "0 · #22", "<b> & 'x'"]
    assert "<b>" not in grid  # a caption is text, never markup
    for shown, image in zip(images_in(grid), images, strict=True):
        assert np.array_equal(shown, image)
    # Sent at their own size, enlarged by the browser without smoothing.
    assert grid.count('width="56" height="56"') == 3 and "image-rendering:pixelated" in grid


def test_float_images_are_clipped_to_bytes_and_captions_are_optional():
    image = np.array([[-5.0, 0.4], [254.6, 300.0]])
    grid = thumbnail_grid_html([image], None, width_px=40)
    assert captions_in(grid) == [] and 'alt="image 1"' in grid
    assert images_in(grid)[0].tolist() == [[0, 0], [254, 255]]


def test_a_wide_image_keeps_its_aspect():
    grid = thumbnail_grid_html([np.zeros((10, 20), dtype=np.uint8)], ["wide"], width_px=80)
    assert 'width="80" height="40"' in grid


def test_captions_must_match_images():
    with pytest.raises(ValueError, match="2 captions for 1 images"):
        thumbnail_grid_html([np.zeros((28, 28), dtype=np.uint8)], ["a", "b"], width_px=28)


def test_data_address_is_a_png():
    import base64

    address = png_data_address(np.full((28, 28), 255, dtype=np.uint8))
    assert address.startswith("data:image/png;base64,")
    assert base64.b64decode(address.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_addresses_follow_the_pixels_not_the_array():
    """Encoded images are remembered by their bytes and shape: changing an array in place, or
    showing the same bytes in another shape, gives a new picture."""
    image = np.zeros((4, 6), dtype=np.uint8)
    before = png_data_address(image)
    assert png_data_address(image.copy()) == before
    image[1, 2] = 200
    assert images_in(thumbnail_grid_html([image], None, width_px=12))[0][1, 2] == 200
    assert png_data_address(image) != before
    assert images_in(thumbnail_grid_html([image.reshape(6, 4)], None, width_px=12))[0].shape == (6, 4)
