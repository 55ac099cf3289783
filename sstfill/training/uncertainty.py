"""Learn a trained model's error: fit its error model on the validation tiles' hidden pixels.

After training, :func:`fit_tile_error_model` fills the validation tiles under their fixed
holes, computes the features of :mod:`sstfill.kernels.uncertainty` on each tile, and fits
the Gaussian error model (likelihood, then the coverage scale) on the hidden pixels. The
features are computed on a tile, not on the whole image a fill sees, so distances are
capped by the tile (64 px) rather than :data:`~sstfill.kernels.uncertainty.ERROR_HALO`;
``benchmarks/calibration.py`` fits the bundled models on whole images instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sstfill.kernels.uncertainty import ErrorModel, calibrate_scale, error_features, fit_error_model
from sstfill.models.inpainter import Inpainter
from sstfill.training.losses import neighbour_holes, scoring_batch, split_samples

__all__ = ["fit_tile_error_model", "MAX_ERROR_TILES"]

#: Validation tiles used at most (the first ones; they are in random order).
MAX_ERROR_TILES = 2048


def fit_tile_error_model(model: Inpainter, tiles: Any, holes: np.ndarray, batch: int | None = None) -> ErrorModel | None:
    """The error model of ``model`` fitted on ``tiles`` (truth) under ``holes`` (True: hidden).

    ``tiles`` are what :func:`sstfill.training.trainer.fit` validates on: tiles (N, T, T),
    or samples with context (N, 1 + S, W, W) or a window bank. Returns None when there are
    fewer than 1,000 hidden pixels with a truth (too few to fit), or when the fit gives no
    finite sigma for all of them.
    """
    cfg = model.config
    m, t_size = cfg.context_margin, cfg.tile_size
    batch = batch or scoring_batch(model)
    n = min(len(tiles), MAX_ERROR_TILES)
    feats, errs = [], []
    for i in range(0, n, batch):
        rows = np.arange(i, min(i + batch, n))
        part = tiles.gather(rows) if hasattr(tiles, "gather") else tiles[rows]
        part_t = torch.as_tensor(np.asarray(part))
        later = neighbour_holes(model, holes, rows, part_t.shape[1] - 1 if part_t.dim() == 4 else 0)
        target, nb = split_samples(model, part_t, None if later is None else torch.as_tensor(later))
        truth = target.numpy()
        hidden = np.asarray(holes[rows], dtype=bool)
        values = np.where(hidden, np.nan, truth).astype("float32")
        neighbours = None if nb is None else nb.numpy()
        filled = model.predict_tiles(values, np.isfinite(values), neighbours)
        crop = (Ellipsis, slice(m, m + t_size), slice(m, m + t_size))
        values_t, truth_t, hidden_t = values[crop], truth[crop], hidden[crop]
        for k in range(len(rows)):
            where = hidden_t[k] & np.isfinite(truth_t[k]) & np.isfinite(filled[k])
            if not where.any():
                continue
            f = error_features(values_t[k], filled[k])
            feats.append(f[:, where])
            errs.append(filled[k][where].astype("float64") - truth_t[k][where])
    if not errs or sum(e.size for e in errs) < 1000:
        return None
    features, errors = np.concatenate(feats, axis=1), np.concatenate(errs)
    note = f"ds.inpaint.train: {errors.size} hidden pixels of {n} validation tiles (tile-level features)"
    try:
        fitted = calibrate_scale(fit_error_model(features, errors, fitted_on=note), features, errors)
    except ValueError:  # no fit: the model keeps the error model it had (never NaN sigmas)
        return None
    return fitted if np.isfinite(fitted.sigma(features)).all() else None

