"""End-to-end tests of ``python -m nnlib train|evaluate|predict`` on a small MNIST subset."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnlib.cli import main

ROOT = Path(__file__).resolve().parents[2]
TRAIN_KEYS = {"train_accuracy", "val_accuracy", "test_accuracy", "epochs", "seconds", "samples_per_second"}


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "small.npz"
    code, out, err = run("train", "--train-size", "2000", "--epochs", "2", "--layers", "64",
                         "--batch-size", "64", "--out", str(path), "--json")
    assert code == 0, err
    return path, last_json(out), err


@pytest.mark.slow
def test_train_json_and_progress(trained):
    path, report, err = trained
    assert report.keys() >= TRAIN_KEYS
    assert report["epochs"] == 2 and report["status"] == "completed"
    assert 0.75 < report["test_accuracy"] <= 1 and 0.75 < report["val_accuracy"] <= 1
    assert report["samples_per_second"] > 0
    assert "epoch 2/2" in err and "1,600 training / 400 validation" in err
    assert path.is_file()


@pytest.mark.slow
def test_evaluate_matches_the_training_report(trained):
    path, report, _ = trained
    code, out, _ = run("evaluate", "--model", str(path), "--json")
    assert code == 0
    result = last_json(out)
    assert result["n"] == 10_000
    assert result["accuracy"] == pytest.approx(report["test_accuracy"])
    assert result["loss"] > 0


@pytest.mark.slow
def test_predict_images_of_any_style(trained, tmp_path):
    from PIL import Image

    from nnlib.data import load_mnist

    path, _, _ = trained
    digit = load_mnist().x_test[0]                       # a 7
    white_on_black = tmp_path / "seven.png"
    Image.fromarray(digit).save(white_on_black)
    big_black_on_white = tmp_path / "seven_big.png"
    Image.fromarray(255 - digit).resize((200, 200)).convert("RGB").save(big_black_on_white)
    code, out, _ = run("predict", "--model", str(path), str(white_on_black), str(big_black_on_white), "--json")
    assert code == 0
    predictions = last_json(out)["predictions"]
    assert [p["path"] for p in predictions] == [str(white_on_black), str(big_black_on_white)]
    for entry in predictions:
        assert len(entry["probabilities"]) == 10
        assert sum(entry["probabilities"]) == pytest.approx(1, abs=1e-4)
        assert entry["label"] == int(np.argmax(entry["probabilities"]))
    assert predictions[0]["label"] == 7


def test_errors_are_reported_not_raised(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(2))
    code, out, err = run("evaluate", "--model", str(foreign), "--json")
    assert code == 2
    assert "not an nnlib model" in last_json(out)["error"] and "error:" in err
    with pytest.raises(SystemExit):
        run("train", "--layers", "12,x")


@pytest.mark.slow
def test_python_dash_m_entry_point(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "nnlib", "train", "--train-size", "600", "--epochs", "1",
                           "--layers", "16", "--batch-size", "full", "--optimizer", "sgd", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report.keys() >= TRAIN_KEYS and report["epochs"] == 1


@pytest.mark.slow
def test_train_a_cnn_from_the_command_line(tmp_path):
    from nnlib.model import Sequential

    path = tmp_path / "cnn.npz"
    code, out, err = run("train", "--conv", "4,8", "--layers", "16", "--train-size", "1000", "--epochs", "2",
                         "--batch-size", "32", "--lr", "0.005", "--out", str(path), "--json")
    assert code == 0, err
    report = last_json(out)
    assert report["status"] == "completed" and 0.3 < report["test_accuracy"] <= 1  # chance: 0.1
    assert "network [784, conv4, conv8, 16, 10]" in err
    model = Sequential.load(path)
    assert model.is_convolutional and model.metadata["train_config"]["conv_channels"] == [4, 8]
    with pytest.raises(SystemExit):
        run("train", "--conv", "4,x")
