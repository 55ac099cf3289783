"""The error of a fill over a numpy or dask array: :func:`~sstfill.kernels.uncertainty.error_block` with a halo.

The sigma of each filled pixel depends on the pixels within
:data:`~sstfill.kernels.uncertainty.ERROR_HALO` of it, so each dask block gets that halo and
the result does not depend on the chunking.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from sstfill.kernels.uncertainty import ERROR_HALO, ErrorModel, error_block
from sstfill.kernels.windows import TimeContext
from sstfill.xr.chunking import in_chunks, merge_small_chunks

__all__ = ["error_array"]


def error_array(data: Any, filled: Any, land: Any = None, *, error_model: ErrorModel, time: TimeContext | None = None, periodic_x: bool = False) -> Any:
    """Sigma of each filled pixel (:func:`sstfill.kernels.uncertainty.error_block`) of a numpy or dask array.

    With dask nothing is computed here: each block gets a halo of
    :data:`~sstfill.kernels.uncertainty.ERROR_HALO` pixels (blocks smaller than that are
    merged first), so the result does not depend on the chunking. ``data`` and ``filled``
    are the input and the filled field, (..., ny, nx) alike; ``land`` broadcasts to them.
    ``time``: the fill's :class:`~sstfill.kernels.windows.TimeContext`, if it gave a model
    neighbouring steps; the steps that had one get the error model's ``series_scale``.
    ``periodic_x``: the x axis wraps around (a global grid), and so do the features.
    """
    sigma = _error_array(data, filled, land, error_model=error_model, periodic_x=periodic_x)
    if time is None or error_model.series_scale == 1.0:
        return sigma
    with_neighbours = (np.asarray(time.steps) >= 0).any(axis=1)
    factor = np.where(with_neighbours, np.float32(error_model.series_scale), np.float32(1.0))
    shape = [1] * sigma.ndim
    shape[time.axis] = factor.size
    return sigma * factor.reshape(shape)


def _error_array(data: Any, filled: Any, land: Any = None, *, error_model: ErrorModel, periodic_x: bool = False) -> Any:
    """:func:`error_array` before the series scale; periodic: the columns the features need wrapped from the other end."""
    kernel = functools.partial(error_block, error_model=error_model)
    wrap = min(ERROR_HALO, data.shape[-1]) if periodic_x else 0
    if not hasattr(data, "dask") and not hasattr(filled, "dask"):
        def pad(a: Any) -> Any:  # numpy: wrapped as a dask block's periodic halo is
            return a if a is None or not wrap else np.pad(a, [(0, 0)] * (a.ndim - 1) + [(wrap, wrap)], mode="wrap")

        land_np = None if land is None else np.asarray(land, dtype=bool)
        return kernel(pad(np.asarray(data)), pad(np.asarray(filled)), pad(land_np))[..., wrap : wrap + data.shape[-1]]
    import dask.array as da

    data, filled = da.asarray(data), da.asarray(filled)
    given_chunks = filled.chunks
    chunks = list(filled.chunks)
    chunks[-2] = merge_small_chunks(chunks[-2], ERROR_HALO)
    chunks[-1] = merge_small_chunks(chunks[-1], ERROR_HALO)
    filled = filled.rechunk(tuple(chunks))
    data = data.rechunk(filled.chunks)
    arrays = [data, filled]
    if land is not None:  # without land, no third array (and its halos) in the graph
        arrays.append(da.broadcast_to(da.asarray(land).astype(bool), data.shape).rechunk(data.chunks))
    else:
        kernel = functools.partial(kernel, land=None)
    depth = {axis: 0 for axis in range(data.ndim)}
    depth[data.ndim - 2] = ERROR_HALO if len(chunks[-2]) > 1 else 0
    depth[data.ndim - 1] = wrap or (ERROR_HALO if len(chunks[-1]) > 1 else 0)
    boundary = {axis: "periodic" if wrap and axis == data.ndim - 1 else "none" for axis in range(data.ndim)}
    sigma = da.map_overlap(
        kernel, *arrays, depth=depth, boundary=boundary, trim=True, align_arrays=False,
        dtype="float32", meta=np.array((), dtype="float32"),
    )
    return in_chunks(sigma, given_chunks)
