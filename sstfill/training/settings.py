"""The settings of one training run (:func:`sstfill.training.trainer.fit`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TrainSettings"]


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
