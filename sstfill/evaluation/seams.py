"""Seam score: does a filled field step on a lattice (tile borders, chunk borders)?

A tile fill that blends its tiles badly leaves steps where tiles meet, every ``stride``
pixels. Averaged over many pixels, the absolute finite difference ``|f[i+1] - f[i]|``
then peaks at one position modulo the stride. The seam score is that peak over the
median across positions: about 1 for a field with no lattice (real observed SST scores
1.02-1.06, the excess being sampling noise), clearly above 1 with seams. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = [
    "MIN_COUNT",
    "SEAM_STRIDES",
    "gradient_by_phase",
    "seam_score",
    "seam_scores",
]

#: Strides scored by default: the tile strides of overlaps 32, 16 and 0 of a 64-pixel tile.
SEAM_STRIDES = (32, 48, 64)
#: Fewest differences a phase needs to count in a score.
MIN_COUNT = 100


def gradient_by_phase(
    field: np.ndarray, pixels: np.ndarray, stride: int, axis: int, offset: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``|f[i+1] - f[i]|`` along ``axis``, grouped by ``(offset + i) % stride``.

    Parameters
    ----------
    field : array (..., ny, nx)
        The field (NaN where undefined).
    pixels : bool array broadcastable to ``field``
        Pixels to score; a difference counts when both of its pixels are selected and finite.
    stride : int
        Period of the lattice to look for (>= 2).
    axis : int
        -1 (x) or -2 (y), or the same as a non-negative index.
    offset : int
        Global index of ``field``'s first element along ``axis`` (for a crop of a larger
        array whose lattice is anchored at index 0).

    Returns
    -------
    mean, count : arrays (stride,)
        Mean absolute difference between pixels ``i`` and ``i + 1`` with ``(offset + i) %
        stride == k`` (NaN where none), and how many differences went into it. A step
        between global pixels 47 and 48 lands at phase 47 for stride 48.

    Examples
    --------
    >>> x = np.repeat(np.arange(4.0), 10)[None, :].repeat(5, 0)  # a step every 10 px
    >>> mean, count = gradient_by_phase(x, np.ones(x.shape, bool), 10, axis=-1)
    >>> mean.round(2).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    """
    if stride < 2:
        raise ValueError(f"stride must be at least 2, got {stride}")
    field = np.asarray(field, dtype="float64")
    sel = np.broadcast_to(np.asarray(pixels, dtype=bool), field.shape) & np.isfinite(
        field
    )
    axis = axis % field.ndim
    n = field.shape[axis]
    if n < 2:
        return np.full(stride, np.nan), np.zeros(stride, dtype=np.int64)
    diff = np.abs(np.diff(field, axis=axis))
    ok = np.take(sel, np.arange(n - 1), axis=axis) & np.take(
        sel, np.arange(1, n), axis=axis
    )
    # move the axis last, then sum per position along it and group positions by phase
    diff = np.moveaxis(np.where(ok, diff, 0.0), axis, -1).reshape(-1, n - 1)
    ok = np.moveaxis(ok, axis, -1).reshape(-1, n - 1)
    phase = (offset + np.arange(n - 1)) % stride
    sums = np.bincount(phase, weights=diff.sum(axis=0), minlength=stride)
    count = np.bincount(phase, weights=ok.sum(axis=0), minlength=stride).astype(
        np.int64
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, sums / np.maximum(count, 1), np.nan)
    return mean, count


def seam_score(
    field: np.ndarray,
    pixels: np.ndarray,
    stride: int,
    axis: int,
    offset: int = 0,
    min_count: int = MIN_COUNT,
) -> float:
    """Peak over median of :func:`gradient_by_phase`: about 1 without a lattice, > 1 with seams.

    Parameters
    ----------
    field, pixels, stride, axis, offset
        As for :func:`gradient_by_phase`.
    min_count : int
        Phases with fewer differences than this are left out (their mean is noise).

    Returns
    -------
    float
        ``max / median`` of the mean ``|difference|`` over the phases with at least
        ``min_count`` differences; NaN when fewer than half the phases have that many (too
        few pixels to tell a lattice from noise), or the median is 0.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> smooth = rng.normal(size=(200, 480)).cumsum(axis=1)  # a random walk along x
    >>> pixels = np.ones(smooth.shape, bool)
    >>> round(seam_score(smooth, pixels, 48, axis=-1), 2)
    1.03
    >>> stepped = smooth + 5.0 * (np.arange(480) // 48)  # plus a step at every tile border
    >>> seam_score(stepped, pixels, 48, axis=-1) > 3
    True
    """
    mean, count = gradient_by_phase(field, pixels, stride, axis, offset)
    enough = count >= max(min_count, 1)
    if 2 * enough.sum() < stride:
        return float("nan")
    median = float(np.median(mean[enough]))
    return float(mean[enough].max() / median) if median > 0 else float("nan")


def seam_scores(
    field: np.ndarray,
    pixels: np.ndarray,
    strides: Iterable[int] = SEAM_STRIDES,
    offset: tuple[int, int] = (0, 0),
    min_count: int = MIN_COUNT,
) -> dict[str, float]:
    """:func:`seam_score` for each stride along y and x, and the worst of them.

    Parameters
    ----------
    field : array (..., ny, nx)
        The field.
    pixels : bool array broadcastable to ``field``
        Pixels to score (e.g. the filled ones, or the observed ones for reference).
    strides : iterable of int
        Lattice periods (default :data:`SEAM_STRIDES`: 32, 48, 64).
    offset : (int, int)
        Global (y, x) index of ``field[..., 0, 0]``.
    min_count : int
        As for :func:`seam_score`.

    Returns
    -------
    dict
        ``{"y48": score, "x48": score, ..., "max": worst score}``.

    Examples
    --------
    >>> field = np.random.default_rng(0).normal(size=(480, 480))  # no lattice anywhere
    >>> scores = seam_scores(field, np.ones(field.shape, bool), strides=(48,))
    >>> sorted(scores), scores["max"] < 1.1
    (['max', 'x48', 'y48'], True)
    """
    out: dict[str, float] = {}
    for stride in strides:
        for name, axis, off in (("y", -2, offset[0]), ("x", -1, offset[1])):
            out[f"{name}{stride}"] = seam_score(
                field, pixels, int(stride), axis, off, min_count
            )
    finite = [v for v in out.values() if np.isfinite(v)]
    out["max"] = max(finite) if finite else float("nan")
    return out
