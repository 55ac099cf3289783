"""Renderers of the accuracy benchmark: the JSON result to ``accuracy.md``, and its figures.

:func:`to_markdown` and :func:`plot_spectra` need only the JSON (``accuracy.json``, old
ones too); :func:`plot_example` draws filled fields, which only a run in memory has
(:class:`benchmarks.accuracy_run.Run`).
"""
from __future__ import annotations

import numpy as np

from benchmarks.accuracy_scores import REPORT_HOLES, bin_label
from benchmarks.harness import fmt, md_table, percent
from benchmarks.targets import TARGETS

__all__ = ["group_name", "to_markdown", "targets_lines", "plot_spectra", "pick_example", "plot_example"]


def group_name(g: str) -> str:
    """``"source:mur_l4|bin:10-30"`` -> ``"mur_l4 10-30%"``; ``"swath_edge|dist:0-8"`` -> ``"swath_edge 0-8 px"``."""
    out = g
    for prefix in ("source:", "region:", "bin:", "dist:"):
        out = out.replace(prefix, "")
    return out.replace("|", " ") + ("%" if "bin:" in g else "") + (" px" if "dist:" in g else "")


#: The groups whose inputs are daily series: ``fill()`` without a model fills them with the ``context`` model.
SERIES_SETS = ("mur_series", "large_clouds_series")

SET_NOTES = {
    "mur_series": "the standard MUR case windows with every day of their series passed in as a (time, lat, lon) "
                  "DataArray with its time coordinate (socal 10 days, Arabian Sea 6 days), clouds transplanted on "
                  "every day; scored on the held-out days on exactly the standard MUR cases' hidden pixels. "
                  "Single-image peers fill each held-out day alone; DINEOF (and DINCAE) fill each region stack",
    "large_clouds": "256 px MUR windows of the held-out days and 192 px SLSTR windows of the held-out swath under a "
                    "held-out 128 px cloud mask upscaled 2x: 60-90 % of the ocean (SLSTR: of the observed pixels) "
                    "hidden, >= 32 px from the nearest visible pixel somewhere (clouds wider than a 64 px tile); "
                    "'core' = the hidden pixels whose centred 64 x 64 box is > 60 % missing. The fills may go "
                    "everywhere (max_distance=None); DINEOF runs here only with --large-dineof",
    "large_clouds_series": "the MUR windows of large_clouds with every day of their series passed in as a (time, lat, lon) "
                           "DataArray (the large cloud on its held-out day, the series' transplanted clouds on the others), "
                           "scored on the same hidden pixels ('core' as there): a daily series under a cloud wider than a "
                           "tile. Single-image peers fill the held-out day alone (the large_clouds input); DINEOF and DINCAE "
                           "fill each window stack; fills with max_distance=None",
    "swath_edge": "256 px SLSTR windows across the real swath edge (boundary of the convex hull of the "
                  "observations, benchmarks/split.py) in the held-out rows, the observed pixels <= 48 px inside the "
                  "edge hidden; rows by distance to the nearest remaining observation; fills with max_distance=None",
}


def _ratio_entry(e: dict) -> dict | None:
    return e.get("rmse_common_pooled") or e.get("rmse_pooled")


def targets_lines(result: dict) -> list[str]:
    """Per group, the default model (else the first model) against the best peer, with the targets of
    ``benchmarks/targets.py`` (15 % lower RMSE on the common pixels, 30 % stretch); one summary line per model."""
    target, stretch = TARGETS["accuracy_ratio_vs_best_peer"], TARGETS["accuracy_ratio_vs_best_peer_stretch"]
    models = [m for m, d in result["methods"].items() if d["kind"] == "model"]
    summary, tables = [], []
    for m in models:
        ratios = {g: _ratio_entry(per[m])["ratio"] for g, per in result["ratios"].items()
                  if m in per and _ratio_entry(per[m])}
        if not ratios:
            continue
        met = [g for g, r in ratios.items() if target.met(r)]
        st = [g for g, r in ratios.items() if stretch.met(r)]
        worst = max(ratios, key=ratios.get)
        summary.append(f"- {m}: 15 % target met in {len(met)} of {len(ratios)} groups, 30 % stretch in {len(st)}; "
                       f"overall ratio {fmt(ratios.get('overall'))}, worst {group_name(worst)} ({fmt(ratios[worst])}).")
    if {"default", "context"} <= set(models):  # fill() without a model: the same fills, bit for bit (tests/test_auto_model.py)
        chosen = {g: "context" if g.startswith(SERIES_SETS) else "default" for g in result["ratios"]}
        ratios = {g: _ratio_entry(per[chosen[g]])["ratio"] for g, per in result["ratios"].items()
                  if chosen[g] in per and _ratio_entry(per[chosen[g]])}
        met = [g for g, r in ratios.items() if target.met(r)]
        summary.append(f"- `fill()` without a model (the context model on the daily series, `mur_series` and `large_clouds_series`; the default model on the "
                       f"single images of every other group): 15 % target met in {len(met)} of {len(ratios)} groups, 30 % stretch in "
                       f"{sum(stretch.met(r) for r in ratios.values())}.")
    if not summary:
        return []
    shown = "default" if "default" in models else models[0]
    rows = []
    for g, per in result["ratios"].items():
        e = per.get(shown)
        a = _ratio_entry(e) if e else None
        if not a:
            continue
        rows.append([group_name(g), e["cases"], a["best_peer"], fmt(a["peer"]), fmt(a["model"]), fmt(a["ratio"]),
                     f"{a['better_by_percent']:+.1f}", "met" if target.met(a["ratio"]) else "**not met**",
                     "met" if stretch.met(a["ratio"]) else "not met"])
    tables = md_table(["group", "cases", "best peer", "peer RMSE", f"{shown} RMSE", "ratio", "better by %",
                       f"target {target.comparison} {target.limit:g}", f"stretch {stretch.comparison} {stretch.limit:g}"],
                      rows)
    return (["## Targets: better than the best peer in every group", "",
             (f"From `benchmarks/targets.py`: {target.describe()}; stretch: {stretch.describe()}. RMSE pooled over "
              "the hidden pixels that every method filled (like for like); best peer = the lowest among the peers that "
              f"ran on every case of the group. Table: {shown}; other models in the summary."), ""]
            + tables + [""] + summary + [""])


def to_markdown(result: dict) -> str:
    """The markdown report from the JSON-ready result of :func:`main`."""
    methods = result["methods"]
    names = list(methods)
    models = [m for m in names if methods[m]["kind"] == "model"]
    groups = result["groups"]
    extra = result.get("extra_sets") or []
    n_standard = sum(1 for c in result["cases"] if c.get("set", "standard") == "standard")
    L = ["# sstfill accuracy on held-out cases", ""]
    L.append(f"Command: `{result['command']}`  ")
    L.append(f"Date: {result['timestamp']}; git commit: {result.get('git_commit') or 'n/a'}"
             f"{' (uncommitted changes)' if result.get('git_dirty') else ''}; window {result['window']} px, seed {result['seed']}; "
             f"{n_standard} standard cases" + (f" and {len(result['cases']) - n_standard} scored rows of the extra "
                                               f"sets {', '.join(extra)}" if extra else "") + ".")
    L.append("")
    L.append("Scores on the hidden pixels only (real observed pixels under transplanted real clouds), degC. "
             "sstfill models run through `da.inpaint.fill(model, land=land)`; peers are called directly; "
             "DINEOF runs on each MUR time series and is 'n/a' on SLSTR (no series).")
    L.append("")
    for m in names:
        L.append(f"- **{m}** ({methods[m]['kind']}): {methods[m]['description']}")
    for s in result.get("skipped_models", []):
        L.append(f"- skipped: {s['reason']}")
    for s in result.get("skipped_methods", []):
        L.append(f"- skipped with `--skip`: {s}")
    for m, c in (result.get("carried_peers") or {}).items():
        L.append(f"- **{m}** did not run here: its scores on {c['cases']} cases are carried from the run of {c['timestamp']} "
                 f"(commit {str(c.get('git_commit'))[:7]}; `--peers-from`), on its own filled pixels as they were; it is n/a "
                 "on common pixels, which are then those every other method filled")
    L.append("")
    if extra:
        L.append("'overall', source, region and bin groups are the standard cases; the extra sets "
                 "(`benchmarks/cases_extra.py`, `benchmarks/accuracy_extra.py`) are groups of their own:")
        L.append("")
        L += [f"- **{s}**: {SET_NOTES.get(s, '')}." for s in extra]
        L.append("")

    L += ["## Overall", ""]
    hdr = ["method", "cases", "hidden px", "coverage %", "RMSE pooled", "RMSE mean/case", "MAE", "bias",
           "RMSE common px"]
    rows = []
    for m in names:
        s = groups["overall"][m]
        if not s.get("cases"):
            rows.append([m, 0] + ["n/a"] * 7)
            continue
        na = f" (+{s['cases_na']} n/a)" if s["cases_na"] else ""
        rows.append([m, f"{s['cases']}{na}", s["hidden_pixels"], f"{100 * s['coverage']:.1f}", fmt(s["rmse_pooled"]),
                     fmt(s["rmse_case_mean"]), fmt(s["mae"]), f"{s['bias']:+.3f}", fmt(s["rmse_common_pooled"])])
    L += md_table(hdr, rows)
    L.append("")
    L.append("RMSE pooled = sqrt of the mean squared error over all hidden pixels of the group that the method "
             "filled; RMSE mean/case = mean of the per-case RMSEs; RMSE common px = pooled over the hidden pixels "
             "that every method filled (like for like when a method leaves pixels unfilled)."
             + (" DINEOF's overall row covers the MUR cases only." if "dineof" in names else ""))
    L.append("")

    def wide(title, key, note=None, pct=True):
        L.extend([f"## {title}", ""])
        hdr = ["group", "cases"] + names
        rows = []
        for g, st in groups.items():
            if g == "overall":
                continue
            ncase = max(st[m].get("cases", 0) + st[m].get("cases_na", 0) for m in names)
            cells = []
            for m in names:
                s = st[m]
                if not s.get("cases"):
                    cells.append("n/a")
                    continue
                c = fmt(s.get(key))
                if pct and s["coverage"] < 1:
                    c += f" ({100 * s['coverage']:.0f}%)"
                cells.append(c)
            rows.append([group_name(g), ncase] + cells)
        L.extend(md_table(hdr, rows))
        L.append("")
        if note:
            L.extend([note, ""])

    wide("Pooled RMSE by group (degC)", "rmse_pooled",
         "Per source, per region, per cloud-fraction bin (realised hidden / ocean fraction) and per source x bin. "
         "In brackets: coverage of the hidden pixels where below 100 % (RMSE is then over the filled pixels only).")
    wide("Mean per-case RMSE by group (degC)", "rmse_case_mean")
    wide("Pooled RMSE on the pixels every method filled (degC)", "rmse_common_pooled", pct=False)

    L += ["## Models against the best peer", ""]
    L.append("Best peer = the peer with the lowest RMSE in the group among the peers that ran on every case of it "
             "(DINEOF only competes in MUR-only groups). Ratio = model RMSE / best peer RMSE; 'better by' = "
             "100 x (1 - ratio) (negative: worse). 'ratio' uses each method's own filled pixels, which flatters a model "
             "whose coverage is below 100 % (the unfilled pixels are the hardest, under the largest clouds); 'ratio "
             "common px' compares all methods on the same pixels. Wins = cases where the model's RMSE on the common pixels is "
             "below that of every peer that ran on the case.")
    L.append("")
    hdr = ["group", "model", "model coverage %", "best peer (pooled)", "peer RMSE", "model RMSE", "ratio",
           "better by %", "ratio common px", "ratio mean/case", "wins"]
    rows = []
    for g, per in result["ratios"].items():
        for m in models:
            e = per.get(m)
            if not e or "rmse_pooled" not in e:
                continue
            a = e["rmse_pooled"]
            c = e.get("rmse_common_pooled")
            mc = e.get("rmse_case_mean")
            cov = groups[g][m]["coverage"]
            rows.append([group_name(g), m, f"{100 * cov:.1f}", a["best_peer"], fmt(a["peer"]), fmt(a["model"]), fmt(a["ratio"]),
                         f"{a['better_by_percent']:+.1f}",
                         f"{fmt(c['ratio'])} vs {c['best_peer']}" if c else "n/a",
                         f"{fmt(mc['ratio'])} vs {mc['best_peer']}" if mc else "n/a",
                         f"{e['cases_beating_every_peer']}/{e['cases_counted']}"])
    L += md_table(hdr, rows) if rows else ["(no sstfill model was benchmarked)"]
    L.append("")
    L += targets_lines(result)
    secs = result.get("extra_seconds") or {}
    if secs:
        L += ["## Time per extra set (s)", ""]
        L += md_table(["set"] + names, [[st] + [fmt(per.get(m), ".1f") if m in per else "n/a" for m in names]
                                        for st, per in secs.items()])
        L += ["", "Wall time of filling the set's inputs (the standard cases' times are in the JSON's methods).", ""]

    sp = result.get("spectra", {})
    if sp:
        L += ["## Radial power spectra", ""]
        for g, s in sp.items():
            if not s.get("cases"):
                L.append(f"- {g}: {s.get('note', 'no cases')}")
                continue
            patched = {m: v for m, v in s["patched_fraction_of_hidden"].items() if v > 0}
            pn = ("; hidden pixels left NaN, filled with the direct Laplace solution for the spectrum only: "
                  + ", ".join(f"{m} {percent(v)}" for m, v in patched.items())) if patched else ""
            k = np.asarray(s["wavenumber_cycles_per_pixel"])
            hi = k >= 0.125  # wavelengths <= 8 px
            truth = np.asarray(s["power"]["truth"])
            ratios = ", ".join(f"{m} {np.mean(np.asarray(p)[hi]) / np.mean(truth[hi]):.2f}"
                               for m, p in s["power"].items() if m != "truth")
            L.append(f"- {g}: {len(s['cases'])} cases with complete truth{pn}. Power at wavelengths <= 8 px "
                     f"relative to the truth: {ratios}.")
        L.append("")
        L.append("`spectra.png`: mean azimuthally averaged power (Hann window, mean removed, land set to the window "
                 "mean) of each filled window and of the truth. Filled windows keep their observed pixels, so the "
                 "differences come from the hidden pixels.")
        L.append("")

    rp = result.get("report_protocol")
    if rp:
        L += ["## SST report protocol on held-out MUR tiles", ""]
        L.append(f"Non-overlapping fully-ocean tiles of the held-out MUR days; "
                 f"`sstfill.evaluation.protocols.evaluate_tiles_table(model, tiles, holes={REPORT_HOLES}, fraction=0.25, seed=0)`. "
                 "RMSE in per-tile normalised units (error / truth tile std); the report's numbers are for its own "
                 "data and model, shown for scale only.")
        L.append("")
        hdr = ["model", "holes", "tiles", "hidden px", "RMSE hidden (norm.)", "report", "RMSE hidden degC",
               "RMSE tile (norm.)", "SSIM"]
        rows = [[r["model"], r["holes"], r["tiles"], r["hidden_pixels"], fmt(r["rmse_hidden"], ".4f"),
                 fmt(r["report_rmse_hidden"], ".4f"), fmt(r["rmse_hidden_units"], ".4f"), fmt(r["rmse_tile"], ".4f"),
                 fmt(r["ssim"], ".4f")] for r in rp]
        L += md_table(hdr, rows)
        L.append("")

    notes = []
    for m in names:
        s = groups["overall"][m]
        if s.get("cases") and s["coverage"] < 1:
            notes.append(f"{m} left {s['hidden_pixels'] - s['filled_pixels']} of {s['hidden_pixels']} hidden pixels "
                         f"NaN ({100 * (1 - s['coverage']):.1f} %) in {s['cases_incomplete']} cases.")
        if s.get("observed_changed"):
            notes.append(f"{m} changed {s['observed_changed']} observed pixels (should be 0).")
    for e in result.get("errors", []):
        notes.append(f"{e['method']} failed on {e['case']}: {e['error']}")
    if notes:
        L += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(L)




# ----------------------------------------------------------------------------- figures


def colours(methods):
    import matplotlib.pyplot as plt

    cyc = plt.get_cmap("tab10").colors
    return {m: cyc[i % len(cyc)] for i, m in enumerate(methods)}


def plot_spectra(sp: dict, path, methods: list[str]) -> None:
    """Log-log mean spectra (top) and their ratio to the truth (bottom), one column per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [g for g, s in sp.items() if s.get("cases")]
    if not groups:
        return
    col = colours(methods)
    fig, axes = plt.subplots(2, len(groups), figsize=(6.2 * len(groups), 7.5), squeeze=False,
                             gridspec_kw={"height_ratios": [2.2, 1]}, sharex="col")
    for j, g in enumerate(groups):
        s = sp[g]
        k = np.asarray(s["wavenumber_cycles_per_pixel"])
        truth = np.asarray(s["power"]["truth"])
        ax, axr = axes[0, j], axes[1, j]
        ax.loglog(k, truth, color="k", lw=2.6, label="truth", zorder=5)
        axr.axhline(1.0, color="k", lw=2)
        for m in methods:
            if m not in s["power"]:
                continue
            p = np.asarray(s["power"][m])
            ax.loglog(k, p, color=col[m], lw=1.4, label=m)
            axr.semilogx(k, p / truth, color=col[m], lw=1.4)
        ax.set_title(f"{g}: {len(s['cases'])} cases")
        ax.set_ylabel("power (degC$^2$ per spectral bin)")
        ax.grid(True, which="both", alpha=0.25)
        axr.set_ylabel("power / truth")
        axr.set_xlabel("wavenumber (cycles per pixel)")
        axr.grid(True, which="both", alpha=0.25)
        axr.set_ylim(0, max(1.6, min(3.0, float(np.nanmax([np.asarray(p) / truth for m, p in s["power"].items()])) * 1.05)))
        top = ax.secondary_xaxis("top", functions=(lambda x: 1 / np.maximum(x, 1e-9), lambda x: 1 / np.maximum(x, 1e-9)))
        top.set_xlabel("wavelength (pixels)")
        ax.legend(fontsize=8, loc="lower left")
    fig.suptitle("Radial power spectra of filled windows vs truth (held-out cases)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def pick_example(run, source: str):
    cs = [c for c in run.cases if c.source == source]
    for want in (lambda c: bin_label(c.cloud_fraction) == "30-60" and np.all(np.isfinite(c.truth) | c.land),
                 lambda c: bin_label(c.cloud_fraction) == "30-60", lambda c: True):
        sel = [c for c in cs if want(c)]
        if sel:
            return sel[0]
    return None


def plot_example(run, path, rows_by_name: dict) -> list[str]:
    """Input, truth and each method's fill for one SLSTR and one MUR case; same colour scale per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    picks = [c for c in (pick_example(run, "slstr_l2"), pick_example(run, "mur_l4")) if c is not None]
    if not picks:
        return []
    panels = ["input", "truth"] + list(run.methods)
    ncol = len(panels)
    fig, axes = plt.subplots(len(picks), ncol, figsize=(2.3 * ncol + 0.9, 2.9 * len(picks)), squeeze=False,
                             gridspec_kw={"hspace": 0.42, "wspace": 0.06})
    cmap = plt.get_cmap("RdYlBu_r").copy()
    cmap.set_bad("white")
    grey = ListedColormap(["0.55"])
    for i, c in enumerate(picks):
        vals = c.truth[np.isfinite(c.truth)]
        vmin, vmax = np.percentile(vals, [1, 99])
        lat_up = c.lat[0] < c.lat[-1]
        extent = [c.lon[0], c.lon[-1], c.lat[0], c.lat[-1]] if lat_up else [c.lon[0], c.lon[-1], c.lat[-1], c.lat[0]]
        origin = "lower" if lat_up else "upper"
        res = rows_by_name[c.name]["methods"]
        im = None
        for j, p in enumerate(panels):
            ax = axes[i, j]
            if p == "input":
                img, title = c.observed_input, f"input ({100 * c.cloud_fraction:.0f}% hidden)"
            elif p == "truth":
                img, title = c.truth, "truth"
            else:
                img = run.filled[c.name].get(p)
                r = res[p]
                if img is None:
                    ax.text(0.5, 0.5, f"{p}\nn/a", ha="center", va="center", transform=ax.transAxes)
                    ax.set_xticks([]), ax.set_yticks([])
                    continue
                cov = "" if r["coverage"] >= 1 else f", {100 * r['coverage']:.0f}% cov."
                title = f"{p}\nRMSE {fmt(r['rmse'])}{cov}"
            im = ax.imshow(np.ma.masked_invalid(img), cmap=cmap, vmin=vmin, vmax=vmax, origin=origin, extent=extent,
                           interpolation="nearest", aspect="auto")
            if c.land.any():
                ax.imshow(np.ma.masked_where(~c.land, np.ones(c.land.shape)), cmap=grey, origin=origin,
                          extent=extent, interpolation="nearest", aspect="auto")
            if p == "truth":
                ax.contour(c.hidden.astype(float), levels=[0.5], colors="k", linewidths=0.4, origin=origin,
                           extent=extent)
            ax.set_title(title, fontsize=8.5)
            ax.tick_params(labelsize=6)
            if j:  # coordinates on the first panel of each row only
                ax.set_xticks([]), ax.set_yticks([])
            else:
                ax.locator_params(axis="x", nbins=3)
        axes[i, 0].set_ylabel(f"{c.name}\n{c.time}", fontsize=7.5)
        cb = fig.colorbar(im, ax=list(axes[i, :]), fraction=0.012, pad=0.01)
        cb.set_label("SST (degC)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    fig.suptitle("Held-out examples: white = gap / unfilled, grey = land, black outline on truth = hidden pixels",
                 fontsize=9)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [c.name for c in picks]
