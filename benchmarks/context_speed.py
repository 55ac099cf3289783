"""Fill speed of the bundled models with and without context, in one run, as ratios (issue 14).

Fills one real SLSTR L2 crop (real clouds; 512 x 1024 pixels of the Norwegian Sea scene) and
a MUR series crop (10 days, so the context model gets its neighbouring days) with the
bundled ``default``, ``context`` and ``fast`` models, round-robin, and reports output tiles
(64 x 64 pixels of the field) per second and the time relative to the default model.

    python benchmarks/context_speed.py --shared ../shared/data --repeats 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import xarray as xr

import sstfill  # noqa: F401  (registers the accessor)

MODELS = ("default", "context", "fast")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    a = p.parse_args()
    scene = xr.open_dataset(a.shared / "slstr_l2_norwegian_sea.nc")
    l2 = scene[list(scene.data_vars)[0]].isel(time=0, lat=slice(200, 712), lon=slice(1500, 2524)).load()
    mur = xr.open_dataset(a.shared / "mur_l4_socal_2021-01.nc")["analysed_sst"].isel(lat=slice(0, 256), lon=slice(0, 384)).load()
    gappy_mur, _ = mur.inpaint.add_holes("clouds", fraction=0.4, seed=0, land=mur.isnull().all("time"))
    fields = {"slstr_l2_crop": (l2, None), "mur_series_10d": (gappy_mur, mur.isnull().all("time"))}
    times: dict[str, dict[str, list[float]]] = {f: {m: [] for m in MODELS} for f in fields}
    for _ in range(a.repeats):
        for fname, (da, land) in fields.items():
            for m in MODELS:
                t0 = time.perf_counter()
                da.inpaint.fill(m, land="auto" if land is None else land, max_distance=None).values
                times[fname][m].append(time.perf_counter() - t0)
    result = {"torch_threads": torch.get_num_threads(), "fields": {}}
    for fname, (da, _) in fields.items():
        tiles = da.size / 4096
        best = {m: min(v) for m, v in times[fname].items()}
        result["fields"][fname] = {m: {"seconds_min": best[m], "output_tiles_per_s": tiles / best[m], "time_vs_default": best[m] / best["default"]} for m in MODELS}
    print(json.dumps(result, indent=1))
    if a.out:
        a.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
