"""Sections 1, 1b and 2 of the speed benchmark: fill throughput, the same under CPU contention, whole file vs I/O."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.harness import ModelSpec, best_run, load_average, parse_model_spec, round_robin, timed, torch_threads
from benchmarks.speed_fields import (
    TILE_AREA, CountingModel, TileMeanModel, cloudy_stack, dir_bytes, get_count, realistic_field, reset_count,
    write_input_zarr,
)

# ----------------------------------------------------------------------------- section 1
def rate_row(method: str, kind: str, field: str, area: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A result row from timed runs of one method: the best run's rates over ``area`` pixels."""
    best = best_run(runs)
    return {
        "method": method,
        "input": kind,
        "field": field,
        "area_px": area,
        "runs": runs,
        "best_wall_s": best["wall_s"],
        "cpu_over_wall": best["cpu_s"] / best["wall_s"],
        "output_tiles_per_s": area / TILE_AREA / best["wall_s"],
        "megapixels_per_s": area / 1e6 / best["wall_s"],
    }


def section_throughput(cfg: dict, args, models: dict[str, Any], log) -> dict[str, Any]:
    """Fill throughput of sstfill models (numpy and dask input) and the peers, on one field."""
    from benchmarks.peers import dineof, fill_biharmonic, fill_laplace, fill_telea

    n, chunk, repeats = cfg["field"], cfg["chunk"], args.repeats or cfg["repeats"]
    gappy, land, desc, frac = realistic_field(n, args.shared)
    area = gappy.shape[0] * gappy.shape[1]
    ydim, xdim = gappy.dims
    g_np, land_np = gappy.values, land.values
    chunked = gappy.chunk({ydim: chunk, xdim: chunk})
    rows: list[dict[str, Any]] = []
    load_before = load_average()

    def sstfill_job(label: str, kind: str, key: str, **options: Any) -> Callable[[], Any]:
        counter = CountingModel(models[label], key)
        if kind == "numpy":
            return lambda: gappy.inpaint.fill(model=counter, land=land, **options)

        def run() -> None:
            t0 = time.perf_counter()
            lazy = chunked.inpaint.fill(model=counter, land=land)  # graph only (dask tokenises the model)
            build_s[key] = time.perf_counter() - t0
            lazy.compute()

        return run

    peers = {
        "biharmonic (scikit-image)": lambda: fill_biharmonic(g_np, land_np),
        "Laplace, exact sparse solve (scipy)": lambda: fill_laplace(g_np, land_np),
        "Telea (OpenCV)": lambda: fill_telea(g_np, land_np),
    }
    build_s: dict[str, float] = {}
    threads0 = torch_threads()
    # numpy phase first, then dask: sstfill sets torch threads for dask tasks once per
    # process. On numpy input the sstfill models run with torch's default threads (what a
    # user gets) and again with 1 torch thread. Round-robin repeats spread the load of
    # other processes over all methods alike; the best run is reported.
    for kind in ("numpy", "dask"):
        # name -> (job, torch threads to set in this thread, counter key)
        jobs: dict[str, tuple[Callable[[], Any], int | None, str | None]] = {}
        for label in models:
            key = f"{kind}:{label}"
            jobs[f"sstfill {label}"] = (sstfill_job(label, kind, key), threads0 if kind == "numpy" else None, key)
            if kind == "numpy" and threads0 > 1:
                jobs[f"sstfill {label}, 1 torch thread"] = (sstfill_job(label, kind, key + ":1"), 1, key + ":1")
            if kind == "numpy":  # the ablation of the stitching: the tiles' plain weighted blend
                jobs[f"sstfill {label}, plain blend"] = (sstfill_job(label, kind, key + ":plain", stitch=False), threads0, key + ":plain")
        if kind == "numpy":
            jobs.update({k: (v, threads0, None) for k, v in peers.items()})
            # warm-up (weights, torch kernels): a small window, untimed
            small = {ydim: slice(0, 128), xdim: slice(0, 128)}
            for label in models:
                gappy.isel(small).inpaint.fill(model=models[label], land=land.isel(small))
        runs_done = dict.fromkeys(jobs, 0)

        def before(name: str) -> None:
            _, threads, key = jobs[name]
            if threads is not None:
                import torch

                torch.set_num_threads(threads)
            if key:
                reset_count(key)

        def after(name: str, t: dict[str, Any]) -> None:
            _, threads, key = jobs[name]
            if key:
                t["model_tiles"], t["torch_threads_in_calls"] = get_count(key)
                if key in build_s:
                    t["graph_build_s"] = build_s[key]
            else:
                t["torch_threads_in_calls"] = [threads] if threads else []
            runs_done[name] += 1
            log(f"  [{kind}] {name:40s} run {runs_done[name]}/{repeats}: {t['wall_s']:7.2f} s wall, {t['cpu_s']:7.2f} s cpu")

        times = round_robin({name: job[0] for name, job in jobs.items()}, repeats, before=before, after=after)
        import torch

        torch.set_num_threads(threads0)
        for name, ts in times.items():
            row = rate_row(name, kind, f"{n} x {n}", area, ts)
            best = best_run(ts)
            row["torch_threads"] = sorted(set(best.get("torch_threads_in_calls", [])))
            if best.get("model_tiles"):
                row["model_tiles"] = best["model_tiles"]
                row["model_tiles_per_output_tile"] = best["model_tiles"] / (area / TILE_AREA)
                row["model_tiles_per_s"] = best["model_tiles"] / best["wall_s"]
            if "graph_build_s" in best:
                row["graph_build_s"] = best["graph_build_s"]
            rows.append(row)

    # DINEOF needs a time series: a (time, y, x) stack, once (it is slow and deterministic)
    stack, stack_land = cloudy_stack(cfg["dineof"], seed=1)
    values = stack.values
    result: dict[str, Any] = {}

    def run_dineof() -> None:
        result["r"] = dineof(values, land=stack_land)

    t = timed(run_dineof)
    stack_area, stack_shape = int(np.prod(cfg["dineof"])), " x ".join(map(str, cfg["dineof"]))
    row = rate_row("DINEOF (benchmarks/peers.py)", "stack", stack_shape, stack_area, [t])
    row.update(dineof_modes=result["r"].n_modes, dineof_iterations=sum(result["r"].n_iter) + result["r"].final_iter)
    rows.append(row)
    log(f"  [stack] DINEOF {cfg['dineof']}: {t['wall_s']:7.2f} s wall ({result['r'].n_modes} modes)")
    # the default model and biharmonic on DINEOF's own stack, so that all three compare on one field
    import xarray as xr

    stack_land_da = xr.DataArray(stack_land, dims=stack.dims[-2:])
    same_field = {"biharmonic (scikit-image)": lambda: [fill_biharmonic(v, stack_land) for v in values]}
    if "default" in models:
        same_field["sstfill default"] = lambda: stack.inpaint.fill(model=models["default"], land=stack_land_da)
    for name, fn in same_field.items():
        rows.append(rate_row(name, "stack", stack_shape, stack_area, [timed(fn) for _ in range(repeats)]))
        log(f"  [stack] {name}: {rows[-1]['best_wall_s']:7.2f} s wall")

    # ratios: time per pixel relative to the default model on the same input (numpy field,
    # dask field, or DINEOF's stack)
    ref = {r["input"]: r["megapixels_per_s"] for r in rows if r["method"] == "sstfill default"}  # as shipped
    one = next((r["megapixels_per_s"] for r in rows if r["method"] == "sstfill default, 1 torch thread"), None)
    for r in rows:
        base = ref.get(r["input"], ref.get("numpy"))
        r["time_vs_default"] = base / r["megapixels_per_s"] if base else None
        if r["input"] == "numpy" and one:
            r["time_vs_default_1_thread"] = one / r["megapixels_per_s"]
    numpy_rate = {r["method"]: r["megapixels_per_s"] for r in rows if r["input"] == "numpy"}
    for r in rows:
        if r["input"] == "dask" and r["method"] in numpy_rate:
            r["dask_time_vs_numpy"] = numpy_rate[r["method"]] / r["megapixels_per_s"]
    return {
        "field": desc,
        "hidden_fraction": frac,
        "chunks": f"{chunk} x {chunk}",
        "repeats": repeats,
        "dineof_stack": f"synthetic SST {cfg['dineof']} (time, y, x), real-shaped clouds over 40 % of each step",
        "load_avg_before": load_before,
        "load_avg_after": load_average(),
        "rows": rows,
    }


# ----------------------------------------------------------------------------- section 1b
def section_contention(cfg: dict, args, models: dict[str, Any], log) -> dict[str, Any]:
    """The numpy-input fill with torch's default threads vs 1 thread, while busy processes compete.

    Starts one busy-looping Python process per core (a shared machine, or dask worker
    processes that already use every core), times the fills, and stops those processes.
    """
    import torch

    gappy, land, desc, _ = realistic_field(cfg["field"], args.shared)
    ydim, xdim = gappy.dims
    chunked = gappy.chunk({ydim: cfg["chunk"], xdim: cfg["chunk"]})
    area = gappy.shape[0] * gappy.shape[1]
    threads0 = torch_threads()
    labels = [m for m in ("default", "laplace") if m in models]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    rows = []
    try:
        time.sleep(1.0)
        load_during = load_average()
        for label in labels:
            for threads in dict.fromkeys([threads0, 1]):
                torch.set_num_threads(threads)
                t = timed(lambda: gappy.inpaint.fill(model=models[label], land=land))
                rows.append({"model": label, "input": "numpy", "torch_threads": threads, **t})
                log(f"  [contended] {label:8s} numpy, {threads} torch thread(s): {t['wall_s']:7.2f} s wall, {t['cpu_s']:7.2f} s cpu")
            torch.set_num_threads(threads0)
            t = timed(lambda: chunked.inpaint.fill(model=models[label], land=land).compute())
            rows.append({"model": label, "input": "dask", "torch_threads": 1, **t})
            log(f"  [contended] {label:8s} dask: {t['wall_s']:7.2f} s wall, {t['cpu_s']:7.2f} s cpu")
    finally:
        torch.set_num_threads(threads0)
        for proc in busy:  # only the processes started above, by their handle
            proc.terminate()
        for proc in busy:
            proc.wait(timeout=10)
    for r in rows:
        r["output_tiles_per_s"] = area / TILE_AREA / r["wall_s"]
        ref = next(x for x in rows if x["model"] == r["model"] and x["input"] == "numpy" and x["torch_threads"] == 1)
        r["time_vs_1_thread"] = r["wall_s"] / ref["wall_s"]
    return {"field": desc, "busy_processes": len(busy), "load_avg_during": load_during, "rows": rows}


# ----------------------------------------------------------------------------- section 2
def section_file(cfg: dict, args, workdir: Path, log, specs: dict[str, ModelSpec]) -> dict[str, Any]:
    """Read+write a zarr store vs open -> fill -> write_atomic, for the models of ``specs`` and a zero-cost one.

    ``specs`` holds the ``default``, ``fast`` and ``laplace`` model specs (``fast`` is the
    bundled one when ``--fast none`` dropped it from the other sections).
    """
    import xarray as xr

    import sstfill  # noqa: F401
    from sstfill.xr.io import write_atomic

    shape, chunk = cfg["file"], cfg["chunk"]
    src = workdir / "file_in.zarr"
    write_input_zarr(src, shape, chunk, seed=2)
    area = int(np.prod(shape))
    load_before = load_average()

    def read_only() -> None:
        xr.open_zarr(src).load()

    def copy() -> None:
        xr.open_zarr(src).to_zarr(workdir / "file_copy.zarr", mode="w")

    def fill(model: ModelSpec | Any, name: str) -> Callable[[], None]:
        tile_model = model.tile_model(device=args.device) if isinstance(model, ModelSpec) else model
        counter = CountingModel(tile_model, f"file:{name}")

        def run() -> None:
            reset_count(f"file:{name}")
            ds = xr.open_zarr(src)
            out = ds.inpaint.fill(var="sst", model=counter)
            write_atomic(out, workdir / f"file_{name}.zarr", overwrite=True)

        return run

    steps = [
        ("read only: xr.open_zarr(src).load()", read_only, 3),
        ("(a) read + write a copy: xr.open_zarr(src).to_zarr(dst)", copy, 3),
        ("(b) open_zarr -> inpaint.fill(var='sst', model=<zero-cost tile model>) -> write_atomic(.zarr)", fill(TileMeanModel(), "zero-cost"), 3),
        ("(b) open_zarr -> inpaint.fill(var='sst', model='laplace') -> write_atomic(.zarr)", fill(specs["laplace"], "laplace"), 2),
        ("(b) open_zarr -> inpaint.fill(var='sst', model='fast') -> write_atomic(.zarr)", fill(specs.get("fast", parse_model_spec("fast")), "fast"), 1),
        ("(b) open_zarr -> inpaint.fill(var='sst') [default model] -> write_atomic(.zarr)", fill(specs["default"], "default"), 1),
    ]
    if args.quick:
        steps = [(a, b, 1) for a, b, _ in steps]
    rows = []
    for label, fn, reps in steps:
        ts = []
        for r in range(reps):
            t = timed(fn)
            ts.append(t)
            log(f"  {label[:70]:70s} run {r + 1}/{reps}: {t['wall_s']:7.2f} s")
        best = best_run(ts)
        row = {"step": label, "runs": ts, "best_wall_s": best["wall_s"], "cpu_over_wall": best["cpu_s"] / best["wall_s"], "megapixels_per_s": area / 1e6 / best["wall_s"]}
        name = next((n for n in ("default", "laplace", "fast", "zero-cost") if n in label), None)
        if name:
            tiles = get_count(f"file:{name}")[0]
            row.update(model_tiles=tiles, model_tiles_per_output_tile=tiles / (area / TILE_AREA), model_tiles_per_s=tiles / best["wall_s"])
        rows.append(row)
    copy_s = rows[1]["best_wall_s"]
    for r in rows:
        r["time_vs_copy"] = r["best_wall_s"] / copy_s
    # check: the filled store is complete (no gap left in the ocean)
    filled = xr.open_zarr(workdir / "file_default.zarr")
    flags = filled["sst_fill_flag"].values
    out = {
        "store": f"synthetic SST {shape} (time, lat, lon) float32, chunks (1, {chunk}, {chunk}), real-shaped clouds over 40 % of each step, CF land mask variable",
        "input_bytes": dir_bytes(src),
        "output_bytes_default": dir_bytes(workdir / "file_default.zarr"),
        "flag_counts_default": {k: int((flags == v).sum()) for k, v in (("observed", 0), ("filled", 1), ("land", 2), ("not_filled", 3))},
        "load_avg_before": load_before,
        "load_avg_after": load_average(),
        "rows": rows,
        "ratio_fill_default_vs_copy": rows[5]["best_wall_s"] / copy_s,
        "ratio_fill_fast_vs_copy": rows[4]["best_wall_s"] / copy_s,
        "ratio_fill_laplace_vs_copy": rows[3]["best_wall_s"] / copy_s,
        "ratio_fill_zero_cost_vs_copy": rows[2]["best_wall_s"] / copy_s,
    }
    for p in ("file_copy.zarr", "file_zero-cost.zarr", "file_laplace.zarr", "file_fast.zarr", "file_default.zarr", "file_in.zarr"):
        shutil.rmtree(workdir / p, ignore_errors=True)
    return out
