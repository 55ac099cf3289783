#!/usr/bin/env python
"""Adapting the bundled model to the series it fills: the gain after 1, 5 and 15 minutes on this machine's CPUs.

For each MUR time series of the accuracy benchmark (``benchmarks/cases.py``: Southern
California 0.01 degree, 10 days; Arabian Sea 0.1 degree, 6 days; real cloud shapes
transplanted on every day), and for ERSST v5 (``benchmarks/cases_ersst.py``: global,
2 degrees, 128 months; the one series no bundled model was trained on), the user's archive is the region stack as a user would have it:
the observed pixels only, the transplanted clouds as gaps. The bundled default model is
adapted to it with ``ds.inpaint.train(var, init="default", max_minutes=M)`` (holes from the
series' own clouds, validation by filling a band of rows held out in space (or a block of
steps) under the series' own clouds of other steps, the starting weights kept unless an epoch
fills it better), and the adapted model fills the series cases (the 128 x 128 windows of the
held-out days, filled as series); RMSE on their hidden pixels. One run per region with a
checkpoint: the 5-minute model is the 1-minute run resumed to 5 minutes of training (the
same trajectory as a 5-minute run), and so on. Peers on the same pixels: the bundled model
unadapted, DINEOF trained on the same region stack, and the best single-image peer.
DINCAE needs its own environment (``benchmarks/dincae/``) and is 'n/a' when that is absent.

    python benchmarks/adapt.py --shared ../shared/data --init context --out docs/benchmarks
    python benchmarks/adapt.py --shared ../shared/data --init default --budgets 1 5 --out docs/benchmarks

(``adapt_<init>.json``; ``benchmarks/render_adapt.py`` writes the page.)

The budgets count training time (``history["seconds"]``: the epochs' optimisation, not the
validation passes), on however many cores torch uses here (2 on the reference machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import harness, split  # noqa: E402
from benchmarks.accuracy_extra import dincae_module, dincae_window_fill, fill_unit_with_model  # noqa: E402
from benchmarks.cases import _mur_build, _shared  # noqa: E402
from benchmarks.cases_ersst import ersst_series  # noqa: E402
from benchmarks.cases_extra import series_units  # noqa: E402
from benchmarks.dineof import dineof  # noqa: E402
from benchmarks.peers import PEERS  # noqa: E402
from sstfill.errors import InputDataError  # noqa: E402
from sstfill.kernels.persistence import FAR_OFFSETS_DAYS, GUESS_OFFSETS_DAYS  # noqa: E402
from sstfill.training.settings import kept_epoch  # noqa: E402

BUDGETS = (1.0, 5.0, 15.0)


def region_dataset(st):
    """The region stack as the user's archive: a Dataset with ``sst`` (degC), gaps where clouds are."""
    import xarray as xr

    da = xr.DataArray(st.observed_input, dims=("time", "lat", "lon"), coords={"time": st.time, "lat": st.lat, "lon": st.lon}, name="sst")
    da.attrs = {"units": "degC", "standard_name": "sea_surface_temperature"}
    return da.to_dataset()


def score_units(units, fills: dict) -> dict:
    """RMSE over all units' case pixels, per method in ``fills`` (unit name -> filled array); each case's squared errors and pixels too."""
    sq, n = [], []
    for u in units:
        f = fills[u.name]
        for c in u.cases:
            t = c.tags["t"]
            d = np.asarray(f[t], "float64")[c.hidden] - c.truth[c.hidden].astype("float64")
            d = d[np.isfinite(d)]
            sq.append(float(np.sum(d**2)))
            n.append(int(d.size))
    total = sum(n)
    return {"rmse": float(np.sqrt(sum(sq) / total)) if total else float("nan"), "pixels": total, "case_se": sq, "case_pixels": n}


def gain_noise(bundled: dict, adapted: dict, resamples: int = 2000, seed: int = 0) -> float:
    """Standard deviation of the gain ``1 - rmse_adapted / rmse_bundled`` over the cases, by a paired bootstrap.

    What 'noise' is for issue 16's 'never worse by more than noise': the same cases drawn
    again with replacement, both fills scored on each draw.
    """
    a, b, n = (np.asarray(x, dtype="float64") for x in (adapted["case_se"], bundled["case_se"], bundled["case_pixels"]))
    if len(n) < 2 or len(a) != len(b):
        return float("nan")
    pick = np.random.default_rng(seed).integers(0, len(n), (resamples, len(n)))
    gains = 1 - np.sqrt(a[pick].sum(1) / n[pick].sum(1)) / np.sqrt(b[pick].sum(1) / n[pick].sum(1))
    return float(gains.std(ddof=1))


def _kept_fill_rmse(history: dict) -> float | None:
    """The validation-by-filling RMSE of the weights adapting kept (the start's when it kept them)."""
    if "start_val_fill_rmse" not in history:
        return None
    kept = kept_epoch(history)
    return history["start_val_fill_rmse"][0] if kept is None or kept < 0 else history["val_fill_rmse"][kept]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", default=str(split.DEFAULT_SHARED))
    p.add_argument("--out", default=None)
    p.add_argument("--budgets", type=float, nargs="*", default=list(BUDGETS), help="minutes of training (default: %(default)s)")
    p.add_argument("--init", default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--regions", nargs="*", default=None, help="only these series: mur_socal, mur_arabian, ersst (default: all)")
    p.add_argument("--archive", choices=("all", "new-days"), default="all",
                   help="what the model adapts on: the whole region stack (all), or, on the MUR series, only its held-out days, "
                        "the days no bundled model was trained on (new-days; ERSST, which no bundled model saw, stays whole); "
                        "writes adapt_<init>_new_days.json")
    p.add_argument("--merge", action="store_true", help="update only these regions' rows of an existing adapt_<init>.json (each row keeps its own command)")
    p.add_argument("--peers-from", default=None, metavar="JSON", help="an earlier adapt_<init>.json: DINCAE's scores (the same cases and pixels) "
                   "carried from it where DINCAE's environment is not on this machine, marked with that run's date")
    args = p.parse_args(argv)
    import sstfill  # noqa: F401

    shared = _shared(args.shared)
    built = _mur_build(shared, 128, args.seed)
    stacks = built[1]
    units = series_units(shared, 128, args.seed, built)
    if not args.regions or "ersst" in args.regions:  # the series no bundled model has seen
        stacks["ersst"], ersst_unit = ersst_series(shared, args.seed)
        units.append(ersst_unit)
    results: dict = {"regions": {}, "budgets": args.budgets, "init": args.init, "archive": args.archive,
                     "command": harness.command_line("adapt.py", argv or sys.argv[1:]), "run_at": harness.utc_timestamp(),
                     "guess_layers_days": [list(GUESS_OFFSETS_DAYS), list(FAR_OFFSETS_DAYS)]}  # every fill here blends the neighbouring days' guess
    dincae = dincae_module()
    carried = json.loads(Path(args.peers_from).read_text(encoding="utf-8")) if args.peers_from else None
    t_all = time.perf_counter()
    for region, st in stacks.items():
        if args.regions and region not in args.regions:
            continue
        mine = [u for u in units if u.stack_ref["stack"] == region]
        row: dict = {"cases": sum(len(u.cases) for u in mine), "days": len(st.time), "shape": list(st.observed_input.shape)}
        print(f"[adapt] {region}: {row['cases']} series cases in {len(mine)} windows", flush=True)
        row["bundled"] = score_units(mine, {u.name: fill_unit_with_model(u, args.init) for u in mine})
        # peers on the same pixels: DINEOF on the region stack, the single-image peers day by day
        res = dineof(st.observed_input, st.land, seed=args.seed)
        row["dineof"] = score_units(mine, {u.name: res.filled[:, u.stack_ref["rows"][0]:u.stack_ref["rows"][1], u.stack_ref["cols"][0]:u.stack_ref["cols"][1]] for u in mine})
        for peer, fn in PEERS.items():
            fills = {}
            for u in mine:
                f = np.full(u.observed_input.shape, np.nan, np.float32)
                for t in u.steps:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        f[t] = fn(u.observed_input[t], u.land)
                fills[u.name] = f
            row[peer] = score_units(mine, fills)
        if dincae is not None:
            try:  # each window's own series (DINCAE's dense bottleneck grows with the image: a whole 401 x 601 stack is out of reach)
                row["dincae"] = score_units(mine, {u.name: dincae_window_fill(dincae, st, u) for u in mine})
            except Exception as exc:  # noqa: BLE001  recorded, never fatal
                row["dincae"] = {"error": f"{type(exc).__name__}: {exc}"}
        elif carried is not None and (carried["regions"].get(region) or {}).get("dincae"):  # DINCAE does not depend on sstfill
            old = carried["regions"][region]
            row["dincae"] = {**old["dincae"], "carried_from": old.get("run_at", carried["run_at"])}
        else:
            row["dincae"] = None
        ds = region_dataset(st)
        if args.archive == "new-days" and region != "ersst":  # the user's archive: days no bundled model has seen
            ds = ds.isel(time=list(st.heldout_steps))
        row["archive_days"] = int(ds.sizes["time"])
        row["adapted"] = []
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Path(tmp) / "run.npz"
            resume = None
            for minutes in sorted(args.budgets):
                t0 = time.perf_counter()
                try:
                    model = ds.inpaint.train("sst", init=args.init, max_minutes=minutes, epochs=10_000, checkpoint=str(ckpt), resume=resume,
                                             progress=False, seed=args.seed)
                except InputDataError as exc:  # an archive too small to adapt on: recorded, as the user would see it
                    row["adapt_error"] = str(exc)
                    print(f"[adapt] {region}: cannot adapt: {exc}", flush=True)
                    break
                wall = time.perf_counter() - t0
                resume = str(ckpt)
                h = model.history
                score = score_units(mine, {u.name: fill_unit_with_model(u, model) for u in mine})
                entry = {"minutes": minutes, "trained_seconds": float(sum(h["seconds"])), "epochs": len(h["epoch"]), "wall_seconds_this_step": wall,
                         "start_val_loss": h.get("start_val_loss", [None])[0], "best_val_loss": float(min(h["val_loss"])),
                         "kept_start": h["best_epoch"][0] == -1, **score, "tiles": h.get("tiles"),
                         "start_val_fill_rmse": h.get("start_val_fill_rmse", [None])[0], "kept_val_fill_rmse": _kept_fill_rmse(h),
                         "fill_validation": h.get("fill_validation")}
                row["adapted"].append(entry)
                gain = 1 - score["rmse"] / row["bundled"]["rmse"]
                entry["gain_noise"] = gain_noise(row["bundled"], score)
                print(f"[adapt] {region} {minutes:g} min ({entry['trained_seconds']:.0f} s trained, {entry['epochs']} epochs): rmse {score['rmse']:.4f} "
                      f"vs bundled {row['bundled']['rmse']:.4f} ({100 * gain:+.1f} %), dineof {row['dineof']['rmse']:.4f}", flush=True)
        row["command"], row["run_at"] = results["command"], harness.utc_timestamp()
        results["regions"][region] = row
    results["seconds"] = time.perf_counter() - t_all
    results["environment"] = harness.environment()
    if args.out:
        out = Path(args.out) / f"adapt_{Path(args.init).stem}{'' if args.archive == 'all' else '_new_days'}.json"
        if args.merge and out.is_file():  # the other regions' rows as they were measured
            previous = json.loads(out.read_text())
            for region, old_row in previous["regions"].items():
                old_row.setdefault("command", previous["command"])
                old_row.setdefault("run_at", previous["run_at"])
            previous["regions"].update(results["regions"])
            results = {**previous, "environment": results["environment"]}
        harness.write_json(out, results)
        print(f"[adapt] wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
