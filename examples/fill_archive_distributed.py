#!/usr/bin/env python
"""Fill an archive of daily SST files on a dask.distributed cluster and write one zarr store.

What it shows
-------------
How sstfill scales out: the daily files are opened lazily as one dataset with
:func:`sstfill.xr.io.open_inputs` (a glob pattern, combined along time, one day per dask
chunk), ``ds.inpaint.fill(var=...)`` builds a lazy graph (each chunk is filled with a halo
from its neighbours, so the result does not depend on the chunking), and
:func:`sstfill.xr.io.write_atomic` computes it on the cluster's workers while writing a zarr
store that appears only once complete. The neural model is not shipped to the workers as
weights: it travels as its file path and each worker loads it once. Finally the script
prints the time taken and the pixels per fill flag.

By default it makes a small archive first (6 daily files of synthetic SST, 256 x 320
pixels, with holes cut by real cloud shapes, in a temporary directory) and runs a
``LocalCluster`` of 2 single-threaded worker processes.

Run it::

    python examples/fill_archive_distributed.py --out example-output

Adapt it to your own archive (quote the pattern so that the shell does not expand it)::

    python examples/fill_archive_distributed.py --input 'data/mur_2021-*.nc' --var analysed_sst \\
        --workers 8 --out filled/

On an HPC or cloud cluster replace the ``LocalCluster`` with your cluster (dask-jobqueue's
``SLURMCluster``, ``Client("tcp://scheduler:8786")``, ...): the workers must see the input
files, the model file and the output directory. For large grids chunk in space too, e.g.
``chunks={"time": 1, "lat": 1024, "lon": 1024}``. ``sstfill fill 'data/*.nc' out.zarr
--scheduler tcp://...`` does the same from the command line.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr
from dask.distributed import Client, LocalCluster

import sstfill  # noqa: F401  (registers the .inpaint accessor)
from sstfill.xr.io import open_inputs, write_atomic
from sstfill.testing import synthetic_sst


def make_archive(directory: Path, days: int = 6) -> str:
    """Write ``days`` daily netCDF files of cloudy synthetic SST; return their glob pattern.

    Each file carries a CF land mask (``standard_name = "land_binary_mask"``), as many L3
    products do; sstfill finds it and never fills land.
    """
    # in the open subtropical Atlantic, so that no real land lies under the synthetic grid
    sst = synthetic_sst(256, 320, nt=days, lat0=20.0, lon0=-50.0)
    land = sst.isel(time=0, drop=True).isnull().astype("int8")  # the synthetic coast and island
    land.attrs = {"standard_name": "land_binary_mask", "long_name": "land mask", "units": "1"}
    cloudy, _ = sst.inpaint.add_holes("clouds", fraction=0.4, seed=1)  # each day its own clouds
    for t in range(days):
        day = cloudy.isel(time=[t]).to_dataset().assign(land=land)
        day.to_netcdf(directory / f"sst_{np.datetime_as_string(day.time.values[0], unit='D')}.nc")
    return str(directory / "sst_*.nc")


def flag_counts(flag: xr.DataArray) -> dict[str, int]:
    """Pixels per flag meaning of a CF flag variable."""
    values = np.atleast_1d(flag.attrs["flag_values"])
    codes = flag.values
    return {meaning: int(np.sum(codes == value)) for value, meaning in zip(values, flag.attrs["flag_meanings"].split())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=None, metavar="GLOB", help="quoted pattern of daily netCDF files (default: a synthetic 6-day archive)")
    parser.add_argument("--days", type=int, default=6, help="days in the synthetic archive, without --input (default: %(default)s)")
    parser.add_argument("--var", default=None, help="variable to fill (default: the only floating-point field)")
    parser.add_argument("--model", default=None, help="model file (.npz) or 'laplace' (default: the bundled model)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster (default: %(default)s)")
    parser.add_argument("--out", default="example-output", help="directory for archive_filled.zarr (default: %(default)s)")
    args = parser.parse_args(argv)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pattern = args.input or make_archive(Path(tmp), args.days)
        # one thread per worker process: the model uses the cores; the dashboard (with bokeh
        # installed, at client.dashboard_link) gets a free port
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        with cluster, Client(cluster) as client:
            n_workers = len(client.scheduler_info()["workers"])
            print(f"dask cluster: {n_workers} worker process{'es' if n_workers != 1 else ''}, 1 thread each")
            t0 = time.perf_counter()
            ds = open_inputs([pattern], chunks={"time": 1})  # lazy: nothing read yet
            # lazy too; the model reaches the workers as its file path and each loads it once
            filled = ds.inpaint.fill(var=args.var, model=args.model)
            flag_name = next(v for v in filled.data_vars if v not in ds.data_vars)
            var = flag_name.removesuffix("_fill_flag")
            print(f"filling {var!r}: {dict(ds[var].sizes)} in {ds[var].data.npartitions} chunks")
            target = write_atomic(filled, out_dir / "archive_filled.zarr", overwrite=True)  # computed on the workers
            print(f"wrote {target} in {time.perf_counter() - t0:.1f} s")

            with xr.open_zarr(target) as result:
                counts = flag_counts(result[flag_name])
    total = sum(counts.values())
    print(f"pixels per {flag_name} value:")
    for meaning, n in counts.items():
        print(f"  {meaning:<11} {n:>9,} ({n / total:.1%})")
    return 0


if __name__ == "__main__":  # needed: the worker processes import this file
    raise SystemExit(main())
