#!/usr/bin/env python
"""Fill the cloud gaps of one L3/L2 SST file and write the result with its flag variable.

What it shows
-------------
The everyday use of sstfill: open a netCDF file with xarray, fill the gaps of one
variable with the bundled model ``fill()`` picks (``ds.inpaint.fill(var=...)``: the default
model for a single image, the context model for a daily series), write the
filled dataset to netCDF, read the ``<var>_fill_flag`` variable back through its CF
``flag_values``/``flag_meanings`` attributes to count the pixels per flag, and draw a
quick-look figure with :func:`sstfill.plot.quicklook` (the input, the fill, its
standard error and the flags).

By default it runs on the bundled Sentinel-3 SLSTR L2 crop south-west of Brittany
(``sample_slstr_ne_atl_south.nc``, 2023-04-20), where real clouds hide about two thirds
of the sea. There is no truth under real clouds, so the figure shows the input, the
fill and the flags (see ``evaluate_report_holes.py`` for scores against a truth).

Run it::

    python examples/fill_l3_file.py --out example-output

Adapt it to your own files::

    python examples/fill_l3_file.py --input my_l3s_20210115.nc --var sea_surface_temperature \\
        --out filled/

``--var`` can be left out when the file has a single floating-point field. Land comes
from a CF land or flag variable of the file when there is one, else from the bundled 1 km
land mask; ``--model laplace`` or ``--model my_model.npz`` replace the bundled model.
Files too large for memory: open them with ``xr.open_dataset(path, chunks={"time": 1})``
and the same code runs lazily with dask (see ``fill_archive_distributed.py``).
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

import sstfill  # noqa: E402,F401  (registers the .inpaint accessor)
import sstfill.plot  # noqa: E402
from sstfill.xr.io import write_atomic  # noqa: E402

SAMPLE = resources.files("sstfill") / "data" / "sample_slstr_ne_atl_south.nc"


def flag_shares(flag: xr.DataArray) -> dict[str, float]:
    """Share of the pixels per flag meaning, read from the CF flag attributes."""
    values = np.atleast_1d(flag.attrs["flag_values"])
    meanings = flag.attrs["flag_meanings"].split()
    codes = flag.values
    return {meaning: float(np.mean(codes == value)) for value, meaning in zip(values, meanings)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=str(SAMPLE), help="netCDF file to fill (default: the bundled SLSTR L2 sample with real clouds)")
    parser.add_argument("--var", default=None, help="variable to fill (default: the file's only floating-point field)")
    parser.add_argument("--model", default=None, help="model file (.npz) or 'laplace' (default: the bundled model)")
    parser.add_argument("--out", default="example-output", help="directory for the filled netCDF and the PNG (default: %(default)s)")
    args = parser.parse_args(argv)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    with xr.open_dataset(args.input) as ds:
        filled = ds.inpaint.fill(var=args.var, model=args.model)  # numpy-backed: computed here
        flag_name = next(v for v in filled.data_vars if v not in ds.data_vars)  # "<var>_fill_flag"
        var = flag_name.removesuffix("_fill_flag")
        nc_path = write_atomic(filled, out_dir / f"{Path(args.input).stem}_filled.nc", overwrite=True)
        gappy = ds[var].load()
    print(f"filled {var!r} of {args.input} in {time.perf_counter() - t0:.1f} s")
    print(f"wrote {nc_path}")

    # read the flag back from the file, as a user of the output would
    with xr.open_dataset(nc_path) as result:
        shares = flag_shares(result[flag_name])
        print(f"pixels per value of {flag_name}:")
        for meaning, share in shares.items():
            print(f"  {meaning:<11} {share:7.1%}")
        # the filled Dataset: its variable, with the flag and the standard error beside it
        fig = sstfill.plot.quicklook(gappy, result.load())
    png_path = out_dir / f"{Path(args.input).stem}_quicklook.png"
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    print(f"wrote {png_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
