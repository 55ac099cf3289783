#!/usr/bin/env python
"""Tile-filling throughput of sstfill models on CPU and (where present) GPU, in one run.

Reports model tiles/s for ``predict_tiles`` at several batch sizes, and, on the same
random-but-realistic tiles, the CPU/GPU agreement of the predictions. Numbers are
ratios within one run; absolute times depend on the machine.

    python benchmarks/throughput.py --model default --model fast --device cuda --out throughput.json
    python benchmarks/throughput.py --model default --model default_fp32=default --precision default_fp32=float32

``--train PRESET`` (repeatable) also measures training throughput: tiles/s of the real
training loop (:func:`sstfill.training.trainer.fit`: holes, augmentation, generator and
discriminator steps), batch ``--train-batch``, on the second of two short epochs.

    python benchmarks/throughput.py --model default --train fast --train default

Models are ``--model LABEL=SPEC[@precision]`` (``benchmarks/harness.py``: SPEC is ``default``,
``fast``, ``laplace`` or a saved model file). ``--precision LABEL=float32|bfloat16|auto`` (or
``@precision`` in the spec) sets a model's compute precision (default "auto": bfloat16 on GPUs
and on CPUs with native bfloat16, else float32).
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` and `sstfill` importable
    sys.path.insert(0, str(REPO))

from benchmarks.harness import MODEL_SPEC_HELP, best_of, command_line, environment, parse_model_spec, write_json  # noqa: E402
from sstfill.kernels.holes import make_holes  # noqa: E402
from sstfill.testing import synthetic_sst  # noqa: E402


def truth_tiles(n: int, tile: int = 64, seed: int = 0) -> np.ndarray:
    """``n`` complete SST tiles cut at random from a synthetic field."""
    field = synthetic_sst(tile * 8, tile * 8, seed=seed, land=False).values
    rng = np.random.default_rng(seed)
    ys = rng.integers(0, field.shape[0] - tile, n)
    xs = rng.integers(0, field.shape[1] - tile, n)
    return np.stack([field[y : y + tile, x : x + tile] for y, x in zip(ys, xs)]).astype("float32")


def realistic_tiles(n: int, tile: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` SST tiles with real-shaped cloud gaps (about 40 % hidden)."""
    tiles = truth_tiles(n, tile, seed)
    rng = np.random.default_rng(seed)
    observed = ~np.stack([make_holes("clouds", (tile, tile), rng, fraction=0.4) for _ in range(n)])
    return np.where(observed, tiles, np.nan).astype("float32"), observed


def model_window(model) -> int:
    """The window a model's ``predict_tiles`` takes: its tile plus its context margin on each side (64 for a plain tile model)."""
    config = getattr(model, "config", None)
    return int(getattr(config, "window", None) or getattr(model, "tile_size", None) or 64)


def measure(model, values: np.ndarray, observed: np.ndarray, batch: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` tiles/s of ``model.predict_tiles`` over all tiles in batches."""
    model.predict_tiles(values[:batch], observed[:batch])  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()

    def all_batches() -> None:
        for i in range(0, len(values), batch):
            model.predict_tiles(values[i : i + batch], observed[i : i + batch])
        if torch.cuda.is_available():  # the GPU's work is part of the time
            torch.cuda.synchronize()

    return len(values) / best_of(all_batches, repeats)["wall_s"]


def train_rate(preset: str, device: str, batch: int, steps: int) -> float:
    """Tiles/s of :func:`sstfill.training.trainer.fit` on ``preset`` (second epoch of two)."""
    from sstfill import Inpainter
    from sstfill.training.trainer import TrainSettings, fit

    tiles = truth_tiles(max(4 * batch, 256), seed=1)
    settings = TrainSettings(epochs=2, batch_size=batch, steps_per_epoch=steps, patience=10)
    model = fit(Inpainter.from_preset(preset), tiles, tiles[:batch], settings, device=device, progress=False)
    return float(model.history["tiles_per_second"][-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", default=[], metavar="[LABEL=]SPEC[@PRECISION]", help=MODEL_SPEC_HELP)
    p.add_argument("--device", default="cpu")
    p.add_argument("--tiles", type=int, default=2048)
    p.add_argument("--batches", type=int, nargs="*", default=[256, 1024])
    p.add_argument("--precision", action="append", default=[], metavar="LABEL=PRECISION", help="compute precision of one model (repeatable)")
    p.add_argument("--train", action="append", default=[], metavar="PRESET", help="also time training this preset (repeatable)")
    p.add_argument("--train-batch", type=int, default=32)
    p.add_argument("--train-steps", type=int, default=20, help="steps per epoch (default: %(default)s)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    precisions = dict(item.split("=", 1) for item in args.precision)
    windows: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # the same tiles for every model with the same window
    argv = sys.argv[1:] if argv is None else list(argv)
    results = {"torch": torch.__version__, "cpu_threads": torch.get_num_threads(), "machine": platform.node(), "tiles": args.tiles, "rows": [],
               "command": command_line("throughput.py", argv), "environment": environment(args.device)}
    if torch.cuda.is_available():
        results["gpu"] = torch.cuda.get_device_name()
    for text in args.model or ["default"]:
        spec = parse_model_spec(text)
        label, precision = spec.label, precisions.get(spec.label, spec.precision or "auto")
        # bundled models are cached per (device, precision); laplace has no precision
        model = spec.tile_model() if spec.is_laplace else spec.tile_model(device="cpu", precision=precision)
        w = model_window(model)
        values, observed = windows.setdefault(w, realistic_tiles(args.tiles, tile=w))
        cpu_pred = None
        for device in dict.fromkeys(["cpu", args.device]):
            if hasattr(model, "to"):
                model.to(device, precision=precision)
            elif device != "cpu":
                continue
            n = min(len(values), 512) if device == "cpu" else len(values)
            for batch in args.batches:
                rate = measure(model, values[:n], observed[:n], batch)
                results["rows"].append({"model": label, "device": device, "precision": getattr(model, "precision", None), "batch": batch, "tiles_per_s": rate})
                print(f"{label:12s} {device:5s} batch {batch:5d}: {rate:9.0f} tiles/s", flush=True)
            pred = model.predict_tiles(values[:256], observed[:256])
            if device == "cpu":
                cpu_pred = pred
            else:
                diff = float(np.nanmax(np.abs(pred - cpu_pred)))
                results["rows"].append({"model": label, "device": device, "max_abs_diff_vs_cpu_K": diff})
                print(f"{label:12s} {device} vs cpu: max |diff| {diff:.4f} K", flush=True)
    for preset in args.train:
        for device in dict.fromkeys(["cpu", args.device]):
            rate = train_rate(preset, device, args.train_batch, args.train_steps)
            results["rows"].append({"train": preset, "device": device, "batch": args.train_batch, "tiles_per_s": rate})
            print(f"train {preset:8s} {device:5s} batch {args.train_batch:5d}: {rate:9.0f} tiles/s", flush=True)
    if args.out:
        write_json(args.out, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
