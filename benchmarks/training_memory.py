"""Memory of adapting a model to archives larger than the samples' limit: streamed against read whole.

``ds.inpaint.train(var="sst", init="context", max_minutes=M)`` (``--init``: another bundled model) on zarr stores opened
lazily (synthetic SST under real-shaped clouds, one step a chunk) of two lengths, each run
twice in fresh subprocesses: as shipped (a field larger than
``sstfill.xr.samples.SAMPLES_IN_MEMORY_BYTES`` is read a pool of steps at a time) and with
the limit lifted (every training image read into memory, as before 2026-12-06). Reports
each run's peak resident memory, wall time, epochs and the validation by filling; the
point is how the peak grows with the archive.

    python benchmarks/training_memory.py --out docs/benchmarks
    python benchmarks/training_memory.py --init fast --steps 64 --out docs/benchmarks   # training_memory_fast.{json,md}
    python benchmarks/training_memory.py --init latent --steps 64 --out docs/benchmarks # training_memory_latent.{json,md}

The ``fast`` model sees its tiles alone: read whole, its training tiles are cut at a stride
of half a tile, up to 4 times the images (its limit counts them so). ``--init latent``
trains a latent (DCGAN) model afresh instead (``train(method="latent")``) on gap-free
stores (an L4 archive: a DCGAN learns from whole tiles), so every tile is a training tile.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
#: How run_one calls train() where it is not ``init=<the bundled model>``.
TRAIN_CALL = {"latent": "method='latent', epochs=10**6, batch_size=32"}
MODES = {"streamed": "as shipped: read a pool of steps at a time", "whole": "limit lifted: every training image in memory"}
WHAT_IT_SEES = {"context": "the context model's 192-pixel windows and 4 neighbouring days",
                "default": "the default model's 96-pixel windows (a 16-pixel margin) around 64-pixel tiles",
                "fast": "the fast model's 64-pixel tiles, cut every 32 pixels",
                "latent": "a latent (DCGAN) model trained afresh on whole 64-pixel tiles, cut every 32 pixels, of gap-free stores"}


def write_store(path: Path, nt: int, n: int, seed: int = 0, clouds: bool = True) -> float:
    """A zarr store ``sst`` (nt, n, n) float32 with real-shaped clouds over 40 % of each step (``clouds``); its size in GB."""
    import pandas as pd
    import xarray as xr

    sys.path.insert(0, str(HERE.parent))
    from benchmarks.speed_fields import HOLE_FRACTION, mirror_tile
    from sstfill.kernels.holes import make_holes
    from sstfill.testing import synthetic_sst

    base = synthetic_sst(512, 512, nt=nt, seed=seed, land=False, step=0.01)
    rng = np.random.default_rng(seed + 1)
    coords = {"time": pd.date_range("2021-01-01", periods=nt, freq="D"),
              "lat": ("lat", (30.0 + 0.01 * np.arange(n)).astype("float32"), {"standard_name": "latitude", "units": "degrees_north"}),
              "lon": ("lon", (-125.0 + 0.01 * np.arange(n)).astype("float32"), {"standard_name": "longitude", "units": "degrees_east"})}
    empty = xr.DataArray(np.zeros((nt, n, n), "float32"), dims=("time", "lat", "lon"), coords=coords, name="sst", attrs=dict(base.attrs))
    empty.to_dataset().chunk({"time": 1, "lat": n, "lon": n}).to_zarr(path, mode="w", compute=False)
    for t in range(nt):
        step = mirror_tile(base.values[t], n, n)
        hidden = np.repeat(np.repeat(make_holes("clouds", (n // 4, n // 4), rng, fraction=HOLE_FRACTION), 4, 0), 4, 1)
        one = xr.DataArray(np.where(hidden & clouds, np.nan, step).astype("float32")[None], dims=("time", "lat", "lon"), name="sst")
        one.to_dataset().to_zarr(path, region={"time": slice(t, t + 1), "lat": slice(0, n), "lon": slice(0, n)})
    return nt * n * n * 4 / 1e9


def run_one(store: str, mode: str, minutes: float, init: str = "context") -> dict:
    """In this process: adapt the bundled ``init`` model on the store; peak RSS and what training recorded."""
    import psutil
    import xarray as xr

    import sstfill  # noqa: F401  (registers .inpaint)
    import sstfill.xr.samples as samples

    if mode == "whole":
        samples.SAMPLES_IN_MEMORY_BYTES = float("inf")
    from sstfill.models.store import load_bundled_model

    load_bundled_model("fast" if init == "latent" else init)  # imports (and the model) before the baseline
    ds = xr.open_zarr(store)
    before = psutil.Process().memory_info().rss / 2**20
    t0 = time.perf_counter()
    call = dict(method="latent", epochs=10**6, batch_size=32) if init == "latent" else dict(init=init)  # TRAIN_CALL
    model = ds.inpaint.train(var="sst", max_minutes=minutes, progress=False, **call)
    wall = time.perf_counter() - t0
    h = model.history
    if init == "latent":  # no validation by filling: the RMSE of its validation tiles' hidden pixels, filled after training
        h = dict(h, tiles_per_second=[32 * sum(h["steps"]) / sum(h["seconds"])], start_val_fill_rmse=[np.nan], val_fill_rmse=h.get("val_rmse", [np.nan]))
    return {
        "mode": mode,
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "wall_s": round(wall, 1),
        "trained_s": round(float(sum(h["seconds"])), 1),
        "epochs": len(h["epoch"]),
        "samples_per_s": round(float(np.mean(h["tiles_per_second"])), 1),
        "split": h["split"],
        "tiles": h["tiles"],
        "val_fill_rmse_start": h.get("start_val_fill_rmse", [None])[0],
        "val_fill_rmse_kept": min(h.get("val_fill_rmse", [np.inf]) + h.get("start_val_fill_rmse", [])),
        "limit_mb": None if mode == "whole" else samples.SAMPLES_IN_MEMORY_BYTES / 2**20,
    }


def _number(value: float | None, spec: str) -> str:
    """``value`` formatted, or n/a (a latent model is not validated by filling)."""
    return "n/a" if value is None or not np.isfinite(value) else format(value, spec)


def render(result: dict) -> str:
    runs = result["runs"]
    latent = result.get("init") == "latent"
    lines = [
        "# Memory of " + ("training a latent model on" if latent else "adapting to") + " an archive larger than the samples' limit",
        "",
        "    " + result["command"],
        "",
        f"Run {result['date']} on {os.cpu_count()} CPU cores, {result['minutes_total']:.1f} min in all. Stores: {result['store']}. "
        f"Each run: `xr.open_zarr(store).inpaint.train(var='sst', {TRAIN_CALL.get(result.get('init', 'context'), 'init=' + repr(result.get('init', 'context')))}, max_minutes={result['budget_minutes']})` in a fresh subprocess "
        f"({WHAT_IT_SEES[result.get('init', 'context')]}; "
        + ("the last column: the RMSE of the hidden pixels of up to 96 validation tiles, filled after training" if latent else "validation by filling a band of rows")
        + "). Peak RSS: the process's "
        "largest resident memory (imports and the model included).",
        "",
        "| steps | archive (GB) | run | peak RSS (MB) | RSS before training (MB) | wall (s) | trained (s) | epochs | samples/s | "
        + ("validation tiles' hidden RMSE (degC) |" if latent else "validation by filling (degC): start -> kept |"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if "killed" in r:
            lines.append(f"| {r['steps']} | {r['archive_gb']:.2f} | {r['mode']} ({MODES[r['mode']]}) | {r['killed']} | | | | | | |")
            continue
        lines.append(f"| {r['steps']} | {r['archive_gb']:.2f} | {r['mode']} ({MODES[r['mode']]}) | {r['peak_rss_mb']:.0f} | {r['rss_before_mb']:.0f} | {r['wall_s']:.0f} | "
                     f"{r['trained_s']:.0f} | {r['epochs']} | {_number(r['samples_per_s'], '.0f')} | "
                     + ("" if latent else f"{_number(r['val_fill_rmse_start'], '.4f')} -> ") + f"{_number(r['val_fill_rmse_kept'], '.4f')} |")
    lines.append("")
    runs = [r for r in runs if "killed" not in r]  # the ratios below: runs that finished
    small, large = min(r["steps"] for r in runs), max(r["steps"] for r in runs)
    for mode in MODES if small != large else ():
        a = next((r for r in runs if r["mode"] == mode and r["steps"] == small), None)
        b = next((r for r in runs if r["mode"] == mode and r["steps"] == large), None)
        if a is None or b is None:
            continue
        lines.append(f"- {mode}: from {small} to {large} steps the peak grows by {b['peak_rss_mb'] - a['peak_rss_mb']:.0f} MB "
                     f"({b['archive_gb'] - a['archive_gb']:.2f} GB more archive); wall time x{b['wall_s'] / a['wall_s']:.2f}.")
    for n in sorted({r["steps"] for r in runs}):
        s = next((r for r in runs if r["mode"] == "streamed" and r["steps"] == n), None)
        w = next((r for r in runs if r["mode"] == "whole" and r["steps"] == n), None)
        if s is None or w is None:
            continue
        lines.append(f"- {n} steps, streamed against read whole: peak memory x{s['peak_rss_mb'] / w['peak_rss_mb']:.2f}, wall time x{s['wall_s'] / w['wall_s']:.2f}, "
                     f"training samples per second x{_number(s['samples_per_s'] / w['samples_per_s'], '.2f')}.")
    s = runs[0]
    lines += ["", f"Limit: {s['limit_mb']:.0f} MB of padded images per set. Split ({small} steps): {s['split']}; samples {s['tiles']}.", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, nargs="+", default=[32, 128])
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--minutes", type=float, default=1.0)
    p.add_argument("--init", default="context", choices=sorted(WHAT_IT_SEES), help="the bundled model to adapt, or latent: a latent model trained afresh")
    p.add_argument("--out", default=None, help="folder for training_memory.json and .md (default: print only)")
    p.add_argument("--run", choices=sorted(MODES), help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        print(json.dumps(run_one(args.store, args.run, args.minutes, args.init)))
        return
    t0 = time.perf_counter()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for steps in args.steps:
            store = Path(tmp) / f"archive_{steps}.zarr"
            gb = write_store(store, steps, args.size, clouds=args.init != "latent")
            for mode in ("streamed", "whole"):
                out = subprocess.run([sys.executable, __file__, "--run", mode, "--store", str(store), "--minutes", str(args.minutes), "--init", args.init],
                                     capture_output=True, text=True)
                if out.returncode == -9:  # the kernel's out-of-memory killer (read whole, a large archive does not fit)
                    import psutil

                    runs.append({"steps": steps, "archive_gb": gb, "mode": mode, "killed": f"killed (SIGKILL: out of the machine's {psutil.virtual_memory().total / 2**30:.0f} GiB)"})
                else:
                    out.check_returncode()
                    runs.append({"steps": steps, "archive_gb": gb, **json.loads(out.stdout.strip().splitlines()[-1])})
                print(runs[-1], flush=True)
    command = "python benchmarks/training_memory.py" + (f" --out {args.out}" if args.out else "")
    if args.init != "context":
        command += f" --init {args.init}"
    if (args.steps, args.size, args.minutes) != ([32, 128], 2048, 1.0):
        command += f" --steps {' '.join(map(str, args.steps))} --size {args.size} --minutes {args.minutes}"
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command, "budget_minutes": args.minutes, "init": args.init,
              "store": f"{' and '.join(map(str, args.steps))} steps of {args.size} x {args.size} float32, zarr, one step a chunk, "
                       + ("no gaps" if args.init == "latent" else "clouds over 40 %"),
              "runs": runs, "minutes_total": (time.perf_counter() - t0) / 60}
    text = render(result)
    print(text)
    if args.out:
        name = "training_memory" + ("" if args.init == "context" else f"_{args.init}")
        Path(args.out, f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
        Path(args.out, f"{name}.md").write_text(text)


if __name__ == "__main__":
    main()
