"""Section 3 of the speed benchmark: fill time and peak memory against the field's area.

Each (model, size) runs in a fresh subprocess (``speed.py --child-scaling``), so that its
peak resident memory is its own.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import REPO, load_average, parse_model_spec
from benchmarks.speed_fields import TILE_AREA, CountingModel, get_count, write_input_zarr

# glibc keeps freed memory in its heap and raises its mmap threshold after big frees; with a
# fixed threshold big blocks (tile batches, activations) go back to the OS when freed
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}
SPEED_SCRIPT = Path(__file__).resolve().parent / "speed.py"

def child_scaling(src: str, dst: str, model: str, fast: str | None, device: str = "cpu") -> None:
    """In a fresh process: load the model, then open -> fill (dask, threads) -> write; print JSON."""
    import dask
    import xarray as xr

    import sstfill
    from sstfill.xr.io import write_atomic

    dask.config.set(scheduler="threads")
    spec = parse_model_spec(f"{model}={fast if model == 'fast' else model}")
    m = CountingModel(spec.tile_model(device=device), "child")
    peak = {"rss": 0}
    stop = threading.Event()
    try:
        import psutil

        proc = psutil.Process()

        def sample() -> None:
            while not stop.is_set():
                peak["rss"] = max(peak["rss"], proc.memory_info().rss)
                stop.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
    except ImportError:
        sampler = None
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    current_mb = proc.memory_info().rss / 2**20 if sampler else base_kb / 1024
    if sampler:
        sampler.start()
    t0, c0 = time.perf_counter(), time.process_time()
    ds = xr.open_zarr(src)
    out = ds.inpaint.fill(var="sst", model=m)
    write_atomic(out, dst, overwrite=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    stop.set()
    if sampler:
        sampler.join()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "wall_s": wall,
                "cpu_s": cpu,
                "rss_before_fill_mb": current_mb,
                "peak_rss_before_fill_mb": base_kb / 1024,
                "peak_rss_mb": peak_kb / 1024,
                "peak_rss_sampled_mb": peak["rss"] / 2**20 if sampler else None,
                "model_tiles": get_count("child")[0],
                "torch_threads_in_calls": sorted(set(get_count("child")[1])),
                "dask_scheduler": str(dask.config.get("scheduler")),
                "sstfill": sstfill.__version__,
            }
        )
    )


def section_scaling(cfg: dict, args, workdir: Path, log) -> dict[str, Any]:
    """Fill time and peak memory vs field size, one subprocess per (model, size)."""
    chunk, sizes = cfg["chunk"], cfg["scaling"]
    runs = [("laplace", "laplace", {}), ("default", "default", {})]
    if not args.no_allocator_check:
        runs.append(("default, MALLOC_MMAP_THRESHOLD_=65536", "default", ALLOCATOR_ENV))
    labels = [r[0] for r in runs]
    inputs = {}
    for n in sizes:
        inputs[n] = workdir / f"scale_{n}.zarr"
        write_input_zarr(inputs[n], (n, n), chunk, seed=3)
    rows = []
    load_before = load_average()
    for label, model, env in runs:
        for n in sizes:
            dst = workdir / f"scale_{n}_out.zarr"
            cmd = [sys.executable, str(SPEED_SCRIPT), "--child-scaling", str(inputs[n]), str(dst), model, "--device", args.device]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO, env={**os.environ, **env})
            if proc.returncode != 0:
                raise RuntimeError(f"scaling child failed for {label} {n}:\n{proc.stderr[-3000:]}")
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            shutil.rmtree(dst, ignore_errors=True)
            area = n * n
            res.update(
                model=label,
                env=env,
                size=n,
                area_px=area,
                chunks=f"{-(-n // chunk)} x {-(-n // chunk)} of {chunk} x {chunk}",
                n_chunks=(-(-n // chunk)) ** 2,
                s_per_megapixel=res["wall_s"] / (area / 1e6),
                output_tiles_per_s=area / TILE_AREA / res["wall_s"],
                fill_peak_mb=res["peak_rss_sampled_mb"] or res["peak_rss_mb"],
                working_mb=(res["peak_rss_sampled_mb"] or res["peak_rss_mb"]) - res["rss_before_fill_mb"],
            )
            rows.append(res)
            log(f"  {label:8s} {n:5d}^2: {res['wall_s']:7.2f} s, peak RSS {res['peak_rss_mb']:7.0f} MB (before fill {res['rss_before_fill_mb']:6.0f} MB)")
    for label in labels:
        mine = [r for r in rows if r["model"] == label]
        one = mine[0]
        for r in mine:
            r["area_x"] = r["area_px"] / one["area_px"]
            r["time_per_mp_vs_1x"] = r["s_per_megapixel"] / one["s_per_megapixel"]
            r["cpu_per_mp_vs_1x"] = (r["cpu_s"] / r["area_px"]) / (one["cpu_s"] / one["area_px"])
            r["peak_rss_vs_1x"] = r["fill_peak_mb"] / one["fill_peak_mb"]
            r["working_mb_vs_1x"] = r["working_mb"] / one["working_mb"] if one["working_mb"] > 0 else None
    fits = {}
    for label in labels:
        mine = [r for r in rows if r["model"] == label]
        mp = np.array([r["area_px"] / 1e6 for r in mine])
        wall = np.array([r["wall_s"] for r in mine])
        slope, intercept = np.polyfit(mp, wall, 1)
        fits[label] = {"fixed_s": float(intercept), "s_per_megapixel": float(slope), "fixed_share_at_1x": float(intercept / wall[0]), "fixed_share_at_largest": float(intercept / wall[-1])}
    for n in sizes:
        shutil.rmtree(inputs[n], ignore_errors=True)
    return {
        "linear_fit": fits,
        "allocator_check": None if args.no_allocator_check else f"the default model again with {ALLOCATOR_ENV} in the environment (glibc returns big freed blocks to the OS)",
        "fields": f"synthetic SST n x n under real-shaped clouds (40 % of the ocean), zarr, chunks {chunk} x {chunk}; open_zarr -> Dataset.inpaint.fill(var='sst') -> write_atomic(.zarr), threaded dask scheduler, one fresh subprocess per row (model loaded before timing)",
        "memory": "resident memory of the subprocess: before the fill (psutil, after imports and model loading), peak during open -> fill -> write (psutil sampled every 20 ms; ru_maxrss of the whole process, imports included, is in peak_rss_mb), and the fill's own memory = peak during - before",
        "load_avg_before": load_before,
        "load_avg_after": load_average(),
        "rows": rows,
    }
