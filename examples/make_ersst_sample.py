#!/usr/bin/env python
"""Cut the bundled ERSST v5 sample (``sstfill/data/sample_ersst_pacific.nc``) from the shared data.

A real multi-year monthly series for the tests of filling as anomalies from a monthly
climatology (:mod:`sstfill.xr.climatology`): NOAA ERSST v5 (public domain), the Pacific
from 64S to 62N and 150E to 72W (2 degrees: 64 x 70 cells, so a model's 64x64 tiles fit),
January 2010 to December 2013, packed to 0.01 degC, land NaN. The analysis has no gaps
over the ocean; the tests hide real pixels under clouds.

Usage (from the repository root)::

    python examples/make_ersst_sample.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
SOURCE = "ersst_v5_monthly_2010-2020.nc"
NAME = "sample_ersst_pacific.nc"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "sstfill" / "data")
    args = ap.parse_args(argv)
    src = xr.open_dataset(args.shared / SOURCE)
    crop = src[["sst"]].sel(time=slice("2010-01-01", "2013-12-31"), lat=slice(62, -64), lon=slice(150, 288)).load()
    crop["sst"].attrs = {k: v for k, v in src["sst"].attrs.items() if k in ("long_name", "units", "standard_name")}
    crop["sst"].attrs.setdefault("standard_name", "sea_surface_temperature")
    crop.attrs = {
        "title": "NOAA ERSST v5, Pacific crop, 2010-2013 (sstfill sample)",
        "source": f"NOAA Extended Reconstructed SST v5 ({SOURCE} of the shared data)",
        "license": src.attrs.get("license", "public domain"),
        "references": "Huang et al. (2017), J. Climate 30, 8179-8205, doi:10.1175/JCLI-D-16-0836.1",
        "comment": "Real crop for sstfill's tests of monthly-climatology fills; land NaN; cut by examples/make_ersst_sample.py.",
    }
    encoding = {"sst": {"zlib": True, "complevel": 9, "dtype": "int16", "scale_factor": 0.01, "_FillValue": np.int16(-32768)}}
    path = args.out / NAME
    crop.to_netcdf(path, encoding=encoding)
    v = crop["sst"].values
    print(f"{path}: {v.shape}, {path.stat().st_size / 1024:.0f} KiB, land {np.isnan(v).all(axis=0).mean():.2f}, "
          f"lat {float(crop.lat.min()):.0f}..{float(crop.lat.max()):.0f}, lon {float(crop.lon.min()):.0f}..{float(crop.lon.max()):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
