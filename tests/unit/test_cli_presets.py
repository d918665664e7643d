"""``python -m nnlib train --preset NAME`` and ``--list-presets``: the Train page's presets on the command line."""

import io
import json

import pytest

from dashboard import presets as page_presets
from nnlib.augment import AugmentConfig
from nnlib.cli import TRAIN_DEFAULTS, build_parser, main, resolve_train_arguments
from nnlib.model import Sequential
from nnlib.presets import PRESETS, get_preset

NAMES = ("seed-study-best", "fast", "cnn", "mlp-record", "cnn-record", "cnn-best")


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def resolved(*argv):
    return resolve_train_arguments(build_parser().parse_args(["train", *argv]))


def test_the_named_presets_exist_and_the_train_page_offers_each_of_them():
    assert tuple(PRESETS) == NAMES
    assert [preset.name for preset in page_presets.LOADABLE] == list(NAMES)
    assert len({preset.button_key for preset in page_presets.LOADABLE}) == len(NAMES)


def test_list_presets_names_each_with_its_summary_and_figure():
    code, out, _ = run("train", "--list-presets")
    assert code == 0
    for preset in PRESETS.values():
        assert f"{preset.name}: {preset.title}" in out
        assert preset.summary in out and preset.measured in out
    code, out, _ = run("train", "--list-presets", "--json")
    listed = json.loads(out.strip().splitlines()[-1])["presets"]
    assert [entry["name"] for entry in listed] == list(NAMES)
    assert listed[2]["config"]["conv_channels"] == [16, 32]


def test_a_preset_fills_the_flags_left_out_and_explicit_flags_win():
    args = resolved("--preset", "cnn")
    cnn = get_preset("cnn")
    assert args.conv == cnn.config.conv_channels and args.lr == cnn.config.learning_rate
    assert args.epochs == cnn.config.epochs and args.val_split == cnn.val_fraction
    args = resolved("--preset", "cnn", "--epochs", "1", "--lr", "0.01", "--val-split", "0.1", "--conv", "none")
    assert (args.epochs, args.lr, args.val_split, args.conv) == (1, 0.01, 0.1, ())
    assert args.schedule == cnn.config.schedule   # not overridden: the preset's
    study = resolved("--preset", "seed-study-best")
    assert study.batch_size is None and study.train_size == 42_000 and study.init == "seed"
    assert resolved("--preset", "seed-study-best", "--batch-size", "64", "--train-size", "all").batch_size == 64


def test_without_a_preset_the_old_defaults_apply():
    args = resolved()
    for dest, value in TRAIN_DEFAULTS.items():
        assert getattr(args, dest) == value, dest
    assert args.preset is None
    assert resolved("--augment", "2,10,0.1,0").augment == AugmentConfig(2, 10, 0.1, 0)
    assert resolved("--batch-norm", "on").batch_norm is True


def test_a_record_preset_carries_its_data_settings_and_augmentation_can_be_switched_off():
    record = get_preset("mlp-record")
    args = resolved("--preset", "mlp-record")
    assert args.augment == record.augment and args.val_split == record.val_fraction
    assert resolved("--preset", "mlp-record", "--augment", "none").augment is None


def test_an_unknown_preset_gets_a_clear_message():
    code, out, err = run("train", "--preset", "fastest", "--json")
    assert code == 2
    assert "unknown preset 'fastest'; expected one of seed-study-best, fast, cnn" in err
    assert json.loads(out.strip().splitlines()[-1])["error"].startswith("unknown preset")
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("")


@pytest.mark.slow
def test_training_a_preset_with_overrides(tmp_path):
    path = tmp_path / "fast.npz"
    code, out, err = run("train", "--preset", "fast", "--train-size", "600", "--epochs", "1", "--layers", "16",
                         "--out", str(path), "--json")
    assert code == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["preset"] == "fast" and report["epochs"] == 1
    assert "preset fast: Fast and accurate" in err and "network [784, 16, 10]" in err
    config = Sequential.load(path).metadata["train_config"]
    assert config["hidden_sizes"] == [16] and config["schedule"] == "cosine"   # the override, the preset's


@pytest.mark.slow
def test_batch_norm_from_the_command_line(tmp_path):
    path = tmp_path / "bn.npz"
    code, out, err = run("train", "--train-size", "2000", "--epochs", "2", "--layers", "32", "--batch-size", "64",
                         "--batch-norm", "on", "--out", str(path), "--json")
    assert code == 0, err
    assert "with batch norm" in err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["test_accuracy"] > 0.6   # chance: 0.1
    model = Sequential.load(path)
    assert [layer.kind for layer in model.layers] == ["Dense", "BatchNorm", "ReLU", "Dense"]
    assert model.layers[1].buffers["running_var"].min() > 0
