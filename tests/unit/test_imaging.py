"""nnlib.imaging: pictures of digits to MNIST-style 28x28, checked on values."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nnlib.imaging import (
    BOX,
    CENTRE,
    RESAMPLE,
    SIDE,
    MnistStyleResult,
    center_of_mass,
    ink_bbox,
    load_image,
    to_mnist_style,
)


def canvas_with(draw_fn, size=(280, 280), ink=255, background=0, mode="L") -> np.ndarray:
    """A canvas drawn with Pillow: ``draw_fn(draw, ink)`` paints the digit."""
    picture = Image.new(mode, size, background)
    draw_fn(ImageDraw.Draw(picture), ink)
    return np.asarray(picture)


def small_seven_top_left(draw, ink):
    draw.line([(20, 20), (80, 20), (45, 110)], fill=ink, width=12)


def tall_bar(draw, ink):
    draw.rectangle([150, 40, 165, 230], fill=ink)


def ring(draw, ink):
    draw.ellipse([170, 150, 260, 270], outline=ink, width=14)


def ink_height_width(image: np.ndarray, threshold: float = 0.2) -> tuple[int, int]:
    top, left, bottom, right = ink_bbox(image)
    return bottom - top, right - left


def test_result_is_float32_28x28_in_unit_range():
    result = to_mnist_style(canvas_with(small_seven_top_left))
    assert isinstance(result, MnistStyleResult)
    assert result.image.shape == (28, 28) and result.image.dtype == np.float32
    assert result.image.min() >= 0 and result.image.max() == pytest.approx(1.0, abs=0.02)
    assert not result.is_empty


@pytest.mark.parametrize("draw_fn", [small_seven_top_left, tall_bar, ring])
def test_centre_of_mass_lands_in_the_middle(draw_fn):
    result = to_mnist_style(canvas_with(draw_fn))
    row, col = center_of_mass(result.image)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5
    assert result.center_of_mass == pytest.approx((row, col))


def test_longer_side_is_twenty_pixels_and_aspect_is_kept():
    result = to_mnist_style(canvas_with(tall_bar))  # a bar 191 tall, 16 wide
    height, width = ink_height_width(result.image)
    assert height == BOX
    assert width <= 3                                # 16 * 20 / 191 = 1.7 pixels, not stretched to 20
    assert result.steps[2][1].shape == (20, 2)


def test_small_digit_anywhere_is_scaled_up_the_same():
    small = canvas_with(small_seven_top_left)
    moved = np.roll(small, (140, 150), axis=(0, 1))
    a, b = to_mnist_style(small).image, to_mnist_style(moved).image
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert ink_height_width(a)[0] == BOX


def test_bbox_is_that_of_the_ink_in_input_coordinates():
    result = to_mnist_style(canvas_with(tall_bar))
    assert result.bbox == (40, 150, 231, 166)


def test_black_on_white_gives_the_same_result_as_white_on_black():
    white_on_black = to_mnist_style(canvas_with(ring))
    black_on_white = to_mnist_style(canvas_with(ring, ink=0, background=255))
    assert black_on_white.inverted and not white_on_black.inverted
    np.testing.assert_allclose(black_on_white.image, white_on_black.image, atol=1e-5)


def test_grey_paper_and_grey_ink_are_stretched_to_full_contrast():
    reference = to_mnist_style(canvas_with(ring)).image
    photo_like = to_mnist_style(canvas_with(ring, ink=60, background=200)).image
    np.testing.assert_allclose(photo_like, reference, atol=1e-4)


def test_rgb_and_rgba_transparent_inputs_match_grey():
    grey = to_mnist_style(canvas_with(ring)).image
    rgb = canvas_with(ring, ink=(0, 0, 0), background=(255, 255, 255), mode="RGB")
    np.testing.assert_allclose(to_mnist_style(rgb).image, grey, atol=1e-4)
    # A transparent background with black ink: the canvas without a background colour,
    # or a PNG cut-out. Compositing on black would lose the ink; the alpha channel keeps it.
    rgba = canvas_with(ring, ink=(0, 0, 0, 255), background=(0, 0, 0, 0), mode="RGBA")
    result = to_mnist_style(rgba)
    assert not result.inverted
    np.testing.assert_allclose(result.image, grey, atol=1e-4)
    white_ink = canvas_with(ring, ink=(255, 255, 255, 255), background=(255, 255, 255, 0), mode="RGBA")
    np.testing.assert_allclose(to_mnist_style(white_ink).image, grey, atol=1e-4)


def test_opaque_rgba_canvas_is_read_by_colour():
    canvas = canvas_with(ring, ink=(255, 255, 255, 255), background=(0, 0, 0, 255), mode="RGBA")
    np.testing.assert_allclose(to_mnist_style(canvas).image, to_mnist_style(canvas_with(ring)).image, atol=1e-4)


def test_float_and_pil_inputs_are_accepted():
    grey = canvas_with(ring)
    expected = to_mnist_style(grey).image
    np.testing.assert_allclose(to_mnist_style(grey / 255.0).image, expected, atol=1e-4)
    np.testing.assert_allclose(to_mnist_style(Image.fromarray(grey)).image, expected, atol=1e-4)
    np.testing.assert_allclose(to_mnist_style(grey[:, :, None]).image, expected, atol=1e-4)


@pytest.mark.parametrize("image", [np.zeros((280, 280), np.uint8), np.full((50, 70), 255, np.uint8),
                                   np.zeros((280, 280, 4), np.uint8), np.full((10, 10, 3), 128, np.uint8)])
def test_an_empty_picture_is_reported_as_empty(image):
    result = to_mnist_style(image)
    assert result.is_empty and result.bbox is None
    assert not result.image.any() and result.image.shape == (28, 28)
    assert len(result.steps) == 1


def test_faint_noise_alone_is_empty():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 20, size=(100, 100)).astype(np.uint8)
    assert to_mnist_style(noise).is_empty


def test_all_steps_off_is_a_plain_resize_of_the_whole_canvas():
    canvas = canvas_with(small_seven_top_left)
    result = to_mnist_style(canvas, crop=False, fit_20=False, center_of_mass=False)
    plain = np.asarray(Image.fromarray(canvas.astype(np.float32) / 255, mode="F").resize((28, 28), RESAMPLE))
    np.testing.assert_allclose(result.image, np.clip(plain, 0, 1), atol=1e-5)
    # the small 7 stays small, in the top-left corner, as a naive demo would feed it
    top, left, bottom, right = ink_bbox(result.image)
    assert bottom <= 13 and right <= 10


def test_without_centre_of_mass_the_box_is_centred():
    result = to_mnist_style(canvas_with(small_seven_top_left), center_of_mass=False)
    top, left, bottom, right = ink_bbox(result.image)
    assert (top, bottom) == (4, 24)                 # 20 tall, 4 pixels above and below
    assert abs((left + right) / 2 - 14) <= 1


def test_without_fit_20_the_ink_fills_28_pixels():
    result = to_mnist_style(canvas_with(tall_bar), fit_20=False)
    assert ink_height_width(result.image)[0] == SIDE
    assert "not 20x20" in result.steps[2][0]


def test_without_crop_the_whole_canvas_is_scaled_to_20_and_still_centred():
    result = to_mnist_style(canvas_with(small_seven_top_left), crop=False)
    height, width = ink_height_width(result.image)
    assert height < 10 and width < 6                # 110/280*20 = 8 rows
    row, col = center_of_mass(result.image)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5


def test_steps_are_listed_in_order_with_titles():
    result = to_mnist_style(canvas_with(ring, ink=0, background=255))
    titles = [title for title, _ in result.steps]
    assert "inverted" in titles[0] and "Cropped" in titles[1]
    assert "20x20" in titles[2] and "centre of mass" in titles[3]
    np.testing.assert_array_equal(result.steps[-1][1], result.image)


def test_mnist_digits_pass_through_almost_unchanged(mnist):
    images = mnist.x_test[:300]
    out = np.stack([to_mnist_style(image).image for image in images])
    assert np.abs(out - images / 255.0).mean() < 0.01


def test_invert_can_be_forced_and_is_validated():
    black_on_white = canvas_with(ring, ink=0, background=255)
    forced = to_mnist_style(black_on_white, invert=True)
    assert forced.inverted and not forced.is_empty
    np.testing.assert_allclose(forced.image, to_mnist_style(canvas_with(ring)).image, atol=1e-5)
    # not inverting a black-on-white picture leaves no ink above the (white) background
    assert to_mnist_style(black_on_white, invert=False).is_empty
    with pytest.raises(ValueError, match="invert"):
        to_mnist_style(black_on_white, invert="yes")


@pytest.mark.parametrize("bad", [np.zeros((5,)), np.zeros((4, 4, 2)), np.zeros((0, 3))])
def test_bad_shapes_are_refused_with_the_shape_named(bad):
    with pytest.raises(ValueError, match="shape"):
        to_mnist_style(bad)


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def test_load_image_reads_grey_rgb_and_rgba(tmp_path):
    grey = canvas_with(ring)
    np.testing.assert_array_equal(load_image(png_bytes(grey)), grey)
    rgba = canvas_with(ring, ink=(0, 0, 0, 255), background=(0, 0, 0, 0), mode="RGBA")
    path = tmp_path / "digit.png"
    path.write_bytes(png_bytes(rgba))
    loaded = load_image(path)
    assert loaded.shape == (280, 280, 4) and loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, rgba)
    rgb = canvas_with(ring, ink=(200, 0, 0), mode="RGB")
    assert load_image(png_bytes(rgb)).shape == (280, 280, 3)


def test_load_image_names_the_problem(tmp_path):
    with pytest.raises(ValueError, match="not an image"):
        load_image(b"label,pixel0\n1,2\n")
    with pytest.raises(ValueError, match="empty"):
        load_image(b"")
    with pytest.raises(ValueError, match="not found"):
        load_image(tmp_path / "missing.png")
    truncated = png_bytes(canvas_with(ring))[:200]
    with pytest.raises(ValueError, match="damaged|truncated|not an image"):
        load_image(truncated)


def test_load_image_can_shrink_a_large_picture_keeping_its_aspect():
    big = canvas_with(ring, size=(1200, 900))
    loaded = load_image(png_bytes(big), max_side=400)
    assert loaded.shape == (300, 400)
    small_result, big_result = to_mnist_style(loaded).image, to_mnist_style(big).image
    assert np.corrcoef(small_result.ravel(), big_result.ravel())[0, 1] > 0.8   # same ring, maybe a pixel apart
    assert center_of_mass(small_result) == pytest.approx(center_of_mass(big_result), abs=1.0)
    assert load_image(png_bytes(big), max_side=2000).shape == (900, 1200)
