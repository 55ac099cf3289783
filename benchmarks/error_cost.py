#!/usr/bin/env python
"""What the per-pixel error costs: ``fill()`` with and without ``error``, timed in one run, taking turns.

Inputs: a real SLSTR L2 scene (NE Atlantic, its swath's bounding box, real clouds) and the
10-day MUR series of Southern California with real cloud shapes on every day
(``benchmarks/cases.py``), numpy and dask (512 x 512 chunks), filled with the default model;
the output is computed (``.compute()``) so the error's features are included.

    python benchmarks/error_cost.py --shared ../shared/data --out docs/benchmarks

Writes ``error_cost.json``: wall seconds of each variant (best of ``--repeats``) and the
ratio with / without error; ``benchmarks/render_calibration.py`` puts it on the calibration page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import harness, split  # noqa: E402
from benchmarks.cases import _mur_build, _shared  # noqa: E402


def inputs(shared: Path) -> dict[str, xr.DataArray]:
    ds = xr.open_dataset(shared / split.SLSTR_NE_ATL_FILE)
    sst = ds[split.SLSTR_VAR].isel(time=0).load() - 273.15
    valid = np.isfinite(sst.values)
    inside = split.swath_mask(valid)
    rows, cols = np.flatnonzero(inside.any(1)), np.flatnonzero(inside.any(0))
    scene = sst.isel(lat=slice(rows[0], rows[-1] + 1), lon=slice(cols[0], cols[-1] + 1)).rename("sst")
    scene.attrs = {"units": "degC", "standard_name": "sea_surface_temperature"}
    _, stacks, _ = _mur_build(shared, 128, 0)
    st = stacks["mur_socal"]
    series = xr.DataArray(st.observed_input, dims=("time", "lat", "lon"), coords={"time": st.time, "lat": st.lat, "lon": st.lon}, name="sst")
    series.attrs = dict(scene.attrs)
    return {"slstr_ne_atl": scene, "mur_socal_series": series}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", default=str(split.DEFAULT_SHARED))
    p.add_argument("--out", default=None)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    import sstfill  # noqa: F401

    fields = inputs(_shared(args.shared))
    jobs = {}
    for name, da in fields.items():
        sizes = " x ".join(str(n) for n in da.shape)
        for backend, field in (("numpy", da), ("dask", da.chunk({"lat": 512, "lon": 512}))):
            for error in (False, True):
                label = f"{name} ({sizes}) {backend} error={error}"
                jobs[label] = (lambda f=field, e=error: f.inpaint.fill("default", land=None, error=e).compute())
    for fn in jobs.values():  # warm up: models loaded, land masks read
        fn()
        break
    times = harness.round_robin(jobs, args.repeats)
    best = {k: harness.best_run(v)["wall_s"] for k, v in times.items()}
    rows = []
    for k in best:
        if k.endswith("error=True"):
            base = k[: -len("error=True")] + "error=False"
            rows.append({"input": k[: -len(" error=True")], "without_s": best[base], "with_s": best[k], "ratio": best[k] / best[base]})
            print(f"{rows[-1]['input']:55s} without {best[base]:6.2f} s  with {best[k]:6.2f} s  ratio {best[k] / best[base]:.2f}")
    if args.out:
        harness.write_json(Path(args.out) / "error_cost.json", {"rows": rows, "repeats": args.repeats, "run_at": harness.utc_timestamp(),
                                                               "command": harness.command_line("error_cost.py", argv or sys.argv[1:]),
                                                               "environment": harness.environment()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
