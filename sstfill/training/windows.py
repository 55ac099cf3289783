"""Training samples of a model with context: windows around tiles and the same place at neighbouring steps.

A model with a ``context_margin`` or ``time_offsets`` learns from samples
``(1 + S, W, W)``: the window of ``W = tile + 2 * margin`` pixels around a truth tile, then
the windows at its ``S`` neighbouring steps (NaN where the series has no such step).
Holding every sample would take ``(1 + S) * (W / tile)**2`` times the memory of the tiles,
so a :class:`WindowBank` keeps the images and cuts the samples of a batch when asked.
Pure numpy.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sstfill.kernels.holes import make_holes
from sstfill.kernels.windows import neighbour_steps
from sstfill.training.tiles import observed_tile_origins

__all__ = ["WindowBank", "window_bank", "StreamedWindowBank", "streamed_window_bank", "tiles_as_windows", "draw_window_holes", "LARGE_CLOUD_SCALES"]

#: Most steps a :class:`StreamedWindowBank` asks its reader for at once (a read of a lazy
#: array may briefly hold two copies of what it returns).
READ_STEPS = 4
#: ``read(steps) -> float32 (len(steps), H, W)``: the images of one series at ``steps`` (sorted indices).
StepReader = Callable[[np.ndarray], np.ndarray]


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
        t_n = imgs.shape[0]
        images.append(np.pad(imgs, ((0, 0), (margin, margin), (margin, margin)), constant_values=np.nan))
        all_steps.append(neighbour_steps(np.asarray(days, dtype="float64"), offsets) if offsets else np.zeros((t_n, 0), np.int64))
        wanted = np.zeros(t_n, bool)
        wanted[list(range(t_n)) if steps is None else list(steps[k])] = True
        index.append(_sample_origins(imgs, k, 0, wanted, tile, stride, min_valid))
    index_arr = np.concatenate(index) if index else np.zeros((0, 4), np.int64)
    return WindowBank(images, all_steps, index_arr.astype(np.int64), tile, margin)


def _sample_origins(imgs: np.ndarray, series: int, first_step: int, wanted: np.ndarray, tile: int, stride: int, min_valid: float) -> np.ndarray:
    """Rows ``(series, step, y, x)`` of the tiles of ``imgs`` (steps ``first_step...``) observed at least ``min_valid``."""
    rows = []
    for k, img in enumerate(imgs):  # one image at a time
        if wanted[first_step + k]:
            ys, xs = observed_tile_origins(np.isfinite(img), tile, stride, min_valid)
            rows.append(np.stack([np.full(ys.size, series), np.full(ys.size, first_step + k), ys, xs], axis=1))
    return np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 4), np.int64)


class StreamedWindowBank:
    """The samples of :class:`WindowBank`, row for row, from series read a few steps at a time.

    For an archive larger than memory: it holds at most ``capacity`` padded images (the
    least recently used go first) and reads the others through ``readers`` when a batch
    needs them. :meth:`epoch_batches` orders an epoch pool by pool, a pool being steps
    whose samples and neighbouring steps fit in ``capacity``, so each image is read about
    once per epoch rather than once per batch.

    Attributes
    ----------
    readers : list of StepReader
        Each series' images at given steps, unpadded (float32 (len(steps), H, W)).
    steps, index, tile, margin
        As in :class:`WindowBank`.
    capacity : int
        Most images held at once (at least one sample's: 1 + number of neighbours).
    reads, most_held : int
        Images read so far, and the most held at once.
    """

    def __init__(self, readers: list[StepReader], steps: list[np.ndarray], index: np.ndarray, tile: int, margin: int, capacity: int) -> None:
        self.readers, self.steps, self.index, self.tile, self.margin = readers, steps, index, tile, margin
        self.capacity = max(int(capacity), 1 + (steps[0].shape[1] if steps else 0))
        self._held: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self.reads = self.most_held = 0

    def __len__(self) -> int:
        return len(self.index)

    window = WindowBank.window
    shape = WindowBank.shape

    def _keys(self, rows: np.ndarray) -> set[tuple[int, int]]:
        """The (series, step) images the samples ``rows`` are cut from."""
        series, t = self.index[rows, 0], self.index[rows, 1]
        keys = set(zip(series.tolist(), t.tolist()))
        for j in range(self.shape[1] - 1):
            nb = np.array([self.steps[s][i, j] for s, i in zip(series, t)], dtype=np.int64)
            keys |= {(s, n) for s, n in zip(series.tolist(), nb.tolist()) if n >= 0}
        return keys

    def _hold(self, keys: set[tuple[int, int]]) -> None:
        """Read the images ``keys`` not held (:data:`READ_STEPS` a read), dropping the least recently used beyond capacity."""
        for key in keys & self._held.keys():
            self._held.move_to_end(key)
        missing = sorted(keys - self._held.keys())
        m = self.margin
        for series in sorted({s for s, _ in missing}):
            wanted = np.array([t for s, t in missing if s == series], dtype=np.int64)
            for group in np.array_split(wanted, -(-len(wanted) // READ_STEPS)):  # a few steps a read: its copies stay small
                images = np.asarray(self.readers[series](group), dtype="float32")
                self.reads += len(group)
                for t, image in zip(group.tolist(), images):
                    self._held[(series, t)] = np.pad(image, ((m, m), (m, m)), constant_values=np.nan)
                    while len(self._held) > self.capacity:
                        self._held.popitem(last=False)
        self.most_held = max(self.most_held, len(self._held))

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """Samples (len(rows), 1 + S, W, W) float32, the same as :meth:`WindowBank.gather`'s; NaN where nothing is known."""
        rows = np.asarray(rows)
        w = self.window
        out = np.full((len(rows),) + self.shape[1:], np.nan, dtype="float32")
        for part, keys in self._parts(rows):
            self._hold(keys)
            for i in part:
                series, t, y, x = self.index[rows[i]].tolist()
                out[i, 0] = self._held[(series, t)][y : y + w, x : x + w]
                for j, nb in enumerate(self.steps[series][t].tolist()):
                    if nb >= 0:
                        out[i, 1 + j] = self._held[(series, nb)][y : y + w, x : x + w]
        return out

    def _parts(self, rows: np.ndarray) -> Iterator[tuple[np.ndarray, set[tuple[int, int]]]]:
        """Positions in ``rows``, in runs (by series and step) whose images fit in ``capacity``, with those images."""
        order = np.lexsort((self.index[rows, 1], self.index[rows, 0]))
        run: list[int] = []
        keys: set[tuple[int, int]] = set()
        for i in order.tolist():
            new = self._keys(rows[[i]])  # at most 1 + S <= capacity
            if run and len(keys | new) > self.capacity:
                yield np.array(run), keys
                run, keys = [], set()
            run.append(i)
            keys |= new
        if run:
            yield np.array(run), keys

    def subset(self, rows: np.ndarray) -> StreamedWindowBank:
        """The bank restricted to the samples ``rows`` (same readers, nothing held)."""
        return StreamedWindowBank(self.readers, self.steps, self.index[np.asarray(rows)], self.tile, self.margin, self.capacity)

    def epoch_batches(self, batch: int, rng: np.random.Generator, steps: int | None) -> list[np.ndarray]:
        """An epoch's batches, pool by pool (see :func:`sstfill.training.banks.batch_indices` for ``steps``).

        The steps holding samples are grouped into pools of consecutive steps (from a random
        step on) whose images, with their neighbouring steps, fit in ``capacity``; the pools
        come in a random order. Without
        ``steps`` every sample comes once (shuffled within its pool); with ``steps``, that
        many batches drawn with replacement, spread evenly over the pools.
        """
        targets, inverse, counts = np.unique(self.index[:, :2], axis=0, return_inverse=True, return_counts=True)
        rows_of = np.split(np.argsort(inverse.ravel(), kind="stable"), np.cumsum(counts)[:-1])  # the samples of each target step
        pools: list[list[int]] = []  # rows of self.index
        held: set[tuple[int, int]] = set()
        # runs of consecutive steps share their neighbouring steps (a pool of random steps would
        # hold a few targets and their neighbours); the runs start at a random step each epoch
        for k in np.roll(np.arange(len(targets)), -int(rng.integers(len(targets)))) if len(targets) else []:
            need = self._keys(rows_of[k][:1])
            if pools and len(held | need) <= self.capacity:
                pools[-1].extend(rows_of[k].tolist())
                held |= need
            else:
                pools.append(rows_of[k].tolist())
                held = set(need)
        pools = [pools[k] for k in rng.permutation(len(pools))]
        if steps is None:
            out = []
            for pool in pools:
                order = rng.permutation(np.array(pool))
                out += [order[i : i + batch] for i in range(0, len(order), batch)]
            return out
        return [rng.choice(np.array(pools[k * len(pools) // steps]), size=batch) for k in range(steps)]


def streamed_window_bank(
    readers: Sequence[StepReader],
    days: Sequence[np.ndarray],
    offsets: tuple[float, ...],
    tile: int = 64,
    margin: int = 0,
    stride: int = 32,
    min_valid: float = 0.8,
    capacity: int = 64,
) -> StreamedWindowBank:
    """:func:`window_bank`'s samples from series read ``capacity`` steps at a time (never all at once).

    ``readers[k](steps)`` gives series ``k``'s images at ``steps``; ``days[k]`` the time of
    each of its steps in days. The images are read once here to find the tiles observed
    at least ``min_valid`` (:data:`READ_STEPS` at a time), then again as batches need them.

    Examples
    --------
    >>> img = np.random.default_rng(0).normal(size=(3, 96, 96)).astype("float32")
    >>> bank = streamed_window_bank([lambda steps: img[steps]], [np.arange(3.0)], (-1.0, 1.0), tile=32, margin=16, stride=32, capacity=3)
    >>> eager = window_bank([(img, np.arange(3.0))], (-1.0, 1.0), tile=32, margin=16, stride=32)
    >>> bool(np.array_equal(bank.gather(np.arange(27)), eager.gather(np.arange(27)), equal_nan=True))
    True
    """
    all_steps, index = [], []
    for k, (read, t_days) in enumerate(zip(readers, days)):
        t_n = len(t_days)
        all_steps.append(neighbour_steps(np.asarray(t_days, dtype="float64"), offsets) if offsets else np.zeros((t_n, 0), np.int64))
        wanted = np.ones(t_n, bool)
        for start in range(0, t_n, READ_STEPS):
            chunk = np.arange(start, min(t_n, start + READ_STEPS))
            index.append(_sample_origins(np.asarray(read(chunk), dtype="float32"), k, start, wanted, tile, stride, min_valid))
    index_arr = np.concatenate(index) if index else np.zeros((0, 4), np.int64)
    return StreamedWindowBank(list(readers), all_steps, index_arr, tile, margin, capacity)


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
