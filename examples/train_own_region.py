#!/usr/bin/env python
"""Train a small gap-filling model on your own region and compare it with the default model.

What it shows
-------------
``ds.inpaint.train(var, ...)`` cuts 64x64 tiles from a series of SST maps, splits them by
blocks of time (train / validation / test, so nothing leaks between the sets), hides
pixels under synthetic clouds and squares, and trains a convolutional autoencoder. The
script saves the model (``model.save``: weights and a JSON config, no pickle), then scores
it on the held-out time steps next to the bundled default model and the classical Laplace
fill with ``da.inpaint.evaluate(model)`` (the SST report's hole sets: one 10x10 square,
many 6x6 squares, many squares of 1-10 pixels), and draws the training curves with
:func:`sstfill.plot.training_curves`.

By default it trains on a synthetic 8-day series (``sstfill.testing.synthetic_sst``,
written to a temporary netCDF file so that the code path is that of a real file) with
tiny settings that finish in well under a minute on two CPU cores. A model trained that
briefly is *worse* than the default model and often worse than Laplace: the point is the
workflow. For a useful model give it your data and real settings, e.g.::

    python examples/train_own_region.py --input 'my_region_2021.nc' --var analysed_sst \\
        --epochs 30 --steps-per-epoch 200 --batch-size 32 --preset default --out my-model/

(on a GPU that takes minutes; ``sstfill train`` is the same as a command). Use a series
of at least a few dozen days: the test set is the last 20 % of the time steps (the last
20 % of the rows for a single image). ``evaluate`` needs 64x64 tiles that are 95 %
observed; for cloudy L3 data train and evaluate on a gap-free L4 product of the region,
or lower ``min_valid``. Use the result with ``ds.inpaint.fill(var, model="my_model.npz")``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

import sstfill  # noqa: E402,F401  (registers the .inpaint accessor)
import sstfill.plot  # noqa: E402
from sstfill.testing import synthetic_sst  # noqa: E402
from sstfill.training.tiles import split_blocks  # noqa: E402

#: train / validation / test fractions (ds.inpaint.train's default)
SPLIT = (0.65, 0.15, 0.2)


def held_out(da: xr.DataArray, split=SPLIT) -> xr.DataArray:
    """The part of ``da`` that ``train`` keeps for its test set: never seen in training.

    The last block of time steps when there are 3 or more, else the last band of rows.
    """
    y_dim = da.inpaint.grid.dims[0]
    other = [d for d in da.dims if d not in da.inpaint.grid.dims]
    dim = other[0] if other and da.sizes[other[0]] >= 3 else y_dim
    return da.isel({dim: split_blocks(da.sizes[dim], split)[2]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=None, help="netCDF file of your region (default: a synthetic 8-day series)")
    parser.add_argument("--var", default=None, help="variable to train on (needed when the file has several)")
    parser.add_argument("--preset", default="fast", help="architecture: fast, default, large or report (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=5, help="(default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16, help="tiles per step (default: %(default)s)")
    parser.add_argument("--steps-per-epoch", type=int, default=10, help="batches per epoch (default: %(default)s)")
    parser.add_argument("--max-tiles", type=int, default=None, metavar="N", help="at most N tiles per set, in training and scoring (default: all)")
    parser.add_argument("--out", default="example-output", help="directory for the model and the PNG (default: %(default)s)")
    args = parser.parse_args(argv)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.input
        if path is None:  # stand-in for your own file
            path = Path(tmp) / "synthetic_region.nc"
            synthetic_sst(192, 256, nt=8).to_netcdf(path)
        with xr.open_dataset(path) as ds:
            ds = ds.load()

    limit = {} if args.max_tiles is None else {"max_tiles": args.max_tiles}
    t0 = time.perf_counter()
    model = ds.inpaint.train(
        args.var,
        preset=args.preset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        split=SPLIT,
        progress=False,
        **limit,
    )
    h = model.history
    print(f"trained a {args.preset!r} model in {time.perf_counter() - t0:.1f} s on {model.device}; "
          f"tiles train/validation/test {'/'.join(map(str, h['tiles']))} (split {h['split']})")
    model_path = model.save(out_dir / "my_region_model.npz")
    print(f"wrote {model_path}")

    fig = sstfill.plot.training_curves(model.history, title=f"{args.preset!r} model")
    png_path = out_dir / "training_curves.png"
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    print(f"wrote {png_path}")

    # score on the held-out steps: a model file, the bundled model (None) and Laplace
    var = args.var or next(v for v in ds.data_vars if ds[v].dtype.kind == "f" and ds[v].ndim >= 2)
    test = held_out(ds[var])
    candidates = {"own model": model_path, "default model": None, "laplace": "laplace"}
    tables = {name: test.inpaint.evaluate(m, **limit) for name, m in candidates.items()}
    rmse = pd.DataFrame({name: t["rmse_hidden_units"] for name, t in tables.items()})
    first = next(iter(tables.values()))
    units = test.attrs.get("units", "field units")  # an SST difference in kelvin is one in degC
    print(f"\nRMSE on the hidden pixels ({units}) of {int(first['tiles'].iloc[0])} held-out 64x64 tiles:")
    print(rmse.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
