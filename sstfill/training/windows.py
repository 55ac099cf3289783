"""Training samples of a model with context: windows around tiles and the same place at neighbouring steps.

A model with a ``context_margin`` or ``time_offsets`` learns from samples
``(1 + S, W, W)``: the window of ``W = tile + 2 * margin`` pixels around a truth tile, then
the windows at its ``S`` neighbouring steps (NaN where the series has no such step).
Holding every sample would take ``(1 + S) * (W / tile)**2`` times the memory of the tiles,
so a :class:`WindowBank` keeps the images and cuts the samples of a batch when asked.
Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sstfill.kernels.holes import make_holes
from sstfill.kernels.windows import neighbour_steps

__all__ = ["WindowBank", "window_bank", "tiles_as_windows", "draw_window_holes", "LARGE_CLOUD_SCALES"]


@dataclass
class WindowBank:
    """Samples cut on demand from padded image series.

    Attributes
    ----------
    images : list of float32 arrays (T, H + 2m, W + 2m)
        Each series, padded with NaN by the margin ``m``.
    steps : list of int arrays (T, S)
        Each step's neighbouring steps (-1: none).
    index : int array (N, 4)
        Each sample's series, step, and tile origin (row, column) in the unpadded image.
    tile, margin : int
    """

    images: list[np.ndarray]
    steps: list[np.ndarray]
    index: np.ndarray
    tile: int
    margin: int

    def __len__(self) -> int:
        return len(self.index)

    @property
    def window(self) -> int:
        return self.tile + 2 * self.margin

    @property
    def shape(self) -> tuple[int, ...]:
        s = self.steps[0].shape[1] if self.steps else 0
        return (len(self), 1 + s, self.window, self.window)

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """Samples (len(rows), 1 + S, W, W) float32; NaN where nothing is known."""
        rows = np.asarray(rows)
        w = self.window
        out = np.full((len(rows),) + self.shape[1:], np.nan, dtype="float32")
        for series in np.unique(self.index[rows, 0]):
            pick = np.flatnonzero(self.index[rows, 0] == series)
            _, t, y, x = self.index[rows[pick]].T
            views = sliding_window_view(self.images[series], (w, w), axis=(1, 2))
            out[pick, 0] = views[t, y, x]
            for j in range(self.shape[1] - 1):
                nb = self.steps[series][t, j]
                has = nb >= 0
                out[pick[has], 1 + j] = views[nb[has], y[has], x[has]]
        return out

    def subset(self, rows: np.ndarray) -> WindowBank:
        """The bank restricted to the samples ``rows`` (same images)."""
        return WindowBank(self.images, self.steps, self.index[np.asarray(rows)], self.tile, self.margin)


def window_bank(
    series: Sequence[tuple[np.ndarray, np.ndarray]],
    offsets: tuple[float, ...],
    tile: int = 64,
    margin: int = 0,
    stride: int = 32,
    min_valid: float = 0.8,
    steps: Sequence[Sequence[int]] | None = None,
) -> WindowBank:
    """Samples of tiles whose own valid fraction is at least ``min_valid``, from image series.

    Parameters
    ----------
    series : list of (images (T, H, W), days (T,))
        Each series with the time of each step in days (a single image: ``(img[None], [0.0])``).
    offsets : tuple of float
        The model's ``time_offsets``.
    tile, margin, stride : int
        Tile size, context margin, and the stride of tile origins.
    min_valid : float
        Least finite fraction of a sample's own tile.
    steps : list of lists of int, optional
        Per series, the steps whose tiles are samples (default: all); the others are context only.

    Examples
    --------
    >>> img = np.random.default_rng(0).normal(size=(3, 96, 96)).astype("float32")
    >>> bank = window_bank([(img, np.arange(3.0))], (-1.0, 1.0), tile=32, margin=16, stride=32)
    >>> bank.shape
    (27, 3, 64, 64)
    >>> bool(np.isnan(bank.gather(np.array([0]))[0, 1]).all())  # step 0 has no previous step
    True
    """
    images, all_steps, index = [], [], []
    for k, (imgs, days) in enumerate(series):
        imgs = np.asarray(imgs, dtype="float32")
        t_n, h, w = imgs.shape
        images.append(np.pad(imgs, ((0, 0), (margin, margin), (margin, margin)), constant_values=np.nan))
        all_steps.append(neighbour_steps(np.asarray(days, dtype="float64"), offsets) if offsets else np.zeros((t_n, 0), np.int64))
        ys, xs = np.arange(0, h - tile + 1, stride), np.arange(0, w - tile + 1, stride)
        valid = sliding_window_view(np.isfinite(imgs), (tile, tile), axis=(1, 2))[:, ys][:, :, xs].mean(axis=(-2, -1))
        wanted = np.zeros(t_n, bool)
        wanted[list(range(t_n)) if steps is None else list(steps[k])] = True
        t, a, b = np.nonzero((valid >= min_valid) & wanted[:, None, None])
        index.append(np.stack([np.full(t.size, k), t, ys[a], xs[b]], axis=1))
    index_arr = np.concatenate(index) if index else np.zeros((0, 4), np.int64)
    return WindowBank(images, all_steps, index_arr.astype(np.int64), tile, margin)


def tiles_as_windows(tiles: np.ndarray, margin: int, n_neighbours: int) -> np.ndarray:
    """Plain truth tiles (N, T, T) as samples (N, 1 + S, W, W): no context known (NaN).

    Lets a model with context train on tiles alone (it then learns nothing about its
    context inputs).

    Examples
    --------
    >>> tiles_as_windows(np.zeros((2, 4, 4), "float32"), 2, 1).shape
    (2, 2, 8, 8)
    """
    n, t = tiles.shape[0], tiles.shape[-1]
    out = np.full((n, 1 + n_neighbours, t + 2 * margin, t + 2 * margin), np.nan, dtype="float32")
    out[:, 0, margin : margin + t, margin : margin + t] = tiles
    return out


#: Enlargement factors of real cloud shapes in window hole masks, and how often each is
#: drawn: 2x and 3x give clouds wider than a 64-pixel tile.
LARGE_CLOUD_SCALES = {1: 0.4, 2: 0.3, 3: 0.3}


def draw_window_holes(n: int, size: int, kinds: Sequence[str], fraction: tuple[float, float], rng: np.random.Generator, tile: int = 64) -> np.ndarray:
    """``n`` hole masks (n, size, size) for windows: shapes of :func:`make_holes` enlarged by 1-3x.

    Examples
    --------
    >>> draw_window_holes(2, 96, ("squares",), (0.3, 0.3), np.random.default_rng(0)).shape
    (2, 96, 96)
    """
    scales, weights = zip(*LARGE_CLOUD_SCALES.items())
    out = np.empty((n, size, size), dtype=bool)
    for i in range(n):
        k = int(rng.choice(scales, p=np.asarray(weights) / sum(weights)))
        small = -(-size // k)
        kind = kinds[rng.integers(len(kinds))]
        mask = make_holes(kind, (small, small), rng, fraction=float(rng.uniform(*fraction)), tile=tile)
        big = np.repeat(np.repeat(mask, k, axis=0), k, axis=1)
        oy, ox = rng.integers(0, big.shape[0] - size + 1), rng.integers(0, big.shape[1] - size + 1)
        out[i] = big[oy : oy + size, ox : ox + size]
    return out
