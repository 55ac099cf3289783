#!/usr/bin/env python
"""The neighbouring days' guess (``fill(persistence=True)``): its scale chosen on the fit set, its gain on held-out series.

On a daily series ``fill()`` blends each filled pixel with the guess from the neighbouring
days' observations (:mod:`sstfill.kernels.persistence`), the fill's weight
``1 / (1 + d / scale)`` at ``d`` km from the day's own data. The series items of the two
sets of ``benchmarks/calibration.py`` that share nothing are scored on their hidden pixels:
the *fit* set (the MUR series' training days, and 256 px windows of those days under
clouds wider than a tile, each within its series), where the scale is chosen, and the
*held-out* set (the accuracy benchmark's MUR series cases and its large clouds on their
series). Each item is filled once through the accessor without the guess, and the guess
blended into it at every scale by the function ``fill()`` uses
(:func:`sstfill.xr.persistence.blend_neighbour_days`); the shipped scale is then checked
against the accessor's own fill (``persistence=True``). Changes carry their paired-bootstrap noise
(items drawn again). Cost: the fill of each MUR region stack with and without the guess,
timed round-robin.

    python benchmarks/persistence.py --shared ../shared/data --out docs/benchmarks

About 15 minutes on 2 CPU cores; writes ``persistence.json`` and the page ``persistence.md``.
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

from benchmarks import calibration, harness  # noqa: E402
from benchmarks.large_gap_trial import change_noise, group_rmse  # noqa: E402
from sstfill.kernels.persistence import BLEND_SCALE_KM, FAR_OFFSETS_DAYS, GUESS_OFFSETS_DAYS  # noqa: E402

SCALES_KM = (8.0, 16.0, 32.0, 64.0, 128.0)
NEAR_ONLY = f"{BLEND_SCALE_KM:g} km, days within 2 only"  # the guess without its second layer (the days 3 to 5 away)
ENDS_AT_EDGE = f"{BLEND_SCALE_KM:g} km, not carried on past the guess"  # the blend alone, with its step where the guess ends
MODELS = ("context", "default")


def score_set(items: list[calibration.Item], model: str, log) -> dict:
    """Per variant (off, each scale, shipped): [(group, squared errors, pixels)] per item; and the check of the shipped fill."""
    errors: dict[str, list] = {"off": []} | {f"{s:g} km": [] for s in SCALES_KM} | {NEAR_ONLY: [], ENDS_AT_EDGE: [], "shipped": []}
    largest_difference = 0.0
    for item in items:
        t0 = time.perf_counter()
        whole, t = calibration.series_of(item)
        steps = [t] if t is not None else [k for k in range(len(whole.time)) if item.scored[k].any()]
        plain = calibration.fill_item(whole, model, persistence=False)
        variants = {"off": plain, "shipped": calibration.fill_item(whole, model, persistence=True)}
        for s in SCALES_KM:  # the blend of fill() at each scale, on the same fill without the guess
            variants[f"{s:g} km"] = calibration.blend_series(whole, plain, s)[0]
        variants[NEAR_ONLY] = calibration.blend_series(whole, plain, layers_days=(GUESS_OFFSETS_DAYS,))[0]
        variants[ENDS_AT_EDGE] = calibration.blend_series(whole, plain, carry_on=False)[0]
        group = item.groups[1] if item.groups[0] == "fit" else item.groups[0]
        for label, filled in variants.items():
            sq, n = 0.0, 0
            for k in steps:
                scored, truth = (item.scored, item.truth) if t is not None else (item.scored[k], item.truth[k])
                where = scored & np.isfinite(filled[k])
                err = filled[k][where].astype("float64") - truth[where]
                sq, n = sq + float(np.sum(err**2)), n + int(where.sum())
            errors[label].append((group, sq, n))
        ours = variants[f"{BLEND_SCALE_KM:g} km"][steps]
        largest_difference = max(largest_difference, float(np.nanmax(np.abs(ours - variants["shipped"][steps]), initial=0.0)))
        log(f"[persistence] {model} {item.name}: {time.perf_counter() - t0:.0f} s")
    return {"errors": errors, "largest_difference_to_shipped": largest_difference}


def cost(shared: Path, model: str, repeats: int = 2) -> dict:
    """Seconds to fill each MUR region stack (as a user's series) with and without the guess, best of ``repeats`` round-robin."""
    from benchmarks.adapt import region_dataset
    from benchmarks.cases import _mur_build

    _, stacks, _ = _mur_build(shared, 128, 0)
    out = {}
    for name, st in stacks.items():
        da = region_dataset(st)["sst"]
        jobs = {p: (lambda p=p: da.inpaint.fill(model, error=False, persistence=p).values) for p in (False, True)}
        times = harness.round_robin({str(p): job for p, job in jobs.items()}, repeats)
        out[name] = {"shape": list(da.shape), "seconds_without": harness.best_run(times["False"])["wall_s"],
                     "seconds_with": harness.best_run(times["True"])["wall_s"]}
    return out


def render(result: dict) -> str:
    lines = ["# The neighbouring days' guess on daily series", "",
             "On a daily series `fill()` blends each filled pixel with the guess from the neighbouring",
             "days' observations (`fill(persistence=True)`, the default; [`sstfill.kernels.persistence`](../api.md)):",
             "the weighted mean (1/dt^2) of the observations within 2 days, plus the day's departure from",
             "it filled harmonically (where none of those days saw a pixel, the same from the days 3 to 5",
             "away); the fill keeps the weight `1 / (1 + d / scale)` at `d` km from the",
             "day's own data. Where no day within 5 saw a gap pixel, the blend's correction of the fill",
             "is carried on harmonically from the pixels around (since 2026-12-07; before, the blend",
             "ended there in a step). Observed pixels, land and the gaps beyond the reach are untouched; single",
             "images and monthly maps are not changed.", "",
             f"    {result['command']}", "",
             f"Run {result['date']}, {result['minutes']:.0f} min on 2 CPU cores. RMSE (degC) on the hidden pixels; in brackets the",
             "change against the fill without the guess and its paired-bootstrap noise (items drawn again).", ""]
    for model, by_set in result["models"].items():
        lines += [f"## `{model}` model", ""]
        for set_name, entry in by_set.items():
            groups = sorted(entry["rmse"]["off"])
            lines += [f"{set_name} set ({entry['items']} items; the shipped fill differs from the blend computed here by at most "
                      f"{entry['largest_difference_to_shipped']:.1e} degC):", ""]
            header = ["variant"] + groups
            rows = []
            for label, rmse in entry["rmse"].items():
                cells = [label]
                for g in groups:
                    if label == "off":
                        cells.append(f"{rmse[g]:.3f}")
                    else:
                        change = 100 * (rmse[g] / entry["rmse"]["off"][g] - 1)
                        cells.append(f"{rmse[g]:.3f} ({change:+.1f} %, noise {entry['noise'][label][g]:.1f} %)")
                rows.append(cells)
            lines += harness.md_table(header, rows) + [""]
    when = f" (timed again alone on {result['cost_measured_at'][:16]}, `--cost-only`)" if result.get("cost_measured_at") else ""
    lines += ["## Cost", "", f"Each MUR region stack filled as a user's series (best of 2, round-robin), `context` model{when}:", ""]
    rows = [[name, " x ".join(map(str, c["shape"])), f"{c['seconds_without']:.1f}", f"{c['seconds_with']:.1f}", f"{c['seconds_with'] / c['seconds_without']:.2f}"]
            for name, c in result["cost"].items()]
    lines += harness.md_table(["stack", "shape", "s without", "s with", "ratio"], rows) + [""]
    lines += ["## What the numbers say", ""] + [f"- {f}" for f in findings(result)] + [""]
    return "\n".join(lines)


def _pooled(entry: dict, label: str) -> float:
    """Mean over a set's groups of a variant's RMSE (each group counts once, whatever its pixels)."""
    return float(np.mean(list(entry["rmse"][label].values())))


def findings(result: dict) -> list[str]:
    """What the tables say, from the numbers: the best scale on the fit set, the held-out gain of the shipped one, the cost."""
    out = []
    scales = [k for k in next(iter(result["models"].values()))["fit"]["rmse"] if k.endswith(" km")]
    for model, by_set in result["models"].items():
        fit, held = by_set["fit"], by_set["held-out"]
        best = min(scales, key=lambda k: _pooled(fit, k))
        gains = ", ".join(f"{g} {100 * (1 - held['rmse']['shipped'][g] / held['rmse']['off'][g]):.1f} % (noise {held['noise']['shipped'][g]:.1f} %)"
                          for g in held["rmse"]["off"])
        out.append(f"`{model}`: the scale with the lowest mean RMSE over the fit set's groups is {best} (shipped: "
                   f"{result['scale_km']:g} km, one scale for every model: the one chosen for `context`, the model `fill()` "
                   f"uses on daily series); on the held-out set the shipped scale lowers the RMSE by {gains}.")
    for model, by_set in result["models"].items():
        if NEAR_ONLY not in by_set["held-out"]["rmse"]:
            continue  # a run from before the second layer
        parts = []
        for set_name, entry in by_set.items():
            near, both = entry["rmse"][NEAR_ONLY], entry["rmse"]["shipped"]
            parts.append(f"{set_name} " + ", ".join(f"{g} {near[g]:.3f} -> {both[g]:.3f}" for g in near))
        out.append(f"`{model}`: the second layer of the guess (the days 3 to 5 away, where the days within 2 saw nothing): "
                   + "; ".join(parts) + " degC.")
    for model, by_set in result["models"].items():
        if ENDS_AT_EDGE not in by_set["held-out"]["rmse"]:
            continue  # a run from before the correction was carried on
        parts = []
        for set_name, entry in by_set.items():
            ended, carried = entry["rmse"][ENDS_AT_EDGE], entry["rmse"]["shipped"]
            parts.append(f"{set_name} " + ", ".join(f"{g} {ended[g]:.3f} -> {carried[g]:.3f}" for g in ended))
        out.append(f"`{model}`: the blend's correction carried on past the edge of the guess (where no day within 5 saw "
                   "the pixel), against the blend ending there: " + "; ".join(parts) + " degC.")
    cost = result.get("cost", {})
    if cost:
        ratios = ", ".join(f"{name} x{c['seconds_with'] / c['seconds_without']:.2f}" for name, c in cost.items())
        out.append(f"Cost of the guess on a whole region stack ({ratios}): a harmonic solve of each step's departure from "
                   "its neighbours, a distance transform and, where the guess ends, a harmonic solve of the correction, on top of the tiles; `persistence=False` skips it.")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", default=str(calibration.split.DEFAULT_SHARED))
    p.add_argument("--out", default=None, help="folder for persistence.json and persistence.md (default: print only)")
    p.add_argument("--from-json", default=None, metavar="PATH", help="only write the page from an earlier run's JSON (next to it)")
    p.add_argument("--cost-only", action="store_true", help="time the cost section again, alone, into --out's persistence.json (the rest as it was)")
    args = p.parse_args(argv)
    if args.cost_only:
        path = Path(args.out) / "persistence.json"
        result = json.loads(path.read_text(encoding="utf-8"))
        result["cost"], result["cost_measured_at"] = cost(Path(args.shared), "context"), harness.utc_timestamp()
        harness.write_json(path, result)
        (path.parent / "persistence.md").write_text(render(result), encoding="utf-8")
        return 0
    if args.from_json:
        path = Path(args.from_json)
        (path.parent / "persistence.md").write_text(render(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")
        return 0
    started = time.time()
    shared = Path(args.shared)
    series = lambda items: [it for it in items if it.time is not None or it.series is not None]  # noqa: E731
    sets = {"fit": series(calibration.fit_items(shared)), "held-out": series(calibration.heldout_items(shared))}
    result: dict = {"command": harness.command_line("persistence.py", sys.argv[1:] if argv is None else argv), "environment": harness.environment(),
                    "date": harness.utc_timestamp(), "scale_km": BLEND_SCALE_KM, "offsets_days": list(GUESS_OFFSETS_DAYS),
                    "far_offsets_days": list(FAR_OFFSETS_DAYS), "models": {}}
    for model in MODELS:
        result["models"][model] = {}
        for set_name, items in sets.items():
            scored = score_set(items, model, harness.log_to_stderr)
            errs = scored["errors"]
            result["models"][model][set_name] = {
                "items": len(items), "largest_difference_to_shipped": scored["largest_difference_to_shipped"],
                "rmse": {label: group_rmse(e) for label, e in errs.items()},
                "noise": {label: change_noise(errs["off"], e) for label, e in errs.items() if label != "off"},
            }
    result["cost"] = cost(shared, "context")
    result["minutes"] = (time.time() - started) / 60
    if args.out:
        out = Path(args.out)
        harness.write_json(out / "persistence.json", result)
        (out / "persistence.md").write_text(render(result), encoding="utf-8")
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
