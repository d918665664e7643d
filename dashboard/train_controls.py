"""The Train page's controls as one field table: each widget, its default, its TrainConfig field.

Three things read this table and nothing else: the defaults a first visit starts from
(:func:`default_values`), the ``TrainConfig`` the controls describe
(:func:`config_from_values`), and the widget values that show a config, used to load a
preset (:func:`values_for_config`). Adding a control is one row here.

Most rows set one ``TrainConfig`` field. Three rows shape the network instead (no field):
the MLP/CNN choice and the two layer counts; with the per-layer widths and filters they
are read through the two :class:`LayerStack` rows into ``hidden_sizes`` and ``conv_channels``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from nnlib.training import TrainConfig

from . import state

FULL_BATCH = "full batch"
MLP, CNN = "mlp", "cnn"


def _same(value: Any) -> Any:
    return value


def _number(value: float) -> str:
    return f"{value:g}"


def _batch_to_config(value: Any) -> int | None:
    return None if value == FULL_BATCH else int(value)


def _batch_from_config(value: int | None) -> Any:
    return FULL_BATCH if value is None else value


@dataclass(frozen=True)
class Control:
    """One training control: its widget (kind, label, choices or range) and its TrainConfig field.

    ``widget`` is ``"radio"``, ``"selectbox"``, ``"select_slider"``, ``"slider"``,
    ``"number_input"`` or ``"toggle"`` (options ``(False, True)``); ``options`` are the choices
    of the first three and the toggle, ``bounds`` the
    ``(min, max, step)`` of the last two. ``field`` is None for the rows that shape the
    network (read through a :class:`LayerStack`).
    """

    key: str
    label: str
    widget: str
    default: Any
    field: str | None = None
    options: tuple = ()
    bounds: tuple = ()
    names: Mapping[Any, str] | None = None
    number_format: bool = False
    horizontal: bool = False
    help: str | None = None
    to_config: Callable[[Any], Any] = _same
    from_config: Callable[[Any], Any] = _same

    def format(self, value: Any) -> str:
        """How an option is shown: its name, a compact number, or itself."""
        if self.names is not None:
            return self.names[value]
        return _number(value) if self.number_format else str(value)


@dataclass(frozen=True)
class LayerStack:
    """A run of layers: ``count`` says how many, one select-slider per layer says its size."""

    field: str
    count: Control
    item_prefix: str
    item_label: str  # with ``{index}``, counted from 1
    options: tuple[int, ...]
    defaults: tuple[int, ...]  # one per possible layer

    def item_key(self, index: int) -> str:
        """The session-state key of layer ``index`` (counted from 1)."""
        return f"{self.item_prefix}{index}"

    def sizes(self, values: Mapping[str, Any]) -> tuple[int, ...]:
        """The layer sizes the widgets in ``values`` describe."""
        return tuple(int(values[self.item_key(i)]) for i in range(1, int(values[self.count.key]) + 1))

    def values_for(self, sizes: tuple[int, ...]) -> dict[str, Any]:
        """The widget values that show ``sizes`` (the widgets of unused layers keep theirs)."""
        return {self.count.key: len(sizes), **{self.item_key(i): size for i, size in enumerate(sizes, start=1)}}


NETWORK = Control(state.TRAIN_NETWORK, "Network", "radio", MLP, options=(MLP, CNN),
                  names={MLP: "MLP: dense layers", CNN: "CNN: convolutions, then dense layers"},
                  help="A CNN slides small 5x5 filters over the image (each followed by a 2x2 max-pool) "
                       "before the dense layers: it sees strokes where they are, and reaches 99%.")
# 28 -> 24 -> 12 -> 8 -> 4 pixels with 5x5 kernels and 2x2 pooling: a third stage does not fit.
CONV_LAYERS = LayerStack(
    "conv_channels",
    Control(state.TRAIN_CONV_STAGES, "Convolution stages", "slider", 2, bounds=(1, 2, 1),
            help="Each stage: 5x5 convolution, activation, 2x2 max-pool (28 → 12 → 4 pixels)."),
    state.TRAIN_CONV_FILTERS_PREFIX, "Filters in convolution {index}", (4, 8, 16, 32, 64), (16, 32))
DENSE_LAYERS = LayerStack(
    "hidden_sizes",
    Control(state.TRAIN_LAYER_COUNT, "Hidden layers", "slider", 2, bounds=(0, 5, 1),
            help="0 = no hidden layer: softmax regression straight from the pixels (or the feature maps)."),
    state.TRAIN_LAYER_WIDTH_PREFIX, "Units in hidden layer {index}", (8, 16, 32, 64, 128, 256, 512, 1024),
    (256, 128, 64, 32, 16))

ACTIVATION = Control(state.TRAIN_ACTIVATION, "Activation", "selectbox", "relu", "activation",
                     options=("relu", "leaky_relu", "tanh", "sigmoid"),
                     names={"relu": "ReLU", "leaky_relu": "Leaky ReLU", "tanh": "tanh", "sigmoid": "sigmoid"})
INIT = Control(state.TRAIN_INIT, "Initialiser", "selectbox", "he", "init", options=("he", "glorot", "seed", "small"),
               names={"he": "He (for ReLU)", "glorot": "Glorot / Xavier", "seed": "Seed study's",
                      "small": "Small N(0, 0.01²)"})
DROPOUT = Control(state.TRAIN_DROPOUT, "Dropout", "slider", 0.0, "dropout", bounds=(0.0, 0.5, 0.05),
                  to_config=float, help="Share of hidden units switched off at random in each training step.")
BATCH_NORM = Control(state.TRAIN_BATCH_NORM, "Batch normalisation", "toggle", False, "batch_norm",
                     options=(False, True), names={False: "off", True: "on"}, to_config=bool,
                     help="Rescale each unit's (or filter's) outputs to mean 0 and variance 1 over the batch, "
                          "between each hidden layer and its activation: steadier, often faster learning.")
OPTIMIZER = Control(state.TRAIN_OPTIMIZER, "Optimiser", "radio", "adam", "optimizer",
                    options=("sgd", "momentum", "adam"), names={"sgd": "SGD", "momentum": "Momentum", "adam": "Adam"},
                    horizontal=True)
LEARNING_RATE = Control(state.TRAIN_LEARNING_RATE, "Learning rate (log scale)", "select_slider", 1e-3,
                        "learning_rate", options=(1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2,
                                                  0.5, 1.0),
                        number_format=True, to_config=float)
MOMENTUM = Control(state.TRAIN_MOMENTUM, "Momentum", "slider", 0.9, "momentum", bounds=(0.5, 0.99, 0.01),
                   to_config=float)
BATCH_SIZE = Control(state.TRAIN_BATCH_SIZE, "Batch size", "select_slider", 128, "batch_size",
                     options=(FULL_BATCH, 16, 32, 64, 128, 256, 512, 1024, 2048),
                     help="Full batch: every step uses all training images, as in the seed study.",
                     to_config=_batch_to_config, from_config=_batch_from_config)
EPOCHS = Control(state.TRAIN_EPOCHS, "Epochs (passes over the data)", "slider", 5, "epochs", bounds=(1, 300, 1),
                 to_config=int)
L2 = Control(state.TRAIN_L2, "L2 weight decay", "select_slider", 0.0, "l2", options=(0.0, 1e-5, 1e-4, 1e-3, 1e-2),
             number_format=True, to_config=float)
SCHEDULE = Control(state.TRAIN_SCHEDULE, "Learning-rate schedule", "selectbox", "constant", "schedule",
                   options=("constant", "step", "cosine"),
                   names={"constant": "constant", "step": "step (halve every third)", "cosine": "cosine (to zero)"})
SEED = Control(state.TRAIN_SEED, "Seed", "number_input", 0, "seed", bounds=(0, 1_000_000, 1), to_config=int,
               help="Same seed, same starting weights and batch order: the same run.")

# The field table: every control of the Train page, in the order the page shows them.
CONTROLS: tuple[Control, ...] = (NETWORK, CONV_LAYERS.count, DENSE_LAYERS.count, ACTIVATION, INIT, DROPOUT,
                                 BATCH_NORM, OPTIMIZER, LEARNING_RATE, MOMENTUM, BATCH_SIZE, EPOCHS, L2, SCHEDULE, SEED)
STACKS: tuple[LayerStack, ...] = (CONV_LAYERS, DENSE_LAYERS)


def default_values() -> dict[str, Any]:
    """Every widget's first value: a small, quick MLP."""
    values = {control.key: control.default for control in CONTROLS}
    for stack in STACKS:
        values.update({stack.item_key(i): size for i, size in enumerate(stack.defaults, start=1)})
    return values


def config_from_values(values: Mapping[str, Any]) -> TrainConfig:
    """The TrainConfig that widget values (session state, or a plain dict) describe."""
    fields = {control.field: control.to_config(values[control.key]) for control in CONTROLS if control.field}
    fields[DENSE_LAYERS.field] = DENSE_LAYERS.sizes(values)
    fields[CONV_LAYERS.field] = CONV_LAYERS.sizes(values) if values[NETWORK.key] == CNN else ()
    return TrainConfig(**fields)


def values_for_config(config: TrainConfig) -> dict[str, Any]:
    """The widget values that show ``config``; ValueError if a widget cannot show one of them."""
    values = {control.key: control.from_config(getattr(config, control.field)) for control in CONTROLS
              if control.field}
    values[NETWORK.key] = CNN if config.conv_channels else MLP
    values.update(DENSE_LAYERS.values_for(config.hidden_sizes))
    if config.conv_channels:
        values.update(CONV_LAYERS.values_for(config.conv_channels))
    _check_shown(values)
    return values


def _check_shown(values: Mapping[str, Any]) -> None:
    """Each value is one of its widget's choices, or within its range."""
    rows = {control.key: (control.label, control.options, control.bounds) for control in CONTROLS}
    for stack in STACKS:
        rows.update({stack.item_key(i): (stack.item_label.format(index=i), stack.options, ())
                     for i in range(1, stack.count.bounds[1] + 1)})
    for key, value in values.items():
        if key not in rows:
            raise ValueError(f"no training control has the key {key!r}")
        label, options, bounds = rows[key]
        if options and value not in options:
            raise ValueError(f"{label}: expected one of {list(options)}, got {value!r}")
        if bounds and not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"{label}: expected a value from {bounds[0]} to {bounds[1]}, got {value!r}")


def nearest_shown_config(config: TrainConfig) -> tuple[TrainConfig, list[str]]:
    """``config`` with every value the controls cannot show moved to the nearest one they can,
    and one note per change (a sweep's learning rate 0.087 becomes the slider's 0.1).

    Numbers are compared on a log scale when all choices are positive (learning rates,
    widths), else by difference; ranges are clamped and rounded to their step.
    """
    changes: dict[str, Any] = {}
    notes: list[str] = []
    for control in CONTROLS:
        if not control.field:
            continue
        shown = control.from_config(getattr(config, control.field))
        nearest = _nearest(shown, control.options, control.bounds, control.label)
        if nearest != shown:
            changes[control.field] = control.to_config(nearest)
            notes.append(f"{control.label}: {control.format(shown)} → {control.format(nearest)}")
    for stack in STACKS:
        sizes = tuple(getattr(config, stack.field))
        kept = sizes[:stack.count.bounds[1]]
        nearest_sizes = tuple(_nearest(size, stack.options, (), stack.item_label) for size in kept)
        if nearest_sizes != sizes:
            changes[stack.field] = nearest_sizes
            notes.append(f"{stack.count.label}: {list(sizes)} → {list(nearest_sizes)}")
    return (replace(config, **changes) if changes else config), notes


def _nearest(value: Any, options: tuple, bounds: tuple, label: str) -> Any:
    """The option (or in-bounds step) nearest ``value``; ValueError for an unknown word."""
    if options:
        if value in options:
            return value
        numbers = [option for option in options if isinstance(option, (int, float))]
        if not isinstance(value, (int, float)) or not numbers:
            raise ValueError(f"{label}: expected one of {list(options)}, got {value!r}")
        if value > 0 and all(number > 0 for number in numbers):
            return min(numbers, key=lambda number: abs(math.log(number / value)))
        return min(numbers, key=lambda number: abs(number - value))
    if bounds:
        low, high, step = bounds
        stepped = low + round((min(max(value, low), high) - low) / step) * step
        return type(step)(round(stepped, 10)) if isinstance(step, float) else int(stepped)
    return value


# ---------------------------------------------------------------------- Streamlit side
def set_defaults(session_state: MutableMapping[str, Any]) -> None:
    """First visit: every control starts at its default (later visits keep the user's values)."""
    for key, value in default_values().items():
        session_state.setdefault(key, value)


def controls_config() -> TrainConfig:
    """The TrainConfig the controls describe now (from session state, so callbacks can use it)."""
    return config_from_values(st.session_state)  # type: ignore[arg-type]  # SessionStateProxy is a Mapping[str | int, Any]


def apply_config(config: TrainConfig) -> None:
    """Set the controls to ``config`` (a preset's Load button)."""
    st.session_state.update(values_for_config(config))


def is_cnn() -> bool:
    """Whether the controls describe a CNN (convolutions before the dense layers)."""
    return st.session_state[NETWORK.key] == CNN


def is_full_batch() -> bool:
    """Whether each step uses all training images (epochs are then single iterations)."""
    return st.session_state[BATCH_SIZE.key] == FULL_BATCH


def draw(control: Control, label: str | None = None) -> None:
    """The control's widget, keyed by its session-state key and kept across pages."""
    common: dict[str, Any] = dict(key=control.key, persist_state="session", help=control.help)
    label = label or control.label
    if control.widget == "radio":
        st.radio(label, control.options, format_func=control.format, horizontal=control.horizontal, **common)
    elif control.widget == "selectbox":
        st.selectbox(label, control.options, format_func=control.format, **common)
    elif control.widget == "select_slider":
        st.select_slider(label, control.options, format_func=control.format, **common)
    elif control.widget == "slider":
        st.slider(label, *control.bounds[:2], step=control.bounds[2], **common)
    elif control.widget == "number_input":
        st.number_input(label, *control.bounds[:2], step=control.bounds[2], **common)
    elif control.widget == "toggle":
        st.toggle(label, **common)
    else:
        raise ValueError(f"{control.key}: unknown widget kind {control.widget!r}")


def draw_stack(stack: LayerStack, count_label: str | None = None) -> None:
    """How many layers, then one size per layer."""
    draw(stack.count, count_label)
    for index in range(1, int(st.session_state[stack.count.key]) + 1):
        st.select_slider(stack.item_label.format(index=index), stack.options, key=stack.item_key(index),
                         persist_state="session")
