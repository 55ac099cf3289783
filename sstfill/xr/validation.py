"""Validation by filling: whole held-out images filled as ``fill()`` fills them, scored on hidden pixels.

Adapting a bundled model (:meth:`~sstfill.xr.accessor.DatasetInpaint.train` with ``init=``)
keeps an epoch only if it fills better than the starting weights. Scoring that on the
validation *tiles* (a few dozen windows under drawn holes, each filled alone) let epochs
through that validated better and filled the held-out days of a series worse (MUR
Southern California, 2026-12-04: -2 %). :class:`FillValidation` scores what a user gets:
the validation part of the dataset (its band of rows, or its block of steps) is filled
as one field by the accessor, with the series' neighbouring steps and every tile, blend,
fallback and reach of the fill path, after its observed pixels were hidden under the
series' own clouds of another step (the cross-validation convention of DINEOF and
DINCAE), and the errors of those pixels are summed per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import xarray as xr

from sstfill.training.tiles import split_blocks
from sstfill.xr.samples import hole_pattern

__all__ = ["FillValidation", "fill_validation", "MAX_VALIDATION_PIXELS"]

#: At most this many pixels (steps x rows x columns, the context rows included) are filled
#: per validation: about 2 s for the ``context`` model on 2 CPU cores (a contiguous run of
#: steps, from the middle of the validation part, is kept when there are more).
MAX_VALIDATION_PIXELS = 1_500_000


@dataclass
class FillValidation:
    """Hidden pixels of the validation part and how to fill it; call it with a model.

    ``field`` (steps, y, x) holds the validation part with its hidden pixels removed;
    ``truth`` their values (NaN elsewhere) on the ``scored`` rows. Calling it fills
    ``field`` with the model and returns, per step, the sum of squared errors of its
    hidden pixels (field units) and their count.
    """

    field: xr.DataArray
    truth: np.ndarray
    land: xr.DataArray | None
    rows: slice
    description: str

    @property
    def hidden(self) -> int:
        return int(np.isfinite(self.truth).sum())

    def __call__(self, model: Any) -> tuple[np.ndarray, np.ndarray]:
        filled = self.field.inpaint.fill(model, land=self.land, device=None, error=False, climatology=None)
        values = np.asarray(filled.values, dtype="float64")[..., self.rows, :]
        err = (values - self.truth) ** 2
        scored = np.isfinite(self.truth) & np.isfinite(values)
        axes = tuple(range(1, err.ndim))
        return np.where(scored, err, 0.0).sum(axis=axes), scored.sum(axis=axes).astype("float64")


def fill_validation(da: xr.DataArray, spatial: tuple[str, str], *, split: Sequence[float], by_rows: bool, context_rows: int,
                    seed: int = 0, max_pixels: int = MAX_VALIDATION_PIXELS) -> FillValidation | None:
    """The :class:`FillValidation` of ``da``'s validation part, or None when it hides nothing.

    Parameters
    ----------
    da : DataArray (..., y, x)
        The field as the model sees it (anomalies where a climatology is removed), time first.
    spatial : (y, x) dims
    split : fractions
        The train/validation/test split of training: the validation part is its second block.
    by_rows : bool
        The split is by bands of rows (every step in every set): the validation band is
        filled with ``context_rows`` rows on either side, as a fill of the whole image sees
        them, and scored on the band only. Otherwise by blocks of steps: the validation
        steps are filled whole.
    context_rows : int
        Rows of context around a band (a tile: what the tiles that touch it read).
    seed : int
        For the drawn holes of a single image (a series hides each step's pixels under the
        clouds of the step half the series away).
    max_pixels : int
        Bound on the pixels filled per validation (see :data:`MAX_VALIDATION_PIXELS`).

    Examples
    --------
    >>> import sstfill.testing
    >>> sst, _ = sstfill.testing.synthetic_sst(160, 96, nt=4).inpaint.add_holes("clouds", fraction=0.3, seed=1)
    >>> v = fill_validation(sst, ("lat", "lon"), split=(0.6, 0.4, 0.0), by_rows=True, context_rows=32)
    >>> se, n = v("laplace")
    >>> se.shape, bool(n.sum() == v.hidden > 0)
    ((4,), True)
    """
    other = [d for d in da.dims if d not in spatial]
    work = da.transpose(*other, *spatial)
    if len(other) > 1:  # a step is one image: the extra axes (depth, ...) at their first index
        work = work.isel({d: 0 for d in other[1:]})
    if not other:
        work = work.expand_dims("step")
    time_dim = work.dims[0]
    ny, nx = work.sizes[spatial[0]], work.sizes[spatial[1]]
    if by_rows:
        band = split_blocks(ny, split)[1]
        if not len(band):
            return None
        y0, y1 = max(0, int(band[0]) - context_rows), min(ny, int(band[-1]) + 1 + context_rows)
        steps = np.arange(work.sizes[time_dim])
        rows = slice(int(band[0]) - y0, int(band[-1]) + 1 - y0)
    else:
        steps = split_blocks(work.sizes[time_dim], split)[1]
        if not len(steps):
            return None
        y0, y1 = 0, ny
        rows = slice(0, ny)
    keep = max(1, max_pixels // ((y1 - y0) * nx))
    if len(steps) > keep:  # a contiguous run from the middle: neighbouring steps stay neighbours
        start = (len(steps) - keep) // 2
        steps = steps[start : start + keep]
    crop = work.isel({spatial[0]: slice(y0, y1)})
    n, n_all = len(steps), work.sizes[time_dim]
    partners = (np.asarray(steps) + n_all // 2) % n_all  # each step under the clouds of the step half the series away
    read = np.union1d(steps, partners)  # one read of the steps and their partners
    loaded = crop.isel({time_dim: read}).load()
    part = loaded.isel({time_dim: np.searchsorted(read, steps)})
    values = np.asarray(part.values, dtype="float64")
    observed = np.isfinite(values)
    land = None  # a single image cannot tell land from its clouds
    if n_all > 1:
        hide = observed & ~np.isfinite(np.asarray(loaded.values)[np.searchsorted(read, partners)])
        whole = loaded if len(read) == n_all else crop  # what no step of the series observes
        land = xr.DataArray(~np.asarray(whole.notnull().any(time_dim).values), dims=spatial)
    else:
        hide = observed & np.asarray(hole_pattern(values, kind="clouds", fraction=0.3, seed=seed, tile=64))
    scored = np.zeros(hide.shape, dtype=bool)
    scored[:, rows] = True
    hide &= scored
    if not hide.any():
        return None
    truth = np.where(hide, values, np.nan)[:, rows]
    field = part.where(~xr.DataArray(hide, dims=part.dims))
    plural = "s" if n != 1 else ""
    what = f"rows {y0 + rows.start}-{y0 + rows.stop - 1} of {n} step{plural}" if by_rows else f"{n} step{plural}"
    under = "the clouds of other steps" if n_all > 1 else "drawn cloud shapes"
    return FillValidation(field, truth, land, rows, f"{what} filled whole, {int(hide.sum())} pixels hidden under {under}")
