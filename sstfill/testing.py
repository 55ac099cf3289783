"""Realistic synthetic SST fields for tests, examples and benchmarks.

The fields have what makes real SST hard to fill: a meridional gradient, a meandering
front, mesoscale eddies, small-scale noise, and a coastline. They come as CF-described
DataArrays on a regular lat/lon grid, in kelvin, like an L4/L3 product.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["synthetic_sst", "synthetic_land"]


def synthetic_land(ny: int, nx: int) -> np.ndarray:
    """A coastline along the eastern edge with a small island; True = land."""
    y, x = np.mgrid[0:ny, 0:nx]
    coast = x > nx * (0.86 + 0.06 * np.sin(2 * np.pi * y / max(ny, 1) * 1.5))
    island = (y - 0.3 * ny) ** 2 + (x - 0.45 * nx) ** 2 < (0.04 * min(ny, nx)) ** 2
    return coast | island


def synthetic_sst(
    ny: int = 96,
    nx: int = 128,
    nt: int | None = None,
    *,
    seed: int = 0,
    land: bool = True,
    lat0: float = 30.0,
    lon0: float = -125.0,
    step: float = 0.05,
    name: str = "sst",
) -> xr.DataArray:
    """A synthetic SST field (kelvin) with a front, eddies and optionally land (NaN).

    Parameters
    ----------
    ny, nx : int
        Grid size.
    nt : int, optional
        Number of daily time steps (the field drifts and evolves); None for a 2-D field.
    seed : int
        Random seed.
    land : bool
        Add a coastline and an island as NaN, and describe them like a real product does:
        a ``land_mask`` coordinate with ``standard_name`` ``land_binary_mask`` (the
        synthetic coast is not where the 1 km land mask has land, so sstfill needs it).
    lat0, lon0, step : float
        South-west corner and grid spacing in degrees. The default corner is off
        California: grids wider than about 100 columns reach the real coast, which matters
        when land is taken from the 1 km land mask (single images and short series); move
        the corner to open ocean (e.g. ``lat0=20, lon0=-50``) for large grids.

    Examples
    --------
    >>> da = synthetic_sst(32, 48, nt=2)
    >>> da.dims, str(da.dtype), da.attrs["units"]
    (('time', 'lat', 'lon'), 'float32', 'kelvin')
    """
    rng = np.random.default_rng(seed)
    times = 1 if nt is None else nt
    y, x = np.mgrid[0:ny, 0:nx].astype("float64")
    eddies = [
        (rng.uniform(0, ny), rng.uniform(0, nx), rng.uniform(4, 12), rng.choice([-1, 1]) * rng.uniform(0.4, 1.2), rng.uniform(-0.3, 0.3, 2))
        for _ in range(max(3, ny * nx // 1500))
    ]
    phase = rng.uniform(0, 2 * np.pi, 3)
    fields = []
    for t in range(times):
        front_y = ny * 0.5 + ny * 0.12 * np.sin(2 * np.pi * x / nx * 1.3 + phase[0] + 0.15 * t) + ny * 0.05 * np.sin(2 * np.pi * x / nx * 3.7 + phase[1])
        sst = 291.0 - 4.0 * y / ny + 1.5 * np.tanh((front_y - y) / 3.0)
        for cy, cx, r, amp, drift in eddies:
            cy_t, cx_t = cy + drift[0] * t, cx + drift[1] * t
            sst += amp * np.exp(-((y - cy_t) ** 2 + (x - cx_t) ** 2) / (2 * r**2))
        sst += 0.15 * np.sin(2 * np.pi * (x + y) / 17.0 + phase[2] + 0.3 * t)
        sst += 0.03 * rng.standard_normal((ny, nx))
        fields.append(sst)
    data = np.stack(fields).astype("float32")
    if land:
        data[:, synthetic_land(ny, nx)] = np.nan
    coords = {
        "lat": ("lat", (lat0 + step * np.arange(ny)).astype("float32"), {"standard_name": "latitude", "units": "degrees_north"}),
        "lon": ("lon", (lon0 + step * np.arange(nx)).astype("float32"), {"standard_name": "longitude", "units": "degrees_east"}),
    }
    dims = ("lat", "lon")
    if land:
        coords["land_mask"] = (
            ("lat", "lon"),
            synthetic_land(ny, nx).astype("int8"),
            {"standard_name": "land_binary_mask", "long_name": "land mask of the synthetic field (1 = land)"},
        )
    if nt is None:
        data = data[0]
    else:
        coords["time"] = ("time", pd.date_range("2021-01-01", periods=nt, freq="D"))
        dims = ("time",) + dims
    attrs = {"standard_name": "sea_surface_temperature", "long_name": "synthetic sea surface temperature", "units": "kelvin"}
    return xr.DataArray(data, dims=dims, coords=coords, name=name, attrs=attrs)


def index_field(shape: tuple[int, ...], base: int = 1000) -> np.ndarray:
    """A float32 field whose value encodes its own (y, x) index: ``y * base + x``.

    With :class:`IndexOracle` it checks tiling and stitching exactly: any correct
    tile placement reconstructs it bit for bit.
    """
    ny, nx = shape[-2:]
    if nx >= base or ny * base >= 2**24:
        raise ValueError("field too large to encode exactly in float32")
    y, x = np.mgrid[0:ny, 0:nx]
    return np.broadcast_to((y * base + x).astype("float32"), shape).copy()


class IndexOracle:
    """A tile 'model' that reconstructs an :func:`index_field` tile from any observed pixel.

    It proves the pipeline puts every tile back where it was cut: if anything is shifted,
    flipped or mis-blended, the fill differs from the true index field.
    """

    tile_size = None
    description = "index oracle (test model)"

    def __init__(self, base: int = 1000, period: int | None = None) -> None:
        self.base = base
        self.period = period  # x wraps around after this many columns (global grids)

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        out = np.full(values.shape, np.nan, dtype="float32")
        tile = values.shape[-1]
        i, j = np.mgrid[0:tile, 0:tile]
        for k in range(values.shape[0]):
            idx = np.argwhere(observed[k])
            if idx.size == 0:
                continue
            yi, xi = idx[0]
            v = int(values[k, yi, xi])
            oy, ox = v // self.base - yi, v % self.base - xi
            x = ox + j if self.period is None else (ox + j) % self.period
            out[k] = ((oy + i) * self.base + x).astype("float32")
        return out
