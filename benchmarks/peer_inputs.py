"""The input conventions that every peer method of ``benchmarks/peers.py`` and ``benchmarks/dineof.py`` shares.

``field`` is a float array with NaN at every pixel that is not observed; ``land`` (optional,
boolean, broadcastable to ``field``) marks land pixels, never used as data and returned NaN;
``to_fill`` (optional, boolean, same shape as ``field``) marks the pixels the caller wants
filled (default: every non-land NaN pixel). See ``benchmarks/peers.py`` for the whole contract.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["prepare_inputs"]


def prepare_inputs(
    field: ArrayLike,
    land: ArrayLike | None,
    to_fill: ArrayLike | None,
    min_ndim: int = 2,
) -> tuple[NDArray[np.float32], NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """Validate inputs; return ``(out, land, observed, wanted)``.

    ``out`` is a float32 copy of ``field`` with every non-observed pixel set
    to NaN; ``wanted`` is the set of gap pixels (non-land, non-observed) the
    caller asked for.
    """
    arr = np.asarray(field)
    if arr.ndim < min_ndim:
        raise ValueError(f"field must have at least {min_ndim} dimensions, got {arr.ndim}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"field must be a real numeric array, got dtype {arr.dtype}")
    out = arr.astype(np.float32, copy=True)
    if land is None:
        land_b = np.zeros(arr.shape, dtype=bool)
    else:
        land_b = np.broadcast_to(np.asarray(land, dtype=bool), arr.shape)
    observed = np.isfinite(out) & ~land_b
    gaps = ~observed & ~land_b
    if to_fill is None:
        wanted = gaps
    else:
        tf = np.asarray(to_fill)
        if tf.shape != arr.shape:
            raise ValueError(f"to_fill has shape {tf.shape}, field has shape {arr.shape}")
        wanted = tf.astype(bool) & gaps
    out[~observed] = np.nan
    return out, np.array(land_b), observed, wanted
