"""DINCAE (Barth et al. 2020) as a benchmark peer, run in its own environment.

DINCAE 1.1.0 needs TensorFlow, which sstfill never depends on: it runs with the python of
a separate environment (``benchmarks/dincae/setup_env.sh``, see
``benchmarks/dincae/README.md``), through ``benchmarks/dincae/run_dincae.py`` in a
subprocess. This module imports nothing from TensorFlow; it writes the stack to a temporary
netCDF file, runs the script and reads the reconstruction back.

The environment's python is ``$SSTFILL_DINCAE_PYTHON`` when set, else
``benchmarks/.dincae-env/bin/python``. ``$SSTFILL_DINCAE_THREADS`` (default 1) sets
TensorFlow's thread count and ``$SSTFILL_DINCAE_EPOCHS`` (default: the script's, 150) the
training length.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["DINCAE_SCRIPT", "DincaeError", "available", "dincae_python", "fill_dincae"]

HERE = Path(__file__).resolve().parent
DINCAE_SCRIPT = HERE / "dincae" / "run_dincae.py"
DEFAULT_ENV = HERE / ".dincae-env"
_FILL = np.float32(-9999.0)


class DincaeError(RuntimeError):
    """The DINCAE environment is missing or the DINCAE run failed."""


def dincae_python() -> Path:
    """The python of the DINCAE environment (``$SSTFILL_DINCAE_PYTHON`` or the default venv)."""
    env = os.environ.get("SSTFILL_DINCAE_PYTHON")
    return Path(env) if env else DEFAULT_ENV / "bin" / "python"


def available() -> bool:
    """True when the DINCAE environment's python exists.

    Examples
    --------
    >>> isinstance(available(), bool)
    True
    """
    p = dincae_python()
    return p.is_file() and os.access(p, os.X_OK)


def _write_input(path: Path, values, land, lat, lon, times) -> None:
    from netCDF4 import Dataset

    t = np.asarray(times, "datetime64[s]").astype("int64")  # seconds since 1970
    with Dataset(path, "w") as ds:
        ds.createDimension("time", values.shape[0])
        ds.createDimension("lat", values.shape[1])
        ds.createDimension("lon", values.shape[2])
        ds.createVariable("time", "f8", ("time",))[:] = t / 86400.0
        ds["time"].units = "days since 1970-01-01 00:00:00"
        ds.createVariable("lat", "f8", ("lat",))[:] = lat
        ds.createVariable("lon", "f8", ("lon",))[:] = lon
        ds.createVariable("mask", "i4", ("lat", "lon"))[:] = (~land).astype("int32")
        v = ds.createVariable("SST", "f4", ("time", "lat", "lon"), fill_value=_FILL)
        v[:] = np.where(np.isfinite(values) & ~land, values, _FILL).astype("float32")


def fill_dincae(
    values: NDArray[np.floating],
    land: NDArray[np.bool_],
    lat: NDArray[np.floating],
    lon: NDArray[np.floating],
    times: NDArray[np.datetime64],
) -> NDArray[np.float32]:
    """Fill the gaps of a (time, y, x) stack with DINCAE, trained on the stack itself.

    DINCAE trains its convolutional auto-encoder on the stack (hiding real clouds of other
    days on each day), then reconstructs every day. The run takes minutes: see
    ``benchmarks/dincae/run_dincae.py`` for the settings and ``benchmarks/dincae/README.md``
    for the measured time.

    Parameters
    ----------
    values : numpy.ndarray, shape (T, H, W)
        Float field (e.g. degC), NaN at every missing pixel.
    land : numpy.ndarray of bool, shape (H, W)
        Land mask; never used as data, returned NaN.
    lat, lon : numpy.ndarray, shapes (H,) and (W,)
        Pixel-centre coordinates in degrees (DINCAE uses them as input channels).
    times : numpy.ndarray of datetime64, shape (T,)
        The days (DINCAE uses the day of year as input channels).

    Returns
    -------
    numpy.ndarray of float32, shape (T, H, W)
        Observed ocean pixels exactly as given; gaps filled by DINCAE; land NaN. A sea pixel
        missing on every day stays NaN (DINCAE reconstructs anomalies from the temporal
        mean, which is undefined there).

    Raises
    ------
    DincaeError
        The environment is missing (build it with ``benchmarks/dincae/setup_env.sh`` or set
        ``SSTFILL_DINCAE_PYTHON``) or the DINCAE run failed (its stderr is in the message).

    Examples
    --------
    >>> import numpy as np
    >>> v = np.full((4, 32, 32), 18.0, np.float32); v[1, 10:20, 10:20] = np.nan
    >>> t = np.arange("2021-01-01", "2021-01-05", dtype="datetime64[D]")
    >>> out = fill_dincae(v, np.zeros((32, 32), bool), np.arange(32.0), np.arange(32.0), t)  # doctest: +SKIP
    """
    values = np.asarray(values)
    land = np.asarray(land, bool)
    lat = np.asarray(lat, "float64")
    lon = np.asarray(lon, "float64")
    times = np.asarray(times)
    if values.ndim != 3:
        raise ValueError(f"values must be (time, y, x), got shape {values.shape}")
    t, h, w = values.shape
    if land.shape != (h, w):
        raise ValueError(
            f"land must have the shape {(h, w)} of values' last two axes, got {land.shape}"
        )
    if lat.shape != (h,) or lon.shape != (w,):
        raise ValueError(
            f"lat and lon must have shapes ({h},) and ({w},), got {lat.shape} and {lon.shape}"
        )
    if times.shape != (t,) or not np.issubdtype(times.dtype, np.datetime64):
        raise ValueError(
            f"times must be datetime64 of shape ({t},), got {times.dtype} {times.shape}"
        )
    if not available():
        raise DincaeError(
            f"DINCAE environment not found: {dincae_python()} does not exist. Build it with "
            "benchmarks/dincae/setup_env.sh or set SSTFILL_DINCAE_PYTHON to its python."
        )
    observed = np.isfinite(values) & ~land
    cmd = [str(dincae_python()), str(DINCAE_SCRIPT)]
    cmd += ["--threads", os.environ.get("SSTFILL_DINCAE_THREADS", "1")]
    if os.environ.get("SSTFILL_DINCAE_EPOCHS"):
        cmd += ["--epochs", os.environ["SSTFILL_DINCAE_EPOCHS"]]
    with tempfile.TemporaryDirectory(prefix="sstfill-dincae-") as tmp:
        src, dst = Path(tmp) / "input.nc", Path(tmp) / "output.nc"
        _write_input(src, values, land, lat, lon, times)
        env = {
            k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")
        }
        proc = subprocess.run(
            cmd + [str(src), str(dst)],
            check=False,
            capture_output=True,
            text=True,
            env=env,
        )
        if proc.returncode != 0 or not dst.exists():
            raise DincaeError(
                f"DINCAE run failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}"
            )
        from netCDF4 import Dataset

        with Dataset(dst) as ds:
            rec = np.ma.filled(ds["mean_rec"][:], np.nan).astype(np.float32)
    out = np.where(observed, values.astype(np.float32), rec)
    out[:, land] = np.nan
    return out


if __name__ == "__main__":
    print(
        "DINCAE environment:",
        dincae_python(),
        "available" if available() else "MISSING",
        file=sys.stderr,
    )
