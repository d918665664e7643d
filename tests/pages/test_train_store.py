"""The Train page's job flow saves every finished network as a run in the store (MNIST_LAB_HOME)."""
from __future__ import annotations

import pytest

from dashboard import jobs, state
from experiments.store import RunStore
from nnlib.preprocessing import PreprocessConfig

from .helpers import app_test


@pytest.mark.slow
def test_a_run_started_on_the_train_page_is_kept_in_the_run_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_LAB_HOME", str(tmp_path))
    jobs._store_or_problem.clear()  # the page's store follows MNIST_LAB_HOME
    try:
        at = app_test("app.py")
        at.run()
        at.session_state[state.PREPROCESS_CONFIG] = PreprocessConfig(train_size=1000)
        for key, value in {state.TRAIN_LAYER_COUNT: 1, f"{state.TRAIN_LAYER_WIDTH_PREFIX}1": 32,
                           state.TRAIN_EPOCHS: 2}.items():
            at.session_state[key] = value
        at.switch_page("pages/train.py").run()
        at.button(key="train_start_button").click().run()
        job = jobs.get_registry().get(at.session_state[state.JOB_ID])
        assert job.join(120) and job.status == "completed"
        runs = RunStore(tmp_path).list_runs()
        assert len(runs) == 1
        run = runs[0]
        assert run.id == job.outputs[0].run_id and run.status == "completed" and run.kind == "single"
        assert run.epochs_completed == 2 and run.architecture == "[784, 32, 10]"
        assert run.val_accuracy == pytest.approx(job.outputs[0].result.history["val_accuracy"][-1])
        assert RunStore(tmp_path).load_model(run.id).input_size == 784
    finally:
        jobs._store_or_problem.clear()
