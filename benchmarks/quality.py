"""Sample quality of every model's fills and of the latent generator's free samples: SSIM, Fréchet distance, birthday test.

The checks of the seeds' talk (document 002), from ``sstfill.evaluation.quality``:

* **Filled tiles against true tiles.** The quadrant tiles of the standard held-out cases
  (``benchmarks/latent.py::heldout_tiles``) whose truth is complete: every method fills the
  same input tile by tile; per method, the mean SSIM of the filled tiles against the truth,
  the Fréchet distance (FD, shipped encoder ``sst-encoder/1``) between the filled and the
  true stack, and the birthday test on the filled stack (near-duplicates among the fills).
* **The latent generator's free samples** against real tiles: FD, and the birthday test
  (does the generator collapse onto few tiles?), with a figure of the closest pairs. Free
  samples are in the tile normalisation; each is given the mean and standard deviation of
  one real tile, so the FD compares patterns, not amplitudes drawn from nowhere. As a floor,
  the FD between two halves of the real tiles, and the birthday test on real tiles.

FD depends on the number of tiles (it is biased upwards for small stacks): compare only the
rows of one run.

Usage::

    python benchmarks/quality.py --shared ../shared/data --out docs/benchmarks
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.harness import command_line, environment, fmt, git_state, md_table, utc_timestamp, write_json  # noqa: E402
from benchmarks.latent import heldout_tiles  # noqa: E402
from benchmarks.peers import fill_biharmonic, fill_telea  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--latent", default="latent", help="latent model: 'latent' (bundled) or a file")
    ap.add_argument("--samples", type=int, default=1000, help="free samples of the generator for the birthday test")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import torch

    import sstfill
    from sstfill.evaluation.quality import ENCODER_VERSION, birthday_test, frechet_distance, ssim_tiles
    from sstfill.models.store import resolve_model
    from sstfill.plot.quality import plot_closest_pairs

    tiles = heldout_tiles(args.shared)
    whole = np.isfinite(tiles["truth"]).all(axis=(1, 2))
    truth, values = tiles["truth"][whole], tiles["values"][whole]
    observed = np.isfinite(values)
    n = len(truth)
    print(f"{n} held-out tiles with a complete truth", flush=True)
    latent = resolve_model(args.latent)
    methods = {
        "default": resolve_model("default").predict_tiles,
        "fast": resolve_model("fast").predict_tiles,
        "latent": latent.predict_tiles,
        "laplace (tile)": sstfill.LaplaceFiller().predict_tiles,
        "biharmonic (tile)": lambda v, m: fill_biharmonic(v),
        "telea (tile)": lambda v, m: fill_telea(v),
    }
    rows = []
    for label, fill in methods.items():
        filled = np.where(observed, values, fill(values, observed))
        hidden = ~observed
        rmse = float(np.sqrt(np.mean((filled[hidden].astype("float64") - truth[hidden]) ** 2)))
        ssim = ssim_tiles(filled, truth)
        birthday = birthday_test(filled)
        rows.append({"method": label, "rmse": rmse, "ssim_mean": float(np.nanmean(ssim)), "fd": frechet_distance(truth, filled),
                     "duplicates": birthday.n_duplicates, "closest_mse": float(birthday.mse[0])})
        print(rows[-1], flush=True)

    # the generator's free samples, each with the mean and std of one real tile
    gen = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        z = torch.rand(args.samples, latent.config.z_dim, generator=gen) * 2 - 1
        free = latent.generator.eval()(z)[:, 0].numpy() * latent.config.value_scale
    # some held-out cases share a truth window (other clouds): the real tiles, once each
    _, first = np.unique(truth.reshape(n, -1), axis=0, return_index=True)
    real = truth[np.sort(first)]
    n_real = len(real)
    rng = np.random.default_rng(args.seed)
    pick = rng.integers(0, n_real, args.samples)
    mean, std = real.mean(axis=(1, 2)), real.std(axis=(1, 2))
    free_k = (free - free.mean(axis=(1, 2), keepdims=True)) / free.std(axis=(1, 2), keepdims=True).clip(1e-6) * std[pick, None, None] + mean[pick, None, None]
    half = rng.permutation(n_real)
    a, b = real[half[: n_real // 2]], real[half[n_real // 2 :]]
    k = min(n_real // 2, len(free_k))
    free_result = birthday_test(free_k)
    real_result = birthday_test(real)
    generator = {
        "fd_free_vs_real_half": frechet_distance(a, free_k[:k]),
        "fd_real_half_vs_real_half": frechet_distance(a, b),
        "fd_free_vs_real_all": frechet_distance(real, free_k),
        "samples": int(args.samples), "real_tiles": int(n_real),
        "birthday_free": {"summary": free_result.summary(), "duplicates": free_result.n_duplicates, "threshold": free_result.threshold,
                          "closest_mse": [float(x) for x in free_result.mse[:10]], "support_estimate": free_result.support_estimate,
                          "support_is_lower_bound": free_result.support_is_lower_bound},
        "birthday_real": {"summary": real_result.summary(), "duplicates": real_result.n_duplicates, "closest_mse": [float(x) for x in real_result.mse[:10]]},
    }
    print(generator, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    fig = plot_closest_pairs(free_k, free_result, n=8, title=f"Closest pairs among {args.samples} free samples of the latent generator")
    fig.savefig(args.out / "quality_birthday_latent.png", dpi=90, bbox_inches="tight")
    result = {
        "what": "sample quality of fills (held-out tiles with complete truth) and of the latent generator's free samples",
        "command": command_line("quality.py", argv if argv is not None else sys.argv[1:]),
        "when": utc_timestamp(), "git": git_state(), "environment": environment("cpu"), "encoder": ENCODER_VERSION,
        "tiles": int(n), "rows": rows, "generator": generator,
    }
    write_json(args.out / "quality.json", result)
    (args.out / "quality.md").write_text(to_markdown(result))
    print(to_markdown(result))
    return result


def to_markdown(result: dict) -> str:
    g = result["generator"]
    body = [[r["method"], fmt(r["rmse"]), fmt(r["ssim_mean"]), fmt(r["fd"], ".2f"), str(r["duplicates"]), fmt(r["closest_mse"])] for r in result["rows"]]
    bf, br = g["birthday_free"], g["birthday_real"]
    lines = [
        "# Sample quality: SSIM, Fréchet distance, birthday test",
        "",
        "The checks of the seeds' talk (`sstfill.evaluation.quality`, encoder "
        f"`{result['encoder']}`). FD grows as the stacks shrink: compare rows of one table only.",
        "",
        "## Filled tiles against the true tiles",
        "",
        f"{result['tiles']} quadrant tiles (64x64) of the standard held-out cases whose truth is complete; every method "
        "fills the same input, one tile at a time. RMSE (degC) on the hidden pixels; SSIM of the whole filled tile against "
        "the true one (mean over tiles; observed pixels are the same in both); FD between the stack of filled tiles and the "
        "stack of true tiles (0: the same feature statistics); near-duplicate pairs among the filled tiles (birthday test, "
        "threshold 0.05 in correlation-normalised MSE) and the closest pair's distance.",
        "",
        *md_table(["method", "RMSE", "SSIM", "FD to truth", "near-duplicates", "closest pair"], body),
        "",
        "## The latent generator's free samples",
        "",
        f"{g['samples']} samples `G(z)`, `z` uniform in `[-1, 1]^d`, each given the mean and standard deviation of one of the "
        f"{g['real_tiles']} distinct real held-out tiles above (some cases share a truth window under other clouds: each "
        "counted once here). Birthday test threshold: 0.05 (correlation-normalised MSE; distinct real training tiles never "
        "came closer than 0.13).",
        "",
        *md_table(["comparison", "FD"], [
            ["two halves of the real tiles (the floor at this size)", fmt(g["fd_real_half_vs_real_half"], ".2f")],
            ["free samples against one half of the real tiles (same size)", fmt(g["fd_free_vs_real_half"], ".2f")],
            ["free samples against all real tiles", fmt(g["fd_free_vs_real_all"], ".2f")],
        ]),
        "",
        f"- **Birthday test on the free samples:** {bf['summary']}",
        f"- **Birthday test on the real tiles:** {br['summary']}",
        "",
        "![Closest pairs of free samples](quality_birthday_latent.png)",
        "",
        f"Command: `{result['command']}`",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
