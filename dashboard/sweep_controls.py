"""The Sweep page's set-up form as one field table: what each hyperparameter can range over.

Each searchable hyperparameter (:data:`FIELDS`) is one row: a checkbox to search it, then
either its range (two select-sliders over ``options``: min and max, log-spaced where the
scale is logarithmic) or the choices to try (a multiselect), and the single value it keeps
when it is not searched. The sweep's settings (method, budgets, pruner, data) follow.

Three things read the table: the first visit's values (:func:`default_values`), the
:class:`~experiments.space.SearchSpace` and :class:`~experiments.sweep.SweepSettings` the
widgets describe (:func:`plan_from_values`, which raises ValueError with the library's
message when a range or budget is impossible), and the widget values that show a preset
(:func:`values_for_preset`).
"""
from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from experiments.space import PRESETS, Param, SearchSpace
from experiments.sweep import METHODS, PRUNERS, SweepSettings

from . import state

RANGE, CHOICE = "range", "choice"
# What every network of a sweep shares (the Train page's defaults), unless the space fixes it.
SHARED_FIXED = {"activation": "relu", "init": "he"}
LEARNING_RATES = (1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 0.01, 0.02, 0.03, 0.05,
                  0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
WIDTHS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
TRAIN_SIZES = (1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000)
METHOD_NAMES = {"grid": "Grid: every combination", "random": "Random", "tpe": "TPE (Bayesian, Optuna)"}
PRUNER_NAMES = {"none": "None", "median": "Median: stop trials below the median",
                "halving": "Successive halving"}


@dataclass(frozen=True)
class SearchField:
    """One searchable hyperparameter: ``kind`` is RANGE (min/max over ``options``, on a log
    scale when ``log``) or CHOICE (any subset of ``options``); ``fixed`` is its value when
    not searched, ``default_range`` the range or choices it starts from."""

    name: str
    label: str
    kind: str
    options: tuple
    default_range: tuple
    fixed: Any
    log: bool = False
    names: Mapping[Any, str] | None = None
    integer: bool = False

    def format(self, value: Any) -> str:
        if self.names is not None:
            return self.names.get(value, str(value))
        return f"{value:g}" if isinstance(value, float) else str(value)

    @property
    def search_key(self) -> str:
        return state.SWEEP_SEARCH_PREFIX + self.name

    @property
    def min_key(self) -> str:
        return state.SWEEP_MIN_PREFIX + self.name

    @property
    def max_key(self) -> str:
        return state.SWEEP_MAX_PREFIX + self.name

    @property
    def choices_key(self) -> str:
        return state.SWEEP_CHOICES_PREFIX + self.name

    @property
    def fixed_key(self) -> str:
        return state.SWEEP_FIXED_PREFIX + self.name

    def param(self, values: Mapping[str, Any]) -> Param:
        """The searched range or choices the widgets in ``values`` describe."""
        if self.kind == CHOICE:
            chosen = [option for option in self.options if option in values[self.choices_key]]
            return Param.choice(*chosen)
        maker = Param.int_range if self.integer else Param.float_range
        return maker(values[self.min_key], values[self.max_key], log=self.log)


FIELDS: tuple[SearchField, ...] = (
    SearchField("learning_rate", "Learning rate (log scale)", RANGE, LEARNING_RATES, (1e-3, 1.0), 0.1, log=True),
    SearchField("width", "Width (log scale)", RANGE,
                WIDTHS, (32, 256), 128, log=True, integer=True),
    SearchField("depth", "Depth: hidden layers", RANGE, (0, 1, 2, 3, 4, 5), (1, 3), 2, integer=True),
    SearchField("batch_size", "Batch size", CHOICE, (16, 32, 64, 128, 256, 512), (32, 128), 64),
    SearchField("dropout", "Dropout", RANGE, tuple(round(0.05 * i, 2) for i in range(11)), (0.0, 0.3), 0.0),
    SearchField("l2", "L2 weight decay", CHOICE, (0.0, 1e-5, 1e-4, 1e-3, 1e-2), (0.0, 1e-4, 1e-3), 0.0),
    SearchField("optimizer", "Optimiser", CHOICE, ("sgd", "momentum", "adam"), ("sgd", "adam"), "sgd",
                names={"sgd": "SGD", "momentum": "Momentum", "adam": "Adam"}),
    SearchField("schedule", "Learning-rate schedule", CHOICE, ("constant", "step", "cosine"),
                ("constant", "cosine"), "constant"),
    SearchField("architecture", "Network", CHOICE, ("mlp", "cnn"), ("mlp", "cnn"), "mlp",
                names={"mlp": "MLP", "cnn": "CNN (two 5x5 conv stages, then the dense layers)"}),
)
FIELDS_BY_NAME = {field.name: field for field in FIELDS}

SETTING_DEFAULTS: dict[str, Any] = {
    state.SWEEP_NAME: "sweep", state.SWEEP_METHOD: "tpe", state.SWEEP_TRIALS: 12, state.SWEEP_LIMIT_TIME: False,
    state.SWEEP_MINUTES: 10.0, state.SWEEP_GRID_POINTS: 4, state.SWEEP_PARALLEL: 2, state.SWEEP_PRUNER: "median",
    state.SWEEP_EPOCHS: 2, state.SWEEP_TRAIN_SIZE: 10_000, state.SWEEP_SEED: 0,
}

LR_WIDTH = "lr-width"
# The preset's settings: the teaching sweep (16 grid points, 2 epochs on 10,000
# images, 2 at once), with no pruning so every point of the map is trained to the end.
PRESET_SETTINGS = {LR_WIDTH: {"name": "learning rate x width", "method": "grid", "trials": 16, "parallel": 2,
                              "pruner": "none", "epochs": 2, "train_size": 10_000, "seed": 0, "seconds": None}}
PRESET_TITLE = {LR_WIDTH: "Learning rate × width"}
PRESET_LESSON = {LR_WIDTH: (
    "A 4 × 4 grid on the seed study's MLP ([784, w, w/2, w/4, 10], plain SGD, batch 32): learning rates "
    "from 0.001 to 3 (log-spaced) against first-layer widths from 32 to 256. Read the parallel "
    "coordinates from the learning-rate axis: at 3 the steps overshoot and the loss blows up (the trial "
    "**diverges**); at 0.001 two epochs are far too few steps to learn much; in between lies the "
    "band where training works, and there width matters much less than the learning rate (the "
    "importances say by how much).")}


# ---------------------------------------------------------------------- pure: values <-> plan
def default_values() -> dict[str, Any]:
    """Every widget's first value: searching the learning rate only, TPE, 12 trials."""
    values = dict(SETTING_DEFAULTS)
    for field in FIELDS:
        values[field.search_key] = field.name == "learning_rate"
        values[field.fixed_key] = field.fixed
        if field.kind == CHOICE:
            values[field.choices_key] = list(field.default_range)
        else:
            values[field.min_key], values[field.max_key] = field.default_range
    return values


def space_from_values(values: Mapping[str, Any]) -> SearchSpace:
    """The search space the widgets describe; ValueError when it is empty or a range impossible."""
    params = {field.name: field.param(values) for field in FIELDS if values[field.search_key]}
    fixed = {**SHARED_FIXED, **{field.name: values[field.fixed_key] for field in FIELDS
                                if not values[field.search_key]}}
    return SearchSpace(params, fixed, grid_points=int(values[state.SWEEP_GRID_POINTS]))


def settings_from_values(values: Mapping[str, Any], dataset: str) -> SweepSettings:
    """The sweep settings the widgets describe; ValueError when a budget is impossible."""
    seconds = float(values[state.SWEEP_MINUTES]) * 60 if values[state.SWEEP_LIMIT_TIME] else None
    return SweepSettings(name=str(values[state.SWEEP_NAME]).strip() or "sweep", method=values[state.SWEEP_METHOD],
                         trials=int(values[state.SWEEP_TRIALS]), seconds=seconds,
                         parallel=int(values[state.SWEEP_PARALLEL]), pruner=values[state.SWEEP_PRUNER],
                         seed=int(values[state.SWEEP_SEED]), epochs=int(values[state.SWEEP_EPOCHS]),
                         train_size=int(values[state.SWEEP_TRAIN_SIZE]), dataset=dataset)


def plan_from_values(values: Mapping[str, Any], dataset: str) -> tuple[SearchSpace, SweepSettings]:
    """The space and settings of the sweep the form describes (ValueError when impossible)."""
    return space_from_values(values), settings_from_values(values, dataset)


def values_for_preset(name: str) -> dict[str, Any]:
    """The widget values that show preset ``name``; ValueError if a widget cannot show it."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    space, settings = PRESETS[name], PRESET_SETTINGS[name]
    values: dict[str, Any] = {}
    for field in FIELDS:
        param = space.params.get(field.name)
        values[field.search_key] = param is not None
        values[field.fixed_key] = _shown(field, space.fixed.get(field.name, field.fixed))
        if param is None:
            continue
        if field.kind == CHOICE:
            values[field.choices_key] = [_shown(field, choice) for choice in param.choices]
        else:
            values[field.min_key], values[field.max_key] = _shown(field, param.low), _shown(field, param.high)
    values.update({state.SWEEP_NAME: settings["name"], state.SWEEP_METHOD: settings["method"],
                   state.SWEEP_TRIALS: settings["trials"], state.SWEEP_PARALLEL: settings["parallel"],
                   state.SWEEP_PRUNER: settings["pruner"], state.SWEEP_EPOCHS: settings["epochs"],
                   state.SWEEP_TRAIN_SIZE: settings["train_size"], state.SWEEP_SEED: settings["seed"],
                   state.SWEEP_LIMIT_TIME: settings["seconds"] is not None,
                   state.SWEEP_GRID_POINTS: space.grid_points})
    return values


def _shown(field: SearchField, value: Any) -> Any:
    """``value`` as one of the field's options (ValueError when it is none of them)."""
    for option in field.options:
        if option == value:
            return option
    raise ValueError(f"{field.label}: the form offers {list(field.options)}, not {value!r}")


# ---------------------------------------------------------------------- Streamlit side
def set_defaults(session_state: MutableMapping[str, Any]) -> None:
    """First visit: every widget starts at its default (later visits keep the user's values)."""
    for key, value in default_values().items():
        session_state.setdefault(key, value)


def apply_preset(name: str) -> None:
    """The preset button: fill the form with preset ``name``."""
    st.session_state.update(values_for_preset(name))


def current_plan(dataset: str) -> tuple[SearchSpace | None, SweepSettings | None, str | None]:
    """``(space, settings, None)`` for the form as it is, or ``(None, None, why not)``."""
    try:
        space, settings = plan_from_values(st.session_state, dataset)  # type: ignore[arg-type]  # SessionStateProxy is a Mapping[str | int, Any]
    except (ValueError, TypeError) as error:
        return None, None, str(error)
    return space, settings, None


def draw_search_fields() -> None:
    """One row per hyperparameter: search it?, then its range or choices, or its fixed value."""
    for field in FIELDS:
        label_col, first_col, second_col = st.columns([1.2, 1.4, 1.4])
        label_col.checkbox(f"Search **{field.label}**", key=field.search_key, persist_state="session")
        common: dict[str, Any] = dict(format_func=field.format, persist_state="session")
        if not st.session_state[field.search_key]:
            if field.kind == CHOICE:
                first_col.selectbox(f"{field.label}: fixed at", field.options, key=field.fixed_key, **common)
            else:
                first_col.select_slider(f"{field.label}: fixed at", field.options, key=field.fixed_key, **common)
        elif field.kind == CHOICE:
            first_col.multiselect(f"{field.label}: try", field.options, key=field.choices_key, **common)
        else:
            first_col.select_slider(f"{field.label}: min", field.options, key=field.min_key, **common)
            second_col.select_slider(f"{field.label}: max", field.options, key=field.max_key, **common)


def draw_settings() -> None:
    """Method, budgets, trials at once, pruner, and each trial's length and data."""
    keep: dict[str, Any] = dict(persist_state="session")
    left, middle, right = st.columns(3)
    with left:
        st.text_input("Name", key=state.SWEEP_NAME, **keep)
        st.radio("Search method", METHODS, format_func=METHOD_NAMES.get, key=state.SWEEP_METHOD, **keep)
        if st.session_state[state.SWEEP_METHOD] == "grid":
            st.number_input("Grid points per numeric range", 2, 10, step=1, key=state.SWEEP_GRID_POINTS, **keep)
    with middle:
        st.number_input("Trial budget (trials)", 0, 500, step=1, key=state.SWEEP_TRIALS, **keep)
        st.checkbox("Limit the time", key=state.SWEEP_LIMIT_TIME, **keep)
        if st.session_state[state.SWEEP_LIMIT_TIME]:
            st.number_input("Time budget (minutes)", 0.0, 24 * 60.0, step=0.5, key=state.SWEEP_MINUTES, **keep)
        st.slider("Trials at once", 1, 4, key=state.SWEEP_PARALLEL, **keep,
                  help="The server's cap on networks training at once still applies: extra trials wait "
                       "in its queue, in turn with everyone else's.")
        st.radio("Pruner (early stopping of clearly worse trials)", PRUNERS, format_func=PRUNER_NAMES.get,
                 key=state.SWEEP_PRUNER, **keep)
    with right:
        st.number_input("Epochs per trial", 1, 50, step=1, key=state.SWEEP_EPOCHS, **keep)
        st.select_slider("Training-set size (images; 20% of them validate)", TRAIN_SIZES,
                         format_func=lambda size: f"{size:,}", key=state.SWEEP_TRAIN_SIZE, **keep)
        st.number_input("Seed", 0, 1_000_000, step=1, key=state.SWEEP_SEED, **keep)
