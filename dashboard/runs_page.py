"""The Runs page's sections: the store opened, the filters, the table and its CSV, one run
managed (rename, tag, note, make active, delete with confirmation), and 2-5 runs compared.

Each function draws one part of the page; the rows and filters come from
:mod:`dashboard.run_table`, the confusion matrices from :mod:`dashboard.stored_models`, the
figures from :mod:`dashboard.train_charts`. Changes to a run go to the store from button
callbacks, and a message about them is shown on the next run of the page.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import streamlit as st

from experiments.store import RunRecord as StoredRun
from experiments.store import RunStore, StoreError
from nnlib.data import Dataset

from . import jobs, run_table, runs, state, stored_models, train_charts
from .data import current_dataset

MAX_COMPARED = 5
ACCURACY_COLUMNS = ("best val acc", "test acc", "final val acc", "test acc (recorded)", "test acc (now)")
CSV_FILE_NAME = "mnist-lab-runs.csv"


def _percent_columns(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    keys = set(rows[0]) if rows else set()
    return {key: st.column_config.NumberColumn(format="percent") for key in ACCURACY_COLUMNS if key in keys}


def open_store() -> tuple[RunStore, list[StoredRun]]:
    """The store and every run in it, newest first; on a store that cannot be used, the
    reason with ``st.error`` and the page stops there (other pages keep working)."""
    store = jobs.get_store()
    if store is None:
        st.error(f"The run store cannot be used: {jobs.store_problem()}", icon="🛑")
        st.button("Try again (after fixing the folder)", on_click=jobs.reset_store, key="runs_retry_store_button")
        st.stop()
    try:
        return store, store.list_runs()
    except StoreError as error:
        st.error(f"The run store cannot be read: {error}", icon="🛑")
        st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def show_flash() -> None:
    """The message a button callback left for this run of the page (then forgotten)."""
    flash = st.session_state.pop(state.RUNS_FLASH, None)
    if flash is not None:
        kind, text = flash
        (st.success if kind == "success" else st.error)(text)


def _flash(kind: str, text: str) -> None:
    st.session_state[state.RUNS_FLASH] = (kind, text)


def empty_store(store: RunStore) -> None:
    """What the page says before any run exists: where runs come from."""
    st.info("No runs yet. Train a network on the Train page (or upload a model there): every run is "
            f"kept here, across reloads and restarts. The store is `{store.home}`.", icon="🗂️")
    st.page_link("pages/train.py", label="Go to the Train page", icon="🏋️")


def _keep_known(key: str, known: Sequence[str]) -> None:
    """Drop values of a multiselect's state that are no longer options (a deleted run, a removed tag)."""
    if key in st.session_state:
        st.session_state[key] = [value for value in st.session_state[key] if value in known]


def filters(all_runs: Sequence[StoredRun]) -> list[StoredRun]:
    """Filter and sort controls; the runs they keep, in their order."""
    options = run_table.filter_options(all_runs)
    keys = (state.RUNS_FILTER_DATASETS, state.RUNS_FILTER_ARCHITECTURES, state.RUNS_FILTER_STATUSES,
            state.RUNS_FILTER_TAGS)
    columns = st.columns(4)
    chosen = {}
    for column, key, (name, values) in zip(columns, keys, options.items(), strict=True):
        _keep_known(key, values)
        chosen[name] = column.multiselect(name.capitalize(), values, key=key, placeholder="all")
    controls = st.columns([2, 1, 1])
    min_accuracy = controls[0].slider("Best validation accuracy at least", 0.0, 1.0, 0.0, 0.01, format="%.2f",
                                      key=state.RUNS_MIN_ACCURACY)
    sort_column = controls[1].selectbox("Sort by", list(run_table.SORT_KEYS), key=state.RUNS_SORT_COLUMN)
    descending = controls[2].toggle("Descending", value=True, key=state.RUNS_SORT_DESCENDING)
    run_filter = run_table.RunFilter(chosen["datasets"], chosen["architectures"], chosen["statuses"],
                                     chosen["tags"], min_accuracy)
    return run_table.sort_runs(run_table.filter_runs(all_runs, run_filter), sort_column, descending)


def runs_table(store: RunStore, shown: Sequence[StoredRun], total: int) -> None:
    """The runs that pass the filters, and the table as a CSV file."""
    rows = run_table.table_rows(shown, st.session_state.get(state.ACTIVE_RUN_ID))
    if not rows:
        st.caption(f"None of the {total} runs passes these filters.")
        return
    st.dataframe(rows, hide_index=True, width="stretch", column_config=_percent_columns(rows), key="runs_table")
    table_cols = st.columns([3, 1])
    table_cols[0].caption(f"{len(shown)} of {total} runs. An interrupted run's server stopped during it: its "
                          "last completed epoch was kept and can still answer on the Predict page.")
    table_cols[1].download_button("Export the table (CSV)", data=store.export_csv(shown), file_name=CSV_FILE_NAME,
                                  mime="text/csv", key="runs_export_button", width="stretch")


# ---------------------------------------------------------------------- one run
def _save_edits(store: RunStore, run_id: str) -> None:
    """Save button: the name, tags (comma-separated) and note typed for the run."""
    name = st.session_state[f"{state.RUNS_NAME_PREFIX}{run_id}"]
    tags = st.session_state[f"{state.RUNS_TAGS_PREFIX}{run_id}"].split(",")
    note = st.session_state[f"{state.RUNS_NOTE_PREFIX}{run_id}"]
    try:
        store.rename_run(run_id, name)
        store.set_tags(run_id, tags)
        store.set_note(run_id, note)
    except (ValueError, KeyError, StoreError) as error:
        _flash("error", f"Not saved: {error}")
        return
    _flash("success", f"Saved {name.strip()}.")


def _make_active(run_id: str, name: str) -> None:
    runs.set_active_run(run_id)
    _flash("success", f"The Predict page now uses {name}.")


def _ask_delete(run_id: str) -> None:
    st.session_state[state.RUNS_CONFIRM_DELETE] = run_id


def _cancel_delete() -> None:
    st.session_state.pop(state.RUNS_CONFIRM_DELETE, None)


def _delete(store: RunStore, run_id: str, name: str) -> None:
    """The confirmed delete: the run and its model file go; Predict falls back if it used it."""
    _cancel_delete()
    try:
        store.delete_run(run_id)
    except (KeyError, StoreError) as error:
        _flash("error", f"Not deleted: {error}")
        return
    if st.session_state.get(state.ACTIVE_RUN_ID) == run_id:
        runs.set_active_run(None)
    _flash("success", f"Deleted {name} and its model file.")


def usable_on_predict(run: StoredRun) -> bool:
    """True when the run has a model file that can answer (completed, stopped, interrupted, uploaded)."""
    return run.status in runs.USABLE_STATUSES and run.model_path is not None


def manage_run(store: RunStore, shown: Sequence[StoredRun]) -> None:
    """Pick a run; rename it, tag it, note it, make it Predict's model, or delete it."""
    if not shown:
        st.caption("No run passes the filters.")
        return
    ids = [run.id for run in shown]
    if st.session_state.get(state.RUNS_MANAGED) not in ids:
        st.session_state[state.RUNS_MANAGED] = ids[0]
    labels = {run.id: f"{run.name} · {run_table.shown_status(run)}" for run in shown}
    run_id = st.selectbox("Run", ids, format_func=lambda option: labels[option], key=state.RUNS_MANAGED)
    run = next(run for run in shown if run.id == run_id)
    defaults = {state.RUNS_NAME_PREFIX: run.name, state.RUNS_TAGS_PREFIX: ", ".join(run.tags),
                state.RUNS_NOTE_PREFIX: run.note}
    for prefix, value in defaults.items():
        st.session_state.setdefault(f"{prefix}{run_id}", value)
    edit_col, action_col = st.columns([2, 1])
    with edit_col:
        st.text_input("Name", key=f"{state.RUNS_NAME_PREFIX}{run_id}")
        st.text_input("Tags (comma-separated)", key=f"{state.RUNS_TAGS_PREFIX}{run_id}")
        st.text_area("Note", key=f"{state.RUNS_NOTE_PREFIX}{run_id}", height=80)
        st.button("Save name, tags and note", on_click=_save_edits, args=(store, run_id), key="runs_save_button")
    with action_col:
        details = [part for part in (run.dataset, run.architecture) if part]
        st.markdown(f"**{run_table.shown_status(run).capitalize()}** after {run.epochs_completed} epoch(s)"
                    + "".join(f" · {part}" for part in details))
        if run.message:
            st.caption(run.message)
        if st.session_state.get(state.ACTIVE_RUN_ID) == run_id:
            st.success("The Predict page uses this run.", icon="✏️")
        elif usable_on_predict(run):
            st.button("Make it the Predict page's model", on_click=_make_active, args=(run_id, run.name),
                      key="runs_make_active_button", width="stretch")
        else:
            st.caption("This run has no model file to predict with.")
        if st.session_state.get(state.RUNS_CONFIRM_DELETE) == run_id:
            st.warning(f"Delete **{run.name}** and its model file? This cannot be undone.")
            yes_col, no_col = st.columns(2)
            yes_col.button("Yes, delete it", type="primary", on_click=_delete, args=(store, run_id, run.name),
                           key="runs_confirm_delete_button")
            no_col.button("Cancel", on_click=_cancel_delete, key="runs_cancel_delete_button")
        else:
            st.button("Delete this run…", on_click=_ask_delete, args=(run_id,), key="runs_delete_button",
                      disabled=run.active, width="stretch",
                      help="A run that is still training cannot be deleted." if run.active else None)


# ---------------------------------------------------------------------- comparison
def _confusions(chosen: Sequence[StoredRun], dataset: Dataset | None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Each run's test-set confusion matrix on ``dataset`` (cached per run), and why some are missing."""
    matrices: dict[str, np.ndarray] = {}
    problems: list[str] = []
    if dataset is None:
        return matrices, ["the current dataset could not be loaded"]
    for record in chosen:
        try:
            matrices[record.id] = stored_models.test_confusion(runs.run_from_store(record, tuple(dataset.class_names)),
                                                               dataset)
        except (stored_models.RunModelUnavailable, ValueError) as error:
            problems.append(str(error))
    return matrices, problems


def _pair(chosen: Sequence[StoredRun], with_matrix: Sequence[str]) -> tuple[str, str] | None:
    """The two runs whose confusion matrices are subtracted: the only two, or the pair picked."""
    if len(with_matrix) < 2:
        return None
    if len(with_matrix) == 2:
        return with_matrix[0], with_matrix[1]
    names = {record.id: record.name for record in chosen}
    for key, default in ((state.RUNS_PAIR_A, with_matrix[0]), (state.RUNS_PAIR_B, with_matrix[1])):
        if st.session_state.get(key) not in with_matrix:
            st.session_state[key] = default
    pick = st.columns(2)
    first = pick[0].selectbox("Run A", list(with_matrix), format_func=lambda run_id: names[run_id],
                              key=state.RUNS_PAIR_A)
    second = pick[1].selectbox("Run B", list(with_matrix), format_func=lambda run_id: names[run_id],
                               key=state.RUNS_PAIR_B)
    return str(first), str(second)


def _current_dataset_or_none() -> Dataset | None:
    try:
        return current_dataset()
    except ValueError:
        return None


def compare(all_runs: Sequence[StoredRun], shown: Sequence[StoredRun]) -> None:
    """Two to five runs: curves overlaid, a metrics table, and the difference of two runs'
    confusion matrices on the current dataset's test set."""
    names = {run.id: run.name for run in all_runs}
    _keep_known(state.RUNS_COMPARED, list(names))
    selected = st.session_state.get(state.RUNS_COMPARED, [])
    options = [run.id for run in shown] + [run_id for run_id in selected if run_id not in {r.id for r in shown}]
    chosen_ids = st.multiselect(f"Runs to compare (2 to {MAX_COMPARED})", options,
                                format_func=lambda run_id: names[run_id],
                                max_selections=MAX_COMPARED, key=state.RUNS_COMPARED)
    if len(chosen_ids) < 2:
        st.caption("Pick two to five runs to see their curves, their figures side by side and where "
                   "their answers differ.")
        return
    by_id = {run.id: run for run in all_runs}
    chosen = [by_id[run_id] for run_id in chosen_ids]
    st.plotly_chart(train_charts.compare_runs([(run.name, run.history) for run in chosen]), width="stretch",
                    key="runs_compare_chart")
    dataset = _current_dataset_or_none()
    matrices, problems = _confusions(chosen, dataset)
    rows = run_table.comparison_rows(chosen, matrices)
    st.dataframe(rows, hide_index=True, width="stretch", column_config=_percent_columns(rows),
                 key="runs_compare_table")
    if dataset is not None and dataset.y_test is not None:
        st.caption(f"\"test acc (now)\": measured on {dataset.name}'s {len(dataset.y_test):,} test images "
                   "with each run's saved model.")
    for problem in problems:
        st.caption(f"No confusion matrix: {problem}.")
    pair = _pair(chosen, [record.id for record in chosen if record.id in matrices])
    if pair is None or dataset is None:
        return
    first, second = pair
    if first == second:
        st.caption("Pick two different runs to see where their answers differ.")
        return
    difference = run_table.confusion_difference(matrices[first], matrices[second])
    st.plotly_chart(train_charts.confusion_difference_heatmap(difference, dataset.class_names, names[first],
                                                              names[second]),
                    width="stretch", key="runs_difference_chart")
    st.caption(f"Test-set confusion matrix of A minus that of B (rows: true class, columns: prediction). "
               f"On the diagonal, blue means A got more of that class right; off it, blue means A made that "
               f"mistake more often. A got {int(np.trace(difference)):+,} more test images right than B.")
