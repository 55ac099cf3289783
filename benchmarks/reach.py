#!/usr/bin/env python
"""How far from the data a fill is worth more than a guess: the measurement behind ``max_distance="auto"``.

On held-out data only (``benchmarks/split.py``: the whole NW Mediterranean scene and the
southern rows of the NE Atlantic scene), real observed pixels are hidden in two ways:

* **edge**: a band of observed pixels along the real swath edge (where the observed region
  meets the outside of the swath's convex hull, land excluded) is hidden, ``--band`` px
  wide (narrowed until at least 30 % of the observed pixels remain), so the fill has to
  extend the swath outwards, as it does beyond every L2 swath edge;
* **clouds**: large real cloud shapes (masks of the held-out 128 px cloud library, scaled
  up ``--cloud-scale`` times) are placed on the observed area until ``--cloud-cover`` of
  it is hidden.

Each case is filled with ``max_distance=None`` (everything filled) by each model, and the
RMSE (degC) of the hidden pixels is given per bin of distance to the nearest remaining
observation, in pixels and in km (the grid's per-row spacing, :mod:`sstfill.xr.reach`).
The climatology-free guess to compare with is the **scene mean**: the mean of the
observed (remaining) pixels of the scene, the value a fill tends to far from all data
when no climatology or earlier image is used (a harmonic fill far from a boundary is an
average of it; a guess that used the truth of the hidden pixels would not be a guess).
The table also gives the **nearest observed value** for reference.

The default reach is the smallest distance (lower edge of a km bin, pooled over scenes,
cases and pixels) where the default model's RMSE reaches ``--ratio`` (0.95) of the scene
mean's RMSE over the same pixels.

    python benchmarks/reach.py --shared ../shared/data

writes ``docs/benchmarks/reach.json`` and, with ``benchmarks/render_reach.py``, ``docs/benchmarks/reach.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO))

import sstfill
from benchmarks import harness, render_reach, split
from benchmarks.cases import _library
from sstfill.kernels.reach import distance_to_observed
from sstfill.xr.grid import find_grid
from sstfill.xr.land import find_land
from sstfill.xr.reach import AUTO_REACH_KM, AUTO_REACH_PX, pixel_spacing_km, reach_mask

PX_BINS = (0, 4, 8, 16, 32, 48, 64, 96, 128, 160, 200, 300)
KM_BINS = (0, 4, 8, 16, 32, 48, 64, 96, 128, 160, 200, 300)
KELVIN = 273.15
#: Columns kept on either side of the observed ones of the NE Atlantic held-out rows (90 %
#: of them lie outside the swath: filling them all would triple the run's time).
CROP_MARGIN = 300


def heldout_scenes(shared: Path) -> dict[str, xr.DataArray]:
    """The held-out SLSTR images (degC, one image each)."""
    out = {}
    da = xr.open_dataset(shared / split.SLSTR_NW_MED_FILE)[split.SLSTR_VAR].isel(time=0)
    out["nw_med"] = (da - KELVIN).astype("float32").rename(split.SLSTR_VAR).load()
    da = xr.open_dataset(shared / split.SLSTR_NE_ATL_FILE)[split.SLSTR_VAR].isel(time=0)
    da = da.isel(lat=slice(split.ne_atl_split_row(da.sizes["lat"]), None))
    out["ne_atl_south"] = _around_data(
        (da - KELVIN).astype("float32").rename(split.SLSTR_VAR).load()
    )
    return out


def training_scenes(shared: Path) -> dict[str, xr.DataArray]:
    """The SLSTR images of the training parts (degC): the Norwegian Sea scene, the northern rows of the NE Atlantic one."""
    out = {}
    da = xr.open_dataset(shared / split.SLSTR_NORWEGIAN_FILE)[split.SLSTR_VAR].isel(time=0)
    out["norwegian_sea"] = _around_data((da - KELVIN).astype("float32").rename(split.SLSTR_VAR).load())
    da = xr.open_dataset(shared / split.SLSTR_NE_ATL_FILE)[split.SLSTR_VAR].isel(time=0)
    da = da.isel(lat=slice(0, split.ne_atl_split_row(da.sizes["lat"])))
    out["ne_atl_north"] = _around_data((da - KELVIN).astype("float32").rename(split.SLSTR_VAR).load())
    return out


def _around_data(da: xr.DataArray, margin: int = CROP_MARGIN) -> xr.DataArray:
    """The columns of ``da`` within ``margin`` px of its observed ones (the rest is far outside the swath)."""
    cols = np.flatnonzero(np.isfinite(da.values).any(axis=0))
    return da.isel(lon=slice(max(cols[0] - margin, 0), cols[-1] + 1 + margin))


def edge_band(
    observed: np.ndarray, land: np.ndarray, band: int
) -> tuple[np.ndarray, int]:
    """Observed pixels within ``band`` px of the outside of the swath (narrowed to keep 30 % observed)."""
    swath = split.swath_mask(observed)
    outside = ~swath & ~land
    dist = ndimage.distance_transform_edt(~outside)
    while band > 4:
        hidden = observed & (dist <= band)
        if hidden.sum() <= 0.7 * observed.sum():
            return hidden, band
        band = int(band * 0.8)
    return observed & (dist <= band), band


def cloud_cover(
    observed: np.ndarray, scale: int, cover: float, seed: int
) -> np.ndarray:
    """Large real cloud shapes (held-out library, scaled up) placed on observed pixels until ``cover`` of them is hidden."""
    masks, _, _ = _library("cloud_masks_heldout_128.npz")
    frac = masks.mean(axis=(1, 2))
    big = np.flatnonzero(frac > 0.6)
    rng = np.random.default_rng(seed)
    hidden = np.zeros_like(observed)
    ny, nx = observed.shape
    points = np.argwhere(observed)
    for _ in range(500):
        if hidden.sum() >= cover * observed.sum():
            break
        m = np.kron(masks[rng.choice(big)], np.ones((scale, scale), bool))
        cy, cx = points[rng.integers(len(points))]
        y0, x0 = cy - m.shape[0] // 2, cx - m.shape[1] // 2
        ys, xs = (
            slice(max(y0, 0), min(y0 + m.shape[0], ny)),
            slice(max(x0, 0), min(x0 + m.shape[1], nx)),
        )
        hidden[ys, xs] |= m[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
    return hidden & observed


def binned(
    err2: dict[str, np.ndarray], dist: np.ndarray, edges: tuple[float, ...]
) -> list[dict]:
    """Sum of squared errors and counts per distance bin (the last bin open-ended)."""
    rows = []
    for lo, hi in zip(edges, list(edges[1:]) + [np.inf]):
        sel = (dist > lo) & (dist <= hi)
        rows.append(
            {
                "lo": lo,
                "hi": None if np.isinf(hi) else hi,
                "n": int(sel.sum()),
                **{k: float(v[sel].sum()) for k, v in err2.items()},
            }
        )
    return rows


def run_case(
    scene: str,
    kind: str,
    truth: xr.DataArray,
    hidden: np.ndarray,
    models: list[harness.ModelSpec],
    log,
) -> dict:
    gappy = truth.where(~xr.DataArray(hidden, dims=truth.dims, coords=truth.coords))
    remaining = np.isfinite(gappy.values)
    grid = find_grid(gappy)
    dy, dx = pixel_spacing_km(gappy, grid)
    d_px = distance_to_observed(remaining)[hidden]
    d_km = distance_to_observed(remaining, (dy, dx))[hidden]
    t = truth.values[hidden].astype("float64")
    scene_mean = float(np.nanmean(gappy.values))
    _, index = ndimage.distance_transform_edt(~remaining, return_indices=True)
    nearest = gappy.values[index[0], index[1]][hidden].astype("float64")
    err2 = {"scene_mean": (scene_mean - t) ** 2, "nearest": (nearest - t) ** 2}
    seconds = {}
    for spec in models:
        t0 = time.perf_counter()
        filled = gappy.inpaint.fill(
            spec.fill_argument(), precision=spec.precision, max_distance=None
        )
        seconds[spec.label] = time.perf_counter() - t0
        f = filled.values[hidden].astype("float64")
        err2[spec.label] = np.where(np.isfinite(f), (f - t) ** 2, np.nan)
        log(
            f"{scene} {kind} {spec.label}: {seconds[spec.label]:.1f} s, RMSE {np.sqrt(np.nanmean(err2[spec.label])):.3f} degC"
        )
    return {
        "scene": scene,
        "kind": kind,
        "hidden": int(hidden.sum()),
        "remaining_observed": int(remaining.sum()),
        "scene_mean": scene_mean,
        "median_spacing_km": [float(np.median(dy)), float(np.median(dx))],
        "seconds": seconds,
        "px": binned(err2, d_px, PX_BINS),
        "km": binned(err2, d_km, KM_BINS),
    }


def pooled(cases: list[dict], unit: str, labels: list[str]) -> list[dict]:
    """Bins summed over cases: n and RMSE per method."""
    out = []
    for i, first in enumerate(cases[0][unit]):
        n = sum(c[unit][i]["n"] for c in cases)
        row = {"lo": first["lo"], "hi": first["hi"], "n": n}
        for k in labels:
            s = sum(c[unit][i][k] for c in cases)
            row[k] = float(np.sqrt(s / n)) if n else None
        out.append(row)
    return out


def tails(cases: list[dict], unit: str, labels: list[str]) -> list[dict]:
    """RMSE of every hidden pixel farther than each bin's lower edge (all cases pooled)."""
    out = []
    for i, first in enumerate(cases[0][unit]):
        rest = [c[unit][j] for c in cases for j in range(i, len(c[unit]))]
        n = sum(r["n"] for r in rest)
        out.append(
            {
                "beyond": first["lo"],
                "n": n,
                **{
                    k: float(np.sqrt(sum(r[k] for r in rest) / n)) if n else None
                    for k in labels
                },
            }
        )
    return out


def choose_reach(
    rows: list[dict], label: str, ratio: float, min_pixels: int
) -> float | None:
    """The first distance beyond which ``label``'s RMSE (over >= ``min_pixels``) is at least ``ratio`` x the scene mean's."""
    for row in rows:
        if (
            row["n"] >= min_pixels
            and row[label] is not None
            and row[label] >= ratio * row["scene_mean"]
        ):
            return float(row["beyond"])
    return None


def l2_scenes_beyond(
    shared: Path, reach: str, fill_model: str | None, log
) -> list[dict]:
    """Pixels of each full L2 scene beyond the default reach, and what the default fill does with them."""
    out = []
    for name, file in (
        ("norwegian_sea", split.SLSTR_NORWEGIAN_FILE),
        ("ne_atl", split.SLSTR_NE_ATL_FILE),
        ("nw_med", split.SLSTR_NW_MED_FILE),
    ):
        da = xr.open_dataset(shared / file)[split.SLSTR_VAR].isel(time=0).load()
        t0 = time.perf_counter()
        grid = find_grid(da)
        land = find_land(da, grid, "auto").values  # as fill finds it
        beyond = reach_mask(da, grid, reach, land).values
        observed = np.isfinite(da.values)
        far = (distance_to_observed(observed) > 300) & ~land
        row = {
            "scene": name,
            "shape": list(da.shape),
            "pixels": int(da.size),
            "observed": int(observed.sum()),
            "land": int(land.sum()),
            "gaps": int((~observed & ~land).sum()),
            "beyond_reach": int(beyond.sum()),
            "gaps_beyond_300px": int(far.sum()),
            "gaps_beyond_300px_beyond_reach": int((far & beyond).sum()),
            "mask_seconds": time.perf_counter() - t0,
        }
        if fill_model is not None:
            t0 = time.perf_counter()
            filled = da.inpaint.fill(
                fill_model, max_distance=reach
            )
            flag = filled[f"{da.name}_fill_flag"].values
            row.update(
                fill_seconds=time.perf_counter() - t0,
                flags={
                    k: int((flag == v).sum())
                    for v, k in sstfill.xr.cf.FILL_FLAGS.items()
                },
                beyond_all_nan=bool(np.isnan(filled.values[beyond]).all()),
                beyond_all_flag4=bool((flag[beyond] == 4).all()),
                flag4_is_beyond=bool(((flag == 4) == beyond).all()),
                observed_bit_for_bit=bool(
                    np.array_equal(
                        filled.values[np.isfinite(da.values)],
                        da.values[np.isfinite(da.values)],
                    )
                ),
            )
        log(f"L2 {name}: {row}")
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, default=split.DEFAULT_SHARED)
    p.add_argument(
        "--models",
        nargs="+",
        default=["default", "laplace"],
        help="LABEL=SPEC[@precision] (benchmarks/harness.py); the first sets the default",
    )
    p.add_argument("--band", type=int, default=200)
    p.add_argument("--cloud-scale", type=int, default=2)
    p.add_argument("--cloud-cover", type=float, default=0.5)
    p.add_argument(
        "--ratio",
        type=float,
        default=0.95,
        help="'approaches': the fill's RMSE beyond the reach is at least this x the guess's",
    )
    p.add_argument(
        "--min-pixels",
        type=int,
        default=500,
        help="hidden pixels beyond a distance needed to decide there",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--l2-fill",
        default="default",
        help="model of the L2 check ('none': count only)",
    )
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    models = [harness.parse_model_spec(s) for s in args.models]
    log = harness.log_to_stderr
    cases = []
    for scene, truth in heldout_scenes(args.shared).items():
        observed = np.isfinite(truth.values)
        land = split.land_mask(truth.lat.values, truth.lon.values)
        hidden, band = edge_band(observed & ~land, land, args.band)
        cases.append(
            run_case(scene, "edge", truth, hidden, models, log) | {"band_px": band}
        )
        hidden = cloud_cover(
            observed & ~land, args.cloud_scale, args.cloud_cover, args.seed
        )
        cases.append(run_case(scene, "clouds", truth, hidden, models, log))
    labels = [m.label for m in models]
    result = {
        "command": harness.command_line(
            "reach.py", sys.argv[1:] if argv is None else argv
        ),
        "args": {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
        },
    }
    result["labels"] = labels
    result["cases"] = cases
    result["pooled"] = {
        u: pooled(cases, u, [*labels, "scene_mean", "nearest"]) for u in ("km", "px")
    }
    result["tails"] = {
        u: tails(cases, u, [*labels, "scene_mean", "nearest"]) for u in ("km", "px")
    }
    result["choice"] = {
        "ratio": args.ratio,
        "min_pixels": args.min_pixels,
        "measured_km": choose_reach(
            result["tails"]["km"], labels[0], args.ratio, args.min_pixels
        ),
        "measured_px": choose_reach(
            result["tails"]["px"], labels[0], args.ratio, args.min_pixels
        ),
        "auto_reach_km": AUTO_REACH_KM,
        "auto_reach_px": AUTO_REACH_PX,
    }
    log(f"choice: {result['choice']}")
    result["l2"] = l2_scenes_beyond(
        args.shared, "auto", None if args.l2_fill == "none" else args.l2_fill, log
    )
    result["run"] = {
        "environment": harness.environment(),
        "git": harness.git_state(),
        "utc": harness.utc_timestamp(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    harness.write_json(args.out / "reach.json", result)
    (args.out / "reach.md").write_text(render_reach.render(result))
    log(f"wrote {args.out / 'reach.json'} and reach.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
