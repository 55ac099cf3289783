#!/usr/bin/env python
"""Score gap filling with the SST report's protocol and print it next to the report's numbers.

What it shows
-------------
``da.inpaint.evaluate(model)`` cuts 64x64 tiles that are (almost) fully observed from a
field, hides pixels under the report's three hole sets, fills them and scores the fill
against the hidden truth:

* ``square10``: one 10x10 square per tile,
* ``squares6``: many 6x6 squares covering 25 % of the tile,
* ``squares``: many squares of 1 to 10 pixels covering 25 % of the tile.

It returns a pandas table per model (RMSE over the hidden pixels and over the whole tile,
in per-tile normalised units = error / standard deviation of the true tile, and in the
field's units, plus MAE, bias and SSIM). The script runs it for the bundled default model
and the classical Laplace fill on the bundled MUR L4 sample (Southern California Bight,
2021-01-09 and -10, days the model never saw in training), prints the numbers beside the
report's (``report_rmse_hidden``: 0.0376 / 0.1223 / 0.1417), and writes the table as CSV
and a bar chart as PNG.

Note: the report normalised its data differently (its exact normalisation is not given)
and used other data and tiles, so its numbers are for scale only, not a like-for-like
score: compare models with each other on the same tiles (the columns computed here).

Run it::

    python examples/evaluate_report_holes.py --out example-output

Adapt it to your own data (a gap-free L4 product works best: the truth under the holes
must be known; tiles must be 95 % observed, see ``min_valid``)::

    python examples/evaluate_report_holes.py --input my_l4.nc --var analysed_sst \\
        --model my_model.npz --out scores/
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

import sstfill  # noqa: E402,F401  (registers the .inpaint accessor)

SAMPLE = resources.files("sstfill") / "data" / "sample_mur_socal.nc"
HOLES = {"square10": "one 10x10", "squares6": "many 6x6", "squares": "many 1-10"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=str(SAMPLE), help="netCDF file (default: the bundled MUR L4 sample)")
    parser.add_argument("--var", default=None, help="variable to score (default: the file's only data variable)")
    parser.add_argument("--model", default=None, help="model file (.npz) to score instead of the bundled model")
    parser.add_argument("--fraction", type=float, default=0.25, help="cover of the many-holes sets (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the holes (default: %(default)s)")
    parser.add_argument("--out", default="example-output", help="directory for the CSV and the PNG (default: %(default)s)")
    args = parser.parse_args(argv)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with xr.open_dataset(args.input) as ds:
        var = args.var or next(v for v in ds.data_vars if ds[v].ndim >= 2)
        da = ds[var].load()

    t0 = time.perf_counter()
    models = {"default model" if args.model is None else Path(args.model).stem: args.model, "laplace": "laplace"}
    tables = {name: da.inpaint.evaluate(m, fraction=args.fraction, seed=args.seed) for name, m in models.items()}
    seconds = time.perf_counter() - t0

    # one row per hole set: RMSE in normalised units per model beside the report's, then in field units
    units = da.attrs.get("units", "field units")  # an SST difference in kelvin is one in degC
    normalised = pd.DataFrame({f"{name}: {col}": t[f"rmse_{col}"] for name, t in tables.items() for col in ("hidden", "tile")})
    normalised["report_rmse_hidden"] = next(iter(tables.values()))["report_rmse_hidden"]
    in_units = pd.DataFrame({name: t["rmse_hidden_units"] for name, t in tables.items()})
    normalised, in_units = normalised.rename(index=HOLES), in_units.rename(index=HOLES)

    first = next(iter(tables.values()))
    print(f"{var!r} of {args.input}: {int(first['tiles'].iloc[0])} tiles of 64x64, scored in {seconds:.1f} s\n")
    print("RMSE in per-tile normalised units (error / tile std) on the hidden pixels and the whole tile:")
    print(normalised.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"\nRMSE on the hidden pixels in {units}:")
    print(in_units.to_string(float_format=lambda v: f"{v:.4f}"))
    print("\nNote: the report normalised differently (its exact normalisation is not given) and used other data and\n"
          "tiles, so report_rmse_hidden (its RMSE on the inpainted pixels) is for scale only, not a like-for-like score.")

    csv_path = out_dir / "report_holes.csv"
    normalised.join(in_units.add_suffix(f": hidden, {units}")).to_csv(csv_path, float_format="%.5f", index_label="holes")
    print(f"wrote {csv_path}")

    bars = normalised[[c for c in normalised.columns if c.endswith(": hidden")] + ["report_rmse_hidden"]]
    ax = bars.plot.bar(rot=0, figsize=(7, 4), color=["#f16913", "#6baed6", "0.55"][: bars.shape[1]])
    ax.set_xlabel("")
    ax.set_ylabel("RMSE (per-tile normalised units)")
    ax.set_title(f"Report protocol on {Path(args.input).name}: RMSE on the hidden pixels", fontsize="medium")
    ax.grid(True, axis="y", lw=0.4, alpha=0.5)
    ax.legend([f"sstfill {name}" for name in tables] + ["report (other normalisation)"], frameon=False, fontsize="small")
    png_path = out_dir / "report_holes.png"
    ax.figure.tight_layout()
    ax.figure.savefig(png_path, dpi=100)
    plt.close(ax.figure)
    print(f"wrote {png_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
