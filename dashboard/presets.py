"""The Train page's presets: each config with what it sets up and the figure measured for it.

The figures are quoted here and nowhere else in the app; the README's "Measured" table
quotes the same runs. ``measured`` names the data and hardware each figure comes from.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from nnlib.training import TrainConfig


@dataclass(frozen=True)
class Preset:
    """A named config: ``summary`` says what it trains, ``measured`` what it reached."""

    title: str
    button_key: str
    summary: str
    measured: str
    config: TrainConfig


# The seed study trained four networks by full-batch gradient descent for 150 iterations.
# Its write-up names the best, [784, 256, 128, 64, 10] (92% validation), and the worst,
# [784, 32, 10] (83%); it does not name the two in between, so we pick [784, 128, 64, 10]
# and [784, 128, 10]. Learning rate 0.1 with the study's initialisation reproduces 92%.
SEED_STUDY_ARCHITECTURES: tuple[tuple[int, ...], ...] = ((256, 128, 64), (128, 64), (128,), (32,))
SEED_STUDY_TRAIN = TrainConfig(hidden_sizes=(256, 128, 64), activation="relu", init="seed",
                               optimizer="sgd", learning_rate=0.1, batch_size=None, epochs=150)
FAST_AND_ACCURATE_TRAIN = TrainConfig(hidden_sizes=(512, 256), activation="relu", init="he",
                                      optimizer="adam", learning_rate=1e-3, batch_size=128, epochs=10,
                                      schedule="cosine")
CNN_TRAIN = TrainConfig(conv_channels=(16, 32), hidden_sizes=(128,), activation="relu", init="he",
                        optimizer="adam", learning_rate=2e-3, batch_size=128, epochs=4, schedule="cosine")

SEED_STUDY = Preset(
    title="Seed study", button_key="train_seed_study_button",
    summary="four networks, full-batch gradient descent (SGD, rate 0.1, the study's initialisation), "
            "150 iterations each.",
    measured="The study names [784, 256, 128, 64, 10] (92% validation) and [784, 32, 10] (83%); it does not "
             "name its two middle networks, so we chose [784, 128, 64, 10] and [784, 128, 10]. "
             "It trained on 42,000 images (33,600 / 8,400): set 42,000 on the Preprocess page to match it; "
             "the run uses the data above. On that split we measured 92.1%, 90.9%, 89.9% and 83.7% validation. "
             "Expect several minutes on a small server.",
    config=SEED_STUDY_TRAIN)
SEED_STUDY_BEST = Preset(
    title="Seed study's best network", button_key="train_preset_seed_button",
    summary="[784, 256, 128, 64, 10] in the controls: full batch, 150 iterations.",
    measured="92.1% validation on the study's 42,000-image split.",
    config=SEED_STUDY_TRAIN)
FAST_AND_ACCURATE = Preset(
    title="Fast and accurate", button_key="train_preset_fast_button",
    summary="[784, 512, 256, 10], Adam, mini-batches of 128, cosine schedule, 10 epochs.",
    measured="98.2% validation, 98.4% test after 10 epochs on 48,000 training images (about 30 s on one core); "
             "[784, 256, 128, 10] stops at 97.9%.",
    config=FAST_AND_ACCURATE_TRAIN)
CNN_99 = Preset(
    title="CNN, 99%", button_key="train_preset_cnn_button",
    summary="two 5x5 convolutions (16 and 32 filters, each with a 2x2 max-pool), then 128 units; Adam, "
            "cosine schedule, 4 epochs: 80,202 parameters, a third of the MLP's.",
    measured="99.19% test after 4 epochs (99.09% after 3), 48 s on all 60,000 images with 2 cores "
             "(benchmarks/results/cnn.md).",
    config=CNN_TRAIN)

# The presets whose button loads their settings into the controls (the seed study runs instead).
LOADABLE: tuple[Preset, ...] = (SEED_STUDY_BEST, FAST_AND_ACCURATE, CNN_99)


def seed_study_configs(seed: int = 0) -> list[TrainConfig]:
    """The seed study's four networks (same optimiser, init and iterations; different layers)."""
    return [replace(SEED_STUDY_TRAIN, hidden_sizes=sizes, seed=seed) for sizes in SEED_STUDY_ARCHITECTURES]
