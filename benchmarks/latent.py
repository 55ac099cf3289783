"""Latent-space (DCGAN) inpainting on held-out tiles: RMSE against search steps, lambda, restarts and blending, and its speed.

The tiles are the four 64x64 quadrants of every standard held-out case
(``benchmarks/cases.py``: real observed pixels hidden under transplanted real clouds; MUR
L4 and SLSTR L2), those with at least 50 hidden pixels, at most 5 % land and at least 10 %
observed. Every method fills
the same tiles from the same input, tile by tile (no context beyond the tile for anyone),
and is scored on the hidden pixels (degC):

* sstfill's bundled default model (``predict_tiles``), the Laplace tile filler, and the
  biharmonic peer on the tile;
* the latent model at its settings, and one setting changed at a time: search steps,
  the prior weight lambda, restarts, the context-weight floor, blending.

Speed is tiles per second on this machine's CPU threads, measured in the same run for every
method; the page reports it as a ratio to the default model. The held-out benchmark through
the accessor (whole windows, every peer) is ``benchmarks/accuracy.py`` with
``--model latent=sstfill/data/latent_model.npz``.

Usage::

    python benchmarks/latent.py --shared ../shared/data --model sstfill/data/latent_model.npz --out docs/benchmarks
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.cases import load_heldout_cases  # noqa: E402
from benchmarks.harness import command_line, environment, fmt, git_state, md_table, utc_timestamp, write_json  # noqa: E402
from benchmarks.peers import fill_biharmonic  # noqa: E402

#: One setting changed at a time from the model's own (rows equal to its own are skipped).
SWEEP = {
    **{f"steps {n}" + (" (no search: the better starting point)" if n == 0 else ""): {"steps": n} for n in (0, 5, 10, 25, 50, 100, 200)},
    **{f"lambda {w:g}": {"prior_weight": w} for w in (0.0, 0.003, 0.03, 0.3)},
    **{f"restarts {n}": {"restarts": n} for n in (1, 2, 4)},
    **{f"floor {f:g}" + (" (the paper's weights)" if f == 0 else ""): {"context_floor": f} for f in (0.0, 0.1, 1.0)},
    "no blending": {"blend": "none"},
    "the first bundled search (100 steps, 2 restarts, lambda 0.003, floor 0.1)": {"steps": 100, "restarts": 2, "prior_weight": 0.003, "context_floor": 0.1},
}


def heldout_tiles(shared: Path, min_hidden: int = 50, max_land: float = 0.05, min_observed: float = 0.1) -> dict[str, np.ndarray]:
    """Quadrant tiles of the standard held-out cases: input (NaN gaps), truth, hidden, source.

    Tiles with fewer than ``min_observed`` of their pixels observed are left out: a tile
    model is not asked to fill them (``fill()`` hands such regions to its fallback).
    """
    values, truth, hidden, source = [], [], [], []
    for case in load_heldout_cases(shared):
        for r in (0, 64):
            for c in (0, 64):
                sl = (slice(r, r + 64), slice(c, c + 64))
                h = case.hidden[sl]
                if h.sum() < min_hidden or case.land[sl].mean() > max_land or np.isfinite(case.observed_input[sl]).mean() < min_observed:
                    continue
                values.append(case.observed_input[sl])
                truth.append(case.truth[sl])
                hidden.append(h)
                source.append(case.source)
    return {"values": np.stack(values).astype("float32"), "truth": np.stack(truth).astype("float32"), "hidden": np.stack(hidden), "source": np.array(source)}


def rmse_by_source(filled: np.ndarray, tiles: dict[str, np.ndarray]) -> dict[str, float]:
    out = {}
    for name, rows in (("all", np.ones(len(filled), bool)), ("MUR L4", tiles["source"] == "mur_l4"), ("SLSTR L2", tiles["source"] == "slstr_l2")):
        where = tiles["hidden"][rows]
        d = filled[rows][where].astype("float64") - tiles["truth"][rows][where]
        out[name] = float(np.sqrt(np.nanmean(d**2)))
    return out


def timed_fill(fill, values: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = fill(values, observed)
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--model", default=str(REPO / "sstfill" / "data" / "latent_model.npz"))
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    ap.add_argument("--max-tiles", type=int, default=None, help="at most this many tiles (every n-th)")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--from-json", type=Path, default=None, help="only re-render latent.md from a latent.json (into --out)")
    args = ap.parse_args(argv)
    if args.from_json is not None:
        result = json.loads(args.from_json.read_text())
        (args.out / "latent.md").write_text(to_markdown(result))
        return result

    import torch

    import sstfill
    from sstfill.models.store import load_bundled_model

    tiles = heldout_tiles(args.shared)
    if args.max_tiles and len(tiles["values"]) > args.max_tiles:
        step = int(np.ceil(len(tiles["values"]) / args.max_tiles))
        tiles = {k: v[::step] for k, v in tiles.items()}
    values = tiles["values"]
    observed = np.isfinite(values)
    n = len(values)
    print(f"{n} held-out tiles ({(tiles['source'] == 'mur_l4').sum()} MUR, {(tiles['source'] == 'slstr_l2').sum()} SLSTR), "
          f"{int(tiles['hidden'].sum())} hidden pixels", flush=True)
    latent = sstfill.load_model(args.model)
    default = load_bundled_model("default", "cpu", "float32")
    laplace = sstfill.LaplaceFiller()
    warm_ups = {"latent": latent.with_search(steps=1).predict_tiles}
    methods = {
        "default model (tile only)": default.predict_tiles,
        "laplace (tile)": laplace.predict_tiles,
        "biharmonic (tile)": lambda v, m: fill_biharmonic(v),
        "latent": latent.predict_tiles,
    }
    if not args.no_sweep:
        own = latent.config.to_dict()
        for label, changes in SWEEP.items():
            if any(own[k] != v for k, v in changes.items()):
                methods[f"latent, {label}"] = latent.with_search(**changes).predict_tiles
                warm_ups[f"latent, {label}"] = latent.with_search(**{**changes, "steps": min(changes.get("steps", 1), 1)}).predict_tiles
    default.predict_tiles(values[:256], observed[:256])
    rows = []
    for label, fill in methods.items():
        if label in warm_ups:  # one step on a full batch first: a CPU library builds its kernels per shape, untimed
            warm_ups[label](values[: latent.preferred_batch], observed[: latent.preferred_batch])
        filled, seconds = timed_fill(fill, values, observed)
        if label.startswith("latent"):  # it returns observed pixels unchanged
            assert np.array_equal(filled[observed], values[observed]), label
        filled = np.where(observed, values, filled)  # as the fill does for a network's output
        row = {"method": label, "seconds": seconds, "tiles_per_second": n / seconds, **rmse_by_source(filled, tiles)}
        rows.append(row)
        print(f"{label:45s} rmse {row['all']:.4f}  MUR {row['MUR L4']:.4f}  SLSTR {row['SLSTR L2']:.4f}  {row['tiles_per_second']:.1f} tiles/s", flush=True)
    result = {
        "what": "latent-space inpainting on held-out quadrant tiles (RMSE degC on hidden pixels)",
        "command": command_line("latent.py", argv if argv is not None else sys.argv[1:]),
        "when": utc_timestamp(), "git": git_state(), "environment": environment("cpu"), "torch_threads": torch.get_num_threads(),
        "model": latent.config.to_dict(), "model_history": {k: latent.history.get(k) for k in ("tiles", "val_rmse")},
        "tiles": int(n), "hidden_pixels": int(tiles["hidden"].sum()), "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "latent.json", result)
    (args.out / "latent.md").write_text(to_markdown(result))
    print(to_markdown(result))
    return result


def _times(ratio: float) -> str:
    """How many times slower, e.g. '104x', '1.3x', '0.28x'."""
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def to_markdown(result: dict) -> str:
    rows = result["rows"]
    ref = next(r for r in rows if r["method"].startswith("default"))
    body = [[r["method"], fmt(r["all"]), fmt(r["MUR L4"]), fmt(r["SLSTR L2"]), f"{r['all'] / ref['all']:.2f}", fmt(r["tiles_per_second"], ".1f"),
             _times(ref["tiles_per_second"] / r["tiles_per_second"])] for r in rows]
    lines = [
        "# Latent-space (DCGAN) inpainting on held-out tiles",
        "",
        f"{result['tiles']} quadrant tiles (64x64) of the standard held-out cases (at least 50 hidden pixels, at most 5 % land, at least 10 % observed), "
        f"{result['hidden_pixels']:,} hidden pixels; every method fills the same "
        "tiles from the same input, one tile at a time, and is scored on the hidden pixels (RMSE, degC). The latent rows below "
        "the first change one search setting at a time. Speed: tiles per second in this run on "
        f"{result['torch_threads']} CPU thread(s), and how many times slower than the default model.",
        "",
        *md_table(["method", "RMSE all", "MUR L4", "SLSTR L2", "RMSE / default", "tiles/s", "slower than default"], body),
        "",
        f"Command: `{result['command']}`",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
