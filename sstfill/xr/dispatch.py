"""The one numpy-or-dask decision point, and the one place that sets torch's thread counts.

:func:`fill_array` fills a numpy array in groups of images, or builds a dask graph whose
tasks fill blocks with halos. Both run the numpy kernels of :mod:`sstfill.kernels.blocks`
with the torch-aware pieces plugged in here: :func:`run_tiles` (model calls on worker
threads, one torch thread each, in whole CPU micro-batches), :func:`stitch_tiles` (the
tiles' blend without its seams, :mod:`sstfill.kernels.stitching`) and
:func:`harmonic_fallback` (the converged Laplace fill of gaps no tile reached), each with
one torch thread. Both steps after the tiles run on whole images.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import multiprocessing
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import numpy as np
import torch

from sstfill.kernels import blocks
from sstfill.kernels.blocks import TileModel, fill_beyond_tiles, fill_regions
from sstfill.kernels.trend import fill_about_trend
from sstfill.kernels.tiling import TilePlan
from sstfill.kernels.windows import TimeContext, time_blocks
from sstfill.models.harmonic import LaplaceFiller, poisson_correction
from sstfill.models.inpainter import CPU_MICRO_BATCH
from sstfill.xr.chunking import in_chunks, merge_small_chunks, whole_image_chunks

__all__ = [
    "fill_array", "fill_block", "run_tiles", "harmonic_fallback", "model_workers", "torch_threads",
    "FALLBACK_TOLERANCE", "WHOLE_IMAGE_FALLBACK_PIXELS", "NUMPY_GROUP_TILES", "stitch_tiles",
]


def fill_block(block: np.ndarray, land: np.ndarray | None, *, fallback: bool = True, **kwargs: Any) -> np.ndarray:
    """:func:`sstfill.kernels.blocks.fill_block` with :func:`run_tiles` and, if ``fallback``, :func:`harmonic_fallback`.

    ``kwargs`` are those of the kernel (``model``, ``plan``, ``start``, ``core``,
    ``batch_size``, ``min_observed``). On a CPU the tiles are shared among
    :func:`model_workers` threads (at least one call each) and every call is padded to a
    whole number of 16-tile micro-batches.

    Examples
    --------
    >>> x = np.linspace(0, 1, 100 * 90, dtype="float32").reshape(100, 90); x[40:50, 30:45] = np.nan
    >>> out = fill_block(x, None, model=LaplaceFiller(), plan=TilePlan())
    >>> bool(np.isfinite(out).all())
    True
    """
    return blocks.fill_block(
        block, land, run_tiles=run_tiles, fallback=harmonic_fallback if fallback else None, stitch=stitch_tiles, side_by_side=_cores_to_share(), **kwargs
    )


def model_workers(model: TileModel) -> int:
    """Threads that run a model's batches here: torch's thread count in this thread, 1 on a GPU.

    Every CPU model call runs with one torch thread, whatever the path: a dask task of the
    threaded scheduler (which sets one torch thread per task) calls the model in its own
    thread; the main thread (numpy input, the synchronous scheduler) or a
    ``dask.distributed`` task with several cores runs that many worker threads, each with one
    torch thread. Results then do not depend on the scheduler or the chunks (the reduction
    order of a convolution depends on torch's thread count), and no OpenMP thread waits
    for a core that another program holds.
    """
    device = getattr(model, "device", None)
    if getattr(device, "type", device) == "cuda":
        return 1
    return max(1, torch.get_num_threads())


def _cores_to_share() -> bool:
    """Whether this thread may use two cores or more: torch's thread count here (1 in a dask task of the threaded scheduler)."""
    return torch.get_num_threads() > 1


def _one_torch_thread() -> None:
    torch.set_num_threads(1)


def run_tiles(model: TileModel, values: Any, observed: Any, rows: np.ndarray, batch_size: int, out: np.ndarray, neighbours: Any = None) -> None:
    """The torch-aware :data:`~sstfill.kernels.blocks.TileRunner`: batches on :func:`model_workers` threads.

    Sets ``out[rows] = model.predict_tiles(values[rows], observed[rows])`` (``observed``
    None: where the values are finite; with
    ``neighbours[rows]`` when given); with several workers, ``batch_size`` shrinks so that
    each gets at least one call.
    """
    workers = model_workers(model)
    device = getattr(model, "device", None)
    multiple = CPU_MICRO_BATCH if getattr(device, "type", device) != "cuda" else 1
    if workers > 1:  # at least one batch per worker, in whole micro-batches
        batch_size = min(batch_size, max(multiple, -(-rows.size // (workers * multiple)) * multiple))
    batches = [rows[b : b + batch_size] for b in range(0, rows.size, batch_size)]

    def run(sel: np.ndarray) -> None:
        # on a CPU every call gets a whole number of micro-batches (the last tile repeated):
        # oneDNN picks its convolution kernels by batch size, so a tile's values would
        # otherwise depend on how many tiles share its call, that is on the chunks
        padded = np.concatenate([sel, np.repeat(sel[-1:], -sel.size % multiple)])
        extra = {} if neighbours is None else {"neighbours": np.ascontiguousarray(neighbours[padded])}
        v = np.ascontiguousarray(values[padded])  # windows cut once per call; observed derived from them
        m = np.isfinite(v) if observed is None else np.ascontiguousarray(observed[padded])
        out[sel] = model.predict_tiles(v, m, **extra)[: sel.size]

    if min(workers, len(batches)) <= 1:
        with torch_threads(1 if workers > 1 else None):
            for sel in batches:
                run(sel)
        return
    with ThreadPoolExecutor(min(workers, len(batches)), thread_name_prefix="sstfill-tiles", initializer=_one_torch_thread) as pool:
        for done in [pool.submit(run, sel) for sel in batches]:
            done.result()


@contextlib.contextmanager
def torch_threads(wanted: int | None) -> Iterator[None]:
    """Torch's thread count in this thread set to ``wanted`` (None: as it is) while the block runs."""
    previous = torch.get_num_threads()
    if wanted is None or wanted == previous:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


#: The fallback's harmonic fill iterates until no pixel moves by more than this times the
#: range of the region's known values (:class:`~sstfill.models.harmonic.LaplaceFiller`).
FALLBACK_TOLERANCE = 1e-3


def harmonic_fallback(images: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """Fill what the tiles could not reach: a harmonic fill of the departure from the large-scale trend.

    The :data:`~sstfill.kernels.blocks.GapFiller` of a fill: the departure from the image's
    trend (:mod:`sstfill.kernels.trend`) is filled region by region
    (:func:`~sstfill.kernels.blocks.fill_regions`), converged to :data:`FALLBACK_TOLERANCE`
    (multigrid: it hardly depends on the image's orientation). With one torch thread: the
    result does not depend on torch's thread count, and on a busy machine it is 10x faster
    than with two (0.18 s against 2.5 s for a 256 x 112 region).

    Examples
    --------
    >>> x = np.ones((200, 200), "float32"); x[50:150, 60:160] = np.nan
    >>> float(harmonic_fallback(x, np.isnan(x))[100, 100])
    1.0
    """
    harmonic = LaplaceFiller(tolerance=FALLBACK_TOLERANCE)
    with torch_threads(1):  # results independent of torch's thread count, no spinning OpenMP threads on busy cores
        return fill_about_trend(images, todo, lambda image, gaps: fill_regions(image, gaps, harmonic.predict_tiles))


#: The stitching correction iterates until no pixel moves by more than this times its
#: largest value in the first cycle (:func:`~sstfill.models.harmonic.poisson_correction`).
#: On the real Norwegian Sea L2 scene (961 x 3113) the solve took 0.82 s with 1e-3, 0.51 s
#: with 1e-2 and 0.36 s with 3e-2, whose fill is at most 0.004 K (0.0002 K RMS) from
#: 1e-3's; one V-cycle alone took 0.12 s but was 0.042 K from it.
STITCH_TOLERANCE = 3e-2


def stitch_tiles(images: np.ndarray, source: np.ndarray, gaps: np.ndarray | None = None) -> np.ndarray:
    """The torch-aware :data:`~sstfill.kernels.blocks.SeamSolver`: the stitching correction of the tiles' blend, image by image.

    Each image's correction (:func:`~sstfill.models.harmonic.poisson_correction`, to
    :data:`STITCH_TOLERANCE`) is solved on the box around the pixels with a ``source`` and
    the ``gaps`` (solved for with no source: the gaps left to the fallback), with one torch
    thread (as the fallback, for the same reasons). It is held at 0 on the other pixels
    with a value (the observed ones), and solved with no source on those without (land), so
    that it is not pinned to 0 along a coast: there it carries on smoothly, nearly as a
    zero-flux boundary would. Returns float32 like ``images``, 0 outside the boxes.

    Examples
    --------
    >>> blend = np.array([[5.0, 0.0, 0.0, 1.0, 1.0, 5.0]], "float32")  # a step between two tiles
    >>> source = np.array([[np.nan, 0.0, -1.0, 1.0, 0.0, np.nan]], "float32")  # theirs: flat
    >>> [round(v, 2) for v in (blend + stitch_tiles(blend, source))[0].tolist()]
    [5.0, 0.2, 0.4, 0.6, 0.8, 5.0]
    """
    correction = np.zeros(np.shape(images), dtype="float32")
    shape = (-1,) + correction.shape[-2:]
    flat_images, flat_correction = np.reshape(images, shape), correction.reshape(shape)
    flat_source = np.broadcast_to(source, correction.shape).reshape(shape)
    flat_gaps = None if gaps is None else np.broadcast_to(gaps, correction.shape).reshape(shape)
    ny, nx = correction.shape[-2:]
    with torch_threads(1):
        for i, (image, image_source) in enumerate(zip(flat_images, flat_source)):
            with_source = np.isfinite(image_source)
            if not with_source.any():  # nothing to stitch: its correction is 0
                continue
            domain = with_source if flat_gaps is None else with_source | flat_gaps[i]
            rows, cols = np.flatnonzero(domain.any(axis=1)), np.flatnonzero(domain.any(axis=0))
            box = (slice(max(rows[0] - 1, 0), min(rows[-1] + 2, ny)), slice(max(cols[0] - 1, 0), min(cols[-1] + 2, nx)))
            free = domain[box] | np.isnan(image[box])  # land and gaps left to the fallback: c is free there, not held at 0
            box_source = torch.from_numpy(np.where(with_source[box], image_source[box], 0.0).astype("float32"))[None]
            flat_correction[i][box] = poisson_correction(box_source, torch.from_numpy(free)[None], STITCH_TOLERANCE)[0].numpy()
    return correction


@contextlib.contextmanager
def _task_torch_threads() -> Iterator[None]:
    """Share the cores between dask's threads and torch's while one task runs.

    A task in a ``dask.distributed`` worker with ``nthreads`` threads gets
    ``cores // nthreads`` torch threads; one in the threaded scheduler's pool, or in a
    process of the multiprocessing scheduler, gets one (those run one task per core).
    A task in the main thread (the synchronous scheduler) keeps torch's setting. OpenMP
    keeps its thread count per calling thread, so it is set, and restored, in every task.
    The model itself always runs with one torch thread per calling thread (see
    :func:`model_workers`): this count is how many such threads a task may use.
    """
    cores = os.cpu_count() or 1
    from distributed import get_worker  # here, not at the top: importing distributed costs ~1 s

    try:
        wanted = max(1, cores // max(1, get_worker().state.nthreads))
    except ValueError:  # not in a distributed worker
        in_main = threading.current_thread() is threading.main_thread() and multiprocessing.parent_process() is None
        wanted = None if in_main else 1
    with torch_threads(wanted):
        yield


def _fill_dask_block(
    block: np.ndarray,
    land: np.ndarray,
    *,
    chunks_yx: tuple[tuple[int, ...], tuple[int, ...]],
    depth_yx: tuple[int, int],
    periodic_x: bool,
    block_info: dict | None = None,
    time: TimeContext | None = None,
    deferred: bool = False,
    **kwargs: Any,
) -> np.ndarray:
    """map_overlap kernel: locate the block in the full array, then :func:`fill_block`.

    ``deferred``: only the tiles (:func:`~sstfill.kernels.blocks.tile_block`); the blend and
    its stitching source come back as one record array (:func:`_record`) for the whole-image
    step.
    """
    if time is not None:  # the block's steps: a halo of context steps around its core
        it = block_info[0]["chunk-location"][time.axis]
        left = time.depth if it > 0 else 0
        t0 = int(sum(time.chunks[:it])) - left
        kwargs["neighbours"], kwargs["targets"] = time.for_block(block.shape[:-2], t0, (left, left + time.chunks[it]))
    iy, ix = block_info[0]["chunk-location"][-2:]
    starts, cores = [], []
    for axis, (index, chunks, depth) in enumerate(zip((iy, ix), chunks_yx, depth_yx)):
        periodic = periodic_x and axis == 1
        left = depth if (index > 0 or periodic) else 0
        core_start = int(sum(chunks[:index]))
        starts.append(core_start - left)
        cores.append(slice(left, left + chunks[index]))
        assert block.shape[-2 + axis] >= left + chunks[index], "unexpected halo layout"
    with _task_torch_threads():
        if not deferred:
            return fill_block(block, land, start=tuple(starts), core=tuple(cores), **kwargs)
        blend, source = blocks.tile_block(block, land, run_tiles=run_tiles, start=tuple(starts), core=tuple(cores), **kwargs)
    out = np.empty(blend.shape, dtype=_record(blend.dtype))
    out["blend"], out["source"] = blend, np.nan if source is None else source
    return out


def _record(dtype: Any) -> np.dtype:
    """A deferred block's record: the tiles' blend and its stitching source, for the whole-image step."""
    return np.dtype([("blend", dtype), ("source", "float32")])


#: Images up to this many pixels (4096 x 4096) get the stitching and the fallback on the
#: whole image, also when chunked in space, so a chunked fill equals an unchunked one bit
#: for bit. Larger images (a global 0.01-degree grid) get the fallback block by block, each
#: block seeing a halo of ``plan.halo`` pixels, and their tiles' plain blend (not stitched).
#: The fallback of one image can need about 10-12 times its float32 size when one cloud
#: covers most of it (measured: +207 MB for 2048 x 2048, +663 MB for 4096 x 4096).
WHOLE_IMAGE_FALLBACK_PIXELS = 2**24


def fill_array(
    data: Any,
    land: Any = None,
    *,
    model: TileModel,
    plan: TilePlan,
    periodic_x: bool = False,
    batch_size: int | None = None,
    min_observed: float = 0.0,
    fallback: bool = True,
    time: TimeContext | None = None,
) -> Any:
    """Fill a numpy or dask array whose last two axes are (y, x).

    Two steps: the tiles (:func:`fill_block`), then the harmonic fallback of gaps that no
    tile could reach (:func:`~sstfill.kernels.blocks.fill_beyond_tiles` with
    :func:`harmonic_fallback`). With dask nothing is computed here: each
    block is tiled with a halo of ``plan.halo`` pixels taken from its neighbours (wrapped
    around in x when ``periodic_x``), and the fallback runs on whole images (up to
    :data:`WHOLE_IMAGE_FALLBACK_PIXELS`), so the result does not depend on the chunking.

    Parameters
    ----------
    data : numpy or dask array (..., ny, nx)
    land : bool array (ny, nx) or like ``data``, or None
    model, plan, batch_size, min_observed, fallback
        As in :func:`fill_block`.
    periodic_x : bool
        The x axis wraps around (global longitude).
    time : TimeContext, optional
        The time axis and each step's neighbouring steps, for a model with time offsets:
        each image is filled with its neighbours' tiles (a halo of steps around every block
        or group of images, so the result does not depend on the chunks either).
    """
    kwargs = dict(model=model, plan=plan, batch_size=batch_size, min_observed=min_observed)
    if time is not None and (time.depth == 0 or not getattr(model, "time_offsets", ())):
        time = None  # no step has a neighbour, or the model does not look at them
    if not hasattr(data, "dask"):
        if time is not None:
            return _fill_numpy_series(np.asarray(data), land, periodic_x=periodic_x, fallback=fallback, time=time, **kwargs)
        return _fill_numpy(np.asarray(data), land, periodic_x=periodic_x, fallback=fallback, **kwargs)
    import dask.array as da

    ny, nx = data.shape[-2:]
    halo = plan.halo
    given_chunks = data.chunks  # the result comes back in them (chunks smaller than the halo are merged to fill)
    chunks = list(data.chunks)
    chunks[-2] = merge_small_chunks(chunks[-2], halo)
    chunks[-1] = merge_small_chunks(chunks[-1], halo)
    if time is not None:
        chunks[time.axis] = time_blocks(chunks[time.axis], time.depth)  # blocks of at least the halo, no larger
        time = dataclasses.replace(time, chunks=tuple(chunks[time.axis]))
    data = data.rechunk(tuple(chunks))
    depth_y = halo if len(chunks[-2]) > 1 else 0
    depth_x = halo if len(chunks[-1]) > 1 else 0
    if periodic_x:
        depth_x = min(halo, min(chunks[-1]))
    if land is None:
        land_full = da.zeros(data.shape, dtype=bool, chunks=data.chunks)
    else:
        land_full = da.broadcast_to(da.asarray(land).astype(bool), data.shape).rechunk(data.chunks)
    depth = {axis: 0 for axis in range(data.ndim - 2)}
    depth.update({data.ndim - 2: depth_y, data.ndim - 1: depth_x})
    if time is not None and len(chunks[time.axis]) > 1:
        depth[time.axis] = time.depth
    elif time is not None:
        time = dataclasses.replace(time, chunks=(data.shape[time.axis],))
    boundary = {axis: "none" for axis in range(data.ndim)}
    if periodic_x:
        boundary[data.ndim - 1] = "periodic"
    whole_images = ny * nx <= WHOLE_IMAGE_FALLBACK_PIXELS
    deferred = whole_images and plan.stitch  # the blend is stitched on whole images, with the fallback
    if not whole_images:  # stitched block by block, each block's correction would step at its borders
        kwargs["plan"] = dataclasses.replace(plan, stitch=False)
    tiled_dtype = _record(data.dtype) if deferred else data.dtype
    kernel = functools.partial(
        _fill_dask_block,
        chunks_yx=(tuple(chunks[-2]), tuple(chunks[-1])),
        depth_yx=(depth_y, depth_x),
        periodic_x=periodic_x,
        time=time,
        deferred=deferred,
        **kwargs,
        **({} if deferred else {"fallback": fallback and not whole_images}),  # deferred: the whole-image step's
    )
    tiled = da.map_overlap(
        kernel,
        data,
        land_full,
        depth=depth,
        boundary=boundary,
        trim=True,
        align_arrays=False,
        dtype=tiled_dtype,
        meta=np.empty((0,) * data.ndim, dtype=tiled_dtype),
    )
    if not ((fallback or deferred) and whole_images):
        return in_chunks(tiled, given_chunks)
    # stitching and fallback on whole images: blocks that hold whole images as they are; otherwise
    # gather the blocks of each group of whole images into one task (:func:`whole_image_chunks`), fill, split again
    step = functools.partial(_fill_beyond_tiles_task, periodic_x=periodic_x, fallback=fallback)
    meta = np.array((), dtype=data.dtype)
    if len(data.chunks[-2]) == 1 and len(data.chunks[-1]) == 1:
        return in_chunks(da.map_blocks(step, tiled, land_full, dtype=data.dtype, meta=meta), given_chunks)
    whole = whole_image_chunks(data.chunks[:-2], ny * nx * tiled_dtype.itemsize) + ((ny,), (nx,))
    filled = da.map_blocks(step, tiled.rechunk(whole), land_full.rechunk(whole), dtype=data.dtype, meta=meta)
    return filled.rechunk(given_chunks)


def _fill_beyond_tiles_task(tiled: np.ndarray, land: np.ndarray, *, fallback: bool, periodic_x: bool) -> np.ndarray:
    """Whole-image step: stitch the tiles' blend (when it comes with its seam source), then the fallback."""
    blend, source = (tiled["blend"], tiled["source"]) if tiled.dtype.names else (tiled, None)
    with _task_torch_threads():
        return fill_beyond_tiles(
            blend, land, fill_gaps=harmonic_fallback if fallback else None, periodic_x=periodic_x, source=source, stitch=stitch_tiles,
            side_by_side=_cores_to_share(),
        )


#: Tiles per group when a numpy array of many images is filled (at least the model's batch):
#: images go through in groups, so the fill's working memory (about 20 times the data it
#: holds at once) follows the group, not the whole array.
NUMPY_GROUP_TILES = 2048


def _fill_numpy(data: np.ndarray, land: Any, *, periodic_x: bool, fallback: bool, **kwargs: Any) -> np.ndarray:
    """Numpy path of :func:`fill_array`: the images of ``data`` (..., ny, nx) in groups."""
    ny, nx = data.shape[-2:]
    land_np = None if land is None else np.asarray(land, dtype=bool)
    plan = kwargs["plan"]
    per_image = len(plan.origins(0, ny)) * len(plan.origins(0, nx))
    batch = kwargs.get("batch_size") or getattr(kwargs["model"], "preferred_batch", 256)
    group = max(1, max(NUMPY_GROUP_TILES, batch) // per_image)
    images = data.reshape((-1, ny, nx))
    if len(images) <= group:
        return _fill_numpy_group(data, land_np, periodic_x=periodic_x, fallback=fallback, **kwargs)
    land_images = None if land_np is None or land_np.ndim < data.ndim else np.broadcast_to(land_np, data.shape).reshape(images.shape)
    out = np.empty_like(images)
    for g in range(0, len(images), group):
        land_g = land_np if land_images is None else land_images[g : g + group]
        out[g : g + group] = _fill_numpy_group(images[g : g + group], land_g, periodic_x=periodic_x, fallback=fallback, **kwargs)
    return out.reshape(data.shape)


def _fill_numpy_series(data: np.ndarray, land: Any, *, periodic_x: bool, fallback: bool, time: TimeContext, **kwargs: Any) -> np.ndarray:
    """Numpy path of :func:`fill_array` for a model with time offsets: groups of steps, each with its halo of neighbouring steps."""
    ny, nx = data.shape[-2:]
    land_np = None if land is None else np.asarray(land, dtype=bool)
    plan = kwargs["plan"]
    per_step = len(plan.origins(0, ny)) * len(plan.origins(0, nx)) * int(np.prod(data.shape[:-2])) // data.shape[time.axis]
    batch = kwargs.get("batch_size") or getattr(kwargs["model"], "preferred_batch", 256)
    group = max(1, max(NUMPY_GROUP_TILES, batch) // max(1, per_step))
    n_steps = data.shape[time.axis]
    out = np.empty_like(data)
    land_full = None if land_np is None or land_np.ndim < data.ndim else np.broadcast_to(land_np, data.shape)
    for g0 in range(0, n_steps, group):
        g1 = min(n_steps, g0 + group)
        lo, hi = max(0, g0 - time.depth), min(n_steps, g1 + time.depth)
        take = [slice(None)] * data.ndim
        take[time.axis] = slice(lo, hi)
        part = data[tuple(take)]
        land_part = land_np if land_full is None else land_full[tuple(take)]
        neighbours, targets = time.for_block(part.shape[:-2], lo, (g0 - lo, g1 - lo))
        filled = _fill_numpy_group(part, land_part, periodic_x=periodic_x, fallback=fallback, neighbours=neighbours, targets=targets, **kwargs)
        put = [slice(None)] * data.ndim
        put[time.axis] = slice(g0, g1)
        core = [slice(None)] * data.ndim
        core[time.axis] = slice(g0 - lo, g1 - lo)
        out[tuple(put)] = filled[tuple(core)]
    return out


def _fill_numpy_group(data: np.ndarray, land: np.ndarray | None, *, periodic_x: bool, fallback: bool, **kwargs: Any) -> np.ndarray:
    if not periodic_x:
        return fill_block(data, land, fallback=fallback, **kwargs)
    tiled, source = _tile_periodic_numpy(data, land, **kwargs)
    return fill_beyond_tiles(
        tiled, land, fill_gaps=harmonic_fallback if fallback else None, periodic_x=True, source=source, stitch=stitch_tiles, side_by_side=_cores_to_share()
    )


def _tile_periodic_numpy(data: np.ndarray, land: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Numpy path for a wrapping x axis: pad by the halo from the other side, tile, crop (the blend and its stitching source)."""
    halo = min(kwargs["plan"].halo, data.shape[-1])
    along_x = [(0, 0)] * (data.ndim - 1) + [(halo, halo)]
    wrapped = np.pad(data, along_x, mode="wrap")
    land_w = None
    if land is not None:
        land_w = np.pad(np.broadcast_to(np.asarray(land, dtype=bool), data.shape), along_x, mode="wrap")
    core = (slice(0, data.shape[-2]), slice(halo, halo + data.shape[-1]))
    blend, source = blocks.tile_block(wrapped, land_w, run_tiles=run_tiles, start=(0, -halo), core=core, **kwargs)
    crop = (Ellipsis, slice(halo, halo + data.shape[-1]))
    return blend[crop], None if source is None else source[crop]
