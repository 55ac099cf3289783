#!/usr/bin/env python
"""Train sstfill's bundled latent-space (DCGAN) model on real SST (MUR L4 + Sentinel-3 SLSTR L2).

The tiles are those of ``examples/train_default_model.py`` (the training parts of the real
data; held-out days, rows and scenes are never read), keeping the whole ones (at most 5 %
missing, completed by a harmonic fill). After training, the validation tiles are filled by
the z-search under real cloud shapes and the model's error model is fitted on them. The exact
command that produced ``sstfill/data/latent_model.npz`` is recorded in
``sstfill/data/README.md`` and in the file's JSON config.

Usage::

    python examples/train_latent_model.py --shared ../shared/data --out sstfill/data/latent_model.npz --max-minutes 40
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a source checkout
    sys.path.insert(0, str(REPO))

from examples.train_default_model import build_banks, training_images  # noqa: E402
from benchmarks.split import shared_folder  # noqa: E402
from sstfill.models.latent import LatentConfig  # noqa: E402
from sstfill.training.latent import train_latent  # noqa: E402
from sstfill.training.tiles import draw_holes  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=shared_folder, default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--out", type=Path, default=REPO / "sstfill" / "data" / "latent_model.npz")
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--steps-per-epoch", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--max-minutes", type=float, default=40.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="LatentConfig overrides, JSON values (e.g. z_dim=64)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    t0 = time.time()
    banks = build_banks(training_images(args.shared))
    train = np.concatenate([b["train"] for b in banks.values()])
    val = np.concatenate([b["val"] for b in banks.values()])
    rng = np.random.default_rng(args.seed)
    val = val[rng.permutation(len(val))]  # every source among the validation tiles that are filled
    counts = {k: {part: len(v) for part, v in b.items()} for k, b in banks.items()}
    print(f"tiles: {json.dumps(counts)} (built in {time.time() - t0:.0f} s)", flush=True)
    config = LatentConfig(**{k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)})
    val_holes = draw_holes(len(val), config.tile_size, ("clouds",), (0.1, 0.7), np.random.default_rng(args.seed + 1))
    model = train_latent(train, val, val_holes, config=config, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                         batch_size=args.batch_size, lr=args.lr, max_seconds=60 * args.max_minutes, device=args.device,
                         seed=args.seed, progress=True)
    h = model.history
    print(f"epochs {len(h['epoch'])}, whole training tiles {h['tiles'][0]}, validation RMSE on hidden pixels {h.get('val_rmse')} K", flush=True)
    trained_on = str(model.device)
    model.to("cpu")
    command = "python examples/train_latent_model.py " + " ".join(argv if argv is not None else sys.argv[1:])
    model.save(args.out, extra_config={"training": {"command": command, "tiles": counts, "data": "MUR L4 socal + Arabian Sea training days; SLSTR L2 NE Atlantic (north of the held-out rows) + Norwegian Sea; whole tiles only", "device": trained_on, "threads": args.threads}})
    print(f"saved {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
