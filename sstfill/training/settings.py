"""The settings of one training run (:func:`sstfill.training.trainer.fit`)."""

from __future__ import annotations

from dataclasses import dataclass

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
