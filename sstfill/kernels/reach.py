"""How far each pixel is from the data, and which gaps lie beyond a fill's reach (numpy only).

A fill far from any observation is extrapolation. :func:`distance_to_observed` gives, per
image (the last two axes), the Euclidean distance of every pixel to the nearest observed
pixel, in pixels or with a pixel spacing per row (lat/lon grids, whose x spacing shrinks
with latitude); :func:`beyond_reach` turns it into the mask of the gaps farther than a
reach. A wrapping x axis (a global grid) is padded from the other side first.

Spacing per row is handled in classes: each row's (dy, dx) is rounded to the nearest step
of a geometric ladder of ratio 1 + :data:`SPACING_STEP`, and rows of one class share one
exact distance transform, so a distance is accurate to about half that step (1.5 %).
"""

from __future__ import annotations

import functools
import hashlib
import math
import threading
from collections import OrderedDict

import numpy as np
from scipy import ndimage

__all__ = ["SPACING_STEP", "beyond_reach", "distance_float32", "distance_to_observed", "edt_to_observed", "reach_halo"]

#: Relative width of a spacing class: rows whose (dy, dx) differ by less share one transform.
SPACING_STEP = 0.03


#: Distance transforms kept (:func:`edt_to_observed`), and the largest image (pixels) kept.
EDT_CACHE_ENTRIES, EDT_CACHE_PIXELS = 2, 2**21
_edt_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
_edt_lock = threading.Lock()


def edt_to_observed(observed: np.ndarray, sampling: tuple[float, float] | None = None) -> np.ndarray:
    """Euclidean distance of every pixel of one image (2-D) to its nearest observed pixel (read-only).

    The distance transform of ``~observed`` (:func:`_edt`). In pixels (``sampling`` None) it
    is remembered for the last :data:`EDT_CACHE_ENTRIES` images (by their content): a fill
    asks for that transform twice, for the tiles' reach (:func:`beyond_reach`) and for its
    error variable (:func:`sstfill.kernels.uncertainty.error_features`). Transforms with a
    spacing (the km reach) are not asked for twice and are not kept.

    Examples
    --------
    >>> obs = np.zeros((2, 5), bool); obs[0, 0] = True
    >>> edt_to_observed(obs)[0].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    observed = np.asarray(observed, dtype=bool)
    sampling = None if sampling is None else (float(sampling[0]), float(sampling[1]))
    if sampling == (1.0, 1.0):
        sampling = None  # the same transform: one key
    if sampling is not None or observed.size > EDT_CACHE_PIXELS:
        return _edt(observed, sampling)
    key = (observed.shape, sampling, hashlib.blake2b(np.packbits(observed).tobytes(), digest_size=16).digest())
    with _edt_lock:
        if key in _edt_cache:
            _edt_cache.move_to_end(key)
            return _edt_cache[key]
    distance = _edt(observed, sampling)
    distance.setflags(write=False)
    with _edt_lock:
        _edt_cache[key] = distance
        while len(_edt_cache) > EDT_CACHE_ENTRIES:
            _edt_cache.popitem(last=False)
    return distance


#: Largest squared distance (pixels) whose float32 square root still gives it back exactly.
_EXACT_FLOAT32_SQUARES = 2**22


@functools.cache
def _opencv():
    """OpenCV's ``cv2`` module, or None where it is not installed (it is optional; looked up once)."""
    try:
        import cv2
    except ImportError:  # pragma: no cover - opencv is part of the dev and conda environments
        return None
    return cv2


def _edt(observed: np.ndarray, sampling: tuple[float, float] | None) -> np.ndarray:
    """The distance transform of ``~observed`` (2-D), float64, the values of scipy's bit for bit.

    Square pixels go to OpenCV's exact transform (Felzenszwalb's algorithm,
    ``cv2.DIST_MASK_PRECISE``; about 10x faster than scipy's on a megapixel) where it is
    installed: its float32 distances are square roots of integers, which are recovered
    (rounded squares) and taken again in float64, which is exact while the squared distances
    stay below :data:`_EXACT_FLOAT32_SQUARES` (images up to ~1,400 pixels square).
    Otherwise, and for other spacings, :func:`scipy.ndimage.distance_transform_edt`.
    """
    ny, nx = observed.shape
    cv2 = _opencv() if sampling is None and observed.any() else None
    if cv2 is None or (ny - 1) ** 2 + (nx - 1) ** 2 >= _EXACT_FLOAT32_SQUARES:
        return ndimage.distance_transform_edt(~observed, sampling=sampling)
    distance = cv2.distanceTransform(np.ascontiguousarray(~observed, dtype=np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE).astype("float64")
    np.square(distance, out=distance)
    np.rint(distance, out=distance)
    return np.sqrt(distance, out=distance)


def distance_float32(observed: np.ndarray, periodic_x: bool = False) -> np.ndarray:
    """float32 distance (pixels) of every pixel of one image (2-D) to its nearest observed pixel, in little memory.

    OpenCV's transform where it is installed (its roots of whole squares taken again, so the
    same bits whatever its threads; scipy's exact transform of a 2048 x 2048 image takes
    about 10 times the image's float32 size), else
    :func:`distance_to_observed`; also for ``periodic_x`` and images without data (``inf``).

    Examples
    --------
    >>> obs = np.zeros((2, 5), bool); obs[0, 0] = True
    >>> distance_float32(obs)[0].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    cv2 = _opencv()
    ny, nx = observed.shape
    if cv2 is None or periodic_x or not observed.any() or (ny - 1) ** 2 + (nx - 1) ** 2 >= 2**31:
        return distance_to_observed(observed, periodic_x=periodic_x).astype("float32")
    distance = cv2.distanceTransform(np.ascontiguousarray(~observed, dtype=np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # its float32 values may differ in the last bit with how OpenCV splits the image among its threads: they are
    # square roots of integers, so the integers are recovered and the roots taken again (the same bits every time)
    squares = np.rint(np.square(distance, dtype="float64"))
    return np.sqrt(squares, out=squares).astype("float32")


def _spacing_rows(spacing: tuple | None, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (dy, dx) arrays of length ``ny`` from None (pixels), scalars or per-row arrays."""
    if spacing is None:
        return np.ones(ny), np.ones(ny)
    dy, dx = spacing
    dy = np.broadcast_to(np.asarray(dy, dtype="float64"), (ny,))
    dx = np.broadcast_to(np.asarray(dx, dtype="float64"), (ny,))
    if not (
        np.all(np.isfinite(dy))
        and np.all(np.isfinite(dx))
        and np.all(dy > 0)
        and np.all(dx > 0)
    ):
        raise ValueError(
            "spacing: pixel spacings must be finite and positive; pass spacing=None to measure in pixels."
        )
    return dy, dx


def _classes(
    dy: np.ndarray, dx: np.ndarray
) -> tuple[np.ndarray, dict[int, tuple[float, float]]]:
    """Class per row and each class's spacing: (dy, dx) rounded on a geometric ladder of SPACING_STEP.

    A class's spacing depends only on the class (not on which rows are at hand), so a block
    of an image gets the distances of the whole image. A constant spacing is its own, exact class.
    """
    if np.all(dy == dy[0]) and np.all(
        dx == dx[0]
    ):  # one spacing (projected grids, pixels): exact
        return np.zeros(dy.shape, np.int64), {0: (float(dy[0]), float(dx[0]))}
    step = math.log1p(SPACING_STEP)
    ky = np.round(np.log(dy) / step).astype(np.int64)
    kx = np.round(np.log(dx) / step).astype(np.int64)
    keys = ky * 1_000_003 + kx
    spacing = {
        int(k): (math.exp(int(a) * step), math.exp(int(b) * step))
        for k, a, b in zip(keys, ky, kx)
    }
    return keys, spacing


def distance_to_observed(
    observed: np.ndarray,
    spacing: tuple | None = None,
    *,
    periodic_x: bool = False,
    halo_x: int | None = None,
    limit: float | None = None,
) -> np.ndarray:
    """Distance of every pixel to the nearest observed pixel of its image.

    Parameters
    ----------
    observed : bool array (..., ny, nx)
        True where a pixel is observed.
    spacing : (dy, dx), optional
        Pixel spacing along y and x, each a scalar or one value per row (length ``ny``);
        None measures in pixels. A row's distances use that row's spacing (to within
        :data:`SPACING_STEP`).
    periodic_x : bool
        The x axis wraps around: distances are measured across the seam.
    halo_x : int, optional
        Columns wrapped around on each side when ``periodic_x`` (default: the whole width).
    limit : float, optional
        Only distances up to ``limit`` are needed: each spacing class is then transformed
        on its rows plus ``limit`` of context (much faster on tall images); a distance
        beyond ``limit`` is then only known to be larger than it.

    Returns
    -------
    float64 array like ``observed``: 0 on observed pixels, ``inf`` in an image without any.

    Examples
    --------
    >>> obs = np.zeros((3, 6), bool); obs[1, 0] = True
    >>> distance_to_observed(obs)[1].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> distance_to_observed(obs, periodic_x=True)[1].tolist()
    [0.0, 1.0, 2.0, 3.0, 2.0, 1.0]
    >>> float(distance_to_observed(obs, spacing=(1.0, 2.5))[1, 2])
    5.0
    """
    observed = np.asarray(observed, dtype=bool)
    ny, nx = observed.shape[-2:]
    dy, dx = _spacing_rows(spacing, ny)
    pad = 0
    if periodic_x:
        pad = nx if halo_x is None else min(int(halo_x), nx)
        observed = np.pad(
            observed, [(0, 0)] * (observed.ndim - 1) + [(pad, pad)], mode="wrap"
        )
    images = observed.reshape((-1,) + observed.shape[-2:])
    out = np.full(images.shape, np.inf)
    classes, class_spacing = _classes(dy, dx)
    for i, image in enumerate(images):
        if not image.any():
            continue
        for k in np.unique(classes):
            rows = np.flatnonzero(classes == k)
            sampling = class_spacing[int(k)]
            y0, y1 = 0, ny
            if limit is not None:
                context = math.ceil(limit / float(dy.min())) + 1
                y0, y1 = max(rows[0] - context, 0), min(rows[-1] + 1 + context, ny)
            part = image[y0:y1]
            if not part.any():
                continue  # stays inf: nothing within the limit
            out[i, rows] = edt_to_observed(part, sampling)[rows - y0]
    out = out.reshape(observed.shape)
    return out[..., pad : pad + nx] if pad else out


def beyond_reach(
    observed: np.ndarray,
    reach: float,
    spacing: tuple | None = None,
    *,
    periodic_x: bool = False,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Gaps farther than ``reach`` from every observed pixel of their image.

    Parameters
    ----------
    observed : bool array (..., ny, nx)
    reach : float
        In the units of ``spacing`` (pixels when it is None); ``inf`` marks nothing.
    spacing, periodic_x
        As in :func:`distance_to_observed`.
    exclude : bool array broadcastable to ``observed``, optional
        Pixels never marked (land).

    Returns
    -------
    bool array like ``observed``: True on unobserved pixels beyond the reach.

    Examples
    --------
    >>> obs = np.zeros((1, 8), bool); obs[0, 0] = True
    >>> beyond_reach(obs, 3.0).astype(int).tolist()
    [[0, 0, 0, 0, 1, 1, 1, 1]]
    """
    observed = np.asarray(observed, dtype=bool)
    out = np.zeros(observed.shape, dtype=bool)
    gaps = ~observed
    if exclude is not None:
        gaps &= ~np.broadcast_to(np.asarray(exclude, dtype=bool), observed.shape)
    if math.isinf(reach) or not gaps.any():
        return out
    smax_all = (
        1.0
        if spacing is None
        else max(float(np.max(spacing[0])), float(np.max(spacing[1])))
        * (1 + SPACING_STEP)
    )
    if _surely_within(observed, gaps, reach / smax_all):
        return out
    if spacing is None:
        return (
            distance_to_observed(
                observed,
                None,
                periodic_x=periodic_x,
                halo_x=reach_halo(reach, 1.0),
                limit=reach,
            )
            > reach
        ) & gaps
    return _beyond_reach_spaced(observed, gaps, reach, spacing, periodic_x)


def _beyond_reach_spaced(
    observed: np.ndarray, gaps: np.ndarray, reach: float, spacing: tuple, periodic_x: bool
) -> np.ndarray:
    """:func:`beyond_reach` with a spacing per row: one transform bounds every distance, exact ones settle the rest.

    Each row's distances use its class's spacing ``(cy, cx)`` (see :func:`_classes`). One
    transform with a reference spacing ``(ry, rx)`` (the medians) bounds them all: for a
    pixel of row r, ``lo_r * d_ref <= d_r <= hi_r * d_ref`` with ``lo_r`` and ``hi_r`` the
    smaller and larger of ``cy / ry`` and ``cx / rx`` (both metrics are diagonal); a reach
    of many pixels takes ``d_ref`` itself within bounds, from cells (:func:`_reference_bounds`). Only
    the gaps those bounds leave undecided get their class's exact transform, on a window
    around them with ``reach`` of context, which holds every observation within reach.
    The mask is therefore the one :func:`distance_to_observed` with ``spacing`` gives.
    """
    ny, nx = observed.shape[-2:]
    dy, dx = _spacing_rows(spacing, ny)
    classes, class_spacing = _classes(dy, dx)
    cy = np.array([class_spacing[int(k)][0] for k in classes])
    cx = np.array([class_spacing[int(k)][1] for k in classes])
    pad = 0
    if periodic_x:
        pad = min(reach_halo(reach, float(min(cy.min(), cx.min()))), nx)
        wrap = [(0, 0)] * (observed.ndim - 1) + [(pad, pad)]
        observed, gaps = np.pad(observed, wrap, mode="wrap"), np.pad(gaps, wrap, mode="wrap")
    ref = (float(np.median(cy)), float(np.median(cx)))
    d_lo, d_hi = _reference_bounds(observed, ref, reach)
    ratios = np.stack([cy / ref[0], cx / ref[1]])
    lo, hi = ratios.min(axis=0)[:, None], ratios.max(axis=0)[:, None]
    tol = 1e-9 * reach
    out = (lo * d_lo > reach + tol) & gaps
    unsure = (hi * d_hi > reach - tol) & ~out & gaps
    images = observed.reshape((-1,) + observed.shape[-2:])
    out_images, unsure_images = out.reshape(images.shape), unsure.reshape(images.shape)
    for image, beyond, undecided in zip(images, out_images, unsure_images):
        for k in np.unique(classes[undecided.any(axis=1)]):
            rows_k = classes == k
            ys, xs = np.nonzero(undecided & rows_k[:, None])
            sy, sx = class_spacing[int(k)]
            cty, ctx = math.ceil(reach / sy) + 1, math.ceil(reach / sx) + 1
            y0, y1 = max(ys.min() - cty, 0), min(ys.max() + 1 + cty, ny)
            x0, x1 = max(xs.min() - ctx, 0), min(xs.max() + 1 + ctx, image.shape[-1])
            part = image[y0:y1, x0:x1]
            if part.any():
                far = ndimage.distance_transform_edt(~part, sampling=(sy, sx))[ys - y0, xs - x0] > reach
            else:
                far = True  # nothing within reach
            beyond[ys, xs] = far
    return out[..., pad : pad + nx] if pad else out


#: Cells (pixels square) of the coarse reference transform of :func:`_reference_bounds`.
REFERENCE_CELL = 4


def _reference_bounds(observed: np.ndarray, ref: tuple[float, float], reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of every pixel's distance to the data with spacing ``ref``.

    The exact transform (both bounds the same array) where the reach is under
    ``16 * REFERENCE_CELL`` pixels. Otherwise from cells of ``REFERENCE_CELL`` pixels square,
    1/16 of the work: with ``D`` a cell's distance (centre to centre) to the nearest cell
    holding an observation and ``h`` the farthest a pixel lies from its cell's centre, each
    pixel's distance is within ``D - 2h`` and ``D + 2h`` (a few percent of such a reach).
    """
    c = REFERENCE_CELL
    if reach < 16 * c * max(ref):
        d_ref = distance_to_observed(observed, ref)
        return d_ref, d_ref
    ny, nx = observed.shape[-2:]
    py, px = -ny % c, -nx % c
    padded = np.pad(observed, [(0, 0)] * (observed.ndim - 2) + [(0, py), (0, px)])
    cells = padded.reshape(observed.shape[:-2] + ((ny + py) // c, c, (nx + px) // c, c)).any(axis=(-3, -1))
    d_cells = distance_to_observed(cells, (c * ref[0], c * ref[1]))
    d_cells = np.repeat(np.repeat(d_cells, c, axis=-2), c, axis=-1)[..., :ny, :nx]
    slack = (c - 1) * math.hypot(*ref)  # 2h
    return np.maximum(d_cells - slack, 0.0), d_cells + slack


def _surely_within(
    observed: np.ndarray, gaps: np.ndarray, reach_px: float, cell: int = 8
) -> bool:
    """Whether every gap is surely within ``reach_px`` pixels of an observation (a cheap bound on cells).

    A pixel of a cell whose nearest cell holding an observation is ``d`` cells away is at
    most ``cell * (d + sqrt(2))`` pixels from that observation; wrapping only shortens it.
    """
    ny, nx = observed.shape[-2:]
    py, px = -ny % cell, -nx % cell
    pad = [(0, 0)] * (observed.ndim - 2) + [(0, py), (0, px)]
    cells = lambda a: (
        np.pad(a, pad)
        .reshape(a.shape[:-2] + ((ny + py) // cell, cell, (nx + px) // cell, cell))
        .any(axis=(-3, -1))
    )
    bound = cell * (distance_to_observed(cells(observed)) + math.sqrt(2))
    return bool((bound[cells(gaps)] <= reach_px).all())


def reach_halo(reach: float, min_spacing: float) -> int:
    """Pixels of context a block needs so that its beyond-reach mask is exact: ``ceil(reach / spacing) + 1``.

    Examples
    --------
    >>> reach_halo(30.0, 1.0), reach_halo(50.0, 0.7)
    (31, 73)
    """
    return math.ceil(reach / min_spacing) + 1
