"""Can the network's confidence be trusted? Reliability diagrams, ECE, temperature scaling.

A classifier is *calibrated* when, among the images it answers with 80% confidence, 80%
are right. The reliability diagram bins the answers by confidence (the top probability)
and compares each bin's mean confidence with its accuracy; the expected calibration
error (Naeini et al., 2015; Guo et al., 2017) is their gap, weighted by the bin's share:

    ECE = sum_b (n_b / n) * |accuracy_b - confidence_b|

Networks trained to a near-zero training loss are usually *over*-confident. Temperature
scaling (Guo et al., 2017) divides the logits by one number ``T > 1`` before the softmax,
fitted to minimise the negative log-likelihood on held-out (validation) data: the answers
do not change (the argmax is the same), only how sure they sound. The fitted temperature
is kept in the model's metadata under ``calibration`` and :func:`calibrated_proba` uses it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .losses import softmax
from .model import Sequential

N_BINS = 15
METADATA_KEY = "calibration"
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
SEARCH_ITERATIONS = 80   # golden-section steps on log(T): the bracket shrinks by 0.618 each


@dataclass(frozen=True)
class ReliabilityBins:
    """Answers grouped by confidence into ``N_BINS`` equal-width bins over (0, 1].

    Arrays of shape ``(n_bins,)``: ``counts`` (answers in the bin), ``confidence`` (their
    mean top probability) and ``accuracy`` (their share right); NaN for an empty bin.
    ``edges`` has ``n_bins + 1`` entries.
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    @property
    def ece(self) -> float:
        """The expected calibration error of these bins."""
        total = int(self.counts.sum())
        if total == 0:
            return float("nan")
        filled = self.counts > 0
        gaps = np.abs(self.accuracy[filled] - self.confidence[filled])
        return float(np.sum(self.counts[filled] / total * gaps))

    def to_dict(self) -> dict[str, Any]:
        return {"edges": self.edges.tolist(), "counts": self.counts.tolist(),
                "confidence": [None if math.isnan(v) else float(v) for v in self.confidence],
                "accuracy": [None if math.isnan(v) else float(v) for v in self.accuracy]}


def _checked(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probabilities.ndim != 2:
        raise ValueError(f"expected probabilities of shape (n, classes), got shape {probabilities.shape}")
    if labels.shape != (len(probabilities),):
        raise ValueError(f"expected {len(probabilities)} labels, got shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= probabilities.shape[1]):
        raise ValueError(f"labels must be in 0..{probabilities.shape[1] - 1}")
    return probabilities, labels


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> ReliabilityBins:
    """Bin ``probabilities`` ``(n, k)`` by their top value and measure each bin's accuracy
    against ``labels`` ``(n,)``. A confidence of exactly ``b / n_bins`` falls in bin ``b - 1``."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    probabilities, labels = _checked(probabilities, labels)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, weights=confidence, minlength=n_bins) / counts
        accuracy = np.bincount(which, weights=correct.astype(np.float64), minlength=n_bins) / counts
    return ReliabilityBins(edges, counts, mean_confidence, accuracy)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE of ``probabilities`` ``(n, k)`` against ``labels`` ``(n,)`` (0 = perfectly calibrated)."""
    return reliability_bins(probabilities, labels, n_bins).ece


def model_logits(model: Sequential, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """The model's logits ``(n, k)`` for inputs ``x`` ``(n, features)``, a batch at a time."""
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[None, :]
    if len(x) == 0:
        return np.empty((0, model.n_classes or 0), dtype=np.float64)
    return np.concatenate([model.forward(x[start:start + batch_size]) for start in range(0, len(x), batch_size)])


def scaled_softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / T)``: T > 1 softens the answers, T < 1 sharpens them."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return softmax(np.asarray(logits, dtype=np.float64) / temperature)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean cross-entropy of ``softmax(logits / T)`` against ``labels``."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    top = scaled.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(scaled - top).sum(axis=1)) + top[:, 0]
    return float(np.mean(log_sum - scaled[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 20] that minimises the NLL of ``softmax(logits / T)``.

    The NLL is convex in 1/T, so it has one minimum along log(T): a golden-section search
    finds it to about 1e-9 in log(T).
    """
    logits = np.asarray(logits, dtype=np.float64)
    _checked(logits, labels)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        raise ValueError("fitting a temperature needs at least one labelled example")
    low, high = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = negative_log_likelihood(logits, labels, math.exp(a)), negative_log_likelihood(logits, labels, math.exp(b))
    for _ in range(SEARCH_ITERATIONS):
        if fa <= fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = negative_log_likelihood(logits, labels, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = negative_log_likelihood(logits, labels, math.exp(b))
    return float(math.exp((low + high) / 2))


def model_temperature(model: Sequential) -> float:
    """The temperature kept in ``model.metadata`` by :func:`store_temperature` (1.0 if none)."""
    calibration = (model.metadata or {}).get(METADATA_KEY)
    temperature = calibration.get("temperature") if isinstance(calibration, dict) else None
    return float(temperature) if isinstance(temperature, (int, float)) and temperature > 0 else 1.0


def calibrated_proba(model: Sequential, x: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, k)`` float32 with the model's fitted temperature applied
    (plain ``predict_proba`` when it has none)."""
    temperature = model_temperature(model)
    if temperature == 1.0:
        return model.predict_proba(x)
    return scaled_softmax(model_logits(model, x), temperature).astype(np.float32)


@dataclass(frozen=True)
class CalibrationReport:
    """Temperature scaling of one model: the fitted ``temperature`` (on validation data) and
    the test set's reliability bins before and after it."""

    temperature: float
    before: ReliabilityBins
    after: ReliabilityBins
    n_fit: int
    n_test: int

    @property
    def ece_before(self) -> float:
        return self.before.ece

    @property
    def ece_after(self) -> float:
        return self.after.ece

    def summary(self) -> dict[str, Any]:
        """What is kept in the model's metadata (JSON-able)."""
        return {"temperature": self.temperature, "ece_before": self.ece_before, "ece_after": self.ece_after,
                "n_fit": self.n_fit, "n_test": self.n_test, "n_bins": len(self.before.counts)}


def calibrate(model: Sequential, x_fit: np.ndarray, y_fit: np.ndarray, x_test: np.ndarray,
              y_test: np.ndarray, n_bins: int = N_BINS) -> CalibrationReport:
    """Fit a temperature on ``(x_fit, y_fit)`` (a validation split the model was not trained
    on) and measure the reliability of ``(x_test, y_test)`` before and after it.

    Ignores a temperature the model already has (it measures the raw network)."""
    fit_logits = model_logits(model, x_fit)
    temperature = fit_temperature(fit_logits, y_fit)
    test_logits = model_logits(model, x_test)
    return CalibrationReport(temperature, reliability_bins(scaled_softmax(test_logits, 1.0), y_test, n_bins),
                             reliability_bins(scaled_softmax(test_logits, temperature), y_test, n_bins),
                             len(y_fit), len(y_test))


def store_temperature(model: Sequential, report: CalibrationReport) -> None:
    """Keep the fitted temperature (and the ECEs it was judged by) in ``model.metadata``."""
    model.metadata[METADATA_KEY] = report.summary()
