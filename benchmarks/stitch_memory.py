#!/usr/bin/env python
"""The fill's own memory with and without the stitching, on the speed page's scaling fields (512^2 and 2048^2 zarr, chunks 512).

Each fill runs in a fresh process (threaded dask; psutil samples the resident memory every
20 ms): open_zarr -> Dataset.inpaint.fill(var="sst", model=..., stitch=..., fallback=...) ->
write_atomic. Prints one JSON line per run.

    python benchmarks/stitch_memory.py --model laplace
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def child(src: str, dst: str, model: str, stitch: bool, fallback: bool) -> dict:
    """One fill in this process: its wall time, resident memory before and peak during (MB)."""
    import threading
    import time

    import dask
    import psutil
    import xarray as xr

    import sstfill  # noqa: F401
    from sstfill.xr.io import write_atomic

    dask.config.set(scheduler="threads")
    proc, peak, stop = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(0.02)

    before = proc.memory_info().rss
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    write_atomic(xr.open_zarr(src).inpaint.fill(var="sst", model=model, stitch=stitch, fallback=fallback), dst, overwrite=True)
    stop.set()
    sampler.join()
    return {"model": model, "stitch": stitch, "fallback": fallback, "seconds": round(time.perf_counter() - t0, 2),
            "rss_before_mb": before // 2**20, "peak_mb": peak[0] // 2**20, "own_mb": (peak[0] - before) // 2**20}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="laplace")
    p.add_argument("--sizes", type=int, nargs="*", default=[512, 2048])
    p.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        src, dst, model, stitch, fallback = args.child
        print(json.dumps(child(src, dst, model, stitch == "1", fallback == "1")))
        return 0
    from benchmarks.speed_fields import write_input_zarr

    with tempfile.TemporaryDirectory() as work:
        for n in args.sizes:
            src = Path(work) / f"scale_{n}.zarr"
            write_input_zarr(src, (n, n), 512, seed=3)  # as benchmarks/speed_scaling.py writes them
            for stitch, fallback in ((1, 1), (0, 1), (1, 0), (0, 0)):
                run = subprocess.run([sys.executable, __file__, "--child", str(src), str(Path(work) / "out.zarr"), args.model, str(stitch), str(fallback)],
                                     capture_output=True, text=True, check=True)
                print(json.dumps({"size": n, **json.loads(run.stdout.strip().splitlines()[-1])}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
