"""The Train page's learning-rate finder under AppTest: start, wait, see the curve, use the suggestion."""
from __future__ import annotations

import pytest

from dashboard import state
from dashboard.background_tasks import get_background_tasks
from dashboard.lr_finder_view import nearest_allowed_rate
from dashboard.train_controls import LEARNING_RATE

from .helpers import plotly_figures
from .test_train import open_train


def test_nearest_allowed_rate_is_nearest_on_a_log_scale():
    assert nearest_allowed_rate(8e-4) == 1e-3
    assert nearest_allowed_rate(3.3e-3) == 5e-3    # log-distance: 3.3e-3 is nearer 5e-3 than 2e-3
    assert nearest_allowed_rate(1e-9) == 1e-4
    assert nearest_allowed_rate(50.0) == 1.0


@pytest.mark.slow
def test_finder_runs_in_the_background_and_sets_the_learning_rate_control():
    at = open_train(train_size=3000, **{LEARNING_RATE.key: 0.1})
    at.button(key="train_lr_finder_button").click().run()
    assert not at.exception
    task = get_background_tasks().get(at.session_state[state.TRAIN_LR_FINDER_TASK])
    assert task is not None and task.join(120)
    at.run()
    assert not at.exception
    result = task.result
    assert result.suggested_lr is not None and len(result.learning_rates) > 20
    figure = [f for f in plotly_figures(at) if f["layout"].get("xaxis", {}).get("type") == "log"][0]
    assert len(figure["data"][0]["x"]) == len(result.learning_rates)
    at.button(key="train_lr_finder_use").click().run()
    assert not at.exception
    assert at.session_state[LEARNING_RATE.key] == nearest_allowed_rate(result.suggested_lr)
    assert at.select_slider(key=LEARNING_RATE.key).value == nearest_allowed_rate(result.suggested_lr)
