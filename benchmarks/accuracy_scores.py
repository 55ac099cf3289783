"""Scores of the accuracy benchmark: per case, per group of cases, and against the best peer.

A method is scored on the hidden pixels it filled (:func:`score`), and again on the hidden
pixels *every* method filled (the common pixels, like for like); groups pool the sums of
squared errors over their cases (:func:`aggregate`); :func:`best_peer_ratios` divides each
model's RMSE by the best peer's. ``run`` is anything with ``rows``, ``methods`` and ``kinds``
(:class:`benchmarks.accuracy_run.Run`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.cases import FRACTION_BINS
from benchmarks.harness import error_sums

__all__ = ["PEER_NAMES", "BIN_LABELS", "REPORT_HOLES", "score", "score_case", "bin_label", "case_groups",
           "method_stats", "aggregate", "best_peer_ratios"]

PEER_NAMES = ("biharmonic", "laplace", "telea", "dineof", "dincae")
BIN_LABELS = tuple(f"{int(lo * 100)}-{int(hi * 100)}" for lo, hi in FRACTION_BINS)
REPORT_HOLES = ("square10", "squares6", "squares")  # the SST report's hole kinds (report protocol)


def score(case, filled: np.ndarray | None) -> dict:
    """Scores on ``case.hidden``: RMSE/MAE/bias over the hidden pixels the method filled."""
    n_hidden = int(case.hidden.sum())
    if filled is None:
        return {"n_hidden": n_hidden, "n_filled": None, "coverage": None, "rmse": None, "mae": None, "bias": None}
    e = error_sums(filled, case.truth, case.hidden)
    f = np.asarray(filled, dtype=np.float64)
    obs = np.isfinite(case.observed_input) & ~case.land
    changed = int(np.sum(f[obs] != case.observed_input[obs].astype(np.float64)))
    n = e["n"]
    return {
        "n_hidden": n_hidden,
        "n_filled": n,
        "coverage": float(n / n_hidden) if n_hidden else float("nan"),
        "rmse": e["rmse"],
        "mae": e["mae"],
        "bias": e["bias"],
        "sse": e["sse"],
        "sae": e["sae"],
        "se": e["se"],
        "observed_changed": changed,
    }


def bin_label(cloud_fraction: float) -> str:
    """The cloud-fraction bin (``"10-30"``, ...) a hidden fraction falls in, else ``"outside"``."""
    for (lo, hi), lab in zip(FRACTION_BINS, BIN_LABELS):
        if lo <= cloud_fraction < hi:
            return lab
    return "outside"


def score_case(case, filled: dict[str, np.ndarray], methods: list[str]) -> dict:
    """The JSON row of one case: what it is, and :func:`score` of every method plus its common-pixel RMSE."""
    common = case.hidden.copy()
    for m in methods:
        if m in filled:
            common &= np.isfinite(filled[m])
    res = {}
    for m in methods:
        f = filled.get(m)
        r = score(case, f)
        if f is not None:
            e = error_sums(f, case.truth, common)
            r["n_common"] = int(common.sum())
            r["sse_common"] = e["sse"]
            r["rmse_common"] = e["rmse"]
        res[m] = r
    c = case
    return {
        "name": c.name, "source": c.source, "region": c.region, "time": c.time,
        "cloud_fraction": c.cloud_fraction, "bin": bin_label(c.cloud_fraction),
        "target_bin": [float(x) for x in c.target_bin], "gap_fraction": c.gap_fraction,
        "land_fraction": float(c.land.mean()), "hidden_pixels": int(c.hidden.sum()),
        "truth_complete": bool(np.all(np.isfinite(c.truth) | c.land)), "mask_info": c.mask_info,
        "row0": c.row0, "col0": c.col0, "set": getattr(c, "set", "standard"),
        "tags": {k: v for k, v in getattr(c, "tags", {}).items() if k != "t"}, "methods": res,
    }


def case_groups(rows) -> dict[str, list[dict]]:
    """Groups of case rows: the standard cases (``overall``, source, region, bin, source x bin),
    then the sets of ``benchmarks/cases_extra.py`` (``mur_series`` and per region,
    ``large_clouds`` per source and its ``core`` pixels, ``large_clouds_series`` per region and
    its ``core`` pixels, ``swath_edge`` and per distance bin).
    """
    every = list(rows)
    rows = [r for r in every if r.get("set", "standard") == "standard"]
    g: dict[str, list[dict]] = {"overall": list(rows)}
    for key, prefix in (("source", "source"), ("region", "region"), ("bin", "bin")):
        for v in sorted({r[key] for r in rows}):
            g[f"{prefix}:{v}"] = [r for r in rows if r[key] == v]
    for s in sorted({r["source"] for r in rows}):
        for b in BIN_LABELS + ("outside",):
            sel = [r for r in rows if r["source"] == s and r["bin"] == b]
            if sel:
                g[f"source:{s}|bin:{b}"] = sel
    series = [r for r in every if r.get("set") == "mur_series"]
    if series:
        g["mur_series"] = series
        for v in sorted({r["region"] for r in series}):
            g[f"mur_series|region:{v}"] = [r for r in series if r["region"] == v]
    for name, key in (("large_clouds", "source"), ("large_clouds_series", "region")):  # all hidden pixels, by source or region, and the core
        large = [r for r in every if r.get("set") == name]
        if large:
            g[name] = [r for r in large if r["tags"].get("part") == "all"]
            for v in sorted({r[key] for r in large}):
                g[f"{name}|{key}:{v}"] = [r for r in g[name] if r[key] == v]
            g[f"{name}|core"] = [r for r in large if r["tags"].get("part") == "core"]
    edge = [r for r in every if r.get("set") == "swath_edge"]
    if edge:
        g["swath_edge"] = edge
        for v in sorted({r["tags"]["dist"] for r in edge}, key=lambda d: float(d.split("-")[0])):
            g[f"swath_edge|dist:{v}"] = [r for r in edge if r["tags"]["dist"] == v]
    return g


def method_stats(rows, method) -> dict:
    """Pooled and per-case statistics of ``method`` over ``rows`` (cases where it ran)."""
    ms = [r["methods"][method] for r in rows if r["methods"][method]["n_filled"] is not None]
    n_cases_na = len(rows) - len(ms)
    if not ms:
        return {"cases": 0, "cases_na": n_cases_na}
    n_hidden = sum(m["n_hidden"] for m in ms)
    n = sum(m["n_filled"] for m in ms)
    nc = sum(m["n_common"] for m in ms)
    per_case = [m["rmse"] for m in ms if m["rmse"] is not None]
    per_case_c = [m["rmse_common"] for m in ms if m.get("rmse_common") is not None]
    return {
        "cases": len(ms),
        "cases_na": n_cases_na,
        "hidden_pixels": n_hidden,
        "filled_pixels": n,
        "coverage": n / n_hidden if n_hidden else float("nan"),
        "cases_incomplete": sum(1 for m in ms if m["n_filled"] < m["n_hidden"]),
        "rmse_pooled": float(np.sqrt(sum(m["sse"] for m in ms) / n)) if n else None,
        "rmse_case_mean": float(np.mean(per_case)) if per_case else None,
        "rmse_case_median": float(np.median(per_case)) if per_case else None,
        "mae": sum(m["sae"] for m in ms) / n if n else None,
        "bias": sum(m["se"] for m in ms) / n if n else None,
        "common_pixels": nc,
        "rmse_common_pooled": float(np.sqrt(sum(m["sse_common"] for m in ms) / nc)) if nc else None,
        "rmse_common_case_mean": float(np.mean(per_case_c)) if per_case_c else None,
        "observed_changed": sum(m["observed_changed"] for m in ms),
    }


def aggregate(run) -> dict:
    """``{group: {method: stats}}`` for overall, source, region, bin and source x bin."""
    return {g: {m: method_stats(rows, m) for m in run.methods} for g, rows in case_groups(run.rows).items()}


def best_peer_ratios(run, groups: dict) -> dict:
    """Per group and model: best peer, RMSE ratio model / best peer, cases beating every peer.

    Only peers that ran on every case of the group compete for "best peer" (DINEOF has no
    SLSTR series, so it competes in MUR-only groups). Ratios are given on each method's own
    filled pixels (pooled and mean per case) and on the pixels every method filled.
    A case counts as "beats every peer" when the model's RMSE on the common pixels is below
    that of every peer that ran on the case.
    """
    rows_by_group = case_groups(run.rows)
    models = [m for m in run.methods if run.kinds[m] == "model"]
    peers = [m for m in run.methods if run.kinds[m] == "peer"]
    out = {}
    for g, stats in groups.items():
        rows = rows_by_group[g]
        full = [p for p in peers if stats[p].get("cases", 0) == len(rows) and stats[p].get("rmse_pooled") is not None]
        out[g] = {}
        for m in models:
            sm = stats[m]
            entry: dict[str, Any] = {"cases": len(rows), "peers_compared": full}
            for key in ("rmse_pooled", "rmse_case_mean", "rmse_common_pooled"):
                scored = [p for p in full if stats[p].get(key) is not None]  # (a carried peer has no common-pixel score)
                if not scored or sm.get(key) is None:
                    continue
                best = min(scored, key=lambda p: stats[p][key])
                ratio = sm[key] / stats[best][key]
                entry[key] = {"best_peer": best, "peer": stats[best][key], "model": sm[key],
                              "ratio": ratio, "better_by_percent": 100.0 * (1.0 - ratio)}
            wins, counted = 0, 0
            for r in rows:
                mr = r["methods"][m].get("rmse_common")
                # a peer carried from an earlier run (accuracy.py --peers-from) has no common-pixel score
                pr = [r["methods"][p].get("rmse_common") for p in peers if r["methods"][p]["n_filled"] is not None and r["methods"][p].get("n_common") != 0]
                if mr is None or not pr or any(v is None for v in pr):
                    continue
                counted += 1
                wins += all(mr < v for v in pr)
            entry["cases_beating_every_peer"] = wins
            entry["cases_counted"] = counted
            out[g][m] = entry
    return out
