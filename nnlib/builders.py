"""Network builders: the untrained MLP or CNN a few numbers describe.

``build_mlp([256, 128, 64])`` is the seed study's network; ``build_cnn((16, 32), (128,))``
a small LeNet-style CNN; ``build_network(config)`` either one, from a :class:`TrainConfig`.
All random choices come from one seed: the same seed builds the same network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from .conv import Conv2D, Flatten, MaxPool2D, Reshape
from .layers import DEFAULT_DTYPE, Dense, Dropout, Layer, make_activation
from .model import Sequential
from .normalization import BatchNorm
from .train_config import TrainConfig


def build_mlp(hidden_sizes: Sequence[int], activation: str = "relu", init: str = "he",
              dropout: float = 0.0, input_size: int = 784, n_classes: int = 10,
              seed: int | np.random.Generator = 0, dtype: DTypeLike = DEFAULT_DTYPE,
              batch_norm: bool = False) -> Sequential:
    """A multilayer perceptron: ``[Dense (-> BatchNorm) -> activation (-> Dropout)] * len(hidden_sizes) -> Dense``.

    ``build_mlp([256, 128, 64])`` is the seed study's best network, [784, 256, 128, 64, 10].
    The output layer has no activation: it gives logits. All random choices (initial
    weights, dropout masks) come from ``seed``: the same seed builds the same network.
    """
    hidden_sizes = [int(h) for h in hidden_sizes]
    if any(h < 1 for h in hidden_sizes):
        raise ValueError(f"hidden layer sizes must be positive, got {hidden_sizes}")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    width = int(input_size)
    for size in hidden_sizes:
        layers.append(Dense(width, size, init=init, rng=rng, dtype=dtype))
        if batch_norm:
            layers.append(BatchNorm(size, dtype=dtype))
        layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng.spawn(1)[0]))
        width = size
    layers.append(Dense(width, int(n_classes), init=init, rng=rng, dtype=dtype))
    return Sequential(layers)


def build_cnn(conv_channels: Sequence[int] = (16, 32), hidden_sizes: Sequence[int] = (128,),
              kernel_size: int = 5, activation: str = "relu", init: str = "he", dropout: float = 0.0,
              input_size: int = 784, n_classes: int = 10, seed: int | np.random.Generator = 0,
              dtype: DTypeLike = DEFAULT_DTYPE, batch_norm: bool = False) -> Sequential:
    """A LeNet-style CNN on flat square images: ``[Conv2D (-> BatchNorm) -> activation -> MaxPool2D(2)]``
    per entry of ``conv_channels``, then Flatten and the Dense layers of ``hidden_sizes``
    (each followed by a BatchNorm too when ``batch_norm``).

    ``build_cnn((16, 32), (128,))`` on MNIST: 28x28x1 -> 24x24x16 -> 12x12x16 -> 8x8x32 ->
    4x4x32 -> 512 -> 128 -> 10, with about 80,000 parameters. "valid" convolutions; each
    stage must leave an image at least ``kernel_size`` wide for the next.
    """
    side = math.isqrt(int(input_size))
    if side * side != input_size:
        raise ValueError(f"a CNN needs square images; {input_size} inputs are not a square")
    channels = [int(c) for c in conv_channels]
    if not channels or any(c < 1 for c in channels):
        raise ValueError(f"conv_channels must be positive numbers, got {list(conv_channels)}")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = [Reshape((side, side, 1))]
    previous = 1
    for count in channels:
        if side < kernel_size:
            raise ValueError(f"{len(channels)} convolution stages of {kernel_size}x{kernel_size} do not fit "
                             f"{math.isqrt(int(input_size))}x{math.isqrt(int(input_size))} images")
        layers.append(Conv2D(previous, count, kernel_size, init=init, rng=rng, dtype=dtype))
        if batch_norm:
            layers.append(BatchNorm(count, dtype=dtype))
        layers += [make_activation(activation), MaxPool2D(2)]
        side, previous = (side - kernel_size + 1) // 2, count
    if side < 1:
        raise ValueError("the images are too small for these convolution stages")
    layers.append(Flatten())
    width = side * side * previous
    for size in hidden_sizes:
        layers.append(Dense(width, int(size), init=init, rng=rng, dtype=dtype))
        if batch_norm:
            layers.append(BatchNorm(int(size), dtype=dtype))
        layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng.spawn(1)[0]))
        width = int(size)
    layers.append(Dense(width, int(n_classes), init=init, rng=rng, dtype=dtype))
    return Sequential(layers)


def build_network(config: TrainConfig, input_size: int = 784, n_classes: int = 10) -> Sequential:
    """The untrained network ``config`` describes: an MLP, or a CNN when it has ``conv_channels``."""
    if config.conv_channels:
        return build_cnn(config.conv_channels, config.hidden_sizes, activation=config.activation,
                         init=config.init, dropout=config.dropout, input_size=input_size,
                         n_classes=n_classes, seed=config.seed, batch_norm=config.batch_norm)
    return build_mlp(config.hidden_sizes, activation=config.activation, init=config.init,
                     dropout=config.dropout, input_size=input_size, n_classes=n_classes, seed=config.seed,
                     batch_norm=config.batch_norm)


def describe_network(config: TrainConfig, input_size: int = 784, n_classes: int = 10, sep: str = ", ") -> str:
    """The seed study's way of writing a network, convolutions included:
    ``[784, 256, 128, 10]``, or ``[784, conv16, conv32, 128, 10]`` for a CNN."""
    parts = [str(input_size), *(f"conv{c}" for c in config.conv_channels),
             *(str(h) for h in config.hidden_sizes), str(n_classes)]
    return "[" + sep.join(parts) + "]"
