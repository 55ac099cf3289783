"""Box sums and counts over square windows, the same bits wherever an image starts. Pure numpy.

Each sum adds the same values in the same order whatever the image's extent (sums of 2, 4,
8, ... values by doubling, not a running sum), so a block cut with a halo gives its core the
very values the whole image gives: what lets the error features
(:mod:`sstfill.kernels.uncertainty`) be computed chunk by chunk with dask.
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_sum", "box_count", "window_count", "masked_box_sums", "in_image_count"]


def _window_sums(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Sums of ``size`` consecutive values of ``a`` along ``axis`` (length ``n - size + 1``).

    By doubling: sums of 2, 4, 8, ... values from those of half as many, then the powers of
    two that make up ``size``. Each sum is the same tree of additions over its own values,
    wherever the array starts (not a running sum), in ~log2(size) passes.
    """
    def part(x: np.ndarray, start: int, length: int) -> np.ndarray:
        return x[start : start + length] if axis == 0 else x[:, start : start + length]

    n = a.shape[axis] - size + 1
    kept = {1: a} if size & 1 else {}
    power, sums = 1, a
    while 2 * power <= size:
        sums = part(sums, 0, sums.shape[axis] - power) + part(sums, power, sums.shape[axis] - power)
        power *= 2
        if size & power:
            kept[power] = sums
    powers = sorted(kept, reverse=True)
    out, offset = part(kept[powers[0]], 0, n).copy(), powers[0]
    for power in powers[1:]:
        out += part(kept[power], offset, n)
        offset += power
    return out


def _padded_box_sums(padded: np.ndarray, size: int) -> np.ndarray:
    """Box sums of an image padded by ``size // 2``: window sums along x, then along y."""
    return _window_sums(_window_sums(padded, size, 1), size, 0)


def in_image_count(shape: tuple[int, int], size: int) -> np.ndarray:
    """How many pixels of the ``size`` x ``size`` box around each pixel lie in an image of ``shape`` (float64).

    Examples
    --------
    >>> in_image_count((3, 3), 3)[0].tolist()
    [4.0, 6.0, 4.0]
    """
    half = size // 2
    per_axis = [np.minimum(np.arange(n) + half, n - 1) - np.maximum(np.arange(n) - half, 0) + 1 for n in shape]
    return np.multiply.outer(per_axis[0], per_axis[1]).astype("float64")


def box_sum(a: np.ndarray, size: int) -> np.ndarray:
    """Sum over the ``size`` x ``size`` box centred on each pixel (zero outside the image).

    Each sum adds the same values in the same order wherever the image starts
    (:func:`_window_sums`: not a running sum), so a block with a halo gives its core the
    very bits the whole image gives.

    Examples
    --------
    >>> box_sum(np.ones((4, 4)), 3)[0].tolist()
    [4.0, 6.0, 6.0, 4.0]
    """
    return _padded_box_sums(np.pad(np.asarray(a, dtype="float64"), size // 2), size)


def box_count(mask: np.ndarray, size: int) -> np.ndarray:
    """:func:`box_sum` of a 0/1 array, as float64, counted in small integers.

    Counts are exact however they are added, so this gives the very values of
    :func:`box_sum` at a fraction of its cost (``size`` up to 181: counts fit int16).

    Examples
    --------
    >>> box_count(np.eye(4, dtype=bool), 3)[1].tolist()
    [2.0, 3.0, 2.0, 1.0]
    """
    padded = np.pad(np.asarray(mask, dtype=bool), size // 2).astype(np.int16)
    return _padded_box_sums(padded, size).astype("float64")


def window_count(mask: np.ndarray, size: int) -> np.ndarray:
    """How many pixels of ``mask`` are set in the ``size`` x ``size`` window *starting* at each pixel (int64 (H - size + 1, W - size + 1)).

    Examples
    --------
    >>> window_count(np.eye(4, dtype=bool), 2).tolist()
    [[2, 1, 0], [1, 2, 1], [0, 1, 2]]
    """
    return _window_sums(_window_sums(np.asarray(mask, dtype=bool).astype(np.int32), size, 1), size, 0).astype(np.int64)


def masked_box_sums(values: np.ndarray, weights: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Box sums of ``values`` where ``weights`` (bool), and the count of ``weights`` in each box (see :func:`box_sum`).

    Examples
    --------
    >>> total, n = masked_box_sums(np.arange(4.0).reshape(2, 2), np.array([[True, False], [True, True]]), 3)
    >>> float(total[0, 0]), float(n[0, 0])
    (5.0, 3.0)
    """
    return box_sum(np.where(weights, values, 0.0), size), box_count(weights, size)
