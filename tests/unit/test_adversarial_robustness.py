"""FGSM flips a small model's answer; the robustness transforms move the ink as asked."""
from __future__ import annotations

import numpy as np
import pytest

from nnlib.adversarial import fgsm, loss_gradient, smallest_flip
from nnlib.builders import build_mlp
from nnlib.preprocessing import Scaler
from nnlib.robustness import read_images, rotation_curve, thicken, transform_image
from nnlib.training import fit


@pytest.fixture(scope="module")
def small_model(mnist):
    x = mnist.x_train[:3000].reshape(3000, -1).astype(np.float32) / 255
    model = build_mlp((64,), seed=0)
    fit(model, x, mnist.y_train[:3000], epochs=4, batch_size=64)
    return model


def correctly_read(model, mnist, count: int = 10) -> list[int]:
    images = mnist.x_test[:200].reshape(200, -1).astype(np.float32) / 255
    right = np.flatnonzero(model.predict(images) == mnist.y_test[:200])
    return [int(i) for i in right[:count]]


def test_fgsm_flips_a_small_models_answer_and_epsilon_zero_changes_nothing(small_model, mnist):
    scaler = Scaler("unit")
    flipped = 0
    for index in correctly_read(small_model, mnist):
        image = mnist.x_test[index] / 255
        assert not fgsm(small_model, scaler, image, 0.0).flipped
        attack = fgsm(small_model, scaler, image, 0.2)
        assert np.abs(attack.difference).max() <= 0.2 + 1e-6
        flipped += attack.flipped
    assert flipped >= 8    # almost every correctly read digit falls to a 0.2 step


def test_the_loss_gradient_matches_central_differences(small_model, mnist):
    model64 = build_mlp((16,), seed=1, dtype=np.float64)
    x = mnist.x_test[0].reshape(-1).astype(np.float64) / 255
    gradient = loss_gradient(model64, x, 3)

    def loss(v):
        logits = model64.forward(v[None])[0]
        return np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[3]

    for pixel in (300, 400, 500):
        step = np.zeros_like(x)
        step[pixel] = 1e-5
        numeric = (loss(x + step) - loss(x - step)) / 2e-5
        assert gradient[pixel] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_smallest_flip_is_smallest(small_model, mnist):
    image = mnist.x_test[correctly_read(small_model, mnist)[0]] / 255
    attack = smallest_flip(small_model, Scaler("unit"), image)
    assert attack is not None and attack.flipped
    smaller = round(attack.epsilon - 0.01, 2)
    if smaller > 0:
        assert not fgsm(small_model, Scaler("unit"), image, smaller).flipped


def test_transforms_move_rotate_and_thicken_the_ink():
    image = np.zeros((28, 28), np.float32)
    image[4:24, 13:15] = 1.0                              # a vertical bar
    shifted = transform_image(image, shift=(3, 0))
    assert np.allclose(shifted[:, 16:18], image[:, 13:15], atol=1e-5)
    turned = transform_image(image, rotation_deg=90)
    assert turned[13:15, 6:22].mean() > 0.8 and turned[4:10, 13:15].mean() < 0.2   # now horizontal
    assert thicken(image, 1).sum() == pytest.approx(22 * 4)   # 20x2 bar grows to 22x4
    assert np.array_equal(transform_image(image), image)
    with pytest.raises(ValueError, match="28x28"):
        transform_image(np.zeros((10, 10)))


def test_rotation_curve_reads_each_angle(small_model, mnist):
    image = mnist.x_test[0] / 255
    curve = rotation_curve(small_model, Scaler("unit"), image, [0, 90, 180])
    assert curve.shape == (3, 10)
    assert np.allclose(curve[0], small_model.predict_proba(image.reshape(1, -1).astype(np.float32))[0], atol=1e-6)
    # one batch of turns reads what turning the digit by each angle on its own reads
    one_by_one = read_images(small_model, Scaler("unit"),
                             np.stack([transform_image(image, rotation_deg=angle) for angle in (0, 90, 180)]))
    np.testing.assert_allclose(curve, one_by_one, atol=1e-6)
