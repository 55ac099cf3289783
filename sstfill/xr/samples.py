"""Training and evaluation samples from a DataArray: its images, tiles split by time or rows, synthetic holes."""

from __future__ import annotations

from functools import partial
from typing import Any, Iterator, Sequence

import numpy as np
import xarray as xr

from sstfill.errors import InputDataError
from sstfill.kernels.holes import check_hole_request, make_holes
from sstfill.training.tiles import cut_cloud_masks, cut_tiles_by_index, split_blocks
from sstfill.training.uncertainty import MAX_ERROR_TILES
from sstfill.training.windows import StreamedWindowBank, WindowBank, streamed_window_bank, window_bank
from sstfill.xr import cf
from sstfill.xr.fields import check_field
from sstfill.xr.grid import find_grid, with_grid_mapping
from sstfill.xr.land import find_land
from sstfill.xr.reach import unlocated_pixels

__all__ = ["add_holes", "ROWS_SPLIT", "SAMPLES_IN_MEMORY_BYTES", "MAX_VALIDATION_SAMPLES", "MAX_ADAPTING_VALIDATION_SAMPLES", "hole_pattern", "images_of", "tiles_from_dataarray", "own_cloud_masks"]

#: How :func:`tiles_from_dataarray` describes a split by bands of rows (its description starts so).
ROWS_SPLIT = "by bands of"
#: Bytes of images (float32, padded by the context margin) a set of training samples holds
#: whole; a dask-backed field larger than that is read a pool of steps at a time
#: (:class:`~sstfill.training.windows.StreamedWindowBank`), this many bytes of them at most.
SAMPLES_IN_MEMORY_BYTES = 512 * 2**20
#: Most samples a validation or test set keeps (drawn once, seeded; as many as a trained
#: model's error model is fitted on): every epoch scores the validation set under fixed holes
#: held in memory (60,000 windows of 192 pixels: 2.2 GB of holes, and minutes an epoch on a CPU).
MAX_VALIDATION_SAMPLES = MAX_ERROR_TILES
#: The same when adapting a model, which chooses its weights by filling the validation part
#: (:mod:`sstfill.xr.validation`): its validation samples only fit the error model and feed the
#: history, and scoring 2,048 of the context model's windows took longer than its epoch.
MAX_ADAPTING_VALIDATION_SAMPLES = 512


def _holes_for_block(block: np.ndarray, *, kind: str, fraction: float, seed: int, tile: int, full_yx: tuple[int, int], block_info: dict | None = None) -> np.ndarray:
    """Hole pattern for one block: each 2-D image gets its own generator, seeded by its index."""
    loc = block_info[0]["array-location"] if block_info else [(0, n) for n in block.shape]
    lead_shape = block_info[0]["shape"][:-2] if block_info else block.shape[:-2]
    out = np.zeros(block.shape, dtype=bool)
    (y0, y1), (x0, x1) = loc[-2], loc[-1]
    for local in np.ndindex(*block.shape[:-2]):
        index = tuple(lo + i for (lo, _), i in zip(loc[:-2], local))
        flat = int(np.ravel_multi_index(index, lead_shape)) if index else 0
        rng = np.random.default_rng([seed, flat])
        out[local] = make_holes(kind, full_yx, rng, fraction=fraction, tile=tile)[y0:y1, x0:x1]
    return out


def hole_pattern(data: Any, *, kind: str, fraction: float, seed: int, tile: int) -> Any:
    """Synthetic holes (True = hidden) shaped like ``data``, a numpy or dask array with y and x last.

    Each 2-D image draws its pattern (:func:`sstfill.kernels.holes.make_holes` over the whole
    image) from its own generator, seeded by ``(seed, image index)``, so the pattern does not
    depend on the chunks. Lazy (one task per chunk) on dask.

    Examples
    --------
    >>> holes = hole_pattern(np.zeros((2, 64, 64)), kind="squares6", fraction=0.2, seed=0, tile=64)
    >>> holes.shape, bool((holes[0] != holes[1]).any())
    ((2, 64, 64), True)
    """
    kwargs = dict(kind=kind, fraction=fraction, seed=seed, tile=tile, full_yx=tuple(data.shape[-2:]))
    if hasattr(data, "dask"):
        return data.map_blocks(_holes_for_block, dtype=bool, meta=np.array((), bool), **kwargs)
    return _holes_for_block(np.empty(data.shape, dtype=bool), **kwargs)


def add_holes(da: xr.DataArray, dataset: xr.Dataset | None, kind: str = "clouds", fraction: float = 0.3, seed: int = 0, *,
              land: Any = "auto", tile: int = 64) -> tuple[xr.DataArray, xr.DataArray]:
    """``da`` with observed sea pixels hidden under synthetic holes, and the hidden pixels (see :meth:`DataArrayInpaint.add_holes`).

    Land is looked for in ``dataset`` too (a CF mask, a named ``land`` variable, a grid
    mapping kept as a data variable), as :meth:`DataArrayInpaint.fill` does. Never hidden:
    pixels already missing (NaN, +-inf), land, and a swath's pixels without latitude or
    longitude (which the fill never fills). Arguments are checked at once, lazy or not.
    """
    check_field(da)
    check_hole_request(kind, fraction, tile, seed, da.name)
    located, borrowed = with_grid_mapping(da, dataset)  # a projected field's CRS may be a data variable of the dataset
    grid = find_grid(located)
    land_da = find_land(located, grid, land, dataset)
    work = located.transpose(*[d for d in da.dims if d not in grid.dims], *grid.dims)
    hidden = work.copy(data=hole_pattern(work.data, kind=kind, fraction=fraction, seed=seed, tile=tile)) & np.isfinite(work)
    if land_da is not None:
        hidden = hidden & ~land_da
    unlocated = unlocated_pixels(work, grid)
    if unlocated is not None:
        hidden = hidden & ~xr.DataArray(unlocated, dims=grid.dims)
    hidden = hidden.transpose(*da.dims).drop_vars(borrowed).rename("hidden")
    hidden.attrs = {"long_name": f"observed pixels hidden by synthetic {kind} holes", "hole_kind": kind, "seed": seed}
    gappy = da.where(~hidden)
    gappy.attrs = cf.add_history(da.attrs, f"sstfill: {kind} holes added (fraction {fraction}, seed {seed})")
    gappy.encoding = dict(da.encoding)
    return gappy, hidden


def images_of(da: xr.DataArray, spatial: tuple[str, str]) -> Iterator[np.ndarray]:
    """Yield the 2-D images of ``da`` (any leading dims), one at a time (dask-friendly)."""
    other = [d for d in da.dims if d not in spatial]
    work = da.transpose(*other, *spatial)
    for index in np.ndindex(*[work.sizes[d] for d in other]):
        yield np.asarray(work[index].values, dtype="float32")


def own_cloud_masks(
    da: xr.DataArray, spatial: tuple[str, str], *, size: int, fraction: tuple[float, float], stride: int | None = None, max_masks: int = 4096, seed: int = 0
) -> np.ndarray:
    """The dataset's own cloud masks: ``size`` x ``size`` windows of its gaps (bool (N, size, size)).

    Pixels never observed at any step (land, in a series) are left out of every mask and of
    its cover fraction; one image is read at a time. See
    :func:`sstfill.training.tiles.cut_cloud_masks`.

    Examples
    --------
    >>> import sstfill.testing
    >>> da = sstfill.testing.synthetic_sst(128, 128, nt=3)
    >>> cloudy, _ = da.inpaint.add_holes("clouds", fraction=0.3, seed=0)
    >>> own_cloud_masks(cloudy, ("lat", "lon"), size=64, fraction=(0.1, 0.7)).shape[1:]
    (64, 64)
    """
    other = [d for d in da.dims if d not in spatial]
    never = None
    if other:
        never = np.asarray((~da.notnull().any(other)).transpose(*spatial).values, dtype=bool)
    pairs = ((image, never) for image in images_of(da, spatial))
    return cut_cloud_masks(pairs, size, stride or max(8, size // 4), fraction, max_masks, seed)


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
    context: Any = None,
    by: str = "auto",
    max_validation: int = MAX_VALIDATION_SAMPLES,
) -> tuple[Any, Any, Any, str]:
    """Train/validation/test tiles of a field, split so that no tile leaks between sets.

    With a time axis (the first non-spatial dimension, 3 or more steps) the split is by
    contiguous blocks of time; otherwise, or with ``by="space"``, by bands of rows of the
    image(s), each band cut separately (every step in every set). A fraction of 0 leaves
    its set empty. Returns the three tile banks and a description of the split.

    For a model with context (``context``: its :class:`~sstfill.models.networks.ModelConfig`, with a ``context_margin`` or
    ``time_offsets``) the banks are :class:`~sstfill.training.windows.WindowBank` samples:
    windows around the tiles and the same place at neighbouring steps, taken from the same
    set only (a neighbour in another set is empty). A dask-backed field larger than
    :data:`SAMPLES_IN_MEMORY_BYTES` is never read whole: its samples are read a pool of steps
    at a time (:class:`~sstfill.training.windows.StreamedWindowBank`). The validation and
    test sets keep at most ``max_validation`` samples each (drawn once, seeded).

    For a model without context (``context`` with neither, or None: a latent model's tiles)
    the sets are tiles (N, T, T), cut whole, except the training set of a dask-backed field
    whose tiles would take more than :data:`SAMPLES_IN_MEMORY_BYTES` (up to
    ``(tile / stride)**2`` times its images): a
    :class:`~sstfill.training.windows.StreamedWindowBank` of the same tiles (row for row
    when the field's only leading axis is its time).
    """
    other = [d for d in da.dims if d not in spatial]
    with_context = context is not None and bool(context.context_margin or context.time_offsets)

    def bank(part: xr.DataArray) -> Any:
        cut = dict(stride=stride, min_valid=min_valid, max_tiles=max_tiles, seed=seed)
        if with_context:
            return _window_samples(part, spatial, context.tile_size, context.context_margin, context.time_offsets, context.time_step_days, **cut)
        tiles_bytes = _padded_image_bytes(part, spatial, 0) * (tile / stride) ** 2  # plain tiles cut whole: up to that per image
        if not _holds_whole(part, spatial, tiles_bytes):  # the same tiles, streamed: windows without margin or neighbours
            return _window_samples(part, spatial, tile, 0, (), 1.0, streamed=True, **cut)
        return cut_tiles_by_index(images_of(part, spatial), tile, stride, min_valid, max_tiles, seed)

    if by not in ("auto", "space"):
        raise ValueError(f"by must be 'auto' or 'space', got {by!r}")
    ny, nx = (da.sizes[d] for d in spatial)
    if min(ny, nx) < tile:  # not a tile to cut, whatever the split or min_valid
        raise InputDataError(f"Variable {da.name!r} has images of {ny} x {nx} pixels, smaller than the model's {tile} x {tile} tiles: there is no tile to learn from.",
                             fix=f"Train on a larger region, at least {tile} pixels along {spatial[0]!r} and {spatial[1]!r}.")
    if by == "auto" and other and da.sizes[other[0]] >= 3:
        dim = other[0]
        blocks = split_blocks(da.sizes[dim], split)
        banks = [bank(da.isel({dim: b})) if len(b) else np.empty((0, tile, tile), "float32") for b in blocks]
        how = f"by {dim}: " + ", ".join(f"{len(b)} step{'' if len(b) == 1 else 's'}" for b in blocks)
    else:
        ny = da.sizes[spatial[0]]
        blocks = split_blocks(ny, split)
        if min(len(b) for b, f in zip(blocks, split) if f > 0) < tile:
            steps = da.sizes[other[0]] if other else 1
            by_rows = f"{sum(1 for f in split if f > 0)} sets of at least {tile} rows each"
            if by == "auto":
                what = "one image" if steps == 1 else f"{steps} {other[0]} steps (a split by {other[0]} needs 3 or more)"
                fix, argument = "Train on 3 or more time steps, or a larger region, or pass split fractions that give every set enough rows.", "split"
            else:
                what = "one image" if steps == 1 else f"{steps} images"
                fix, argument = "Use a larger region (more rows), or pass split fractions that give every set enough rows.", "split_space"
            raise InputDataError(
                f"Variable {da.name!r} has {what} of {ny} rows: too few to split by bands of rows into {by_rows}.", fix=fix, argument=argument,
            )
        banks = [bank(da.isel({spatial[0]: b})) if len(b) else np.empty((0, tile, tile), "float32") for b in blocks]
        how = f"{ROWS_SPLIT} {spatial[0]}: " + ", ".join(f"rows {b[0]}-{b[-1]}" for b in blocks if len(b))
    for k in (1, 2):  # scored every epoch (validation) under fixed holes held in memory: a sample of them is enough
        if len(banks[k]) > max_validation:
            how += f"; {('validation', 'test')[k - 1]} on {max_validation} of its {len(banks[k])} samples"
            banks[k] = _at_most(banks[k], max_validation, np.random.default_rng([seed, k]))
        if not with_context and hasattr(banks[k], "gather"):  # a plain model's (capped) set as the tiles it scores
            banks[k] = banks[k].gather(np.arange(len(banks[k])))[:, 0]
    return banks[0], banks[1], banks[2], how


def _window_samples(part: xr.DataArray, spatial: tuple[str, str], tile: int, margin: int, offsets: tuple[float, ...], step_unit_days: float, *,
                    stride: int, min_valid: float, max_tiles: int | None, seed: int, streamed: bool = False) -> WindowBank | StreamedWindowBank:
    """Window samples of one set: a series per combination of the non-time leading axes.

    ``tile``, ``margin``, ``offsets`` and ``step_unit_days``: a model config's ``tile_size``,
    ``context_margin``, ``time_offsets`` (in units of ``time_step_days``) and ``time_step_days``.

    Held in memory (a :class:`WindowBank`) unless ``streamed`` or ``part`` is a dask array whose
    padded images take more than :data:`SAMPLES_IN_MEMORY_BYTES`: then a
    :class:`StreamedWindowBank` reads the steps a batch needs, that many bytes of them at most.
    """
    from sstfill.xr.series import find_time_dim, step_days

    time_dim = find_time_dim(part, spatial)
    rest = [d for d in part.dims if d not in spatial and d != time_dim]
    series = []  # (images (T, y, x) as a DataArray, days (T,))
    for index in np.ndindex(*[part.sizes[d] for d in rest]):
        one = part.isel(dict(zip(rest, index))) if rest else part
        if time_dim is None:
            series.append((one.transpose(*spatial).expand_dims("_step"), np.zeros(1)))
        else:
            days = step_days(one, time_dim) / step_unit_days if offsets else np.zeros(one.sizes[time_dim])  # no neighbours: no calendar
            series.append((one.transpose(time_dim, *spatial), days))
    image_bytes = _padded_image_bytes(part, spatial, margin)
    if streamed or not _holds_whole(part, spatial, image_bytes):
        readers = [partial(_read_steps, images) for images, _ in series]
        samples = streamed_window_bank(readers, [days for _, days in series], offsets, tile, margin, stride, min_valid,
                                       capacity=SAMPLES_IN_MEMORY_BYTES // image_bytes)
    else:
        samples = window_bank([(np.asarray(images.values, dtype="float32"), days) for images, days in series], offsets, tile, margin,
                              stride, min_valid)
    return samples if max_tiles is None else _at_most(samples, max_tiles, np.random.default_rng(seed))


def _padded_image_bytes(part: xr.DataArray, spatial: tuple[str, str], margin: int) -> int:
    """Bytes of one of ``part``'s images as float32, padded by ``margin`` on every side."""
    return 4 * (part.sizes[spatial[0]] + 2 * margin) * (part.sizes[spatial[1]] + 2 * margin)


def _holds_whole(part: xr.DataArray, spatial: tuple[str, str], bytes_per_image: float) -> bool:
    """Whether ``part``'s samples are held whole: a numpy field, or a lazy one whose samples take ``bytes_per_image`` an image and fit in :data:`SAMPLES_IN_MEMORY_BYTES`."""
    images = part.size // max(1, part.sizes[spatial[0]] * part.sizes[spatial[1]])
    return not hasattr(part.data, "dask") or bytes_per_image * images <= SAMPLES_IN_MEMORY_BYTES


def _at_most(samples: Any, n: int, rng: np.random.Generator) -> Any:
    """``samples`` (an array or a bank), or a random subset of ``n`` of them in their order."""
    if len(samples) <= n:
        return samples
    rows = np.sort(rng.choice(len(samples), n, replace=False))
    return samples.subset(rows) if hasattr(samples, "subset") else samples[rows]


def _read_steps(images: xr.DataArray, steps: np.ndarray) -> np.ndarray:
    """The images (float32 (len(steps), y, x)) of a lazy series at ``steps``: only those are read."""
    return np.asarray(images[np.asarray(steps)].values, dtype="float32")
