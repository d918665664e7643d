"""The Predict page's "Teach it your handwriting" under AppTest: keep a drawing with a corrected
label, list and delete it, fine-tune on the personal set in the background, pick the copy."""
from __future__ import annotations

import numpy as np
import pytest

from dashboard import jobs, state
from dashboard.background_tasks import get_background_tasks
from experiments.personal_set import PersonalSet
from nnlib.imaging import to_mnist_style
from nnlib.strokes import seven_segment_digit

from .test_predict import CANVAS_KEY, canvas_value, default_model_path, drawing, predict_page  # noqa: F401


def captions(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def test_keep_a_drawing_with_a_corrected_label_then_delete_it(default_model_path, lab_home):  # noqa: F811
    at = predict_page()
    at.session_state[CANVAS_KEY] = canvas_value(drawing("1"))
    at.run()
    assert not at.exception
    assert at.radio(key=state.PREDICT_TRUE_DIGIT).value == 1          # starts at the answer
    assert at.button(key="predict_finetune_button").disabled          # nothing kept yet
    at.radio(key=state.PREDICT_TRUE_DIGIT).set_value(7).run()
    at.button(key="predict_keep_drawing").click().run()
    assert not at.exception
    entries = PersonalSet(lab_home).entries()
    assert [e.label for e in entries] == [7]
    kept_image = PersonalSet(lab_home).image(entries[0])
    assert np.allclose(kept_image, to_mnist_style(drawing("1")).image)
    assert "kept as 7" in captions(at)
    assert any("Kept as 7" in s.value for s in at.success)
    assert "Your personal set: 1 drawing(s)" in " ".join(m.value for m in at.markdown)
    at.button(key=f"predict_personal_delete_{entries[0].id}").click().run()
    assert PersonalSet(lab_home).entries() == []
    assert "kept as 7" not in captions(at)


@pytest.mark.slow
def test_fine_tune_on_the_personal_set_and_answer_with_the_copy(default_model_path, lab_home):  # noqa: F811
    personal = PersonalSet(lab_home)
    rng = np.random.default_rng(3)
    for _ in range(8):
        personal.add(to_mnist_style(seven_segment_digit(6, rng)).image, 6)
    at = predict_page().run()
    assert not at.exception
    assert not at.button(key="predict_finetune_button").disabled
    at.button(key="predict_finetune_button").click().run()
    task = get_background_tasks().get(at.session_state[state.PREDICT_FINETUNE_TASK])
    assert task is not None and task.join(300), "fine-tuning did not end"
    at.run()
    assert not at.exception, task.message
    text = " ".join(m.value for m in at.markdown)
    report = task.result.report
    assert "**Held-out drawings of yours (2):**" in text and "**MNIST test set:**" in text
    assert report.reference_before - report.reference_after <= 0.01
    run_id = task.result.run_id
    assert jobs.get_store().get_run(run_id).kind == "fine-tune"
    at.button(key="predict_use_finetuned").click().run()
    assert at.session_state[state.ACTIVE_RUN_ID] == run_id
    picker = at.selectbox(key=state.PREDICT_MODEL_CHOICE)            # the picker now shows the copy
    assert picker.value == run_id and "+ my handwriting" in picker.format_func(run_id)
