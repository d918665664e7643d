"""dashboard.server_process: the server loads the app's modules, the dataset and the warm-up's
work before Streamlit opens its port, then runs Streamlit's own command line."""
from __future__ import annotations

import pkgutil
import sys

import dashboard
from dashboard import data, server_process, warm_up


def test_every_dashboard_module_and_the_emoji_table_are_imported():
    names = server_process.import_app_modules()
    expected = {f"dashboard.{module.name}" for module in pkgutil.iter_modules(dashboard.__path__)}
    assert expected <= set(names) and "streamlit.emojis" in names
    assert all(name in sys.modules for name in names)


def test_preload_reads_the_default_dataset_warms_up_when_asked_then_gives_memory_back(monkeypatch):
    calls = []
    monkeypatch.setenv(warm_up.ENABLE_VARIABLE, "1")
    monkeypatch.setattr(warm_up, "warm_before_serving", lambda: calls.append("warm"))
    monkeypatch.setattr(server_process, "release_memory", lambda: calls.append("release"))
    data.cached_dataset.clear()
    server_process.preload()
    assert calls == ["warm", "release"]
    # the dataset is in the pages' cache: reading it again returns the very same object
    assert data.cached_dataset(data.DEFAULT_DATASET) is data.cached_dataset(data.DEFAULT_DATASET)
    assert len(data.cached_dataset(data.DEFAULT_DATASET).x_train) == 60_000


def test_without_the_variable_there_is_no_warm_up(monkeypatch):
    warmed = []
    monkeypatch.delenv(warm_up.ENABLE_VARIABLE, raising=False)
    monkeypatch.setattr(warm_up, "warm_before_serving", lambda: warmed.append(True))
    server_process.preload()
    assert warmed == []


def test_a_dataset_that_cannot_be_read_leaves_the_server_starting(monkeypatch):
    def unreadable(name):
        raise OSError("no such file")

    monkeypatch.delenv(warm_up.ENABLE_VARIABLE, raising=False)
    monkeypatch.setattr(data, "cached_dataset", unreadable)
    server_process.preload()   # logged, not raised: the pages report the problem


def test_main_hands_its_arguments_to_streamlit(monkeypatch):
    from streamlit.web import cli

    calls = []
    monkeypatch.setattr(server_process, "preload", lambda: calls.append("preload"))
    monkeypatch.setattr(cli, "main", lambda args, prog_name: calls.append((args, prog_name)))
    server_process.main(["run", "app.py", "--server.port", "8600"])
    assert calls == ["preload", (["run", "app.py", "--server.port", "8600"], "streamlit")]


def test_pandas_is_imported_with_the_pages_before_any_chart():
    """Plotly finds pandas in sys.modules; two first runs at once once found it half-imported."""
    import subprocess
    import sys

    code = "import sys, dashboard.page; print('pandas' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"
