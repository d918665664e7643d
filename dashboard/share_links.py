"""Links that open a setup: the Train controls and the preprocessing config as URL parameters,
the model of the Predict and Inside pages, and the Inside page's image.

TensorFlow Playground's habit: the URL holds the setup, so a teacher shares one link and
every student opens the same network. A Train link reads like the settings it holds::

    ?net=mlp&layers=256-128-64&act=relu&init=he&dropout=0&opt=adam&lr=0.001&batch=128
    &epochs=5&l2=0&schedule=constant&seed=0&n=42000&val=0.2&split_seed=0&scale=unit

Pure functions that never call Streamlit (the field table's module imports it, nothing here
uses it): :func:`train_query` and :func:`preprocess_query` write
the parameters, :func:`decode_train` and :func:`decode_preprocess` read them back and
return, beside the values, one plain-language problem per key they had to ignore (a value
that is not a choice of its widget, a number out of range, a key nobody knows). The
Train keys come from the field table of :mod:`dashboard.train_controls`, so a control
added there needs one row in ``TRAIN_KEYS`` here. dashboard.share_setup is the Streamlit side.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nnlib.augment import AugmentConfig
from nnlib.preprocessing import SCALINGS, PreprocessConfig

from . import train_controls as controls

# Layer sizes are written 256-128-64, as the page writes architectures ([784-256-128-64-10]):
# a browser's address bar shows a comma as %2C. Commas are read too (256,128,64).
LIST_SEPARATOR = "-"
NO_LAYERS = "none"          # layers=none: softmax regression straight from the pixels
FULL_BATCH_WORD = "full"    # batch=full: every step uses all training images
ALL_IMAGES = "all"          # n=all: every training image

# Link key -> the Train control it sets (the layer stacks are the two list keys below).
# Three keys are written only when they matter: ``conv`` for a CNN, ``momentum`` for the
# momentum optimiser, ``bn=on`` for batch normalisation; a link without the first two leaves
# those controls as they were, a link with a valid network (``net``) but no ``bn`` turns it off.
TRAIN_KEYS: dict[str, controls.Control] = {
    "net": controls.NETWORK,
    "act": controls.ACTIVATION,
    "init": controls.INIT,
    "dropout": controls.DROPOUT,
    "bn": controls.BATCH_NORM,
    "opt": controls.OPTIMIZER,
    "lr": controls.LEARNING_RATE,
    "momentum": controls.MOMENTUM,
    "batch": controls.BATCH_SIZE,
    "epochs": controls.EPOCHS,
    "l2": controls.L2,
    "schedule": controls.SCHEDULE,
    "seed": controls.SEED,
}
STACK_KEYS: dict[str, controls.LayerStack] = {"layers": controls.DENSE_LAYERS, "conv": controls.CONV_LAYERS}
PREPROCESS_KEYS = ("n", "val", "split_seed", "scale", "shift", "rot", "zoom", "noise")
# Link key -> (AugmentConfig field, the Preprocess page slider's min, max, step); a page test
# checks these against the sliders.
AUGMENT_KEYS: dict[str, tuple[str, float, float, float]] = {
    "shift": ("max_shift_px", 0.0, 5.0, 0.5),
    "rot": ("max_rotation_deg", 0.0, 45.0, 1.0),
    "zoom": ("max_scale", 0.0, 0.4, 0.02),
    "noise": ("noise_std", 0.0, 0.4, 0.02),
}
# The Preprocess page's bounds: at least this many training images, a validation share
# from 0.05 to 0.5 in steps of 0.05 (its "share for training" slider), seeds below 2**31.
MIN_TRAIN_IMAGES = 10
VALIDATION_SHARE = (0.05, 0.5, 0.05)
MAX_SEED = 2**31 - 1
ALL_TRAIN_KEYS = (*TRAIN_KEYS, *STACK_KEYS)

# Predict: ?model=default | cnn | run:<id>
MODEL_KEY = "model"
BUNDLED_MODELS = ("default", "cnn")
RUN_PREFIX = "run:"


class LinkValueError(ValueError):
    """A link's value its control cannot show; the message names the key and what was expected."""


def _number_text(value: float) -> str:
    return f"{value:g}"


def _single(raw: Any) -> str:
    """One parameter's text (a repeated key keeps its last value, as browsers' forms do)."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    return str(raw).strip()


# ---------------------------------------------------------------------- writing
def _control_text(control: controls.Control, value: Any) -> str:
    if isinstance(value, bool):
        return control.format(value)
    if value == controls.FULL_BATCH:
        return FULL_BATCH_WORD
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _sizes_text(sizes: tuple[int, ...]) -> str:
    return LIST_SEPARATOR.join(str(size) for size in sizes) if sizes else NO_LAYERS


def train_query(values: Mapping[str, Any]) -> dict[str, str]:
    """The link parameters of the Train controls' ``values`` (session state or a plain dict):
    the network first, then the other controls in the field table's order."""
    query = {"net": str(values[controls.NETWORK.key])}
    if values[controls.NETWORK.key] == controls.CNN:
        query["conv"] = _sizes_text(controls.CONV_LAYERS.sizes(values))
    query["layers"] = _sizes_text(controls.DENSE_LAYERS.sizes(values))
    for link_key, control in TRAIN_KEYS.items():
        if link_key == "net" or (control is controls.MOMENTUM and values[controls.OPTIMIZER.key] != "momentum"):
            continue
        if control is controls.BATCH_NORM and not values[control.key]:
            continue
        query[link_key] = _control_text(control, values[control.key])
    return query


def preprocess_query(config: PreprocessConfig) -> dict[str, str]:
    """The link parameters of a preprocessing config (the augment keys only when it augments)."""
    query = {
        "n": ALL_IMAGES if config.train_size is None else str(config.train_size),
        "val": _number_text(config.val_fraction),
        "split_seed": str(config.seed),
        "scale": config.scaling,
    }
    if config.augment is not None:
        for link_key, (field, *_) in AUGMENT_KEYS.items():
            query[link_key] = _number_text(getattr(config.augment, field))
    return query


# ---------------------------------------------------------------------- reading
def _parse_number(link_key: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise LinkValueError(f"{link_key}={text!r}: expected a number") from None
    if not math.isfinite(number):
        raise LinkValueError(f"{link_key}={text!r}: expected a finite number")
    return number


def _parse_int(link_key: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise LinkValueError(f"{link_key}={text!r}: expected a whole number") from None


def _choice(link_key: str, control: controls.Control, text: str) -> Any:
    """The option of ``control`` that ``text`` names (numbers compared as numbers)."""
    if control is controls.BATCH_SIZE and text == FULL_BATCH_WORD:
        return controls.FULL_BATCH
    for option in control.options:
        if isinstance(option, bool):
            if text == control.format(option):
                return option
            continue
        if isinstance(option, str):
            if text == option:
                return option
            continue
        try:
            if math.isclose(float(text), float(option), rel_tol=1e-9, abs_tol=1e-12):
                return option
        except ValueError:
            break
    shown = [FULL_BATCH_WORD if option == controls.FULL_BATCH else _control_text(control, option)
             for option in control.options]
    raise LinkValueError(f"{link_key}={text!r}: expected one of {', '.join(shown)}")


def _in_range(link_key: str, control: controls.Control, text: str) -> Any:
    """A slider's or number input's value: within its bounds and on its step."""
    return _on_grid(link_key, text, *control.bounds)


def _on_grid(link_key: str, text: str, low: float, high: float, step: float) -> float | int:
    """The number ``text`` if it is from ``low`` to ``high`` on steps of ``step`` (whole
    numbers when the bounds are)."""
    is_int = all(isinstance(bound, int) for bound in (low, high, step))
    number = _parse_int(link_key, text) if is_int else _parse_number(link_key, text)
    if not low <= number <= high:
        raise LinkValueError(f"{link_key}={text!r}: expected a value from {low:g} to {high:g}")
    steps = (number - low) / step
    if not math.isclose(steps, round(steps), abs_tol=1e-6):
        raise LinkValueError(f"{link_key}={text!r}: expected a multiple of {step:g} from {low:g}")
    return number if is_int else round(low + round(steps) * step, 10)


def control_value(link_key: str, text: str) -> Any:
    """The widget value that ``text`` in ``link_key`` stands for; LinkValueError if none."""
    control = TRAIN_KEYS[link_key]
    return _choice(link_key, control, text) if control.options else _in_range(link_key, control, text)


def stack_values(link_key: str, text: str) -> dict[str, Any]:
    """The widget values of a layer list (``256-128-64`` or ``256,128,64``; ``none`` for no hidden layer)."""
    stack = STACK_KEYS[link_key]
    low, high = stack.count.bounds[:2]
    items = [] if text == NO_LAYERS else [item.strip() for item in text.replace(",", "-").split("-")]
    if not low <= len(items) <= high:
        raise LinkValueError(f"{link_key}={text!r}: expected {low} to {high} sizes separated by - or ,"
                             + (f" ({NO_LAYERS!r} for none)" if low == 0 else ""))
    sizes = []
    for item in items:
        try:
            size = int(item)
        except ValueError:
            size = None
        if size not in stack.options:
            raise LinkValueError(f"{link_key}={text!r}: each size must be one of "
                                 f"{', '.join(str(option) for option in stack.options)}")
        sizes.append(size)
    return stack.values_for(tuple(sizes))


def decode_train(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The Train widget values a link sets, and what it had to ignore (other keys are not read).

    Each key is read on its own: one bad value leaves the others applied.
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for link_key in ALL_TRAIN_KEYS:
        if link_key not in params:
            continue
        text = _single(params[link_key])
        try:
            if link_key in STACK_KEYS:
                values.update(stack_values(link_key, text))
            else:
                values[TRAIN_KEYS[link_key].key] = control_value(link_key, text)
        except LinkValueError as problem:
            problems.append(str(problem))
    if controls.NETWORK.key in values and "bn" not in params:   # a network read from the link, without batch norm
        values[controls.BATCH_NORM.key] = False
    return values, problems


def _preprocess_fields(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    fields: dict[str, Any] = {}
    problems: list[str] = []
    readers = {
        "n": lambda text: None if text == ALL_IMAGES else _at_least("n", _parse_int("n", text), MIN_TRAIN_IMAGES),
        "val": lambda text: _on_grid("val", text, *VALIDATION_SHARE),
        "split_seed": lambda text: _on_grid("split_seed", text, 0, MAX_SEED, 1),
        "scale": lambda text: _one_of("scale", text, SCALINGS),
    }
    names = {"n": "train_size", "val": "val_fraction", "split_seed": "seed", "scale": "scaling"}
    for link_key, read in readers.items():
        if link_key in params:
            try:
                fields[names[link_key]] = read(_single(params[link_key]))
            except LinkValueError as problem:
                problems.append(str(problem))
    return fields, problems


def _at_least(link_key: str, number: int, low: int) -> int:
    if number < low:
        raise LinkValueError(f"{link_key}={number}: expected at least {low}")
    return number


def _one_of(link_key: str, text: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if text not in choices:
        raise LinkValueError(f"{link_key}={text!r}: expected one of {', '.join(choices)}")
    return text


def _augment(params: Mapping[str, Any], base: AugmentConfig | None) -> tuple[AugmentConfig | None, list[str]]:
    """The augmentation a link sets: any augment key turns it on; unnamed strengths stay as they were."""
    if not any(link_key in params for link_key in AUGMENT_KEYS):
        return base, []
    strengths = (base or AugmentConfig()).to_dict()
    problems: list[str] = []
    for link_key, (field, *bounds) in AUGMENT_KEYS.items():
        if link_key in params:
            try:
                strengths[field] = float(_on_grid(link_key, _single(params[link_key]), *bounds))
            except LinkValueError as problem:
                problems.append(str(problem))
    augment = AugmentConfig(**strengths)
    return (None if augment.is_identity else augment), problems


def decode_preprocess(params: Mapping[str, Any], base: PreprocessConfig) -> tuple[PreprocessConfig | None, list[str]]:
    """The preprocessing config a link sets on top of ``base`` (None when the link names none
    of its keys), and what it had to ignore."""
    if not any(link_key in params for link_key in PREPROCESS_KEYS):
        return None, []
    fields, problems = _preprocess_fields(params)
    augment, augment_problems = _augment(params, base.augment)
    merged = {**base.to_dict(), **fields, "augment": None}
    config = PreprocessConfig(**{**merged, "augment": augment})
    return config, problems + augment_problems


def unknown_keys(params: Iterable[str], known: Iterable[str]) -> list[str]:
    """The keys of a link that the page does not read, as notes."""
    known = set(known)
    return [f"{key}: not a setting of this page" for key in params if key not in known]


# ---------------------------------------------------------------------- Predict
@dataclass(frozen=True)
class ModelLink:
    """Which model a Predict link names: ``"default"``, ``"cnn"`` or ``"run"`` with its id."""

    kind: str
    run_id: str | None = None

    def text(self) -> str:
        """The parameter's value: ``default``, ``cnn`` or ``run:<id>``."""
        return f"{RUN_PREFIX}{self.run_id}" if self.kind == "run" else self.kind


DEFAULT_MODEL_LINK = ModelLink("default")


def decode_model(text: Any) -> ModelLink:
    """The model a ``?model=`` value names; LinkValueError for anything else."""
    value = _single(text)
    if value in BUNDLED_MODELS:
        return ModelLink(value)
    if value.startswith(RUN_PREFIX) and value[len(RUN_PREFIX):].strip():
        return ModelLink("run", value[len(RUN_PREFIX):].strip())
    raise LinkValueError(f"{MODEL_KEY}={value!r}: expected default, cnn or run:<run id>")


# ---------------------------------------------------------------------- Inside
IMAGE_KEY = "image"   # Inside: ?model=...&image=<index in the page's image set (the test set)>


def image_query(index: int) -> dict[str, str]:
    """The link parameter of the image at ``index`` in the Inside page's image set."""
    return {IMAGE_KEY: str(int(index))}


def decode_image(text: Any, count: int) -> int:
    """The image index an ``?image=`` value names, from 0 to ``count - 1``; LinkValueError otherwise."""
    value = _single(text)
    expected = f"expected a whole number from 0 to {count - 1}" if count > 0 else "there are no images"
    try:
        index = int(value)
    except ValueError:
        raise LinkValueError(f"{IMAGE_KEY}={value!r}: {expected}") from None
    if not 0 <= index < count:
        raise LinkValueError(f"{IMAGE_KEY}={value!r}: {expected}")
    return index
