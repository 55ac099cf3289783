"""Measuring for the accuracy benchmark: every method fills every held-out case.

sstfill models go through the accessor as users call them (:func:`fill_with_model`); the
peers of ``benchmarks/peers.py`` are called directly; DINEOF runs once per MUR time series
and is cut per case (:func:`run_cases`). Also the radial power spectra of the fills
(:func:`spectra`) and the SST report's own protocol on held-out MUR tiles
(:func:`report_protocol`).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from benchmarks.accuracy_scores import PEER_NAMES, REPORT_HOLES, bin_label, score_case
from benchmarks.cases import load_heldout_cases, load_heldout_stacks
from benchmarks.harness import ModelSpec
from benchmarks.peers import PEERS, dineof, fill_laplace

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["Run", "fill_with_model", "run_cases", "radial_spectrum", "spectra", "heldout_mur_tiles",
           "report_protocol"]


def case_dataarray(case, values) -> xr.DataArray:
    """``values`` on the (lat, lon) grid of ``case``."""
    import xarray as xr

    coords = {"lat": case.lat, "lon": case.lon}
    return xr.DataArray(values, dims=("lat", "lon"), coords=coords)


def fill_with_model(case, model) -> np.ndarray:
    """Fill one case with an sstfill model through the accessor, as a user would."""
    import sstfill  # noqa: F401  (registers .inpaint)

    da = case_dataarray(case, case.observed_input).rename("sst")
    da.attrs = {"units": "degC", "standard_name": "sea_surface_temperature"}
    land = case_dataarray(case, case.land.astype(bool)).rename("land")
    return np.asarray(da.inpaint.fill(model, land=land).values, dtype=np.float32)


@dataclass
class Run:
    """Everything :func:`run_cases` produced (``filled``: case name -> method -> filled field)."""

    cases: list
    methods: list[str]
    kinds: dict[str, str]  # method -> "model" | "peer"
    filled: dict[str, dict[str, np.ndarray]]  # case name -> method -> filled field
    rows: list[dict]
    seconds: dict[str, float]
    errors: list[dict] = field(default_factory=list)
    dineof_info: dict = field(default_factory=dict)
    stack_fills: dict = field(default_factory=dict)  # (peer, MUR region) -> its fill of the region stack
    extra_units: list = field(default_factory=list)  # benchmarks/accuracy_extra.py: the extra sets' inputs
    extra_fills: dict = field(default_factory=dict)  # unit name -> method -> filled unit
    extra_seconds: dict = field(default_factory=dict)  # extra set -> method -> seconds


def run_cases(shared, models: list[ModelSpec], window: int = 128, seed: int = 0, skip=(), log=print,
              model_arguments: dict | None = None) -> Run:
    """Fill every held-out case with every method and score it on the hidden pixels.

    ``model_arguments``: label -> what goes to ``fill(model=...)`` (default: each spec's
    :meth:`~benchmarks.harness.ModelSpec.fill_argument`, loaded here).
    """
    skip = set(skip)
    if model_arguments is None:
        model_arguments = {m.label: m.fill_argument() for m in models if m.label not in skip}
    cases = load_heldout_cases(shared, window, seed)
    methods = [m.label for m in models if m.label not in skip] + [p for p in PEER_NAMES if p not in skip]
    kinds = {m.label: "model" for m in models} | {p: "peer" for p in PEER_NAMES}
    seconds = {m: 0.0 for m in methods}
    filled = {c.name: {} for c in cases}
    errors = []

    for m in models:
        if m.label in skip:
            continue
        log(f"[accuracy] {m.label}: {len(cases)} cases through da.inpaint.fill ...")
        for c in cases:
            t0 = time.perf_counter()
            try:
                filled[c.name][m.label] = fill_with_model(c, model_arguments[m.label])
            except Exception as exc:  # recorded, scored as nothing filled
                errors.append({"method": m.label, "case": c.name, "error": f"{type(exc).__name__}: {exc}"})
                filled[c.name][m.label] = np.full(c.truth.shape, np.nan, np.float32)
            seconds[m.label] += time.perf_counter() - t0

    for p, fn in PEERS.items():
        if p in skip:
            continue
        log(f"[accuracy] peer {p} ...")
        for c in cases:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                filled[c.name][p] = fn(c.observed_input, c.land)
            seconds[p] += time.perf_counter() - t0

    dineof_info, stack_fills = {}, {}
    if "dineof" not in skip:
        stacks = load_heldout_stacks(shared, window, seed)
        by_name = {c.name: c for c in cases}
        for name, st in stacks.items():
            log(f"[accuracy] peer dineof on {name} {st.observed_input.shape} ...")
            t0 = time.perf_counter()
            res = dineof(st.observed_input, st.land, seed=seed)
            seconds["dineof"] += time.perf_counter() - t0
            stack_fills[("dineof", name)] = res.filled
            dineof_info[name] = {"shape": list(st.observed_input.shape), "n_modes": res.n_modes,
                                 "cv_rmse": res.cv_rmse, "heldout_steps": list(st.heldout_steps),
                                 "seconds": time.perf_counter() - t0, "mask_mismatch": []}
            for cname in st.case_names:
                c = by_name[cname]
                si = c.stack_index
                t, (r0, r1), (c0, c1) = si["t"], si["rows"], si["cols"]
                if t not in st.heldout_steps:
                    raise RuntimeError(f"case {cname} is not on a held-out day of {name}")
                if not np.array_equal(st.hidden[t, r0:r1, c0:c1], c.hidden):
                    dineof_info[name]["mask_mismatch"].append(cname)
                    log(f"[accuracy] WARNING: stack hidden mask differs from case {cname}")
                filled[cname]["dineof"] = res.filled[t, r0:r1, c0:c1].copy()

    rows = [score_case(c, filled[c.name], methods) for c in cases]
    return Run(cases, methods, kinds, filled, rows, seconds, errors, dineof_info, stack_fills)


# ----------------------------------------------------------------------------- spectra


def radial_spectrum(field2d: np.ndarray, land: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthally averaged power spectrum of a 2-D field with no gaps apart from land.

    Land takes the mean of the other pixels; the mean is removed and a 2-D Hann window
    applied before the FFT. Returns wavenumbers (cycles per pixel, 1/n .. 1/2) and power.
    """
    f = np.asarray(field2d, dtype=np.float64).copy()
    land = np.zeros(f.shape, bool) if land is None else np.asarray(land, bool)
    if np.any(~np.isfinite(f) & ~land):
        raise ValueError("radial_spectrum needs a field with no NaN apart from land")
    f[land] = f[~land].mean()
    f -= f.mean()
    ny, nx = f.shape
    w = np.outer(np.hanning(ny), np.hanning(nx))
    p = np.abs(np.fft.fft2(f * w)) ** 2 / np.sum(w**2)
    kr = np.hypot(*np.meshgrid(np.fft.fftfreq(ny), np.fft.fftfreq(nx), indexing="ij"))
    n = min(ny, nx)
    idx = np.rint(kr * n).astype(int)
    kmax = n // 2
    sums = np.bincount(idx.ravel(), weights=p.ravel(), minlength=kmax + 1)
    counts = np.bincount(idx.ravel(), minlength=kmax + 1)
    k = np.arange(1, kmax + 1)
    return k / n, sums[1 : kmax + 1] / counts[1 : kmax + 1]


def spectra(run: Run) -> dict:
    """Mean radial spectra of each method's filled field and of the truth.

    Groups: MUR cases in the 30-60 % bin, and SLSTR cases (all bins); only cases whose
    truth has no NaN apart from land. Hidden pixels a method left NaN are filled, for the
    spectrum only, with the direct Laplace solution (smooth: it can only lower that
    method's high-wavenumber power, never raise it); their fraction is recorded.
    """
    groups = {
        "mur_l4 30-60%": [c for c in run.cases if c.source == "mur_l4" and bin_label(c.cloud_fraction) == "30-60"],
        "slstr_l2 (all bins)": [c for c in run.cases if c.source == "slstr_l2"],
    }
    out = {}
    for g, cs in groups.items():
        cs = [c for c in cs if np.all(np.isfinite(c.truth) | c.land)]
        if not cs:
            out[g] = {"cases": [], "note": "no case with a complete truth"}
            continue
        acc: dict[str, list] = {"truth": []}
        patched: dict[str, int] = {}
        hidden_total = 0
        k = None
        for c in cs:
            k, p = radial_spectrum(c.truth, c.land)
            acc["truth"].append(p)
            hidden_total += int(c.hidden.sum())
            fallback = None
            for m in run.methods:
                f = run.filled[c.name].get(m)
                if f is None:
                    continue
                f = f.copy()
                bad = ~np.isfinite(f) & ~c.land
                if bad.any():
                    if fallback is None:
                        fallback = fill_laplace(c.observed_input, c.land)
                    f[bad] = fallback[bad]
                    patched[m] = patched.get(m, 0) + int(bad.sum())
                    bad = ~np.isfinite(f) & ~c.land
                    if bad.any():  # nothing to fill from at all: window mean
                        f[bad] = np.nanmean(f[~c.land])
                acc.setdefault(m, []).append(radial_spectrum(f, c.land)[1])
        out[g] = {
            "cases": [c.name for c in cs],
            "wavenumber_cycles_per_pixel": k.tolist(),
            "power": {m: np.mean(v, axis=0).tolist() for m, v in acc.items() if len(v) == len(cs)},
            "patched_fraction_of_hidden": {m: patched.get(m, 0) / hidden_total for m in acc if m != "truth"},
        }
    return out


# ----------------------------------------------------------------------------- report protocol


def heldout_mur_tiles(shared, tile: int = 64, window: int = 128, seed: int = 0) -> np.ndarray:
    """Non-overlapping ``tile`` x ``tile`` fully-ocean truth tiles (degC) of the held-out MUR days."""
    from sstfill.training.tiles import cut_tiles_by_index

    stacks = load_heldout_stacks(shared, window, seed)
    images = [st.truth[t] for st in stacks.values() for t in st.heldout_steps]
    return cut_tiles_by_index(images, tile=tile, stride=tile, min_valid=1.0)


def report_protocol(model, shared=None, *, holes=REPORT_HOLES, fraction: float = 0.25, seed: int = 0,
                    include_laplace: bool = True, label: str | None = None, window: int = 128):
    """The SST report's protocol on held-out MUR tiles, for ``model`` and ``LaplaceFiller``.

    ``model`` is anything ``fill(model=...)`` accepts, or a dict ``{label: model}``.
    Tiles: non-overlapping ``T`` x ``T`` tiles (``T`` = the model's tile size, else 64) cut
    from the held-out MUR days, fully ocean. Returns the table of
    :func:`sstfill.evaluation.protocols.evaluate_tiles_table` with a leading ``model`` index level
    (``rmse_hidden`` in normalised units, beside the report's ``report_rmse_hidden``).
    """
    import pandas as pd

    import sstfill
    from sstfill.evaluation.protocols import evaluate_tiles_table
    from sstfill.models.store import resolve_model

    items = dict(model) if isinstance(model, dict) else {label or "model": model}
    if include_laplace:
        items["LaplaceFiller"] = sstfill.LaplaceFiller()
    tables, cache = [], {}
    for lab, m in items.items():
        obj = resolve_model(m)
        t = getattr(obj, "tile_size", None) or 64
        if t not in cache:
            cache[t] = heldout_mur_tiles(shared, t, window, seed)
        tab = evaluate_tiles_table(obj, cache[t], holes=tuple(holes), fraction=fraction, seed=seed)
        tab.insert(0, "tile", t)
        tables.append(pd.concat({lab: tab}, names=["model"]))
    return pd.concat(tables)
