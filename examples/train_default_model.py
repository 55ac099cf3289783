#!/usr/bin/env python
"""Train sstfill's bundled default model on real SST (MUR L4 + Sentinel-3 SLSTR L2).

Truth tiles are cut by index from the training parts of the real data (the split of
``benchmarks/split.py``; held-out days, rows and scenes are never read), holes
are drawn afresh every step from real SLSTR cloud shapes (the bundled training library)
and the report's square sets, and the model is trained with the context-encoder joint
loss. The exact command that produced ``sstfill/data/default_model.npz`` is recorded in
``sstfill/data/README.md`` and in the model file's JSON config.

Usage::

    python examples/train_default_model.py --shared ../shared/data --out sstfill/data/default_model.npz \
        --preset default --epochs 40 --steps-per-epoch 300 --batch-size 64 --device auto
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr

import sstfill
from sstfill.training.tiles import cut_tiles_by_index
from sstfill.training.trainer import TrainSettings, fit

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a source checkout: make `benchmarks` importable
    sys.path.insert(0, str(REPO))

from benchmarks.split import shared_folder  # noqa: E402


def training_images(shared: Path) -> dict[str, np.ndarray]:
    """The training parts of the real data as arrays (kelvin, NaN gaps); held-out parts are never read."""
    from benchmarks import split as s  # the fixed split the bundled data was cut with

    out = {}
    for name, file, steps in (("mur_socal", s.MUR_SOCAL_FILE, s.MUR_SOCAL_TRAIN_STEPS), ("mur_arabian", s.MUR_ARABIAN_FILE, s.MUR_ARABIAN_TRAIN_STEPS)):
        out[name] = xr.open_dataset(shared / file)[s.MUR_VAR].isel(time=list(steps)).values.astype("float32")
    for name, file in (("slstr_ne_atl", s.SLSTR_NE_ATL_FILE), ("slstr_norwegian", s.SLSTR_NORWEGIAN_FILE)):
        da = xr.open_dataset(shared / file)[s.SLSTR_VAR].isel(time=0)
        rows = s.ne_atl_split_row(da.sizes["lat"]) if name == "slstr_ne_atl" else da.sizes["lat"]
        out[name] = da.values[:rows].astype("float32")
    return out


def build_banks(images: dict[str, np.ndarray], tile: int = 64) -> dict[str, dict[str, np.ndarray]]:
    """Training and validation tiles per source (validation: last training day / southern rows)."""
    banks: dict[str, dict[str, np.ndarray]] = {}
    for name, stride in (("mur_socal", 24), ("mur_arabian", 16)):
        imgs = images[name]
        banks[name] = {
            "train": cut_tiles_by_index(imgs[:-1], tile, stride, min_valid=0.6),
            "val": cut_tiles_by_index(imgs[-1:], tile, 2 * stride, min_valid=0.6),
        }
    # SLSTR L2: real noisy skin SST with real gaps; the southern 12% of the training rows validate
    for name in ("slstr_ne_atl", "slstr_norwegian"):
        img = images[name]
        cut = int(len(img) * 0.88)
        banks[name] = {
            "train": cut_tiles_by_index([img[:cut]], tile, 16, min_valid=0.85),
            "val": cut_tiles_by_index([img[cut:]], tile, 32, min_valid=0.85),
        }
    return banks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--out", type=Path, default=REPO / "sstfill" / "data" / "default_model.npz")
    p.add_argument("--preset", default="default")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--steps-per-epoch", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--average-last", type=int, default=5)
    p.add_argument("--hole-fraction", type=float, nargs=2, default=(0.05, 0.9))
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-minutes", type=float, default=None, help="stop after this much training time")
    p.add_argument("--checkpoint", type=Path, default=None)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="ModelConfig overrides, JSON values (e.g. adversarial_weight=0)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--export-images", type=Path, default=None, help="only write the training images to this .npz (to train elsewhere) and stop")
    p.add_argument("--images", type=Path, default=None, help="read the training images from an --export-images file instead of --shared")
    args = p.parse_args(argv)

    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    t0 = time.time()
    if args.images is not None:
        with np.load(args.images) as npz:
            images = {k: npz[k] for k in npz.files}
    else:
        try:  # checked here, not by argparse: --images needs no real-data folder
            images = training_images(shared_folder(args.shared))
        except argparse.ArgumentTypeError as problem:
            p.error(f"argument --shared: {problem}")
    if args.export_images is not None:
        np.savez_compressed(args.export_images, **images)
        print(f"wrote {args.export_images}")
        return 0
    banks = build_banks(images)
    train = np.concatenate([b["train"] for b in banks.values()])
    val = np.concatenate([b["val"] for b in banks.values()])
    counts = {k: {part: len(v) for part, v in b.items()} for k, b in banks.items()}
    print(f"tiles: {json.dumps(counts)} (built in {time.time() - t0:.0f} s)", flush=True)

    model = sstfill.Inpainter.from_preset(args.preset, **overrides)
    settings = TrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        patience=args.patience,
        lr=args.lr,
        hole_fraction=tuple(args.hole_fraction),
        seed=args.seed,
        steps_per_epoch=args.steps_per_epoch,
        average_last=args.average_last,
        max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
        refresh=0.25,  # a quarter of the hole bank redrawn per epoch keeps the GPU busy
    )
    model = fit(model, train, val, settings, device=args.device, checkpoint=args.checkpoint, progress=not args.no_progress)
    h = model.history
    print(f"epochs {len(h['epoch'])}, best val loss {min(h['val_loss']):.4f}, val rmse (norm) {min(h['val_rmse_hidden']):.4f}, "
          f"{np.mean(h['tiles_per_second']):.0f} train tiles/s on {model.device}", flush=True)
    trained_on = str(model.device)
    model.to("cpu")
    command = "python examples/train_default_model.py " + " ".join(argv if argv is not None else sys.argv[1:])
    model.save(args.out, extra_config={"training": {"command": command, "tiles": counts, "data": "MUR L4 socal days 1-7 + Arabian Sea steps 1-3; SLSTR L2 NE Atlantic (north of the held-out rows) + Norwegian Sea; validation: the last training day / southern training rows", "device": trained_on}})
    print(f"saved {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
