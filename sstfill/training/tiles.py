"""Training tiles: cut by index from images, split into sets, and synthetic holes (numpy only)."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from sstfill.kernels.boxes import window_count
from sstfill.kernels.holes import make_holes

__all__ = ["observed_tile_origins", "cut_tiles_by_index", "split_blocks", "draw_holes", "cut_cloud_masks", "LibraryDrawer", "OWN_CLOUDS"]

#: The hole kind drawn from a dataset's own cloud masks (:class:`LibraryDrawer`).
OWN_CLOUDS = "own_clouds"


def observed_tile_origins(observed: np.ndarray, tile: int, stride: int, min_valid: float) -> tuple[np.ndarray, np.ndarray]:
    """Origins (rows, columns) of the ``tile`` windows every ``stride`` pixels of one image observed at least ``min_valid``.

    In row-major order; from window counts of the ``observed`` (bool) pixels.

    Examples
    --------
    >>> obs = np.ones((100, 130), bool); obs[:40, :40] = False
    >>> [o.tolist() for o in observed_tile_origins(obs, 64, 32, 0.8)]
    [[0, 0, 32, 32, 32], [32, 64, 0, 32, 64]]
    """
    ny, nx = observed.shape
    ys, xs = np.arange(0, ny - tile + 1, stride), np.arange(0, nx - tile + 1, stride)
    if not (len(ys) and len(xs)):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    valid = window_count(observed, tile)[ys][:, xs] / float(tile * tile)
    a, b = np.nonzero(valid >= min_valid)
    return ys[a], xs[b]


def cut_tiles_by_index(images: Iterable[np.ndarray], tile: int = 64, stride: int = 32, min_valid: float = 0.8, max_tiles: int | None = None, seed: int = 0) -> np.ndarray:
    """Cut training tiles (N, tile, tile) from 2-D images, one image in memory at a time.

    Windows start every ``stride`` pixels; a window is kept when at least ``min_valid`` of
    its pixels are observed (NaN elsewhere: land, real clouds;
    :func:`observed_tile_origins`). ``max_tiles`` keeps a random subset.

    Examples
    --------
    >>> img = np.random.default_rng(0).normal(size=(100, 130)).astype("float32")
    >>> cut_tiles_by_index([img], tile=64, stride=32).shape
    (6, 64, 64)
    """
    out = []
    for img in images:
        img = np.asarray(img, dtype="float32")
        ys, xs = observed_tile_origins(np.isfinite(img), tile, stride, min_valid)
        out += [img[y : y + tile, x : x + tile] for y, x in zip(ys.tolist(), xs.tolist())]
    tiles = np.stack(out) if out else np.empty((0, tile, tile), "float32")
    if max_tiles is not None and len(tiles) > max_tiles:
        tiles = tiles[np.sort(np.random.default_rng(seed).choice(len(tiles), max_tiles, replace=False))]
    return tiles


def split_blocks(n: int, fractions: Sequence[float]) -> list[np.ndarray]:
    """Split ``range(n)`` into contiguous blocks with the given fractions (each >= 1 item when n allows).

    Examples
    --------
    >>> [b.tolist() for b in split_blocks(10, (0.65, 0.15, 0.2))]
    [[0, 1, 2, 3, 4, 5, 6], [7], [8, 9]]
    >>> [len(b) for b in split_blocks(10, (0.8, 0.2, 0.0))]  # a part of fraction 0 stays empty
    [8, 2, 0]
    """
    fr = np.asarray(fractions, dtype="float64")
    fr = fr / fr.sum()
    counts = np.floor(fr * n).astype(int)
    for i in np.argsort(-(fr * n - counts))[: n - counts.sum()]:
        counts[i] += 1
    for i in range(len(counts)):  # every part asked for gets something if there is enough
        if counts[i] == 0 and fr[i] > 0 and n >= len(counts):
            counts[np.argmax(counts)] -= 1
            counts[i] = 1
    edges = np.concatenate([[0], np.cumsum(counts)])
    return [np.arange(edges[i], edges[i + 1]) for i in range(len(counts))]


def draw_holes(n: int, tile: int, kinds: Sequence[str], fraction: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """``n`` hole masks (n, tile, tile): a random kind and cover fraction for each."""
    out = np.empty((n, tile, tile), dtype=bool)
    for i in range(n):
        kind = kinds[rng.integers(len(kinds))]
        out[i] = make_holes(kind, (tile, tile), rng, fraction=float(rng.uniform(*fraction)), tile=tile)
    return out


def cut_cloud_masks(
    images: Iterable[tuple[np.ndarray, np.ndarray | None]], size: int, stride: int, fraction: tuple[float, float], max_masks: int = 4096, seed: int = 0
) -> np.ndarray:
    """The real cloud masks of a dataset: windows of its gaps (bool (N, size, size)), for training holes.

    ``images`` yields ``(image, never_observed)`` pairs: a 2-D field (NaN in its gaps) and
    the pixels to leave out (land, or pixels never observed in the series; None: none).
    A window every ``stride`` pixels is kept when the share of its other pixels that are
    missing lies in ``fraction``; ``max_masks`` keeps a uniform random subset (reservoir
    sampling: at most that many masks are held while the images go by). Holes drawn from
    them hide observed pixels under the clouds of other days and places, the
    cross-validation convention of DINEOF and DINCAE.

    Examples
    --------
    >>> img = np.zeros((128, 128), "float32"); img[10:60, 20:70] = np.nan
    >>> cut_cloud_masks([(img, None)], 64, 32, (0.1, 0.9)).shape
    (4, 64, 64)
    """
    kept: list[tuple[int, np.ndarray]] = []  # (candidate number, mask): a uniform sample of at most max_masks
    rng = np.random.default_rng(seed)
    seen = 0
    for img, never in images:
        missing = ~np.isfinite(np.asarray(img))
        keep = np.ones(missing.shape, bool) if never is None else ~np.asarray(never, dtype=bool)
        ny, nx = missing.shape
        for y in range(0, ny - size + 1, stride):
            for x in range(0, nx - size + 1, stride):
                k = keep[y : y + size, x : x + size]
                n = k.sum()
                if n < 0.5 * size * size:
                    continue
                m = missing[y : y + size, x : x + size] & k
                if fraction[0] <= m.sum() / n <= fraction[1]:
                    # reservoir sampling: a long archive's windows are never all held at once
                    if len(kept) < max_masks:
                        kept.append((seen, m))
                    elif (slot := int(rng.integers(0, seen + 1))) < max_masks:
                        kept[slot] = (seen, m)
                    seen += 1
    kept.sort(key=lambda item: item[0])
    return np.stack([m for _, m in kept]) if kept else np.zeros((0, size, size), bool)


class LibraryDrawer:
    """A hole drawer that takes the :data:`OWN_CLOUDS` kind from a library of real masks.

    Other kinds go to ``base`` (:func:`draw_holes`, or the windows' drawer). Library masks
    smaller than the size asked for are tiled 2 x 2 (or more) from random masks and cut.

    Examples
    --------
    >>> lib = np.zeros((3, 64, 64), bool); lib[:, :32] = True
    >>> draw = LibraryDrawer(lib, draw_holes)
    >>> draw(2, 64, (OWN_CLOUDS,), (0.1, 0.7), np.random.default_rng(0)).mean()
    np.float64(0.5)
    """

    def __init__(self, library: np.ndarray, base) -> None:
        self.library, self.base = np.asarray(library, dtype=bool), base
        if self.library.ndim != 3 or not len(self.library):
            raise ValueError("the library of own cloud masks is empty: the dataset has no gaps in the hole_fraction range")

    def __call__(self, n: int, size: int, kinds, fraction: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
        kinds = tuple(kinds)
        chosen = [kinds[rng.integers(len(kinds))] for _ in range(n)]
        own = np.array([k == OWN_CLOUDS for k in chosen], dtype=bool)
        out = np.empty((n, size, size), dtype=bool)
        others = [k for k in kinds if k != OWN_CLOUDS]
        if (~own).any():
            out[~own] = self.base(int((~own).sum()), size, others, fraction, rng)
        edge = self.library.shape[-1]
        reps = -(-size // edge)
        for i in np.flatnonzero(own):
            picks = self.library[rng.integers(0, len(self.library), reps * reps)]
            big = np.block([[picks[a * reps + b] for b in range(reps)] for a in range(reps)])
            oy, ox = rng.integers(0, big.shape[0] - size + 1), rng.integers(0, big.shape[1] - size + 1)
            out[i] = big[oy : oy + size, ox : ox + size]
        return out
