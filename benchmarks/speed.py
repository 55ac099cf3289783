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
   as a ratio to the default model's. Each sstfill model also runs with its tiles' plain
   weighted blend (``fill(stitch=False)``, "plain blend"): what the stitching costs.
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

The pieces: ``speed_fields.py`` (fields, counting and zero-cost tile models),
``speed_sections.py`` (sections 1, 1b, 2), ``speed_scaling.py`` (section 3),
``render_speed.py`` (JSON to the page and figure), ``speed_findings.py`` (the page's
statements, against ``targets.py``), ``harness.py`` (run record, timing, model specs).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` and `sstfill` importable
    sys.path.insert(0, str(REPO))

from benchmarks.harness import command_line, environment, load_average, parse_model_spec, torch_threads, write_json  # noqa: E402
from benchmarks.render_speed import plot_scaling, to_markdown  # noqa: E402
from benchmarks.speed_fields import TILE_AREA, CountingModel, TileMeanModel, realistic_field, synthetic_field  # noqa: E402,F401
from benchmarks.speed_findings import findings  # noqa: E402
from benchmarks.speed_scaling import ALLOCATOR_ENV, child_scaling, section_scaling  # noqa: E402,F401
from benchmarks.speed_sections import section_contention, section_file, section_throughput  # noqa: E402

__all__ = ["SIZES", "TILE_AREA", "ALLOCATOR_ENV", "CountingModel", "TileMeanModel", "synthetic_field", "realistic_field",
           "section_throughput", "section_contention", "section_file", "section_scaling", "child_scaling",
           "findings", "to_markdown", "plot_scaling", "main"]

warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part", category=UserWarning)

# sizes per mode: (section 1 field, DINEOF stack, section 2 stack, section 3 sizes, chunk)
SIZES = {
    "full": dict(field=1024, dineof=(10, 512, 512), file=(4, 1024, 1024), scaling=(512, 1024, 2048), chunk=512, repeats=2),
    "quick": dict(field=256, dineof=(4, 128, 128), file=(2, 256, 256), scaling=(128, 256, 512), chunk=128, repeats=1),
}


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

    dask.config.set(scheduler="threads")
    t_start = time.perf_counter()
    mode = "quick" if args.quick else "full"
    cfg = SIZES[mode]
    out_dir = Path(args.out) if args.out else (Path(tempfile.mkdtemp(prefix="sstfill-speed-")) if args.quick else REPO / "docs" / "benchmarks")
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = {s.strip() for s in args.sections.split(",")}

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f} s] {msg}", flush=True)

    command = command_line("speed.py", argv if argv is not None else sys.argv[1:])
    res: dict[str, Any] = {"command": command, "quick": args.quick, "mode": mode, "sizes": cfg, "date": _dt.datetime.now().isoformat(timespec="seconds"), "device": args.device}
    res["environment"] = environment(args.device)
    log(f"{mode} run, {os.cpu_count()} cores, torch threads {torch_threads()}, load {load_average()}")

    specs = {"default": parse_model_spec("default"), "laplace": parse_model_spec("laplace")}
    if args.fast and args.fast.lower() != "none":
        specs["fast"] = parse_model_spec(f"fast={args.fast}")
    models: dict[str, Any] = {"default": specs["default"].tile_model(device=args.device)}
    res["device"] = str(getattr(models["default"], "device", "cpu"))  # "auto" resolved
    if "fast" in specs:
        models["fast"] = specs["fast"].tile_model(device=args.device)
    else:
        res["fast_skipped"] = "--fast none was given"
    models["laplace"] = specs["laplace"].tile_model()
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
            res["file"] = section_file(cfg, args, workdir, log, specs)
    res["runtime_s"] = time.perf_counter() - t_start
    res["notes"] = findings(res)
    if "scaling" in res:
        plot_scaling(res["scaling"], out_dir / "speed_scaling.png")
    write_json(out_dir / "speed.json", res)
    md = to_markdown(res)
    (out_dir / "speed.md").write_text(md + "\n", encoding="utf-8")
    print(md)
    log(f"done in {res['runtime_s']:.0f} s; wrote {out_dir}/speed.md, speed.json" + (", speed_scaling.png" if "scaling" in res else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
