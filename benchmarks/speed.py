#!/usr/bin/env python
"""Speed and scaling of whole-field fills on CPU, in one run, reported as ratios.

Three measurements, all on the same machine in the same run, so that their ratios mean
something even where the absolute times do not (a shared 2-core machine is noisy):

1. **Fill throughput** on one realistic field with ~40 % real-shaped gaps: sstfill's
   default model, the bundled ``fast`` model (``--fast``), sstfill's Laplace tile filler, and
   the classical peers of ``benchmarks/peers.py`` (scikit-image biharmonic, an exact sparse
   Laplace solve, OpenCV Telea, and DINEOF on a (time, y, x) stack). sstfill methods run
   through ``da.inpaint.fill`` on numpy input and on dask input (512 x 512 chunks, threaded
   scheduler). Rates are *output* tiles/s (field area / 4096 per second: the overlap of
   the tiles is part of the cost) and megapixels/s; each method's time per pixel is given
   as a ratio to the default model's.
   **1b.** The numpy-input fill again, with torch's default thread count and with 1 thread,
   while one busy process per core competes for the CPU (a shared machine).
2. **Whole file, fill vs I/O**: a chunked zarr store (4, 1024, 1024) with clouds;
   (a) ``xr.open_zarr(src).to_zarr(dst)`` against (b) ``xr.open_zarr(src)`` ->
   ``ds.inpaint.fill(var="sst")`` -> ``sstfill.xr.io.write_atomic(out, "x.zarr")``: ratio b/a,
   for the default and fast models, the Laplace filler, and a tile model that costs nothing
   (sstfill's own cost around the model: the floor for any model on this machine).
3. **Scaling**: fields of 1x, 4x and 16x the area (512^2, 1024^2, 2048^2) stored as zarr
   with 512 x 512 chunks, each filled (dask, threaded scheduler) and written to zarr in a
   fresh subprocess; time per megapixel and peak resident memory (``ru_maxrss`` of the
   subprocess, and its increase over the same process just before the fill) relative to
   1x, for the Laplace filler and the default model; the default model once more with
   ``MALLOC_MMAP_THRESHOLD_=65536`` (glibc returns big freed blocks to the OS), which tells
   allocator retention from live memory. Figure ``speed_scaling.png``.

Outputs in ``--out``: ``speed.json``, ``speed.md``, ``speed_scaling.png``. The markdown is
printed as well. ``--quick`` runs the same code on small sizes (a smoke test, about a
minute; its numbers mean little) and writes to a temporary folder unless ``--out`` is given.
The full run takes about 4 minutes on 2 quiet cores (8 on a busy machine);
``--from-json docs/benchmarks/speed.json`` re-renders the page without measuring.

    python benchmarks/speed.py --shared ../shared/data --out docs/benchmarks
    python benchmarks/speed.py --quick
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` and `sstfill` importable
    sys.path.insert(0, str(REPO))

warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part", category=UserWarning)

TILE_AREA = 64 * 64

# sizes per mode: (section 1 field, DINEOF stack, section 2 stack, section 3 sizes, chunk)
SIZES = {
    "full": dict(field=1024, dineof=(10, 512, 512), file=(4, 1024, 1024), scaling=(512, 1024, 2048), chunk=512, repeats=2),
    "quick": dict(field=256, dineof=(4, 128, 128), file=(2, 256, 256), scaling=(128, 256, 512), chunk=128, repeats=1),
}
# glibc keeps freed memory in its heap and raises its mmap threshold after big frees; with a
# fixed threshold big blocks (tile batches, activations) go back to the OS when freed
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}
HOLE_FRACTION = 0.4


# ----------------------------------------------------------------------------- helpers
_COUNTS: dict[str, dict[str, Any]] = {}
_COUNT_LOCK = threading.Lock()


class CountingModel:
    """Wraps a tile model; counts the tiles it fills and the torch threads of each caller.

    The counts live in a module-level registry under ``key``, so they survive the copies
    that dask's tokenisation makes of task arguments (it pickles them).
    """

    def __init__(self, model: Any, key: str) -> None:
        self.model = model
        self.key = key
        self.tile_size = getattr(model, "tile_size", None)
        self.preferred_batch = getattr(model, "preferred_batch", 256)  # 8192 for a model on a GPU
        self.description = model.description
        reset_count(key)

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        import torch

        with _COUNT_LOCK:
            rec = _COUNTS.setdefault(self.key, {"tiles": 0, "threads": {}})
            rec["tiles"] += len(values)
            rec["threads"][threading.get_ident()] = torch.get_num_threads()
        return self.model.predict_tiles(values, observed)


class TileMeanModel:
    """A tile model that costs (almost) nothing: each gap gets its tile's observed mean.

    Run through the whole-file pipeline it measures sstfill's own cost (cutting, blending,
    fallback, flags, dask, writing) without a network: the floor that a faster network or a
    GPU cannot go below on this machine.
    """

    tile_size = 64
    description = "zero-cost tile model (each tile's observed mean)"

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        count = np.maximum(observed.sum(axis=(1, 2), keepdims=True), 1)
        mean = np.where(observed, values, 0).sum(axis=(1, 2), keepdims=True) / count
        return np.where(observed, values, mean).astype("float32")


def reset_count(key: str) -> None:
    with _COUNT_LOCK:
        _COUNTS[key] = {"tiles": 0, "threads": {}}


def get_count(key: str) -> tuple[int, list[int]]:
    """(tiles filled, torch thread count seen in each calling thread)."""
    with _COUNT_LOCK:
        rec = _COUNTS.get(key, {"tiles": 0, "threads": {}})
        return rec["tiles"], sorted(rec["threads"].values())


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _timed(fn: Callable[[], Any]) -> dict[str, float]:
    """Wall and CPU seconds of one call (CPU time of this process, all threads)."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def _git_state() -> dict[str, Any]:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception:  # noqa: BLE001  (no git: not an error for a benchmark)
            return ""

    return {"commit": run("git", "rev-parse", "HEAD"), "dirty_files": [l[3:] for l in run("git", "status", "--porcelain").splitlines()]}


def environment() -> dict[str, Any]:
    """Versions, cores, threads and scheduler, recorded with the numbers."""
    import cv2
    import dask
    import scipy
    import skimage
    import torch
    import xarray
    import zarr

    import sstfill

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads_at_start": _torch_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch_interop_threads": torch.get_num_interop_threads(),
        "dask_scheduler": "threads (dask.config scheduler='threads'; pool of cpu_count workers)",
        "dask_num_workers": dask.config.get("num_workers", None) or os.cpu_count(),
        "versions": {
            "sstfill": sstfill.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "dask": dask.__version__,
            "xarray": xarray.__version__,
            "zarr": zarr.__version__,
            "scikit-image": skimage.__version__,
            "opencv": cv2.__version__,
        },
        "git": _git_state(),
    }


# ----------------------------------------------------------------------------- fields
def _mirror_tile(a: np.ndarray, ny: int, nx: int) -> np.ndarray:
    """Extend ``a`` (..., y, x) to (..., ny, nx) with mirrored copies (continuous at the seams)."""
    while a.shape[-2] < ny:
        a = np.concatenate([a, a[..., ::-1, :]], axis=-2)
    while a.shape[-1] < nx:
        a = np.concatenate([a, a[..., :, ::-1]], axis=-1)
    return a[..., :ny, :nx]


def synthetic_field(ny: int, nx: int, nt: int | None = None, seed: int = 0):
    """Synthetic SST (kelvin, land NaN) of any size, quickly: (DataArray, land bool (ny, nx)).

    ``sstfill.testing.synthetic_sst`` costs O(area^2) (one Gaussian per eddy over the whole
    grid, with eddies proportional to the area): fields larger than 512 x 512 are made of
    mirrored copies of a 512 x 512 one, so the front and the eddies keep their scales.
    """
    import pandas as pd
    import xarray as xr

    from sstfill.testing import synthetic_land, synthetic_sst

    base = synthetic_sst(min(ny, 512), min(nx, 512), nt=nt, seed=seed, land=False, step=0.01)
    data = _mirror_tile(base.values, ny, nx).copy()
    land = synthetic_land(ny, nx)
    data[..., land] = np.nan
    coords = {
        "lat": ("lat", (30.0 + 0.01 * np.arange(ny)).astype("float32"), {"standard_name": "latitude", "units": "degrees_north"}),
        "lon": ("lon", (-125.0 + 0.01 * np.arange(nx)).astype("float32"), {"standard_name": "longitude", "units": "degrees_east"}),
    }
    dims: tuple[str, ...] = ("lat", "lon")
    if nt is not None:
        coords["time"] = ("time", pd.date_range("2021-01-01", periods=nt, freq="D"))
        dims = ("time",) + dims
    return xr.DataArray(data.astype("float32"), dims=dims, coords=coords, name="sst", attrs=dict(base.attrs)), land


def realistic_field(n: int, shared: str | None, seed: int = 0):
    """(gappy DataArray, land DataArray, description, hidden fraction of the ocean).

    With ``shared``: the n x n window of the SLSTR NE Atlantic scene (real clouds) whose
    missing fraction of the ocean is closest to 40 %, land from ``global-land-mask``.
    Otherwise a synthetic SST field (front, eddies, coast) under real-shaped clouds.
    """
    import xarray as xr

    from sstfill.kernels.holes import make_holes

    path = Path(shared) / "slstr_l2_ne_atl.nc" if shared else None
    if path is not None and path.exists():
        ds = xr.open_dataset(path)
        var = ds["sea_surface_skin_temperature"].isel(time=0).load()
        lon, lat = np.meshgrid(ds["lon"].values, ds["lat"].values)
        try:
            from global_land_mask import globe

            land_all = globe.is_land(lat, lon)
        except ImportError:
            land_all = np.zeros(var.shape, dtype=bool)
        missing = var.isnull().values
        ny, nx = missing.shape
        step = max(n // 4, 1)
        best = None
        for y in range(0, ny - n + 1, step):
            for x in range(0, nx - n + 1, step):
                ocean = ~land_all[y : y + n, x : x + n]
                frac = (missing[y : y + n, x : x + n] & ocean).sum() / max(ocean.sum(), 1)
                score = abs(frac - HOLE_FRACTION) + 0.5 * (1 - ocean.mean())
                if best is None or score < best[0]:
                    best = (score, y, x, frac)
        _, y, x, frac = best
        window = dict(lat=slice(y, y + n), lon=slice(x, x + n))
        gappy = var.isel(window).drop_vars("time", errors="ignore")
        land = xr.DataArray(land_all[y : y + n, x : x + n], dims=gappy.dims)
        desc = (
            f"real Sentinel-3 SLSTR L2 crop, NE Atlantic 2023-04-20, rows {y}:{y + n}, columns {x}:{x + n} "
            f"({n} x {n}, real clouds over {frac:.0%} of the ocean, land {land.values.mean():.0%} from global-land-mask)"
        )
        return gappy, land, desc, float(frac)
    sst, land_np = synthetic_field(n, n, seed=seed)
    land = xr.DataArray(land_np, dims=sst.dims)
    holes = make_holes("clouds", (n, n), np.random.default_rng(seed), fraction=HOLE_FRACTION) & ~land.values
    gappy = sst.where(~holes)
    frac = float(holes.sum() / (~land.values).sum())
    desc = f"synthetic SST ({n} x {n}, 0.01 deg; mirrored copies of sstfill.testing.synthetic_sst(512, 512) beyond 512) under real-shaped SLSTR clouds over {frac:.0%} of the ocean, land {land.values.mean():.0%}"
    return gappy, land, desc, frac


def cloudy_stack(shape: tuple[int, int, int], seed: int = 0):
    """(time, y, x) synthetic SST with real-shaped clouds (40 %) per step, and land (y, x)."""
    from sstfill.kernels.holes import make_holes

    nt, ny, nx = shape
    sst, land = synthetic_field(ny, nx, nt=nt, seed=seed)
    rng = np.random.default_rng(seed + 1)
    holes = np.stack([make_holes("clouds", (ny, nx), rng, fraction=HOLE_FRACTION) for _ in range(nt)])
    return sst.where(~(holes & ~land)), land


def write_input_zarr(path: Path, shape: tuple[int, ...], chunk: int, seed: int = 0) -> None:
    """A zarr store with ``sst`` (time?, lat, lon) under clouds and a CF ``land`` mask."""

    if len(shape) == 3:
        gappy, land = cloudy_stack(shape, seed)
        chunks = {"time": 1, "lat": chunk, "lon": chunk}
    else:
        gappy, land_da, _, _ = realistic_field(shape[0], None, seed)
        land = land_da.values
        chunks = {"lat": chunk, "lon": chunk}
    ds = gappy.to_dataset()
    ds["land"] = (("lat", "lon"), land.astype("int8"), {"standard_name": "land_binary_mask", "long_name": "land (1) / sea (0)"})
    if path.exists():
        shutil.rmtree(path)
    ds.chunk(chunks).to_zarr(path, mode="w")


# ----------------------------------------------------------------------------- section 1
def _rate_row(method: str, kind: str, field: str, area: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A result row from timed runs of one method: the best run's rates over ``area`` pixels."""
    best = min(runs, key=lambda t: t["wall_s"])
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
    load_before = _load()

    def sstfill_job(label: str, kind: str, key: str) -> Callable[[], Any]:
        counter = CountingModel(models[label], key)
        if kind == "numpy":
            return lambda: gappy.inpaint.fill(model=counter, land=land)

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
    threads0 = _torch_threads()
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
        if kind == "numpy":
            jobs.update({k: (v, threads0, None) for k, v in peers.items()})
            # warm-up (weights, torch kernels): a small window, untimed
            small = {ydim: slice(0, 128), xdim: slice(0, 128)}
            for label in models:
                gappy.isel(small).inpaint.fill(model=models[label], land=land.isel(small))
        times: dict[str, list[dict[str, Any]]] = {k: [] for k in jobs}
        for r in range(repeats):
            for name, (fn, threads, key) in jobs.items():
                if threads is not None:
                    import torch

                    torch.set_num_threads(threads)
                if key:
                    reset_count(key)
                t = _timed(fn)
                if key:
                    t["model_tiles"], t["torch_threads_in_calls"] = get_count(key)
                    if key in build_s:
                        t["graph_build_s"] = build_s[key]
                else:
                    t["torch_threads_in_calls"] = [threads] if threads else []
                times[name].append(t)
                log(f"  [{kind}] {name:40s} run {r + 1}/{repeats}: {t['wall_s']:7.2f} s wall, {t['cpu_s']:7.2f} s cpu")
        import torch

        torch.set_num_threads(threads0)
        for name, ts in times.items():
            row = _rate_row(name, kind, f"{n} x {n}", area, ts)
            best = min(ts, key=lambda t: t["wall_s"])
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

    t = _timed(run_dineof)
    stack_area, stack_shape = int(np.prod(cfg["dineof"])), " x ".join(map(str, cfg["dineof"]))
    row = _rate_row("DINEOF (benchmarks/peers.py)", "stack", stack_shape, stack_area, [t])
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
        rows.append(_rate_row(name, "stack", stack_shape, stack_area, [_timed(fn) for _ in range(repeats)]))
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
        "load_avg_after": _load(),
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
    threads0 = _torch_threads()
    labels = [m for m in ("default", "laplace") if m in models]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    rows = []
    try:
        time.sleep(1.0)
        load_during = _load()
        for label in labels:
            for threads in dict.fromkeys([threads0, 1]):
                torch.set_num_threads(threads)
                t = _timed(lambda: gappy.inpaint.fill(model=models[label], land=land))
                rows.append({"model": label, "input": "numpy", "torch_threads": threads, **t})
                log(f"  [contended] {label:8s} numpy, {threads} torch thread(s): {t['wall_s']:7.2f} s wall, {t['cpu_s']:7.2f} s cpu")
            torch.set_num_threads(threads0)
            t = _timed(lambda: chunked.inpaint.fill(model=models[label], land=land).compute())
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
def section_file(cfg: dict, args, workdir: Path, log) -> dict[str, Any]:
    """Read+write a zarr store vs open -> fill -> write_atomic, for the default model and Laplace."""
    import xarray as xr

    import sstfill  # noqa: F401
    from sstfill.xr.io import write_atomic

    shape, chunk = cfg["file"], cfg["chunk"]
    src = workdir / "file_in.zarr"
    write_input_zarr(src, shape, chunk, seed=2)
    area = int(np.prod(shape))
    load_before = _load()

    def read_only() -> None:
        xr.open_zarr(src).load()

    def copy() -> None:
        xr.open_zarr(src).to_zarr(workdir / "file_copy.zarr", mode="w")

    from sstfill.models.store import resolve_model

    def fill(model: Any, name: str) -> Callable[[], None]:
        counter = CountingModel(resolve_model(model, device=args.device), f"file:{name}")

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
        ("(b) open_zarr -> inpaint.fill(var='sst', model='laplace') -> write_atomic(.zarr)", fill("laplace", "laplace"), 2),
        ("(b) open_zarr -> inpaint.fill(var='sst', model='fast') -> write_atomic(.zarr)", fill(args.fast if args.fast and args.fast.lower() != "none" else "fast", "fast"), 1),
        ("(b) open_zarr -> inpaint.fill(var='sst') [default model] -> write_atomic(.zarr)", fill(None, "default"), 1),
    ]
    if args.quick:
        steps = [(a, b, 1) for a, b, _ in steps]
    rows = []
    for label, fn, reps in steps:
        ts = []
        for r in range(reps):
            t = _timed(fn)
            ts.append(t)
            log(f"  {label[:70]:70s} run {r + 1}/{reps}: {t['wall_s']:7.2f} s")
        best = min(ts, key=lambda t: t["wall_s"])
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
        "input_bytes": _dir_bytes(src),
        "output_bytes_default": _dir_bytes(workdir / "file_default.zarr"),
        "flag_counts_default": {k: int((flags == v).sum()) for k, v in (("observed", 0), ("filled", 1), ("land", 2), ("not_filled", 3))},
        "load_avg_before": load_before,
        "load_avg_after": _load(),
        "rows": rows,
        "ratio_fill_default_vs_copy": rows[5]["best_wall_s"] / copy_s,
        "ratio_fill_fast_vs_copy": rows[4]["best_wall_s"] / copy_s,
        "ratio_fill_laplace_vs_copy": rows[3]["best_wall_s"] / copy_s,
        "ratio_fill_zero_cost_vs_copy": rows[2]["best_wall_s"] / copy_s,
    }
    for p in ("file_copy.zarr", "file_zero-cost.zarr", "file_laplace.zarr", "file_fast.zarr", "file_default.zarr", "file_in.zarr"):
        shutil.rmtree(workdir / p, ignore_errors=True)
    return out


# ----------------------------------------------------------------------------- section 3
def child_scaling(src: str, dst: str, model: str, fast: str | None, device: str = "cpu") -> None:
    """In a fresh process: load the model, then open -> fill (dask, threads) -> write; print JSON."""
    import dask
    import xarray as xr

    import sstfill
    from sstfill.models.store import resolve_model
    from sstfill.xr.io import write_atomic

    dask.config.set(scheduler="threads")
    m = CountingModel(resolve_model(None if model == "default" else (fast if model == "fast" else model), device=device), "child")
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
    load_before = _load()
    for label, model, env in runs:
        for n in sizes:
            dst = workdir / f"scale_{n}_out.zarr"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child-scaling", str(inputs[n]), str(dst), model, "--device", args.device]
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
        "load_avg_after": _load(),
        "rows": rows,
    }


def plot_scaling(scaling: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    styles = {"laplace": ("tab:blue", "-"), "default": ("tab:red", "-")}
    for label in dict.fromkeys(r["model"] for r in scaling["rows"]):
        colour, ls = styles.get(label, ("tab:orange", "--"))
        rows = [r for r in scaling["rows"] if r["model"] == label]
        x = [r["area_x"] for r in rows]
        short = label.replace("MALLOC_MMAP_THRESHOLD_=65536", "fixed mmap threshold")
        axes[0].plot(x, [r["time_per_mp_vs_1x"] for r in rows], "o" + ls, color=colour, label=short)
        axes[1].plot(x, [r["fill_peak_mb"] for r in rows], "o" + ls, color=colour, label=f"{short}: peak")
        axes[1].plot(x, [r["rss_before_fill_mb"] for r in rows], ":", color=colour, alpha=0.6, label=f"{short}: before")
        axes[2].plot(x, [r["working_mb"] for r in rows], "o" + ls, color=colour, label=short)
    axes[0].axhline(1.0, color="grey", lw=0.8)
    axes[0].set(title="time per megapixel, relative to 1x", xlabel="field area (x smallest)", ylabel="ratio (1 = linear)")
    axes[1].set(title="resident memory (MB)", xlabel="field area (x smallest)", ylabel="MB")
    axes[2].set(title="memory used by the fill (peak - before, MB)", xlabel="field area (x smallest)", ylabel="MB")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks([r["area_x"] for r in rows], [f"{r['area_x']:g}x\n{r['size']}^2" for r in rows])
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- report
def _f(x: Any, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def to_markdown(res: dict[str, Any]) -> str:
    env, thr, fil, sca = res["environment"], res.get("throughput"), res.get("file"), res.get("scaling")
    out = ["# Speed and scaling on CPU", ""]
    if res["quick"]:
        out += ["**Quick smoke run (`--quick`): small sizes, the numbers mean little.**", ""]
    out += [
        f"Measured in one run of `benchmarks/speed.py` on {env['cpu_count']} CPU cores"
        + (f", neural models on {res.get('device')} ({env.get('gpu')}) " if res.get("device", "cpu") != "cpu" else " ")
        + f"(torch {env['versions']['torch']}, {env['torch_threads_at_start']} torch threads at start; dask "
        f"{env['versions']['dask']}, threaded scheduler with {env['dask_num_workers']} workers), "
        f"in {res['runtime_s'] / 60:.1f} minutes:",
        "",
        "```bash",
        res["command"],
        "```",
        "",
        "Absolute times depend on the machine and on what else runs on it (the load average is "
        "recorded in `speed.json`; this machine is shared), so the tables give rates and **ratios "
        "within the run**. Rates are *output* tiles per second: the field's area / 4096 per second, "
        "so the tile overlap (and the halos of dask chunks) are part of the cost. All raw times, "
        "CPU times and versions are in `speed.json` next to this page.",
        "",
        f"Sizes: section 1 a {res['sizes']['field']}^2 field and a {' x '.join(map(str, res['sizes']['dineof']))} stack for "
        f"DINEOF; section 2 a {' x '.join(map(str, res['sizes']['file']))} store; section 3 fields of "
        f"{', '.join(f'{n}^2' for n in res['sizes']['scaling'])}; dask chunks of {res['sizes']['chunk']} x {res['sizes']['chunk']}."
        + (" The store of section 2 has 4 time steps rather than 8 to keep the full run under 8 minutes on a loaded 2-core machine." if not res["quick"] else ""),
        "",
    ]
    if thr:
        out += [
            "## 1. Fill throughput",
            "",
            f"Field: {thr['field']}. sstfill models run as users call them, "
            f"`da.inpaint.fill(model, land=land)`, on numpy input and on dask input (chunks "
            f"{thr['chunks']}, `.compute()`); the peers of `benchmarks/peers.py` take numpy arrays. "
            f"Best of {thr['repeats']} round-robin run(s). DINEOF needs a time series: it runs once on "
            f"a {thr['dineof_stack']} (input 'stack'), and the default model and biharmonic run on that stack too "
            "(each step as an image), so the 'stack' rows compare the three on one field. "
            "\"time vs default\" is each method's time per pixel divided by the default model's "
            "as shipped (torch's default thread count) on the same input (numpy for the peers, "
            "the stack for DINEOF); below 1 is faster. The next column divides by the default model run with 1 "
            "torch thread instead (see the notes below for why both are given). \"torch threads\" "
            "is what `torch.get_num_threads()` returned inside the model calls.",
            "",
            "| method | input | output tiles/s | megapixels/s | time vs default | time vs default with 1 torch thread | model tiles per output tile | dask time vs numpy | CPU use (cores) | torch threads |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in thr["rows"]:
            name = r["method"] + (f" ({r['field']})" if r["method"].startswith("DINEOF") else "")
            out.append(
                f"| {name} | {r['input']} | {_f(r['output_tiles_per_s'], '{:.0f}')} | {_f(r['megapixels_per_s'], '{:.3f}')} | "
                f"{_f(r['time_vs_default'])} | {_f(r.get('time_vs_default_1_thread'))} | {_f(r.get('model_tiles_per_output_tile'))} | {_f(r.get('dask_time_vs_numpy'))} | "
                f"{_f(r['cpu_over_wall'], '{:.1f}')} | {', '.join(map(str, r.get('torch_threads') or [])) or '-'} |"
            )
        out.append("")
        if "fast_skipped" in res:
            out += [f"The `fast` preset was not measured: {res['fast_skipped']}.", ""]
    con = res.get("contention")
    if con:
        out += [
            "### 1b. The same fill under CPU contention",
            "",
            f"The field of section 1 filled again while {con['busy_processes']} busy-looping processes (one per core) "
            f"compete for the CPU: a shared machine, or "
            "dask worker processes that already use every core. One run each.",
            "",
            "| model | input | torch threads | output tiles/s | time vs 1 torch thread | CPU use (cores) |",
            "|---|---|---|---|---|---|",
        ]
        for r in con["rows"]:
            out.append(
                f"| {r['model']} | {r['input']} | {r['torch_threads']} | {_f(r['output_tiles_per_s'], '{:.0f}')} | "
                f"{_f(r['time_vs_1_thread'])} | {_f(r['cpu_s'] / r['wall_s'], '{:.1f}')} |"
            )
        out.append("")
    if fil:
        out += [
            "## 2. Whole file: fill vs I/O",
            "",
            f"Store: {fil['store']} ({fil['input_bytes'] / 2**20:.0f} MiB on disk). Each step reads "
            "the store with `xr.open_zarr` and writes a new zarr store; (b) fills `sst` with "
            "`Dataset.inpaint.fill(var='sst')` (land from the store's CF mask variable) and writes "
            "the result and its flag variable with `sstfill.xr.io.write_atomic`.",
            "",
            "| step | time vs (a) | megapixels/s | model tiles per output tile | CPU use (cores) |",
            "|---|---|---|---|---|",
        ]
        for r in fil["rows"]:
            out.append(
                f"| {r['step']} | {_f(r['time_vs_copy'])} | {_f(r['megapixels_per_s'], '{:.3f}')} | "
                f"{_f(r.get('model_tiles_per_output_tile'))} | {_f(r['cpu_over_wall'], '{:.1f}')} |"
            )
        c = fil["flag_counts_default"]
        out += [
            "",
            f"**(b)/(a) = {fil['ratio_fill_default_vs_copy']:.1f}** with the default model, "
            f"{_f(fil.get('ratio_fill_fast_vs_copy'), '{:.1f}')} with the fast model, "
            f"{fil['ratio_fill_laplace_vs_copy']:.1f} with the Laplace filler and "
            f"{_f(fil.get('ratio_fill_zero_cost_vs_copy'), '{:.1f}')} with a tile model that costs nothing "
            "(each gap gets its tile's observed mean): the last is sstfill's own cost around the model "
            "(cutting and blending tiles, fallback, flags, dask, writing two variables), the floor for any model on this machine.",
            f"The default model's output has {c['filled']:,} filled, {c['observed']:,} observed, "
            f"{c['land']:,} land and {c['not_filled']:,} not-filled pixels.",
            "",
        ]
    if sca:
        out += [
            "## 3. Scaling with the field size",
            "",
            f"{sca['fields']}. {sca['memory']}. \"time per MP vs 1x\" is the time per megapixel "
            "relative to the smallest field: 1.0 means the time grows linearly with the area.",
            "",
            "| model | field | area | chunks | time per MP vs 1x | CPU time per MP vs 1x | output tiles/s | RSS before fill (MB) | peak RSS during fill (MB) | peak vs 1x | fill's own memory (MB) | its ratio to 1x | CPU use (cores) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in sca["rows"]:
            out.append(
                f"| {r['model']} | {r['size']}^2 | {r['area_x']:g}x | {r['chunks']} | {_f(r['time_per_mp_vs_1x'])} | {_f(r['cpu_per_mp_vs_1x'])} | "
                f"{_f(r['output_tiles_per_s'], '{:.0f}')} | {_f(r['rss_before_fill_mb'], '{:.0f}')} | {_f(r['fill_peak_mb'], '{:.0f}')} | {_f(r['peak_rss_vs_1x'])} | "
                f"{_f(r['working_mb'], '{:.0f}')} | {_f(r['working_mb_vs_1x'])} | {_f(r['cpu_s'] / r['wall_s'], '{:.1f}')} |"
            )
        out += ["", "![scaling](speed_scaling.png)", ""]
    if res.get("notes"):
        out += ["## What the numbers say", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(out)


def findings(res: dict[str, Any]) -> list[str]:
    """Plain statements computed from the numbers (the page's commentary)."""
    notes: list[str] = []
    cores = res["environment"]["cpu_count"]
    thr, fil, sca = res.get("throughput"), res.get("file"), res.get("scaling")
    loads = [x for part in (thr, fil, sca) if part for x in (part["load_avg_before"][0], part["load_avg_after"][0])]
    if loads and max(loads) > cores:
        notes.append(
            f"**The machine was shared**: the 1-minute load average was {min(loads):.1f}-{max(loads):.1f} on {cores} cores "
            "during the run, and single-threaded methods got well under one core (column \"CPU use\"). "
            "Absolute rates here are therefore low and noisy (the same fill varied by up to 2-3x between runs); "
            "the ratios within a section, measured round-robin, are the numbers to use."
        )
    if thr:
        by = {(r["method"], r["input"]): r for r in thr["rows"]}
        d_np, d_dk = by.get(("sstfill default", "numpy")), by.get(("sstfill default", "dask"))
        d_1 = by.get(("sstfill default, 1 torch thread", "numpy"))
        if d_np and d_dk:
            best = max((r for r in (d_np, d_dk, d_1) if r), key=lambda r: r["output_tiles_per_s"])
            notes.append(
                f"The default model fills {d_np['output_tiles_per_s']:.0f} output tiles/s on numpy input as shipped, "
                + (f"{d_1['output_tiles_per_s']:.0f} with 1 torch thread, " if d_1 else "")
                + f"and {d_dk['output_tiles_per_s']:.0f} on dask input; on this real scene it runs "
                f"{d_np['model_tiles_per_output_tile']:.2f} model tiles per output tile (tiles without gaps are "
                "skipped, tiles with no observation are left to the harmonic fallback). At best "
                f"{best['output_tiles_per_s']:.0f} output tiles/s: the CPU target of 300 is "
                + ("met." if best["output_tiles_per_s"] >= 300 else f"not met (x{300 / best['output_tiles_per_s']:.1f} short).")
            )
        fast = by.get(("sstfill fast", "numpy"))
        if fast and d_np:
            fast_best = max((r for r in (fast, by.get(("sstfill fast", "dask")), by.get(("sstfill fast, 1 torch thread", "numpy"))) if r), key=lambda r: r["output_tiles_per_s"])
            notes.append(
                f"The `fast` preset fills {fast_best['output_tiles_per_s']:.0f} output tiles/s at best "
                f"({d_np['best_wall_s'] / fast['best_wall_s']:.1f}x the default model's speed on numpy input): "
                + (
                    "the 1000 target is met."
                    if fast_best["output_tiles_per_s"] >= 1000
                    else f"the 1000 target is not met (x{1000 / fast_best['output_tiles_per_s']:.2f} short)."
                )
                + " Its accuracy cost is on the accuracy page (ablation 'fast')."
            )
        bih = by.get(("biharmonic (scikit-image)", "numpy"))
        if bih and d_np:
            ratio = d_np["output_tiles_per_s"] / bih["output_tiles_per_s"]
            notes.append(
                f"The default model is {ratio:.0f}x as fast as scikit-image's biharmonic fill in the same run "
                + ("(target: at least 2x, met)." if ratio >= 2 else "(target: at least 2x, **not met**).")
            )
        slow = []
        for label in ("default", "fast", "laplace"):
            a, b = by.get((f"sstfill {label}", "numpy")), by.get((f"sstfill {label}, 1 torch thread", "numpy"))
            if a and b and a["best_wall_s"] > 1.3 * b["best_wall_s"]:
                slow.append(f"{label} {a['best_wall_s'] / b['best_wall_s']:.1f}x")
        if slow:
            notes.append(
                f"**torch's default of {res['environment']['torch_threads_at_start']} intra-op threads made the numpy-input fill slower than 1 thread** "
                f"({', '.join(slow)} the time), and its CPU time rose too: the fill is thousands of small tensor operations "
                "(SOR sweeps and convolutions on 64 x 64 tiles), each ending at a barrier that waits for a thread "
                "the OS has descheduled when other processes compete for the cores. The dask path, where sstfill "
                "sets 1 torch thread per task, does not suffer from it. Whether 2 threads beat 1 on an idle machine "
                "was not measured here (this machine was never idle)."
            )
        peers = [r for r in thr["rows"] if r["input"] == "numpy" and not r["method"].startswith("sstfill")]
        if peers and d_1:
            parts = []
            for r in peers:
                x = r.get("time_vs_default_1_thread")
                if x:
                    parts.append(f"{r['method'].split(' (')[0]} {x:.2f}")
            notes.append("Peers' time per pixel relative to the default model with 1 torch thread (numpy input): " + "; ".join(parts) + ".")
        stack_rows = {r["method"].split(" (")[0]: r for r in thr["rows"] if r["input"] == "stack"}
        if "DINEOF" in stack_rows and "sstfill default" in stack_rows:
            notes.append(
                f"On DINEOF's own stack ({stack_rows['DINEOF']['field']}) DINEOF takes {stack_rows['DINEOF']['time_vs_default']:.1f}x the default model's time"
                + (f" and biharmonic {stack_rows['biharmonic']['time_vs_default']:.0f}x" if "biharmonic" in stack_rows else "")
                + " (the default model as shipped, torch's default threads)."
            )
        for r in thr["rows"]:
            n = by.get((r["method"], "numpy"))
            if r["input"] == "dask" and n and r.get("model_tiles_per_output_tile") and n.get("model_tiles_per_output_tile"):
                extra = r["model_tiles_per_output_tile"] / n["model_tiles_per_output_tile"] - 1
                if extra > 0.03:
                    notes.append(
                        f"{r['method']}: with {thr['chunks']} chunks, {extra:.0%} more model tiles run than on numpy input "
                        "(tiles that straddle a chunk border run once per chunk): the price of chunk-independent results."
                    )
                    break
    con = res.get("contention")
    if con:
        parts = []
        for label in dict.fromkeys(r["model"] for r in con["rows"]):
            multi = [r for r in con["rows"] if r["model"] == label and r["input"] == "numpy" and r["torch_threads"] > 1]
            dk = [r for r in con["rows"] if r["model"] == label and r["input"] == "dask"]
            if multi:
                parts.append(
                    f"{label}: {multi[0]['torch_threads']} torch threads take {multi[0]['time_vs_1_thread']:.1f}x the time of 1"
                    + (f", dask input {dk[0]['time_vs_1_thread']:.1f}x" if dk else "")
                )
        if parts:
            losers = [r["model"] for r in con["rows"] if r["torch_threads"] > 1 and r["input"] == "numpy" and r["time_vs_1_thread"] > 1.3]
            notes.append(
                "Under CPU contention (section 1b) "
                + "; ".join(parts)
                + (
                    f". **For {' and '.join(losers)}, torch's default thread count turns from a gain on a quiet machine into a "
                    "loss on a busy one**: the fill is thousands of small tensor operations (SOR sweeps on 64 x 64 tiles), "
                    "each ending at a barrier that waits for a thread the OS has descheduled (the network's larger "
                    "convolutions likely amortise it better). On numpy input sstfill leaves torch's default; on dask input it sets 1 "
                    "torch thread per task, which holds up under contention."
                    if losers
                    else "."
                )
            )
    if fil:
        zero = fil.get("ratio_fill_zero_cost_vs_copy")
        notes.append(
            f"Whole file: open -> fill -> write takes {fil['ratio_fill_default_vs_copy']:.0f}x the time of "
            f"reading and writing the same store with the default model ({_f(fil.get('ratio_fill_fast_vs_copy'), '{:.1f}')}x with the fast model, "
            f"{fil['ratio_fill_laplace_vs_copy']:.1f}x with the Laplace filler): I/O is not the bottleneck, the model is"
            + (
                f"; with a model that costs nothing it is {zero:.1f}x, so on this machine the 3x target is "
                + ("out of reach for any model: sstfill's own work around the model already takes that." if zero >= 3 else "reachable only with a much faster model (a GPU).")
                if zero is not None
                else "."
            )
        )
    if sca:
        for label in dict.fromkeys(r["model"] for r in sca["rows"]):
            rows = [r for r in sca["rows"] if r["model"] == label]
            if len(rows) < 2:
                continue
            t = ", ".join(f"{r['time_per_mp_vs_1x']:.2f}" for r in rows)
            c = ", ".join(f"{r['cpu_per_mp_vs_1x']:.2f}" for r in rows)
            w = ", ".join(f"{r['fill_peak_mb']:.0f}" for r in rows)
            own = ", ".join(f"{r['working_mb']:.0f}" for r in rows)
            areas = ", ".join(f"{r['area_x']:g}x" for r in rows)
            fit = sca["linear_fit"][label]
            notes.append(
                f"Scaling, {label}: time per megapixel relative to 1x = {t} (CPU time: {c}) at {areas}: "
                + ("no worse than linear. " if max(r["time_per_mp_vs_1x"] for r in rows) <= 1.1 else "worse than linear. ")
                + f"A straight-line fit (time = fixed + cost per megapixel) puts {fit['fixed_share_at_1x']:.0%} of the 1x time "
                f"and {fit['fixed_share_at_largest']:.0%} of the {rows[-1]['area_x']:g}x time in a fixed cost (opening the store, "
                "building and tokenising the graph, first calls into torch, writing metadata), which is why small fields "
                "cost more per pixel. "
                + (
                    f"The 1x field is one chunk, so only one task runs at a time; CPU use was {rows[0]['cpu_s'] / rows[0]['wall_s']:.1f} "
                    f"cores at 1x and {rows[-1]['cpu_s'] / rows[-1]['wall_s']:.1f} at {rows[-1]['area_x']:g}x."
                    if rows[0]["n_chunks"] == 1
                    else ""
                )
            )
            grow = rows[-1]["working_mb"] / rows[1]["working_mb"] if rows[1]["working_mb"] > 0 else None
            notes.append(
                f"Memory, {label}: peak RSS during the fill {w} MB, of which the fill's own {own} MB. "
                + (
                    f"From 1x (one chunk, one task) to 4x (two tasks at once) the fill's memory rises x{rows[1]['working_mb'] / rows[0]['working_mb']:.1f}; "
                    f"from 4x to 16x, where the number of tasks in flight is the same, x{grow:.2f}"
                    + (" (flat)." if grow is not None and grow < 1.15 else " (**not flat**).")
                    if rows[0]["working_mb"] > 0 and grow
                    else ""
                )
            )
        plain = [r for r in sca["rows"] if r["model"] == "default"]
        fixed = [r for r in sca["rows"] if r["model"].startswith("default, MALLOC")]
        if plain and fixed and len(plain) == len(fixed) and len(plain) >= 3:
            fixed_own = ", ".join(f"{r['working_mb']:.0f}" for r in fixed)
            g_plain = plain[-1]["working_mb"] - plain[1]["working_mb"]
            g_fixed = fixed[-1]["working_mb"] - fixed[1]["working_mb"]
            share = 1 - g_fixed / g_plain if g_plain > 0 else None
            notes.append(
                "With `MALLOC_MMAP_THRESHOLD_=65536` (glibc hands big freed blocks back to the OS instead of keeping them "
                f"in its heap) the default model's peak RSS at {plain[-1]['area_x']:g}x is {fixed[-1]['fill_peak_mb']:.0f} MB instead of "
                f"{plain[-1]['fill_peak_mb']:.0f} MB, and the fill's own memory is {fixed_own} MB. From {plain[1]['area_x']:g}x to "
                f"{plain[-1]['area_x']:g}x it grows by {g_plain:.0f} MB with glibc's defaults and by {g_fixed:.0f} MB with the fixed threshold"
                + (
                    f": about {share:.0%} of the growth is memory the allocator keeps after the tile batches and activations "
                    "of earlier chunks are freed, not live data"
                    if share is not None and share > 0.2
                    else ": the allocator does not explain it"
                )
                + (f"; the remaining {g_fixed:.0f} MB was not tracked down in this run." if g_fixed > 50 else ".")
            )
    return notes


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run (about a minute)")
    p.add_argument("--out", default=None, help="folder for speed.json, speed.md, speed_scaling.png (default docs/benchmarks; a temporary folder with --quick)")
    p.add_argument("--shared", default=None, help="shared data folder: section 1 uses a real SLSTR crop (real clouds)")
    p.add_argument("--fast", default="fast", metavar="PATH", help="the 'fast' preset model: 'fast' (the bundled one, default), a saved model file, or 'none' to skip it")
    p.add_argument("--repeats", type=int, default=None, help="round-robin repeats in section 1 (default 2; 1 with --quick)")
    p.add_argument("--sections", default="1,1b,2,3", help="which sections to run, e.g. '1,3' (1b: fill under CPU contention)")
    p.add_argument("--no-allocator-check", action="store_true", help="section 3: skip the default-model rows rerun with MALLOC_MMAP_THRESHOLD_=65536")
    p.add_argument("--workdir", default=None, help="scratch folder for the zarr stores (default: a temporary folder)")
    p.add_argument("--from-json", default=None, metavar="PATH", help="only re-render speed.md and speed_scaling.png from an existing speed.json (into its folder, or --out)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"], help="where the neural models run (default: %(default)s; the peers always run on the CPU)")
    p.add_argument("--child-scaling", nargs=3, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.from_json:
        src = Path(args.from_json)
        res = json.loads(src.read_text(encoding="utf-8"))
        out_dir = Path(args.out) if args.out else src.parent
        out_dir.mkdir(parents=True, exist_ok=True)
        res["notes"] = findings(res)
        if "scaling" in res:
            plot_scaling(res["scaling"], out_dir / "speed_scaling.png")
        (out_dir / "speed.md").write_text(to_markdown(res) + "\n", encoding="utf-8")
        if out_dir != src.parent:
            shutil.copy(src, out_dir / "speed.json")
        print(f"re-rendered {out_dir / 'speed.md'} from {src}")
        return 0

    if args.child_scaling:
        child_scaling(*args.child_scaling, args.fast, args.device)
        return 0

    import dask

    import sstfill  # noqa: F401  (registers .inpaint)
    from sstfill.models.store import resolve_model

    dask.config.set(scheduler="threads")
    t_start = time.perf_counter()
    mode = "quick" if args.quick else "full"
    cfg = SIZES[mode]
    out_dir = Path(args.out) if args.out else (Path(tempfile.mkdtemp(prefix="sstfill-speed-")) if args.quick else REPO / "docs" / "benchmarks")
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = {s.strip() for s in args.sections.split(",")}

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f} s] {msg}", flush=True)

    command = "python benchmarks/speed.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    res: dict[str, Any] = {"command": command.strip(), "quick": args.quick, "mode": mode, "sizes": cfg, "date": _dt.datetime.now().isoformat(timespec="seconds"), "device": args.device}
    res["environment"] = environment()
    log(f"{mode} run, {os.cpu_count()} cores, torch threads {_torch_threads()}, load {_load()}")

    models: dict[str, Any] = {"default": resolve_model(None, device=args.device)}
    res["device"] = str(getattr(models["default"], "device", "cpu"))  # "auto" resolved
    if args.fast and args.fast.lower() != "none":
        models["fast"] = resolve_model(args.fast, device=args.device)
    else:
        res["fast_skipped"] = "--fast none was given"
    models["laplace"] = resolve_model("laplace")
    res["models"] = {k: m.description for k, m in models.items()}

    workdir_ctx = contextlib.nullcontext(args.workdir) if args.workdir else tempfile.TemporaryDirectory(prefix="sstfill-speed-")
    with workdir_ctx as wd:
        workdir = Path(wd)
        workdir.mkdir(parents=True, exist_ok=True)
        if "3" in sections:  # first: fresh subprocesses, before this process warms anything up
            log("section 3: scaling (one subprocess per model and size)")
            res["scaling"] = section_scaling(cfg, args, workdir, log)
        if "1" in sections:
            log("section 1: fill throughput")
            res["throughput"] = section_throughput(cfg, args, models, log)
        if "1b" in sections:
            log("section 1b: numpy fill under CPU contention (busy processes on every core)")
            res["contention"] = section_contention(cfg, args, models, log)
        if "2" in sections:
            log("section 2: whole file, fill vs I/O")
            res["file"] = section_file(cfg, args, workdir, log)
    res["runtime_s"] = time.perf_counter() - t_start
    res["notes"] = findings(res)
    if "scaling" in res:
        plot_scaling(res["scaling"], out_dir / "speed_scaling.png")
    with open(out_dir / "speed.json", "w") as f:
        json.dump(res, f, indent=1, default=str)
    md = to_markdown(res)
    (out_dir / "speed.md").write_text(md + "\n", encoding="utf-8")
    print(md)
    log(f"done in {res['runtime_s']:.0f} s; wrote {out_dir}/speed.md, speed.json" + (", speed_scaling.png" if "scaling" in res else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
