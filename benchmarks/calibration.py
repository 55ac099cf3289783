#!/usr/bin/env python
"""Fit each model's error model on the training parts of the real data; measure its calibration on the held-out cases.

The error model (:mod:`sstfill.kernels.uncertainty`) of each method is fitted, by Gaussian
likelihood, on real cloud shapes transplanted onto data the benchmarks never score:

* the MUR region stacks of ``benchmarks/cases.py`` (clouds on every day) cut to their
  *training* days, filled as series (a model with neighbouring days gets them): since
  2026-12-07 a held-out day is neither scored nor a neighbouring day in the fit set;
* 256 x 256 MUR windows of those training days under clouds wider than a tile (2x
  upscaled real clouds, as in the large-cloud set), filled everywhere; for the
  ``series_scale`` of a model that sees neighbouring steps, filled once more with the other
  days of their series (each with its own clouds), as ``fill()`` fills a daily series;
* 128 x 128 windows of the training SLSTR parts (the Norwegian Sea scene, the NE Atlantic
  rows above the held-out band), one real cloud per window in each cover bin.

A model that sees neighbouring steps (``context``) also gets a ``series_scale``: the factor,
on top of that scale, that brings the coverage of the fit set's series pixels (filled with
their neighbouring days: the MUR series and, since 2026-12-06, the wide clouds of their
training days) closest to a Gaussian's; the fill applies it on the steps that had
a neighbour (:func:`sstfill.xr.uncertainty.error_array`).

It is then measured on the held-out cases of the accuracy benchmark, every group apart: the
43 standard windows (SLSTR, MUR, each cover bin), the MUR series, the large clouds (as single
images and on their series) and the swath-edge bands (filled everywhere, ``max_distance=None``): the fraction of errors within
1, 2 and 3 predicted sigma (Gaussian: 68.3 / 95.4 / 99.7 %), the CRPS of the Gaussian beside
the RMSE of the fill and of the best single-image peer on the same pixels, the reliability
diagram and the spread-skill relation.

    python benchmarks/calibration.py --shared ../shared/data --out docs/benchmarks
    python benchmarks/calibration.py --shared ../shared/data --write-models   # store the fits in the bundled model files

About 10 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import harness, split  # noqa: E402
from benchmarks.accuracy_extra import FILL_EVERYWHERE_SETS, build_units, unit_dataarray  # noqa: E402
from benchmarks.cases import FRACTION_BINS, MUR_MAX_LAND, SLSTR_MIN_OBSERVED, _mur_build, _pick_mask, _rng, _shared, load_heldout_cases  # noqa: E402
from benchmarks.cases_extra import LARGE_SLSTR_WINDOW, LARGE_WINDOW, _pick_large, _slstr_scene, slstr_large_windows  # noqa: E402
from benchmarks.peers import PEERS  # noqa: E402
from sstfill.atomic import write_atomically  # noqa: E402
from sstfill.evaluation.calibration import GAUSSIAN_COVERAGE, coverage, crps_gaussian, reliability, spread_skill  # noqa: E402
from sstfill.kernels.persistence import blended_sigma  # noqa: E402
from sstfill.kernels.uncertainty import FEATURES, ErrorModel, calibrate_scale, coverage_scale, error_features, fit_error_model  # noqa: E402
from sstfill.models.store import resolve_model  # noqa: E402

MODELS = ("default", "context", "fast", "laplace")
#: The Laplace fill's error model, in sstfill/data (sstfill.kernels.uncertainty.FALLBACK_ERROR_MODEL reads it)
LAPLACE_ERROR_MODEL = "laplace_error_model.json"
SINGLE_PEERS = ("laplace", "biharmonic", "telea")
KELVIN = 273.15
SLSTR_FIT_WINDOW = 128
SLSTR_FIT_STRIDE = 64
#: The accuracy benchmark's extra sets scored here (all of them), and the group each is in.
SET_GROUPS = {"mur_series": "MUR series", "large_clouds": "large clouds", "swath_edge": "swath edge", "large_clouds_series": "large clouds: MUR series"}


# ----------------------------------------------------------------------------- inputs
class Item:
    """One input to fill: values (2-D or time, y, x), truth, land, where it is scored, its group labels."""

    def __init__(self, name, values, truth, land, scored, lat, lon, time=None, groups=(), fill_everywhere=False, series=None):
        self.name, self.values, self.truth, self.land, self.scored = name, values, truth, land, scored
        self.lat, self.lon, self.time, self.groups, self.fill_everywhere = lat, lon, time, tuple(groups), fill_everywhere
        self.series = series  # (values (time, y, x) with this image at step t, times, t): how a model that sees steps gets it


def fit_items(shared: Path, seed: int = 0) -> list[Item]:
    """The fit set: training days of the MUR stacks, windows of the training SLSTR parts."""
    items = []
    _, stacks, used = _mur_build(shared, 128, seed)
    large_used: set = set()
    for rid, (name, st) in enumerate(stacks.items()):
        # the training days only: a held-out day is neither scored nor a neighbouring day here
        days = [t for t in range(len(st.time)) if t not in st.heldout_steps]
        observed, truth_days, times = st.observed_input[days], st.truth[days], st.time[days]
        items.append(Item(f"fit_{name}", observed, truth_days, st.land, st.hidden[days], st.lat, st.lon, times, ("fit", "fit_mur")))
        # clouds wider than a tile (as in the large-cloud set), on the training days
        _, ny, nx = st.truth.shape
        size = LARGE_WINDOW
        for k, t in enumerate(days):
            for r0 in range(0, ny - size + 1, size):
                for c0 in range(0, nx - size + 1, size):
                    blk = (slice(r0, r0 + size), slice(c0, c0 + size))
                    land = st.land[blk]
                    if land.mean() >= MUR_MAX_LAND:
                        continue
                    up, _ = _pick_large(~land, _rng(seed, 500 + rid, t, r0, c0), large_used)
                    if up is None:
                        continue
                    hid = up & ~land
                    truth = st.truth[t][blk]
                    values = np.where(hid, np.nan, truth).astype(np.float32)
                    stack = observed[(slice(None),) + blk].copy()  # the other training days with their own clouds
                    stack[k] = values
                    items.append(Item(f"fit_large_{name}_{t}_r{r0}_c{c0}", values, truth, land, hid,
                                      st.lat[blk[0]], st.lon[blk[1]], None, ("fit", "fit_large"), fill_everywhere=True, series=(stack, times, k)))
    import xarray as xr

    for rid, (fname, rows) in enumerate([(split.SLSTR_NORWEGIAN_FILE, None), (split.SLSTR_NE_ATL_FILE, "train")]):
        ds = xr.open_dataset(shared / fname)
        sst = ds[split.SLSTR_VAR].isel(time=0).values.astype(np.float32) - np.float32(KELVIN)
        lat, lon = ds["lat"].values, ds["lon"].values
        valid = np.isfinite(sst)
        land = split.land_mask(lat, lon)
        inside = split.swath_mask(valid)
        stop = split.ne_atl_split_row(sst.shape[0]) if rows == "train" else sst.shape[0]
        w = SLSTR_FIT_WINDOW
        k = 0
        for r0 in range(0, stop - w + 1, SLSTR_FIT_STRIDE):
            for c0 in range(0, sst.shape[1] - w + 1, SLSTR_FIT_STRIDE):
                blk = (slice(r0, r0 + w), slice(c0, c0 + w))
                if land[blk].any() or not inside[blk].all() or valid[blk].mean() < SLSTR_MIN_OBSERVED:
                    continue
                if (r0 // SLSTR_FIT_STRIDE + c0 // SLSTR_FIT_STRIDE) % 2:  # a checkerboard: windows overlap by half at most
                    continue
                truth = sst[blk].copy()
                obs_px = np.isfinite(truth)
                target = FRACTION_BINS[k % len(FRACTION_BINS)]
                k += 1
                m, _ = _pick_mask(truth.shape, obs_px, target, _rng(seed, 300 + rid, r0, c0), used=set(used))
                hid = m & obs_px
                values = truth.copy()
                values[hid] = np.nan
                items.append(Item(f"fit_slstr{rid}_r{r0}_c{c0}", values, truth, np.zeros(truth.shape, bool), hid, lat[blk[0]], lon[blk[1]], None, ("fit", "fit_slstr")))
    return items


def slstr_large_fit_items(shared: Path, seed: int = 0, masks: int = 1) -> list[Item]:
    """Windows of the training SLSTR parts under clouds wider than a tile, built as the held-out SLSTR large-cloud set is.

    Tried on 2026-12-06 (``--fit-slstr-large``) and not kept: the shipped fit set has no
    SLSTR pixels under wide clouds. ``LARGE_SLSTR_WINDOW`` px windows (<= 10 % land, <= 5 %
    outside the swath, >= 50 % observed, no overlap) of the Norwegian Sea scene and of the
    NE Atlantic rows above the held-out band, each under ``masks`` 2x upscaled clouds hiding
    60-90 % of its observed pixels (:func:`benchmarks.cases_extra._pick_large`), filled
    everywhere (the held-out set puts three on each of its few windows).
    """
    items, used = [], set()
    for rid, fname in enumerate((split.SLSTR_NORWEGIAN_FILE, split.SLSTR_NE_ATL_FILE)):
        sc = _slstr_scene(str(shared), fname)
        stop = sc["first_row"] if fname == split.SLSTR_NE_ATL_FILE else sc["sst"].shape[0]  # rows above the held-out band
        size = LARGE_SLSTR_WINDOW
        for r0, c0 in slstr_large_windows(sc, size, rows=(0, stop)):
            blk = (slice(r0, r0 + size), slice(c0, c0 + size))
            land = sc["land"][blk].copy()
            truth = np.where(land, np.nan, sc["sst"][blk]).astype(np.float32)
            obs_px = np.isfinite(truth)
            for k in range(masks):
                up, _ = _pick_large(obs_px, _rng(seed, 600 + rid, r0, c0, k), used, exclude=(fname, r0, c0, size, size))
                if up is None:
                    continue
                hid = up & obs_px
                items.append(Item(f"fit_large_slstr{rid}_r{r0}_c{c0}_m{k}", np.where(hid, np.nan, truth).astype(np.float32), truth, land, hid,
                                  sc["lat"][blk[0]], sc["lon"][blk[1]], None, ("fit", "fit_large_slstr"), fill_everywhere=True))
    return items


def heldout_items(shared: Path, seed: int = 0) -> list[Item]:
    """The held-out cases of the accuracy benchmark (standard and extra sets), with their groups."""
    items = []
    for c in load_heldout_cases(shared, 128, seed):
        lo, hi = c.target_bin
        groups = ("all standard", "SLSTR" if c.source == "slstr_l2" else "MUR", f"cover {int(lo * 100)}-{int(hi * 100)} %")
        items.append(Item(c.name, c.observed_input, c.truth, c.land, c.hidden, c.lat, c.lon, None, groups))
    units, _ = build_units(shared, 128, seed, sets=tuple(SET_GROUPS))
    for u in units:
        scored = np.zeros(u.truth.shape, bool)
        for c in u.cases:
            if u.time is not None:
                scored[c.tags["t"]] |= c.hidden
            else:
                scored |= c.hidden
        label = SET_GROUPS[u.set]
        extra = (f"{label}: {'SLSTR' if u.source == 'slstr_l2' else 'MUR'}",) if u.set in ("large_clouds", "swath_edge") else ()
        items.append(Item(u.name, u.observed_input, u.truth, u.land, scored, u.lat, u.lon, u.time, (label,) + extra, u.set in FILL_EVERYWHERE_SETS))
    return items


# ----------------------------------------------------------------------------- filling
def fill_item(item: Item, model, sees_steps: bool = False, persistence: bool = True) -> np.ndarray:
    """Fill through the accessor as a user would (no error: it is computed from the features here).

    An image of a series (``item.series``) is filled with its neighbouring steps by a model
    that sees them (``sees_steps``), alone by the others. ``persistence``: as ``fill()``'s.
    """
    import sstfill  # noqa: F401

    if sees_steps and item.series is not None:
        stack, times, t = item.series
        whole = Item(item.name, stack, None, item.land, None, item.lat, item.lon, times, fill_everywhere=item.fill_everywhere)
        return fill_item(whole, model, persistence=persistence)[t]
    da = unit_dataarray(item, item.values)
    da.attrs = {"units": "degC", "standard_name": "sea_surface_temperature"}
    land = unit_dataarray(item, item.land.astype(bool), "land")
    kwargs = {"max_distance": None} if item.fill_everywhere else {}
    return np.asarray(da.inpaint.fill(model, land=land, error=False, persistence=persistence, **kwargs).values, dtype=np.float32)


def series_of(item: Item) -> tuple[Item, int | None] | None:
    """The whole series an item is scored on (filled everywhere when it is a window of one) and its scored step; None for a single image."""
    if item.series is not None:
        stack, times, t = item.series
    elif item.time is not None:
        stack, times, t = item.values, item.time, None
    else:
        return None
    return Item(item.name, stack, None, item.land, None, item.lat, item.lon, times, fill_everywhere=item.fill_everywhere or item.series is not None), t


def blend_series(whole: Item, plain: np.ndarray, scale_km: float | None = None, **options) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The neighbouring days' guess blended into ``plain`` (``whole``'s fill without it) as ``fill()`` blends it, the fill's weight and the guess's spread.

    :func:`sstfill.xr.persistence.blend_neighbour_days`, the pixels the fill left missing
    (beyond the reach) counted as land as ``fill()`` counts them; ``scale_km`` None: the shipped scale;
    ``options`` go to it (``layers_days``).
    """
    from sstfill.xr.dispatch import harmonic_fallback
    from sstfill.xr.grid import find_grid
    from sstfill.kernels.persistence import BLEND_SCALE_KM
    from sstfill.xr.persistence import blend_neighbour_days

    da = unit_dataarray(whole, whole.values)
    left = (~np.isfinite(plain) & ~np.isfinite(whole.values)) | whole.land.astype(bool)
    return blend_neighbour_days(da, plain, left, find_grid(da), harmonic_fallback,
                                scale_km=BLEND_SCALE_KM if scale_km is None else scale_km, **options)


def blend_item(item: Item, model) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The fill of a series item with the neighbouring days' guess, the fill's weight in it and the guess's spread; None for a single image.

    As ``fill()`` makes them (:func:`blend_series` on the fill without the guess), for the
    error of the blended pixels (``ErrorModel.guess_ratio``, ``guess_cap``). A window of a series
    (``item.series``) is filled within it, by every model.
    """
    whole_t = series_of(item)
    if whole_t is None:
        return None
    whole, t = whole_t
    made = blend_series(whole, fill_item(whole, model, persistence=False))
    if made[1] is None:
        return None
    return made if t is None else tuple(a[t] for a in made)


def fit_guess_error(errors: np.ndarray, sigma: np.ndarray, weight: np.ndarray, spread: np.ndarray,
                    most: int = 300_000, seed: int = 0) -> tuple[float, float]:
    """The ``guess_ratio`` (0.05 to 3) and ``guess_cap`` (0: none, or 0.1 to 3) whose blended sigma brings the coverage of ``errors`` closest to a Gaussian's.

    The largest miss at 1, 2 and 3 sigma, on ``most`` of the pixels drawn at random
    (:func:`sstfill.kernels.persistence.blended_sigma`; a grid of 1,860 pairs).
    """
    e, s, w, c = (np.asarray(a, dtype="float64") for a in (np.abs(errors), sigma, weight, spread))
    if e.size > most:
        keep = np.random.default_rng(seed).choice(e.size, most, replace=False)
        e, s, w, c = e[keep], s[keep], w[keep], c[keep]
    targets = np.array([GAUSSIAN_COVERAGE[k] for k in (1, 2, 3)])
    pairs = [(r, k) for r in np.round(np.arange(0.05, 3.0001, 0.05), 2) for k in [0.0, *np.round(np.arange(0.1, 3.0001, 0.1), 1)]]
    worst = [np.max(np.abs(np.array([np.mean(e <= n * blended_sigma(s, w, c, r, k)) for n in (1, 2, 3)]) - targets)) for r, k in pairs]
    ratio, cap = pairs[int(np.argmin(worst))]
    return float(ratio), float(cap)


def peer_fill(item: Item, peer: str) -> np.ndarray:
    """A single-image peer, image by image."""
    fn = PEERS[peer]
    values = item.values if item.values.ndim == 3 else item.values[None]
    land = item.land if item.land.ndim == values.ndim - 1 else item.land
    out = np.empty(values.shape, np.float32)
    for t in range(len(values)):
        scored_t = item.scored[t] if item.scored.ndim == 3 else item.scored
        if not scored_t.any():
            out[t] = np.nan
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[t] = fn(values[t], land if land.ndim == 2 else land[t])
    return out if item.values.ndim == 3 else out[0]


def pixels(item: Item, filled: np.ndarray, others: dict | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Features (F, n) and errors (n,) of the scored pixels of one filled item; ``others``' errors (fills by name) on the same pixels."""
    others = others or {}
    other_errs: dict[str, list] = {k: [] for k in others}
    vals = item.values if item.values.ndim == 3 else item.values[None]
    fill = filled if filled.ndim == 3 else filled[None]
    truth = item.truth if item.truth.ndim == 3 else item.truth[None]
    scored = item.scored if item.scored.ndim == 3 else item.scored[None]
    land = item.land
    feats, errs = [], []
    for t in range(len(vals)):
        where = scored[t] & np.isfinite(fill[t]) & np.isfinite(truth[t])
        if not where.any():
            continue
        f = error_features(vals[t], fill[t], land if land.ndim == 2 else land[t])
        feats.append(f[:, where])
        errs.append((fill[t][where].astype("float64") - truth[t][where]))
        for k, o in others.items():
            o3 = o if o.ndim == 3 else o[None]
            other_errs[k].append(o3[t][where].astype("float64") - truth[t][where])
    if not errs:
        return np.zeros((len(FEATURES), 0)), np.zeros(0), {k: np.zeros(0) for k in others}
    return np.concatenate(feats, axis=1), np.concatenate(errs), {k: np.concatenate(v) for k, v in other_errs.items()}


def _scored_pixels(item: Item, filled: np.ndarray) -> np.ndarray:
    """Where :func:`pixels` takes its pixels from, as a mask of ``filled``'s shape (its order is the mask's)."""
    fill = filled if filled.ndim == 3 else filled[None]
    truth = item.truth if item.truth.ndim == 3 else item.truth[None]
    scored = item.scored if item.scored.ndim == 3 else item.scored[None]
    where = scored & np.isfinite(fill) & np.isfinite(truth)
    return where if filled.ndim == 3 else where[0]


# ----------------------------------------------------------------------------- scores
def group_scores(errors: np.ndarray, sigma: np.ndarray) -> dict:
    cov = coverage(errors, sigma)
    nominal, observed = reliability(errors, sigma)
    spread, skill, count = spread_skill(errors, sigma)
    return {
        "pixels": int(errors.size),
        "within_1": cov[1], "within_2": cov[2], "within_3": cov[3],
        "rmse": float(np.sqrt(np.mean(errors**2))) if errors.size else float("nan"),
        "crps": crps_gaussian(errors, sigma),
        "mean_sigma": float(np.mean(sigma)) if sigma.size else float("nan"),
        "reliability": {"nominal": nominal.tolist(), "observed": observed.tolist()},
        "spread_skill": {"rms_sigma": spread.tolist(), "rmse": skill.tolist(), "count": count.tolist()},
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", default=str(split.DEFAULT_SHARED))
    p.add_argument("--out", default=None, help="folder for calibration.json/.md and the figures")
    p.add_argument("--models", nargs="*", default=list(MODELS))
    p.add_argument("--write-models", action="store_true", help="store each fitted error model in its bundled model file")
    p.add_argument("--write-models-from", default=None, metavar="JSON", help="only store the error models of an earlier run's calibration.json in the bundled model files")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fit-slstr-large", action="store_true", help="also fit on training SLSTR windows under clouds wider than a tile (tried 2026-12-06, not kept)")
    args = p.parse_args(argv)
    if args.write_models_from:
        saved = json.loads(Path(args.write_models_from).read_text())
        write_models({m: ErrorModel(tuple(r["coefficients"]), _fitted_on(r["pixels"]), scale=r["scale"], series_scale=r.get("series_scale", 1.0),
                                    guess_ratio=r.get("guess_ratio", 1.0), guess_cap=r.get("guess_cap", 0.0))
                      for m, r in saved["fit_set"].items()})
        return 0
    shared = _shared(args.shared)
    t0 = time.perf_counter()
    fit_set, held = fit_items(shared, args.seed), heldout_items(shared, args.seed)
    if args.fit_slstr_large:
        fit_set += slstr_large_fit_items(shared, args.seed)
    print(f"[calibration] {len(fit_set)} fit inputs, {len(held)} held-out inputs ({time.perf_counter() - t0:.0f} s)", flush=True)
    results: dict = {"models": {}, "fit_set": {}, "command": harness.command_line("calibration.py", argv or sys.argv[1:])}
    groups = sorted({g for it in held for g in it.groups}, key=lambda g: (g != "all standard", g))
    peer_fills = {it.name: {peer: peer_fill(it, peer) for peer in SINGLE_PEERS} for it in held}
    print(f"[calibration] peers filled ({time.perf_counter() - t0:.0f} s)", flush=True)
    fitted: dict[str, ErrorModel] = {}
    for name in args.models:
        t1 = time.perf_counter()
        sees_steps = bool(getattr(resolve_model(name), "time_offsets", ()))
        # the error model is that of the fill: fitted on fills without the neighbouring days' guess
        feats, errs, _ = zip(*[pixels(it, fill_item(it, name, persistence=False)) for it in fit_set])
        f_fit, e_fit = np.concatenate(feats, axis=1), np.concatenate(errs)
        in_series = np.concatenate([np.full(e.size, sees_steps and it.time is not None) for it, e in zip(fit_set, errs)])
        raw = fit_error_model(f_fit, e_fit, fitted_on=_fitted_on(e_fit.size))
        em = calibrate_scale(raw, f_fit, e_fit)
        if in_series.any():  # images filled with their neighbouring steps: a further factor of their own
            # on the series pixels, and on the wide clouds of the training days filled within their series
            steps = [pixels(it, fill_item(it, name, sees_steps, persistence=False)) for it in fit_set if it.series is not None]
            f_series = np.concatenate([f_fit[:, in_series]] + [f for f, _, _ in steps], axis=1)
            e_series = np.concatenate([e_fit[in_series]] + [e for _, e, _ in steps])
            em = dataclasses.replace(em, series_scale=round(coverage_scale(e_series, em.sigma(f_series)), 4))
        # then the blended pixels of the series (the fit set's MUR series and its wide clouds within their series):
        # w * sigma + (1 - w) * min(guess_ratio * sigma, guess_cap * spread), ratio and cap fitted on their coverage
        e_blend, s_blend, w_blend, c_blend = [], [], [], []
        for it in fit_set:
            made = blend_item(it, name)
            if made is None:
                continue
            blended, weight, spread = made
            f, e, _ = pixels(it, blended)
            where = _scored_pixels(it, blended)
            factor = em.series_scale if sees_steps else 1.0
            keep = weight[where] < 1
            e_blend.append(e[keep]), s_blend.append(em.sigma(f[:, keep]) * factor), w_blend.append(weight[where][keep]), c_blend.append(spread[where][keep])
        if e_blend:
            ratio, cap = fit_guess_error(*(np.concatenate(a) for a in (e_blend, s_blend, w_blend, c_blend)))
            em = dataclasses.replace(em, guess_ratio=ratio, guess_cap=cap)
        fitted[name] = em
        sigma_fit = em.sigma(f_fit) * np.where(in_series, em.series_scale, 1.0)
        results["fit_set"][name] = group_scores(e_fit, sigma_fit) | {"coefficients": list(em.coefficients), "scale": em.scale, "series_scale": em.series_scale,
                                                                     "guess_ratio": em.guess_ratio, "guess_cap": em.guess_cap, "guess_pixels": int(sum(e.size for e in e_blend)),
                                                                     "raw": group_scores(e_fit, raw.sigma(f_fit))}
        per_group: dict[str, list] = {g: [] for g in groups}
        for it in held:
            filled = fill_item(it, name)
            f, e, peers = pixels(it, filled, peer_fills[it.name])
            sigma = em.sigma(f) * (em.series_scale if sees_steps and it.time is not None else 1.0)  # as the fill applies it
            made = blend_item(it, name) if it.time is not None else None
            if made is not None:  # the blended pixels' error, with the weights and spreads fill() used
                where = _scored_pixels(it, filled)
                sigma = blended_sigma(sigma, made[1][where], made[2][where], em.guess_ratio, em.guess_cap)
            for g in it.groups:
                per_group[g].append((e, sigma, raw.sigma(f), peers))
        results["models"][name] = {}
        for g, v in per_group.items():
            e = np.concatenate([a[0] for a in v])
            scores = group_scores(e, np.concatenate([a[1] for a in v]))
            scores["raw"] = group_scores(e, np.concatenate([a[2] for a in v]))
            del scores["raw"]["reliability"], scores["raw"]["spread_skill"]
            # each peer on the pixels it filled among these (a harmonic fill leaves gaps with no data in reach)
            scores["peer_rmse"] = {p: float(np.sqrt(np.nanmean(np.concatenate([a[3][p] for a in v]) ** 2))) for p in SINGLE_PEERS}
            scores["peer_coverage"] = {p: float(np.mean(np.isfinite(np.concatenate([a[3][p] for a in v])))) for p in SINGLE_PEERS}
            results["models"][name][g] = scores
        print(f"[calibration] {name}: fit on {e_fit.size} px, coefficients {[round(c, 3) for c in em.coefficients]}, scale {em.scale}, series scale {em.series_scale}, "
              f"guess ratio {em.guess_ratio}, cap {em.guess_cap} ({time.perf_counter() - t1:.0f} s)", flush=True)
        for g, r in results["models"][name].items():
            best = min(r["peer_rmse"].values())
            print(f"   {g:22s} {r['pixels']:8d} px  1s {r['within_1']:.3f}  2s {r['within_2']:.3f}  3s {r['within_3']:.3f} (raw {r['raw']['within_1']:.3f} {r['raw']['within_2']:.3f} {r['raw']['within_3']:.3f})  rmse {r['rmse']:.3f}  crps {r['crps']:.3f}  best peer rmse {best:.3f}", flush=True)
    results["seconds"] = time.perf_counter() - t0
    results["gaussian"] = {str(k): v for k, v in GAUSSIAN_COVERAGE.items()}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        results["environment"] = harness.environment()
        results["run_at"] = harness.utc_timestamp()
        harness.write_json(out / "calibration.json", results)
        print(f"[calibration] wrote {out / 'calibration.json'}")
    if args.write_models:
        write_models(fitted)
    return 0


def _fitted_on(pixels: int) -> str:
    return f"benchmarks/calibration.py: {pixels} hidden pixels under real clouds on the training parts of the MUR and SLSTR data"


def write_models(fitted: dict[str, ErrorModel]) -> None:
    """Store each fitted error model in its bundled model file (the weights are unchanged)."""
    from sstfill.models.files import load_arrays
    from sstfill.models.inpainter import Inpainter
    from sstfill.models.store import BUNDLED_MODELS

    for name, em in fitted.items():
        if name == "laplace":  # FALLBACK_ERROR_MODEL: a JSON file of its own (no network weights)
            path = REPO / "sstfill" / "data" / LAPLACE_ERROR_MODEL
            em = dataclasses.replace(em, fitted_on=em.fitted_on.replace("benchmarks/calibration.py:", "benchmarks/calibration.py, the harmonic (Laplace) fill:"))
            write_atomically(path, lambda tmp: Path(tmp).write_text(json.dumps(em.to_dict(), indent=1) + "\n", encoding="utf-8"), overwrite=True)
            print(f"[calibration] wrote the Laplace fill's error model (FALLBACK_ERROR_MODEL) into {path}")
            continue
        if name not in BUNDLED_MODELS:
            print(f"[calibration] {name}: not a bundled model file; its coefficients: {list(em.coefficients)}")
            continue
        path = REPO / "sstfill" / "data" / BUNDLED_MODELS[name]
        model = Inpainter.load(path)
        _, config = load_arrays(path)
        kept = {k: v for k, v in config.items() if k not in ("model", "preset", "history", "error_model", "format", "sstfill_version")}
        before = {k: v.clone() for k, v in model.generator.state_dict().items()}
        model.fitted_error_model = em
        model.save(path, extra_config=kept)  # the file's other records (how it was trained) stay
        after = Inpainter.load(path).generator.state_dict()
        assert all((before[k] == after[k]).all() for k in before), "weights changed"
        print(f"[calibration] wrote the error model into {path}")


if __name__ == "__main__":
    raise SystemExit(main())
