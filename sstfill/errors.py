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
    """Base class of every error sstfill raises on purpose.

    ``problem`` (the message without the fix), ``fix`` and ``argument`` are kept as attributes.

    Parameters
    ----------
    message : str
        What is wrong.
    fix : str, optional
        How to fix it in Python, appended to the message: the ``sstfill`` command says it
        with its options instead (:func:`sstfill.cli.common.cli_message`).
    argument : str, optional
        The keyword argument that ``fix`` changes, e.g. ``"var"``.
    """

    def __init__(self, message: str = "", *args: object, fix: str | None = None, argument: str | None = None) -> None:
        super().__init__(f"{message} {fix}" if fix else message, *args)
        self.problem = message
        self.fix = fix
        self.argument = argument


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
