"""The error of a fill, pixel by pixel: features, a fitted Gaussian error model, its fit. Pure numpy.

Every filled pixel gets the standard deviation of its error, ``sigma``, from a log-linear
model of what makes a fill a guess (:data:`FEATURES`):

* ``log_distance``: ``log(1 + d)``, ``d`` the distance in pixels to the nearest observed
  pixel (capped at :data:`ERROR_HALO`): far from data the fill is extrapolation;
* ``log_local_std``: the log of the standard deviation of the field (observed and filled
  pixels) in a :data:`STD_WINDOW`-pixel box: the local variability an error is a part of;
* ``log_gradient``: the log of the mean |gradient| (field units per pixel) in a
  :data:`GRADIENT_WINDOW`-pixel box of the filled field: fronts;
* ``observed_fraction``: the observed fraction of that :data:`STD_WINDOW` box: how much of
  the surroundings the fill could see;
* ``log_roughness``: the log of the mean |observed value - mean of its 3 x 3 neighbourhood|
  over the observed pixels of that box whose neighbourhood is all observed: pixel-scale
  variability (sensor noise of an L2 swath, none in a smooth L4 analysis) that no fill can
  reproduce;
* ``log_distance_beyond_4``, ``log_distance_beyond_16``: ``max(0, log_distance - log(1 + k))``
  for the :data:`DISTANCE_KNOTS` ``k``: the log sigma is piecewise linear in the log
  distance, so it can grow at its own rate next to the data, within a tile's reach and
  beyond it (measured in ``benchmarks/error_features_trial.py``);
* ``log_distance_x_log_local_std``, ``log_distance_x_log_gradient``,
  ``log_distance_x_observed_fraction``: the log distance times each of those three
  (:data:`DISTANCE_PRODUCTS`): how fast sigma grows away from the data depends on the
  field around it (measured there too: with them the default model's error meets the
  target in 9 of its 11 held-out groups instead of 7).

The variance is the sum of a noise part and a fill part,
``sigma**2 = exp(n0 + n1 * log_roughness) + exp(s0 + s . [log_distance, log_local_std,
log_gradient, observed_fraction, log_distance_beyond_4, log_distance_beyond_16, and the
three products])``: next to the data an L2 fill's error is the sensor noise
no fill reproduces, while a smooth L4 analysis has none and its error grows from zero with
the distance. The fill part never falls with the distance: where a fitted slope in the log
distance is negative for a pixel (a strong gradient with little of the box observed: the
products make the slope depend on the pixel), that segment is made flat (the *lift*, added
to the exponent; see ``docs/benchmarks/calibration.md``). Fitted by
the Gaussian negative log-likelihood of held-out errors (:func:`fit_error_model`), then
scaled (:func:`calibrate_scale`). Each model carries its own :class:`ErrorModel` (saved in
its JSON); the classical fills and model files from before the error model use
:data:`FALLBACK_ERROR_MODEL`; error models saved before the distance hinges
(:data:`FEATURES_V1`) or before the products (:data:`FEATURES_V2`) still load and give the
sigma they gave (lifted where it fell with the distance). Every feature is computed from
pixels within :data:`ERROR_HALO` of the pixel, so a block with a halo that wide gives the
same sigma as the whole image, bit for bit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from sstfill.kernels.boxes import box_count, box_sum, in_image_count, masked_box_sums
from sstfill.kernels.reach import edt_to_observed

__all__ = [
    "ERROR_HALO", "FEATURES", "FEATURES_V1", "FEATURES_V2", "DISTANCE_KNOTS", "DISTANCE_PRODUCTS", "STD_WINDOW", "GRADIENT_WINDOW",
    "ErrorModel", "FALLBACK_ERROR_MODEL", "error_features", "error_block", "fit_error_model", "calibrate_scale", "coverage_scale", "fit_variance",
]

#: Pixels of context the features need on every side (and the cap on the distance feature).
ERROR_HALO = 64
#: Edge of the box of the local standard deviation and observed fraction.
STD_WINDOW = 33
#: Edge of the box the |gradient| is averaged over.
GRADIENT_WINDOW = 5
#: Distances (pixels) where the log sigma may change its slope in the log distance (a gap
#: pixel is at least 1 pixel from the data, so a knot at 1 would repeat ``log_distance``).
DISTANCE_KNOTS = (4, 16)
#: The features whose product with ``log_distance`` is a feature too: the rate at which
#: sigma grows away from the data depends on the local variability, the fronts and how much
#: of the surroundings was observed.
DISTANCE_PRODUCTS = ("log_local_std", "log_gradient", "observed_fraction")
#: The features of error models saved before the distance hinges (their files still load).
FEATURES_V1 = ("log_distance", "log_local_std", "log_gradient", "observed_fraction", "log_roughness")
#: The features of error models saved before the products with the distance (2026-12-03..05).
FEATURES_V2 = FEATURES_V1 + tuple(f"log_distance_beyond_{k}" for k in DISTANCE_KNOTS)
#: The features :func:`error_features` computes, in this order.
FEATURES = FEATURES_V2 + tuple(f"log_distance_x_{name}" for name in DISTANCE_PRODUCTS)
#: Every feature set an error model may have been saved with, newest first.
_FEATURE_SETS = (FEATURES, FEATURES_V2, FEATURES_V1)
#: The feature of the noise part of the variance; the others make the fill part.
NOISE_FEATURE = "log_roughness"
#: The features of the fill part of the variance.
SIGNAL_FEATURES = tuple(name for name in FEATURES if name != NOISE_FEATURE)
#: Floor (field units, field units per pixel) inside the logs of the std and gradient features.
_STD_FLOOR = 1e-3


@dataclass(frozen=True)
class ErrorModel:
    """The error model of one fill method: sigma from the :data:`FEATURES` of a pixel.

    ``sigma = scale * sqrt(exp(n0 + n1 * log_roughness) + exp(s0 + s . signal + lift))`` with
    ``coefficients = (n0, n1, s0, *s)``, ``s`` one per feature of ``features`` other than
    ``log_roughness``, in their order; ``lift`` (0 unless a slope in the log distance is
    negative) keeps sigma from falling with the distance.

    Parameters
    ----------
    coefficients : tuple of float
        ``(n0, n1, s0, s_1, ..., s_k)``: the noise part, then the fill part.
    fitted_on : str
        What it was fitted on (cases, pixels), for ``sstfill info``.
    features : tuple of str
        The feature names: :data:`FEATURES`, or :data:`FEATURES_V2` (models saved before
        the products with the distance) or :data:`FEATURES_V1` (before the distance hinges).
    scale : float
        Calibration factor applied to the likelihood fit's sigma (:func:`calibrate_scale`).
    series_scale : float
        A further factor for images filled with their neighbouring steps (a model with time
        offsets, on a series), whose errors are smaller than those of images filled alone
        with the same features; 1 for models that see one image. Applied by the fill
        (:func:`sstfill.xr.uncertainty.error_array`), not by :meth:`sigma`.
    guess_ratio, guess_cap : float
        The error of the neighbouring days' guess: ``guess_ratio`` times the fill's, at most
        ``guess_cap`` times the spread of the day-to-day change (0: no cap), blended as the
        fill is (:func:`sstfill.kernels.persistence.blended_sigma`); 1 and 0 (no change) for
        models fitted before the guess, ratio only for those fitted before the cap.

    Examples
    --------
    >>> em = ErrorModel((np.log(0.09), 0.0, 0.0, 2.0, 0.0, 0.0, 0.0), features=FEATURES_V1)
    >>> f = np.array([[np.log1p(0.2)], [0.0], [0.0], [0.5], [0.0]])  # 0.2 px from data
    >>> round(float(em.sigma(f)[0]), 3)  # sqrt(0.09 + 1.2**2)
    1.237
    >>> f_all = np.vstack([f, np.zeros((len(FEATURES) - len(f), 1))])  # all FEATURES: the same
    >>> round(float(em.sigma(f_all)[0]), 3)
    1.237
    """

    coefficients: tuple[float, ...]
    fitted_on: str = ""
    features: tuple[str, ...] = field(default=FEATURES)
    scale: float = 1.0
    series_scale: float = 1.0
    guess_ratio: float = 1.0
    guess_cap: float = 0.0

    def __post_init__(self) -> None:
        if tuple(self.features) not in _FEATURE_SETS:
            raise ValueError(f"error model features {tuple(self.features)} are not this sstfill's {FEATURES} (or the older {FEATURES_V2} or {FEATURES_V1})")
        n = len(self.features) + 2
        if len(self.coefficients) != n:
            raise ValueError(f"an error model of {len(self.features)} features needs {n} coefficients (noise: 2, fill: {n - 2}), got {len(self.coefficients)}")

    def variance_parts(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The noise and fill parts of the variance (before ``scale``); see :meth:`sigma` for ``features``."""
        c = np.asarray(self.coefficients, dtype="float64")
        f = np.asarray(features, dtype="float64")
        names = FEATURES if len(f) == len(FEATURES) else self.features
        if len(f) != len(names):
            raise ValueError(f"features: expected {len(FEATURES)} (or this model's {len(self.features)}) on the first axis, got {len(f)}")
        signal_names = [name for name in self.features if name != NOISE_FEATURE]
        noise = np.exp(c[0] + c[1] * f[names.index(NOISE_FEATURE)])
        log_signal = c[2] + np.tensordot(c[3:], f[[names.index(name) for name in signal_names]], axes=1)
        log_signal += _DistanceSlopes(signal_names, lambda name: f[names.index(name)]).lift(c[3:])
        return noise, np.exp(log_signal)

    def sigma(self, features: np.ndarray) -> np.ndarray:
        """Sigma (field units) from features stacked on the first axis: all :data:`FEATURES` (as
        :func:`error_features` gives them) or this model's own ``features``, in their order."""
        noise, signal = self.variance_parts(features)
        return self.scale * np.sqrt(noise + signal)

    def to_dict(self) -> dict[str, Any]:
        out = {"coefficients": [float(c) for c in self.coefficients], "features": list(self.features), "fitted_on": self.fitted_on, "scale": float(self.scale)}
        extra = (("series_scale", self.series_scale, 1.0), ("guess_ratio", self.guess_ratio, 1.0), ("guess_cap", self.guess_cap, 0.0))
        return out | {k: float(v) for k, v, unset in extra if v != unset}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ErrorModel:
        """The error model ``d`` (:meth:`to_dict`, a model file's ``error_model``) describes: a ``ValueError`` names a field that is not a finite number, or not > 0 where it multiplies sigma (``guess_cap`` >= 0, 0: no cap)."""
        if not isinstance(d.get("coefficients"), (list, tuple)):
            raise ValueError(f"error_model.coefficients must be a list of numbers, got {d.get('coefficients')!r:.80}")
        limits = {f"coefficients[{i}]": (c, "") for i, c in enumerate(d["coefficients"])} | {k: (d.get(k, 1.0), " > 0") for k in ("scale", "series_scale", "guess_ratio")}
        for name, (v, bound) in (limits | {"guess_cap": (d.get("guess_cap", 0.0), " >= 0")}).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or (bound == " > 0" and v <= 0) or (bound == " >= 0" and v < 0):
                raise ValueError(f"error_model.{name} must be a finite number{bound}, got {v!r}")
        coefficients = tuple(float(c) for c in d["coefficients"])
        default = next((names for names in _FEATURE_SETS if len(names) + 2 == len(coefficients)), FEATURES)
        return cls(coefficients, d.get("fitted_on", ""), tuple(d.get("features", default)), *(float(d.get(k, 1.0)) for k in ("scale", "series_scale", "guess_ratio")),
                   float(d.get("guess_cap", 0.0)))


class _DistanceSlopes:
    """The fill part's slope in ``log_distance``, segment by segment, and what keeps sigma from falling with the distance.

    The log of the fill part is piecewise linear in ``log_distance``: a segment up to each
    of the :data:`DISTANCE_KNOTS` and one beyond, each with a slope that the products
    (:data:`DISTANCE_PRODUCTS`) make depend on the pixel. Where a slope is negative (a
    strong gradient with little of the box observed), the *lift*, ``max(0, -slope)`` times
    the stretch of the log distance in that segment, makes it zero, so sigma never falls
    with the distance; elsewhere the lift is exactly 0. :meth:`ErrorModel.variance_parts`
    adds it, and :func:`fit_error_model` fits the lifted variance.

    ``signal_names``: the fill part's features in the order of its coefficients (without
    the intercept); ``feature(name)``: the values of a feature.
    """

    def __init__(self, signal_names: Sequence[str], feature: Callable[[str], np.ndarray]) -> None:
        self.index = {name: i for i, name in enumerate(signal_names)}
        self.products = [(self.index[f"log_distance_x_{name}"], feature(name)) for name in DISTANCE_PRODUCTS if f"log_distance_x_{name}" in self.index]
        knots = [k for k in DISTANCE_KNOTS if f"log_distance_beyond_{k}" in self.index]  # none in error models of FEATURES_V1
        self.knots = [self.index[f"log_distance_beyond_{k}"] for k in knots]
        edges = [0.0] + [float(np.log1p(k)) for k in knots] + [np.inf]
        log_distance = feature("log_distance")
        self.spans = [np.clip(log_distance - edges[i], 0.0, edges[i + 1] - edges[i]) for i in range(len(edges) - 1)]

    def slopes(self, s: np.ndarray) -> list[Any]:
        """The slope in each segment, for fill coefficients ``s`` (without the intercept)."""
        slope = s[self.index["log_distance"]] + sum(s[i] * x for i, x in self.products)
        out = [slope]
        for k in self.knots:
            slope = slope + s[k]
            out.append(slope)
        return out

    def lift(self, s: np.ndarray) -> Any:
        """What to add to the fill part's log so that no segment falls (0 where none does)."""
        return sum(np.maximum(-slope, 0.0) * span for slope, span in zip(self.slopes(s), self.spans))

    def gradient(self, s: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The gradient of ``sum(weights * lift(s))`` with respect to ``s``."""
        out = np.zeros(len(s))
        for seg, (slope, span) in enumerate(zip(self.slopes(s), self.spans)):
            w = np.where(slope < 0, -weights * span, 0.0)
            total = float(w.sum())
            out[self.index["log_distance"]] += total
            for i, x in self.products:
                out[i] += float(np.sum(x * w))
            for k in self.knots[:seg]:
                out[k] += total
        return out


def error_features(values: np.ndarray, filled: np.ndarray, land: np.ndarray | None = None) -> np.ndarray:
    """The :data:`FEATURES` of every pixel of one image, shape (len(FEATURES), ny, nx), float64.

    Parameters
    ----------
    values : array (ny, nx)
        The input field, NaN (or +-inf) in its gaps.
    filled : array (ny, nx)
        The filled field (NaN on land and wherever nothing was filled).
    land : bool array (ny, nx), optional
        Pixels never filled; they are not part of any statistic.

    Examples
    --------
    >>> x = np.add.outer(np.arange(40.0), np.zeros(40)); gaps = x.copy(); gaps[10:20, 10:20] = np.nan
    >>> f = error_features(gaps, x)
    >>> round(float(np.expm1(f[0, 15, 15])), 1), float(f[0, 0, 0])
    (5.0, 0.0)
    """
    values = np.asarray(values, dtype="float64")
    filled = np.asarray(filled, dtype="float64")
    observed = np.isfinite(values)
    known = np.isfinite(filled)
    if land is not None:
        known &= ~np.asarray(land, dtype=bool)
    # each feature is finished (float32) before the next starts: a 1024-pixel block with its
    # halo needs ~100 MB, not the ~360 MB of keeping every temporary (dask workers share memory)
    features = np.empty((len(FEATURES),) + values.shape, dtype="float32")
    if observed.any():
        features[0] = np.log1p(np.minimum(edt_to_observed(observed), ERROR_HALO))
    else:
        features[0] = np.log1p(float(ERROR_HALO))
    x = np.where(known, filled, 0.0)
    n = box_count(known, STD_WINDOW)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, box_sum(x, STD_WINDOW) / np.maximum(n, 1e-12), 0.0)
        var = np.where(n > 0, box_sum(x * x, STD_WINDOW) / np.maximum(n, 1e-12) - mean * mean, 0.0)
    del mean, n
    features[1] = np.log(np.sqrt(np.maximum(var, 0.0)) + _STD_FLOOR)
    del var
    features[3] = box_count(observed, STD_WINDOW) / in_image_count(observed.shape, STD_WINDOW)
    # |gradient| of the filled field: central differences where both neighbours are known
    grad = np.zeros_like(x)
    has = np.zeros(known.shape, dtype=bool)  # a central difference along y or x
    ok = known[2:, :] & known[:-2, :]
    grad[1:-1, :] = np.where(ok, (x[2:, :] - x[:-2, :]) / 2, 0.0) ** 2
    has[1:-1, :] |= ok
    ok = known[:, 2:] & known[:, :-2]
    grad[:, 1:-1] += np.where(ok, (x[:, 2:] - x[:, :-2]) / 2, 0.0) ** 2
    has[:, 1:-1] |= ok
    del ok, x
    np.sqrt(grad, out=grad)
    g_sum, g_n = masked_box_sums(grad, has, GRADIENT_WINDOW)
    del grad, has
    with np.errstate(invalid="ignore", divide="ignore"):
        features[2] = np.log(np.where(g_n > 0, g_sum / np.maximum(g_n, 1e-12), 0.0) + _STD_FLOOR)
    del g_sum, g_n
    # pixel-scale roughness of the observations: |value - its 3x3 mean| where all 9 are observed
    v = np.where(observed, values, 0.0)
    full = box_count(observed, 3) == 9
    rough = np.where(full, np.abs(v - box_sum(v, 3) / 9), 0.0)
    del v
    r_sum, r_n = masked_box_sums(rough, full, STD_WINDOW)
    del rough, full
    with np.errstate(invalid="ignore", divide="ignore"):
        features[4] = np.log(np.where(r_n > 0, r_sum / np.maximum(r_n, 1e-12), 0.0) + _STD_FLOOR)
    for knot in DISTANCE_KNOTS:
        np.maximum(features[0] - np.float32(np.log1p(knot)), 0.0, out=features[FEATURES.index(f"log_distance_beyond_{knot}")])
    for name in DISTANCE_PRODUCTS:
        np.multiply(features[0], features[FEATURES.index(name)], out=features[FEATURES.index(f"log_distance_x_{name}")])
    return features


def error_block(values: np.ndarray, filled: np.ndarray, land: np.ndarray | None, *, error_model: ErrorModel) -> np.ndarray:
    """Sigma of every filled pixel of a block (..., ny, nx); NaN where the input was observed or nothing was filled.

    Features are computed image by image on the whole block: a block handed over with a
    halo of :data:`ERROR_HALO` pixels gives its core the same values as the whole image.

    Examples
    --------
    >>> x = np.add.outer(np.arange(40.0), np.zeros(40)); gaps = x.copy(); gaps[10:20, 10:20] = np.nan
    >>> s = error_block(gaps, x, None, error_model=FALLBACK_ERROR_MODEL)
    >>> bool(np.isnan(s[0, 0])), bool(s[15, 15] > s[10, 10] > 0)
    (True, True)
    """
    shape = values.shape
    ny, nx = shape[-2:]
    vals = np.asarray(values).reshape((-1, ny, nx))
    fill = np.asarray(filled).reshape((-1, ny, nx))
    land_b = None if land is None else np.broadcast_to(np.asarray(land, dtype=bool), shape).reshape((-1, ny, nx))
    out = np.full(vals.shape, np.nan, dtype="float32")
    for i in range(len(vals)):
        todo = ~np.isfinite(vals[i]) & np.isfinite(fill[i])
        if land_b is not None:
            todo &= ~land_b[i]
        if not todo.any():
            continue
        # features depend on pixels within ERROR_HALO: the box around the gaps is enough
        rows, cols = np.flatnonzero(todo.any(axis=1)), np.flatnonzero(todo.any(axis=0))
        y0, y1 = max(0, rows[0] - ERROR_HALO), min(ny, rows[-1] + 1 + ERROR_HALO)
        x0, x1 = max(0, cols[0] - ERROR_HALO), min(nx, cols[-1] + 1 + ERROR_HALO)
        box = (slice(y0, y1), slice(x0, x1))
        feats = error_features(vals[i][box], fill[i][box], None if land_b is None else land_b[i][box])
        out[i][box][todo[box]] = error_model.sigma(feats[:, todo[box]]).astype("float32")
    return out.reshape(shape)


def _log_linear_fit(phi: np.ndarray, e2: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Newton's method for ``log sigma = c . phi`` (convex), each step halved until the likelihood improves: the start of :func:`fit_error_model`."""
    def nll(c: np.ndarray) -> float:
        return float(np.mean(c @ phi + 0.5 * e2 * np.exp(np.clip(-2 * (c @ phi), -700, 700))))

    c = np.zeros(phi.shape[0])
    c[0] = 0.5 * np.log(max(float(e2.mean()), 1e-12))
    value = nll(c)
    for _ in range(iterations):
        r = e2 * np.exp(np.clip(-2 * (c @ phi), -700, 700))
        grad = phi @ (1 - r) / r.size
        hess = (phi * (2 * r)) @ phi.T / r.size + 1e-9 * np.eye(len(c))
        step = np.linalg.solve(hess, grad)
        for _ in range(30):  # far from the optimum a full step can overshoot by orders of magnitude
            trial = nll(c - step)
            if np.isfinite(trial) and trial <= value:
                break
            step = step / 2
        else:
            break
        c, value = c - step, trial
        if np.abs(step).max() < 1e-8:
            break
    return c


def fit_error_model(features: np.ndarray, errors: np.ndarray, *, fitted_on: str = "") -> ErrorModel:
    """The :class:`ErrorModel` that maximises the Gaussian likelihood of ``errors`` (fill - truth).

    The fill part starts from a log-linear fit of sigma on :data:`SIGNAL_FEATURES`, the
    noise part small; both are then fitted together (L-BFGS on the mean negative
    log-likelihood ``log sigma + e**2 / (2 sigma**2)``, with its exact gradient), first
    without the lift that keeps sigma from falling with the distance, then with it.

    Parameters
    ----------
    features : array (len(FEATURES), n)
        Features of the held-out pixels (:func:`error_features`).
    errors : array (n,)
        Their errors.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = np.vstack([rng.uniform(0, 3, (4, 40000)), rng.uniform(-4, -2, (1, 40000))])
    >>> f = np.vstack([f, [np.maximum(f[0] - np.log1p(k), 0) for k in DISTANCE_KNOTS], [f[0] * f[FEATURES.index(n)] for n in DISTANCE_PRODUCTS]])
    >>> truth = ErrorModel((0.0, 1.0, -2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.2, 0.0))
    >>> e = rng.normal(0, truth.sigma(f))
    >>> fitted = fit_error_model(f, e)
    >>> bool(np.allclose(fitted.sigma(f), truth.sigma(f), rtol=0.1))
    True
    """
    f = np.asarray(features, dtype="float64")
    e2 = np.asarray(errors, dtype="float64") ** 2
    ok = np.isfinite(e2) & np.isfinite(f).all(axis=0)
    f, e2 = f[:, ok], e2[ok]
    if e2.size < 10:
        raise ValueError(f"fitting an error model needs at least 10 finite errors, got {e2.size}")
    noise_phi = np.vstack([np.ones(e2.size), f[FEATURES.index(NOISE_FEATURE)]])
    signal_phi = np.vstack([np.ones(e2.size), f[[FEATURES.index(name) for name in SIGNAL_FEATURES]]])
    start_signal = 2 * _log_linear_fit(signal_phi, e2)  # log variance
    start = np.concatenate([[np.log(0.05 * float(e2.mean()) + 1e-12), 0.0], start_signal])
    # the plain log-linear variance first, then lifted from there: the lift flattens the
    # likelihood where slopes go negative, and L-BFGS started far away can stall on it
    c, _ = fit_variance(noise_phi, signal_phi, e2, start)
    slopes = _DistanceSlopes(SIGNAL_FEATURES, lambda name: f[FEATURES.index(name)])
    c, _ = fit_variance(noise_phi, signal_phi, e2, c, slopes=slopes)
    if not np.isfinite(c).all():
        raise ValueError(f"the error model's likelihood fit did not converge on {e2.size} errors (non-finite coefficients)")
    return ErrorModel(tuple(float(v) for v in c), fitted_on)


def fit_variance(
    noise_phi: np.ndarray, signal_phi: np.ndarray, e2: np.ndarray, start: np.ndarray, maxiter: int = 500, slopes: _DistanceSlopes | None = None
) -> tuple[np.ndarray, float]:
    """Coefficients and mean negative log-likelihood of ``var = exp(cn . noise_phi) + exp(cs . signal_phi)``.

    The likelihood fit of :func:`fit_error_model` on any regressors (rows of ``noise_phi``
    and ``signal_phi``, intercepts included): L-BFGS from ``start`` with the exact gradient;
    ``start`` is returned if nothing better is found. ``e2``: squared errors. With
    ``slopes`` (the rows of ``signal_phi`` after the intercept being the error model's
    fill features), the fill part is lifted as :meth:`ErrorModel.variance_parts` lifts it.
    """
    from scipy.optimize import minimize

    n_noise = len(noise_phi)

    def nll(c: np.ndarray) -> tuple[float, np.ndarray]:
        noise = np.exp(np.clip(c[:n_noise] @ noise_phi, -60, 60))
        log_signal = c[n_noise:] @ signal_phi
        if slopes is not None:
            log_signal = log_signal + slopes.lift(c[n_noise + 1 :])
        signal = np.exp(np.clip(log_signal, -60, 60))
        var = noise + signal
        value = float(np.mean(0.5 * np.log(var) + 0.5 * e2 / var))
        dv = 0.5 * (1 / var - e2 / var**2) / e2.size
        grad_signal = signal_phi @ (dv * signal)
        if slopes is not None:
            grad_signal[1:] += slopes.gradient(c[n_noise + 1 :], dv * signal)
        return value, np.concatenate([noise_phi @ (dv * noise), grad_signal])

    best = minimize(nll, start, jac=True, method="L-BFGS-B", options={"maxiter": maxiter})
    at_start = nll(start)[0]
    return (best.x, float(best.fun)) if best.fun <= at_start else (np.asarray(start, dtype="float64"), at_start)


def calibrate_scale(error_model: ErrorModel, features: np.ndarray, errors: np.ndarray) -> ErrorModel:
    """``error_model`` with the ``scale`` that brings the coverage of 1, 2 and 3 sigma closest to a Gaussian's.

    Real fill errors have heavier tails than a Gaussian: the likelihood fit makes the mean
    of ``(e / sigma)**2`` one, which leaves too many errors within 1 sigma and too few
    within 3. The scale (searched from 0.5 to 2) minimises the largest of the three
    differences from 68.3, 95.4 and 99.7 %.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = np.zeros((len(FEATURES), 50000)); e = rng.normal(0, 2.0, 50000)
    >>> flat = ErrorModel((np.log(0.5), 0.0, np.log(0.5)) + (0.0,) * len(SIGNAL_FEATURES))  # sigma 1
    >>> round(calibrate_scale(flat, f, e).scale, 1)
    2.0
    """
    base = ErrorModel(error_model.coefficients, error_model.fitted_on, error_model.features).sigma(features)
    best = coverage_scale(errors, base)
    return ErrorModel(error_model.coefficients, error_model.fitted_on, error_model.features, round(best, 4))


def coverage_scale(errors: np.ndarray, sigma: np.ndarray) -> float:
    """The factor on ``sigma`` (0.5 to 2) whose 1, 2 and 3 sigma coverage of ``errors`` is closest to a Gaussian's.

    Closest: the smallest largest difference from 68.3, 95.4 and 99.7 %; see :func:`calibrate_scale`.

    Examples
    --------
    >>> e = np.random.default_rng(0).normal(0, 2.0, 50000)
    >>> round(coverage_scale(e, np.ones(e.size)), 1)
    2.0
    """
    e = np.abs(np.asarray(errors, dtype="float64"))
    s = np.asarray(sigma, dtype="float64")
    ok = np.isfinite(e) & np.isfinite(s) & (s > 0)
    z = e[ok] / s[ok]
    targets = np.array([0.682689492, 0.954499736, 0.997300204])
    scales = np.exp(np.linspace(np.log(0.5), np.log(2.0), 301))
    worst = [np.max(np.abs(np.array([np.mean(z <= k * sc) for k in (1, 2, 3)]) - targets)) for sc in scales]
    return float(scales[int(np.argmin(worst))])

#: The error model of the classical harmonic (Laplace) fill, also used for model files
#: saved before sstfill had error models: ``sstfill/data/laplace_error_model.json``, written by
#: ``benchmarks/calibration.py --write-models`` from its fit on the calibration cases (training
#: parts of the real data), as the bundled models' own; see ``docs/benchmarks/calibration.md``.
FALLBACK_ERROR_MODEL = ErrorModel.from_dict(json.loads((resources.files("sstfill") / "data" / "laplace_error_model.json").read_text(encoding="utf-8")))
