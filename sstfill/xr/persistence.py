"""The neighbouring days of a daily series blended into its fill far from each day's data (lazily with dask).

``fill()`` runs :func:`blend_neighbour_days` after the tiles and the fallback on a field with
a time axis (``persistence=True``, the default): each filled pixel of a step with
neighbouring steps within 5 days moves towards the persistence guess of those steps
(:mod:`sstfill.kernels.persistence`: the steps within 2 days, and where they saw nothing
the steps 3 to 5 days away), the more the farther it lies from the step's own data; past the edge of what those steps saw,
the blend's correction is carried on harmonically (no step where the guess ends).
Observed pixels, land and the gaps beyond the reach are left as the fill left them.
With dask the neighbours' weighted means are taken chunk by chunk (the neighbouring steps
as slices along time), then every task holds whole images of its steps, their fill and
those means: the result does not depend on the chunks.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np
import xarray as xr

from sstfill.kernels.persistence import (BLEND_SCALE_KM, FAR_OFFSETS_DAYS, GUESS_OFFSETS_DAYS, blend_with_guess, continue_past_guess, departure_spread, fill_weight,
                                         layered_guess, neighbour_prior, step_weights)
from sstfill.kernels.reach import distance_float32
from sstfill.kernels.windows import neighbour_steps
from sstfill.xr.chunking import whole_image_chunks
from sstfill.xr.grid import SpatialGrid
from sstfill.xr.reach import pixel_spacing_km
from sstfill.xr.series import find_time_dim, step_days

__all__ = ["NOTE", "blend_neighbour_days"]

#: What the filled variable's ``comment`` and ``history`` say when the guess was blended in.
NOTE = (f"blended far from each day's data with the neighbouring days' observations (persistence, {BLEND_SCALE_KM:g} km), "
        "carried on harmonically where they end")


def blend_neighbour_days(target: xr.DataArray, filled: Any, land: Any, grid: SpatialGrid,
                         fill_gaps: Callable[[np.ndarray, np.ndarray], np.ndarray], scale_km: float = BLEND_SCALE_KM,
                         layers_days: Sequence[tuple[float, ...]] = (GUESS_OFFSETS_DAYS, FAR_OFFSETS_DAYS), carry_on: bool = True,
                         error: bool = True) -> tuple[Any, Any, Any]:
    """``filled`` (the data of ``target``'s fill) with each step's neighbouring days blended in, the fill's weight in it, and the guess's spread.

    Parameters
    ----------
    target : DataArray (..., y, x)
        The field as the model filled it (gaps NaN; anomalies where a climatology is removed).
    filled : numpy or dask array like ``target``
        Its fill.
    land : bool array broadcastable to ``target``, optional
        Pixels never filled (land, gaps beyond the reach).
    grid : SpatialGrid
        For the distances in km; a grid without distances is returned unblended.
    fill_gaps : callable
        The harmonic fill of the guess's departures (see
        :func:`~sstfill.kernels.persistence.layered_guess`).
    scale_km : float
        :data:`~sstfill.kernels.persistence.BLEND_SCALE_KM`.
    layers_days : sequence of tuples of float
        The time offsets (days) of each layer of the guess, nearest first (see
        :func:`~sstfill.kernels.persistence.layered_guess`).
    carry_on : bool
        Carry the blend's correction on past the edge of the guess
        (:func:`~sstfill.kernels.persistence.continue_past_guess`); False: the blend alone,
        which ends in a step there (for comparison).
    error : bool
        Make what the error needs: the weight carried on past the guess, and the spread.
        False (a fill without its error): one harmonic solve fewer, the weight is 1 past
        the guess and the spread NaN everywhere; the same field.

    Returns
    -------
    (array like ``filled``, float32 array like ``filled`` or None, the same or None)
        The blended fill, the fill's weight in it
        (:func:`~sstfill.kernels.persistence.fill_weight`, carried on past the guess by
        :func:`~sstfill.kernels.persistence.continue_past_guess`: 1 where nothing was
        blended) and the spread of the day-to-day change where it was
        (:func:`~sstfill.kernels.persistence.departure_spread`, NaN elsewhere), for the
        error (:func:`~sstfill.kernels.persistence.blended_sigma`); ``(filled, None, None)``
        where no step has a neighbour within 5 days or the grid has no distances.

    Examples
    --------
    >>> import sstfill.testing
    >>> from sstfill.xr.dispatch import harmonic_fallback
    >>> from sstfill.xr.grid import find_grid
    >>> sst = sstfill.testing.synthetic_sst(64, 64, nt=3)
    >>> gappy = sst.where((sst.lat < sst.lat[20]) | (sst.lat > sst.lat[50]) | (sst.time != sst.time[1]))
    >>> flat = gappy.fillna(float(gappy.mean()))
    >>> out, weight, spread = blend_neighbour_days(gappy, flat.values, None, find_grid(gappy), harmonic_fallback)
    >>> err = lambda a: float(np.sqrt(np.nanmean((a - sst.values)[1] ** 2)))  # NaN: land
    >>> err(out) < err(flat.values), float(weight[0].min()), bool((weight[1] < 1).any())  # step 0 has nothing to blend
    (True, 1.0, True)
    >>> bool(np.isfinite(spread[weight < 1]).all() and np.isnan(spread[weight == 1]).all())
    True
    """
    dim = find_time_dim(target, grid.dims)
    if dim is None or target.sizes[dim] < 2:
        return filled, None, None
    spacing = pixel_spacing_km(target, grid)
    if spacing is None:
        return filled, None, None
    days = step_days(target, dim)
    layers = []  # per layer of the guess (the steps within 2 days, then 3 to 5): (steps to take, their weights)
    for offsets in layers_days:
        steps = neighbour_steps(days, offsets)
        weights = step_weights(days, steps)
        if (weights > 0).any():  # a layer no step has is not computed
            layers.append((np.where(steps >= 0, steps, np.arange(len(steps))[:, None]), weights))  # weight 0 where there is none
    if not layers:
        return filled, None, None
    axis = target.dims.index(dim)
    step = functools.partial(_blend_step, spacing=spacing, periodic_x=grid.periodic, fill_gaps=fill_gaps, scale_km=scale_km,
                             carry_on=carry_on, error=error)
    data = target.data
    if not hasattr(filled, "dask") and not hasattr(data, "dask"):
        data, filled = np.asarray(data), np.asarray(filled)
        land_full = np.broadcast_to(np.False_ if land is None else np.asarray(land, dtype=bool), data.shape)  # a view, never a copy
        out, weight, spread = filled.copy(), np.ones(filled.shape, dtype="float32"), np.full(filled.shape, np.nan, dtype="float32")
        for t in np.flatnonzero(np.any([(weights > 0).any(axis=1) for _, weights in layers], axis=0)):  # the steps with a neighbour
            at = _at(axis, t, data.ndim)
            priors = [neighbour_prior([data[_at(axis, int(k), data.ndim)] for k in take[t]], weights[t]) for take, weights in layers]
            step(data[at], out[at], land_full[at], *priors, weight=weight[at], spread=spread[at])
        return out, weight, spread
    import dask.array as dsa

    filled = dsa.asarray(filled)
    data = dsa.asarray(data).rechunk(filled.chunks)
    along = [1] * data.ndim
    along[axis] = len(days)
    # each layer's weighted mean of the neighbours, elementwise in the field's own chunks: one image per step goes on, not ten
    priors = [neighbour_prior([_take_runs(data, take[:, j], axis).rechunk(data.chunks) for j in range(take.shape[1])],
                              [weights[:, j].reshape(along) for j in range(take.shape[1])]) for take, weights in layers]
    ny, nx = filled.shape[-2:]
    # whole images; one step per task when a block of them would pass dask's chunk size, counted with what a step
    # holds while it is blended (field, fill, two priors, land, the blend, its weight and spread, the guess's harmonic
    # solves and the correction carried past it: numpy's peak on a 1024 x 1024 step is 18 images; 2048 x 2048
    # float32 steps, 2 per chunk, killed a 1 GiB worker when counted as 3)
    whole = whole_image_chunks(filled.chunks[:-2], ny * nx * filled.dtype.itemsize * 18) + ((ny,), (nx,))
    land_full = dsa.zeros(data.shape, dtype=bool, chunks=whole) if land is None else dsa.broadcast_to(dsa.asarray(land).astype(bool), data.shape)
    blocks = functools.partial(_blend_blocks, step=step, axis=axis)
    dtype = np.result_type(filled.dtype, np.float32)  # the blend, the weight and the spread in one array: float32 for a float32 field
    made = dsa.map_blocks(blocks, data.rechunk(whole), filled.rechunk(whole), land_full.rechunk(whole), *(p.rechunk(whole) for p in priors),
                          new_axis=0, chunks=((3,),) + whole, dtype=dtype, meta=np.array((), dtype=dtype))
    return made[0].astype(filled.dtype).rechunk(filled.chunks), *(made[k].astype("float32").rechunk(filled.chunks) for k in (1, 2))


def _take_runs(data: Any, index: np.ndarray, axis: int) -> Any:
    """``data`` (dask) at the steps ``index`` along ``axis``, as slices of its runs of consecutive steps.

    A neighbour offset is mostly a shift: a few slices, where ``dask.array.take`` would
    shuffle every chunk (its tasks held a 1 GiB worker over its limit on an archive of 2048^2 images).
    """
    import dask.array as dsa

    breaks = np.flatnonzero(np.diff(index) != 1) + 1
    pieces = []
    for run in np.split(np.asarray(index), breaks):
        where: list = [slice(None)] * data.ndim
        where[axis] = slice(int(run[0]), int(run[-1]) + 1)
        pieces.append(data[tuple(where)])
    return dsa.concatenate(pieces, axis=axis)


def _at(axis: int, t: int, ndim: int) -> tuple:
    index: list = [slice(None)] * ndim
    index[axis] = t
    return tuple(index)


def _blend_blocks(data: np.ndarray, filled: np.ndarray, land: np.ndarray, *priors: np.ndarray, step: Callable, axis: int) -> np.ndarray:
    """map_blocks kernel: whole images of a run of steps with their neighbours' priors; the blend, the fill's weight and the spread, stacked.

    Blended in the arrays of the numpy path (the fill in its own dtype, the weight and the
    spread in float32), stacked after: the weight's arithmetic in a float64 slot rounded
    otherwise than in float32, and a float16 fill was blended in float32, so a chunked
    float64 or float16 fill differed from the numpy one.
    """
    out = np.empty((3,) + filled.shape, dtype=np.result_type(filled.dtype, np.float32))  # exact for each part
    out[0], out[1], out[2] = filled, 1.0, np.nan
    blend, weight, spread = out  # a float32 field (the usual one) is blended in place: no copies
    if filled.dtype != np.float32:
        blend, weight, spread = filled.copy(), out[1].astype("float32"), out[2].astype("float32")
    for t in range(data.shape[axis]):
        at = _at(axis, t, data.ndim)
        step(data[at], blend[at], land[at], *(p[at] for p in priors), weight=weight[at], spread=spread[at])
    if filled.dtype != np.float32:
        out[0], out[1], out[2] = blend, weight, spread
    return out


def _blend_step(data: np.ndarray, filled: np.ndarray, land: np.ndarray, *priors: np.ndarray, weight: np.ndarray, spread: np.ndarray,
                spacing: tuple, periodic_x: bool, fill_gaps: Callable, scale_km: float, carry_on: bool = True,
                error: bool = True) -> None:
    """Blend the images of one step (..., y, x) with their neighbours' priors (..., y, x; nearest layer first), in place: ``filled``, ``weight``, ``spread``.

    In place, image by image: a task holds one image's temporaries at a time (a 1 GiB
    dask worker blends 2048 x 2048 steps on two threads).
    """
    ny, nx = data.shape[-2:]
    images, fills, lands, weights, spreads = (a.reshape(-1, ny, nx) for a in (data, filled, land, weight, spread))
    layers = [p.reshape(-1, ny, nx) for p in priors]
    pixel_km = np.sqrt(spacing[0] * spacing[1]).astype("float32").reshape(-1, 1)  # (ny, 1)
    for i in range(len(images)):
        gaps = ~np.isfinite(images[i]) & np.isfinite(fills[i])
        if not any((gaps & np.isfinite(p[i])).any() for p in layers):
            continue
        guess = layered_guess(images[i], [p[i] for p in layers], lands[i], fill_gaps)
        guess[~np.isfinite(fills[i])] = np.nan  # nothing where the fill left a gap (land, beyond the reach)
        distance = distance_float32(np.isfinite(images[i]), periodic_x)
        distance *= pixel_km  # the blend's weight needs no exact distance in km: pixels times each row's pixel size
        weights[i] = fill_weight(images[i], guess, distance, scale_km)
        del distance
        blended = blend_with_guess(images[i], fills[i], guess, weights[i])
        if carry_on:
            blended, carried = continue_past_guess(images[i], fills[i], blended, guess, weights[i] if error else None, fill_gaps)
            if carried is not None:
                weights[i] = carried
        fills[i] = blended
        if error:
            spreads[i] = np.where(weights[i] < 1, departure_spread(images[i], [p[i] for p in layers], everywhere=carry_on), np.float32(np.nan))
    if not np.shares_memory(fills, filled):  # a step that is not contiguous (time not the first axis): reshape copied
        filled[...], weight[...], spread[...] = fills.reshape(filled.shape), weights.reshape(weight.shape), spreads.reshape(spread.shape)
