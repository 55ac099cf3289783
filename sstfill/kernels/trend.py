"""The large-scale trend under wide clouds: what the fallback fills about. Numpy, scipy and scikit-image.

Far inside a cloud wider than the tiles' reach a harmonic fill flattens towards the mean of
its boundary, while the field goes on rising or falling across it. The fallback
(:func:`sstfill.xr.dispatch.harmonic_fallback`) therefore fills the *departure* from a smooth
trend harmonically and adds the trend back: the trend is scikit-image's biharmonic
inpainting of the image's means in :data:`TREND_BLOCK`-pixel blocks (blocks without a gap
are its data), clipped to their range, upsampled bilinearly. Next to the data the fill is
the harmonic one (the departure's boundary values are the data's); far from it, it follows
the large-scale gradients, as biharmonic inpainting does, without the overshoot of a
biharmonic fill of noisy pixels.

Measured in ``benchmarks/large_gap_trial.py`` (default model, clouds wider than a tile):
RMSE -3.2 % (noise 1.6 %) on the fit set, -3.5 % (1.7 %) on the held-out cases, the other
groups within 0.2 %; blocks of 8, 16 and 32 pixels -1.2 / -2.6 %, -4.0 / -0.3 % and
-0.3 / +0.2 %, with up to twice the noise (``docs/benchmarks/large_gap_trial.md``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["TREND_BLOCK", "block_means", "coarse_trend", "upsample", "block_trend", "fill_about_trend"]

#: Side (pixels) of the blocks whose means make the trend.
TREND_BLOCK = 24


def _upsample_axis(coarse: np.ndarray, n: int, block: int, axis: int) -> np.ndarray:
    """Linear interpolation along ``axis`` from block centres to ``n`` pixel centres (held at the ends), in ``coarse``'s dtype."""
    cells = coarse.shape[axis]
    position = np.clip((np.arange(n) + 0.5) / block - 0.5, 0.0, cells - 1.0)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, cells - 1)
    shape = [1, 1]
    shape[axis] = n
    weight = (position - low).astype(coarse.dtype).reshape(shape)
    out = np.take(coarse, low, axis=axis)
    step = np.take(coarse, high, axis=axis)
    step -= out
    step *= weight
    out += step  # two arrays of the output's size at most: the fallback runs on whole images
    return out


def block_means(image: np.ndarray, block: int = TREND_BLOCK) -> tuple[np.ndarray, np.ndarray] | None:
    """The means (float64) of ``image`` in ``block``-pixel blocks and where they are data (blocks without a gap); None without 3 such blocks, or without a gap.

    Blocks cut by the image's edge are not data (their means would stand for less).
    """
    ny, nx = image.shape
    cy, cx = ny // block, nx // block
    means = np.zeros((-(-ny // block), -(-nx // block)))
    known = np.zeros(means.shape, dtype=bool)
    inner = image[: cy * block, : cx * block].reshape(cy, block, cx, block)
    known[:cy, :cx] = np.isfinite(inner).all(axis=(1, 3))
    if known.sum() < 3 or known.all():
        return None
    means[:cy, :cx] = np.where(known[:cy, :cx], np.nan_to_num(inner).sum(axis=(1, 3), dtype="float64") / block**2, 0.0)
    return means, known


def coarse_trend(means: np.ndarray, known: np.ndarray) -> np.ndarray:
    """scikit-image's biharmonic inpainting of the ``known`` block ``means``, clipped to their range."""
    from skimage.restoration import inpaint_biharmonic

    low, high = means[known].min(), means[known].max()
    centre = 0.5 * (low + high)
    return np.clip(inpaint_biharmonic(np.where(known, means - centre, 0.0), ~known) + centre, low, high)


def upsample(coarse: np.ndarray, shape: tuple[int, int], block: int = TREND_BLOCK) -> np.ndarray:
    """Block values ``coarse`` at every pixel of an image of ``shape``: bilinear between block centres, float32."""
    return _upsample_axis(_upsample_axis(coarse, shape[0], block, 0).astype("float32"), shape[1], block, 1)


def block_trend(image: np.ndarray, block: int = TREND_BLOCK) -> np.ndarray | None:
    """The smooth trend (float32, the image's shape) under the gaps (NaN) of one image; None without enough gap-free blocks.

    :func:`block_means`, :func:`coarse_trend` of them, :func:`upsample`.

    Examples
    --------
    >>> x = np.add.outer(np.arange(200.0), np.zeros(200)) / 10; gaps = x.copy(); gaps[40:160, 40:160] = np.nan
    >>> trend = block_trend(gaps)  # the ramp (10.0 there) goes on under the cloud
    >>> trend.shape, round(float(trend[100, 100]), 1)
    ((200, 200), 9.7)
    """
    blocks = block_means(image, block)
    return None if blocks is None else upsample(coarse_trend(*blocks), image.shape, block)


def fill_about_trend(
    images: np.ndarray,
    todo: np.ndarray,
    fill: Callable[[np.ndarray, np.ndarray], np.ndarray],
    trend: Callable[[np.ndarray], np.ndarray | None] = block_trend,
) -> np.ndarray:
    """Fill the ``todo`` pixels of ``images`` (..., ny, nx) with ``fill`` applied to their departure from their ``trend``.

    ``fill(image, todo)`` fills one image's ``todo`` pixels (e.g. a harmonic fill region by
    region); the trend (:func:`block_trend` unless another is given) is added back there.
    Images without a trend are filled as they are. Only ``todo`` pixels change.

    Examples
    --------
    >>> def with_mean(image, todo):
    ...     return np.where(todo, np.nanmean(image), image)
    >>> x = np.add.outer(np.arange(200.0), np.zeros(200)) / 10; gaps = x.copy(); gaps[40:160, 40:160] = np.nan
    >>> out = fill_about_trend(gaps, np.isnan(gaps), with_mean)  # worst error 0.8, against 6.0 for the mean alone
    >>> round(float(np.abs(out - x).max()), 1), bool((out[:40] == x[:40]).all())
    (0.8, True)
    """
    flat = images.reshape((-1,) + images.shape[-2:])
    todo_flat = todo.reshape(flat.shape)
    out = flat.copy()
    for i in np.flatnonzero(todo_flat.any(axis=(1, 2))):
        smooth = trend(flat[i])
        if smooth is None:
            out[i] = fill(flat[i], todo_flat[i])
            continue
        departure = np.subtract(flat[i], smooth, dtype=flat.dtype)
        departure = fill(departure, todo_flat[i])
        departure += smooth
        del smooth
        out[i] = np.where(todo_flat[i], departure, flat[i])
    return out.reshape(images.shape)
