"""The Preprocess page's pictures: the right images in the right tiles."""
import numpy as np

from dashboard import preprocess_charts as charts
from nnlib.augment import AugmentConfig, augment_images


def test_before_after_picture_puts_each_row_in_order_and_pads_a_short_row(mnist):
    before, after = mnist.x_train[:3], mnist.x_train[10:15]
    picture = charts.before_after_picture(before, ["a", "b", "c"], after, [str(i) for i in range(5)],
                                          row_labels=("file order", "shuffled"))
    scale = charts.IMAGE_SCALE
    assert len(picture.tile_origins) == 10  # two rows of five
    for tile, image in enumerate([*before, None, None, *after]):
        pixels = picture.tile(tile)[::scale, ::scale, 0]
        if image is None:
            assert (picture.tile(tile) == 255).all()
        else:
            assert np.array_equal(pixels, image)
    assert picture.tile_origins[5][0] > picture.tile_origins[4][0]  # the shuffled row is below


def test_augment_preview_picture_starts_with_the_original(mnist):
    original = mnist.x_train[7]
    copies = augment_images(np.repeat(original[None], 5, axis=0), AugmentConfig(max_rotation_deg=30.0),
                            np.random.default_rng(3))
    picture = charts.augment_preview_picture(original, copies, columns=3)
    scale = charts.AUGMENT_SCALE
    assert len(picture.tile_origins) == 6
    assert np.array_equal(picture.tile(0)[::scale, ::scale, 0], original)
    for tile, copy in enumerate(copies, start=1):
        assert np.array_equal(picture.tile(tile)[::scale, ::scale, 0], np.rint(np.clip(copy, 0, 255)).astype(np.uint8))
