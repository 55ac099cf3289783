"""DINCAE next to biharmonic on one window of a held-out MUR time series.

Cuts a (time, window, window) block out of ``load_heldout_stacks()`` (real MUR L4 with
real held-out clouds transplanted on every day), fills it with DINCAE (in its own
environment, ``benchmarks/dincae_peer.py``) and with biharmonic inpainting
(``peers.fill_biharmonic``, day by day), and prints the RMSE (degC) on the hidden pixels
of the held-out days (``Stack.score_mask``), on the pixels both methods filled, with each
method's coverage and wall time (and DINCAE's CPU time: the wall time depends on the
load). The hidden pixels of the training days are scored too ("train days"): they are
what DINCAE's settings may be chosen on.

Usage::

    python benchmarks/dincae_window.py --stack mur_socal --row 128 --col 0 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(REPO))

from benchmarks.cases import load_heldout_stacks
from benchmarks.dincae_peer import available, dincae_python, fill_dincae
from benchmarks.peers import fill_biharmonic


def _child_cpu() -> float:
    """CPU seconds (user + system) of the finished subprocesses so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _score(filled: dict, truth, mask) -> dict:
    """RMSE on the pixels of ``mask`` that every method filled, and each one's coverage."""
    common = mask.copy()
    for f in filled.values():
        common &= np.isfinite(f)
    out = {"n_hidden": int(mask.sum()), "n_common": int(common.sum())}
    for name, f in filled.items():
        d = f[common].astype("float64") - truth[common].astype("float64")
        own = mask & np.isfinite(f)
        e = f[own].astype("float64") - truth[own].astype("float64")
        out[name] = {
            "rmse_common": float(np.sqrt(np.mean(d**2))),
            "coverage": float(own.sum() / max(mask.sum(), 1)),
            "rmse_own": float(np.sqrt(np.mean(e**2))),
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--shared",
        default=None,
        help="folder of the shared data (default ../shared/data)",
    )
    ap.add_argument(
        "--stack", default="mur_socal", choices=("mur_socal", "mur_arabian")
    )
    ap.add_argument("--row", type=int, default=128)
    ap.add_argument("--col", type=int, default=0)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--json", default=None, help="write the result here")
    a = ap.parse_args(argv)
    if not available():
        sys.exit(
            f"DINCAE environment missing ({dincae_python()}): run benchmarks/dincae/setup_env.sh"
        )
    st = load_heldout_stacks(a.shared)[a.stack]
    rows, cols = slice(a.row, a.row + a.window), slice(a.col, a.col + a.window)
    values = st.observed_input[:, rows, cols]
    land, truth = st.land[rows, cols], st.truth[:, rows, cols]
    held = np.zeros(values.shape[0], bool)
    held[list(st.heldout_steps)] = True
    hidden = st.hidden[:, rows, cols] & ~land

    seconds, filled = {}, {}
    t0, c0 = time.perf_counter(), _child_cpu()
    filled["dincae"] = fill_dincae(values, land, st.lat[rows], st.lon[cols], st.time)
    seconds["dincae"] = time.perf_counter() - t0
    seconds["dincae_cpu"] = _child_cpu() - c0  # the DINCAE subprocess's CPU time
    t0 = time.perf_counter()
    filled["biharmonic"] = fill_biharmonic(values, land)
    seconds["biharmonic"] = time.perf_counter() - t0

    obs = np.isfinite(values) & ~land
    for name, f in filled.items():  # the peer conventions, checked on the real run
        assert np.array_equal(f[obs], values[obs]), f"{name} changed observed pixels"
        assert np.isnan(f[:, land]).all(), f"{name} filled land"
    res = {
        "stack": a.stack, "rows": [a.row, a.row + a.window], "cols": [a.col, a.col + a.window],
        "shape": list(values.shape), "land_fraction": float(land.mean()),
        "heldout_steps": list(st.heldout_steps), "seconds": seconds,
        "heldout_days": _score(filled, truth, hidden & held[:, None, None]),
        "train_days": _score(filled, truth, hidden & ~held[:, None, None]),
    }  # fmt: skip
    print(json.dumps(res, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")
    return res


if __name__ == "__main__":
    main()
