#!/usr/bin/env python
"""Land versus persistent cloud on the real products: what ``land="auto"`` decides.

1. For each real series (MUR L4 0.01 and 0.1 deg, ERSST v5 2 deg), the land found from the
   first 2, 4, 16 and all steps against the product's own land (NaN on every step).
2. A 10-day MUR series with real SLSTR cloud shapes on every day, a 60-pixel disc of open
   sea and a 25-pixel fog band along the whole coast hidden on every day: how many of the
   never-observed sea pixels are taken for land, now and with the old rule ("missing at
   every step of 8 or more images is land").

    python benchmarks/land.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import ndimage

import sstfill  # noqa: F401  (registers .inpaint)
from sstfill.xr.grid import find_grid
from sstfill.xr.land import find_land

SERIES = [
    ("mur_l4_socal_2021-01.nc", "analysed_sst"),
    ("mur_l4_arabian_sea_2023-08_0.1deg.nc", "analysed_sst"),
    ("ersst_v5_monthly_2010-2020.nc", "sst"),
]


def verdict_by_length(shared: Path) -> None:
    print("| product | steps | product land | found | missed | sea taken for land | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, var in SERIES:
        da = xr.open_dataset(shared / name)[var]
        product_land = da.isnull().all("time").values
        for steps in sorted({min(s, da.sizes["time"]) for s in (2, 4, 16, da.sizes["time"])}):
            sub = da.isel(time=slice(0, steps))
            t0 = time.perf_counter()
            land = find_land(sub, find_grid(sub)).values
            seconds = time.perf_counter() - t0
            print(f"| {name} | {sub.sizes['time']} | {product_land.sum()} | {(land & product_land).sum()} | "
                  f"{(product_land & ~land).sum()} | {(land & ~product_land).sum()} | {seconds:.2f} |")


def persistent_clouds(shared: Path) -> None:
    da = xr.open_dataset(shared / "mur_l4_socal_2021-01.nc")["analysed_sst"].load()
    product_land = da.isnull().all("time").values
    land_da = xr.DataArray(product_land, dims=("lat", "lon"))
    gappy, hidden = da.inpaint.add_holes("clouds", fraction=0.5, seed=1, land=land_da)
    ny, nx = product_land.shape
    y, x = np.mgrid[0:ny, 0:nx]
    disc = (y - 200) ** 2 + (x - 150) ** 2 < 60**2
    fog = ndimage.binary_dilation(product_land, iterations=25) & ~product_land
    persistent = (disc | fog) & ~product_land
    gappy = gappy.where(~xr.DataArray(persistent, dims=("lat", "lon")))
    never_sea = (persistent | hidden.values.all(0)) & ~product_land
    land = find_land(gappy, find_grid(gappy)).values
    old = ~np.isfinite(gappy.values).any(0)  # the old rule, for 8 or more steps
    print(f"never-observed sea pixels: {never_sea.sum()}")
    print(f"taken for land now: {(land & never_sea).sum()} ({(land & never_sea).mean() / never_sea.mean():.1%}); "
          f"with the old rule: {(old & never_sea).sum()} ({(old & never_sea).mean() / never_sea.mean():.1%})")
    print(f"product land found: {(land & product_land).sum()} of {product_land.sum()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    verdict_by_length(args.shared)
    print()
    persistent_clouds(args.shared)


if __name__ == "__main__":
    main()
