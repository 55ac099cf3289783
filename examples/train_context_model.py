#!/usr/bin/env python
"""Train sstfill's model with context (wide window + neighbouring days) on all the real training data.

The samples are windows of ``tile + 2 * margin`` pixels around 64x64 truth tiles, with the
same place at the neighbouring days of the series (MUR L4 socal and Arabian Sea series:
training days only, so a neighbour on a held-out day is never read; the SLSTR scenes are
single images, their neighbours are empty). Holes are real SLSTR cloud shapes and the
report's squares, enlarged 1-3x so clouds wider than a tile are common, and real-cloud holes
hide part of every neighbouring day too (some days are dropped whole). The split is the one
of ``benchmarks/split.py``; see ``examples/train_default_model.py`` for the sources.

``--init`` starts from a trained model without context (the previous bundled default): its
weights are copied and the new input channels start at zero weight, so training begins
exactly at that model's fill and learns what the context adds.

Usage (the bundled ``model="context"``; the exact command is also saved in the model file and
in ``sstfill/data/README.md``)::

    python examples/train_context_model.py --shared ../shared/data --init sstfill/data/default_model.npz \
        --out runs/ctx/default_context.npz --max-minutes 75 --checkpoint runs/ctx/checkpoint.npz --no-progress
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a source checkout: make `benchmarks` importable
    sys.path.insert(0, str(REPO))

import sstfill  # noqa: E402
from sstfill.models.networks import CONTEXT_INPUTS, ModelConfig  # noqa: E402
from sstfill.training.trainer import TrainSettings, fit, grow_inputs  # noqa: E402
from sstfill.training.windows import WindowBank, window_bank  # noqa: E402
from benchmarks.split import shared_folder  # noqa: E402


def training_series(shared: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The training parts of the real data as series (images in kelvin with NaN gaps, days); held-out parts are never read."""
    from benchmarks import split as s

    out = {}
    for name, file, steps in (("mur_socal", s.MUR_SOCAL_FILE, s.MUR_SOCAL_TRAIN_STEPS), ("mur_arabian", s.MUR_ARABIAN_FILE, s.MUR_ARABIAN_TRAIN_STEPS)):
        da = xr.open_dataset(shared / file)[s.MUR_VAR].isel(time=list(steps))
        days = (da.time.values - da.time.values[0]).astype("timedelta64[s]").astype("float64") / 86400
        out[name] = (da.values.astype("float32"), days)
    for name, file in (("slstr_ne_atl", s.SLSTR_NE_ATL_FILE), ("slstr_norwegian", s.SLSTR_NORWEGIAN_FILE)):
        da = xr.open_dataset(shared / file)[s.SLSTR_VAR].isel(time=0)
        rows = s.ne_atl_split_row(da.sizes["lat"]) if name == "slstr_ne_atl" else da.sizes["lat"]
        out[name] = (da.values[:rows].astype("float32")[None], np.zeros(1))
    return out


def build_banks(series: dict[str, tuple[np.ndarray, np.ndarray]], config: ModelConfig) -> dict[str, dict[str, WindowBank]]:
    """Training and validation samples per source (validation: the last training day / the southern 12 % of the rows)."""
    tile, margin, offsets = config.tile_size, config.context_margin, config.time_offsets
    banks: dict[str, dict[str, WindowBank]] = {}
    for name, stride in (("mur_socal", 24), ("mur_arabian", 16)):
        imgs, days = series[name]
        last = len(imgs) - 1
        banks[name] = {
            "train": window_bank([(imgs, days)], offsets, tile, margin, stride, 0.6, steps=[range(last)]),
            "val": window_bank([(imgs, days)], offsets, tile, margin, 2 * stride, 0.6, steps=[[last]]),
        }
    for name in ("slstr_ne_atl", "slstr_norwegian"):
        imgs, days = series[name]
        cut = int(imgs.shape[1] * 0.88)
        banks[name] = {
            "train": window_bank([(imgs[:, :cut], days)], offsets, tile, margin, 16, 0.85),
            "val": window_bank([(imgs[:, cut:], days)], offsets, tile, margin, 32, 0.85),
        }
    return banks


def merge(banks: list[WindowBank], repeat: list[int]) -> WindowBank:
    """One bank of several, each sample of bank ``i`` listed ``repeat[i]`` times (to balance the sources)."""
    images, steps, index = [], [], []
    for bank, r in zip(banks, repeat):
        shift = len(images)
        images += bank.images
        steps += bank.steps
        idx = bank.index.copy()
        idx[:, 0] += shift
        index.append(np.repeat(idx, r, axis=0))
    first = banks[0]
    return WindowBank(images, steps, np.concatenate(index), first.tile, first.margin)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=shared_folder, default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--init", type=Path, default=None, help="start from this model without context (new channels at zero weight)")
    p.add_argument("--preset", default="default")
    p.add_argument("--margin", type=int, default=64)
    p.add_argument("--offsets", type=float, nargs="*", default=[-2.0, -1.0, 1.0, 2.0])
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--steps-per-epoch", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--patience", type=int, default=1000)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--mur-repeat", type=int, default=3, help="list each MUR sample this many times (the series teach the time channels)")
    p.add_argument("--hole-fraction", type=float, nargs=2, default=(0.1, 0.95))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument("--checkpoint", type=Path, default=None)
    p.add_argument("--resume", type=Path, default=None)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--window-std-floor", type=float, default=1.0, help="ModelConfig.window_std_floor of the new model")
    p.add_argument("--inputs", nargs="+", default=list(CONTEXT_INPUTS), help="input channels of the new model (default: %(default)s)")
    p.add_argument("--tile-holes", action="store_true", help="holes of the tile models' recipe at the window's size, not enlarged real clouds (TrainSettings.window_holes=False)")
    p.add_argument("--keep-start", action="store_true", help="validate the starting weights first; keep them unless an epoch beats them")
    p.add_argument("--guess-on-window", action="store_true", help="ModelConfig.guess_on_window: the first guess is the harmonic fill of the whole window")
    p.add_argument("--export-series", type=Path, default=None, help="only write the training series to this .npz (to train elsewhere) and stop")
    p.add_argument("--series", type=Path, default=None, help="read the training series from an --export-series file instead of --shared")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.export_series is not None:
        series = training_series(args.shared)
        args.export_series.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.export_series, **{f"{n}__{part}": a for n, pair in series.items() for part, a in zip(("images", "days"), pair)})
        print(f"wrote {args.export_series}", flush=True)
        return 0

    base = sstfill.load_model(args.init) if args.init is not None else None
    preset = dict(sstfill.models.networks.PRESETS[args.preset])
    preset.update(inputs=tuple(args.inputs), context_margin=args.margin, time_offsets=tuple(args.offsets))
    preset.update(window_std_floor=args.window_std_floor, guess_on_window=args.guess_on_window)
    keep = ("inputs", "context_margin", "time_offsets", "window_std_floor", "guess_on_window")
    config = ModelConfig(**preset) if base is None else ModelConfig(**{**base.config.to_dict(), **{k: preset[k] for k in keep}})
    model = grow_inputs(base, config) if base is not None else sstfill.Inpainter(config, preset=args.preset)
    if config.sees_wide_view:
        model.preset = "context" if args.preset == "default" else f"{args.preset}+context"  # the bundled model="context"
    t0 = time.time()
    if args.series is not None:
        with np.load(args.series) as z:
            series = {source: (z[f"{source}__images"], z[f"{source}__days"]) for source in sorted({k.split("__")[0] for k in z.files})}
    else:
        series = training_series(args.shared)
    banks = build_banks(series, config)
    names = list(banks)
    repeat = [args.mur_repeat if n.startswith("mur") else 1 for n in names]
    train = merge([banks[n]["train"] for n in names], repeat)
    val = merge([banks[n]["val"] for n in names], [1] * len(names))
    counts = {n: {part: len(b) for part, b in banks[n].items()} for n in names}
    print(f"samples {json.dumps(counts)}, built in {time.time() - t0:.0f} s; train {len(train)} (MUR x{args.mur_repeat}), val {len(val)}", flush=True)
    settings = TrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        patience=args.patience,
        lr=args.lr,
        hole_fraction=tuple(args.hole_fraction),
        seed=args.seed,
        steps_per_epoch=args.steps_per_epoch,
        average_last=3,
        max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
        hole_bank=2048,
        refresh=0.25,
        window_holes=not args.tile_holes,
        keep_start=args.keep_start,
    )
    model = fit(model, train, val, settings, device=args.device, checkpoint=args.checkpoint, resume=args.resume, progress=not args.no_progress)
    h = model.history
    print(f"epochs {len(h['epoch'])}, val rmse (norm) first {h['val_rmse_hidden'][0]:.4f} best {min(h['val_rmse_hidden']):.4f}, {np.mean(h['tiles_per_second']):.0f} samples/s", flush=True)
    command = "python examples/train_context_model.py " + " ".join(argv if argv is not None else sys.argv[1:])
    data = "MUR L4 socal days 1-8 + Arabian Sea steps 1-4 as series (validation: the last of them); SLSTR L2 NE Atlantic (north of the held-out rows) + Norwegian Sea as single images (validation: southern 12 % of their rows)"
    model.save(args.out, extra_config={"training": {"command": command, "samples": counts, "data": data, "device": args.device, "threads": args.threads, "init": str(args.init) if args.init else None}})
    print(f"saved {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
