"""Run DINCAE 1.1.0 on one (time, lat, lon) netCDF stack; runs INSIDE the DINCAE environment.

This script is not part of sstfill and is never imported by it: it runs with the python of
the separate environment built by ``benchmarks/dincae/setup_env.sh`` (TensorFlow 2.15 CPU,
numpy < 2) and is driven by ``benchmarks/dincae_peer.py`` through a subprocess.

Input netCDF (what ``DINCAE.load_gridded_nc`` reads): coordinates ``lon(lon)``,
``lat(lat)``, ``time(time)`` with CF ``units``; ``mask(lat, lon)`` int, 1 = sea; the
variable (``--var``, default ``SST``) ``(time, lat, lon)`` float with a ``_FillValue`` at
every missing pixel (clouds and land).

Output netCDF: ``mean_rec(time, lat, lon)`` (DINCAE's reconstruction, same units as the
input) and ``sigma_rec(time, lat, lon)`` (its error standard deviation), NaN on land and
wherever DINCAE gives nothing (see below), plus ``lon``, ``lat``, ``time`` copied from
the input and the settings used in the global attributes.

DINCAE reconstructs anomalies from the temporal mean of the stack: a sea pixel that is
missing on every day has no mean, and DINCAE leaves it masked on every day (NaN here).

Settings (``--epochs`` etc.): DINCAE's own defaults (``DINCAE.reconstruct``) except

* ``epochs`` 1000 -> 150 and ``batch_size`` 30 -> 10: with a 10-day stack one epoch is
  one pass over the days in one optimiser step (DINCAE's epochs on thousands of images
  are hundreds of steps each); 150 steps of 10 128 x 128 images take ~2.5 min on one core;
* ``learning_rate_decay_epoch`` 100 -> 50 (the learning rate halves three times over the
  run; halving ten times, as 1000 / 100 does, froze training after ~40 steps: chosen on
  the training loss only, never on held-out days);
* ``save_each`` 10 -> 0 and ``save_model_each`` 500 -> 0 (reconstruct once, after the
  last epoch; no checkpoints);
* ``iseed`` None -> 0 (reproducible clouds and weights).

Kept: ``ntime_win`` 3, ``jitter_std`` 0.05, ``dropout_rate_train`` 0.3,
``enc_ksize_internal`` [16, 24, 36, 54], ``frac_dense_layer`` [0.2], ``skipconnections``
[1, 2, 3, 4], ``learning_rate`` 1e-3, ``clip_grad`` 5, ``shuffle_buffer_size`` 45.

Usage::

    benchmarks/.dincae-env/bin/python benchmarks/dincae/run_dincae.py IN.nc OUT.nc \
        [--var SST] [--epochs 150] [--batch-size 10] [--lr-decay-epoch 50]
        [--threads 1] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

SETTINGS = {
    "epochs": 150,
    "batch_size": 10,
    "learning_rate_decay_epoch": 50.0,
    "ntime_win": 3,
    "jitter_std": 0.05,
    "dropout_rate_train": 0.3,
    "enc_ksize_internal": [16, 24, 36, 54],
    "frac_dense_layer": [0.2],
    "skipconnections": [1, 2, 3, 4],
    "learning_rate": 1e-3,
    "clip_grad": 5.0,
    "shuffle_buffer_size": 45,
    "save_each": 0,
    "save_model_each": 0,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "input",
        help="input netCDF (time, lat, lon) with _FillValue gaps and a sea mask",
    )
    ap.add_argument("output", help="output netCDF (mean_rec, sigma_rec)")
    ap.add_argument("--var", default="SST", help="name of the variable to reconstruct")
    ap.add_argument("--epochs", type=int, default=SETTINGS["epochs"])
    ap.add_argument("--batch-size", type=int, default=SETTINGS["batch_size"])
    ap.add_argument(
        "--lr-decay-epoch", type=float, default=SETTINGS["learning_rate_decay_epoch"]
    )
    ap.add_argument(
        "--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads"
    )
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # TensorFlow reads these when it starts its thread pools: set before importing it
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(args.threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import numpy as np
    import tensorflow as tf
    from netCDF4 import Dataset

    # --- shim: DINCAE 1.1.0 was written for TensorFlow 1.15 (graph mode, Dataset.output_*)
    tf.compat.v1.disable_eager_execution()
    tf.data.Dataset.output_types = property(tf.compat.v1.data.get_output_types)
    tf.data.Dataset.output_shapes = property(tf.compat.v1.data.get_output_shapes)
    if not hasattr(np, "bool"):  # load_gridded_nc uses np.bool, gone in numpy 1.24-1.26
        np.bool = bool
    # --- end of shim

    import DINCAE

    s = dict(SETTINGS, epochs=args.epochs, batch_size=args.batch_size)
    s["learning_rate_decay_epoch"] = args.lr_decay_epoch
    t0 = time.perf_counter()
    # the steps of DINCAE.reconstruct_gridded_nc, which does not return the file it wrote
    lon, lat, times, data, missing, mask = DINCAE.load_gridded_nc(args.input, args.var)
    train_gen, nvar, train_len, meandata = DINCAE.data_generator(
        lon,
        lat,
        times,
        data,
        missing,
        ntime_win=s["ntime_win"],
        jitter_std=s["jitter_std"],
    )
    test_gen, nvar, test_len, _ = DINCAE.data_generator(
        lon, lat, times, data, missing, ntime_win=s["ntime_win"], train=False
    )
    with tempfile.TemporaryDirectory(prefix="dincae-") as outdir:
        fname = DINCAE.reconstruct(
            lon, lat, mask, meandata, train_gen, train_len, test_gen, test_len, outdir,
            nvar=nvar, iseed=args.seed,
            **{k: v for k, v in s.items() if k not in ("ntime_win", "jitter_std")},
        )  # fmt: skip
        with Dataset(fname) as rec:
            mean_rec = np.ma.filled(rec["mean_rec"][:].astype("float32"), np.nan)
            sigma_rec = np.ma.filled(rec["sigma_rec"][:].astype("float32"), np.nan)
    seconds = time.perf_counter() - t0

    with Dataset(args.input) as src, Dataset(args.output, "w") as out:
        for dim in ("time", "lat", "lon"):
            out.createDimension(dim, len(src.dimensions[dim]))
            v = out.createVariable(dim, src[dim].dtype, (dim,))
            v.setncatts(
                {
                    a: src[dim].getncattr(a)
                    for a in src[dim].ncattrs()
                    if a != "_FillValue"
                }
            )
            v[:] = src[dim][:]
        for name, arr, long_name in (
            ("mean_rec", mean_rec, "DINCAE reconstruction"),
            ("sigma_rec", sigma_rec, "DINCAE error standard deviation"),
        ):
            v = out.createVariable(
                name, "f4", ("time", "lat", "lon"), fill_value=np.float32(np.nan)
            )
            v.long_name = long_name
            if "units" in src[args.var].ncattrs():
                v.units = src[args.var].units
            v[:] = arr
        out.dincae_version = "1.1.0"
        out.tensorflow_version = tf.__version__
        out.settings = repr(s)
        out.seed = args.seed
        out.threads = args.threads
        out.seconds = seconds
    print(f"DINCAE done in {seconds:.1f} s: {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
