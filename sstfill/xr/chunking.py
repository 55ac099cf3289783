"""Dask chunk plumbing of a fill: blocks large enough for their halo, whole images, the input's chunks back.

Pure functions of chunk tuples and dask arrays, shared by :mod:`sstfill.xr.dispatch` and
:mod:`sstfill.xr.persistence`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["merge_small_chunks", "in_chunks", "whole_image_chunks"]


def merge_small_chunks(chunks: tuple[int, ...], minimum: int) -> tuple[int, ...]:
    """Merge chunks smaller than ``minimum`` into their neighbour (map_overlap needs depth <= chunk).

    Kept instead of map_overlap's own rechunking (``ensure_minimum_chunksize``), which cuts
    runs of small chunks into blocks of about ``minimum``, each tiled with a halo of
    ``minimum`` on both sides: the same fill bit for bit, but other output chunks and 2-5x
    the tiles run (measured: 64 instead of 32 for chunks (149, 169) of 150 x 170, 1200
    instead of 528 for 32-pixel x chunks of 512 x 2048, 10000 instead of 1936 for 40 x 40
    chunks of 2048 x 2048); on the other chunkings of the tests both give the same chunks.
    """
    merged: list[int] = []
    for c in chunks:
        if merged and (c < minimum or merged[-1] < minimum):
            merged[-1] += c
        else:
            merged.append(c)
    return tuple(merged)


def in_chunks(array: Any, chunks: tuple[tuple[int, ...], ...]) -> Any:
    """``array`` (dask) in ``chunks``: a fill's result in its input's chunks, which ``to_zarr`` can write as they were."""
    return array if array.chunks == chunks else array.rechunk(chunks)


def whole_image_chunks(leading: tuple[tuple[int, ...], ...], image_bytes: int) -> tuple[tuple[int, ...], ...]:
    """Chunks along the axes before (y, x) for the whole-image step (stitching, fallback): the field's own, or one image each.

    The field's own chunks when a block of whole images is at most dask's
    ``array.chunk-size``: the rechunk then only gathers each block's spatial pieces (one
    task per block; one image each would also split every block, 8x the rechunk tasks
    for blocks of two steps in four pieces). Otherwise one image per task. The stitching
    and the fallback solve each image on its own (the fallback region by region,
    :func:`~sstfill.kernels.blocks.fill_regions`), so the result is the same either way,
    bit for bit.

    >>> whole_image_chunks(((2, 2, 1),), 16 * 2**20)
    ((2, 2, 1),)
    >>> whole_image_chunks(((50, 50),), 16 * 2**20)[0][:3]
    (1, 1, 1)
    """
    import dask
    from dask.utils import parse_bytes

    limit = parse_bytes(dask.config.get("array.chunk-size"))
    if int(np.prod([max(c) for c in leading], dtype=np.int64)) * image_bytes <= limit:
        return leading
    return tuple((1,) * sum(c) for c in leading)
