"""The setup-link codec: every field round-trips, garbage and unknown keys become notes."""
from __future__ import annotations

import itertools

import pytest

from dashboard import share_links as links
from dashboard import train_controls as controls
from nnlib.augment import AugmentConfig
from nnlib.preprocessing import SEED_STUDY_CONFIG, PreprocessConfig


def _shown(values: dict) -> dict:
    """The values a link can carry: the layers in use, momentum only for the momentum optimiser."""
    kept = dict(values)
    for stack in controls.STACKS:
        for index in range(int(values[stack.count.key]) + 1, stack.count.bounds[1] + 1):
            kept.pop(stack.item_key(index))
    if values[controls.NETWORK.key] != controls.CNN:
        kept.pop(controls.CONV_LAYERS.count.key)
        for index in range(1, controls.CONV_LAYERS.count.bounds[1] + 1):
            kept.pop(controls.CONV_LAYERS.item_key(index), None)
    if values[controls.OPTIMIZER.key] != "momentum":
        kept.pop(controls.MOMENTUM.key)
    return kept


def round_trip(values: dict) -> dict:
    decoded, problems = links.decode_train(links.train_query(values))
    assert problems == []
    return decoded


def test_defaults_round_trip_and_read_like_the_settings():
    values = controls.default_values()
    query = links.train_query(values)
    assert query == {"net": "mlp", "layers": "256-128", "act": "relu", "init": "he", "dropout": "0", "opt": "adam",
                     "lr": "0.001", "batch": "128", "epochs": "5", "l2": "0", "schedule": "constant", "seed": "0"}
    assert round_trip(values) == _shown(values)


def test_every_option_of_every_choice_control_round_trips():
    for control in controls.CONTROLS:
        for option in control.options:
            values = {**controls.default_values(), control.key: option}
            if control is controls.MOMENTUM:
                values[controls.OPTIMIZER.key] = "momentum"
            decoded = round_trip(values)
            assert decoded[control.key] == option, (control.key, option)


@pytest.mark.parametrize("control", [c for c in controls.CONTROLS if c.bounds and c.field], ids=lambda c: c.key)
def test_range_controls_round_trip_at_both_ends_and_between(control):
    low, high, step = control.bounds
    for value in (low, high, low + 3 * step):
        values = {**controls.default_values(), controls.OPTIMIZER.key: "momentum", control.key: value}
        decoded = round_trip(values)
        assert decoded[control.key] == pytest.approx(value), (control.key, value)


def test_a_cnn_with_every_layer_count_round_trips():
    for conv_count, dense_count in itertools.product((1, 2), range(0, 6)):
        values = controls.default_values()
        values.update(controls.CONV_LAYERS.values_for((8, 64)[:conv_count]))
        values.update(controls.DENSE_LAYERS.values_for((1024, 512, 64, 16, 8)[:dense_count]))
        values[controls.NETWORK.key] = controls.CNN
        assert round_trip(values) == _shown(values)
        # and the config the controls describe is the same after the trip
        assert controls.config_from_values({**controls.default_values(), **round_trip(values)}) == \
            controls.config_from_values(values)


def test_layer_sizes_are_read_with_dashes_or_commas():
    for text in ("256-128-64", "256,128,64", " 256 , 128,64 "):
        values, problems = links.decode_train({"layers": text})
        assert problems == [] and controls.DENSE_LAYERS.sizes(values) == (256, 128, 64), text


def test_no_hidden_layer_is_written_as_none():
    values = {**controls.default_values(), **controls.DENSE_LAYERS.values_for(())}
    assert links.train_query(values)["layers"] == "none"
    assert round_trip(values)[controls.DENSE_LAYERS.count.key] == 0


def test_full_batch_is_written_as_full():
    values = {**controls.default_values(), controls.BATCH_SIZE.key: controls.FULL_BATCH}
    assert links.train_query(values)["batch"] == "full"
    assert round_trip(values)[controls.BATCH_SIZE.key] == controls.FULL_BATCH


def test_a_learning_rate_written_another_way_is_still_its_option():
    values, problems = links.decode_train({"lr": "1e-3", "l2": "0.00010"})
    assert problems == []
    assert values == {controls.LEARNING_RATE.key: 0.001, controls.L2.key: 1e-4}


@pytest.mark.parametrize("params, named", [
    ({"lr": "banana"}, "lr='banana': expected one of 0.0001"),
    ({"lr": "0.003"}, "lr='0.003'"),
    ({"lr": "nan"}, "lr='nan'"),
    ({"opt": "rmsprop"}, "opt='rmsprop': expected one of sgd, momentum, adam"),
    ({"net": "transformer"}, "net='transformer'"),
    ({"epochs": "0"}, "epochs='0': expected a value from 1 to 300"),
    ({"epochs": "2.5"}, "epochs='2.5': expected a whole number"),
    ({"dropout": "0.9"}, "dropout='0.9': expected a value from 0 to 0.5"),
    ({"dropout": "0.12"}, "dropout='0.12': expected a multiple of 0.05"),
    ({"seed": "-1"}, "seed='-1'"),
    ({"seed": "1e3"}, "seed='1e3': expected a whole number"),
    ({"batch": "100"}, "batch='100': expected one of full, 16"),
    ({"layers": "256,abc"}, "layers='256,abc': each size must be one of 8, 16"),
    ({"layers": "8,8,8,8,8,8"}, "layers='8,8,8,8,8,8': expected 0 to 5 sizes"),
    ({"layers": "-64"}, "layers='-64': each size must be one of"),
    ({"layers": ""}, "layers=''"),
    ({"conv": "none"}, "conv='none': expected 1 to 2 sizes"),
    ({"conv": "16,32,64"}, "conv='16,32,64'"),
])
def test_garbage_values_are_named_and_leave_the_control_alone(params, named):
    values, problems = links.decode_train({**params, "epochs" if "epochs" not in params else "seed": "7"})
    assert len(problems) == 1 and problems[0].startswith(named), problems
    assert set(values) == {controls.EPOCHS.key if "epochs" not in params else controls.SEED.key}


def test_one_bad_value_leaves_the_others_applied():
    values, problems = links.decode_train({"lr": "fast", "opt": "sgd", "layers": "64,32"})
    assert len(problems) == 1
    assert values[controls.OPTIMIZER.key] == "sgd"
    assert controls.DENSE_LAYERS.sizes({**controls.default_values(), **values}) == (64, 32)


def test_a_repeated_key_keeps_its_last_value():
    values, problems = links.decode_train({"opt": ["sgd", "adam"]})
    assert problems == [] and values == {controls.OPTIMIZER.key: "adam"}


def test_unknown_keys_are_named():
    params = {"lr": "0.001", "layres": "64", "job": "x"}
    notes = links.unknown_keys(params, (*links.ALL_TRAIN_KEYS, "job"))
    assert notes == ["layres: not a setting of this page"]


# ---------------------------------------------------------------------- preprocessing
@pytest.mark.parametrize("config", [
    SEED_STUDY_CONFIG,
    PreprocessConfig(),
    PreprocessConfig(train_size=5000, val_fraction=0.1, seed=42, scaling="standardize"),
    PreprocessConfig(train_size=10, val_fraction=0.5, seed=2**31 - 1, scaling="none",
                     augment=AugmentConfig(max_shift_px=2.5, max_rotation_deg=12, max_scale=0.1, noise_std=0.04)),
    PreprocessConfig(augment=AugmentConfig(max_rotation_deg=45)),
])
def test_preprocess_configs_round_trip(config):
    query = links.preprocess_query(config)
    decoded, problems = links.decode_preprocess(query, PreprocessConfig(train_size=999, seed=5))
    assert problems == []
    assert decoded == config


def test_preprocess_query_reads_like_the_config():
    config = PreprocessConfig(train_size=42_000, val_fraction=0.2, seed=0, scaling="unit",
                              augment=AugmentConfig(max_shift_px=2, max_rotation_deg=10))
    assert links.preprocess_query(config) == {"n": "42000", "val": "0.2", "split_seed": "0", "scale": "unit",
                                              "shift": "2", "rot": "10", "zoom": "0", "noise": "0"}
    assert links.preprocess_query(PreprocessConfig())["n"] == "all"


def test_a_link_without_preprocess_keys_changes_nothing():
    assert links.decode_preprocess({"lr": "0.001"}, SEED_STUDY_CONFIG) == (None, [])


def test_a_partial_preprocess_link_changes_only_what_it_names():
    base = PreprocessConfig(train_size=5000, seed=9, augment=AugmentConfig(max_rotation_deg=10))
    config, problems = links.decode_preprocess({"scale": "none", "shift": "1"}, base)
    assert problems == []
    assert config == PreprocessConfig(train_size=5000, seed=9, scaling="none",
                                      augment=AugmentConfig(max_shift_px=1, max_rotation_deg=10))


@pytest.mark.parametrize("params, named", [
    ({"n": "5"}, "n=5: expected at least 10"),
    ({"n": "lots"}, "n='lots': expected a whole number"),
    ({"val": "0.7"}, "val='0.7': expected a value from 0.05 to 0.5"),
    ({"val": "0.13"}, "val='0.13': expected a multiple of 0.05"),
    ({"split_seed": "-4"}, "split_seed='-4'"),
    ({"scale": "log"}, "scale='log': expected one of unit, standardize, none"),
    ({"zoom": "2"}, "zoom='2': expected a value from 0 to 0.4"),
    ({"rot": "inf"}, "rot='inf': expected a finite number"),
])
def test_garbage_preprocess_values_are_named_and_the_rest_kept(params, named):
    base = PreprocessConfig(train_size=5000, val_fraction=0.25 - 0.05, seed=3)
    config, problems = links.decode_preprocess({**params, "split_seed" if "split_seed" not in params else "n": "11"},
                                               base)
    assert len(problems) == 1 and problems[0].startswith(named), problems
    expected = {"seed": 11} if "split_seed" not in params else {"train_size": 11}
    assert config == PreprocessConfig(**{**base.to_dict(), "augment": None, **expected})


# ---------------------------------------------------------------------- Predict
@pytest.mark.parametrize("text, link", [
    ("default", links.ModelLink("default")),
    ("cnn", links.ModelLink("cnn")),
    ("run:abc123:0", links.ModelLink("run", "abc123:0")),
])
def test_model_links_round_trip(text, link):
    assert links.decode_model(text) == link
    assert link.text() == text


@pytest.mark.parametrize("text", ["", "resnet", "run:", "CNN", "run: "])
def test_unknown_model_names_are_refused_with_the_choices(text):
    with pytest.raises(links.LinkValueError, match="expected default, cnn or run:<run id>"):
        links.decode_model(text)


@pytest.mark.parametrize("index", [0, 1, 123, 9_999])
def test_image_links_round_trip(index):
    query = links.image_query(index)
    assert query == {"image": str(index)}
    assert links.decode_image(query["image"], 10_000) == index


def test_an_image_link_takes_the_last_of_repeated_values_and_spaces():
    assert links.decode_image(["5", " 42 "], 100) == 42


@pytest.mark.parametrize("text", ["10000", "-1", "12.5", "abc", "", "1e3"])
def test_image_indices_outside_the_set_or_not_whole_numbers_are_refused(text):
    with pytest.raises(links.LinkValueError, match=r"image=.*expected a whole number from 0 to 9999"):
        links.decode_image(text, 10_000)


def test_batch_norm_is_written_only_when_on_and_a_network_without_it_turns_it_off():
    values = {**controls.default_values(), controls.BATCH_NORM.key: True}
    query = links.train_query(values)
    assert query["bn"] == "on"
    assert round_trip(values)[controls.BATCH_NORM.key] is True
    assert "bn" not in links.train_query(controls.default_values())
    decoded, problems = links.decode_train({"net": "mlp"})
    assert problems == [] and decoded[controls.BATCH_NORM.key] is False
    decoded, problems = links.decode_train({"net": "mlp", "bn": "maybe"})
    assert problems == ["bn='maybe': expected one of off, on"]
