"""Tiles, their context windows and their neighbours in time, gathered batch by batch. Pure numpy.

A model with a context margin sees each 64x64 tile inside a window ``margin`` pixels wider
on every side; a model with time offsets also sees the same tile at neighbouring steps.
Cutting every window of a block at once would hold ``(1 + 2 margin / tile)**2`` times the
block's tiles in memory; :class:`TileSource` cuts only the rows a model call asks for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["TileSource", "TimeContext", "neighbour_steps", "time_blocks", "window_sums", "STEP_TOLERANCE_DAYS"]

#: A step counts as the neighbour at offset ``d`` days when it lies within this many days of
#: ``t + d`` (the nearest such step; none: that neighbour is empty).
STEP_TOLERANCE_DAYS = 0.5


def neighbour_steps(days: np.ndarray, offsets: tuple[float, ...], tolerance: float = STEP_TOLERANCE_DAYS) -> np.ndarray:
    """For each step, the index of the step nearest to each time offset, or -1 (n_steps, len(offsets)).

    The window is chosen by time, not by index: a series with missing days, or with several
    scenes a day, gets for each offset the step closest to ``t + offset`` within
    ``tolerance`` days, never the step itself.

    Examples
    --------
    >>> neighbour_steps(np.array([0.0, 1.0, 3.0]), (-1.0, 1.0)).tolist()
    [[-1, 1], [0, -1], [-1, -1]]
    """
    days = np.asarray(days, dtype="float64")
    n = len(days)
    out = np.full((n, len(offsets)), -1, dtype=np.int64)
    if n == 0:
        return out
    # only the steps within tolerance of t + offset can be chosen: found in the sorted days,
    # so a long archive costs n log n, not an n x n matrix of gaps (864 MB for 6000 steps)
    order = np.argsort(days, kind="stable")
    ordered, me = days[order], np.arange(n)
    for j, offset in enumerate(offsets):
        target = days + offset
        slack = tolerance + 1e-9 * (1.0 + np.abs(target))  # a little wider: the test below decides
        lo = np.searchsorted(ordered, target - slack, side="left")
        hi = np.searchsorted(ordered, target + slack, side="right")
        best, best_gap = np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
        for k in range(int((hi - lo).max())):
            candidate = order[np.minimum(lo + k, n - 1)]
            gap = np.abs(days[candidate] - target)
            # the nearest step, the first one among equally near ones, never the step itself
            better = (lo + k < hi) & (candidate != me) & ((gap < best_gap) | ((gap == best_gap) & (candidate < best)))
            best, best_gap = np.where(better, candidate, best), np.where(better, gap, best_gap)
        ok = best_gap <= tolerance
        out[ok, j] = best[ok]
    return out


def time_blocks(chunks: tuple[int, ...], depth: int) -> tuple[int, ...]:
    """Chunks along time of at least ``depth`` steps (a halo of steps must fit in each), merging as few as that takes.

    A chunk smaller than ``depth`` is merged with the next (the last with the one before),
    so a daily archive in one-step chunks is filled in blocks of ``depth`` steps, each reading
    its halo of neighbouring steps, never in one block of the whole archive. Only target
    steps are filled, so smaller blocks run no more tiles.

    >>> time_blocks((1,) * 7, 2), time_blocks((5, 1, 1, 5, 1), 2), time_blocks((1,), 2)
    ((2, 2, 3), (5, 2, 6), (1,))
    """
    merged: list[int] = []
    for c in chunks:
        if merged and merged[-1] < depth:
            merged[-1] += c
        else:
            merged.append(c)
    if len(merged) > 1 and merged[-1] < depth:
        last = merged.pop()
        merged[-1] += last
    return tuple(merged)


@dataclass(frozen=True)
class TimeContext:
    """Which images are neighbouring steps of which, for blocks of a field with a time axis.

    Parameters
    ----------
    axis : int
        The time axis among the field's axes (a leading one: y and x are the last two).
    steps : int array (n_steps, S)
        :func:`neighbour_steps` of the whole field.
    chunks : tuple of int
        The field's chunks along time (dask), or ``(n_steps,)``.

    Examples
    --------
    >>> ctx = TimeContext(0, np.array([[-1, 1], [0, 2], [1, -1]]), (3,))
    >>> ctx.depth
    1
    >>> nb, targets = ctx.for_block((2,), 1, (0, 1))  # steps 1-2 of the field, step 1 wanted
    >>> nb.tolist(), targets.tolist()
    ([[-1, 1], [0, -1]], [True, False])
    """

    axis: int
    steps: np.ndarray
    chunks: tuple[int, ...]

    @property
    def depth(self) -> int:
        """Halo of steps every block needs: the farthest neighbour of any step, in steps."""
        has = self.steps >= 0
        if not has.any():
            return 0
        return int(np.abs(self.steps - np.arange(len(self.steps))[:, None])[has].max())

    def for_block(self, lead_shape: tuple[int, ...], t0: int, core: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour images (n_images, S) and target images (n_images,) of a block.

        The block holds steps ``t0 .. t0 + lead_shape[axis]`` of the field; images are its
        leading axes flattened; ``core`` (start, stop) are the block-relative steps to fill.
        A neighbour outside the block is -1.
        """
        index = np.indices(lead_shape).reshape(len(lead_shape), -1)
        local = index[self.axis]
        global_steps = self.steps[t0 + local]  # (n_images, S)
        target_local = global_steps - t0
        inside = (global_steps >= 0) & (target_local >= 0) & (target_local < lead_shape[self.axis])
        neighbours = np.full(global_steps.shape, -1, dtype=np.int64)
        for j in range(global_steps.shape[1]):
            moved = index.copy()
            moved[self.axis] = np.where(inside[:, j], target_local[:, j], 0)
            flat = np.ravel_multi_index(tuple(moved), lead_shape)
            neighbours[:, j] = np.where(inside[:, j], flat, -1)
        targets = (local >= core[0]) & (local < core[1])
        return neighbours, targets


def window_sums(mask: np.ndarray, oy: np.ndarray, ox: np.ndarray, size: int) -> np.ndarray:
    """Count of True pixels of ``mask`` (I, ny, nx) in each ``size`` window at origins ``oy`` x ``ox``.

    Origins may lie outside the images (those parts count nothing). Returns (I, len(oy), len(ox)).

    Examples
    --------
    >>> m = np.ones((1, 5, 5), bool)
    >>> window_sums(m, np.array([-2, 0]), np.array([0, 3]), 4)[0].tolist()
    [[8, 4], [16, 8]]
    """
    integral = np.zeros((mask.shape[0], mask.shape[1] + 1, mask.shape[2] + 1), dtype=np.int64)
    integral[:, 1:, 1:] = mask.cumsum(axis=1, dtype=np.int64).cumsum(axis=2)
    y0 = np.clip(oy, 0, mask.shape[1])[:, None]
    y1 = np.clip(oy + size, 0, mask.shape[1])[:, None]
    x0 = np.clip(ox, 0, mask.shape[2])[None, :]
    x1 = np.clip(ox + size, 0, mask.shape[2])[None, :]
    return integral[:, y1, x1] - integral[:, y0, x1] - integral[:, y1, x0] + integral[:, y0, x0]


class TileSource:
    """The tiles at block-relative origins ``oy`` x ``ox`` of every image, cut on demand.

    Rows are numbered ``(image, tile row, tile column)`` in C order. ``source[rows]``
    returns the windows ``(len(rows), W, W)`` (``W = tile + 2 * margin``, centred on the
    tiles, NaN outside the images), like a numpy array indexed by rows; :meth:`neighbours`
    the tiles of the same place at other images.

    Parameters
    ----------
    images : float array (I, ny, nx)
        NaN (or any non-finite value) where not observed.
    oy, ox : int arrays
        Block-relative tile origins.
    tile, margin : int

    Examples
    --------
    >>> img = np.arange(2 * 6 * 6, dtype="float32").reshape(2, 6, 6)
    >>> src = TileSource(img, np.array([0, 3]), np.array([0]), tile=3, margin=1)
    >>> len(src), src[np.array([1])].shape
    (4, (1, 5, 5))
    >>> src.neighbours(np.array([0]), np.array([[1, -1]]))[0, 0, 0].tolist()
    [36.0, 37.0, 38.0]
    """

    def __init__(self, images: np.ndarray, oy: np.ndarray, ox: np.ndarray, tile: int, margin: int = 0) -> None:
        self.tile, self.margin = tile, margin
        size = tile + 2 * margin
        before_y = max(0, margin - int(oy.min()))
        after_y = max(0, int(oy.max()) + tile + margin - images.shape[1])
        before_x = max(0, margin - int(ox.min()))
        after_x = max(0, int(ox.max()) + tile + margin - images.shape[2])
        pad = ((0, 0), (before_y, after_y), (before_x, after_x))
        padded = np.pad(images, pad, constant_values=np.nan) if any(p != (0, 0) for p in pad) else images
        self._windows = sliding_window_view(padded, (size, size), axis=(1, 2))
        self._tiles = sliding_window_view(padded, (tile, tile), axis=(1, 2))
        self._wy, self._wx = oy - margin + before_y, ox - margin + before_x
        self._ty, self._tx = oy + before_y, ox + before_x
        self.shape3 = (images.shape[0], len(oy), len(ox))
        self.shape = (int(np.prod(self.shape3)), size, size)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        i, a, b = np.unravel_index(np.asarray(rows), self.shape3)
        return self._windows[i, self._wy[a], self._wx[b]]

    def neighbours(self, rows: np.ndarray, images: np.ndarray) -> np.ndarray:
        """Tiles (len(rows), S, T, T) of ``rows``' places at the images ``images`` (len(rows), S); -1: none (NaN)."""
        _, a, b = np.unravel_index(np.asarray(rows), self.shape3)
        images = np.asarray(images)
        out = self._tiles[np.maximum(images, 0), self._ty[a][:, None], self._tx[b][:, None]]
        out[images < 0] = np.nan
        return out
