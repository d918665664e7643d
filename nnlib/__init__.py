"""nnlib: a small NumPy neural-network library for learning how networks learn digits.

No deep-learning framework: layers, losses, optimisers and the training loop are
written out in NumPy, vectorised over the batch, float32 by default, and seeded by
a ``numpy.random.Generator`` so that the same seed gives the same weights.
Samples are rows: a batch of images is ``(n, 784)``.

    >>> from nnlib import load_mnist, prepare, PreprocessConfig, TrainConfig, train
    >>> data = prepare(load_mnist(), PreprocessConfig(train_size=42_000))
    >>> model, result = train(data, TrainConfig(hidden_sizes=(256, 128, 64), epochs=5))
"""
from pathlib import Path

from .builders import build_cnn, build_mlp, build_network, describe_network
from .conv import Conv2D, Flatten, MaxPool2D, Reshape
from .data import Dataset, available_datasets, load_dataset, load_mnist
from .errors import DatasetError, ImageFileError
from .layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .losses import MeanSquaredError, SoftmaxCrossEntropy
from .metrics import accuracy, confusion_matrix, per_class_accuracy, precision_recall
from .model import ModelFileError, Sequential
from .normalization import BatchNorm
from .optimizers import SGD, Adam, Momentum, make_optimizer
from .preprocessing import PreparedData, PreprocessConfig, Scaler, prepare
from .schedules import Constant, Cosine, StepDecay, make_schedule
from .train_config import TrainConfig
from .training import EndEvent, EpochEvent, StepEvent, TrainingControl, TrainResult, fit, train
from .version import __version__

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "models" / "default.npz"

__all__ = [
    "Conv2D", "Flatten", "MaxPool2D", "Reshape", "build_cnn",
    "Dataset", "DatasetError", "ImageFileError", "available_datasets", "load_dataset", "load_mnist",
    "BatchNorm", "Dense", "Dropout", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh",
    "MeanSquaredError", "SoftmaxCrossEntropy",
    "accuracy", "confusion_matrix", "per_class_accuracy", "precision_recall",
    "ModelFileError", "Sequential", "build_mlp",
    "SGD", "Adam", "Momentum", "make_optimizer",
    "PreparedData", "PreprocessConfig", "Scaler", "prepare",
    "Constant", "Cosine", "StepDecay", "make_schedule",
    "EndEvent", "EpochEvent", "StepEvent", "TrainConfig", "TrainingControl", "TrainResult",
    "build_network", "describe_network", "fit", "train", "__version__", "DEFAULT_MODEL_PATH",
]
