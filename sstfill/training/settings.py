"""The settings of one training run (:func:`sstfill.training.trainer.fit`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sstfill.errors import InputDataError

__all__ = ["TrainSettings", "check_budget", "check_options"]


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


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)


def _is_count(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= 1


def check_options(*, epochs: Any, batch_size: Any, patience: Any, steps_per_epoch: Any, stride: Any, max_tiles: Any, hole_fraction: Any, split: Any,
                  min_valid: Any, lr: Any, split_by: Any = None, seed: Any = 0, holes: Any = None) -> None:
    """Raise :class:`InputDataError` naming the first of ``train()``'s options that cannot be honoured, before the data is read.

    Counts are whole numbers of at least 1 (``patience``, ``steps_per_epoch`` and
    ``max_tiles`` may be None); ``hole_fraction`` is (low, high) with 0 < low <= high < 1;
    ``split`` is (train, validation, test) fractions, none negative, train above 0;
    ``min_valid`` is within [0, 1] and ``lr`` above 0 (both may be None: the defaults);
    ``split_by`` is "auto", "space" or None; ``seed`` a whole number of at least 0; ``holes``
    one kind or a non-empty sequence of kinds (None: the default).
    Without it, ``epochs=0`` returned an untrained model and the others failed deep inside
    with numpy's, torch's or Python's own messages.

    Examples
    --------
    >>> options = dict(epochs=3, batch_size=32, patience=None, steps_per_epoch=None, stride=32, max_tiles=None,
    ...                hole_fraction=(0.1, 0.7), split=None, min_valid=None, lr=None)
    >>> check_options(**options)
    >>> check_options(**{**options, "epochs": 0})
    Traceback (most recent call last):
    ...
    sstfill.errors.InputDataError: epochs=0 cannot be honoured: give a whole number of at least 1 (e.g. epochs=30).
    """
    examples = {"epochs": 30, "batch_size": 32, "patience": 5, "steps_per_epoch": 16, "stride": 32, "max_tiles": 10000}
    counts = {"epochs": epochs, "batch_size": batch_size, "patience": patience, "steps_per_epoch": steps_per_epoch, "stride": stride, "max_tiles": max_tiles}
    for name, value in counts.items():
        if not (_is_count(value) or (value is None and name in ("patience", "steps_per_epoch", "max_tiles"))):
            raise InputDataError(f"{name}={value!r} cannot be honoured:", fix=f"give a whole number of at least 1 (e.g. {name}={examples[name]}).", argument=name)
    low_high = tuple(hole_fraction) if isinstance(hole_fraction, (tuple, list, np.ndarray)) else ()
    if len(low_high) != 2 or not all(map(_is_number, low_high)) or not 0 < low_high[0] <= low_high[1] < 1:
        raise InputDataError(f"hole_fraction={hole_fraction!r} cannot be honoured:",
                             fix="give the (low, high) range of the fraction of a tile hidden, 0 < low <= high < 1 (e.g. hole_fraction=(0.1, 0.7)).", argument="hole_fraction")
    if split is not None:
        parts = tuple(split) if isinstance(split, (tuple, list, np.ndarray)) else ()
        if len(parts) != 3 or not all(map(_is_number, parts)) or min(parts) < 0 or parts[0] <= 0:
            raise InputDataError(f"split={split!r} cannot be honoured:",
                                 fix="give the (train, validation, test) fractions, none negative and train above 0 (e.g. split=(0.65, 0.15, 0.2)).", argument="split")
    if min_valid is not None and not (_is_number(min_valid) and 0 <= min_valid <= 1):
        raise InputDataError(f"min_valid={min_valid!r} cannot be honoured:", fix="give the least observed fraction of a tile, from 0 to 1 (e.g. min_valid=0.8).", argument="min_valid")
    if split_by not in (None, "auto", "space"):
        raise InputDataError(f"split_by={split_by!r} cannot be honoured:",
                             fix="give 'auto' (a series by blocks of time, one image by bands of rows), 'space' (by bands of rows, every step in every set) or None.",
                             argument="split_by")
    if lr is not None and not (_is_number(lr) and lr > 0):
        raise InputDataError(f"lr={lr!r} cannot be honoured:", fix="give a learning rate above 0 (e.g. lr=1e-4), or None for the default.", argument="lr")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputDataError(f"seed={seed!r} cannot be honoured:", fix="give a whole number of at least 0 (e.g. seed=0).", argument="seed")
    if holes is not None and not isinstance(holes, str) and len(tuple(holes)) == 0:
        raise InputDataError(f"holes={holes!r} cannot be honoured:", fix="give one kind of holes or several (e.g. holes=('clouds',)), or None for the default.", argument="holes")
