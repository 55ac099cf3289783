"""Batch tiles across chunks: one device call for the tiles of several concurrent dask tasks.

A dask chunk of 512 x 512 pixels holds about 150 tiles; a GPU needs thousands per call to
be busy. When several chunks are filled at once (dask's threads, or a worker's threads),
a :class:`TileBatcher` gathers the ``predict_tiles`` calls that arrive within a few
milliseconds of each other, runs them as one batch, and hands each caller its own rows.
:class:`~sstfill.Inpainter` uses one per model on CUDA devices, from :func:`batcher_for`:
the batchers (and their threads) live here, not on the model objects.
"""

from __future__ import annotations

import queue
import threading
import time
import weakref
from concurrent.futures import Future
from typing import Callable

import numpy as np

__all__ = ["TileBatcher", "batcher_for", "existing_batcher"]


class TileBatcher:
    """Thread-safe ``predict_tiles`` that merges concurrent calls into bigger batches.

    Parameters
    ----------
    predict : callable
        ``predict(values, observed) -> values`` on batches ``(N, T, T)``; called as
        ``predict(values, observed, neighbours)`` when the calls carry neighbours.
    batch_tiles : int
        Stop gathering once this many tiles are waiting.
    wait_s : float
        How long the first call of a batch waits for others to join it.

    Examples
    --------
    >>> import numpy as np
    >>> batcher = TileBatcher(lambda v, m: np.where(m, v, 0.0), batch_tiles=64)
    >>> v = np.ones((3, 4, 4), "float32"); m = np.ones(v.shape, bool)
    >>> batcher.predict_tiles(v, m).shape
    (3, 4, 4)
    >>> batcher.calls, batcher.batches
    (1, 1)
    """

    def __init__(self, predict: Callable[[np.ndarray, np.ndarray], np.ndarray], batch_tiles: int = 8192, wait_s: float = 0.002) -> None:
        self._predict = predict
        self.batch_tiles = int(batch_tiles)
        self.wait_s = float(wait_s)
        self.calls = 0  # predict_tiles calls served
        self.batches = 0  # calls of ``predict`` made for them
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray, neighbours: np.ndarray | None = None) -> np.ndarray:
        """Fill ``values`` (N, T, T); blocks until its batch has run.

        ``neighbours`` (N, ...), if given, is handed on with the tiles (calls with and
        without neighbours are batched separately).
        """
        extra = () if neighbours is None else (neighbours,)
        if len(values) == 0:
            return self._predict(values, observed, *extra)
        self._start()
        done: Future = Future()
        self._queue.put((values, observed, neighbours, done))
        return done.result()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="sstfill-tile-batcher", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while True:
            items = [self._queue.get()]
            waiting = len(items[0][0])
            deadline = time.monotonic() + self.wait_s
            while waiting < self.batch_tiles:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                items.append(item)
                waiting += len(item[0])
            for with_neighbours in (False, True):  # the two kinds of call run as separate batches
                group = [item for item in items if (item[2] is not None) == with_neighbours]
                if group:
                    self._run(group)

    def _run(self, items: list) -> None:
        try:
            values = np.concatenate([np.asarray(v, dtype="float32") for v, _, _, _ in items])
            observed = np.concatenate([np.asarray(m, dtype=bool) for _, m, _, _ in items])
            extra = () if items[0][2] is None else (np.concatenate([np.asarray(n, dtype="float32") for _, _, n, _ in items]),)
            out = self._predict(values, observed, *extra)
        except BaseException as err:  # every waiting caller gets the error, none hangs
            for *_, done in items:
                done.set_exception(err)
            return
        self.batches += 1
        self.calls += len(items)
        start = 0
        for v, _, _, done in items:
            done.set_result(out[start : start + len(v)])
            start += len(v)


# one batcher per model; an entry goes when its model is garbage-collected
_BATCHERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BATCHERS_LOCK = threading.Lock()


def batcher_for(owner: object, predict: Callable[[np.ndarray, np.ndarray], np.ndarray], batch_tiles: int) -> TileBatcher:
    """The one :class:`TileBatcher` of ``owner`` (a model), made on its first call.

    ``predict`` is ``owner``'s own unbatched method; the batcher holds it weakly, so the
    registry never keeps a model alive.

    Examples
    --------
    >>> class Model:
    ...     def predict(self, v, m):
    ...         return v
    >>> model = Model()
    >>> existing_batcher(model) is None
    True
    >>> batcher_for(model, model.predict, batch_tiles=64) is batcher_for(model, model.predict, batch_tiles=64)
    True
    >>> existing_batcher(model).batch_tiles
    64
    """
    with _BATCHERS_LOCK:
        batcher = _BATCHERS.get(owner)
        if batcher is None:
            method = weakref.WeakMethod(predict)
            batcher = _BATCHERS[owner] = TileBatcher(lambda values, observed, *extra: method()(values, observed, *extra), batch_tiles=batch_tiles)
        return batcher


def existing_batcher(owner: object) -> TileBatcher | None:
    """``owner``'s :class:`TileBatcher` if :func:`batcher_for` made one, else None."""
    return _BATCHERS.get(owner)
