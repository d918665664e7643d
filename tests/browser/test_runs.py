"""Runs outlive the tab: train on the Train page, reload without ``?job=``, open the Runs page
in a new tab, and the run is listed in both.

The server shares this test's ``MNIST_LAB_HOME`` (tests/conftest.py sets it before the server
starts), so the test reads the store itself to learn which run the click made.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from experiments.store import RunStore

from .conftest import open_page, train_one_epoch


@pytest.mark.slow
def test_a_trained_run_is_listed_after_a_reload_and_in_a_new_tab(page, app_url):
    before = {run.id for run in RunStore().list_runs()}
    train_one_epoch(page, app_url)
    assert "job=" in page.url

    new_runs = [run for run in RunStore().list_runs() if run.id not in before]
    assert len(new_runs) == 1, [run.name for run in new_runs]
    run = new_runs[0]
    assert run.status == "completed" and run.epochs_completed == 1 and run.model_path

    # A reload without ?job=: a new session that has no job, and still lists the run.
    open_page(page, app_url, "train")
    assert "job=" not in page.url
    expect(page.get_by_text("No training yet")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(f"{run.name} (completed)",
                                                                            timeout=30_000)
    expect(page.get_by_text(run.name, exact=True).first).to_be_visible()  # among the runs compared
    expect(page.get_by_text(re.compile("most recent runs, from every session"))).to_be_visible()

    # Another tab, straight to the Runs page: the run is there, and can be picked for Predict.
    other = page.context.new_page()
    other.on("pageerror", lambda error: pytest.fail(f"page error in the second tab: {error}"))
    open_page(other, app_url, "runs")
    expect(other.get_by_role("heading", name=re.compile("Runs"))).to_be_visible()
    expect(other.get_by_role("combobox", name="Run", exact=True)).to_have_value(f"{run.name} · completed",
                                                                             timeout=30_000)
    expect(other.get_by_role("button", name="Export the table (CSV)")).to_be_visible()
    other.get_by_role("button", name="Make it the Predict page's model").click()
    expect(other.get_by_text(f"The Predict page now uses {run.name}.")).to_be_visible(timeout=30_000)
    assert other.locator('[data-testid="stException"]').count() == 0
    other.close()
