#!/usr/bin/env python
"""Render ``calibration.json`` (``benchmarks/calibration.py``) as ``calibration.md`` and its figures.

    python benchmarks/render_calibration.py docs/benchmarks
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.harness import fmt, md_table  # noqa: E402

TARGETS = (0.683, 0.954, 0.997)
TOLERANCE = 0.05
SHOWN_GROUPS = ("all standard", "SLSTR", "MUR", "MUR series", "large clouds", "swath edge")


def _ok(r: dict) -> bool:
    return all(abs(r[f"within_{k}"] - t) <= TOLERANCE for k, t in zip((1, 2, 3), TARGETS))


def figures(res: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    models = list(res["models"])
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 3.6), squeeze=False)
    for ax, m in zip(axes[0], models):
        for g in SHOWN_GROUPS:
            r = res["models"][m].get(g)
            if r:
                ax.plot(r["reliability"]["nominal"], r["reliability"]["observed"], marker="o", ms=3, label=g)
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set(title=m, xlabel="nominal probability of the interval", xlim=(0, 1), ylim=(0, 1))
    axes[0][0].set_ylabel("observed frequency")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle("Reliability of the predicted error (held-out real clouds)")
    fig.tight_layout()
    fig.savefig(out / "calibration_reliability.png", dpi=110)
    plt.close(fig)
    names.append("calibration_reliability.png")
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 3.6), squeeze=False)
    for ax, m in zip(axes[0], models):
        top = 0.0
        for g in SHOWN_GROUPS:
            r = res["models"][m].get(g)
            if r:
                ss = r["spread_skill"]
                ax.plot(ss["rms_sigma"], ss["rmse"], marker="o", ms=3, label=g)
                top = max(top, max(ss["rms_sigma"]), max(ss["rmse"]))
        ax.plot([0, top], [0, top], "k--", lw=0.8)
        ax.set(title=m, xlabel="predicted sigma (RMS in bin, degC)")
    axes[0][0].set_ylabel("observed RMSE (degC)")
    axes[0][-1].legend(fontsize=7, loc="upper left")
    fig.suptitle("Spread-skill: 10 equally populated bins of predicted sigma")
    fig.tight_layout()
    fig.savefig(out / "calibration_spread_skill.png", dpi=110)
    plt.close(fig)
    names.append("calibration_spread_skill.png")
    return names


def render(res: dict) -> str:
    lines = [
        "# Calibration of the per-pixel error",
        "",
        "Every filled value comes with the standard deviation of its error (`<var>_error`,",
        "see the CF guide). Each model's error model is fitted on hidden pixels of the *training*",
        "parts of the real data (MUR stacks on their training days, SLSTR windows of the Norwegian",
        "Sea scene and the NE Atlantic rows above the held-out band), by Gaussian likelihood,",
        "then scaled so that the coverage of 1, 2 and 3 sigma is closest to a Gaussian's on that",
        "fit set. Here it is scored on the held-out cases of the accuracy benchmark",
        "(every group apart). Targets: 68.3 / 95.4 / 99.7 % within 1 / 2 / 3 sigma, each within",
        "5 points.",
        "",
        f"    {res.get('command', 'python benchmarks/calibration.py')}",
        "",
        f"Run {res.get('run_at', '?')}, {res.get('seconds', 0):.0f} s on {res.get('environment', {}).get('cpu_count', '?')} CPU cores.",
        "",
        "## Coverage on the held-out groups",
        "",
        "`raw`: the likelihood fit before the coverage scale. CRPS is the Gaussian's, in degC,",
        "beside the RMSE of the fill and of the best single-image peer (Laplace, biharmonic,",
        "Telea) on the same pixels; a calibrated Gaussian's CRPS is about 0.5 x its RMSE.",
        "",
    ]
    rows, met, total = [], 0, 0
    for m, groups in res["models"].items():
        for g, r in groups.items():
            ok = _ok(r)
            met += ok
            total += 1
            best = min(r["peer_rmse"].items(), key=lambda kv: kv[1])
            raw = r["raw"]
            rows.append([
                m, g, f"{r['pixels']:,}",
                f"{100 * r['within_1']:.1f}", f"{100 * r['within_2']:.1f}", f"{100 * r['within_3']:.1f}",
                f"{100 * raw['within_1']:.0f}/{100 * raw['within_2']:.0f}/{100 * raw['within_3']:.1f}",
                "yes" if ok else "no", fmt(r["crps"]), fmt(r["rmse"]), f"{best[0]} {fmt(best[1])}", fmt(r["mean_sigma"]),
            ])
    lines += md_table(["model", "group", "pixels", "1 sigma %", "2 sigma %", "3 sigma %", "raw %", "within 5 pts", "CRPS", "RMSE", "best peer RMSE", "mean sigma"], rows)
    lines += ["", f"Groups within 5 points on all three: **{met} of {total}**.", ""]
    lines += ["## Fit set (training parts) and fitted coefficients", ""]
    rows = []
    for m, r in res["fit_set"].items():
        rows.append([m, f"{r['pixels']:,}", f"{100 * r['within_1']:.1f}", f"{100 * r['within_2']:.1f}", f"{100 * r['within_3']:.1f}", fmt(r["rmse"]),
                     ", ".join(f"{c:.3f}" for c in r["coefficients"]), f"{r['scale']:.3f}"])
    lines += md_table(["model", "pixels", "1 sigma %", "2 sigma %", "3 sigma %", "RMSE", "coefficients (intercept, log_distance, log_local_std, log_gradient, observed_fraction, log_roughness)", "scale"], rows)
    lines += [
        "",
        "## Figures",
        "",
        "![reliability](calibration_reliability.png)",
        "",
        "![spread-skill](calibration_spread_skill.png)",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    folder = Path((argv or sys.argv[1:] or ["docs/benchmarks"])[0])
    res = json.loads((folder / "calibration.json").read_text())
    figures(res, folder)
    (folder / "calibration.md").write_text(render(res) + "\n")
    print(f"wrote {folder / 'calibration.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
