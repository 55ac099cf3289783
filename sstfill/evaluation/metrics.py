"""Scores of a fill against the truth: RMSE, MAE, bias and SSIM (numpy)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

__all__ = ["rmse", "mae", "bias", "ssim", "ssim_map", "scores"]


def _like_truth(x, truth):
    """``x`` in ``truth``'s dims order (broadcast over those it lacks) when both are labelled arrays (DataArrays).

    Their values are compared by position: a fill returned as ``(lon, lat)`` against a truth
    in ``(lat, lon)`` would be broadcast into a product of the two, scored silently.
    """
    dims, own = getattr(truth, "dims", None), getattr(x, "dims", None)
    if dims is None or own is None or tuple(own) == tuple(dims):
        return x
    if not set(own) <= set(dims):
        raise ValueError(f"cannot score an array over dims {tuple(own)} against a truth over {tuple(dims)}: give both the same dims.")
    missing = {d: truth.sizes[d] for d in dims if d not in own}  # e.g. one mask for every step
    return (x.expand_dims(missing) if missing else x).transpose(*dims)


def _pairs(pred, truth, where) -> np.ndarray:
    """The differences ``pred - truth`` over ``where`` (all of them, finite or not), float64."""
    d = np.asarray(_like_truth(pred, truth), dtype="float64") - np.asarray(truth, dtype="float64")
    if where is not None:
        d = d[np.broadcast_to(np.asarray(_like_truth(where, truth), bool), d.shape)]
    return d.ravel()


def _diff(pred, truth, where) -> np.ndarray:
    d = _pairs(pred, truth, where)
    return d[np.isfinite(d)]


def rmse(pred, truth, where=None) -> float:
    """Root-mean-square error over ``where`` (default: everywhere both are finite).

    Examples
    --------
    >>> rmse([1.0, 2.0, 5.0], [1.0, 2.0, 2.0], where=[False, True, True])
    2.1213203435596424
    """
    d = _diff(pred, truth, where)
    return float(np.sqrt(np.mean(d**2))) if d.size else float("nan")


def mae(pred, truth, where=None) -> float:
    """Mean absolute error over ``where``."""
    d = _diff(pred, truth, where)
    return float(np.mean(np.abs(d))) if d.size else float("nan")


def bias(pred, truth, where=None) -> float:
    """Mean of ``pred - truth`` over ``where``."""
    d = _diff(pred, truth, where)
    return float(np.mean(d)) if d.size else float("nan")


def ssim_map(pred: np.ndarray, truth: np.ndarray, data_range: float, window: int = 7) -> np.ndarray:
    """The SSIM map of two gap-free 2-D images, as scikit-image computes it (float64).

    ``skimage.metrics.structural_similarity(pred, truth, win_size=window,
    gaussian_weights=False, data_range=data_range, full=True)[1]``: a uniform ``window``
    (scipy's ``uniform_filter``, reflected edges), sample covariance (``window**2 /
    (window**2 - 1)``), K1=0.01, K2=0.03. Written with scipy so that sstfill needs no
    scikit-image; the tests check the two maps agree.
    """
    a = np.asarray(pred, dtype="float64")
    b = np.asarray(truth, dtype="float64")
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    cov_norm = window**2 / (window**2 - 1)
    mu_a, mu_b = uniform_filter(a, window), uniform_filter(b, window)
    var_a = cov_norm * (uniform_filter(a * a, window) - mu_a**2)
    var_b = cov_norm * (uniform_filter(b * b, window) - mu_b**2)
    cov = cov_norm * (uniform_filter(a * b, window) - mu_a * mu_b)
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def ssim(pred, truth, data_range: float | None = None, window: int = 7) -> float:
    """Structural similarity of two 2-D images (mean over pixels where both are finite).

    On gap-free images this is scikit-image's ``structural_similarity(pred, truth,
    win_size=window, gaussian_weights=False, data_range=data_range)``: uniform window,
    sample covariance, K1=0.01, K2=0.03, the mean of the SSIM map without its
    ``(window - 1) // 2``-pixel border (:func:`ssim_map`). sstfill 0.1.0 used the population
    covariance and kept the border: its values differed by about 1e-3 on 192x256 fields and
    by up to 0.03 on 64x64 tiles.

    Gaps: pixels where either image is NaN (land, clouds) are replaced by the truth's mean
    before filtering and excluded from the mean (scikit-image returns NaN for any image with
    a gap). NaN when no pixel is left. ``data_range`` defaults to the truth's max - min over
    the pixels finite in both (1 when constant).

    Examples
    --------
    >>> x = np.add.outer(np.arange(16.0), np.arange(16.0))
    >>> ssim(x, x)
    1.0
    """
    return _masked_ssim(pred, truth, data_range, window, ssim_map)


def _masked_ssim(pred, truth, data_range: float | None, window: int, map_function) -> float:
    """:func:`ssim` with the SSIM map computed by ``map_function(a, b, data_range, window)``."""
    a = np.asarray(pred, dtype="float64")
    b = np.asarray(truth, dtype="float64")
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"ssim compares two 2-D images of one shape; got {a.shape} and {b.shape}.")
    if window < 3 or window % 2 == 0 or window > min(a.shape):
        raise ValueError(f"window must be odd, at least 3 and at most the image side {min(a.shape)}; got {window}.")
    ok = np.isfinite(a) & np.isfinite(b)
    pad = (window - 1) // 2
    scored = np.zeros_like(ok)
    scored[pad : a.shape[0] - pad, pad : a.shape[1] - pad] = ok[pad : a.shape[0] - pad, pad : a.shape[1] - pad]
    if not scored.any():
        return float("nan")
    fill = b[ok].mean()
    a, b = np.where(ok, a, fill), np.where(ok, b, fill)
    rng = data_range if data_range is not None else float(b[ok].max() - b[ok].min()) or 1.0
    return float(map_function(a, b, rng, window)[scored].mean())


def scores(pred, truth, where) -> dict[str, float]:
    """RMSE, MAE and bias over ``where`` plus the count of scored pixels ``n`` and of ``skipped`` ones.

    A pixel of ``where`` is skipped (not scored) where ``pred`` or ``truth`` is not finite:
    a hidden pixel the fill left missing (land, beyond its reach, no geolocation). DataArrays
    are matched by dimension name, whatever their order.

    Examples
    --------
    >>> scores([1.0, np.nan, 5.0], [1.0, 2.0, 2.0], where=[True, True, True])
    {'rmse': 2.1213203435596424, 'mae': 1.5, 'bias': 1.5, 'n': 2, 'skipped': 1}
    """
    pairs = _pairs(pred, truth, where)
    d = pairs[np.isfinite(pairs)]
    empty = float("nan")
    return {
        "rmse": float(np.sqrt(np.mean(d**2))) if d.size else empty,
        "mae": float(np.mean(np.abs(d))) if d.size else empty,
        "bias": float(np.mean(d)) if d.size else empty,
        "n": int(d.size),
        "skipped": int(pairs.size - d.size),
    }
