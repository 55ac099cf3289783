"""Exceptions raised by sstfill.

Every message names the variable involved, what was expected and the call that fixes it.
"""

from __future__ import annotations

__all__ = [
    "SSTFillError",
    "CLIError",
    "GridError",
    "InputDataError",
    "ModelMismatchError",
    "ModelFileError",
    "OutputError",
]


class SSTFillError(Exception):
    """Base class of every error sstfill raises on purpose."""


class CLIError(SSTFillError):
    """A problem with what was asked on the ``sstfill`` command line."""


class GridError(SSTFillError, ValueError):
    """No usable latitude/longitude (or projected x/y) grid was found."""


class InputDataError(SSTFillError, ValueError):
    """The data cannot be filled: wrong dtype, all missing, unknown variable, bad mask."""


class ModelMismatchError(SSTFillError, ValueError):
    """The model does not fit the request: tile size, channels or inputs differ."""


class ModelFileError(SSTFillError, OSError):
    """A model file is missing, corrupt, truncated or from an incompatible version."""


class OutputError(SSTFillError, OSError):
    """The output cannot be written: it exists already, its format is unknown, or the write failed."""
