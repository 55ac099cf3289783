"""The tile plan: where 64x64 tiles go, how they are cut out and blended back. Pure numpy.

Tiles sit on one global lattice of origins ``k * stride`` (``stride = tile - overlap``),
anchored at index 0 of the full array, whatever the chunking. A block of a dask array is
handed over with a halo of ``tile - 1`` pixels (one more with stitching), which holds every
tile that touches the block's core, so a chunked fill gives the same answer as an unchunked one. Tiles that run
past the edge of the array are padded with missing values (the model sees them as gaps).
Overlapping tiles are blended with a raised-cosine window that sums to one across the
overlap and never reaches zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["FRACTION_FLOOR", "MIN_COVERAGE", "TilePlan", "blend_tiles", "cut_tiles", "smooth_tiles", "tile_padding", "window_coverage"]


@dataclass(frozen=True)
class TilePlan:
    """Tile size and overlap.

    Parameters
    ----------
    tile : int
        Tile edge in pixels (the model's input size).
    overlap : int
        Pixels shared by neighbouring tiles; the blending ramp is this wide.
    margin : int
        Context the model sees beyond each tile on every side (its ``context_margin``).
    stitch : bool
        Blend in the gradient domain: the tiles' disagreement across their overlaps is
        spread over the whole gap instead of stepping on the lattice
        (:mod:`sstfill.kernels.stitching`); False: the plain weighted blend.

    Examples
    --------
    >>> plan = TilePlan(tile=64, overlap=16)
    >>> plan.stride, plan.halo
    (48, 64)
    >>> plan.origins(0, 100).tolist()
    [-48, 0, 48, 96]
    """

    tile: int = 64
    overlap: int = 16
    margin: int = 0
    stitch: bool = True

    def __post_init__(self) -> None:
        if self.tile < 4:
            raise ValueError(f"tile must be at least 4 pixels, got {self.tile}")
        if not 0 <= self.overlap < self.tile:
            raise ValueError(f"overlap must be in [0, tile), got {self.overlap} for tile {self.tile}")
        if self.margin < 0:
            raise ValueError(f"margin must be >= 0, got {self.margin}")

    @property
    def stride(self) -> int:
        return self.tile - self.overlap

    @property
    def halo(self) -> int:
        """Context a block needs on each side so every tile touching its core fits, with its margin.

        With ``stitch`` one pixel more: the stitching needs the blend one pixel beyond the
        core, so the tiles touching that ring run too.
        """
        return self.tile - 1 + self.margin + int(self.stitch)

    def origins(self, start: int, stop: int) -> np.ndarray:
        """Global origins of all lattice tiles that intersect pixels ``[start, stop)``."""
        first = int(np.ceil((start - self.tile + 1) / self.stride))
        last = int(np.floor((stop - 1) / self.stride))
        return np.arange(first, last + 1, dtype=np.int64) * self.stride

    def window(self) -> np.ndarray:
        """Blending weights of one tile, shape (tile, tile), float32, all > 0."""
        dist = np.minimum(np.arange(self.tile), np.arange(self.tile)[::-1]).astype("float64")
        ramp = np.ones(self.tile)
        if self.overlap > 0:
            inside = dist < self.overlap
            ramp[inside] = 0.5 - 0.5 * np.cos(np.pi * (dist[inside] + 0.5) / self.overlap)
        return np.outer(ramp, ramp).astype("float32")

    def tile_weights(self, observed_fraction: np.ndarray) -> np.ndarray:
        """Blending weights of tiles with the given observed fractions, shape (n, tile, tile).

        The window times the observed fraction, raised to at least :data:`FRACTION_FLOOR`:
        a tile with more data dominates its neighbours, by at most ``1 / FRACTION_FLOOR``.
        Unbounded, a tile that sees a handful of pixels next to one that sees most of its
        own switches to its neighbour within a pixel of the overlap's edge (about 90 % of
        their disagreement in one step at the tile border, issue 14); bounded to 20 to 1,
        the largest step is about a quarter of it, on a 16-pixel overlap.

        Examples
        --------
        >>> w = TilePlan().tile_weights(np.array([0.001, 0.5, 1.0]))
        >>> w.shape, [round(float(x), 2) for x in w[:, 32, 32]]
        ((3, 64, 64), [0.05, 0.5, 1.0])
        """
        frac = np.maximum(np.asarray(observed_fraction, dtype="float64"), FRACTION_FLOOR)
        return (self.window()[None] * frac[:, None, None]).astype("float32")


#: Smallest observed-fraction factor of a tile's blending weight (see :meth:`TilePlan.tile_weights`).
FRACTION_FLOOR = 0.05


def tile_padding(origins: np.ndarray, size: int, tile: int) -> tuple[int, int]:
    """Pixels before and after an axis of ``size`` that tiles at ``origins`` reach beyond it."""
    before = max(0, -int(origins.min()))
    after = max(0, int(origins.max()) + tile - size)
    return before, after


def cut_tiles(block: np.ndarray, oy: np.ndarray, ox: np.ndarray, tile: int, fill_value: float | bool = np.nan) -> np.ndarray:
    """Cut tiles at block-relative origins ``oy`` x ``ox`` from the last two axes of ``block``.

    Parts of a tile outside the block are ``fill_value``. Returns an array of shape
    ``block.shape[:-2] + (len(oy), len(ox), tile, tile)``.

    Examples
    --------
    >>> cut_tiles(np.arange(12.0).reshape(3, 4), np.array([0]), np.array([-1, 2]), 2).shape
    (1, 2, 2, 2)
    """
    (pb_y, pa_y), (pb_x, pa_x) = tile_padding(oy, block.shape[-2], tile), tile_padding(ox, block.shape[-1], tile)
    pad = [(0, 0)] * (block.ndim - 2) + [(pb_y, pa_y), (pb_x, pa_x)]
    padded = np.pad(block, pad, constant_values=fill_value) if any(p != (0, 0) for p in pad) else block
    views = sliding_window_view(padded, (tile, tile), axis=(-2, -1))
    return views[..., (oy + pb_y)[:, None], (ox + pb_x)[None, :], :, :]


def blend_tiles(
    tiles: np.ndarray, weights: np.ndarray, oy: np.ndarray, ox: np.ndarray, shape: tuple[int, int], active: np.ndarray | None = None
) -> np.ndarray:
    """Weighted average of overlapping tiles, back on a block of spatial ``shape``.

    Parameters
    ----------
    tiles : array (..., ny_tiles, nx_tiles, tile, tile)
        Values per tile, as returned by :func:`cut_tiles` and a model.
    weights : array broadcastable to ``tiles``
        Blending weight of each tile pixel (the plan's window times the tile's validity).
        Non-finite tile values must carry weight 0.
    oy, ox : arrays
        Block-relative tile origins.
    shape : (ny, nx)
        Spatial shape of the block.
    active : bool array (ny_tiles, nx_tiles), optional
        Tiles to blend; the others must have weight 0 everywhere and are skipped (default:
        all).

    Returns
    -------
    array (..., ny, nx)
        The blend, NaN where the total weight is zero.
    """
    tile = tiles.shape[-1]
    (pb_y, pa_y), (pb_x, pa_x) = tile_padding(oy, shape[0], tile), tile_padding(ox, shape[1], tile)
    lead = tiles.shape[:-4]
    acc = np.zeros(lead + (shape[0] + pb_y + pa_y, shape[1] + pb_x + pa_x), dtype="float64")
    wsum = np.zeros_like(acc)
    weights = np.broadcast_to(weights, tiles.shape)
    finite = np.isfinite(tiles).all(axis=(-2, -1))  # per tile (and leading index)
    w = np.empty(lead + (tile, tile), dtype="float64")  # one tile's weights and products, reused
    wv = np.empty_like(w)
    for i, y0 in enumerate(oy + pb_y):
        for j, x0 in enumerate(ox + pb_x):
            if active is not None and not active[i, j]:
                continue
            w[...] = weights[..., i, j, :, :]
            np.multiply(w, tiles[..., i, j, :, :], out=wv)
            if not finite[..., i, j].all():
                np.copyto(wv, 0.0, where=w == 0)  # non-finite values carry weight 0
            acc[..., y0 : y0 + tile, x0 : x0 + tile] += wv
            wsum[..., y0 : y0 + tile, x0 : x0 + tile] += w
    crop = (Ellipsis, slice(pb_y, pb_y + shape[0]), slice(pb_x, pb_x + shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = acc[crop] / wsum[crop]
    return np.where(wsum[crop] > 0, out, np.nan)


#: Least share of a pixel's blending window that tiles with a prediction must cover for the
#: pixel to take their blend (:func:`window_coverage`); the rest is left to the fallback.
MIN_COVERAGE = 0.5


def window_coverage(used: np.ndarray, window: np.ndarray, oy: np.ndarray, ox: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Sum of the blending windows of the ``used`` tiles over each pixel of a block.

    The windows of all lattice tiles sum to one on every pixel, so this is the share of a
    pixel's blend that tiles with a prediction hold. Where a tile has no prediction (no
    data in its window), its neighbours reach into its area only with the low tails of
    their windows; their blend there is, in effect, each neighbour's outermost pixels,
    which meet in a step on the lattice. Below :data:`MIN_COVERAGE` a pixel is left to the
    fallback instead.

    Parameters
    ----------
    used : bool array (..., ny_tiles, nx_tiles)
        Tiles with a prediction.
    window : array (tile, tile)
        The plan's :meth:`TilePlan.window`.
    oy, ox : arrays
        Block-relative tile origins.
    shape : (ny, nx)
        Spatial shape of the block.

    Returns
    -------
    float64 array (..., ny, nx)

    Examples
    --------
    >>> plan = TilePlan(tile=64, overlap=32)
    >>> oy = ox = plan.origins(0, 128)
    >>> used = np.ones((oy.size, ox.size), bool)
    >>> bool(np.allclose(window_coverage(used, plan.window(), oy, ox, (128, 128)), 1.0))
    True
    """
    tile = window.shape[-1]
    (pb_y, pa_y), (pb_x, pa_x) = tile_padding(oy, shape[0], tile), tile_padding(ox, shape[1], tile)
    lead = used.shape[:-2]
    cover = np.zeros(lead + (shape[0] + pb_y + pa_y, shape[1] + pb_x + pa_x))
    for i, y0 in enumerate(oy + pb_y):
        for j, x0 in enumerate(ox + pb_x):
            on = used[..., i, j]
            if on.any():
                cover[..., y0 : y0 + tile, x0 : x0 + tile] += on[..., None, None] * window
    return cover[..., pb_y : pb_y + shape[0], pb_x : pb_x + shape[1]]


def smooth_tiles(tiles: np.ndarray) -> np.ndarray:
    """A 3x3 binomial filter (``[1, 2, 1] / 4`` along y and x) on each tile, edges repeated.

    The neural models' decoders upsample by strided transposed convolutions, which leave a
    2- and 4-pixel ripple at fixed places in every tile (+-10 % in the mean |difference|
    between neighbouring pixels), so on the tile lattice: a seam pattern. The binomial
    filter removes the 2-pixel ripple and halves the 4-pixel one.

    Examples
    --------
    >>> ripple = np.tile([0.0, 1.0], 32)[None, None, :].repeat(64, axis=1)
    >>> smooth_tiles(ripple)[0, 0, 10:14].tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    from scipy import ndimage

    out = ndimage.correlate1d(np.asarray(tiles), [0.25, 0.5, 0.25], axis=-1, mode="nearest")
    return ndimage.correlate1d(out, [0.25, 0.5, 0.25], axis=-2, mode="nearest")
