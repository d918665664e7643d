"""What a TrainConfig builds: its layers as table rows, its parameter count, a one-line label."""
from __future__ import annotations

import functools
from typing import Any

from nnlib.builders import build_network, describe_network
from nnlib.train_config import TrainConfig


def describe_config(config: TrainConfig, n_features: int, n_classes: int) -> str:
    """A short label: ``[784-256-128-10] adam lr 0.001, batch 128, 10 epochs``
    (``[784-conv16-conv32-128-10] ...`` for a CNN)."""
    sizes = describe_network(config, n_features, n_classes, sep="-")[1:-1]
    batch = "full batch" if config.batch_size is None else f"batch {config.batch_size}"
    length = f"{config.epochs} iterations" if config.batch_size is None else f"{config.epochs} epochs"
    norm = " + batch norm" if config.batch_norm else ""
    return f"[{sizes}]{norm} {config.optimizer} lr {config.learning_rate:g}, {batch}, {length}"


@functools.lru_cache(maxsize=64)
def architecture_table(hidden_sizes: tuple[int, ...], activation: str, dropout: float, n_features: int,
                       n_classes: int, conv_channels: tuple[int, ...] = (),
                       batch_norm: bool = False) -> tuple[list[dict], int]:
    """The layers of the network these settings build: rows for a table, and the parameter count.

    Built with ``nnlib.builders.build_network`` (cached by settings), so the table is what
    trains; ``output`` is each layer's output shape for one image.
    """
    config = TrainConfig(hidden_sizes=hidden_sizes, conv_channels=conv_channels, activation=activation,
                         dropout=dropout, batch_norm=batch_norm, seed=0)
    model = build_network(config, input_size=n_features, n_classes=n_classes)
    rows = []
    for row, shape in zip(model.layer_table(), model.output_shapes()):
        rows.append({
            "layer": row["name"], "kind": row["kind"],
            "output": "x".join(map(str, shape)),
            "weights W": "" if row["weight_shape"] is None else " x ".join(map(str, row["weight_shape"])),
            "parameters": row["params"],
        })
    return rows, model.parameter_count


def describe_model(model: Any) -> str:
    """A loaded model written as the seed study wrote networks: ``[784, 32, 10]``, or
    ``[784, conv16, conv32, 128, 10]`` with convolutions (from its layer configs)."""
    parts = [str(model.input_size)]
    for layer in model.architecture():
        if layer.get("kind") == "Conv2D":
            parts.append(f"conv{layer['out_channels']}")
        elif layer.get("kind") == "Dense":
            parts.append(str(layer["out_features"]))
    return "[" + ", ".join(parts) + "]"
