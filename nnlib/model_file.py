"""Reading a model file safely: the one place where an nnlib ``.npz`` is checked before use.

A model file is a ``.npz`` of ``.npy`` arrays: ``__nnlib_header__`` (JSON as uint8) and one
array per parameter (``layer0.W``, ``layer0.b``, ...). Everything in it is checked against a
schema *before* anything is built from it, so a hostile or damaged file gets a
:class:`~nnlib.errors.ModelFileError` naming the problem instead of a traceback or a huge
allocation:

* the archive: a zip of ``.npy`` members only, each member's shape and dtype read from its
  ``.npy`` header first (:class:`~nnlib.bounded_io.CheckedNpz`);
* the header: at most :data:`~nnlib.limits.MAX_MODEL_HEADER_BYTES`, JSON, a dict with the
  right ``format``, an integer ``format_version``, a ``dtype`` from :data:`MODEL_DTYPES`,
  ``layers`` of known kinds whose sizes are positive integers, and ``metadata`` a dict
  (its ``preprocessing`` a dict, its ``class_names`` a list of strings);
* the declared parameters, counted from the layer sizes before a layer is built: at most
  :data:`~nnlib.limits.MAX_MODEL_PARAMETERS` (a 100,000 x 100,000 Dense is refused here);
  the layers' shapes walked for one image: they must fit together, and hold at most
  :data:`~nnlib.limits.MAX_SAMPLE_ACTIVATIONS` numbers at once;
* each weight array: floats of exactly the shape the architecture needs, all finite;
* each buffer (a BatchNorm layer's ``running_mean`` and ``running_var``): the same, and a
  variance never negative.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from . import conv, normalization  # noqa: F401  (register the image and BatchNorm layers' kinds)
from .bounded_io import CheckedNpz, read_bounded
from .errors import ModelFileError
from .initializers import INITIALIZERS
from .layers import LAYER_KINDS
from .limits import (
    MAX_ARRAY_BYTES,
    MAX_LAYER_SIZE,
    MAX_MODEL_HEADER_BYTES,
    MAX_MODEL_LAYERS,
    MAX_MODEL_PARAMETERS,
    MAX_SAMPLE_ACTIVATIONS,
)
from .preprocessing import SCALINGS

FILE_FORMAT = "nnlib.Sequential"
FILE_FORMAT_VERSION = 1
HEADER_KEY = "__nnlib_header__"
MODEL_DTYPES = ("float32", "float64")
# A model file is read whole into memory (an upload is in memory anyway): parameters
# and header at most, with room for the zip's own bookkeeping.
MAX_MODEL_FILE_BYTES = MAX_MODEL_PARAMETERS * 8 + MAX_MODEL_HEADER_BYTES + (1 << 20)


@dataclass(frozen=True)
class ModelHeader:
    """What a model file's header declares, checked: parameter dtype, layer configs, metadata."""

    dtype: np.dtype
    layers: list[dict[str, Any]]
    metadata: dict[str, Any]


# ---------------------------------------------------------------------- field checks
def _shown(value: Any) -> str:
    """A value from the file for a message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LAYER_SIZE


def _padding(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_LAYER_SIZE


def _init(value: Any) -> bool:
    return isinstance(value, str) and value in INITIALIZERS


def _rate(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1


def _momentum(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _shape(value: Any) -> bool:
    return (isinstance(value, list) and 1 <= len(value) <= 4 and all(_size(size) for size in value)
            and math.prod(value) <= MAX_LAYER_SIZE)


FieldCheck = Callable[[Any], bool]
# Per layer kind: its config fields and what each must be (missing optional fields take the
# layer's default). Kinds not listed have no fields.
LAYER_FIELDS: dict[str, dict[str, tuple[FieldCheck, str, bool]]] = {
    "Dense": {"in_features": (_size, "a positive integer", True),
              "out_features": (_size, "a positive integer", True),
              "init": (_init, f"one of {sorted(INITIALIZERS)}", False)},
    "Conv2D": {"in_channels": (_size, "a positive integer", True),
               "out_channels": (_size, "a positive integer", True),
               "kernel_size": (_size, "a positive integer", True),
               "padding": (_padding, "an integer >= 0", False),  # checked against the input by _sample_numbers
               "init": (_init, f"one of {sorted(INITIALIZERS)}", False)},
    "MaxPool2D": {"pool": (_size, "a positive integer", False)},
    "LeakyReLU": {"alpha": (_finite_number, "a finite number", False)},
    "Dropout": {"rate": (_rate, "a number in [0, 1)", False)},
    "Reshape": {"shape": (_shape, "a list of 1 to 4 positive integers", True)},
    "BatchNorm": {"features": (_size, "a positive integer", True),
                  "momentum": (_momentum, "a number in (0, 1]", False),
                  "eps": (_positive_number, "a finite number > 0", False)},
}


def declared_parameters(config: dict[str, Any]) -> int:
    """How many numbers a layer config's parameters (and buffers) hold, from its sizes (nothing allocated)."""
    kind = config["kind"]
    if kind == "BatchNorm":
        return 4 * config["features"]   # gamma, beta, running mean, running variance
    if kind == "Dense":
        return config["in_features"] * config["out_features"] + config["out_features"]
    if kind == "Conv2D":
        kernel = config["kernel_size"]
        return kernel * kernel * config["in_channels"] * config["out_channels"] + config["out_channels"]
    return 0


def _sample_numbers(layers: list[dict[str, Any]], label: str) -> int:
    """The most numbers one sample's forward pass holds at once (an activation, or a
    convolution's patch matrix), walking the layers' shapes; refuses layers that do not fit
    together. Nothing is allocated."""
    shape: tuple[int, ...] | None = None
    largest = 0
    for index, config in enumerate(layers):
        kind = config["kind"]
        width = None if shape is None else math.prod(shape)
        if kind == "Dense":
            if width is not None and width != config["in_features"]:
                raise ModelFileError(f"{label}: layer {index} (Dense) takes {config['in_features']} inputs but "
                                     f"gets {width}; the layers do not fit together")
            shape = (config["out_features"],)
        elif kind == "Reshape":
            if width is not None and width != math.prod(config["shape"]):
                raise ModelFileError(f"{label}: layer {index} (Reshape) cannot reshape {width} numbers to "
                                     f"{config['shape']}")
            shape = tuple(config["shape"])
        elif kind in ("Conv2D", "MaxPool2D"):
            if shape is None or len(shape) != 3:
                raise ModelFileError(f"{label}: layer {index} ({kind}) needs images (height, width, channels), "
                                     f"gets {shape}")
            height, side_w, channels = shape
            if kind == "MaxPool2D":
                pool = config.get("pool", 2)
                shape = (height // pool, side_w // pool, channels)
            else:
                kernel, padding = config["kernel_size"], config.get("padding", 0)
                if channels != config["in_channels"]:
                    raise ModelFileError(f"{label}: layer {index} (Conv2D) takes {config['in_channels']} channels "
                                         f"but gets {channels}")
                out_h, out_w = height + 2 * padding - kernel + 1, side_w + 2 * padding - kernel + 1
                if out_h < 1 or out_w < 1:
                    raise ModelFileError(f"{label}: layer {index} (Conv2D) has a {kernel}x{kernel} kernel, larger "
                                         f"than its {height}x{side_w} input")
                largest = max(largest, out_h * out_w * kernel * kernel * channels,
                              (height + 2 * padding) * (side_w + 2 * padding) * channels)
                shape = (out_h, out_w, config["out_channels"])
            if min(shape[:2]) < 1:
                raise ModelFileError(f"{label}: layer {index} ({kind}) leaves no pixels ({shape})")
        elif kind == "BatchNorm" and shape is not None:
            if shape[-1] != config["features"]:
                raise ModelFileError(f"{label}: layer {index} (BatchNorm) normalises {config['features']} features "
                                     f"but gets {shape[-1]}; the layers do not fit together")
        elif kind == "Flatten" and shape is not None:
            shape = (math.prod(shape),)
        largest = max(largest, 0 if shape is None else math.prod(shape))
    return largest


def _check_layer(index: int, config: Any, label: str) -> None:
    if not isinstance(config, dict):
        raise ModelFileError(f"{label}: layer {index} in the header is {type(config).__name__}, expected a dict")
    kind = config.get("kind")
    if not isinstance(kind, str) or kind not in LAYER_KINDS:
        raise ModelFileError(f"{label}: layer {index} has unknown kind {_shown(kind)}; "
                             f"expected one of {sorted(LAYER_KINDS)}")
    for name, (check, expected, required) in LAYER_FIELDS.get(kind, {}).items():
        if name not in config:
            if required:
                raise ModelFileError(f"{label}: layer {index} ({kind}) has no {name!r}")
            continue
        if not check(config[name]):
            shown = _shown(config[name])
            raise ModelFileError(f"{label}: layer {index} ({kind}) has {name} = {shown}; expected {expected}"
                                 + (f" (at most {MAX_LAYER_SIZE:,})" if "integer" in expected else ""))


def _check_metadata(metadata: Any, label: str) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{label}: the header's metadata is {type(metadata).__name__}, expected a dict")
    preprocessing = metadata.get("preprocessing")
    if preprocessing is not None:
        if not isinstance(preprocessing, dict):
            raise ModelFileError(f"{label}: the preprocessing metadata is {type(preprocessing).__name__}, "
                                 "expected a dict")
        for part in ("config", "scaler"):
            if part in preprocessing and not isinstance(preprocessing[part], dict):
                raise ModelFileError(f"{label}: the preprocessing {part} is "
                                     f"{type(preprocessing[part]).__name__}, expected a dict")
        scaler = preprocessing.get("scaler") or {}
        if scaler.get("method", "unit") not in SCALINGS:
            raise ModelFileError(f"{label}: unknown scaling {_shown(scaler.get('method'))}; "
                                 f"expected one of {SCALINGS}")
        for statistic in ("mean", "std"):
            if statistic in scaler and not _finite_number(scaler[statistic]):
                raise ModelFileError(f"{label}: the scaler's {statistic} is {_shown(scaler[statistic])}, "
                                     "expected a finite number")
        if "std" in scaler and scaler["std"] <= 0:
            raise ModelFileError(f"{label}: the scaler's std is {scaler['std']}, expected a positive number")
    class_names = metadata.get("class_names")
    if class_names is not None and not (isinstance(class_names, list)
                                        and all(isinstance(name, str) for name in class_names)):
        raise ModelFileError(f"{label}: the class names in the metadata must be a list of strings")
    for part in ("metrics", "train_config"):
        if metadata.get(part) is not None and not isinstance(metadata[part], dict):
            raise ModelFileError(f"{label}: the metadata's {part} is {type(metadata[part]).__name__}, "
                                 "expected a dict")
    return metadata


def check_header(header: Any, label: str, reader_version: str) -> ModelHeader:
    """The header's fields checked against the schema of the module docstring."""
    if not isinstance(header, dict):
        raise ModelFileError(f"{label}: the model header is {type(header).__name__}, expected a JSON object")
    if header.get("format") != FILE_FORMAT:
        raise ModelFileError(f"{label}: unknown model format {_shown(header.get('format'))}")
    version = header.get("format_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{label}: format_version is {_shown(version)}, expected a positive integer")
    if version > FILE_FORMAT_VERSION:
        raise ModelFileError(f"{label} was written by a newer nnlib (format version {version}); "
                             f"this is nnlib {reader_version}")
    dtype_name = header.get("dtype", "float32")
    if dtype_name not in MODEL_DTYPES:
        raise ModelFileError(f"{label}: the header's dtype is {_shown(dtype_name)}; expected one of {MODEL_DTYPES}")
    layers = header.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ModelFileError(f"{label}: the header's layers must be a non-empty list")
    if len(layers) > MAX_MODEL_LAYERS:
        raise ModelFileError(f"{label}: {len(layers)} layers, more than the limit of {MAX_MODEL_LAYERS}")
    for index, config in enumerate(layers):
        _check_layer(index, config, label)
    parameters = sum(declared_parameters(config) for config in layers)
    if parameters > MAX_MODEL_PARAMETERS:
        raise ModelFileError(f"{label}: the layers declare {parameters:,} parameters, more than the limit of "
                             f"{MAX_MODEL_PARAMETERS:,}")
    per_sample = _sample_numbers(layers, label)
    if per_sample > MAX_SAMPLE_ACTIVATIONS:
        raise ModelFileError(f"{label}: one image's pass through the layers would hold {per_sample:,} numbers, "
                             f"more than the limit of {MAX_SAMPLE_ACTIVATIONS:,}")
    return ModelHeader(np.dtype(dtype_name), layers, _check_metadata(header.get("metadata"), label))


# ---------------------------------------------------------------------- the archive
def open_model_archive(source: str | os.PathLike | bytes | BinaryIO, label: str) -> CheckedNpz:
    """The file as a :class:`CheckedNpz` (members' headers checked), within the size limits."""
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise ModelFileError(f"model file not found: {label}")
    raw = read_bounded(source, label, MAX_MODEL_FILE_BYTES, ModelFileError)
    start = raw[:8]
    if not start.startswith((b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")):
        raise ModelFileError(f"{label} is not an nnlib model: it is not a .npz archive "
                             f"(no zip signature; it starts with {start!r})")
    return CheckedNpz(raw, label, ModelFileError, max_array_bytes=MAX_ARRAY_BYTES)


def read_header(archive: CheckedNpz, label: str, reader_version: str) -> ModelHeader:
    """The checked header of an opened model archive."""
    if HEADER_KEY not in archive.headers:
        raise ModelFileError(f"{label} is a .npz file but not an nnlib model: it has no "
                             f"'{HEADER_KEY}' entry (arrays found: {', '.join(archive.files[:5])})")
    declared = archive.headers[HEADER_KEY]
    if declared.dtype != np.uint8 or len(declared.shape) != 1:
        raise ModelFileError(f"{label}: the model header is damaged (expected bytes, found {declared.dtype} "
                             f"of shape {declared.shape})")
    if declared.n_bytes > MAX_MODEL_HEADER_BYTES:
        raise ModelFileError(f"{label}: the model header is {declared.n_bytes:,} bytes, more than the limit of "
                             f"{MAX_MODEL_HEADER_BYTES:,}")
    try:
        header = json.loads(archive.read(HEADER_KEY).tobytes().decode("utf-8"))
    except ModelFileError:
        raise
    except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON, absurd nesting
        raise ModelFileError(f"{label}: the model header is damaged ({str(error)[:200]})") from None
    return check_header(header, label, reader_version)


def read_parameter(archive: CheckedNpz, label: str, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """The array ``key``: floats of exactly ``shape`` (checked from its header first), all finite."""
    if key not in archive.headers:
        raise ModelFileError(f"{label} is incomplete: array {key!r} is missing")
    declared = archive.headers[key]
    if declared.shape != shape:
        raise ModelFileError(f"{label}: array {key!r} has shape {declared.shape}, the architecture needs {shape}")
    if declared.dtype.kind != "f":
        raise ModelFileError(f"{label}: array {key!r} holds {declared.dtype}, expected floating-point weights")
    stored = archive.read(key)
    if not np.all(np.isfinite(stored)):
        raise ModelFileError(f"{label}: array {key!r} contains NaN or infinite values")
    return stored


def read_buffer(archive: CheckedNpz, label: str, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """A layer's buffer (a running average), checked as a parameter; a variance must also be >= 0."""
    stored = read_parameter(archive, label, key, shape)
    if key.endswith("_var") and stored.size and float(stored.min()) < 0:
        raise ModelFileError(f"{label}: array {key!r} is a variance but holds a negative value ({stored.min():g})")
    return stored


__all__ = ["FILE_FORMAT", "FILE_FORMAT_VERSION", "HEADER_KEY", "MODEL_DTYPES", "ModelFileError", "ModelHeader",
           "check_header", "declared_parameters", "open_model_archive", "read_buffer", "read_header",
           "read_parameter"]
