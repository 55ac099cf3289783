#!/usr/bin/env python
"""Does pre-training on simulated SST (SQG turbulence) help on held-out real data?

Two runs of the same trainer (:func:`sstfill.training.trainer.fit`, ``fast`` preset, from
the same initial weights, one CPU thread), with the same number of optimiser steps:

* **scratch**: ``2 E`` epochs of ``S`` steps on the real training tiles of
  ``examples/train_default_model.py`` (training parts of ``benchmarks/split.py`` only);
* **pretrained**: ``E`` epochs on tiles of simulated SST (``examples/make_sqg_series.py``:
  the first 14 series train, the last 2 validate), then ``E`` epochs on the same real
  training tiles (fresh optimiser, as a fine-tuning run would start).

Both are scored, with the Laplace filler, on 64x64 tiles cut from the *held-out* parts of
the real data (MUR socal days 9-10, MUR Arabian Sea steps 5-6, the held-out rows of the
SLSTR NE Atlantic scene, the whole NW Mediterranean scene) under real cloud masks from
``sstfill/data/cloud_masks_heldout.npz`` (seeded draw, cloud fractions 10-90 %): RMSE on
the hidden pixels in degC, overall and per source, with a paired bootstrap interval of the
difference between the two runs. Comparing step counts rather than minutes keeps the
comparison fair on a shared machine whose load changes during a run.

Usage (the numbers in ``docs/benchmarks/pretraining.md``)::

    python examples/make_sqg_series.py --out sqg_series.npz --series 16 --steps 10 --n 256 --seed0 0
    python benchmarks/pretrain_sqg.py --sqg sqg_series.npz --epochs 4 --steps-per-epoch 50 --arm scratch --json scratch.json &
    python benchmarks/pretrain_sqg.py --sqg sqg_series.npz --epochs 4 --steps-per-epoch 50 --arm pretrained --json pretrained.json &
    wait
    python benchmarks/pretrain_sqg.py --merge scratch.json pretrained.json --reference fast --json docs/benchmarks/pretraining.json

(``--arm both``, the default, runs the two arms one after the other in one process.)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(REPO))

from benchmarks import split
from sstfill import LaplaceFiller
from sstfill.kernels.holes import cloud_library
from sstfill.training.tiles import cut_tiles_by_index
from sstfill.training.trainer import TrainSettings, fit, new_model

BINS = ((0.10, 0.30), (0.30, 0.60), (0.60, 0.90))


def _train_default_model():
    spec = importlib.util.spec_from_file_location(
        "train_default_model", REPO / "examples" / "train_default_model.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def real_banks(shared: Path) -> tuple[np.ndarray, np.ndarray]:
    """The default model's real training and validation tiles (training parts of the split only)."""
    tdm = _train_default_model()
    banks = tdm.build_banks(tdm.training_images(shared))
    return np.concatenate([b["train"] for b in banks.values()]), np.concatenate(
        [b["val"] for b in banks.values()]
    )


def sqg_banks(path: Path, n_val: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Tiles of the simulated series: all but the last ``n_val`` series train, those validate."""
    with np.load(path) as npz:
        sst = npz["sst"]
    train = cut_tiles_by_index(
        (img for s in sst[:-n_val] for img in s), 64, 32, min_valid=1.0
    )
    val = cut_tiles_by_index(
        (img for s in sst[-n_val:] for img in s), 64, 64, min_valid=1.0
    )
    return train, val


def heldout_tiles(shared: Path) -> dict[str, np.ndarray]:
    """64x64 truth tiles (kelvin, NaN = land or gap) from the held-out parts of the real data only."""
    out = {}
    for name, file, steps in (
        ("mur_socal", split.MUR_SOCAL_FILE, split.MUR_SOCAL_HELDOUT_STEPS),
        ("mur_arabian", split.MUR_ARABIAN_FILE, split.MUR_ARABIAN_HELDOUT_STEPS),
    ):
        imgs = (
            xr.open_dataset(shared / file)[split.MUR_VAR].isel(time=list(steps)).values
        )
        out[name] = cut_tiles_by_index(imgs, 64, 64, min_valid=0.7)
    ne = xr.open_dataset(shared / split.SLSTR_NE_ATL_FILE)[split.SLSTR_VAR].isel(time=0)
    out["slstr_ne_atl_heldout_rows"] = cut_tiles_by_index(
        [ne.values[split.ne_atl_split_row(ne.sizes["lat"]) :]], 64, 32, min_valid=0.85
    )
    med = (
        xr.open_dataset(shared / split.SLSTR_NW_MED_FILE)[split.SLSTR_VAR]
        .isel(time=0)
        .values
    )
    out["slstr_nw_med"] = cut_tiles_by_index([med], 64, 32, min_valid=0.85)
    return out


def heldout_holes(tiles: np.ndarray, seed: int) -> np.ndarray:
    """A real held-out cloud mask per tile, the bins 10-30, 30-60, 60-90 % in turn (seeded)."""
    masks, fractions = cloud_library("heldout")
    rng = np.random.default_rng(seed)
    out = np.empty(tiles.shape, bool)
    for i in range(len(tiles)):
        lo, hi = BINS[i % len(BINS)]
        pick = np.flatnonzero((fractions >= lo) & (fractions < hi))
        out[i] = np.rot90(masks[rng.choice(pick)], rng.integers(4))
    return out


def tile_errors(
    filler, tiles: np.ndarray, holes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per tile: the sum of squared errors (K^2) on hidden pixels and their count."""
    hidden = holes & np.isfinite(tiles)
    observed = np.isfinite(tiles) & ~holes
    filled = np.asarray(
        filler.predict_tiles(
            np.where(observed, tiles, np.nan).astype("float32"), observed
        ),
        "float64",
    )
    err = np.where(hidden, filled - np.nan_to_num(tiles), 0.0)
    return (err**2).sum(axis=(1, 2)), hidden.sum(axis=(1, 2))


def rmse(sse: np.ndarray, count: np.ndarray) -> float:
    return float(np.sqrt(sse.sum() / max(count.sum(), 1)))


def bootstrap_difference(
    a: tuple, b: tuple, reps: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """95 % interval of RMSE(a) - RMSE(b), resampling tiles (paired)."""
    rng = np.random.default_rng(seed)
    n = len(a[0])
    d = []
    for _ in range(reps):
        i = rng.integers(0, n, n)
        d.append(rmse(a[0][i], a[1][i]) - rmse(b[0][i], b[1][i]))
    return float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))


def report(record: dict) -> dict:
    """Print (and return) the RMSE table and the paired comparison of one or more runs' records."""
    source = np.array(record["source"])
    names = list(dict.fromkeys(record["source"]))
    errors = {m: (np.array(e[0]), np.array(e[1])) for m, e in record["errors"].items()}
    table = {
        m: {
            "all": rmse(*e),
            **{k: rmse(e[0][source == k], e[1][source == k]) for k in names},
        }
        for m, e in errors.items()
    }
    print(f"{'model':12s} " + " ".join(f"{c:>26s}" for c in ["all", *names]))
    for m, row in table.items():
        print(f"{m:12s} " + " ".join(f"{row[c]:26.4f}" for c in ["all", *names]))
    out = {"rmse_degC": table}
    for a, b in (
        ("pretrained", "scratch"),
        ("scratch", "laplace"),
        ("pretrained", "laplace"),
    ):
        if a in errors and b in errors:
            lo, hi = bootstrap_difference(errors[a], errors[b])
            better = float(np.mean(errors[a][0] < errors[b][0]))
            out[f"{a}-{b}"] = {
                "difference": table[a]["all"] - table[b]["all"],
                "ci95": [lo, hi],
                "better_fraction": better,
            }
            print(
                f"{a} - {b} RMSE (all held-out tiles): {table[a]['all'] - table[b]['all']:+.4f} degC, 95% paired bootstrap [{lo:+.4f}, {hi:+.4f}]; {a} better on {100 * better:.0f}% of tiles"
            )
    return out


def merge(paths: list[Path]) -> dict:
    """One record from the records of separate arms (same held-out tiles and holes)."""
    records = [json.loads(Path(p).read_text()) for p in paths]
    merged = records[0]
    for r in records[1:]:
        if (
            r["source"] != merged["source"]
            or r["errors"]["laplace"] != merged["errors"]["laplace"]
        ):
            raise ValueError(
                "The records were scored on different held-out tiles or holes: run the arms with the same --seed and data."
            )
        merged["commands"] += r["commands"]
        merged["errors"].update(r["errors"])
        merged["runs"].update(r["runs"])
    return merged


def plane_anomalies(frames: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each frame's ``valid`` pixels minus its best-fit plane (mean + large-scale gradient)."""
    yy, xx = np.nonzero(valid)
    a = np.stack([np.ones(len(yy)), yy, xx], 1)
    out = []
    for f in frames:
        v = f[valid].astype("float64")
        out.append(v - a @ np.linalg.lstsq(a, v, rcond=None)[0])
    return np.array(out)


def lag1(anomalies: np.ndarray) -> float:
    """Mean correlation of consecutive frames' anomalies."""
    return float(
        np.mean(
            [
                np.corrcoef(anomalies[i], anomalies[i + 1])[0, 1]
                for i in range(len(anomalies) - 1)
            ]
        )
    )


def lag1_check(shared: Path, sqg: Path) -> dict[str, float]:
    """Day-to-day (lag-1) correlation of plane-removed anomalies: MUR L4 socal (10 days) and the simulated series."""
    mur = xr.open_dataset(shared / split.MUR_SOCAL_FILE)[split.MUR_VAR].values
    out = {"mur_socal": lag1(plane_anomalies(mur, np.isfinite(mur).all(0)))}
    with np.load(sqg) as npz:
        sst, noise = npz["sst"], npz["noise_k"]
    per_series = np.array(
        [lag1(plane_anomalies(s, np.ones(s.shape[1:], bool))) for s in sst]
    )
    out["sqg_noise_free"] = float(per_series[noise == 0].mean())
    out["sqg_with_noise"] = (
        float(per_series[noise > 0].mean()) if (noise > 0).any() else float("nan")
    )
    print(
        f"lag-1 correlation of plane-removed anomalies: MUR socal {out['mur_socal']:.3f}; SQG series without noise "
        f"{out['sqg_noise_free']:.3f} (range {per_series[noise == 0].min():.3f}-{per_series[noise == 0].max():.3f}), "
        f"with sensor noise {out['sqg_with_noise']:.3f}"
    )
    return out


def settings(epochs: int, steps: int, seed: int) -> TrainSettings:
    # as the default model's training (examples/train_default_model.py), no early stop
    return TrainSettings(
        epochs=epochs,
        batch_size=32,
        patience=10_000,
        lr=1e-3,
        hole_fraction=(0.05, 0.9),
        seed=seed,
        steps_per_epoch=steps,
        refresh=0.25,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=split.DEFAULT_SHARED)
    p.add_argument(
        "--sqg", type=Path, default=None, help="the .npz of examples/make_sqg_series.py"
    )
    p.add_argument(
        "--epochs", type=int, default=6, help="E: epochs per phase (scratch runs 2E)"
    )
    p.add_argument("--steps-per-epoch", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--arm",
        choices=("both", "scratch", "pretrained"),
        default="both",
        help="run one arm (run the two in parallel, then --merge)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        help="write the record (per-tile errors, histories) here",
    )
    p.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="only merge these records of separate arms, print the table and write --json",
    )
    p.add_argument(
        "--reference",
        nargs="*",
        default=[],
        help="with --merge: also score these bundled models (e.g. fast) on the same tiles and holes",
    )
    p.add_argument(
        "--lag1",
        action="store_true",
        help="only compare the day-to-day correlation of MUR and the --sqg series",
    )
    args = p.parse_args(argv)
    if args.lag1:
        lag1_check(args.shared, args.sqg)
        return 0
    if args.merge:
        merged = merge(args.merge)
        # bundled models (trained longer, on a GPU) on the same held-out tiles and holes, for scale
        for name in args.reference:
            from sstfill.models.store import load_bundled_model

            test = heldout_tiles(args.shared)
            tiles = np.concatenate(list(test.values()))
            sse, count = tile_errors(
                load_bundled_model(name, device="cpu", precision="float32"),
                tiles,
                heldout_holes(tiles, args.seed),
            )
            merged["errors"][f"bundled_{name}"] = [sse.tolist(), count.tolist()]
        merged["summary"] = report(merged)
        if args.json is not None:
            args.json.write_text(json.dumps(merged))
        return 0
    torch.set_num_threads(1)
    t0 = time.time()
    real_train, real_val = real_banks(args.shared)
    sqg_train, sqg_val = sqg_banks(args.sqg)
    test = heldout_tiles(args.shared)
    names = list(test)
    tiles = np.concatenate([test[k] for k in names])
    source = np.concatenate([[k] * len(test[k]) for k in names])
    holes = heldout_holes(tiles, args.seed)
    print(
        f"tiles: real train {len(real_train)}, real val {len(real_val)}, sqg train {len(sqg_train)}, sqg val {len(sqg_val)}, "
        f"held-out { {k: len(v) for k, v in test.items()} } ({time.time() - t0:.0f} s)",
        flush=True,
    )

    E, S = args.epochs, args.steps_per_epoch
    errors: dict[str, tuple] = {"laplace": tile_errors(LaplaceFiller(), tiles, holes)}
    runs: dict[str, dict] = {}
    if args.arm in ("both", "scratch"):
        t = time.time()
        scratch = fit(
            new_model("fast", seed=args.seed),
            real_train,
            real_val,
            settings(2 * E, S, args.seed),
            device="cpu",
            progress=True,
        )
        runs["scratch"] = {
            "minutes": (time.time() - t) / 60,
            "history": scratch.history,
        }
        errors["scratch"] = tile_errors(scratch, tiles, holes)
        print(f"scratch: {runs['scratch']['minutes']:.1f} min", flush=True)
    if args.arm in ("both", "pretrained"):
        t = time.time()
        pre = fit(
            new_model("fast", seed=args.seed),
            sqg_train,
            sqg_val,
            settings(E, S, args.seed),
            device="cpu",
            progress=True,
        )
        runs["sqg_only"] = {"minutes": (time.time() - t) / 60, "history": pre.history}
        errors["sqg_only"] = tile_errors(pre, tiles, holes)
        t = time.time()
        tuned = fit(
            pre,
            real_train,
            real_val,
            settings(E, S, args.seed),
            device="cpu",
            progress=True,
        )
        runs["pretrained"] = {
            "minutes": (time.time() - t) / 60,
            "history": tuned.history,
        }
        errors["pretrained"] = tile_errors(tuned, tiles, holes)
        print(
            f"pretrained: {runs['sqg_only']['minutes']:.1f} + {runs['pretrained']['minutes']:.1f} min",
            flush=True,
        )
    command = "python benchmarks/pretrain_sqg.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    record = {
        "commands": [command],
        "source": source.tolist(),
        "tiles": {k: len(v) for k, v in test.items()},
        "train_tiles": {"real": len(real_train), "sqg": len(sqg_train)},
        "errors": {m: [e[0].tolist(), e[1].tolist()] for m, e in errors.items()},
        "runs": {
            k: {
                "minutes": v["minutes"],
                **{
                    h: v["history"][h]
                    for h in (
                        "val_rmse_hidden",
                        "train_loss",
                        "seconds",
                        "tiles_per_second",
                    )
                },
            }
            for k, v in runs.items()
        },
    }
    if args.json is not None:
        args.json.write_text(json.dumps(record))
        print(f"wrote {args.json}")
    report(record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
