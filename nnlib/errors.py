"""nnlib's own error types: a file we refuse says what is wrong with it.

Both are ``ValueError`` subclasses, so callers that catch ``ValueError`` keep working;
a caller that wants to tell "this file is bad" from a bug catches these.
"""
from __future__ import annotations


class DatasetError(ValueError):
    """A dataset file that nnlib refuses: unreadable, damaged, too large or breaking a rule."""


class ModelFileError(ValueError):
    """A model file that nnlib cannot load: not nnlib's, damaged, incomplete or too large."""


class ImageFileError(ValueError):
    """A picture file that nnlib cannot read: not an image, damaged, or of a size no digit fits."""
