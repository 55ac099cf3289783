#!/usr/bin/env python
"""Accuracy of the default model against tile overlap and rotation averaging.

Same held-out cases as ``benchmarks/accuracy.py`` (real pixels under transplanted real
clouds); pooled RMSE (degC) on the hidden pixels, overall and per source.

    python benchmarks/overlap.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` and `sstfill` importable
    sys.path.insert(0, str(REPO))

from benchmarks.cases import load_heldout_cases  # noqa: E402
from benchmarks.harness import error_sums, parse_model_spec  # noqa: E402


class RotationAverage:
    """Average a tile model's predictions over ``k`` rotations (and flips for k > 4)."""

    def __init__(self, model, k: int = 4) -> None:
        self.model, self.k = model, k
        self.tile_size = model.tile_size
        self.description = f"{model.description}, mean of {k} rotations"

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        total = 0.0
        for t in range(self.k):
            turn, flip = t % 4, t // 4
            v, o = np.rot90(values, turn, axes=(1, 2)), np.rot90(observed, turn, axes=(1, 2))
            if flip:
                v, o = v[:, :, ::-1], o[:, :, ::-1]
            p = self.model.predict_tiles(np.ascontiguousarray(v), np.ascontiguousarray(o))
            total = total + np.rot90(p[:, :, ::-1] if flip else p, -turn, axes=(1, 2))
        return (total / self.k).astype("float32")


def pooled_rmse(cases, model, **fill_kwargs) -> dict[str, float]:
    """Pooled RMSE (degC) on the filled hidden pixels, over all cases and per source.

    The errors are summed in float64 (``harness.error_sums``, as ``accuracy.py`` does); the
    table in docs/benchmarks.md was made when they were summed in float32 (same to 3 decimals).
    """
    se: dict[str, float] = {}
    n: dict[str, int] = {}
    for c in cases:
        da = xr.DataArray(c.observed_input, dims=("lat", "lon"), coords={"lat": c.lat, "lon": c.lon}, name="sst")
        land = xr.DataArray(c.land, dims=("lat", "lon"))
        e = error_sums(da.inpaint.fill(model, land=land, **fill_kwargs).values, c.truth, c.hidden)
        for g in ("all", c.source):
            se[g] = se.get(g, 0.0) + e["sse"]
            n[g] = n.get(g, 0) + e["n"]
    return {g: float(np.sqrt(se[g] / n[g])) for g in se}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    p.add_argument("--model", default="default", help="the tile model, SPEC[@precision] of benchmarks/harness.py (default: %(default)s)")
    args = p.parse_args(argv)
    cases = load_heldout_cases(args.shared, window=128, seed=0)
    model = parse_model_spec(args.model).tile_model()
    print("| fill option | all | MUR L4 | SLSTR L2 | seconds |\n|---|---|---|---|---|")
    for label, m, kw in [
        ("overlap=16 (default)", model, {}),
        ("overlap=32", model, {"overlap": 32}),
        ("overlap=48", model, {"overlap": 48}),
        ("overlap=16, 4 rotations", RotationAverage(model, 4), {}),
        ("overlap=32, 4 rotations", RotationAverage(model, 4), {"overlap": 32}),
    ]:
        t0 = time.perf_counter()
        r = pooled_rmse(cases, m, **kw)
        print(f"| {label} | {r['all']:.3f} | {r['mur_l4']:.3f} | {r['slstr_l2']:.3f} | {time.perf_counter() - t0:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
