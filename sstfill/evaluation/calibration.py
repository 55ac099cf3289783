"""Is a predicted error right? Coverage, CRPS, reliability and spread-skill of Gaussian errors (numpy).

All functions take the errors of filled values (``filled - truth``) and the predicted
standard deviations ``sigma`` of the same pixels; non-finite pairs and negative sigmas are
ignored. A sigma of 0 is a prediction of no error (the limit of a Gaussian of vanishing
width): the error is within every interval only if it is 0, and its CRPS is ``|error|``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf, erfinv

__all__ = ["coverage", "crps_gaussian", "reliability", "spread_skill", "GAUSSIAN_COVERAGE"]

#: The fraction of a Gaussian within 1, 2 and 3 standard deviations.
GAUSSIAN_COVERAGE = {k: math.erf(k / math.sqrt(2)) for k in (1, 2, 3)}


def _pairs(errors, sigma) -> tuple[np.ndarray, np.ndarray]:
    e = np.asarray(errors, dtype="float64").ravel()
    s = np.asarray(sigma, dtype="float64").ravel()
    ok = np.isfinite(e) & np.isfinite(s) & (s >= 0)
    return e[ok], s[ok]


def coverage(errors, sigma, k=(1, 2, 3)) -> dict[int, float]:
    """Fraction of errors within ``k`` predicted standard deviations (Gaussian: 0.683, 0.954, 0.997).

    Examples
    --------
    >>> e = np.random.default_rng(0).normal(0, 2, 100000)
    >>> {k: round(v, 2) for k, v in coverage(e, np.full(e.size, 2.0)).items()}
    {1: 0.68, 2: 0.95, 3: 1.0}
    """
    e, s = _pairs(errors, sigma)
    return {int(j): float(np.mean(np.abs(e) <= j * s)) if e.size else float("nan") for j in k}


def crps_gaussian(errors, sigma) -> float:
    """Mean continuous ranked probability score of the Gaussians N(filled, sigma) at the truth.

    In the field's units; a perfect deterministic fill scores 0, and for a calibrated
    Gaussian it is about 0.56 times the RMSE (errors drawn from N(0, sigma) score
    ``sigma / sqrt(pi)`` on average), so it can be set beside an RMSE.

    Examples
    --------
    >>> round(crps_gaussian([0.0], [1.0]), 4)  # (sqrt(2) - 1) / sqrt(pi)
    0.2337
    """
    e, s = _pairs(errors, sigma)
    if not e.size:
        return float("nan")
    point = s == 0  # a Gaussian of width 0: the absolute error
    z = e / np.where(point, 1.0, s)
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + erf(z / math.sqrt(2)))
    return float(np.mean(np.where(point, np.abs(e), s * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi)))))


def reliability(errors, sigma, levels=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)) -> tuple[np.ndarray, np.ndarray]:
    """Nominal probability of each central interval of the predicted Gaussian, and the observed frequency.

    A calibrated error lies on the diagonal: ``observed == nominal``.

    Examples
    --------
    >>> e = np.random.default_rng(1).normal(0, 1, 100000)
    >>> nominal, observed = reliability(e, np.ones(e.size), levels=(0.5, 0.9))
    >>> [round(float(x), 2) for x in observed]
    [0.5, 0.9]
    """
    e, s = _pairs(errors, sigma)
    nominal = np.asarray(levels, dtype="float64")
    half_widths = math.sqrt(2) * erfinv(nominal)
    observed = np.array([np.mean(np.abs(e) <= w * s) if e.size else np.nan for w in half_widths])
    return nominal, observed


def spread_skill(errors, sigma, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root-mean predicted variance and observed RMSE in ``bins`` equally populated bins of sigma.

    Returns ``(rms_sigma, rmse, count)`` per bin; calibrated errors give ``rmse == rms_sigma``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> s = rng.uniform(0.1, 1.0, 50000); e = rng.normal(0, s)
    >>> spread, skill, n = spread_skill(e, s, bins=2)
    >>> bool(np.allclose(spread, skill, rtol=0.05))
    True
    """
    e, s = _pairs(errors, sigma)
    if not e.size:
        return np.array([]), np.array([]), np.array([], dtype=int)
    order = np.argsort(s, kind="stable")
    parts = np.array_split(order, min(bins, e.size))
    spread = np.array([math.sqrt(np.mean(s[p] ** 2)) for p in parts])
    skill = np.array([math.sqrt(np.mean(e[p] ** 2)) for p in parts])
    return spread, skill, np.array([p.size for p in parts])
