"""The Train page's field table (dashboard/train_controls.py) and presets, without Streamlit."""
from __future__ import annotations

from dataclasses import fields, replace

import pytest

from dashboard import presets, state
from dashboard import train_controls as controls
from nnlib.training import TrainConfig

ALL_PRESETS = (presets.SEED_STUDY, *presets.LOADABLE)


def test_the_defaults_describe_a_small_quick_mlp():
    config = controls.config_from_values(controls.default_values())
    assert config == TrainConfig(hidden_sizes=(256, 128), conv_channels=(), activation="relu", init="he",
                                 dropout=0.0, optimizer="adam", learning_rate=1e-3, momentum=0.9,
                                 batch_size=128, epochs=5, l2=0.0, schedule="constant", seed=0)
    values = controls.default_values()
    assert values[state.TRAIN_NETWORK] == "mlp" and values[state.TRAIN_CONV_STAGES] == 2
    assert [values[f"{state.TRAIN_LAYER_WIDTH_PREFIX}{i}"] for i in range(1, 6)] == [256, 128, 64, 32, 16]
    assert [values[f"{state.TRAIN_CONV_FILTERS_PREFIX}{i}"] for i in (1, 2)] == [16, 32]


def test_the_table_covers_every_train_config_field_once():
    covered = [control.field for control in controls.CONTROLS if control.field]
    covered += [stack.field for stack in controls.STACKS]
    assert len(covered) == len(set(covered))
    # nesterov has no control: the page's momentum is classical momentum.
    assert set(covered) == {f.name for f in fields(TrainConfig)} - {"nesterov"}
    assert len(controls.CONTROLS) == 15   # 14 and the batch-norm toggle
    assert len({control.key for control in controls.CONTROLS}) == 15


@pytest.mark.parametrize("preset", ALL_PRESETS, ids=lambda preset: preset.title)
def test_each_preset_reads_back_from_the_widget_values_it_sets(preset):
    values = controls.values_for_config(preset.config)
    assert controls.config_from_values({**controls.default_values(), **values}) == preset.config


def test_the_cnn_preset_sets_the_network_its_stages_and_filters():
    values = controls.values_for_config(presets.CNN_99.config)
    assert values[state.TRAIN_NETWORK] == "cnn" and values[state.TRAIN_CONV_STAGES] == 2
    assert (values[f"{state.TRAIN_CONV_FILTERS_PREFIX}1"], values[f"{state.TRAIN_CONV_FILTERS_PREFIX}2"]) == (16, 32)
    assert values[state.TRAIN_LAYER_COUNT] == 1 and values[f"{state.TRAIN_LAYER_WIDTH_PREFIX}1"] == 128
    assert values[state.TRAIN_LEARNING_RATE] == 2e-3 and values[state.TRAIN_SCHEDULE] == "cosine"


def test_full_batch_is_none_in_the_config_and_a_named_choice_on_the_slider():
    values = controls.values_for_config(presets.SEED_STUDY_BEST.config)
    assert values[state.TRAIN_BATCH_SIZE] == controls.FULL_BATCH
    assert values[state.TRAIN_NETWORK] == "mlp" and values[state.TRAIN_EPOCHS] == 150
    assert controls.config_from_values({**controls.default_values(), **values}).batch_size is None


def test_an_mlp_ignores_the_filters_left_in_the_convolution_controls():
    values = {**controls.default_values(), state.TRAIN_NETWORK: "mlp", state.TRAIN_CONV_STAGES: 1}
    assert controls.config_from_values(values).conv_channels == ()
    assert controls.config_from_values({**values, state.TRAIN_NETWORK: "cnn"}).conv_channels == (16,)


def test_a_config_the_controls_cannot_show_is_refused_by_name():
    with pytest.raises(ValueError, match=r"Learning rate \(log scale\): expected one of .* got 0\.003"):
        controls.values_for_config(replace(presets.CNN_TRAIN, learning_rate=3e-3))
    with pytest.raises(ValueError, match="Units in hidden layer 1: expected one of .* got 100"):
        controls.values_for_config(TrainConfig(hidden_sizes=(100,)))
    with pytest.raises(ValueError, match="Hidden layers: expected a value from 0 to 5, got 6"):
        controls.values_for_config(TrainConfig(hidden_sizes=(8,) * 6))


def test_the_seed_study_runs_its_four_networks_with_one_optimiser():
    configs = presets.seed_study_configs(seed=7)
    assert [config.hidden_sizes for config in configs] == [(256, 128, 64), (128, 64), (128,), (32,)]
    assert {(c.optimizer, c.learning_rate, c.batch_size, c.epochs, c.init, c.seed) for c in configs} == {
        ("sgd", 0.1, None, 150, "seed", 7)}


def test_every_preset_quotes_a_measured_figure():
    for preset in ALL_PRESETS:
        assert "%" in preset.measured, preset.title
    assert "99.19% test after 4 epochs" in presets.CNN_99.measured
