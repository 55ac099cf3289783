"""Training tiles: cut by index from images, split into sets, and synthetic holes (numpy only)."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from sstfill.kernels.holes import make_holes

__all__ = ["cut_tiles_by_index", "split_blocks", "draw_holes"]


def cut_tiles_by_index(images: Iterable[np.ndarray], tile: int = 64, stride: int = 32, min_valid: float = 0.8, max_tiles: int | None = None, seed: int = 0) -> np.ndarray:
    """Cut training tiles (N, tile, tile) from 2-D images, one image in memory at a time.

    Windows start every ``stride`` pixels; a window is kept when at least ``min_valid`` of
    its pixels are observed (NaN elsewhere: land, real clouds). ``max_tiles`` keeps a
    random subset.

    Examples
    --------
    >>> img = np.random.default_rng(0).normal(size=(100, 130)).astype("float32")
    >>> cut_tiles_by_index([img], tile=64, stride=32).shape
    (6, 64, 64)
    """
    out = []
    for img in images:
        img = np.asarray(img, dtype="float32")
        ny, nx = img.shape
        if ny < tile or nx < tile:
            continue
        valid = np.isfinite(img)
        for y in range(0, ny - tile + 1, stride):
            for x in range(0, nx - tile + 1, stride):
                if valid[y : y + tile, x : x + tile].mean() >= min_valid:
                    out.append(img[y : y + tile, x : x + tile])
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
    """
    fr = np.asarray(fractions, dtype="float64")
    fr = fr / fr.sum()
    counts = np.floor(fr * n).astype(int)
    for i in np.argsort(-(fr * n - counts))[: n - counts.sum()]:
        counts[i] += 1
    for i in range(len(counts)):  # every part gets something if there is enough
        if counts[i] == 0 and n >= len(counts):
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
