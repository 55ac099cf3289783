"""Fill one numpy block with a tile model, then fill what no tile reached region by region.

Pure numpy (and scipy): whatever runs a model's batches (threads, devices) and whatever
solves the regions no tile reached are passed in, as a :data:`TileRunner` and a
:data:`GapFiller`; :mod:`sstfill.xr.dispatch` passes the torch-aware ones.

The model interface is small: an object with ``tile_size`` (int, or None for any size),
``description`` (str) and ``predict_tiles(values, observed) -> values`` on float32 batches
``(N, T, T)`` where ``values`` is NaN wherever ``observed`` is False.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Protocol

import numpy as np

from sstfill.kernels.reach import beyond_reach
from sstfill.kernels.stitching import blend_tile_differences, seam_source
from sstfill.kernels.trend import TREND_BLOCK
from sstfill.kernels.tiling import MIN_COVERAGE, TilePlan, blend_tiles, smooth_tiles, window_coverage
from sstfill.kernels.windows import TileSource, window_sums

__all__ = [
    "TileModel",
    "TileRunner",
    "RegionSolver",
    "GapFiller",
    "SeamSolver",
    "run_in_batches",
    "fill_block",
    "tile_block",
    "fill_beyond_tiles",
    "fill_regions",
    "FALLBACK_MARGIN",
    "FALLBACK_MAX_REGIONS",
]


class TileModel(Protocol):
    """What a fill needs from a model.

    Optional attributes: ``context_margin`` and ``time_offsets`` (what the model sees
    beyond its tile), ``tile_reach`` (pixels: gaps farther than this from the observed
    pixels of their image are left to the fallback; None: no limit) and ``smooth_output``
    (its tiles go through :func:`~sstfill.kernels.tiling.smooth_tiles`).
    """

    tile_size: int | None
    description: str

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray: ...


#: ``run(model, values, observed, rows, batch_size, out, neighbours)`` sets
#: ``out[rows] = model.predict_tiles(values[rows], observed[rows])`` in calls of at most
#: ``batch_size`` tiles, passing ``neighbours=neighbours[rows]`` unless ``neighbours`` is
#: None. ``values`` and ``observed`` are indexable by rows like ``(N, W, W)`` arrays (the
#: tiles' context windows); ``observed`` None means where ``values`` is finite (each batch
#: is then cut once); ``out`` is ``(N, T, T)``.
TileRunner = Callable[[TileModel, Any, Any, np.ndarray, int, np.ndarray, Any], None]
#: ``solve(values, observed) -> values`` on ``(N, H, W)``: fills the unobserved pixels.
RegionSolver = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: ``fill_gaps(images, todo) -> images`` on ``(..., ny, nx)``: fills the ``todo`` pixels.
GapFiller = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: ``stitch(images, source, gaps) -> correction`` on ``(..., ny, nx)``: the stitching
#: correction with that ``source`` (:mod:`sstfill.kernels.stitching`), solved on the pixels
#: with a source (NaN elsewhere) and on the ``gaps`` (with none; None: no such pixels), free
#: on the other pixels without a value, float32, 0 where it was not solved.
SeamSolver = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], np.ndarray]


def run_in_batches(model: TileModel, values: Any, observed: Any, rows: np.ndarray, batch_size: int, out: np.ndarray, neighbours: Any = None) -> None:
    """The plain :data:`TileRunner`: ``out[rows] = model.predict_tiles(...)``, one batch after the other."""
    for b in range(0, rows.size, batch_size):
        sel = rows[b : b + batch_size]
        extra = {} if neighbours is None else {"neighbours": neighbours[sel]}
        v = values[sel]
        out[sel] = model.predict_tiles(v, np.isfinite(v) if observed is None else observed[sel], **extra)


def fill_block(
    block: np.ndarray,
    land: np.ndarray | None,
    *,
    model: TileModel,
    plan: TilePlan,
    start: tuple[int, int] = (0, 0),
    core: tuple[slice, slice] | None = None,
    batch_size: int | None = None,
    min_observed: float = 0.0,
    run_tiles: TileRunner = run_in_batches,
    fallback: GapFiller | None = None,
    stitch: SeamSolver | None = None,
    neighbours: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    side_by_side: bool = False,
) -> np.ndarray:
    """Fill the gaps of one block (..., ny, nx) with ``model``, tile by tile.

    Parameters
    ----------
    block : array (..., ny, nx)
        Field with NaN gaps, possibly with a halo of context around its core.
    land : bool array broadcastable to ``block``, or None
        Pixels never to fill.
    model : TileModel
        Fills batches of tiles. A model with a ``context_margin`` gets windows that much
        wider than its tiles (``plan.margin`` must match); one with ``time_offsets`` also
        gets the tiles of the ``neighbours`` images.
    plan : TilePlan
        Tile size, overlap and context margin.
    start : (int, int)
        Global (array) index of ``block[..., 0, 0]``; it places the tile lattice.
    core : (slice, slice), optional
        The part of the block whose pixels are wanted (default: all of it). Only tiles
        touching it are run.
    batch_size : int, optional
        Tiles per model call (default: the model's ``preferred_batch``, else 256).
    min_observed : float
        Tiles whose context window's observed fraction is not above this are not used. Each
        tile's blending weight is its window times its observed fraction, at least
        ``FRACTION_FLOOR`` (0.05; :meth:`TilePlan.tile_weights`), so tiles with more data
        dominate, by at most 20 to 1.
    run_tiles : TileRunner
        Runs the model on the tiles (default: :func:`run_in_batches`).
    fallback : GapFiller, optional
        Fills the gaps that no tile could fill (no observation within a tile's reach), via
        :func:`fill_beyond_tiles`; without it they stay NaN (flagged ``not_filled``).
    stitch : SeamSolver, optional
        With ``plan.stitch``, solves the stitching correction of the tiles' blend on the
        block (:mod:`sstfill.kernels.stitching`); without it the blend stays as it is.
    neighbours : int array (n_images, S), optional
        For each image of the block (its leading axes flattened), the images holding its
        neighbouring steps, one per time offset of the model (-1: no such step).
    targets : bool array (n_images,), optional
        The images to fill (default: all); the others are context and come back as given.
    side_by_side : bool
        Stitch in a second thread while the fallback runs (:func:`fill_beyond_tiles`).

    Returns
    -------
    array like ``block``
        Observed pixels bit for bit, land NaN, gaps filled where some tile could.

    Examples
    --------
    >>> class Mean:  # fills each tile with the mean of its observed pixels
    ...     tile_size, description = None, "tile mean"
    ...     def predict_tiles(self, values, observed):
    ...         return np.broadcast_to(np.nanmean(values, axis=(1, 2))[:, None, None], values.shape).astype("float32")
    >>> x = np.ones((100, 90), "float32"); x[40:50, 30:45] = np.nan
    >>> out = fill_block(x, None, model=Mean(), plan=TilePlan())
    >>> bool((out == 1).all())
    True
    """
    out, source = tile_block(
        block, land, model=model, plan=plan, start=start, core=core, batch_size=batch_size,
        min_observed=min_observed, run_tiles=run_tiles, neighbours=neighbours, targets=targets,
    )
    if fallback:  # only where the block's core has gaps the tiles left
        ny, nx = block.shape[-2:]
        core = core or (slice(0, ny), slice(0, nx))
        core_todo = np.isnan(out[..., core[0], core[1]])
        if land is not None:
            core_todo &= ~np.broadcast_to(land, block.shape)[..., core[0], core[1]]
        if targets is not None:
            core_todo &= np.broadcast_to(np.asarray(targets, dtype=bool).reshape(block.shape[:-2] + (1, 1)), core_todo.shape)
        fallback = fallback if core_todo.any() else None
    land_or_context = land if targets is None else _land_and_context(land, np.asarray(targets, dtype=bool), block.shape)
    return fill_beyond_tiles(out, land_or_context, fill_gaps=fallback, source=source, stitch=stitch, side_by_side=side_by_side)


def tile_block(
    block: np.ndarray,
    land: np.ndarray | None,
    *,
    model: TileModel,
    plan: TilePlan,
    start: tuple[int, int] = (0, 0),
    core: tuple[slice, slice] | None = None,
    batch_size: int | None = None,
    min_observed: float = 0.0,
    run_tiles: TileRunner = run_in_batches,
    neighbours: np.ndarray | None = None,
    targets: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The first step of :func:`fill_block` (same arguments): the tiles' blend, and its stitching source.

    Returns
    -------
    blend : array like ``block``
        Observed pixels bit for bit, land NaN, gaps filled where the tiles' blend reaches,
        NaN elsewhere (for the fallback).
    source : float32 array like ``block``, or None
        With ``plan.stitch``, the stitching correction's source on the pixels the tiles
        filled (:func:`~sstfill.kernels.stitching.seam_source`), NaN elsewhere; right on the
        block's core (the tiles touching the core and the ring of pixels around it run, so the
        blend is complete one pixel beyond the core). None without ``plan.stitch`` or when the
        core has no gap.
    """
    ny, nx = block.shape[-2:]
    core = core or (slice(0, ny), slice(0, nx))
    cy0, cy1, _ = core[0].indices(ny)
    cx0, cx1, _ = core[1].indices(nx)
    observed = np.isfinite(block)
    out = block.copy()
    gaps = ~observed if land is None else ~observed & ~np.broadcast_to(land, block.shape)
    images_gaps = gaps.reshape((-1, ny, nx))
    wanted = np.ones(len(images_gaps), dtype=bool) if targets is None else np.asarray(targets, dtype=bool)
    if not (images_gaps[wanted][:, cy0:cy1, cx0:cx1]).any():
        if land is not None:
            out[np.broadcast_to(land, block.shape) & ~observed] = np.nan
        return out, None
    tile, margin = plan.tile, plan.margin
    near = int(plan.stitch)  # with stitching, the tiles of the ring of pixels around the core too
    oy = plan.origins(start[0] + cy0 - near, start[0] + cy1 + near) - start[0]
    ox = plan.origins(start[1] + cx0 - near, start[1] + cx1 + near) - start[1]
    images = block.astype("float32", copy=False).reshape((-1, ny, nx))
    images_obs = observed.reshape(images.shape)
    source = TileSource(images, oy, ox, tile, margin)
    frac = (window_sums(images_obs, oy, ox, tile) / (tile * tile)).reshape(-1)
    context_frac = frac if not margin else (window_sums(images_obs, oy - margin, ox - margin, tile + 2 * margin) / (tile + 2 * margin) ** 2).reshape(-1)
    # only tiles of wanted images with enough data around them, and with some gap to fill, go to the model
    has_gap = window_sums(images_gaps, oy, ox, tile).reshape(-1) > 0
    use = (context_frac > min_observed) & has_gap & np.repeat(wanted, len(oy) * len(ox))
    pred = np.full(source.shape[:1] + (tile, tile), np.nan, dtype="float32")
    idx = np.flatnonzero(use)
    extra = None
    if neighbours is not None and getattr(model, "time_offsets", ()):
        extra = _NeighbourTiles(source, np.asarray(neighbours))
    run_tiles(model, source, None, idx, batch_size or getattr(model, "preferred_batch", 256), pred, extra)
    if getattr(model, "smooth_output", False) and idx.size:
        pred[idx] = smooth_tiles(pred[idx])
    # blending weight: the window times the tile's observed fraction, floored (tiles with data
    # only in their context still count); 0 for unused tiles and wherever a model returned no value
    lead = source.shape3
    weights = np.zeros(pred.shape, dtype="float32")
    used_weights = plan.tile_weights(frac[idx])
    used_weights[~np.isfinite(pred[idx])] = 0.0
    weights[idx] = used_weights
    active = use.reshape(lead).any(axis=0)  # per lattice position
    blended = blend_tiles(pred.reshape(lead + (tile, tile)), weights.reshape(lead + (tile, tile)), oy, ox, (ny, nx), active=active)
    blended = blended.reshape(block.shape)
    out = np.where(observed, block, blended.astype(block.dtype))
    without_prediction = has_gap.copy()
    without_prediction[idx] = ~np.isfinite(pred[idx]).any(axis=(1, 2))
    leave = _left_to_fallback(without_prediction.reshape(lead), plan, oy, ox, images_obs, images_gaps, getattr(model, "tile_reach", None))
    out[leave.reshape(block.shape)] = np.nan
    if targets is not None:  # context images come back as they were
        keep = np.broadcast_to(~wanted.reshape(block.shape[:-2] + (1, 1)), block.shape)
        out = np.where(keep, block, out)
    if land is not None:
        out[np.broadcast_to(land, block.shape) & ~observed] = np.nan
    if not plan.stitch:
        return out, None
    stitched = gaps & np.isfinite(out) & np.broadcast_to(wanted.reshape(block.shape[:-2] + (1, 1)), block.shape)
    along_x, along_y = blend_tile_differences(pred.reshape(lead + (tile, tile)), weights.reshape(lead + (tile, tile)), oy, ox, (ny, nx), active=active)
    return out, seam_source(out, along_x.reshape(block.shape), along_y.reshape(block.shape), stitched)


def _left_to_fallback(without_prediction: np.ndarray, plan: TilePlan, oy: np.ndarray, ox: np.ndarray, observed: np.ndarray, gaps: np.ndarray, reach: float | None) -> np.ndarray:
    """Gaps (n_images, ny, nx) the tiles' blend does not fill: too little cover, or beyond the model's reach.

    Tiles with a prediction must cover at least :data:`~sstfill.kernels.tiling.MIN_COVERAGE`
    of a pixel's window: the windows of all lattice tiles sum to one, so that is where the
    tiles with gaps but ``without_prediction`` hold more than the rest
    (:func:`~sstfill.kernels.tiling.window_coverage` of those alone; tiles without gaps
    cover only observed pixels). And the pixel must lie within ``reach`` pixels of an
    observed pixel of its image. Both depend only on pixels within a tile's reach, so the
    choice does not depend on the chunking.
    """
    leave = np.zeros(gaps.shape, dtype=bool)
    if without_prediction.any():
        leave = (window_coverage(without_prediction, plan.window(), oy, ox, gaps.shape[-2:]) > 1 - MIN_COVERAGE) & gaps
    if reach is not None:
        leave |= beyond_reach(observed, float(reach)) & gaps
    return leave


def _land_and_context(land: np.ndarray | None, wanted: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Land, and every pixel of the context images (which the fallback must leave alone)."""
    context = np.broadcast_to(~wanted.reshape(shape[:-2] + (1, 1)), shape)
    return context if land is None else context | np.broadcast_to(land, shape)


class _NeighbourTiles:
    """``neighbours[rows]``: the tiles (len(rows), S, T, T) of ``rows``' places at their neighbouring steps."""

    def __init__(self, source: TileSource, images: np.ndarray) -> None:
        self.source, self.images = source, images

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        image = np.unravel_index(np.asarray(rows), self.source.shape3)[0]
        return self.source.neighbours(rows, self.images[image])


def fill_beyond_tiles(
    filled: np.ndarray,
    land: np.ndarray | None,
    *,
    fill_gaps: GapFiller | None,
    periodic_x: bool = False,
    source: np.ndarray | None = None,
    stitch: SeamSolver | None = None,
    side_by_side: bool = False,
) -> np.ndarray:
    """Fill the gaps (NaN, not land) that no tile could reach with ``fill_gaps``, image by image.

    The second step of a fill, after the tiles; with a ``source`` (:func:`tile_block`'s) and
    ``stitch``, the tiles' blend is also stitched. The stitching correction is solved on the
    filled pixels and on the gaps (with no source there) and added to both: the fallback
    fills the gaps from the blend as it is, and being linear in its boundary values (a
    harmonic fill; about a trend of block means, nearly so), what the correction adds to
    them is the correction's own harmonic continuation into the gaps (on the held-out
    benchmark the fills moved by 0.2 % or less). So the two solves are independent: ``side_by_side`` runs
    the stitching in a second thread while the fallback runs in this one (for a caller
    that holds two cores; the result is the same). Run on whole images, its result does not
    depend on how the field was chunked. With ``periodic_x`` each image is rolled so that
    its x seam falls where gaps and stitched pixels are fewest (none, unless a cloud goes
    all the way round), filled, and rolled back, so gaps at or across the seam are filled
    as one.

    Examples
    --------
    >>> def fill_with_mean(images, todo):
    ...     return np.where(todo, np.nanmean(images), images)
    >>> x = np.ones((200, 200), "float32"); x[50:150, 60:160] = np.nan
    >>> float(fill_beyond_tiles(x, None, fill_gaps=fill_with_mean)[100, 100])
    1.0
    """
    if fill_gaps is None:
        todo = np.zeros(filled.shape, dtype=bool)
    else:
        todo = np.isnan(filled) if land is None else np.isnan(filled) & ~np.broadcast_to(np.asarray(land, dtype=bool), filled.shape)
    stitched = None if stitch is None or source is None else np.isfinite(source)
    if stitched is not None and not stitched.any():
        stitched = None
    if not todo.any() and stitched is None:
        return filled

    def finish(images: np.ndarray, gaps: np.ndarray, image_source: np.ndarray | None) -> np.ndarray:
        if image_source is None:
            return fill_gaps(images, gaps) if gaps.any() else images
        if not gaps.any():
            return _add_correction(images.copy(), stitch(images, image_source, None), np.isfinite(image_source))
        if side_by_side:
            with ThreadPoolExecutor(1, thread_name_prefix="sstfill-stitch") as pool:
                pending = pool.submit(stitch, images, image_source, gaps)
                filled = fill_gaps(images, gaps)
                correction = pending.result()
        else:
            correction = stitch(images, image_source, gaps)
            filled = fill_gaps(images, gaps)
        if filled is images:  # a gap filler may hand back its input, which is not ours to change
            filled = filled.copy()
        return _add_correction(filled, correction, np.isfinite(image_source) | gaps)

    if not periodic_x:
        return finish(filled, todo, None if stitched is None else source)
    images = filled.reshape((-1,) + filled.shape[-2:])
    todo_images = todo.reshape(images.shape)
    sources = [None] * len(images) if stitched is None else np.broadcast_to(source, filled.shape).reshape(images.shape)
    busy = todo_images if stitched is None else todo_images | stitched.reshape(images.shape)
    out = images.copy()
    for i, (image, gaps, image_source) in enumerate(zip(images, todo_images, sources)):
        if not busy[i].any():
            continue
        shift = _seam(busy[i].sum(axis=0))
        rolled_source = None if image_source is None else np.roll(image_source, -shift, axis=-1)
        rolled = finish(np.roll(image, -shift, axis=-1), np.roll(gaps, -shift, axis=-1), rolled_source)
        out[i] = np.roll(rolled, shift, axis=-1)
    return out.reshape(filled.shape)


def _add_correction(images: np.ndarray, correction: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``images`` (a fill's own array: changed in place) plus the stitching ``correction`` on the pixels ``where`` it was solved."""
    np.add(images, correction, out=images, where=where)
    return images


def _seam(per_column: np.ndarray) -> int:
    """Where to cut a periodic image for its fallback: the column farthest from any gap, at a multiple of the trend's blocks.

    The trend (:mod:`sstfill.kernels.trend`) is computed on blocks counted from the cut:
    cut at whole blocks, they stay where they are in the array, and far from the gaps the
    cut changes nothing of the fill, so a field that starts further east by whole blocks
    gets the same fill. If every column has a gap (a cloud all the way round), the cut
    goes where gaps are fewest within a region's margin on either side.
    """
    from scipy import ndimage

    candidates = np.arange(0, len(per_column), TREND_BLOCK)
    if (per_column > 0).all():
        nearby = sum(np.roll(per_column, k) for k in range(-FALLBACK_MARGIN, FALLBACK_MARGIN + 1))
        return int(candidates[np.argmin(nearby[candidates])])
    n = len(per_column)
    distance = ndimage.distance_transform_edt(np.tile(per_column == 0, 3))[n : 2 * n]  # around the circle
    return int(candidates[np.argmax(distance[candidates])])


#: Known pixels kept around each region of the fallback fill (its boundary values and context).
FALLBACK_MARGIN = 16
#: More separate regions than this in one image are filled in one pass over the whole image.
FALLBACK_MAX_REGIONS = 16


def fill_regions(images: np.ndarray, todo: np.ndarray, solve: RegionSolver) -> np.ndarray:
    """Fill the ``todo`` pixels of ``images`` (..., ny, nx), each connected region on its own.

    Each region is solved on its bounding box plus :data:`FALLBACK_MARGIN` pixels (for a
    harmonic fill the solution depends only on the pixels around the region), so the cost
    follows the area to fill, not the image's. An image with more than
    :data:`FALLBACK_MAX_REGIONS` regions is solved whole, as is a region whose box holds no
    known pixel.

    Examples
    --------
    >>> def solve_with_mean(values, observed):
    ...     return np.where(observed, values, np.nanmean(values, axis=(1, 2), keepdims=True))
    >>> x = np.zeros((60, 60), "float32"); x[:, 30:] = 2; x[5:10, 5:10] = np.nan; x[40:45, 50:55] = np.nan
    >>> out = fill_regions(x, np.isnan(x), solve_with_mean)
    >>> float(out[7, 7]), float(out[42, 52])
    (0.0, 2.0)
    """
    from scipy import ndimage

    lead = images.shape[:-2]
    flat = images.reshape((-1,) + images.shape[-2:])
    todo_flat = todo.reshape(flat.shape)
    known = np.isfinite(flat)
    result = flat.copy()
    ny, nx = flat.shape[-2:]
    for r in np.flatnonzero(todo_flat.any(axis=(1, 2)) & known.any(axis=(1, 2))):
        labels, n = ndimage.label(todo_flat[r])
        boxes = ndimage.find_objects(labels) if n <= FALLBACK_MAX_REGIONS else [(slice(0, ny), slice(0, nx))]
        for k, box in enumerate(boxes, start=1):
            y0, y1 = max(box[0].start - FALLBACK_MARGIN, 0), min(box[0].stop + FALLBACK_MARGIN, ny)
            x0, x1 = max(box[1].start - FALLBACK_MARGIN, 0), min(box[1].stop + FALLBACK_MARGIN, nx)
            if not known[r, y0:y1, x0:x1].any():
                y0, y1, x0, x1 = 0, ny, 0, nx
            region = (labels[y0:y1, x0:x1] == k) if len(boxes) > 1 else todo_flat[r, y0:y1, x0:x1]
            filled = solve(flat[None, r, y0:y1, x0:x1], known[None, r, y0:y1, x0:x1])[0]
            result[r, y0:y1, x0:x1] = np.where(region, filled.astype(images.dtype), result[r, y0:y1, x0:x1])
    return result.reshape(lead + images.shape[-2:])
