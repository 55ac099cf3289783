"""The reach of a fill: which gaps lie too far from the data to be filled (numpy or dask).

Filling far beyond the data is extrapolation, so by default a fill stops at a reach from
the observations (:data:`AUTO_REACH_KM`, measured by ``benchmarks/reach.py``); gaps beyond
it stay NaN and are flagged ``beyond_reach``. ``max_distance`` says how far:

* ``"auto"`` (the default): :data:`AUTO_REACH_KM` km, or :data:`AUTO_REACH_PX` pixels of
  the grid's median spacing where that is more (coarse grids);
* a number with units: ``"50 km"``, ``"20000 m"``, ``"30 px"`` / ``"30 pixels"``;
* a plain number: kilometres;
* ``None``: no limit, every gap is filled.

Distances in km come from the grid: on a regular latitude/longitude grid the spacing of
a row is ``dy = R dlat``, ``dx = R cos(lat) dlon`` (dlat the row's own latitude step where
the steps are uneven; R = 6371 km, the local flat-Earth
approximation: the distance to the nearest observation is measured with the spacing of
the row it is measured from, which for reaches of tens to hundreds of km is within a
few percent of the great-circle distance away from the poles); on curvilinear grids the
per-row median of the great-circle distances between neighbours; on projected grids with a
CRS the same, from positions on the Earth (pyproj; the map's spacing is not the Earth's
off the projection's true scale: Mercator at 60 N, twice it), and without one the spacing
of the x/y coordinates (in m or km). The kernel is :mod:`sstfill.kernels.reach`.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from sstfill.errors import InputDataError
from sstfill.kernels.reach import beyond_reach, reach_halo
from sstfill.xr.grid import SpatialGrid, lonlat_2d, metres_per_unit

__all__ = [
    "AUTO_REACH_KM",
    "AUTO_REACH_PX",
    "EARTH_RADIUS_KM",
    "Reach",
    "parse_max_distance",
    "pixel_spacing_km",
    "reach_mask",
    "unlocated_pixels",
]

#: The default reach in km, measured on the held-out SLSTR L2 scenes (docs/benchmarks/reach.md):
#: over all hidden pixels farther than this from the data, the default model's RMSE is 0.99
#: of the climatology-free guess's (the scene mean of the observations); nearer, it is lower.
AUTO_REACH_KM = 128.0
#: A floor in pixels for coarse grids (coarser than 32 km, where 128 km is less than 4
#: pixels): the default still fills gaps of a few pixels there. Not measured.
AUTO_REACH_PX = 4.0
EARTH_RADIUS_KM = 6371.0
_ACCEPTED = (
    "max_distance accepts 'auto' (the measured default), None (no limit: fill every gap), a number "
    "of km (e.g. 50), or a string with units: '50 km', '20000 m', '30 px' or '30 pixels'"
)
_UNITS = {
    "km": ("km", 1.0),
    "m": ("km", 1e-3),
    "px": ("px", 1.0),
    "pixel": ("px", 1.0),
    "pixels": ("px", 1.0),
}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]+)\s*$")


@dataclass(frozen=True)
class Reach:
    """A parsed ``max_distance``: ``value`` in ``unit`` ("km" or "px"), or ``auto``; value inf = no limit."""

    value: float = math.inf
    unit: str = "km"
    auto: bool = False

    @property
    def limited(self) -> bool:
        return self.auto or not math.isinf(self.value)


def parse_max_distance(max_distance: Any) -> Reach:
    """Read ``max_distance`` (see the module's docstring); a ValueError names the accepted forms.

    Examples
    --------
    >>> parse_max_distance("30 px"), parse_max_distance(50).unit, parse_max_distance(None).limited
    (Reach(value=30.0, unit='px', auto=False), 'km', False)
    """
    if max_distance is None:
        return Reach()
    if isinstance(max_distance, str):
        if max_distance.strip().lower() == "auto":
            return Reach(auto=True)
        match = _PATTERN.match(max_distance)
        unit = match and _UNITS.get(match.group(2).lower())
        if not unit:
            raise ValueError(
                f"max_distance={max_distance!r} is not understood: {_ACCEPTED}."
            )
        return Reach(float(match.group(1)) * unit[1], unit[0])
    if isinstance(max_distance, (bool, np.bool_)) or not isinstance(
        max_distance, (int, float, np.integer, np.floating)
    ):  # one error for every bad value, as documented
        raise ValueError(  # noqa: TRY004
            f"max_distance={max_distance!r} ({type(max_distance).__name__}) is not understood: {_ACCEPTED}."
        )
    value = float(max_distance)
    if math.isnan(value) or value < 0:
        raise ValueError(
            f"max_distance={max_distance!r} must be a distance >= 0: {_ACCEPTED}."
        )
    return Reach(value, "km")


def _haversine_km(
    lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray
) -> np.ndarray:
    p0, p1 = np.radians(lat0), np.radians(lat1)
    a = (
        np.sin((p1 - p0) / 2) ** 2
        + np.cos(p0) * np.cos(p1) * np.sin(np.radians(lon1 - lon0) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _row_median(values: np.ndarray, ny: int) -> np.ndarray:
    """Per-row median of finite positive values (ny, n), gaps taken from the overall median."""
    values = np.where(np.isfinite(values) & (values > 0), values, np.nan)
    if values.size == 0 or not np.isfinite(values).any():
        return np.full(ny, np.nan)
    with np.errstate(all="ignore"):
        rows = np.nanmedian(values, axis=1) if values.shape[1] else np.full(ny, np.nan)
    return np.where(np.isfinite(rows), rows, np.nanmedian(values))


def _finite_median(values: np.ndarray) -> float:
    """Median of the finite values (NaN if none)."""
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else math.nan


#: On a regular grid whose latitude steps differ by more than this fraction from their
#: median (a Mercator-spaced grid, rows missing), each row takes its own step.
UNEVEN_LATITUDE = 0.01


def _regular_spacing_km(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-row (dy, dx) in km of a regular grid from its 1-D latitudes and longitudes, or None.

    dy is the median latitude step, or each row's own (centred) step where the steps are
    uneven (:data:`UNEVEN_LATITUDE`); dx the median longitude step times cos(latitude).
    A row without a finite latitude takes the median spacing of the others.
    """
    dlat = abs(_finite_median(np.diff(lat))) if lat.size > 1 else math.nan
    dlon = abs(_finite_median((np.diff(lon) + 180.0) % 360.0 - 180.0)) if lon.size > 1 else math.nan
    dlat, dlon = (dlat if np.isfinite(dlat) else dlon), (dlon if np.isfinite(dlon) else dlat)
    dy = np.full(lat.size, np.radians(dlat) * EARTH_RADIUS_KM)
    if lat.size > 2 and np.isfinite(dlat) and dlat > 0:
        rows = np.abs(np.gradient(lat))
        if np.nanmax(np.abs(rows / dlat - 1.0), initial=0.0) > UNEVEN_LATITUDE:
            dy = np.radians(np.where(np.isfinite(rows) & (rows > 0), rows, dlat)) * EARTH_RADIUS_KM
    dx = np.radians(dlon) * EARTH_RADIUS_KM * np.cos(np.radians(lat))
    dx = np.where(np.isfinite(dx), dx, _finite_median(dx))
    if not (np.isfinite(dy).all() and np.isfinite(dx).all()) or (dy <= 0).any():
        return None
    return dy, np.maximum(dx, 1e-3 * dy)  # a pole row keeps a tiny, positive spacing


#: On a projected grid with a CRS, the spacing of each row is the median over this many of
#: its columns (spread across it; all of them on narrower grids), located with pyproj.
_PROJECTED_COLUMNS = 256


def pixel_spacing_km(
    obj: xr.DataArray, grid: SpatialGrid
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-row pixel spacing (dy, dx) in km along ``grid.y_dim`` (in the order of ``obj``), or None.

    None when the grid gives no distances (no geolocation; projected x/y with neither a
    CRS nor length units). With a CRS, distances are on the Earth, not on the map.

    Examples
    --------
    >>> import sstfill.testing
    >>> from sstfill.xr.grid import find_grid
    >>> dy, dx = pixel_spacing_km(sstfill.testing.synthetic_sst(4, 5), find_grid(sstfill.testing.synthetic_sst(4, 5)))
    >>> dy.shape, bool((dx <= dy + 1e-9).all())
    ((4,), True)
    """
    ny, nx = obj.sizes[grid.y_dim], obj.sizes[grid.x_dim]
    if grid.kind == "projected" and grid.crs_wkt is None:  # no CRS: the map's spacing is all there is
        xs, ys = obj.coords[grid.x_dim], obj.coords[grid.y_dim]
        metres = metres_per_unit(xs), metres_per_unit(ys)
        sx, sy = (None if m is None else m / 1000.0 for m in metres)
        if sx is not None and sy is not None and nx > 1 and ny > 1:
            dx = abs(float(np.median(np.diff(xs.values.astype("float64"))))) * sx
            dy = abs(float(np.median(np.diff(ys.values.astype("float64"))))) * sy
            return np.full(ny, dy), np.full(ny, dx)
        if grid.lat is None or grid.lon is None:
            return None
    if grid.kind == "regular":
        return _regular_spacing_km(
            obj.coords[grid.lat].values.astype("float64"),
            obj.coords[grid.lon].values.astype("float64"),
        )
    pairs = np.arange(nx - 1)  # columns whose spacing to the next one is measured
    if grid.kind == "projected" and nx > _PROJECTED_COLUMNS + 1:  # positions from pyproj: a sample of columns
        pairs = np.unique(np.linspace(0, nx - 2, _PROJECTED_COLUMNS).astype(int))
        columns = np.union1d(pairs, pairs + 1)
        obj, pairs = obj.isel({grid.x_dim: columns}), np.searchsorted(columns, pairs)
    lon, lat = lonlat_2d(obj, grid)
    dx = (
        _row_median(_haversine_km(lon[:, pairs], lat[:, pairs], lon[:, pairs + 1], lat[:, pairs + 1]), ny)
        if nx > 1
        else None
    )
    dyp = _haversine_km(lon[:-1], lat[:-1], lon[1:], lat[1:]) if ny > 1 else None
    dy = _row_median(
        np.concatenate([dyp[:1], dyp]) if dyp is not None else np.zeros((ny, 0)), ny
    )
    dx = dy if dx is None else dx
    dy = dx if not np.isfinite(dy).all() else dy
    if not (np.isfinite(dx).all() and np.isfinite(dy).all()):
        return None
    return dy, dx


def _resolve(
    reach: Reach, spacing: tuple[np.ndarray, np.ndarray] | None, name: str
) -> tuple[float, tuple | None]:
    """The reach as (value, spacing) for the kernel: km with per-row spacing, or pixels with None."""
    if reach.auto:
        if spacing is None:
            return AUTO_REACH_PX, None
        typical = float(np.median(np.sqrt(spacing[0] * spacing[1])))
        return max(AUTO_REACH_KM, AUTO_REACH_PX * typical), spacing
    if reach.unit == "px":
        return reach.value, None
    if spacing is None:
        raise InputDataError(
            f"Variable {name!r}: a reach in km needs a grid with distances (lat/lon, or x/y in m or km).",
            fix="Pass max_distance in pixels instead, e.g. max_distance='30 px'.",
            argument="max_distance",
        )
    return reach.value, spacing


def _mask_block(
    observed: np.ndarray,
    land: np.ndarray,
    *,
    reach: float,
    spacing: tuple | None,
    chunks_y: tuple[int, ...],
    depth_y: int,
    block_info: dict | None = None,
) -> np.ndarray:
    """map_overlap kernel: the beyond-reach mask of one block with its halo."""
    if spacing is not None:
        iy = block_info[0]["chunk-location"][-2]
        start = int(sum(chunks_y[:iy])) - (depth_y if iy > 0 else 0)
        rows = slice(start, start + observed.shape[-2])
        spacing = (spacing[0][rows], spacing[1][rows])
    return beyond_reach(observed, reach, spacing, exclude=land)


def _whole_image_task(
    observed: np.ndarray, land: np.ndarray, **kwargs: Any
) -> np.ndarray:
    return beyond_reach(observed, exclude=land, **kwargs)


def unlocated_pixels(work: xr.DataArray, grid: SpatialGrid) -> np.ndarray | None:
    """Pixels of a curvilinear grid with no position (NaN latitude or longitude), (ny, nx) bool; None if every pixel has one.

    A swath's pixels beyond its edge or on a lost scan line often carry no latitude or
    longitude. No distance to the data can be measured from them and they are on no map, so
    the fill leaves them missing (flagged ``not_filled``); an observed value there is kept.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sstfill.xr.grid import find_grid
    >>> lat, lon = np.meshgrid(np.linspace(40, 41, 5), np.linspace(-20, -19, 4), indexing="ij")
    >>> lat[:, -1] = np.nan
    >>> sst = xr.DataArray(np.ones((5, 4)), dims=("y", "x"), coords={"lat": (("y", "x"), lat), "lon": (("y", "x"), lon)})
    >>> int(unlocated_pixels(sst, find_grid(sst)).sum())
    5
    """
    if grid.kind != "curvilinear":
        return None
    lat, lon = (work.coords[c].transpose(*grid.dims).values for c in (grid.lat, grid.lon))
    missing = ~(np.isfinite(lat) & np.isfinite(lon))
    return missing if missing.any() else None


def reach_mask(
    work: xr.DataArray, grid: SpatialGrid, max_distance: Any, land: Any = None
) -> xr.DataArray | None:
    """Gaps of ``work`` (spatial dims last) beyond ``max_distance`` from its observations, or None if unlimited.

    Parameters
    ----------
    work : DataArray (..., y, x), numpy or dask
    grid : SpatialGrid
    max_distance : "auto", None, number (km) or str with units
        See the module's docstring.
    land : bool array broadcastable to ``work``, optional
        Never marked (land is flagged as land).

    Returns
    -------
    Bool DataArray like ``work`` (lazy on dask input; chunk-independent), or None for no limit.

    Examples
    --------
    >>> import sstfill.testing
    >>> from sstfill.xr.grid import find_grid
    >>> sst = sstfill.testing.synthetic_sst(40, 200).where(lambda a: a.lon < a.lon[20])
    >>> beyond = reach_mask(sst, find_grid(sst), "30 px")
    >>> int(beyond.isel(lat=0).sum())  # columns 0-19 observed; 20-49 within reach
    150
    """
    reach = parse_max_distance(max_distance)
    if not reach.limited:
        return None
    name = work.name if work.name is not None else "field"
    spacing = pixel_spacing_km(work, grid) if reach.auto or reach.unit == "km" else None
    value, spacing = _resolve(reach, spacing, name)
    observed = np.isfinite(work.data)
    ny, nx = work.shape[-2:]
    if not hasattr(observed, "dask"):
        land_np = None if land is None else np.asarray(land, dtype=bool)
        return work.copy(
            data=beyond_reach(
                observed, value, spacing, periodic_x=grid.periodic, exclude=land_np
            )
        )
    import dask.array as da

    land_full = (
        da.zeros(observed.shape, dtype=bool, chunks=observed.chunks)
        if land is None
        else da.broadcast_to(da.asarray(land).astype(bool), observed.shape).rechunk(
            observed.chunks
        )
    )
    dy, dx = spacing if spacing is not None else (np.ones(ny), np.ones(ny))
    depth_y, depth_x = (
        reach_halo(value, float(dy.min())),
        reach_halo(value, float(dx.min())),
    )
    chunks_y, chunks_x = observed.chunks[-2:]
    depth_y = depth_y if len(chunks_y) > 1 else 0
    depth_x = depth_x if (len(chunks_x) > 1 or grid.periodic) else 0
    if depth_y > min(chunks_y) or depth_x > min(
        chunks_x
    ):  # the reach is wider than the chunks: whole images per task
        whole = observed.chunks[:-2] + ((ny,), (nx,))
        task = functools.partial(
            _whole_image_task, reach=value, spacing=spacing, periodic_x=grid.periodic
        )
        mask = da.map_blocks(
            task,
            observed.rechunk(whole),
            land_full.rechunk(whole),
            dtype=bool,
            meta=np.array((), dtype=bool),
        )
        return work.copy(data=mask.rechunk(observed.chunks))
    depth = {axis: 0 for axis in range(observed.ndim - 2)}
    depth.update({observed.ndim - 2: depth_y, observed.ndim - 1: depth_x})
    boundary = {axis: "none" for axis in range(observed.ndim)}
    if grid.periodic:
        boundary[observed.ndim - 1] = "periodic"
    kernel = functools.partial(
        _mask_block, reach=value, spacing=spacing, chunks_y=chunks_y, depth_y=depth_y
    )
    mask = da.map_overlap(
        kernel,
        observed,
        land_full,
        depth=depth,
        boundary=boundary,
        trim=True,
        align_arrays=False,
        dtype=bool,
        meta=np.array((), dtype=bool),
    )
    return work.copy(data=mask)
