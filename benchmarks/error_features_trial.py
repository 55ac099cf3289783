#!/usr/bin/env python
"""Candidate error features, tried on the calibration benchmark's own fit and held-out pixels.

The error model (:mod:`sstfill.kernels.uncertainty`) misses the 1/2/3-sigma target in 5 of
the default model's 11 groups, nearly always by heavy tails. This script asks whether a
better-informed sigma would help: it fills the fit and held-out sets of
``benchmarks/calibration.py`` once, computes the error features plus candidates at every
scored pixel, fits each feature set by Gaussian likelihood on the fit set, scales it as
:func:`~sstfill.kernels.uncertainty.calibrate_scale` does, and counts the held-out groups
within 5 points at 1, 2 and 3 sigma. Candidates:

* ``beyond16``: ``max(0, log_distance - log1p(16))``, the pixels beyond the tiles' reach;
* ``wide_fraction``: the observed fraction of a 97-pixel box;
* ``observed_std``: the log standard deviation of the *observed* values in the 33-pixel box;
* ``departure``: the log |fill - harmonic (Laplace) fill|;
* ``distance128``: ``log1p(min(d, 128))``, the distance capped at 128 pixels (the
  feature stops at :data:`~sstfill.kernels.uncertainty.ERROR_HALO`, 64), used in place
  of ``log_distance``;
* ``hinges``: ``max(0, log_distance - log1p(k))`` for knots ``k``: sigma piecewise linear in
  the log distance;
* ``times:<feature>``: the log distance times the local std, gradient or observed fraction
  (how fast sigma grows away from the data depends on the field around it);
* (2026-12-06, on top of the shipped features) ``wide_fill_std`` and ``wide_gradient``: the
  log standard deviation and the log mean |gradient| of the filled field in a 129-pixel box
  (the widest the 64-pixel halo allows); ``wide_fraction_129``: the observed fraction of that
  box; ``log_pixel_km``: the log of the grid spacing in km (as the reach measures it,
  :func:`sstfill.xr.reach.pixel_spacing_km`; the 0.1 degree Arabian Sea series has 11 km
  pixels, the rest about 1 km).

    python benchmarks/error_features_trial.py --shared ../shared/data --model default

About 10 minutes per model on 2 CPU cores (4 for the fills); ``--cache`` keeps the pixels.
Nothing here changes sstfill; the results are written up in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import calibration  # noqa: E402
from benchmarks.peers import PEERS  # noqa: E402
from sstfill.evaluation.calibration import GAUSSIAN_COVERAGE, coverage  # noqa: E402
from sstfill.kernels.boxes import box_count, box_sum  # noqa: E402
from sstfill.kernels.uncertainty import FEATURES, FEATURES_V1, _log_linear_fit, coverage_scale, error_features, fit_variance  # noqa: E402
from sstfill.xr.grid import find_grid  # noqa: E402
from sstfill.xr.reach import pixel_spacing_km  # noqa: E402

CANDIDATES = ("beyond16", "wide_fraction", "observed_std", "departure", "distance128", "wide_fill_std", "wide_gradient", "wide_fraction_129", "log_pixel_km",
              "wide_roughness")
#: The features shipped since 2026-12-05 (hinges and products), the base of the later trials.
SHIPPED = ("hinge:4,16", "times:log_local_std", "times:log_gradient", "times:observed_fraction")
NAMES = FEATURES + CANDIDATES
TARGETS = np.array([GAUSSIAN_COVERAGE[k] for k in (1, 2, 3)])
#: Feature sets to compare: the five features of before 2026-12-03 (FEATURES_V1) with candidates added (or swapped in).
TRIALS = {
    "five features (until 2026-12-03)": (),
    "+beyond16": ("beyond16",),
    "+wide_fraction": ("wide_fraction",),
    "+observed_std": ("observed_std",),
    "+departure": ("departure",),
    "distance128": ("distance128!",),
    "distance128 +wide_fraction": ("distance128!", "wide_fraction"),
    "hinges 1,4,16": ("hinge:1,4,16",),
    "distance128 hinges 1,4,16": ("distance128!", "hinge:1,4,16"),
    "hinges 2,8,32": ("hinge:2,8,32",),
    "hinges 4,16 (shipped 2026-12-03)": ("hinge:4,16",),
    "distance128 hinges 4,16": ("distance128!", "hinge:4,16"),
    "distance128 hinges 4,16,64": ("distance128!", "hinge:4,16,64"),
    "hinges 4,16 + distance x local std": ("hinge:4,16", "times:log_local_std"),
    "hinges 4,16 + distance x gradient": ("hinge:4,16", "times:log_gradient"),
    "hinges 4,16 + distance x observed fraction": ("hinge:4,16", "times:observed_fraction"),
    "hinges 4,16 + all three products": SHIPPED,
    "shipped +wide_fill_std": SHIPPED + ("wide_fill_std",),
    "shipped +wide_gradient": SHIPPED + ("wide_gradient",),
    "shipped +wide_fraction_129": SHIPPED + ("wide_fraction_129",),
    "shipped +log_pixel_km": SHIPPED + ("log_pixel_km",),
    "shipped +log_pixel_km +times:log_pixel_km": SHIPPED + ("log_pixel_km", "times:log_pixel_km"),
    "shipped +times:log_roughness": SHIPPED + ("times:log_roughness",),
    "shipped +wide_roughness": SHIPPED + ("wide_roughness",),
    "shipped +wide_roughness +times:wide_roughness": SHIPPED + ("wide_roughness", "times:wide_roughness"),
}
#: Box (pixels) of the wide candidates: the widest the error's 64-pixel halo allows.
WIDE = 129


def pixel_km(item: calibration.Item) -> float:
    """The item's grid spacing in km: the geometric mean of the median spacings along y and x (as the reach measures them)."""
    grid_of = calibration.unit_dataarray(item, item.values)
    dy, dx = pixel_spacing_km(grid_of, find_grid(grid_of))
    return float(np.sqrt(np.median(dy) * np.median(dx)))


def candidate_features(values: np.ndarray, filled: np.ndarray, land: np.ndarray, km: float = 1.0) -> np.ndarray:
    """The :data:`CANDIDATES` of every pixel of one image, shape (len(CANDIDATES), ny, nx); ``km``: the grid spacing."""
    observed = np.isfinite(values)
    d = ndimage.distance_transform_edt(~observed) if observed.any() else np.full(values.shape, 1e3)
    beyond = np.maximum(0.0, np.log1p(np.minimum(d, 64)) - np.log1p(16))
    wide = box_count(observed, 97) / np.maximum(box_count(np.ones_like(observed), 97), 1)
    v = np.where(observed, values, 0.0)
    n = np.maximum(box_count(observed, 33), 1)
    mean = box_sum(v, 33) / n
    std = np.sqrt(np.maximum(box_sum(v * v, 33) / n - mean * mean, 0.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        harmonic = PEERS["laplace"](values, land)
    departure = np.log(np.abs(np.nan_to_num(filled - harmonic)) + 1e-3)
    known = np.isfinite(filled) & ~np.asarray(land, dtype=bool)
    x = np.where(known, filled, 0.0)
    nk = np.maximum(box_count(known, WIDE), 1)
    wide_mean = box_sum(x, WIDE) / nk
    wide_std = np.sqrt(np.maximum(box_sum(x * x, WIDE) / nk - wide_mean**2, 0.0))
    gy, gx = np.gradient(x)
    wide_gradient = box_sum(np.where(known, np.hypot(gy, gx), 0.0), WIDE) / nk
    wide_129 = box_count(observed, WIDE) / np.maximum(box_count(np.ones_like(observed), WIDE), 1)
    full = box_count(observed, 3) == 9  # the roughness of error_features, averaged over the wide box
    rough = np.where(full, np.abs(v - box_sum(v, 3) / 9), 0.0)
    n_full = box_count(full, WIDE)
    wide_roughness = np.log(np.where(n_full > 0, box_sum(rough, WIDE) / np.maximum(n_full, 1), 0.0) + 1e-3)
    return np.stack([
        beyond, wide, np.log(std + 1e-3), departure, np.log1p(np.minimum(d, 128)),
        np.log(wide_std + 1e-3), np.log(wide_gradient + 1e-3), wide_129, np.full(values.shape, np.log(km)), wide_roughness,
    ])


def item_pixels(item: calibration.Item, filled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features (len(NAMES), n) and errors (n,) of the scored pixels of one filled item."""
    as3 = lambda a: a if a.ndim == 3 else a[None]  # noqa: E731
    vals, fill, truth, scored = as3(item.values), as3(filled), as3(item.truth), as3(item.scored)
    feats, errs = [], []
    for t in range(len(vals)):
        where = scored[t] & np.isfinite(fill[t]) & np.isfinite(truth[t])
        if where.any():
            land = item.land if item.land.ndim == 2 else item.land[t]
            both = np.vstack([error_features(vals[t], fill[t], land), candidate_features(vals[t], fill[t], land, pixel_km(item))])
            feats.append(both[:, where])
            errs.append(fill[t][where].astype("float64") - truth[t][where])
    if not errs:
        return np.zeros((len(NAMES), 0)), np.zeros(0)
    return np.concatenate(feats, axis=1), np.concatenate(errs)


def signal_matrix(features: np.ndarray, trial: tuple[str, ...]) -> np.ndarray:
    """The fill part's regressors of one trial: the signal features of :data:`FEATURES_V1`, then the candidates."""
    signal = [name for name in FEATURES_V1 if name != "log_roughness"]
    rows = [features[NAMES.index(name)] for name in signal]
    for name in trial:
        if name == "distance128!":
            rows[0] = features[NAMES.index("distance128")]
        elif name.startswith("times:"):
            rows.append(rows[0] * features[NAMES.index(name[6:])])  # the log distance times that feature
        elif name.startswith("hinge:"):
            rows += [np.maximum(0.0, rows[0] - np.log1p(float(k))) for k in name[6:].split(",")]
        else:
            rows.append(features[NAMES.index(name)])
    return np.vstack([np.ones(features.shape[1])] + rows)


def fit(signal: np.ndarray, roughness: np.ndarray, errors: np.ndarray) -> tuple[np.ndarray, float]:
    """Noise (from roughness) plus fill (from ``signal``) variance, by Gaussian likelihood (:func:`fit_variance`).

    Started as :func:`~sstfill.kernels.uncertainty.fit_error_model` starts (a log-linear fit
    of the fill part; the noise part small) since 2026-12-06; before, from a flat fill part,
    from which L-BFGS stalled on some feature sets (+wide_fraction fitted worse than without it).
    Without the lift that keeps sigma from falling with the distance (it changes under 0.1 %
    of the default model's pixels).
    """
    e2 = errors**2
    start = np.concatenate([[np.log(0.05 * e2.mean()), 0.0], 2 * _log_linear_fit(signal, e2)])
    return fit_variance(np.vstack([np.ones(e2.size), roughness]), signal, e2, start, maxiter=1000)


def sigma(c: np.ndarray, signal: np.ndarray, roughness: np.ndarray) -> np.ndarray:
    return np.sqrt(np.exp(c[0] + c[1] * roughness) + np.exp(c[2:] @ signal))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", default=str(calibration.split.DEFAULT_SHARED))
    p.add_argument("--model", default="default")
    p.add_argument("--cache", default=None, help="pickle of the pixels: written if missing, read if present")
    p.add_argument("--trials", nargs="+", default=None, metavar="NAME", help="only these feature sets (names as in the table); default: all")
    args = p.parse_args(argv)
    cache = Path(args.cache) if args.cache else None
    if cache and cache.exists():
        pixels = pickle.loads(cache.read_bytes())  # our own file, written below
        if pixels["fit"] and len(pixels["fit"][0][0]) != len(NAMES):
            p.error(f"{cache} holds {len(pixels['fit'][0][0])} features per pixel, this script {len(NAMES)}: written by another version; give a new --cache path")
    else:
        shared = calibration._shared(args.shared)
        fit_set, held = calibration.fit_items(shared), calibration.heldout_items(shared)
        pixels = {
            "fit": [item_pixels(it, calibration.fill_item(it, args.model)) for it in fit_set],
            "held": [(it.groups, *item_pixels(it, calibration.fill_item(it, args.model))) for it in held],
        }
        if cache:
            cache.write_bytes(pickle.dumps(pixels))
    f_fit = np.concatenate([f for f, _ in pixels["fit"]], axis=1)
    e_fit = np.concatenate([e for _, e in pixels["fit"]])
    groups: dict[str, list] = {}
    for labels, f, e in pixels["held"]:
        for g in labels:
            groups.setdefault(g, []).append((f, e))
    # 'swath edge: SLSTR' holds the same pixels as 'swath edge': counted once, as calibration.md does
    groups.pop("swath edge: SLSTR", None)
    rough = NAMES.index("log_roughness")
    print(f"{args.model}: {e_fit.size} fit pixels, {len(groups)} held-out groups")
    print("| features | fit NLL | scale | groups within 5 points | misses (1/2/3 sigma %) |\n|---|---|---|---|---|")
    unknown = set(args.trials or ()) - set(TRIALS)
    if unknown:
        p.error(f"unknown --trials {sorted(unknown)}; the feature sets are {list(TRIALS)}")
    for name, trial in TRIALS.items():
        if args.trials and name not in args.trials:
            continue
        c, nll = fit(signal_matrix(f_fit, trial), f_fit[rough], e_fit)
        scale = coverage_scale(e_fit, sigma(c, signal_matrix(f_fit, trial), f_fit[rough]))
        good, misses = 0, []
        for g, parts in groups.items():
            f, e = np.concatenate([a for a, _ in parts], axis=1), np.concatenate([b for _, b in parts])
            cov = np.array(list(coverage(e, scale * sigma(c, signal_matrix(f, trial), f[rough])).values()))
            if np.all(np.abs(cov - TARGETS) <= 0.05):
                good += 1
            else:
                misses.append(f"{g} {'/'.join(f'{100 * v:.1f}' for v in cov)}")
        print(f"| {name} | {nll:.4f} | {scale:.3f} | {good} of {len(groups)} | {'; '.join(misses)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
