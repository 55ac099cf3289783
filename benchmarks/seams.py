#!/usr/bin/env python
"""Seam scores of real L2 fills: do filled clouds show the tile (or chunk) lattice?

Each real SLSTR L2 scene of ``--shared`` (Norwegian Sea, NE Atlantic, NW Mediterranean) is
filled with the bundled default model through ``da.inpaint.fill``; land
(``global_land_mask``) and everything outside the swath (convex hull of the observed pixels,
as in ``benchmarks/split.py``) are passed as land, so only the clouds inside the swath are
filled. Each scene is cropped to the bounding box of its swath (``--crop`` to a central
window instead: a quicker run). For each scene the seam score
(:func:`sstfill.evaluation.seams.seam_score`: peak over median of the mean |difference| by
position modulo the stride) is given for the filled pixels and, for reference, the observed
ones, along y and x, for strides 32, 48 and 64 and for the dask chunk size: the same fill on
dask input in ``--chunks`` x ``--chunks`` chunks is scored at the chunk stride.

    python benchmarks/seams.py --shared ../shared/data --out docs/benchmarks

The MUR daily series of the accuracy benchmark are scored too (``--series-models``,
lattice-locked, for ``fill()``'s own choice and the default model).

Options ``--overlap`` (repeatable) compare tile overlaps; ``--plain-blend`` adds the tiles'
plain weighted blend (``fill(stitch=False)``, the blend before 2026-12-07: the ablation of
the stitching); ``--fraction-floor 0`` measures the blending rule before issue 14 (no floor
on a tile's observed-fraction factor). Torch runs
with ``--threads`` threads (default 2). A full run takes about 5 minutes on 2 quiet cores
(20 on a machine shared with other jobs); ``--crop 1024`` is quicker.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
if (
    str(REPO) not in sys.path
):  # run as a script: make `benchmarks` and `sstfill` importable
    sys.path.insert(0, str(REPO))

from benchmarks import harness, split
from sstfill.evaluation.seams import MIN_COUNT, SEAM_STRIDES, gradient_by_phase, seam_scores
from sstfill.kernels import tiling

SCENES = ("slstr_l2_norwegian_sea.nc", "slstr_l2_ne_atl.nc", "slstr_l2_nw_med.nc")


def load_scene(
    shared: Path, name: str, crop: int | None = None
) -> tuple[xr.DataArray, xr.DataArray, tuple[int, int]]:
    """One scene's SST (degC, 2-D), its not-to-fill mask (land or outside the swath), and its crop origin."""
    ds = xr.open_dataset(shared / name)
    sst = ds[split.SLSTR_VAR].isel(time=0).load() - 273.15
    valid = np.isfinite(sst.values)
    keep = ~split.land_mask(sst["lat"].values, sst["lon"].values) & split.swath_mask(
        valid
    )
    rows, cols = np.flatnonzero(keep.any(1)), np.flatnonzero(keep.any(0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if crop:
        cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
        y0, y1 = max(y0, cy - crop // 2), min(y1, cy - crop // 2 + crop)
        x0, x1 = max(x0, cx - crop // 2), min(x1, cx - crop // 2 + crop)
    box = {"lat": slice(y0, y1), "lon": slice(x0, x1)}
    no_fill = xr.DataArray(~keep, dims=("lat", "lon"), coords=sst.coords).isel(box)
    return sst.isel(box).rename("sst"), no_fill, (int(y0), int(x0))


def score_fill(
    sst: xr.DataArray,
    no_fill: xr.DataArray,
    strides: tuple[int, ...],
    chunks: int | None = None,
    model: str | None = None,
    **fill_kwargs: Any,
) -> dict[str, Any]:
    """Fill (numpy, or dask in ``chunks``) and score the filled and observed pixels.

    Scores are on the crop's own index: the fill's tile lattice is anchored at the crop's
    index 0, so the crop offset is 0 here.
    """
    data = sst.chunk({"lat": chunks, "lon": chunks}) if chunks else sst
    t0 = time.perf_counter()
    filled = data.inpaint.fill(model, land=no_fill, **fill_kwargs).values
    seconds = time.perf_counter() - t0
    observed = np.isfinite(sst.values)
    gaps = ~observed & ~no_fill.values
    out = {
        "seconds": seconds,
        "output_tiles_per_s": sst.size / 4096 / seconds,
        "filled_pixels": int((gaps & np.isfinite(filled)).sum()),
        "filled": seam_scores(filled, gaps, strides),
        "observed": seam_scores(filled, observed, strides),
        "_filled": filled,  # dropped before the record is written
    }
    return out


def _continued(coord: np.ndarray, before: int) -> np.ndarray:
    """``coord`` (1-D, evenly spaced) with ``before`` more values in front, at its own spacing."""
    step = coord[1] - coord[0]
    return np.concatenate([coord[0] - step * np.arange(before, 0, -1), coord])


def lattice_scores(
    sst: xr.DataArray,
    no_fill: xr.DataArray,
    strides: tuple[int, ...],
    shifts: tuple[int, ...],
    model: str | None = None,
    **fill_kwargs: Any,
) -> dict[str, float]:
    """Seam scores of the part of the pattern that moves with the tile lattice.

    The plain score also sees the scene's own pattern: which rows and columns hold the
    filled pixels, and the structure of the SST there, modulo the stride. Here the scene is
    filled once per shift, with ``shift`` empty rows and columns put before it (the lattice
    moves by ``shift`` against the data), and the mean |difference| by position modulo the
    stride is taken in the lattice's frame and pooled over the shifts: a pattern of the
    data is spread over the phases, one of the lattice stays where it is.
    """
    gaps = np.isnan(sst.values) & ~no_fill.values  # no_fill (lat, lon) broadcasts over a time axis
    sums = {(st, ax): np.zeros(st) for st in strides for ax in (-2, -1)}
    counts = {(st, ax): np.zeros(st) for st in strides for ax in (-2, -1)}
    for shift in shifts:
        padded = sst.pad(lat=(shift, 0), lon=(shift, 0))  # the coordinates continued at the grid's own spacing: a real grid, in km
        padded = padded.assign_coords(lat=_continued(sst["lat"].values, shift), lon=_continued(sst["lon"].values, shift))
        mask = xr.DataArray(np.pad(no_fill.values, ((shift, 0), (shift, 0)), constant_values=True), dims=("lat", "lon"),
                            coords={"lat": padded["lat"], "lon": padded["lon"]})
        filled = padded.inpaint.fill(model, land=mask, error=False, **fill_kwargs).values[..., shift:, shift:]
        for st in strides:
            for ax in (-2, -1):
                mean, count = gradient_by_phase(filled, gaps, st, ax, offset=shift)
                sums[(st, ax)] += np.nan_to_num(mean) * count
                counts[(st, ax)] += count
    out: dict[str, float] = {}
    for st in strides:
        for name, ax in (("y", -2), ("x", -1)):
            count = counts[(st, ax)]
            enough = count >= MIN_COUNT * len(shifts)
            mean = sums[(st, ax)][enough] / count[enough]
            out[f"{name}{st}"] = float(mean.max() / np.median(mean)) if 2 * enough.sum() >= st else float("nan")
    finite = [v for v in out.values() if np.isfinite(v)]
    out["max"] = max(finite) if finite else float("nan")
    return out


def series_rows(shared: Path, models: list[str], shifts: tuple[int, ...]) -> list[dict[str, Any]]:
    """Lattice-locked seam scores of the MUR stacks of the accuracy benchmark, filled as daily series.

    Each stack (``benchmarks/cases.py``: real clouds transplanted on every day, cut per
    128-pixel window) is filled whole with each model (``max_distance=None``; "auto" is
    what ``fill()`` without a model uses: the context model on these daily series) and
    scored on its hidden pixels; the observed pixels' plain score is given for reference.
    """
    from benchmarks.cases import load_heldout_stacks

    rows = []
    for name, stack in load_heldout_stacks(shared).items():
        sst = xr.DataArray(stack.observed_input, dims=("time", "lat", "lon"), coords={"time": stack.time, "lat": stack.lat, "lon": stack.lon}, name="sst",
                           attrs={"units": "degC"})
        no_fill = xr.DataArray(stack.land, dims=("lat", "lon"))
        observed = seam_scores(stack.truth, np.isfinite(stack.observed_input), SEAM_STRIDES)
        for model in models:
            t0 = time.perf_counter()
            locked = lattice_scores(sst, no_fill, SEAM_STRIDES, shifts, model=None if model == "auto" else model, max_distance=None)
            rows.append({"stack": name, "shape": list(sst.shape), "model": model, "lattice": locked, "observed": observed,
                         "seconds": time.perf_counter() - t0})
            harness.log_to_stderr(name, model, f"lattice-locked max {locked['max']:.3f}")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=split.DEFAULT_SHARED)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for seams.md and seams.json (default: print only)",
    )
    p.add_argument("--scenes", default=",".join(SCENES))
    p.add_argument(
        "--crop",
        type=int,
        default=None,
        help="central window of this size instead of the whole swath",
    )
    p.add_argument(
        "--chunks",
        type=int,
        default=500,
        help="dask chunk size for the chunked fill (0: skip it)",
    )
    p.add_argument(
        "--overlap",
        type=int,
        action="append",
        default=None,
        help="tile overlap(s) to compare (default: fill's default)",
    )
    p.add_argument(
        "--shifts",
        default="0,16,32,48",
        help="lattice shifts (pixels) for the lattice-locked score (empty: skip it)",
    )
    p.add_argument("--model", default=None, help="model to fill with: a bundled name or a model file (default: the bundled default)")
    p.add_argument("--series-models", default="auto,default", help="models for the lattice-locked scores of the MUR daily series "
                   "('auto': what fill() uses there; empty: skip them)")
    p.add_argument("--series-only", action="store_true", help="only the daily series' rows, put into the seams.json already in --out "
                   "(its scenes' rows kept as they were measured)")
    p.add_argument("--plain-blend", action="store_true", help="also score the tiles' plain weighted blend (fill(stitch=False)), "
                   "the ablation of the stitching")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--fraction-floor",
        type=float,
        default=None,
        help="override tiling.FRACTION_FLOOR (0: the rule before issue 14)",
    )
    args = p.parse_args(argv)
    if args.fraction_floor is not None:
        tiling.FRACTION_FLOOR = args.fraction_floor
    import torch

    torch.set_num_threads(args.threads)
    variants = [{}] if not args.overlap else [{"overlap": o} for o in args.overlap]
    if args.plain_blend:
        variants += [{**kw, "stitch": False} for kw in variants]
    record: dict[str, Any] = {
        "command": harness.command_line(
            "seams.py", argv if argv is not None else sys.argv[1:]
        ),
        "environment": harness.environment(),
        "torch_threads": harness.torch_threads(),
        "timestamp": harness.utc_timestamp(),
        "strides": list(SEAM_STRIDES),
        "chunks": args.chunks,
        "fraction_floor": tiling.FRACTION_FLOOR,
        "crop": args.crop,
        "model": args.model or "default",
        "rows": [],
    }
    if args.series_only:
        return _series_only(args, record)
    for name in args.scenes.split(","):
        sst, no_fill, origin = load_scene(args.shared, name, args.crop)
        for kw in variants:
            label = ", ".join(f"{k}={v}" for k, v in kw.items()) or "default"
            row: dict[str, Any] = {
                "scene": name,
                "variant": label,
                "shape": list(sst.shape),
                "origin": list(origin),
            }
            row["numpy"] = score_fill(sst, no_fill, SEAM_STRIDES, model=args.model, **kw)
            if args.shifts:
                shifts = tuple(int(v) for v in args.shifts.split(","))
                row["lattice"] = lattice_scores(sst, no_fill, SEAM_STRIDES, shifts, model=args.model, **kw)
                row["lattice_shifts"] = list(shifts)
            unchunked = row["numpy"].pop("_filled")
            if args.chunks:
                row["dask"] = score_fill(
                    sst,
                    no_fill,
                    SEAM_STRIDES + (args.chunks,),
                    chunks=args.chunks,
                    model=args.model,
                    **kw,
                )
                chunked = row["dask"].pop("_filled")
                same = np.isfinite(chunked) == np.isfinite(unchunked)
                diff = np.abs(chunked - unchunked)[
                    np.isfinite(chunked) & np.isfinite(unchunked)
                ]
                row["dask"]["max_abs_diff_vs_numpy"] = (
                    float(diff.max()) if diff.size else 0.0
                )
                row["dask"]["same_pixels_filled"] = bool(same.all())
            record["rows"].append(row)
            harness.log_to_stderr(
                name,
                label,
                f"filled max {row['numpy']['filled']['max']:.3f}",
                f"observed max {row['numpy']['observed']['max']:.3f}",
                f"{row['numpy']['seconds']:.1f} s",
            )
    if args.series_models and args.shifts:
        _add_series(record, args)
    _publish(record, args.out)
    return 0


def _add_series(record: dict[str, Any], args: argparse.Namespace) -> None:
    shifts = tuple(int(v) for v in args.shifts.split(","))
    record["series"] = series_rows(args.shared, args.series_models.split(","), shifts)
    record["series_shifts"] = list(shifts)


def _publish(record: dict[str, Any], out: Path | None) -> None:
    """Print the page of ``record``; with ``out``, write it and the record there."""
    text = "\n".join(render(record))
    print(text)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        harness.write_json(out / "seams.json", record)
        (out / "seams.md").write_text(text + "\n")


def _series_only(args: argparse.Namespace, record: dict[str, Any]) -> int:
    """``--series-only``: rerun the daily series' rows into the ``seams.json`` of ``--out``, its scenes' rows kept."""
    if not args.out or not args.shifts or not (args.out / "seams.json").exists():
        raise SystemExit("--series-only needs --out with a seams.json from a whole run, and --shifts")
    whole = json.loads((args.out / "seams.json").read_text(encoding="utf-8"))
    _add_series(whole, args)
    whole["series_run"] = {k: record[k] for k in ("command", "timestamp", "environment", "torch_threads")}
    _publish(whole, args.out)
    return 0


def render(record: dict[str, Any]) -> list[str]:
    """The markdown page of a run record."""
    strides = record["strides"]
    keys = [f"{a}{s}" for s in strides for a in ("y", "x")]
    lines = [
        "# Seam scores on the real L2 scenes",
        "",
        "Peak-to-median of the mean |difference| between neighbouring pixels, by position modulo a",
        "stride, along y and x (`sstfill.evaluation.seams`): about 1 when the field has no lattice",
        "(noise gives 1.02-1.06 on real observed pixels), higher with steps at tile or chunk borders.",
        "Target for filled pixels: at most 1.10. Land and pixels outside the swath are not filled.",
        "",
        f"    {record['command']}",
        "",
        (
            f"Run {record['timestamp']} at commit {str(record['environment']['git'].get('commit'))[:10]}; model: {record.get('model', 'default')}; "
            f"crop: {record['crop'] or 'the swath bounding box'}; torch threads: {record['torch_threads']}; "
            f"fraction floor: {record.get('fraction_floor')}."
        ),
        "",
    ]
    header = ["scene", "variant", "pixels", *keys, "max", "tiles/s"]
    rows = []
    for r in record["rows"]:
        n = r["numpy"]
        for which in ("filled", "observed"):
            s = n[which]
            rows.append(
                [
                    r["scene"].removeprefix("slstr_l2_").removesuffix(".nc"),
                    r["variant"],
                    which,
                    *(harness.fmt(s[k], ".3f") for k in keys),
                    harness.fmt(s["max"], ".3f"),
                    harness.fmt(n["output_tiles_per_s"], ".0f")
                    if which == "filled"
                    else "",
                ]
            )
        if r.get("lattice"):
            s = r["lattice"]
            rows.append(
                [
                    r["scene"].removeprefix("slstr_l2_").removesuffix(".nc"),
                    r["variant"],
                    "filled, lattice-locked",
                    *(harness.fmt(s[k], ".3f") for k in keys),
                    harness.fmt(s["max"], ".3f"),
                    "",
                ]
            )
    lines += harness.md_table(header, rows)
    if any(r.get("lattice") for r in record["rows"]):
        shifts = next(r["lattice_shifts"] for r in record["rows"] if r.get("lattice"))
        lines += [
            "",
            "`filled, lattice-locked`: the plain score also counts the scene's own pattern modulo the",
            "stride (which rows and columns hold the filled clouds, and the SST there). The scene is",
            f"filled again with the lattice moved by {', '.join(map(str, shifts))} pixels against the data, and the",
            "profiles are pooled in the lattice's frame: what moves with the data spreads over the",
            "phases, what the tiles draw stays (`lattice_scores` in `benchmarks/seams.py`). The moved",
            "scene keeps a real grid, its coordinates continued at their spacing (since 2026-12-07; runs",
            "before gave it pixel numbers for coordinates, so the reach and the other parts of the fill",
            "that work in km saw another grid).",
        ]
    if record["chunks"]:
        c = record["chunks"]
        lines += [
            "",
            f"Dask input in {c} x {c} chunks (threaded scheduler): seam scores at the chunk stride, and the worst over all strides.",
            f"At a {c}-pixel stride each position holds only a few rows or columns, so these scores are noisier:",
            "compare them with the observed pixels' at the same stride. The last column is the largest",
            "difference from the unchunked fill (0: chunk borders cannot show).",
            "",
        ]
        rows = []
        for r in record["rows"]:
            d = r.get("dask")
            if not d:
                continue
            rows.append(
                [
                    r["scene"].removeprefix("slstr_l2_").removesuffix(".nc"),
                    r["variant"],
                    harness.fmt(d["filled"][f"y{c}"], ".3f"),
                    harness.fmt(d["filled"][f"x{c}"], ".3f"),
                    harness.fmt(d["observed"][f"y{c}"], ".3f"),
                    harness.fmt(d["observed"][f"x{c}"], ".3f"),
                    harness.fmt(d["filled"]["max"], ".3f"),
                    harness.fmt(d["output_tiles_per_s"], ".0f"),
                    harness.fmt(d.get("max_abs_diff_vs_numpy"), ".2g"),
                ]
            )
        lines += harness.md_table(
            [
                "scene",
                "variant",
                f"filled y{c}",
                f"filled x{c}",
                f"observed y{c}",
                f"observed x{c}",
                "filled max",
                "tiles/s",
                "max abs dask - numpy (K)",
            ],
            rows,
        )
    if record.get("series"):
        lines += [
            "",
            "## Daily series",
            "",
            "The MUR stacks of the accuracy benchmark (real clouds transplanted on every day), filled whole",
            f"as daily series (`max_distance=None`) with the lattice moved by {', '.join(map(str, record['series_shifts']))} pixels, scored",
            "lattice-locked on the hidden pixels; `auto` is what `fill()` without a model uses there (the",
            "context model, which sees the neighbouring days). `observed`: the plain score of the observed",
            "pixels. The clouds were cut per 128-pixel window, a pattern the 32- and 64-pixel strides see",
            "in the observed pixels too. Since 2026-12-06 (evening) these fills are blended with the",
            "neighbouring days' guess; until 2026-12-07 it ended with a step where the other days'",
            "observations end (here straight edges on that 128-pixel grid, which a lattice moved by",
            "multiples of 16 pixels does not spread: the Arabian Sea's 1.205 and 1.267 against 1.101",
            "without the guess); since then the blend's correction is carried on past that edge",
            "([benchmarks](../benchmarks.md#large-gaps-time-context-reach-issue-14-where-things-stand)).",
            "",
        ]
        run = record.get("series_run")
        if run:
            git = run["environment"]["git"]
            lines[-1:-1] = ["", f"These rows: `{run['command']}`, run {run['timestamp']} at commit {str(git.get('commit'))[:10]}"
                            f"{' (uncommitted changes)' if git.get('dirty') else ''} (the scenes' rows above are from the whole run)."]
        rows = [[r["stack"], "x".join(map(str, r["shape"])), r["model"], *(harness.fmt(r["lattice"][k], ".3f") for k in keys), harness.fmt(r["lattice"]["max"], ".3f"),
                 harness.fmt(r["observed"]["max"], ".3f")] for r in record["series"]]
        lines += harness.md_table(["stack", "shape", "model", *keys, "max", "observed max"], rows)
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
