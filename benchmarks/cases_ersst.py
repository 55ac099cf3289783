"""A series none of the bundled models has seen: ERSST v5, global, 2 degrees, monthly (issue 16).

The MUR series of ``benchmarks/cases_extra.py`` are regions the bundled models were
trained on (only their held-out days are new), so adapting to them can teach a model
little. ERSST v5 (``ersst_v5_monthly_2010-2020.nc`` of the shared data: 128 months,
89 x 180, degC) is in no model's training data: another product (a reconstruction from
in-situ data), another scale (2 degrees: a 64 px tile spans 128 degrees of longitude),
a global grid with a periodic longitude and both poles. It is the archive "from a region
and product the models never saw" that ``benchmarks/adapt.py`` needs.

Clouds: the held-out real cloud masks of the accuracy benchmark (``_pick_mask``), two per
month (the western and eastern half of the globe, 89 x 90 each), their target cover
cycling through the benchmark's bins, so every month has gaps (what an adapted model
learns from) and its own hidden pixels. Scored months: every eighth month
(``HELDOUT_EVERY``), 16 in all, spread over the eleven years; their hidden pixels are
never seen by any method. A whole-globe series is one unit (one input every method fills
once), so a model sees the globe with its periodic longitude, as a user's fill would.

    python benchmarks/cases_ersst.py --shared ../shared/data   # a summary
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO))

from benchmarks.cases import FRACTION_BINS, Case, Stack, _pick_mask, _rng, _shared  # noqa: E402
from benchmarks.cases_extra import Unit  # noqa: E402

__all__ = ["ERSST_FILE", "HELDOUT_EVERY", "ersst_series"]

ERSST_FILE = "ersst_v5_monthly_2010-2020.nc"
#: One month in this many is scored (months 7, 15, ...); the others only carry clouds.
HELDOUT_EVERY = 8
_REGION_ID = 7  # the random streams' id for this region (MUR regions use 0 and 1)


def ersst_series(shared, seed: int = 0) -> tuple[Stack, Unit]:
    """The ERSST series with transplanted real clouds on every month: its stack and its one unit.

    The unit holds the whole globe as the file has it (``lon`` 0..358 degrees east: a
    periodic x axis; ``lat`` from north to south).
    """
    import xarray as xr

    path = _shared(shared) / ERSST_FILE
    with xr.open_dataset(path) as ds:
        sst = ds["sst"].values.astype(np.float32)
        times, lat, lon = ds["time"].values, ds["lat"].values.astype("float64"), ds["lon"].values.astype("float64")
    sst[~np.isfinite(sst) | (np.abs(sst) > 100)] = np.nan  # the file's missing_value, whatever the decoding
    nt, ny, nx = sst.shape
    land = np.isnan(sst).all(0)
    held = tuple(t for t in range(nt) if t % HELDOUT_EVERY == HELDOUT_EVERY - 1)
    hidden = np.zeros(sst.shape, bool)
    half = nx // 2
    used: set = set()
    infos: dict = {}
    for t in range(nt):
        for k, c0 in enumerate((0, half)):
            blk = (slice(0, ny), slice(c0, c0 + half))
            target = FRACTION_BINS[(2 * t + k) % len(FRACTION_BINS)]
            mask, info = _pick_mask((ny, half), ~land[blk], target, _rng(seed, _REGION_ID, t, 0, c0),
                                    used=used if t in held else set(used))
            hidden[(t,) + blk] = mask & ~land[blk]
            infos[t, k] = info
    observed_input = sst.copy()
    observed_input[hidden] = np.nan
    score = hidden.copy()
    score[[t for t in range(nt) if t not in held]] = False
    stack = Stack(name="ersst", file=ERSST_FILE, time=times, lat=lat, lon=lon, truth=sst, land=land, hidden=hidden,
                  observed_input=observed_input, heldout_steps=held, score_mask=score)
    unit = Unit(name="series_ersst_global", set="ersst_series", source="ersst_v5", region="ersst", observed_input=observed_input,
                truth=sst, land=land, lat=lat, lon=lon, time=np.asarray(times),
                stack_ref={"stack": "ersst", "rows": (0, ny), "cols": (0, nx)})
    for t in held:
        day = str(np.datetime_as_string(times[t], unit="D"))
        ocean = int((~land).sum())
        unit.cases.append(Case(
            name=f"ersst_{day[:7]}", source="ersst_v5", region="ersst", time=day, truth=sst[t], land=land, hidden=hidden[t],
            observed_input=observed_input[t], cloud_fraction=float(hidden[t].sum() / ocean), lat=lat, lon=lon, row0=0, col0=0,
            target_bin=(0.0, 1.0), gap_fraction=float(hidden[t].sum() / ocean), mask_info=f"{infos[t, 0]}; {infos[t, 1]}",
            stack_index={"stack": "ersst", "file": ERSST_FILE, "t": t, "heldout_steps": held, "rows": (0, ny), "cols": (0, nx)},
            set="ersst_series", tags={"t": t, "days": nt},
        ))
    stack.case_names = [c.name for c in unit.cases]
    return stack, unit


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    stack, unit = ersst_series(args.shared, args.seed)
    ocean = (~stack.land).sum()
    print(f"ERSST: {stack.truth.shape} steps x lat x lon, land {stack.land.mean():.1%}, "
          f"hidden {stack.hidden.sum() / (ocean * len(stack.time)):.1%} of the ocean over all months")
    print(f"scored months: {len(unit.cases)}, hidden pixels scored {int(stack.score_mask.sum())}")
    for c in unit.cases:
        print(f"  {c.name}: {c.cloud_fraction:.1%} hidden")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
