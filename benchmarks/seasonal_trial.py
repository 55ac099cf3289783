#!/usr/bin/env python
"""Fill a long series as anomalies from its own monthly climatology: the trial, then the package's fill.

On ERSST v5 (``benchmarks/cases_ersst.py``: global, 2 degrees, 128 months, real cloud masks
hiding about half the ocean every month, every eighth month scored) sstfill's tile models
lose to DINEOF six times over (``docs/benchmarks/adapt.md``). This trial measures what a
climatology does: each pixel's mean of the observed values of the same calendar month over
the series (the hidden pixels are gaps, so no method sees them), subtracted before the fill
and added back after it. Methods, on the scored months' hidden pixels where the climatology
is defined (a pixel some year observed in that calendar month) so all are scored on the
same pixels:

- ``climatology``: the climatology alone;
- ``climatology + interpolated anomaly``: plus each pixel's anomaly interpolated linearly in
  time between its nearest observed months;
- ``default`` / ``context`` on the field, and on its anomalies plus the climatology (the
  ``context`` model with its neighbouring steps counted in months, ``time_step_days=31``);
- DINEOF on the series.

Since 2026-12-04 ``fill()`` does this by itself (:mod:`sstfill.xr.climatology`,
``climatology="auto"``, with a harmonic fill where a pixel was never observed in a calendar
month): the second table scores the package's own fills (``default``, ``context`` as bundled,
``laplace``) on *every* hidden pixel of the scored months, beside DINEOF on the same pixels,
with the coverage of the error the fill returns (1, 2 and 3 sigma).

    python benchmarks/seasonal_trial.py --shared ../shared/data --out docs/benchmarks/seasonal_trial.json

``benchmarks/render_adapt.py`` puts the table on the adaptation page.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import harness  # noqa: E402
from benchmarks.cases import _shared  # noqa: E402
from benchmarks.cases_ersst import ersst_series  # noqa: E402
from benchmarks.dineof import dineof  # noqa: E402


def monthly_climatology(series: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Each step's climatology (T, Y, X): the mean of the observed values of its calendar month; NaN where none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # months with no observation at a pixel
        table = {m: np.nanmean(series[months == m], axis=0) for m in np.unique(months)}
    return np.stack([table[m] for m in months]).astype(np.float32)


def interpolate_in_time(series: np.ndarray) -> np.ndarray:
    """Each pixel's gaps filled linearly in time between its observed steps (held at the ends)."""
    out = series.astype(np.float64).copy()
    flat = out.reshape(len(out), -1)
    steps = np.arange(len(out))
    for j in range(flat.shape[1]):
        v = flat[:, j]
        ok = np.isfinite(v)
        if ok.sum() >= 2 and (~ok).any():
            v[~ok] = np.interp(steps[~ok], steps[ok], v[ok])
    return out.astype(np.float32)


def fill_series(values: np.ndarray, st, model, climatology=None, error: bool = False):
    """Fill a (T, Y, X) array on the stack's grid with ``model`` through the accessor (every gap); with ``error``, also its sigma."""
    import xarray as xr

    da = xr.DataArray(values, dims=("time", "lat", "lon"), coords={"time": st.time, "lat": st.lat, "lon": st.lon}, attrs={"units": "degC"}, name="sst")
    land = xr.DataArray(st.land, dims=("lat", "lon"), coords={"lat": st.lat, "lon": st.lon})
    out = da.inpaint.fill(model, land=land, max_distance=None, precision="float32", climatology=climatology, error=error)
    filled = np.asarray(out.values, dtype=np.float32)
    return (filled, np.asarray(out["sst_error"].values, dtype=np.float32)) if error else filled


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    import sstfill
    from sstfill.models.store import bundled_model_path

    t_all = time.perf_counter()
    st, unit = ersst_series(_shared(args.shared), args.seed)
    months = np.array([int(s[5:7]) for s in np.datetime_as_string(st.time, unit="M")])
    clim = monthly_climatology(st.observed_input, months)
    anomaly = st.observed_input - clim
    fills = {"climatology": clim, "climatology + interpolated anomaly": clim + interpolate_in_time(anomaly)}
    for name in ("default", "context"):
        model = sstfill.load_model(bundled_model_path(name))
        if name == "context":
            model.config.time_step_days = 31.0  # its neighbours are the adjacent months (what adapting sets)
        fills[f"{name}"] = fill_series(st.observed_input, st, model)
        fills[f"{name} on anomalies + climatology"] = fill_series(anomaly, st, model) + clim
        print(f"[seasonal] {name} done", flush=True)
    fills["dineof"] = dineof(st.observed_input, st.land, seed=args.seed).filled
    common = np.zeros(st.truth.shape, bool)
    for c in unit.cases:
        common[c.tags["t"]] = c.hidden
    for f in fills.values():
        common &= np.isfinite(f)
    all_hidden = sum(int(c.hidden.sum()) for c in unit.cases)
    scores = {}
    for name, f in fills.items():
        d = (f[common] - st.truth[common]).astype(np.float64)
        scores[name] = float(np.sqrt(np.mean(d**2)))
        print(f"[seasonal] {name:40s} {scores[name]:.3f} degC", flush=True)
    # the package's own fill (climatology="auto"), on every hidden pixel of the scored months
    hidden = np.zeros(st.truth.shape, bool)
    for c in unit.cases:
        hidden[c.tags["t"]] = c.hidden
    package: dict = {}
    for name in ("default", "context", "laplace"):
        model = name if name == "laplace" else sstfill.load_model(bundled_model_path(name))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the bundled context model finds no daily neighbours in monthly maps
            filled, sigma = fill_series(st.observed_input, st, model, climatology="auto", error=True)
        d = (filled[hidden] - st.truth[hidden]).astype(np.float64)
        z = np.abs(d) / sigma[hidden]
        package[f"{name} (fill)"] = {"rmse": float(np.sqrt(np.nanmean(d**2))), "filled": int(np.isfinite(d).sum()),
                                     "within_sigma": [float(np.mean(z < k)) for k in (1, 2, 3)]}
        print(f"[seasonal] package {name:10s} {package[f'{name} (fill)']['rmse']:.3f} degC on {package[f'{name} (fill)']['filled']} px, "
              f"within 1/2/3 sigma {[round(100 * w, 1) for w in package[f'{name} (fill)']['within_sigma']]}", flush=True)
    d = (fills["dineof"][hidden] - st.truth[hidden]).astype(np.float64)
    package["dineof"] = {"rmse": float(np.sqrt(np.nanmean(d**2))), "filled": int(np.isfinite(d).sum())}
    print(f"[seasonal] package dineof     {package['dineof']['rmse']:.3f} degC", flush=True)
    result = {"rmse_degC": scores, "pixels": int(common.sum()), "hidden_pixels": all_hidden, "scored_months": len(unit.cases), "package": package,
              "command": harness.command_line("seasonal_trial.py", argv or sys.argv[1:]), "run_at": harness.utc_timestamp(),
              "seconds": time.perf_counter() - t_all, "environment": harness.environment()}
    print(f"[seasonal] scored on {result['pixels']} of {all_hidden} hidden pixels (the climatology is undefined on the rest)")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
