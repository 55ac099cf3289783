#!/usr/bin/env python
"""Render ``adapt_<init>.json`` (``benchmarks/adapt.py``) as ``adapt.md``.

    python benchmarks/render_adapt.py docs/benchmarks
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.harness import fmt, md_table  # noqa: E402

TARGET_GAIN = 0.10  # issue 16: 5 minutes lower the RMSE by at least 10 %


def _gain(region_row: dict, adapted: dict) -> float:
    """An adapted model's RMSE gain against the bundled model's (1 - adapted / bundled)."""
    return 1 - adapted["rmse"] / region_row["bundled"]["rmse"]


def _noise(adapted: dict) -> float | None:
    """The gain's bootstrap noise (``benchmarks/adapt.py``'s ``gain_noise``), None where not measured."""
    noise = adapted.get("gain_noise")
    return noise if noise is not None and math.isfinite(noise) else None


def render(runs: list[dict]) -> str:
    lines = [
        "# Adapting a bundled model to the series it fills",
        "",
        "`ds.inpaint.train(var, init=\"context\", max_minutes=5)` fine-tunes a copy of a bundled",
        "model on the dataset's own observed pixels: holes are the dataset's own cloud masks from",
        "other days and places, every day teaches the model, the reconstruction alone is trained,",
        "and the weights kept are those that fill the validation part best, the starting weights",
        "included (so adapting never returns a model that validates worse than the one it started",
        "from). Since 2026-12-04 the validation part (a band of rows held out in space, or a block",
        "of steps where the images are too small for bands) is *filled* as `fill()` fills it,",
        "every step, tile, blend, fallback and reach included, after its observed pixels were",
        "hidden under the series' own clouds of the step half the series away",
        "(`sstfill.xr.validation`); until then the score was that of a few dozen validation tiles,",
        "each filled alone under drawn holes.",
        "",
        "Measured on the time-series cases of the accuracy benchmark: for each MUR series (the",
        "region stack with real clouds transplanted on every day, as a user would have it) the",
        "model is adapted on the stack, then fills the series cases (128 x 128 windows of the",
        "held-out days, filled as series); RMSE in degC on their hidden pixels, which no method",
        "ever sees. And on the one real series no bundled model was trained on: ERSST v5",
        "(`benchmarks/cases_ersst.py`: global, 2 degrees, 128 months, real cloud masks on every",
        "month hiding about half the ocean; every eighth month scored, the whole globe filled",
        "as one series; every method fills every hidden pixel, except that the single-image",
        "peers leave 0.8-1.0 % of them, in gaps no data touches, unfilled and are scored on the",
        "rest). The 5- and 15-minute models continue the 1-minute run (the same trajectory",
        "as a single run of that length). Minutes are training time on the machine's 2 CPU",
        "cores; tile cutting, validation and the error model's fit come on top (wall time below).",
        "Peers on the same pixels: the bundled model unadapted, DINEOF trained on the same stack,",
        "and the single-image peers (each step alone, on the field as it is: on ERSST the Laplace",
        "fill of the anomalies from the series' climatology scores 0.548 degC, section below).",
        "",
    ]
    for res in runs:
        archive = {"all": "", "new-days": ", adapted on the new days only"}[res.get("archive", "all")]
        longest = max(res["budgets"])
        archive += f", {' and '.join(res['regions'])} to {longest:g} minutes" if longest > 5 else ""
        lines += [f"## init = `{res['init']}`{archive}", "", f"    {res['command']}", "", f"Run {res['run_at']}, {res['seconds'] / 60:.0f} min in all.", ""]
        if "guess_layers_days" not in res:
            lines += ["**Measured before the neighbouring days' guess (2026-12-06)**, which now blends every fill of a",
                      "daily series, the bundled model's and the adapted model's alike (and the validation by filling",
                      "that chooses the adapted weights), with the neighbouring days' observations far from each",
                      "day's data ([context guide](../guide/context.md#the-neighbouring-days-guess-persistencetrue)); not rerun since.", ""]
        carried = sorted({r["dincae"]["carried_from"][:10] for r in res["regions"].values() if (r.get("dincae") or {}).get("carried_from")})
        if carried:
            lines += [f"DINCAE's scores are carried from the run of {', '.join(carried)} (`--peers-from`, that run's JSON): its environment is not",
                      "on this machine, and it fills the same cases and pixels whatever sstfill does.", ""]
        if res.get("archive") == "new-days":
            lines += ["The archive a model adapts on is only the days of each MUR series that no bundled model was",
                      "trained on (its held-out days: 2 of Southern California's 10, 2 of the Arabian Sea's 6), as",
                      "a user's own archive would be; the cases are the same. ERSST, which no bundled model saw,",
                      "is its own whole archive already (the table above).", ""]
        rows = []
        for region, r in res["regions"].items():
            base = r["bundled"]["rmse"]
            peers = {p: r[p]["rmse"] for p in ("biharmonic", "laplace", "telea") if r.get(p)}
            best_peer = min(peers.items(), key=lambda kv: kv[1])
            steps = "months" if region == "ersst" else "days"
            row = [region, f"{r['cases']} ({r['shape'][0]} {steps})", fmt(base)]
            for a in r["adapted"]:
                noise = "" if _noise(a) is None else f", noise {100 * _noise(a):.1f} %"
                row.append(f"{fmt(a['rmse'])} ({100 * _gain(r, a):+.1f} %{noise})")
            row += ["cannot adapt (below)"] * (len(res["budgets"]) - len(r["adapted"]))
            row += [fmt(r["dineof"]["rmse"]), "n/a" if not r.get("dincae") or "rmse" not in r["dincae"] else fmt(r["dincae"]["rmse"]), f"{best_peer[0]} {fmt(best_peer[1])}"]
            rows.append(row)
        budgets = [f"adapted {m:g} min" for m in sorted(res["budgets"])]
        lines += md_table(["series", "cases", "bundled"] + budgets + ["DINEOF", "DINCAE", "best single-image peer"], rows)
        lines += [f"\n{region}: {r['adapt_error']}" for region, r in res["regions"].items() if r.get("adapt_error")]
        own = [(region, r) for region, r in res["regions"].items() if r.get("command") and r["command"] != res["command"]]
        if own:
            lines += [""] + [f"Row `{region}` measured separately ({r['run_at'][:10]}): `{r['command']}`" for region, r in own]
        lines += ["", "Per step: training seconds and epochs in all, wall seconds of that step (it continues the previous step; cutting, validation and the error fit included), whether the starting weights were kept, "
                  "and the validation by filling: the RMSE (degC) of the validation part's hidden pixels filled by the starting weights and by the weights kept, with what it was.", ""]
        rows = []
        for region, r in res["regions"].items():
            for a in r["adapted"]:
                start, kept = a.get("start_val_fill_rmse"), a.get("kept_val_fill_rmse")
                validation = "n/a" if start is None else f"{fmt(start)} -> {fmt(kept)} ({100 * (1 - kept / start):+.1f} %)"
                rows.append([region, f"{a['minutes']:g}", f"{a['trained_seconds']:.0f}", a["epochs"], f"{a['wall_seconds_this_step']:.0f}", "yes" if a["kept_start"] else "no",
                             f"{100 * _gain(r, a) / max(a['trained_seconds'] / 60, 1e-9):+.2f}", validation, a.get("fill_validation") or "tiles"])
        lines += md_table(["series", "budget (min)", "trained (s)", "epochs", "wall (s)", "kept start", "gain per training minute (%)", "validation by filling", "validation part"], rows)
        lines += [""]
        five = [a for r in res["regions"].values() for a in r["adapted"] if a["minutes"] == 5]
        if five:
            gains = [_gain(r, a) for r in res["regions"].values() for a in r["adapted"] if a["minutes"] == 5]
            met = all(g >= TARGET_GAIN for g in gains)
            lines += [f"After 5 minutes: {', '.join(f'{100 * g:+.1f} %' for g in gains)} against the bundled model (target: -10 % RMSE, i.e. +10 % here): **{'met' if met else 'not met'}**.", ""]
            noisy = [(region, r, a) for region, r in res["regions"].items() for a in r["adapted"] if _noise(a) is not None]
            if noisy:
                worse = [f"{region} {a['minutes']:g} min ({100 * _gain(r, a):+.1f} %)" for region, r, a in noisy if _gain(r, a) < -2 * _noise(a)]
                lines += ["'noise': the standard deviation of the gain when the cases are drawn again with replacement (paired bootstrap, 2000 draws). "
                          + ("Worse than the bundled model by more than twice that: " + ", ".join(worse) + "." if worse else
                             "No adapted model is worse than the bundled one by more than twice that."), ""]
    lines += [
        "## What the numbers say",
        "",
        "- **15 minutes, measured on 2026-12-07 (second session) on ERSST** (the series no bundled",
        "  model saw; the issue asks for 1, 5 and 15 minutes; the MUR series in the next point;",
        "  `init=\"context\"`, after the stitching and its side-by-side",
        "  fallback): 0.509 degC bundled, 0.431 after 1, 5 and 15 minutes alike (+15.2 %, noise",
        "  1.4 %; DINEOF 0.517, DINCAE 0.503). The weights kept after 15 minutes (93 epochs) are still",
        "  those of the first minute's best epoch: no later epoch filled the 32 validation months",
        "  better (0.265 -> 0.253 degC). On this series the gain comes at once and then stops.",
        "- **15 minutes on the two MUR series, measured on 2026-12-07 (third session)** (`init=\"context\"`,",
        "  after the stitching and its side-by-side fallback; its own section below, which also holds",
        "  this code's 1- and 5-minute scores: the first table's MUR rows are those of 2026-12-06).",
        "  Southern California: 0.108 degC bundled, 0.109 after 1, 5 and 15 minutes alike (-1.3 %,",
        "  noise 0.9 %): the first minute's best epoch is kept through 89 epochs (its validation band",
        "  0.125 -> 0.121 degC), and it fills the held-out days' cases a little worse, by 1.4 times",
        "  their noise. The Arabian Sea: 0.224 bundled (0.243 on 2026-12-06, before the stitching), and",
        "  the starting weights kept at every budget: in 95 epochs none filled its validation step",
        "  better. More minutes change nothing where the bundled models were trained: the 10 % target",
        "  is met on ERSST, the one series they never saw, and on neither MUR series.",
        "- **Rerun on 2026-12-06 (late) with the neighbouring days' guess, both layers**, which blends",
        "  the fills of a daily series, the bundled model's and the adapted model's alike, far from",
        "  each day's data: the bundled `context` model starts better (Southern California 0.111 to",
        "  0.108 degC, Arabian Sea 0.290 to 0.243), and adapting gains less: after 5 minutes -2.8 %",
        "  (noise 2.1 %; -4.8 % before the guess) and +2.4 % (noise 0.4 %; +4.4 % before), ERSST",
        "  (monthly: no guess) +15.2 % (+15.3 %); adapted on the two new days only, -0.8 % (noise",
        "  1.7 %; -1.9 % before) and +1.0 % (noise 0.7 %; -1.7 % before). Far inside a cloud the guess, not the network,",
        "  makes most of a series' fill, so what adapting the network changes weighs less there.",
        "  The 10 % target after 5 minutes is met on ERSST only, as before.",
        "- **Validation by filling (since 2026-12-04) did not make the MUR series honest.** Both",
        "  are regions the bundled models were trained on: their training days (Southern",
        "  California 2021-01-01..08, the Arabian Sea's first four steps) are in the bundled models'",
        "  training data, and only the two held-out days of each are new. On Southern California",
        "  the `context` model's kept epoch fills the validation band 3.7 % better (0.1314 to",
        "  0.1266 degC) and the held-out days' cases 4.8 % worse (0.111 to 0.116; the noise of the",
        "  cases, drawn again, is 2.5 %): `python benchmarks/adapt_trace.py --shared ../shared/data",
        "  --region mur_socal --init context --minutes 1` prints both scores for every weights",
        "  adapting validates, and they do not move together: the band's gain comes from the",
        "  eight days the bundled model was trained on, while on the two new days the band fills",
        "  worse too. With tiles as validation (until 2026-12-04) it was -2.0 % after 1 minute and",
        "  -0.1 % after 5. Adapted on the two new days alone (the second table: what a user's",
        "  archive is, days the bundled model never saw), Southern California fills its cases",
        "  1.9 % worse, within the cases' noise (2.1 %), while the validation band fills 1.2 %",
        "  better; the Arabian Sea's two new days (0.1 degree, 401 x 451), whose band holds no",
        "  validation window half observed and is validated by filling alone, fill 1.7 % worse",
        "  (noise 2.6 %) while the band's 1,502 hidden pixels fill 5.1 % better. The Arabian Sea's whole series gains",
        "  4.4 % (noise 0.8 %). Adapting can teach a model little about a region it was trained on,",
        "  and what it learns from a few days does not carry over to the next ones.",
        "- **ERSST, the unseen series, is filled as anomalies from its own monthly climatology**",
        "  since 2026-12-04 (`fill(climatology=\"auto\")`: every calendar month occurs in 10-11",
        "  years; section below). The bundled models then start at 0.512 (`context`) and 0.513",
        "  (`default`) degC, level with DINEOF (0.517), where they were at 2.21 (the GPU-trained",
        "  `context`) and 4.89 filling the field. Adapting learns the anomalies too (`train()`",
        "  follows the same rule). The `context` model gains **15.2 % in 1 minute** (0.434 degC:",
        "  16 % better than DINEOF on the same pixels; no later epoch filled the validation months",
        "  better by 5 minutes), most of it from counting its neighbouring steps in months",
        "  (`time_step_days` = 31, set by adapting): on the same pixels the bundled `context` model",
        "  with monthly neighbours fills the anomalies to 0.440 without training (section below);",
        "  the validation months (32, filled whole) fill 4.4 % better than with the starting",
        "  weights, which already count in months. The `default` model, which sees no neighbours,",
        "  gains 1.8 % and 2.4 % in 1 and 5 minutes (validation months 2.7 % and 4.1 % better).",
        "- **The `default` table was rerun on 2026-12-04 (evening)** after the bundled default model's",
        "  first guess moved to a 96-pixel window (seams, issue 14): adapting it now trains on 96-pixel",
        "  windows, drawn and holed as for the models with context. After 5 minutes -0.2 %, +0.1 %,",
        "  +2.5 % against its own bundled start (0.146, 0.336, 0.513 degC), where the model before",
        "  the change gave -1.4 %, -1.4 %, +2.3 % against 0.142, 0.340, 0.517.",
        "- **Validation by filling against validation on tiles, same commands** (tiles: the runs",
        "  of 2026-12-02..04; filling: 2026-12-04): `context` after 5 minutes -4.8 % against -0.1 %",
        "  (Southern California), +4.4 % against +2.5 % (Arabian Sea), +15.3 % against +14.8 %",
        "  (ERSST); `default` (before its window guess) -1.4 % against +0.6 %, -1.4 % against",
        "  +0.2 %, +2.3 % against +2.4 %. On ERSST, the one series no bundled model saw (what a user's archive is), the",
        "  two choose equally well; on the MUR series, whose days the models were trained on,",
        "  filling chose worse in three of four runs, by 1-5 points where the cases' noise is",
        "  0.7-2.5 %: neither validation predicts the new days of a region a model already knows.",
        "  Filling is kept because it scores what the user's fill does (every tile, blend and",
        "  fallback, real clouds of the series) rather than windows half observed; it costs about",
        "  2 s of wall time per validation here (5 minutes of training took 256-316 s of wall",
        "  time for the 4 minutes after the first, against 240-250 s with tiles).",
        "- **Before the climatology (2026-12-03 and earlier) sstfill lost to DINEOF on ERSST by a",
        "  factor of six** (0.52 degC against 3.02 for the best adapted model): ERSST is itself a",
        "  reconstruction from a few leading EOFs of a long record, smooth and dominated by the",
        "  seasonal cycle, which is exactly what DINEOF fits from the 128 months, while a cloud",
        "  that hides half of a 2-degree globe leaves a tile-based model 1000 km from the data.",
        "  The `context` model then gained 40 % (5.08 to 3.02 degC), all of it from its monthly",
        "  neighbours, the starting weights kept; the `default` model 4 % and 7 %. The bullets",
        "  below are from those runs.",
        "- **Tried on 2026-12-03, `context` model, 0.6-1.5 minutes each (scratch script, not in the",
        "  repository): the learning rate and the flips are not why fine-tuning fails.** On the",
        "  Arabian Sea the validation loss (0.418 at the start) rose after the first epoch at every",
        "  learning rate: 0.540 at 1e-4 (the default), 0.455 at 2e-5, 0.421 at 2e-6, and 0.448 at",
        "  2e-5 without the random flips and rotations, while the training loss fell (0.343 to",
        "  0.316 in two epochs). The series' days are in the bundled models' training data, so",
        "  any step away from those weights costs. On ERSST the training itself diverges: its",
        "  loss went 0.58, 3.9, 575 over three epochs at 1e-4 and 0.96, 11, 758 at 2e-5 (no flips).",
        "  At 2e-5 with flips, one epoch beat the start on the validation months (0.8185 against",
        "  0.8239) and filled the scored months **10.7 % worse** (3.58 degC against 3.23): on 22",
        "  validation windows a 0.7 % better validation score is noise, and the rule 'keep an",
        "  epoch if it validates better' lets it through. At the default 1e-4 the rule kept the",
        "  start, as in the table.",
        "- **Found on 2026-12-03: why fine-tuning on ERSST diverges.** A tile is normalised by the",
        "  mean and standard deviation of its *observed* pixels. Where the training holes leave a",
        "  few nearly uniform ones (sea ice at the freezing point, one side of a front), that",
        "  standard deviation is tiny and the hidden values are tens of them away: up to 49 (a",
        "  tile standard deviation of 0.65 degC), and one such batch's loss was 39.6 where the",
        "  others' were 0.02-0.8; it drags the weights. (An earlier check used each tile's whole",
        "  truth, not its observed pixels, and missed it.) Three remedies, 1.5 minutes each from",
        "  the `context` model (scratch scripts): (a) a floor on the standard deviation, that of",
        "  the whole 192-pixel window (`window_std_floor = 1`, now the `context` model's",
        "  normalisation): filling improves without any training (5.20 to 5.08 degC as bundled,",
        "  3.23 to 3.02 with monthly neighbours; every group of the accuracy benchmark within",
        "  -0.9 % to +2.1 %), but training losses still jump (0.39, 0.36, 2.09, 0.04, 0.08) and the",
        "  start is kept, as above; (b) leaving out of the loss every sample with a value beyond 8",
        "  standard deviations: training is steady and the validation loss falls every epoch",
        "  (0.28 to 0.12; 5.42 to 4.23 degC on the validation windows), yet the scored months",
        "  filled **35 % worse** (3.23 to 4.36 degC): better in 9 of 16 months, far worse in others",
        "  (December 2015 3.91 to 9.77 degC, 16 degC poleward of 50 degrees): the model learns",
        "  nothing about the tiles it no longer sees, and the 22 validation windows (cut where",
        "  tiles are half valid) hold none of them; (c) a Huber loss (delta 1): the start kept.",
        "  Not kept: (b) and (c). An honest stopping point needs validation on what the fill",
        "  does (whole validation steps filled, every tile scored), the next thing to build.",
        "- **Tried on 2026-12-03 and not kept: an epoch must beat the start by two standard errors**",
        "  **of the gain**, paired over the validation windows (`beats_start(..., z=2.0)`; the",
        "  default is z = 0, any lower total). The same two commands as above, rerun with it: the",
        "  starting weights were kept in every run, at 1 and at 5 minutes, for both models and all",
        "  three series, so the gains published then (`context` +3.2 % on Southern California, `default`",
        "  +4.3 % and +6.9 % on ERSST) were all lost; the `context` model on ERSST kept its +37.8 %",
        "  (its time step, not fine-tuning). That rerun trained 3 epochs a minute where the runs",
        "  of 2026-12-02 trained 9 (Southern California) on the same machine, so fewer epochs had",
        "  the chance. The code is not why: the commit of those runs (180e23b), run again on",
        "  2026-12-03, also took 21-22 s per epoch of 16 batches, as the current code does, all of",
        "  it in the network's forward and backward passes: this machine was 3 times slower that",
        "  day. The `context` table above (2026-12-03) trained 3 epochs a minute; the `default`",
        "  table (2026-12-02) 9.",
        "",
        "## DINCAE",
        "",
        "DINCAE needs TensorFlow in its own environment (`benchmarks/dincae/setup_env.sh`); where",
        "that is not built, it is 'n/a' above (the `default` and new-days tables, run before",
        "2026-12-05). It is trained on each case window's own series, every step of the series in",
        "that window (128 x 128 on MUR; ERSST's 2-degree globe is one window): on a whole MUR",
        "region stack its dense bottleneck would need about 500 million weights. One CPU thread,",
        "150 epochs (`benchmarks/dincae/README.md`). In the `context` table (2026-12-05) it scores",
        "0.228 degC on Southern California (ten days are too few for it: biharmonic 0.157), 0.283",
        "on the Arabian Sea (the best peer there until the neighbouring days' guess; the adapted `context` model 0.277 then, 0.237 with the guess) and 0.503 on",
        "ERSST (DINEOF 0.517; the adapted `context` model 0.434, 14 % better).",
        "",
    ]
    return "\n".join(lines)


def render_seasonal(trial: dict) -> str:
    """The climatology section (``benchmarks/seasonal_trial.py``'s JSON): the trial, then the package's fill."""
    rmse = trial["rmse_degC"]
    best = min(rmse, key=rmse.get)
    lines = [
        "## Anomalies from the series' own climatology",
        "",
        f"    {trial['command']}",
        "",
        f"Run {trial['run_at']}. ERSST v5, RMSE in degC. First the trial that led to",
        "`fill(climatology=\"auto\")` ([guide](../guide/climatology.md)), on",
        f"{trial['pixels']:,} of the {trial['hidden_pixels']:,} hidden pixels of the {trial['scored_months']} scored months: those where each",
        "pixel's climatology (the mean of its observed values in the same calendar month over the",
        "series; hidden pixels are gaps, never seen) is defined, so every method is scored on the",
        "same pixels. The models fill every gap (`max_distance=None`), `context` with its",
        "neighbouring steps counted in months, as adapting sets it.",
        "",
        "| method | RMSE (degC) |",
        "|---|---|",
    ]
    lines += [f"| {name} | {'**' if name == best else ''}{value:.3f}{'**' if name == best else ''} |" for name, value in rmse.items()]
    package = trial.get("package")
    if package:
        lines += [
            "",
            f"Then the package's own fill, `climatology=\"auto\"` as a user gets it, on all {trial['hidden_pixels']:,} hidden pixels",
            "(a pixel never observed in a calendar month gets a harmonic fill of that month's",
            "climatology), the bundled `context` model as it comes (its neighbours are days, so in",
            "monthly maps it sees none), with the coverage of the error each fill returns:",
            "",
            "| fill | RMSE (degC) | pixels | within 1 / 2 / 3 sigma (%) |",
            "|---|---|---|---|",
        ]
        for name, row in package.items():
            cover = " / ".join(f"{100 * w:.1f}" for w in row["within_sigma"]) if "within_sigma" in row else "-"
            lines.append(f"| {name} | {row['rmse']:.3f} | {row['filled']:,} | {cover} |")
    lines += [
        "",
        "Filling the anomalies instead of the field takes the bundled models from 4.9 (`default`) and",
        "2.2 (`context`) degC to about 0.5, level with DINEOF, with no training at all: on a 2-degree globe under",
        "half-globe clouds the seasonal cycle is most of what a tile model cannot see. The",
        "climatology plus each pixel's anomaly interpolated in time is a strong baseline too",
        "(better than every bundled model as it comes). The error is 'over-covered' at 1 sigma",
        "(84 % within, 68 % for a Gaussian) and right at 2 and 3 sigma, the pattern of the other",
        "groups (calibration page). It needs several years of the same calendar month: on the MUR",
        "series (10 and 6 days) the same recipe with the series' mean as 'climatology' made the",
        "fill worse: 0.37 degC for both models against 0.29 (`default`) and 0.26 (`context`) on",
        "the field, every gap filled, the same 229,564 hidden pixels (scratch measurement,",
        "2026-12-03); `climatology=\"auto\"` therefore asks for monthly maps and every calendar",
        "month in 3 years (daily series, not measured, are left alone).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    folder = Path((argv or sys.argv[1:] or ["docs/benchmarks"])[0])
    order = {"adapt_context": 0, "adapt_context_new_days": 1}
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("adapt_*.json"), key=lambda p: (order.get(p.stem, 2), p.stem))]
    text = render(runs)
    trial = folder / "seasonal_trial.json"
    if trial.is_file():
        head, sep, tail = text.partition("## DINCAE")
        text = head + render_seasonal(json.loads(trial.read_text())) + "\n" + sep + tail
    (folder / "adapt.md").write_text(text + "\n")
    print(f"wrote {folder / 'adapt.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
