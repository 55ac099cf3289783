"""Accuracy benchmark on the held-out cases: sstfill models against the classical peers.

Every method fills the same input of every held-out case (``benchmarks/cases.py``: real
observed pixels hidden under transplanted real clouds) and is scored on the hidden pixels
only (RMSE, MAE, bias in degC). sstfill models go through the accessor, as users call it::

    da.inpaint.fill(model, land=land_da)

the peers are called directly (``benchmarks/peers.py``): biharmonic, laplace (direct
solve), telea; DINEOF runs once per MUR time series (``load_heldout_stacks``) and is
scored per case window on the held-out day (it has no time series for SLSTR: 'n/a').

Hidden pixels a method leaves NaN are never dropped silently: each method's coverage is
reported, its RMSE is over the pixels it filled, and a second RMSE over the pixels that
*every* method filled ("common pixels") gives the like-for-like comparison.

Outputs in ``--out``: ``accuracy.json``, ``accuracy.md``, ``spectra.png``,
``example_case.png``. The markdown is printed to stdout as well.

Example::

    python benchmarks/accuracy.py --shared ../shared/data --model default \
        --model no_adversary=runs/x.npz --out docs/benchmarks/accuracy
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import shlex
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` and `sstfill` importable
    sys.path.insert(0, str(REPO))

from benchmarks.cases import FRACTION_BINS, load_heldout_cases, load_heldout_stacks  # noqa: E402
from benchmarks.peers import dineof, fill_biharmonic, fill_laplace, fill_telea  # noqa: E402
from sstfill.models.store import BUNDLED_MODELS  # noqa: E402

__all__ = [
    "PEER_NAMES",
    "ModelSpec",
    "parse_model_spec",
    "resolve_models",
    "fill_with_model",
    "score",
    "run_cases",
    "aggregate",
    "best_peer_ratios",
    "radial_spectrum",
    "spectra",
    "report_protocol",
    "heldout_mur_tiles",
    "to_markdown",
    "plot_spectra",
    "plot_example",
    "main",
]

PEER_NAMES = ("biharmonic", "laplace", "telea", "dineof")
SINGLE_PEERS = {"biharmonic": fill_biharmonic, "laplace": fill_laplace, "telea": fill_telea}
BIN_LABELS = tuple(f"{int(lo * 100)}-{int(hi * 100)}" for lo, hi in FRACTION_BINS)
REPORT_HOLES = ("square10", "squares6", "squares")


# ----------------------------------------------------------------------------- models


@dataclass
class ModelSpec:
    """An sstfill model to benchmark: ``label`` and what goes to ``fill(model=...)``."""

    label: str
    spec: str  # what the user wrote: "default", "laplace" or a path
    model: Any = None  # None (bundled default), "laplace" or a loaded model object
    description: str = ""


def parse_model_spec(text: str) -> tuple[str, str]:
    """``"label=path"``, ``"default"``, ``"laplace"`` or ``"path"`` -> ``(label, spec)``.

    A model spec may end in ``@float32`` or ``@bfloat16`` (the compute precision; the
    default is "auto"), e.g. ``default_fp32=default@float32``.

    A label that is also a peer name gets the prefix ``sstfill-`` (``--model laplace``
    is sstfill's tile filler, labelled ``sstfill-laplace``, beside the peer ``laplace``).
    """
    if "=" in text:
        label, spec = text.split("=", 1)
        label, spec = label.strip(), spec.strip()
    else:
        spec = text.strip()
        label = spec if spec.lower() in ("default", "laplace") else Path(spec).stem
    if not label or not spec:
        raise ValueError(f"cannot read model {text!r}: use LABEL=PATH, PATH, 'default' or 'laplace'")
    if label in PEER_NAMES:
        label = f"sstfill-{label}"
    return label, spec


def _bundled_model_exists(name: str = "default") -> bool:
    from sstfill.models.store import bundled_model_path

    return bundled_model_path(name).is_file()


def resolve_models(texts: list[str], log=print) -> tuple[list[ModelSpec], list[dict]]:
    """Load the models named on the command line once; skip (with a message) missing ones."""
    import sstfill
    from sstfill.models.store import resolve_model

    models, skipped = [], []
    seen = set()
    for text in texts:
        label, spec = parse_model_spec(text)
        if label in seen:
            raise ValueError(f"model label {label!r} given twice")
        seen.add(label)
        spec, _, precision = spec.partition("@")  # "default@float32": a compute precision
        bundled = spec.lower() if spec.lower() in BUNDLED_MODELS else None
        if precision:
            if bundled:
                from sstfill.models.store import load_bundled_model

                obj = load_bundled_model(bundled, "cpu", precision)
            else:
                obj = sstfill.load_model(spec, precision=precision)
            models.append(ModelSpec(label, f"{spec}@{precision}", obj, f"{obj.description}, {precision}"))
            continue
        if bundled:
            if not _bundled_model_exists(bundled):
                msg = f"model {label!r}: the bundled {bundled} model (sstfill/data/{BUNDLED_MODELS[bundled]}) does not exist; skipped"
                log(msg)
                skipped.append({"label": label, "spec": spec, "reason": msg})
                continue
            obj = None if bundled == "default" else bundled
            desc = resolve_model(obj).description
        elif spec.lower() == "laplace":
            obj = "laplace"
            desc = resolve_model("laplace").description
        else:
            path = Path(spec)
            if not path.is_file():
                msg = f"model {label!r}: file {spec} does not exist; skipped"
                log(msg)
                skipped.append({"label": label, "spec": spec, "reason": msg})
                continue
            obj = sstfill.load_model(path)
            desc = obj.description
        models.append(ModelSpec(label, spec, obj, desc))
    return models, skipped


def _dataarray(case, values):
    import xarray as xr

    coords = {"lat": case.lat, "lon": case.lon}
    return xr.DataArray(values, dims=("lat", "lon"), coords=coords)


def fill_with_model(case, model) -> np.ndarray:
    """Fill one case with an sstfill model through the accessor, as a user would."""
    import sstfill  # noqa: F401  (registers .inpaint)

    da = _dataarray(case, case.observed_input).rename("sst")
    da.attrs = {"units": "degC", "standard_name": "sea_surface_temperature"}
    land = _dataarray(case, case.land.astype(bool)).rename("land")
    return np.asarray(da.inpaint.fill(model, land=land).values, dtype=np.float32)


# ----------------------------------------------------------------------------- scoring


def score(case, filled: np.ndarray | None) -> dict:
    """Scores on ``case.hidden``: RMSE/MAE/bias over the hidden pixels the method filled."""
    hid = case.hidden
    n_hidden = int(hid.sum())
    if filled is None:
        return {"n_hidden": n_hidden, "n_filled": None, "coverage": None, "rmse": None, "mae": None, "bias": None}
    f = np.asarray(filled, dtype=np.float64)
    ok = np.isfinite(f) & hid
    err = f[ok] - case.truth[ok].astype(np.float64)
    n = int(ok.sum())
    obs = np.isfinite(case.observed_input) & ~case.land
    changed = int(np.sum(f[obs] != case.observed_input[obs].astype(np.float64)))
    out = {
        "n_hidden": n_hidden,
        "n_filled": n,
        "coverage": float(n / n_hidden) if n_hidden else float("nan"),
        "rmse": float(np.sqrt(np.mean(err**2))) if n else None,
        "mae": float(np.mean(np.abs(err))) if n else None,
        "bias": float(np.mean(err)) if n else None,
        "sse": float(np.sum(err**2)),
        "sae": float(np.sum(np.abs(err))),
        "se": float(np.sum(err)),
        "observed_changed": changed,
    }
    return out


def _bin_label(cf: float) -> str:
    for (lo, hi), lab in zip(FRACTION_BINS, BIN_LABELS):
        if lo <= cf < hi:
            return lab
    return "outside"


@dataclass
class Run:
    """Everything :func:`run_cases` produced."""

    cases: list
    methods: list[str]
    kinds: dict[str, str]  # method -> "model" | "peer"
    filled: dict[str, dict[str, np.ndarray]]  # case name -> method -> filled field
    rows: list[dict]
    seconds: dict[str, float]
    errors: list[dict] = field(default_factory=list)
    dineof_info: dict = field(default_factory=dict)


def run_cases(shared, models: list[ModelSpec], window: int = 128, seed: int = 0, skip=(), log=print) -> Run:
    """Fill every held-out case with every method and score it on the hidden pixels."""
    skip = set(skip)
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
                filled[c.name][m.label] = fill_with_model(c, m.model)
            except Exception as exc:  # recorded, scored as nothing filled
                errors.append({"method": m.label, "case": c.name, "error": f"{type(exc).__name__}: {exc}"})
                filled[c.name][m.label] = np.full(c.truth.shape, np.nan, np.float32)
            seconds[m.label] += time.perf_counter() - t0

    for p, fn in SINGLE_PEERS.items():
        if p in skip:
            continue
        log(f"[accuracy] peer {p} ...")
        for c in cases:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                filled[c.name][p] = fn(c.observed_input, c.land)
            seconds[p] += time.perf_counter() - t0

    dineof_info = {}
    if "dineof" not in skip:
        stacks = load_heldout_stacks(shared, window, seed)
        by_name = {c.name: c for c in cases}
        for name, st in stacks.items():
            log(f"[accuracy] peer dineof on {name} {st.observed_input.shape} ...")
            t0 = time.perf_counter()
            res = dineof(st.observed_input, st.land, seed=seed)
            seconds["dineof"] += time.perf_counter() - t0
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

    rows = []
    for c in cases:
        avail = [m for m in methods if m in filled[c.name]]
        common = c.hidden.copy()
        for m in avail:
            common &= np.isfinite(filled[c.name][m])
        res = {}
        for m in methods:
            f = filled[c.name].get(m)
            r = score(c, f)
            if f is not None:
                err = filled[c.name][m][common].astype(np.float64) - c.truth[common].astype(np.float64)
                r["n_common"] = int(common.sum())
                r["sse_common"] = float(np.sum(err**2))
                r["rmse_common"] = float(np.sqrt(np.mean(err**2))) if err.size else None
            res[m] = r
        rows.append({
            "name": c.name, "source": c.source, "region": c.region, "time": c.time,
            "cloud_fraction": c.cloud_fraction, "bin": _bin_label(c.cloud_fraction),
            "target_bin": [float(x) for x in c.target_bin], "gap_fraction": c.gap_fraction,
            "land_fraction": float(c.land.mean()), "hidden_pixels": int(c.hidden.sum()),
            "truth_complete": bool(np.all(np.isfinite(c.truth) | c.land)), "mask_info": c.mask_info,
            "row0": c.row0, "col0": c.col0, "methods": res,
        })
    return Run(cases, methods, kinds, filled, rows, seconds, errors, dineof_info)


# ----------------------------------------------------------------------------- aggregation


def _groups(rows) -> dict[str, list[dict]]:
    g: dict[str, list[dict]] = {"overall": list(rows)}
    for key, prefix in (("source", "source"), ("region", "region"), ("bin", "bin")):
        for v in sorted({r[key] for r in rows}):
            g[f"{prefix}:{v}"] = [r for r in rows if r[key] == v]
    for s in sorted({r["source"] for r in rows}):
        for b in BIN_LABELS + ("outside",):
            sel = [r for r in rows if r["source"] == s and r["bin"] == b]
            if sel:
                g[f"source:{s}|bin:{b}"] = sel
    return g


def _agg(rows, method) -> dict:
    """Pooled and per-case statistics of ``method`` over ``rows`` (cases where it ran)."""
    ms = [r["methods"][method] for r in rows if r["methods"][method]["n_filled"] is not None]
    n_cases_na = len(rows) - len(ms)
    if not ms:
        return {"cases": 0, "cases_na": n_cases_na}
    n_hidden = sum(m["n_hidden"] for m in ms)
    n = sum(m["n_filled"] for m in ms)
    nc = sum(m["n_common"] for m in ms)
    per_case = [m["rmse"] for m in ms if m["rmse"] is not None]
    per_case_c = [m["rmse_common"] for m in ms if m.get("rmse_common") is not None]
    return {
        "cases": len(ms),
        "cases_na": n_cases_na,
        "hidden_pixels": n_hidden,
        "filled_pixels": n,
        "coverage": n / n_hidden if n_hidden else float("nan"),
        "cases_incomplete": sum(1 for m in ms if m["n_filled"] < m["n_hidden"]),
        "rmse_pooled": float(np.sqrt(sum(m["sse"] for m in ms) / n)) if n else None,
        "rmse_case_mean": float(np.mean(per_case)) if per_case else None,
        "rmse_case_median": float(np.median(per_case)) if per_case else None,
        "mae": sum(m["sae"] for m in ms) / n if n else None,
        "bias": sum(m["se"] for m in ms) / n if n else None,
        "common_pixels": nc,
        "rmse_common_pooled": float(np.sqrt(sum(m["sse_common"] for m in ms) / nc)) if nc else None,
        "rmse_common_case_mean": float(np.mean(per_case_c)) if per_case_c else None,
        "observed_changed": sum(m["observed_changed"] for m in ms),
    }


def aggregate(run: Run) -> dict:
    """``{group: {method: stats}}`` for overall, source, region, bin and source x bin."""
    return {g: {m: _agg(rows, m) for m in run.methods} for g, rows in _groups(run.rows).items()}


def best_peer_ratios(run: Run, groups: dict) -> dict:
    """Per group and model: best peer, RMSE ratio model / best peer, cases beating every peer.

    Only peers that ran on every case of the group compete for "best peer" (DINEOF has no
    SLSTR series, so it competes in MUR-only groups). Ratios are given on each method's own
    filled pixels (pooled and mean per case) and on the pixels every method filled.
    A case counts as "beats every peer" when the model's RMSE on the common pixels is below
    that of every peer that ran on the case.
    """
    rows_by_group = _groups(run.rows)
    models = [m for m in run.methods if run.kinds[m] == "model"]
    peers = [m for m in run.methods if run.kinds[m] == "peer"]
    out = {}
    for g, stats in groups.items():
        rows = rows_by_group[g]
        full = [p for p in peers if stats[p].get("cases", 0) == len(rows) and stats[p].get("rmse_pooled") is not None]
        out[g] = {}
        for m in models:
            sm = stats[m]
            entry: dict[str, Any] = {"cases": len(rows), "peers_compared": full}
            for key in ("rmse_pooled", "rmse_case_mean", "rmse_common_pooled"):
                if not full or sm.get(key) is None:
                    continue
                best = min(full, key=lambda p: stats[p][key])
                ratio = sm[key] / stats[best][key]
                entry[key] = {"best_peer": best, "peer": stats[best][key], "model": sm[key],
                              "ratio": ratio, "better_by_percent": 100.0 * (1.0 - ratio)}
            wins, counted = 0, 0
            for r in rows:
                mr = r["methods"][m].get("rmse_common")
                pr = [r["methods"][p].get("rmse_common") for p in peers if r["methods"][p]["n_filled"] is not None]
                if mr is None or not pr or any(v is None for v in pr):
                    continue
                counted += 1
                wins += all(mr < v for v in pr)
            entry["cases_beating_every_peer"] = wins
            entry["cases_counted"] = counted
            out[g][m] = entry
    return out


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
        "mur_l4 30-60%": [c for c in run.cases if c.source == "mur_l4" and _bin_label(c.cloud_fraction) == "30-60"],
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


# ----------------------------------------------------------------------------- markdown


def _f(x, nd=3):
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{nd}f}"


def _pct(v):
    return "<0.1 %" if 0 < v < 0.001 else f"{100 * v:.1f} %"


def _table(header, rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    return out


def _group_name(g: str) -> str:
    return g.replace("source:", "").replace("region:", "").replace("bin:", "").replace("|", " ") + ("%" if "bin:" in g else "")


def to_markdown(result: dict) -> str:
    """The markdown report from the JSON-ready result of :func:`main`."""
    methods = result["methods"]
    names = list(methods)
    models = [m for m in names if methods[m]["kind"] == "model"]
    groups = result["groups"]
    L = ["# sstfill accuracy on held-out cases", ""]
    L.append(f"Command: `{result['command']}`  ")
    L.append(f"Date: {result['timestamp']}; git commit: {result.get('git_commit') or 'n/a'}"
             f"{' (uncommitted changes)' if result.get('git_dirty') else ''}; window {result['window']} px, seed {result['seed']}; "
             f"{len(result['cases'])} cases.")
    L.append("")
    L.append("Scores on the hidden pixels only (real observed pixels under transplanted real clouds), degC. "
             "sstfill models run through `da.inpaint.fill(model, land=land)`; peers are called directly; "
             "DINEOF runs on each MUR time series and is 'n/a' on SLSTR (no series).")
    L.append("")
    for m in names:
        L.append(f"- **{m}** ({methods[m]['kind']}): {methods[m]['description']}")
    for s in result.get("skipped_models", []):
        L.append(f"- skipped: {s['reason']}")
    L.append("")

    L += ["## Overall", ""]
    hdr = ["method", "cases", "hidden px", "coverage %", "RMSE pooled", "RMSE mean/case", "MAE", "bias",
           "RMSE common px"]
    rows = []
    for m in names:
        s = groups["overall"][m]
        if not s.get("cases"):
            rows.append([m, 0] + ["n/a"] * 7)
            continue
        na = f" (+{s['cases_na']} n/a)" if s["cases_na"] else ""
        rows.append([m, f"{s['cases']}{na}", s["hidden_pixels"], f"{100 * s['coverage']:.1f}", _f(s["rmse_pooled"]),
                     _f(s["rmse_case_mean"]), _f(s["mae"]), f"{s['bias']:+.3f}", _f(s["rmse_common_pooled"])])
    L += _table(hdr, rows)
    L.append("")
    L.append("RMSE pooled = sqrt of the mean squared error over all hidden pixels of the group that the method "
             "filled; RMSE mean/case = mean of the per-case RMSEs; RMSE common px = pooled over the hidden pixels "
             "that every method filled (like for like when a method leaves pixels unfilled)."
             + (" DINEOF's overall row covers the MUR cases only." if "dineof" in names else ""))
    L.append("")

    def wide(title, key, note=None, pct=True):
        L.extend([f"## {title}", ""])
        hdr = ["group", "cases"] + names
        rows = []
        for g, st in groups.items():
            if g == "overall":
                continue
            ncase = max(st[m].get("cases", 0) + st[m].get("cases_na", 0) for m in names)
            cells = []
            for m in names:
                s = st[m]
                if not s.get("cases"):
                    cells.append("n/a")
                    continue
                c = _f(s.get(key))
                if pct and s["coverage"] < 1:
                    c += f" ({100 * s['coverage']:.0f}%)"
                cells.append(c)
            rows.append([_group_name(g), ncase] + cells)
        L.extend(_table(hdr, rows))
        L.append("")
        if note:
            L.extend([note, ""])

    wide("Pooled RMSE by group (degC)", "rmse_pooled",
         "Per source, per region, per cloud-fraction bin (realised hidden / ocean fraction) and per source x bin. "
         "In brackets: coverage of the hidden pixels where below 100 % (RMSE is then over the filled pixels only).")
    wide("Mean per-case RMSE by group (degC)", "rmse_case_mean")
    wide("Pooled RMSE on the pixels every method filled (degC)", "rmse_common_pooled", pct=False)

    L += ["## Models against the best peer", ""]
    L.append("Best peer = the peer with the lowest RMSE in the group among the peers that ran on every case of it "
             "(DINEOF only competes in MUR-only groups). Ratio = model RMSE / best peer RMSE; 'better by' = "
             "100 x (1 - ratio) (negative: worse). 'ratio' uses each method's own filled pixels, which flatters a model "
             "whose coverage is below 100 % (the unfilled pixels are the hardest, under the largest clouds); 'ratio "
             "common px' compares all methods on the same pixels. Wins = cases where the model's RMSE on the common pixels is "
             "below that of every peer that ran on the case.")
    L.append("")
    hdr = ["group", "model", "model coverage %", "best peer (pooled)", "peer RMSE", "model RMSE", "ratio",
           "better by %", "ratio common px", "ratio mean/case", "wins"]
    rows = []
    for g, per in result["ratios"].items():
        for m in models:
            e = per.get(m)
            if not e or "rmse_pooled" not in e:
                continue
            a = e["rmse_pooled"]
            c = e.get("rmse_common_pooled")
            mc = e.get("rmse_case_mean")
            cov = groups[g][m]["coverage"]
            rows.append([_group_name(g), m, f"{100 * cov:.1f}", a["best_peer"], _f(a["peer"]), _f(a["model"]), _f(a["ratio"]),
                         f"{a['better_by_percent']:+.1f}",
                         f"{_f(c['ratio'])} vs {c['best_peer']}" if c else "n/a",
                         f"{_f(mc['ratio'])} vs {mc['best_peer']}" if mc else "n/a",
                         f"{e['cases_beating_every_peer']}/{e['cases_counted']}"])
    L += _table(hdr, rows) if rows else ["(no sstfill model was benchmarked)"]
    L.append("")

    sp = result.get("spectra", {})
    if sp:
        L += ["## Radial power spectra", ""]
        for g, s in sp.items():
            if not s.get("cases"):
                L.append(f"- {g}: {s.get('note', 'no cases')}")
                continue
            patched = {m: v for m, v in s["patched_fraction_of_hidden"].items() if v > 0}
            pn = ("; hidden pixels left NaN, filled with the direct Laplace solution for the spectrum only: "
                  + ", ".join(f"{m} {_pct(v)}" for m, v in patched.items())) if patched else ""
            k = np.asarray(s["wavenumber_cycles_per_pixel"])
            hi = k >= 0.125  # wavelengths <= 8 px
            truth = np.asarray(s["power"]["truth"])
            ratios = ", ".join(f"{m} {np.mean(np.asarray(p)[hi]) / np.mean(truth[hi]):.2f}"
                               for m, p in s["power"].items() if m != "truth")
            L.append(f"- {g}: {len(s['cases'])} cases with complete truth{pn}. Power at wavelengths <= 8 px "
                     f"relative to the truth: {ratios}.")
        L.append("")
        L.append("`spectra.png`: mean azimuthally averaged power (Hann window, mean removed, land set to the window "
                 "mean) of each filled window and of the truth. Filled windows keep their observed pixels, so the "
                 "differences come from the hidden pixels.")
        L.append("")

    rp = result.get("report_protocol")
    if rp:
        L += ["## SST report protocol on held-out MUR tiles", ""]
        L.append(f"Non-overlapping fully-ocean tiles of the held-out MUR days; "
                 f"`sstfill.evaluation.protocols.evaluate_tiles_table(model, tiles, holes={REPORT_HOLES}, fraction=0.25, seed=0)`. "
                 "RMSE in per-tile normalised units (error / truth tile std); the report's numbers are for its own "
                 "data and model, shown for scale only.")
        L.append("")
        hdr = ["model", "holes", "tiles", "hidden px", "RMSE hidden (norm.)", "report", "RMSE hidden degC",
               "RMSE tile (norm.)", "SSIM"]
        rows = [[r["model"], r["holes"], r["tiles"], r["hidden_pixels"], _f(r["rmse_hidden"], 4),
                 _f(r["report_rmse_hidden"], 4), _f(r["rmse_hidden_units"], 4), _f(r["rmse_tile"], 4),
                 _f(r["ssim"], 4)] for r in rp]
        L += _table(hdr, rows)
        L.append("")

    notes = []
    for m in names:
        s = groups["overall"][m]
        if s.get("cases") and s["coverage"] < 1:
            notes.append(f"{m} left {s['hidden_pixels'] - s['filled_pixels']} of {s['hidden_pixels']} hidden pixels "
                         f"NaN ({100 * (1 - s['coverage']):.1f} %) in {s['cases_incomplete']} cases.")
        if s.get("observed_changed"):
            notes.append(f"{m} changed {s['observed_changed']} observed pixels (should be 0).")
    for e in result.get("errors", []):
        notes.append(f"{e['method']} failed on {e['case']}: {e['error']}")
    if notes:
        L += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(L)


# ----------------------------------------------------------------------------- figures


def _colours(methods):
    import matplotlib.pyplot as plt

    cyc = plt.get_cmap("tab10").colors
    return {m: cyc[i % len(cyc)] for i, m in enumerate(methods)}


def plot_spectra(sp: dict, path, methods: list[str]) -> None:
    """Log-log mean spectra (top) and their ratio to the truth (bottom), one column per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [g for g, s in sp.items() if s.get("cases")]
    if not groups:
        return
    col = _colours(methods)
    fig, axes = plt.subplots(2, len(groups), figsize=(6.2 * len(groups), 7.5), squeeze=False,
                             gridspec_kw={"height_ratios": [2.2, 1]}, sharex="col")
    for j, g in enumerate(groups):
        s = sp[g]
        k = np.asarray(s["wavenumber_cycles_per_pixel"])
        truth = np.asarray(s["power"]["truth"])
        ax, axr = axes[0, j], axes[1, j]
        ax.loglog(k, truth, color="k", lw=2.6, label="truth", zorder=5)
        axr.axhline(1.0, color="k", lw=2)
        for m in methods:
            if m not in s["power"]:
                continue
            p = np.asarray(s["power"][m])
            ax.loglog(k, p, color=col[m], lw=1.4, label=m)
            axr.semilogx(k, p / truth, color=col[m], lw=1.4)
        ax.set_title(f"{g}: {len(s['cases'])} cases")
        ax.set_ylabel("power (degC$^2$ per spectral bin)")
        ax.grid(True, which="both", alpha=0.25)
        axr.set_ylabel("power / truth")
        axr.set_xlabel("wavenumber (cycles per pixel)")
        axr.grid(True, which="both", alpha=0.25)
        axr.set_ylim(0, max(1.6, min(3.0, float(np.nanmax([np.asarray(p) / truth for m, p in s["power"].items()])) * 1.05)))
        top = ax.secondary_xaxis("top", functions=(lambda x: 1 / np.maximum(x, 1e-9), lambda x: 1 / np.maximum(x, 1e-9)))
        top.set_xlabel("wavelength (pixels)")
        ax.legend(fontsize=8, loc="lower left")
    fig.suptitle("Radial power spectra of filled windows vs truth (held-out cases)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _pick_example(run: Run, source: str):
    cs = [c for c in run.cases if c.source == source]
    for want in (lambda c: _bin_label(c.cloud_fraction) == "30-60" and np.all(np.isfinite(c.truth) | c.land),
                 lambda c: _bin_label(c.cloud_fraction) == "30-60", lambda c: True):
        sel = [c for c in cs if want(c)]
        if sel:
            return sel[0]
    return None


def plot_example(run: Run, path, rows_by_name: dict) -> list[str]:
    """Input, truth and each method's fill for one SLSTR and one MUR case; same colour scale per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    picks = [c for c in (_pick_example(run, "slstr_l2"), _pick_example(run, "mur_l4")) if c is not None]
    if not picks:
        return []
    panels = ["input", "truth"] + list(run.methods)
    ncol = len(panels)
    fig, axes = plt.subplots(len(picks), ncol, figsize=(2.3 * ncol + 0.9, 2.9 * len(picks)), squeeze=False,
                             gridspec_kw={"hspace": 0.42, "wspace": 0.06})
    cmap = plt.get_cmap("RdYlBu_r").copy()
    cmap.set_bad("white")
    grey = ListedColormap(["0.55"])
    for i, c in enumerate(picks):
        vals = c.truth[np.isfinite(c.truth)]
        vmin, vmax = np.percentile(vals, [1, 99])
        lat_up = c.lat[0] < c.lat[-1]
        extent = [c.lon[0], c.lon[-1], c.lat[0], c.lat[-1]] if lat_up else [c.lon[0], c.lon[-1], c.lat[-1], c.lat[0]]
        origin = "lower" if lat_up else "upper"
        res = rows_by_name[c.name]["methods"]
        im = None
        for j, p in enumerate(panels):
            ax = axes[i, j]
            if p == "input":
                img, title = c.observed_input, f"input ({100 * c.cloud_fraction:.0f}% hidden)"
            elif p == "truth":
                img, title = c.truth, "truth"
            else:
                img = run.filled[c.name].get(p)
                r = res[p]
                if img is None:
                    ax.text(0.5, 0.5, f"{p}\nn/a", ha="center", va="center", transform=ax.transAxes)
                    ax.set_xticks([]), ax.set_yticks([])
                    continue
                cov = "" if r["coverage"] >= 1 else f", {100 * r['coverage']:.0f}% cov."
                title = f"{p}\nRMSE {_f(r['rmse'])}{cov}"
            im = ax.imshow(np.ma.masked_invalid(img), cmap=cmap, vmin=vmin, vmax=vmax, origin=origin, extent=extent,
                           interpolation="nearest", aspect="auto")
            if c.land.any():
                ax.imshow(np.ma.masked_where(~c.land, np.ones(c.land.shape)), cmap=grey, origin=origin,
                          extent=extent, interpolation="nearest", aspect="auto")
            if p == "truth":
                ax.contour(c.hidden.astype(float), levels=[0.5], colors="k", linewidths=0.4, origin=origin,
                           extent=extent)
            ax.set_title(title, fontsize=8.5)
            ax.tick_params(labelsize=6)
            if j:  # coordinates on the first panel of each row only
                ax.set_xticks([]), ax.set_yticks([])
            else:
                ax.locator_params(axis="x", nbins=3)
        axes[i, 0].set_ylabel(f"{c.name}\n{c.time}", fontsize=7.5)
        cb = fig.colorbar(im, ax=list(axes[i, :]), fraction=0.012, pad=0.01)
        cb.set_label("SST (degC)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    fig.suptitle("Held-out examples: white = gap / unfilled, grey = land, black outline on truth = hidden pixels",
                 fontsize=9)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [c.name for c in picks]


# ----------------------------------------------------------------------------- CLI


def _git():
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True,
                                    timeout=30).stdout.strip())
        return commit, dirty
    except Exception:
        return None, None


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    return x


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=None, help="shared data folder (default ../shared/data next to the repo)")
    ap.add_argument("--model", action="append", default=[], metavar="[LABEL=]PATH",
                    help="sstfill model: LABEL=PATH, PATH, 'default' (bundled, model=None) or 'laplace'; repeatable")
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="docs/benchmarks/accuracy")
    ap.add_argument("--skip", default="", help="comma-separated methods to skip, e.g. dineof,telea")
    ap.add_argument("--report-protocol", action=argparse.BooleanOptionalAction, default=True,
                    help="also run the SST report's protocol on held-out MUR tiles (default on)")
    return ap


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    a = build_parser().parse_args(argv)
    log = lambda *s: print(*s, file=sys.stderr, flush=True)  # noqa: E731
    t_start = time.perf_counter()
    skip = [s.strip() for s in a.skip.split(",") if s.strip()]
    unknown = [s for s in skip if s not in PEER_NAMES and s not in {parse_model_spec(m)[0] for m in a.model}]
    if unknown:
        raise SystemExit(f"--skip: unknown method(s) {unknown}; peers are {list(PEER_NAMES)}")
    models, skipped = resolve_models(a.model, log=log)
    if not models:
        log("[accuracy] no sstfill model to benchmark: peers only")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    run = run_cases(a.shared, models, a.window, a.seed, skip=skip, log=log)
    groups = aggregate(run)
    ratios = best_peer_ratios(run, groups)
    log("[accuracy] spectra and figures ...")
    sp = spectra(run)
    plot_spectra(sp, out / "spectra.png", run.methods)
    rows_by_name = {r["name"]: r for r in run.rows}
    examples = plot_example(run, out / "example_case.png", rows_by_name)

    rp_rows, rp_seconds = None, None
    if a.report_protocol:
        log("[accuracy] report protocol on held-out MUR tiles ...")
        t0 = time.perf_counter()
        rp = report_protocol({m.label: m.model for m in models if m.label not in skip}, a.shared, seed=0,
                             window=a.window)
        rp_seconds = time.perf_counter() - t0
        rp_rows = rp.reset_index().to_dict(orient="records")

    commit, dirty = _git()
    descriptions = {m.label: m.description for m in models} | {
        "biharmonic": "biharmonic inpainting (peers.fill_biharmonic)",
        "laplace": "Laplace / harmonic interpolation, direct sparse solve (peers.fill_laplace)",
        "telea": "Telea fast marching, OpenCV (peers.fill_telea)",
        "dineof": "DINEOF on each MUR time series, scored on held-out days (peers.dineof)",
    }
    import sstfill

    result = {
        "command": " ".join(shlex.quote(s) for s in ["python", "benchmarks/accuracy.py"] + argv),
        "argv": argv,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit,
        "git_dirty": dirty,
        "sstfill_version": sstfill.__version__,
        "python": sys.version.split()[0],
        "shared": str(a.shared),
        "window": a.window,
        "seed": a.seed,
        "methods": {m: {"kind": run.kinds[m], "description": descriptions.get(m, ""),
                        "spec": next((s.spec for s in models if s.label == m), None),
                        "seconds": run.seconds[m]} for m in run.methods},
        "skipped_models": skipped,
        "skipped_methods": skip,
        "groups": groups,
        "ratios": ratios,
        "spectra": sp,
        "example_cases": examples,
        "dineof": run.dineof_info,
        "report_protocol": rp_rows,
        "report_protocol_seconds": rp_seconds,
        "errors": run.errors,
        "cases": run.rows,
    }
    result["total_seconds"] = time.perf_counter() - t_start
    result = _jsonable(result)
    md = to_markdown(result)
    (out / "accuracy.json").write_text(json.dumps(result, indent=1))
    (out / "accuracy.md").write_text(md + "\n")
    print(md)
    log(f"[accuracy] wrote {out}/accuracy.json, accuracy.md, spectra.png, example_case.png "
        f"in {result['total_seconds']:.0f} s")
    return result


if __name__ == "__main__":
    main()
