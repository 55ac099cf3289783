"""Training samples from a DataArray: its images, cut into tiles and split by time or rows."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import xarray as xr

from sstfill.errors import InputDataError
from sstfill.training.tiles import cut_tiles_by_index, split_blocks

__all__ = ["images_of", "tiles_from_dataarray"]


def images_of(da: xr.DataArray, spatial: tuple[str, str]) -> Iterator[np.ndarray]:
    """Yield the 2-D images of ``da`` (any leading dims), one at a time (dask-friendly)."""
    other = [d for d in da.dims if d not in spatial]
    work = da.transpose(*other, *spatial)
    for index in np.ndindex(*[work.sizes[d] for d in other]):
        yield np.asarray(work[index].values, dtype="float32")


def tiles_from_dataarray(
    da: xr.DataArray,
    spatial: tuple[str, str],
    *,
    split: Sequence[float] = (0.65, 0.15, 0.2),
    tile: int = 64,
    stride: int = 32,
    min_valid: float = 0.8,
    max_tiles: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Train/validation/test tiles of a field, split so that no tile leaks between sets.

    With a time axis (the first non-spatial dimension, 3 or more steps) the split is by
    contiguous blocks of time; otherwise by bands of rows of the image(s), each band cut
    separately. Returns the three tile banks and a description of the split.
    """
    other = [d for d in da.dims if d not in spatial]
    if other and da.sizes[other[0]] >= 3:
        dim = other[0]
        blocks = split_blocks(da.sizes[dim], split)
        banks = [cut_tiles_by_index(images_of(da.isel({dim: b}), spatial), tile, stride, min_valid, max_tiles, seed) for b in blocks]
        how = f"by {dim}: " + ", ".join(f"{len(b)} steps" for b in blocks)
    else:
        ny = da.sizes[spatial[0]]
        blocks = split_blocks(ny, split)
        if min(len(b) for b in blocks) < tile:
            raise InputDataError(
                f"Variable {da.name!r} has one image of {ny} rows: too few to split by bands of rows into "
                f"{len(blocks)} sets of at least {tile} rows each. Train on several time steps, or a larger region, "
                "or pass split fractions that give every set enough rows."
            )
        banks = [cut_tiles_by_index(images_of(da.isel({spatial[0]: b}), spatial), tile, stride, min_valid, max_tiles, seed) for b in blocks]
        how = f"by bands of {spatial[0]}: " + ", ".join(f"rows {b[0]}-{b[-1]}" for b in blocks if len(b))
    return banks[0], banks[1], banks[2], how
