"""Fields and tile models of the speed benchmark (``benchmarks/speed.py``).

Synthetic SST of any size (:func:`synthetic_field`), the real SLSTR crop with ~40 % clouds
(:func:`realistic_field`), cloudy stacks and zarr stores; a wrapper that counts the tiles a
model fills (:class:`CountingModel`) and a tile model that costs nothing (:class:`TileMeanModel`).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

TILE_AREA = 64 * 64
HOLE_FRACTION = 0.4

_COUNTS: dict[str, dict[str, Any]] = {}
_COUNT_LOCK = threading.Lock()


class CountingModel:
    """Wraps a tile model; counts the tiles it fills and the torch threads of each caller.

    The counts live in a module-level registry under ``key``, so they survive the copies
    that dask's tokenisation makes of task arguments (it pickles them).
    """

    def __init__(self, model: Any, key: str) -> None:
        self.model = model
        self.key = key
        self.tile_size = getattr(model, "tile_size", None)
        self.preferred_batch = getattr(model, "preferred_batch", 256)  # 8192 for a model on a GPU
        self.description = model.description
        self.context_margin = getattr(model, "context_margin", 0)  # windows wider than the tiles
        self.time_offsets = getattr(model, "time_offsets", ())  # neighbouring steps
        reset_count(key)

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray, neighbours: np.ndarray | None = None) -> np.ndarray:
        import torch

        with _COUNT_LOCK:
            rec = _COUNTS.setdefault(self.key, {"tiles": 0, "threads": {}})
            rec["tiles"] += len(values)
            rec["threads"][threading.get_ident()] = torch.get_num_threads()
        if neighbours is not None:
            return self.model.predict_tiles(values, observed, neighbours)
        return self.model.predict_tiles(values, observed)


class TileMeanModel:
    """A tile model that costs (almost) nothing: each gap gets its tile's observed mean.

    Run through the whole-file pipeline it measures sstfill's own cost (cutting, blending,
    fallback, flags, dask, writing) without a network: the floor that a faster network or a
    GPU cannot go below on this machine.
    """

    tile_size = 64
    description = "zero-cost tile model (each tile's observed mean)"

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        count = np.maximum(observed.sum(axis=(1, 2), keepdims=True), 1)
        mean = np.where(observed, values, 0).sum(axis=(1, 2), keepdims=True) / count
        return np.where(observed, values, mean).astype("float32")


def reset_count(key: str) -> None:
    """Start counting ``key`` from zero."""
    with _COUNT_LOCK:
        _COUNTS[key] = {"tiles": 0, "threads": {}}


def get_count(key: str) -> tuple[int, list[int]]:
    """(tiles filled, torch thread count seen in each calling thread)."""
    with _COUNT_LOCK:
        rec = _COUNTS.get(key, {"tiles": 0, "threads": {}})
        return rec["tiles"], sorted(rec["threads"].values())



def dir_bytes(path: Path) -> int:
    """Bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())



def mirror_tile(a: np.ndarray, ny: int, nx: int) -> np.ndarray:
    """Extend ``a`` (..., y, x) to (..., ny, nx) with mirrored copies (continuous at the seams)."""
    while a.shape[-2] < ny:
        a = np.concatenate([a, a[..., ::-1, :]], axis=-2)
    while a.shape[-1] < nx:
        a = np.concatenate([a, a[..., :, ::-1]], axis=-1)
    return a[..., :ny, :nx]


def synthetic_field(ny: int, nx: int, nt: int | None = None, seed: int = 0):
    """Synthetic SST (kelvin, land NaN) of any size, quickly: (DataArray, land bool (ny, nx)).

    ``sstfill.testing.synthetic_sst`` costs O(area^2) (one Gaussian per eddy over the whole
    grid, with eddies proportional to the area): fields larger than 512 x 512 are made of
    mirrored copies of a 512 x 512 one, so the front and the eddies keep their scales.
    """
    import pandas as pd
    import xarray as xr

    from sstfill.testing import synthetic_land, synthetic_sst

    base = synthetic_sst(min(ny, 512), min(nx, 512), nt=nt, seed=seed, land=False, step=0.01)
    data = mirror_tile(base.values, ny, nx).copy()
    land = synthetic_land(ny, nx)
    data[..., land] = np.nan
    coords = {
        "lat": ("lat", (30.0 + 0.01 * np.arange(ny)).astype("float32"), {"standard_name": "latitude", "units": "degrees_north"}),
        "lon": ("lon", (-125.0 + 0.01 * np.arange(nx)).astype("float32"), {"standard_name": "longitude", "units": "degrees_east"}),
    }
    dims: tuple[str, ...] = ("lat", "lon")
    if nt is not None:
        coords["time"] = ("time", pd.date_range("2021-01-01", periods=nt, freq="D"))
        dims = ("time",) + dims
    return xr.DataArray(data.astype("float32"), dims=dims, coords=coords, name="sst", attrs=dict(base.attrs)), land


def realistic_field(n: int, shared: str | None, seed: int = 0):
    """(gappy DataArray, land DataArray, description, hidden fraction of the ocean).

    With ``shared``: the n x n window of the SLSTR NE Atlantic scene (real clouds) whose
    missing fraction of the ocean is closest to 40 %, land from ``global-land-mask``.
    Otherwise a synthetic SST field (front, eddies, coast) under real-shaped clouds.
    """
    import xarray as xr

    from sstfill.kernels.holes import make_holes

    path = Path(shared) / "slstr_l2_ne_atl.nc" if shared else None
    if path is not None and path.exists():
        ds = xr.open_dataset(path)
        var = ds["sea_surface_skin_temperature"].isel(time=0).load()
        lon, lat = np.meshgrid(ds["lon"].values, ds["lat"].values)
        try:
            from global_land_mask import globe

            land_all = globe.is_land(lat, lon)
        except ImportError:
            land_all = np.zeros(var.shape, dtype=bool)
        missing = var.isnull().values
        ny, nx = missing.shape
        step = max(n // 4, 1)
        best = None
        for y in range(0, ny - n + 1, step):
            for x in range(0, nx - n + 1, step):
                ocean = ~land_all[y : y + n, x : x + n]
                frac = (missing[y : y + n, x : x + n] & ocean).sum() / max(ocean.sum(), 1)
                score = abs(frac - HOLE_FRACTION) + 0.5 * (1 - ocean.mean())
                if best is None or score < best[0]:
                    best = (score, y, x, frac)
        _, y, x, frac = best
        window = dict(lat=slice(y, y + n), lon=slice(x, x + n))
        gappy = var.isel(window).drop_vars("time", errors="ignore")
        land = xr.DataArray(land_all[y : y + n, x : x + n], dims=gappy.dims)
        desc = (
            f"real Sentinel-3 SLSTR L2 crop, NE Atlantic 2023-04-20, rows {y}:{y + n}, columns {x}:{x + n} "
            f"({n} x {n}, real clouds over {frac:.0%} of the ocean, land {land.values.mean():.0%} from global-land-mask)"
        )
        return gappy, land, desc, float(frac)
    sst, land_np = synthetic_field(n, n, seed=seed)
    land = xr.DataArray(land_np, dims=sst.dims)
    holes = make_holes("clouds", (n, n), np.random.default_rng(seed), fraction=HOLE_FRACTION) & ~land.values
    gappy = sst.where(~holes)
    frac = float(holes.sum() / (~land.values).sum())
    desc = f"synthetic SST ({n} x {n}, 0.01 deg; mirrored copies of sstfill.testing.synthetic_sst(512, 512) beyond 512) under real-shaped SLSTR clouds over {frac:.0%} of the ocean, land {land.values.mean():.0%}"
    return gappy, land, desc, frac


def cloudy_stack(shape: tuple[int, int, int], seed: int = 0):
    """(time, y, x) synthetic SST with real-shaped clouds (40 %) per step, and land (y, x)."""
    from sstfill.kernels.holes import make_holes

    nt, ny, nx = shape
    sst, land = synthetic_field(ny, nx, nt=nt, seed=seed)
    rng = np.random.default_rng(seed + 1)
    holes = np.stack([make_holes("clouds", (ny, nx), rng, fraction=HOLE_FRACTION) for _ in range(nt)])
    return sst.where(~(holes & ~land)), land


def write_input_zarr(path: Path, shape: tuple[int, ...], chunk: int, seed: int = 0) -> None:
    """A zarr store with ``sst`` (time?, lat, lon) under clouds and a CF ``land`` mask."""

    if len(shape) == 3:
        gappy, land = cloudy_stack(shape, seed)
        chunks = {"time": 1, "lat": chunk, "lon": chunk}
    else:
        gappy, land_da, _, _ = realistic_field(shape[0], None, seed)
        land = land_da.values
        chunks = {"lat": chunk, "lon": chunk}
    ds = gappy.to_dataset()
    ds["land"] = (("lat", "lon"), land.astype("int8"), {"standard_name": "land_binary_mask", "long_name": "land (1) / sea (0)"})
    if path.exists():
        shutil.rmtree(path)
    ds.chunk(chunks).to_zarr(path, mode="w")
