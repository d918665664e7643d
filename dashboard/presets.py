"""The Train page's presets: nnlib's named recipes (:mod:`nnlib.presets`) with a button each.

The configs, titles and measured figures live in nnlib, so the command line
(``python -m nnlib train --preset NAME``) offers exactly what the page offers; this module
only adds the button keys and reads the seed study's base config from here (a page test
shortens it).
"""
from __future__ import annotations

from dataclasses import dataclass

from nnlib import presets as recipes
from nnlib.presets import CNN_TRAIN, FAST_AND_ACCURATE_TRAIN, SEED_STUDY_ARCHITECTURES, SEED_STUDY_TRAIN, Preset
from nnlib.training import TrainConfig

__all__ = ["CNN_TRAIN", "FAST_AND_ACCURATE_TRAIN", "SEED_STUDY_ARCHITECTURES", "SEED_STUDY_TRAIN", "TrainPreset",
           "LOADABLE", "SEED_STUDY", "seed_study_configs"]


@dataclass(frozen=True)
class TrainPreset:
    """A preset as the Train page shows it: the recipe and the key of its button."""

    recipe: Preset
    button_key: str

    @property
    def name(self) -> str:
        return self.recipe.name

    @property
    def title(self) -> str:
        return self.recipe.title

    @property
    def summary(self) -> str:
        return self.recipe.summary

    @property
    def measured(self) -> str:
        return self.recipe.measured

    @property
    def data_text(self) -> str:
        """The data the figure was measured on (set it on the Preprocess page to match)."""
        return self.recipe.data_text()

    @property
    def config(self) -> TrainConfig:
        return self.recipe.config


# The first keys predate the records; later presets are keyed by their name.
BUTTON_KEYS = {"seed-study-best": "train_preset_seed_button", "fast": "train_preset_fast_button",
               "cnn": "train_preset_cnn_button"}

SEED_STUDY = TrainPreset(recipes.SEED_STUDY, "train_seed_study_button")
SEED_STUDY_BEST, FAST_AND_ACCURATE, CNN_99 = (TrainPreset(recipes.PRESETS[name], BUTTON_KEYS[name])
                                              for name in ("seed-study-best", "fast", "cnn"))
# The presets whose button loads their settings into the controls (the seed study runs instead):
# every preset of the command line, in its order.
LOADABLE: tuple[TrainPreset, ...] = tuple(
    TrainPreset(recipe, BUTTON_KEYS.get(name, f"train_preset_{name.replace('-', '_')}_button"))
    for name, recipe in recipes.PRESETS.items())


def seed_study_configs(seed: int = 0) -> list[TrainConfig]:
    """The seed study's four networks (same optimiser, init and iterations; different layers)."""
    return recipes.seed_study_configs(seed, base=SEED_STUDY_TRAIN)
