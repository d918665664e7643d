"""The version of nnlib, stored in every saved model's header."""

__version__ = "0.1.0"
