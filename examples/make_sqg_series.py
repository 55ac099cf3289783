#!/usr/bin/env python
"""Write simulated SST series (surface quasi-geostrophic turbulence) for pre-training.

Each series is one run of :func:`sstfill.training.sqg.sst_series` (seed ``seed0 + i``):
``--steps`` snapshots one simulated day apart (the lag-1 correlation of the anomalies
matches MUR L4's, ~0.9), in kelvin, on an ``--n`` x ``--n`` periodic grid. Half of the
series carry SLSTR-like sensor noise (``--noise`` K) and half none, like the mix of L2 and
L4 truth the default model trains on. The .npz holds ``sst`` (series, time, y, x) float32,
``times`` (days, the same for every series), ``seeds`` and ``noise_k`` per series, and
``command``.

Usage (the file ``benchmarks/pretrain_sqg.py`` reads; ~2 min on one core)::

    python examples/make_sqg_series.py --out sqg_series.npz --series 16 --steps 10 --n 256 --seed0 0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from sstfill.training.sqg import sst_series


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--series", type=int, default=16)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--seed0", type=int, default=0)
    p.add_argument(
        "--noise",
        type=float,
        default=0.2,
        help="sensor noise (K) on every other series",
    )
    args = p.parse_args(argv)
    t0 = time.time()
    seeds = np.arange(args.seed0, args.seed0 + args.series)
    noise = np.where(seeds % 2 == 1, args.noise, 0.0)
    sst = np.stack(
        [
            sst_series(args.n, args.steps, int(s), noise_k=float(z))
            for s, z in zip(seeds, noise)
        ]
    )
    command = "python examples/make_sqg_series.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    np.savez_compressed(
        args.out,
        sst=sst,
        times=np.arange(args.steps, dtype="float64"),
        seeds=seeds,
        noise_k=noise,
        command=np.array(command),
    )
    print(f"wrote {args.out}: {sst.shape} in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
