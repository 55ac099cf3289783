#!/usr/bin/env python
"""Train the SST feature encoder of sstfill's Fréchet distance (``sstfill/data/quality_encoder_v1.npz``).

A small convolutional autoencoder (four stride-2 3x3 convolutions with ReLU to a 64-value
bottleneck, :func:`sstfill.evaluation.quality.encoder_network`, and a mirrored upsampling
decoder) learns to reconstruct per-tile standardised 64x64 SST tiles, gaps at the tile
mean, with the MSE over observed pixels only; random flips and quarter turns. Tiles are the
training parts of the real data (MUR L4 socal and Arabian Sea, SLSTR L2 NE Atlantic and
Norwegian Sea) cut by ``training_images`` and ``build_banks`` of
``examples/train_default_model.py``: held-out days, rows and scenes are never read.
Training stops after ``--minutes`` (one CPU thread); the learning rate follows a cosine over
that time.

The features are not the bottleneck (measured with a first run, on two halves of 292
held-out tiles: blurring one half, sigma 3 px, raised their Fréchet distance 1.1x on the
bottleneck and 4x on pooled statistics; 3.2x with the shipped encoder, 4.9x with 540 + 539
tiles) but, as FID pools Inception's last layer, the spatial mean and std of
every channel after every ReLU of the convolutional trunk (352 values), projected onto their
32 leading principal components over the training tiles, plus log10 of the tile std. Only
the trunk is kept, with that projection, in an sstfill model archive (``.npz`` + JSON, no
pickle) that records the command, the tiles seen and the final reconstruction losses.

Usage (the bundled file)::

    python examples/train_quality_encoder.py --shared ../shared/data --out sstfill/data/quality_encoder_v1.npz --minutes 10.5 --seed 0

To train an encoder on your own tiles, cut them with
``sstfill.training.tiles.cut_tiles_by_index`` and pass them to :func:`train`; compare
Fréchet distances only between scores made with the same encoder file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
for folder in (REPO, REPO / "examples"):  # run as a script from a source checkout
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from sstfill.evaluation.encoder import ENCODER_VERSION, STD_FLOOR, encoder_network, pooled_statistics, standardise_tiles  # noqa: E402
from sstfill.models.files import save_arrays, state_to_arrays  # noqa: E402
from train_default_model import build_banks, training_images  # noqa: E402
from benchmarks.split import shared_folder  # noqa: E402

WIDTHS = (16, 32, 64, 64)
N_LATENT = 64
TILE = 64
N_COMPONENTS = 32


def decoder_network(widths: tuple[int, ...] = WIDTHS, n_latent: int = N_LATENT, tile: int = TILE) -> nn.Module:
    """The mirror of the encoder: a linear layer to the coarsest grid, then upsample + 3x3 convolutions."""
    side = tile // 2 ** len(widths)
    layers: list[nn.Module] = [nn.Linear(n_latent, widths[-1] * side * side), nn.Unflatten(1, (widths[-1], side, side))]
    chans = list(widths[::-1]) + [widths[0]]
    for cin, cout in zip(chans[:-1], chans[1:]):
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
    layers += [nn.Conv2d(widths[0], 1, 3, padding=1)]
    return nn.Sequential(*layers)


def masked_mse(recon: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the observed pixels."""
    return (((recon - target) ** 2) * valid).sum() / valid.sum().clamp_min(1)


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 flips and quarter turns of the last two axes."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


def reconstruction_loss(encoder: nn.Module, decoder: nn.Module, z: np.ndarray, valid: np.ndarray, batch: int = 512) -> float:
    """Masked MSE (standardised units) over a whole set of tiles."""
    total, count = 0.0, 0.0
    with torch.no_grad():
        for start in range(0, len(z), batch):
            x = torch.from_numpy(z[start : start + batch, None])
            m = torch.from_numpy(valid[start : start + batch, None])
            total += float((((decoder(encoder(x)) - x) ** 2) * m).sum())
            count += float(m.sum())
    return total / max(count, 1.0)


def train(train_tiles: np.ndarray, val_tiles: np.ndarray, minutes: float, seed: int, batch_size: int = 64, lr: float = 2e-3, log=print) -> dict:
    """Train the autoencoder for ``minutes``; the encoder's arrays, feature scaling and training numbers."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    z_train, _, std_train = standardise_tiles(train_tiles)
    valid_train = np.isfinite(train_tiles).astype("float32")
    z_val, _, _ = standardise_tiles(val_tiles)
    valid_val = np.isfinite(val_tiles).astype("float32")
    encoder, decoder = encoder_network(WIDTHS, N_LATENT, TILE), decoder_network()
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    budget, t0, step, seen, running = 60.0 * minutes, time.time(), 0, 0, []
    next_log = 0.0
    while (elapsed := time.time() - t0) < budget:
        for group in opt.param_groups:  # cosine over the time budget
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * min(elapsed / budget, 1.0)))
        idx = rng.integers(0, len(z_train), batch_size)
        k = int(rng.integers(0, 8))
        x = dihedral(torch.from_numpy(z_train[idx, None]), k)
        m = dihedral(torch.from_numpy(valid_train[idx, None]), k)
        loss = masked_mse(decoder(encoder(x)), x, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step, seen = step + 1, seen + batch_size
        running.append(loss.item())
        if elapsed >= next_log:
            encoder.eval(), decoder.eval()
            val = reconstruction_loss(encoder, decoder, z_val, valid_val)
            encoder.train(), decoder.train()
            log(f"{elapsed:6.0f} s  step {step:6d}  tiles seen {seen:8d}  train loss (last 200) {np.mean(running[-200:]):.4f}  val loss {val:.4f}  lr {opt.param_groups[0]['lr']:.2e}")
            next_log += 60.0
    encoder.eval(), decoder.eval()
    final_train = reconstruction_loss(encoder, decoder, z_train, valid_train)
    final_val = reconstruction_loss(encoder, decoder, z_val, valid_val)
    trunk = nn.Sequential(*list(encoder)[: 2 * len(WIDTHS)])
    features = feature_projection(pooled_statistics(trunk, z_train), np.log10(std_train))
    log(f"done: {step} steps, {seen} tiles seen in {time.time() - t0:.0f} s; reconstruction loss (standardised MSE) train {final_train:.4f}, val {final_val:.4f}; "
        f"{N_COMPONENTS} components keep {features['explained_variance']:.3f} of the pooled statistics' variance")
    return {
        "arrays": {**state_to_arrays("encoder", trunk.state_dict()), **features["arrays"]},
        "explained_variance": features["explained_variance"],
        "numbers": {
            "steps": step,
            "tiles_seen": seen,
            "seconds": round(time.time() - t0, 1),
            "batch_size": batch_size,
            "lr": lr,
            "final_train_loss": round(final_train, 5),
            "final_val_loss": round(final_val, 5),
            "train_loss_last_200_steps": round(float(np.mean(running[-200:])), 5),
        },
    }


def feature_projection(pooled: np.ndarray, log_std: np.ndarray) -> dict:
    """Centre and projection of the pooled statistics (leading principal components of the
    per-value standardised statistics, scaled to unit mean variance) and the amplitude scaling."""
    centre, scale = pooled.mean(axis=0), np.maximum(pooled.std(axis=0), 1e-6)
    _, singular, vt = np.linalg.svd((pooled - centre) / scale, full_matrices=False)
    variance = singular**2 / len(pooled)
    kept = variance[:N_COMPONENTS]
    projection = (vt[:N_COMPONENTS] / scale).T / np.sqrt(kept.mean())
    return {
        "arrays": {"feature_centre": centre, "feature_projection": projection, "amplitude_mean": np.array(log_std.mean()), "amplitude_scale": np.array(log_std.std())},
        "explained_variance": float(kept.sum() / variance.sum()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=shared_folder, default=str(REPO.parent / "shared" / "data"), help="the real data folder")
    p.add_argument("--out", type=Path, default=REPO / "sstfill" / "data" / "quality_encoder_v1.npz")
    p.add_argument("--minutes", type=float, default=10.5, help="training time (one CPU thread)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    def log(message: str) -> None:
        print(message, flush=True)

    banks = build_banks(training_images(args.shared))
    train_tiles = np.concatenate([b["train"] for b in banks.values()])
    val_tiles = np.concatenate([b["val"] for b in banks.values() if len(b["val"])])
    counts = {k: {part: len(v) for part, v in b.items()} for k, b in banks.items()}
    log(f"tiles: {json.dumps(counts)}")
    result = train(train_tiles, val_tiles, args.minutes, args.seed, args.batch_size, args.lr, log)
    command = "python examples/train_quality_encoder.py " + " ".join(argv if argv is not None else sys.argv[1:])
    config = {
        "kind": "sst-encoder",
        "version": ENCODER_VERSION,
        "architecture": {"widths": list(WIDTHS), "n_latent": N_LATENT, "tile": TILE, "activation": "relu", "decoder": "linear + (nearest upsample, 3x3 conv, relu) x 4 + 3x3 conv"},
        "preprocessing": {"std_floor": STD_FLOOR, "input": "per-tile standardised (mean, std of finite pixels), NaN -> 0"},
        "features": {
            "pooled": "spatial mean and std (population) of every channel after every ReLU of the trunk",
            "n_pooled": 2 * sum(WIDTHS),
            "n_components": N_COMPONENTS,
            "explained_variance": round(result["explained_variance"], 4),
            "projection": "(pooled - feature_centre) @ feature_projection: principal components of the standardised pooled statistics on the training tiles, unit mean variance there",
            "amplitude": "(log10(tile std) - amplitude_mean) / amplitude_scale",
            "stored": "the convolutional trunk only (modules 0-7 of encoder_network); the bottleneck and decoder served training",
        },
        "training": {
            "command": command,
            "seed": args.seed,
            "minutes": args.minutes,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "loss": "MSE over observed pixels of per-tile standardised tiles; random flips and quarter turns; Adam, cosine learning rate over the time budget",
            "tiles": counts,
            "data": "training parts of the real data via examples/train_default_model.py build_banks: MUR L4 socal days 1-7 + Arabian Sea steps 1-3 (stride 24/16), SLSTR L2 NE Atlantic (north of the held-out rows) + Norwegian Sea (stride 16); validation: last training day / southern 12 % of the training rows",
            **result["numbers"],
        },
    }
    path = save_arrays(args.out, result["arrays"], config)
    log(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
