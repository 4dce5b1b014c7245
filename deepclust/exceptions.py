"""Errors that deepclust raises for bad input.

Every error a user can cause (a missing file, an unknown key, a wrong shape, a bad
parameter) is a :class:`DeepclustError` with a one-line message that names what was
wrong and what was expected. The CLI prints that line and exits non-zero.
"""

from __future__ import annotations


class DeepclustError(ValueError):
    """Base class of user-facing errors (a ``ValueError`` so sklearn tooling accepts it)."""


class DataError(DeepclustError):
    """Input data are missing, malformed, or of the wrong shape."""


class ConfigError(DeepclustError):
    """A parameter, config file or command-line option is invalid."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A dataset file is absent (and could not be downloaded)."""
