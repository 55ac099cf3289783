"""Measuring the extra case sets of ``benchmarks/cases_extra.py`` (time series, large clouds, swath edge).

Every method fills each :class:`~benchmarks.cases_extra.Unit` once and is scored on the
unit's case rows, on the same pixels for every method:

* sstfill models through the accessor, ``da.inpaint.fill(model, land=land)``; a series
  unit is a ``(time, lat, lon)`` DataArray with its datetime64 ``time`` coordinate, so a
  model that uses neighbouring days gets them. The ``large_clouds``, ``large_clouds_series``
  and ``swath_edge`` sets pass ``max_distance=None`` when ``fill`` has that parameter (fill everything:
  these sets measure how far a fill holds up, and coverage is reported anyway).
* the single-image peers fill each scored day of a series alone (the same input as the
  standard case of that day) and each 2-D window;
* DINEOF fills the whole MUR region stack once per region for ``mur_series`` (the standard
  run's result is reused when given), and each ``large_clouds_series`` window stack (the
  large cloud in it: the region stack shows those pixels); on the single-image MUR
  large-cloud windows only with
  ``large_dineof`` (``--large-dineof``): the window's own ``(time, 256, 256)`` stack (the
  large cloud on its day, the series' clouds on the others), about 70 s of CPU per window
  because the large gap slows its convergence (a region-stack run per window took
  longer still); otherwise, and on SLSTR (no series), 'n/a';
* DINCAE (``benchmarks/dincae_peer.py``, when the file exists and ``available()``) fills
  each series unit's own window stack (every day of the series in that window; about half
  a minute on one thread for 128 x 128, measured 2026-12-05, and three minutes for
  256 x 256 on a loaded machine, 2026-12-06); 'n/a' elsewhere.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO))

from benchmarks.accuracy_scores import score_case  # noqa: E402
from benchmarks.cases import _mur_build, _shared  # noqa: E402
from benchmarks.cases_extra import SETS, large_cloud_series_units, large_cloud_units, series_units, swath_edge_units  # noqa: E402
from benchmarks.peers import PEERS, dineof  # noqa: E402

__all__ = [
    "FILL_EVERYWHERE_SETS",
    "build_units",
    "dincae_module",
    "dincae_window_fill",
    "fill_unit_with_model",
    "run_extra",
    "unit_dataarray",
]

#: Sets scored on every hidden pixel, so sstfill fills them without a reach limit, as the peers do
#: (the ERSST series of ``benchmarks/cases_ersst.py``: at 2 degrees the default reach is 4 px).
FILL_EVERYWHERE_SETS = ("large_clouds", "large_clouds_series", "swath_edge", "ersst_series")


def unit_dataarray(unit, values, name: str = "sst"):
    """``values`` of ``unit`` as a DataArray on its (time,) lat, lon grid."""
    import xarray as xr

    coords = {"lat": unit.lat, "lon": unit.lon}
    dims = ("lat", "lon")
    if np.ndim(values) == 3:
        coords = {"time": unit.time} | coords
        dims = ("time",) + dims
    return xr.DataArray(values, dims=dims, coords=coords, name=name)


def fill_unit_with_model(unit, model) -> np.ndarray:
    """Fill one unit with an sstfill model through the accessor, as a user would."""
    import sstfill  # noqa: F401  (registers .inpaint)

    da = unit_dataarray(unit, unit.observed_input)
    da.attrs = {"units": "degC", "standard_name": "sea_surface_temperature"}
    land = unit_dataarray(unit, unit.land.astype(bool), "land")
    kwargs = {"land": land}
    if unit.set in FILL_EVERYWHERE_SETS and "max_distance" in inspect.signature(da.inpaint.fill).parameters:
        kwargs["max_distance"] = None
    return np.asarray(da.inpaint.fill(model, **kwargs).values, dtype=np.float32)


def dincae_module():
    """``benchmarks.dincae_peer`` when the file exists and its environment is there, else None."""
    if not (Path(__file__).resolve().parent / "dincae_peer.py").is_file():
        return None
    try:
        mod = importlib.import_module("benchmarks.dincae_peer")
    except Exception:  # noqa: BLE001  a broken peer module makes DINCAE 'n/a', never the run fail
        return None
    return mod if mod.available() else None


def build_units(shared, window: int = 128, seed: int = 0, sets=SETS):
    """The units of ``sets`` and the MUR region stacks they refer to."""
    shared = _shared(shared)
    built = _mur_build(shared, window, seed)
    units, large = [], None
    for s in sets:
        if s == "mur_series":
            units += series_units(shared, window, seed, built)
        elif s in ("large_clouds", "large_clouds_series"):
            large = large if large is not None else large_cloud_units(shared, window, seed, built)
            units += large if s == "large_clouds" else large_cloud_series_units(shared, window, seed, built, large)
        elif s == "swath_edge":
            units += swath_edge_units(shared)
        else:
            raise ValueError(f"unknown case set {s!r}; choose from {SETS}")
    return units, built[1]


def _cut(full, unit):
    (r0, r1), (c0, c1) = unit.stack_ref["rows"], unit.stack_ref["cols"]
    t = unit.stack_ref.get("t")
    return full[:, r0:r1, c0:c1].copy() if t is None else full[t, r0:r1, c0:c1].copy()


def run_extra(
    run, shared, models, model_arguments: dict, window: int = 128, seed: int = 0, sets=SETS, skip=(), log=print,
    large_dineof: bool = False,
) -> list:
    """Fill and score the units of ``sets``; their rows are appended to ``run.rows``.

    ``run`` is the :class:`~benchmarks.accuracy_run.Run` of the standard cases (its
    ``methods``, ``seconds``, ``errors``, ``dineof_info`` and ``stack_fills`` are extended).
    ``large_dineof``: also run DINEOF on each MUR large-cloud window's stack (off by default:
    about 50-70 s of CPU per window, 16 windows; measured 2026-12-02); otherwise DINEOF is 'n/a' there.
    Returns the units.
    """
    skip = set(skip)
    units, stacks = build_units(shared, window, seed, sets)
    log(f"[accuracy] extra sets {list(sets)}: {len(units)} inputs, {sum(len(u.cases) for u in units)} scored rows")
    fills: dict[str, dict[str, np.ndarray]] = {u.name: {} for u in units}
    for m in models:
        if m.label in skip:
            continue
        log(f"[accuracy] {m.label}: {len(units)} extra inputs through da.inpaint.fill ...")
        for u in units:
            t0 = time.perf_counter()
            try:
                fills[u.name][m.label] = fill_unit_with_model(u, model_arguments[m.label])
            except Exception as exc:  # noqa: BLE001  recorded, scored as nothing filled
                run.errors.append({"method": m.label, "case": u.name, "error": f"{type(exc).__name__}: {exc}"})
                fills[u.name][m.label] = np.full(u.truth.shape, np.nan, np.float32)
            _tick(run, u.set, m.label, t0)
    for p, fn in PEERS.items():
        if p in skip:
            continue
        log(f"[accuracy] peer {p} on the extra inputs ...")
        for u in units:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                if u.time is None:
                    fills[u.name][p] = fn(u.observed_input, u.land)
                else:  # each scored day alone
                    out = np.full(u.truth.shape, np.nan, np.float32)
                    for t in u.steps:
                        out[t] = fn(u.observed_input[t], u.land)
                    fills[u.name][p] = out
            _tick(run, u.set, p, t0)
    if "dineof" not in skip:
        _series_peer(
            run, units, stacks, "dineof", lambda st: dineof(st.observed_input, st.land, seed=seed).filled, fills, log
        )
        for u in units:  # the large clouds on their series: the window's own stack, the large cloud in it
            if u.set == "large_clouds_series":
                t0 = time.perf_counter()
                fills[u.name]["dineof"] = dineof(u.observed_input, u.land, seed=seed).filled
                _tick(run, u.set, "dineof", t0)
        for u in units if large_dineof else []:
            if u.time is not None or not u.stack_ref or "t" not in u.stack_ref:
                continue
            st = stacks[u.stack_ref["stack"]]
            (r0, r1), (c0, c1) = u.stack_ref["rows"], u.stack_ref["cols"]
            stack = st.observed_input[:, r0:r1, c0:c1].copy()  # the window's stack: every day of the series
            t = u.stack_ref["t"]
            stack[t] = u.observed_input
            t0 = time.perf_counter()
            fills[u.name]["dineof"] = dineof(stack, st.land[r0:r1, c0:c1], seed=seed).filled[t].copy()
            _tick(run, u.set, "dineof", t0)
    dincae = dincae_module() if "dincae" not in skip else None
    if dincae is not None:
        _dincae_per_window(run, units, stacks, dincae, fills, log)
    elif "dincae" in run.methods:
        log("[accuracy] dincae: benchmarks/dincae_peer.py or its environment missing: n/a")

    for u in units:
        for c in u.cases:
            t = c.tags.get("t") if u.time is not None else None
            per = {m: (f if t is None else f[t]) for m, f in fills[u.name].items()}
            run.rows.append(score_case(c, per, run.methods))
    run.extra_units = units
    run.extra_fills = fills
    return units


def _dincae_per_window(run, units, stacks, dincae, fills, log) -> None:
    """DINCAE on each series unit's own window (every day of its series), as ``benchmarks/dincae_window.py``.

    Not on the whole region stack as DINEOF: DINCAE's dense bottleneck layer grows with the
    square of the image's area (a 401 x 601 stack would need about 500 million weights
    against 2.4 million for a 128 x 128 window), and the cases are 128 x 128 windows.
    """
    for u in units:
        if u.time is None:
            continue
        st = stacks[u.stack_ref["stack"]]
        (r0, r1), (c0, c1) = u.stack_ref["rows"], u.stack_ref["cols"]
        log(f"[accuracy] peer dincae on {u.name} ({len(st.time)} x {r1 - r0} x {c1 - c0}) ...")
        t0 = time.perf_counter()
        try:
            fills[u.name]["dincae"] = dincae_window_fill(dincae, st, u)
        except Exception as exc:  # noqa: BLE001  recorded: the peer is then n/a on this unit
            run.errors.append({"method": "dincae", "case": u.name, "error": f"{type(exc).__name__}: {exc}"})
        finally:
            _tick(run, u.set, "dincae", t0)


def dincae_window_fill(dincae, stack, unit) -> np.ndarray:
    """DINCAE's fill (time, y, x) of ``unit``'s window stack (every step of the series, that window only; ``stack`` gives its grid)."""
    (r0, r1), (c0, c1) = unit.stack_ref["rows"], unit.stack_ref["cols"]
    values = unit.observed_input  # the region stack's window, or with a large cloud on its held-out day
    return np.asarray(dincae.fill_dincae(values, stack.land[r0:r1, c0:c1], stack.lat[r0:r1], stack.lon[c0:c1], stack.time), np.float32)


def _tick(run, set_name: str, method: str, t0: float) -> None:
    """Add the time since ``t0`` to ``method``'s total and to its time on ``set_name``."""
    dt = time.perf_counter() - t0
    run.seconds[method] = run.seconds.get(method, 0.0) + dt
    per = run.extra_seconds.setdefault(set_name, {})
    per[method] = per.get(method, 0.0) + dt


def _series_peer(run, units, stacks, name, fill_stack, fills, log) -> None:
    """A time-series peer on each region stack that a series unit needs; cut per unit."""
    series = [u for u in units if u.set == "mur_series"]  # the others hide pixels the region stack shows
    need = sorted({u.stack_ref["stack"] for u in series})
    for region in need:
        key = (name, region)
        if key not in run.stack_fills:
            log(f"[accuracy] peer {name} on {region} {stacks[region].observed_input.shape} ...")
            t0 = time.perf_counter()
            try:
                run.stack_fills[key] = np.asarray(fill_stack(stacks[region]), np.float32)
            except Exception as exc:  # noqa: BLE001  recorded: the peer is then n/a
                run.errors.append({"method": name, "case": region, "error": f"{type(exc).__name__}: {exc}"})
                continue
            finally:
                _tick(run, "mur_series", name, t0)
        for u in series:
            if u.stack_ref["stack"] == region:
                fills[u.name][name] = _cut(run.stack_fills[key], u)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Build and summarise the extra case sets of benchmarks/cases_extra.py")
    ap.add_argument("--shared", default=None)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    for u in build_units(a.shared, seed=a.seed)[0]:
        print(
            f"{u.name:40s} {u.set:12s} {u.observed_input.shape!s:16s} rows={len(u.cases)} "
            + " ".join(f"{c.name.split('_')[-1]}:{int(c.hidden.sum())}" for c in u.cases)
        )
