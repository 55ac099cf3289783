"""The settings of one training run (:func:`sstfill.training.trainer.fit`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sstfill.errors import InputDataError

__all__ = ["TrainSettings", "check_budget"]


@dataclass
class TrainSettings:
    """Settings of :func:`~sstfill.training.trainer.fit` (see ``DatasetInpaint.train`` for their meaning)."""

    epochs: int = 30
    batch_size: int = 32
    patience: int = 5
    lr: float = 1e-3
    lr_discriminator: float = 2e-4
    holes: tuple[str, ...] = ("clouds", "squares", "squares6", "square10", "random_field")
    hole_fraction: tuple[float, float] = (0.1, 0.7)
    augment: bool = True
    seed: int = 0
    steps_per_epoch: int | None = None
    average_last: int = 1
    max_seconds: float | None = None
    hole_bank: int = 8192
    refresh: float = 1.0
    clip_grad: float = 1.0
    #: real cloud masks of the training data (bool (N, size, size)) for the ``"own_clouds"``
    #: hole kind (:func:`sstfill.training.tiles.cut_cloud_masks`); None: that kind is unused
    hole_library: np.ndarray | None = field(default=None, repr=False)
    #: a model with context draws its holes across whole windows as real cloud shapes enlarged
    #: 1-3x (:func:`sstfill.training.windows.draw_window_holes`: clouds wider than a tile);
    #: False: the hole kinds of plain tiles, at the window's size (a tile model's recipe)
    window_holes: bool = True
    #: validate the starting weights first and return them unless an epoch beats them
    #: (adapting a trained model: it never comes back worse on validation)
    keep_start: bool = False
    #: what the best weights are chosen by: the validation "loss" (the weighted
    #: reconstruction the network is trained on) or the "rmse" of the hidden pixels
    select_on: str = "loss"
    #: validation by filling (adapting): called with the model, returns per validation step the
    #: sum of squared errors of its hidden pixels and their count; when given, the best weights
    #: are chosen by its RMSE (and must beat the start's on it) instead of the tiles' scores
    #: (:class:`sstfill.xr.validation.FillValidation`)
    fill_validation: Any = field(default=None, repr=False)


def kept_epoch(history: dict) -> int | None:
    """Where the epoch whose weights training kept is in a history's per-epoch lists.

    Read from ``history["best_epoch"]``, which the trainer records. -1: an adapted model's
    starting weights; None: not recorded (older histories, averaged weights).

    Examples
    --------
    >>> kept_epoch({"epoch": [3, 4, 5], "best_epoch": [4]}), kept_epoch({"epoch": [0], "best_epoch": [-1]}), kept_epoch({"epoch": [0]})
    (1, -1, None)
    """
    chosen = (history.get("best_epoch") or [None])[0]
    if isinstance(chosen, bool) or not isinstance(chosen, int):
        return None
    epochs = [int(e) for e in history.get("epoch") or []]
    return -1 if chosen == -1 else (epochs.index(chosen) if chosen in epochs else None)


def check_budget(max_minutes: Any, max_seconds: Any) -> None:
    """Raise :class:`InputDataError` unless each time budget given is a number of minutes (seconds) above 0.

    ``None`` is no budget and ``inf`` an unlimited one; 0, a negative number or NaN are
    refused, naming the argument (NaN compared as no budget at all, and 0 or less trained
    one epoch whatever was asked).

    Examples
    --------
    >>> check_budget(10, None)
    >>> check_budget(float("nan"), None)
    Traceback (most recent call last):
    ...
    sstfill.errors.InputDataError: max_minutes=nan is not a time budget: give the minutes to train, more than 0 (e.g. max_minutes=10), or None for no budget.
    """
    for name, value, unit, example in (("max_minutes", max_minutes, "minutes", 10), ("max_seconds", max_seconds, "seconds", 600)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or math.isnan(value) or value <= 0:
            raise InputDataError(f"{name}={value!r} is not a time budget:", fix=f"give the {unit} to train, more than 0 (e.g. {name}={example}), or None for no budget.",
                                 argument=name)
