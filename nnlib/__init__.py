"""nnlib: a small NumPy neural-network library for learning how networks learn digits.

No deep-learning framework: layers, losses, optimisers and the training loop are
written out in NumPy, vectorised over the batch, float32 by default, and seeded by
a ``numpy.random.Generator`` so that the same seed gives the same weights.
Samples are rows: a batch of images is ``(n, 784)``.
"""
from .data import Dataset, available_datasets, load_dataset, load_mnist
from .preprocessing import PreparedData, PreprocessConfig, Scaler, prepare

__all__ = [
    "Dataset", "available_datasets", "load_dataset", "load_mnist",
    "PreparedData", "PreprocessConfig", "Scaler", "prepare",
]
