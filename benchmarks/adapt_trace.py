#!/usr/bin/env python
"""Does the validation by filling predict the held-out cases? Both scores of every weights adapting validates.

Adapts the bundled model to one series of ``benchmarks/adapt.py`` (the whole region stack)
and, each time adapting validates a set of weights (the start, then every epoch), also
fills that series' held-out cases with them: one line per validation with the RMSE of the
validation part filled whole (what adapting chooses by) and of the held-out cases (what
the benchmark scores), and the validation part's mean squared error per step.

    python benchmarks/adapt_trace.py --shared ../shared/data --region mur_socal --init context --minutes 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import adapt  # noqa: E402
from sstfill.xr import validation  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", default="../shared/data")
    p.add_argument("--region", default="mur_socal", help="mur_socal, mur_arabian or ersst")
    p.add_argument("--init", default="context")
    p.add_argument("--minutes", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    shared = adapt._shared(args.shared)
    built = adapt._mur_build(shared, 128, args.seed)
    stacks, units = built[1], adapt.series_units(shared, 128, args.seed, built)
    if args.region == "ersst":
        stacks["ersst"], unit = adapt.ersst_series(shared, args.seed)
        units.append(unit)
    mine = [u for u in units if u.stack_ref["stack"] == args.region]
    score = validation.FillValidation.__call__

    def traced(self, model):
        se, n = score(self, model)
        held = adapt.score_units(mine, {u.name: adapt.fill_unit_with_model(u, model) for u in mine})["rmse"]
        per_step = " ".join(f"{v:.5f}" for v in se / np.maximum(n, 1))
        print(f"validation {np.sqrt(se.sum() / n.sum()):.5f}  held-out cases {held:.5f}  per step {per_step}", flush=True)
        return se, n

    validation.FillValidation.__call__ = traced
    model = adapt.region_dataset(stacks[args.region]).inpaint.train("sst", init=args.init, max_minutes=args.minutes, epochs=10_000, progress=False, seed=args.seed)
    print(f"kept: epoch {model.history['best_epoch'][0]} (-1: the start); validation part: {model.history.get('fill_validation')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
