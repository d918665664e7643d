"""Fine-tuning with replay learns a new handwriting without forgetting MNIST; the personal set."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from experiments.finetune_task import fine_tune_on_personal_set
from experiments.personal_set import PersonalSet
from experiments.store import RunStore
from nnlib.finetune import fine_tune, split_personal
from nnlib.imaging import to_mnist_style
from nnlib.model import Sequential
from nnlib.preprocessing import Scaler
from nnlib.strokes import render_strokes, seven_segment_digit

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "data" / "models" / "default.npz"


def seven_segment_sixes(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([to_mnist_style(seven_segment_digit(6, rng)).image for _ in range(count)])


def test_split_personal_holds_out_every_fourth_drawing_of_each_digit():
    labels = np.array([6] * 8 + [1] * 3)
    trained, held = split_personal(labels)
    assert held.tolist() == [3, 7]                   # the 4th and 8th six; the three 1s all train
    assert sorted(trained.tolist() + held.tolist()) == list(range(11))


def test_render_strokes_paints_white_polylines():
    canvas = render_strokes([[(140, 40), (140, 240)]], width=20)
    assert canvas.shape == (280, 280) and canvas.dtype == np.uint8
    assert canvas[140, 140] == 255 and canvas[140, 100] == 0
    with pytest.raises(ValueError, match="digit"):
        seven_segment_digit(12, np.random.default_rng(0))


@pytest.mark.slow
def test_fine_tuning_with_replay_learns_seven_segment_sixes_without_forgetting(mnist):
    model = Sequential.load(DEFAULT_MODEL)
    sixes = seven_segment_sixes(40, seed=1).reshape(40, -1)
    labels = np.full(40, 6)
    x_replay = mnist.x_train[:20_000].reshape(20_000, -1).astype(np.float32) / 255
    x_test = mnist.x_test.reshape(10_000, -1).astype(np.float32) / 255
    tuned, report = fine_tune(model, sixes[:30], labels[:30], x_replay, mnist.y_train[:20_000],
                              x_held_out=sixes[30:], y_held_out=labels[30:], x_reference=x_test,
                              y_reference=mnist.y_test)
    assert report.personal_before <= 0.7                 # the bundled MLP reads most of them as 5
    assert report.personal_after >= 0.9
    assert report.reference_before - report.reference_after <= 0.005
    assert np.array_equal(model.predict(sixes[30:]), Sequential.load(DEFAULT_MODEL).predict(sixes[30:]))  # a copy


def test_personal_set_keeps_lists_and_deletes(tmp_path):
    personal = PersonalSet(tmp_path)
    image = np.zeros((28, 28), np.float32)
    image[5:20, 13] = 1
    first = personal.add(image, 1)
    second = personal.add(image * 0.5, 7)
    assert [e.label for e in personal.entries()] == [1, 7]
    assert (tmp_path / "personal" / "index.json").is_file()
    images, labels = personal.arrays()
    assert images.shape == (2, 28, 28) and labels.tolist() == [1, 7]
    assert np.allclose(images[1], image * 0.5)
    personal.delete(first.id)
    assert [e.id for e in PersonalSet(tmp_path).entries()] == [second.id]
    assert not (tmp_path / "personal" / first.file).exists()
    with pytest.raises(KeyError):
        personal.delete(first.id)
    with pytest.raises(ValueError, match="28x28"):
        personal.add(np.zeros((10, 10)), 3)
    with pytest.raises(ValueError, match="digit label"):
        personal.add(image, 11)


@pytest.mark.slow
def test_fine_tuning_the_personal_set_records_a_new_run(tmp_path, mnist):
    personal = PersonalSet(tmp_path)
    for image in seven_segment_sixes(8, seed=2):
        personal.add(image, 6)
    store = RunStore(tmp_path)
    outcome = fine_tune_on_personal_set(Sequential.load(DEFAULT_MODEL), Scaler("unit"), mnist, personal, store,
                                        "Bundled MLP")
    record = store.get_run(outcome.run_id)
    assert record.kind == "fine-tune" and record.status == "completed"
    assert record.test_accuracy == pytest.approx(outcome.report.reference_after)
    assert outcome.report.n_trained == 6 and outcome.report.n_held_out == 2
    kept = store.load_model(outcome.run_id)
    assert kept.metadata["fine_tune"]["source"] == "Bundled MLP"
    assert "calibration" not in kept.metadata
