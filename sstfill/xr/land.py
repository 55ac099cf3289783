"""Land: the pixels of a field that are never filled.

Land (never filled) comes from, in order: a mask the user gives; a CF land/sea mask or
flag variable in the dataset; the 1 km land mask of the ``global-land-mask`` package. In a
series (two or more images), a pixel is land where it is never observed *and* the 1 km mask
puts land within one grid cell of it (the product's own coastline, which is coarser than
1 km), or where it belongs to a never-observed region south of 60S that touches that
coastline (Antarctic ice shelves, which the 1 km mask counts as sea). A never-observed pixel
in open sea is a persistent cloud, not land. Grids without geolocation, for which no land
information exists, take never-observed pixels of a series for land. A cloud is a missing
pixel that is not land.
"""

from __future__ import annotations

from typing import Any

import cf_xarray  # noqa: F401  (registers .cf: CF flag variables)
import numpy as np
import xarray as xr

from sstfill.errors import InputDataError
from sstfill.kernels import landmask
from sstfill.xr import cf
from sstfill.xr.fields import check_decoded, check_known_chunks
from sstfill.xr.grid import SpatialGrid, find_grid, lonlat_2d, with_grid_mapping

__all__ = [
    "find_land",
    "land_from_flags",
    "land_in_cells",
    "never_observed",
    "observation_mask",
]

#: In a series, a never-observed pixel is land when the 1 km land mask has land within this
#: many grid cells of its own cell. Measured on the real products in ``shared/data``: every
#: pixel that MUR L4 (0.01 and 0.1 deg) and ERSST v5 (2 deg, outside Antarctica) mask as land
#: and whose cell holds no land on the 1 km mask lies within one cell of a cell that does.
COASTAL_BAND_CELLS = 1
#: South of this latitude, never-observed regions touching the coastal band are land too:
#: the 1 km mask counts the Antarctic ice shelves as sea (ERSST masks 67 such 2-deg cells,
#: up to 3 cells from the mask's coast).
ICE_SHELF_LATITUDE = -60.0
#: At most this many sample points per cell side when the 1 km mask is read over a cell
#: (2, 4 and 8 all find the product land above; 4 keeps a margin for small islands at a
#: quarter of the cost of 8).
MAX_SAMPLES_PER_CELL_SIDE = 4
_LAND_NAMES = ("land_binary_mask", "land_area_fraction")
_SEA_NAMES = ("sea_binary_mask", "sea_area_fraction")


def land_from_flags(var: xr.DataArray) -> xr.DataArray | None:
    """Land (bool) from a CF mask or flag variable, or None if it does not describe land.

    Understands ``standard_name`` land/sea binary masks and area fractions (land where the
    land fraction is >= 0.5), and flag variables whose ``flag_meanings`` include ``land``
    (with ``flag_values`` or ``flag_masks``, or both), decoded by cf-xarray (``var.cf == "land"``).
    Missing values of a ``flag_masks`` variable are no flag (not land).

    Raises
    ------
    InputDataError
        If ``flag_meanings`` and ``flag_values``/``flag_masks`` differ in length.

    Examples
    --------
    >>> flags = xr.DataArray(np.array([[1, 2], [2, 1]], "int8"), dims=("y", "x"),
    ...     attrs={"flag_masks": [1, 2], "flag_meanings": "water land"})
    >>> land_from_flags(flags).values.tolist()
    [[False, True], [True, False]]
    """
    std = var.attrs.get("standard_name", "")
    if std in _LAND_NAMES:
        return var.fillna(0) >= 0.5
    if std in _SEA_NAMES:
        return var.fillna(1) < 0.5
    meanings = str(var.attrs.get("flag_meanings", "")).split()
    lists = {key: np.atleast_1d(var.attrs[key]).tolist() for key in ("flag_values", "flag_masks") if key in var.attrs}
    if "land" not in meanings or not lists:
        return None
    # cf-xarray wants lists (a file's one-flag attribute is read as a scalar) and one space
    # between meanings; NaN would be cast to an integer for the bitwise test
    flags = (var.fillna(0) if "flag_masks" in lists else var).assign_attrs(flag_meanings=" ".join(meanings), **lists)
    try:
        land = flags.cf == "land"
    except ValueError as err:  # cf-xarray: not as many meanings as values or masks
        raise InputDataError(f"Flag variable {var.name!r} cannot be decoded: {err}") from err
    return land.assign_attrs(var.attrs)  # the variable's own attributes, as comparisons keep them


def _land_from_dataset(obj: xr.DataArray, grid: SpatialGrid, dataset: xr.Dataset | None) -> xr.DataArray | None:
    candidates = list(obj.coords.values())
    if dataset is not None:
        candidates += [dataset[v] for v in dataset.data_vars if v != obj.name]
    for var in candidates:
        if set(grid.dims) <= set(var.dims) and set(var.dims) <= set(obj.dims):
            land = land_from_flags(var)
            if land is not None:
                extra = [d for d in land.dims if d not in grid.dims]
                return land.all(extra) if extra else land
    return None


def find_land(
    obj: xr.DataArray,
    grid: SpatialGrid,
    land: Any = "auto",
    dataset: xr.Dataset | None = None,
) -> xr.DataArray | None:
    """Land mask (True = land) over the spatial dims of ``obj``, lazily; None if no land.

    Parameters
    ----------
    obj : DataArray
        The field.
    grid : SpatialGrid
        Its grid, from :func:`sstfill.xr.grid.find_grid`.
    land : "auto", None/False, str, DataArray or array
        ``"auto"`` searches as described in the module docstring; a string names a
        variable of ``dataset`` (or a coordinate of ``obj``); arrays are used as given.
    dataset : Dataset, optional
        Where ``obj`` came from, to look for a mask variable.
    """
    name = obj.name or "<unnamed>"
    if land is None or land is False:
        return None
    if isinstance(land, str) and land != "auto":
        source = dataset if dataset is not None and land in dataset.variables else obj.coords
        if land not in source:
            raise InputDataError(
                f"Land mask {land!r} for variable {name!r} is neither a variable of the dataset nor a "
                f"coordinate. Pass the mask itself (land=ds['mask']) or one of {sorted(map(str, source))}."
            )
        return _given_land(source[land], obj, grid, name, f"Land mask {land!r}")
    if isinstance(land, str):  # "auto"
        found = _land_from_dataset(obj, grid, dataset)
        if found is not None:
            return found.rename("land")
        other = [d for d in obj.dims if d not in grid.dims]
        series = bool(other) and int(np.prod([obj.sizes[d] for d in other])) >= 2
        lonlat = _geolocation(obj, grid)
        if lonlat is None:  # no land information at all: what a series never shows is land
            return never_observed(obj, grid).rename("land") if series else None
        if not series:
            return _land_from_package(obj, grid, lonlat)
        return _coastal_never_observed(obj, grid, lonlat)
    arr = land if isinstance(land, xr.DataArray) else xr.DataArray(np.asarray(land), dims=grid.dims)
    return _given_land(arr, obj, grid, name, "Land mask")


def _given_land(arr: xr.DataArray, obj: xr.DataArray, grid: SpatialGrid, name: str, what: str) -> xr.DataArray:
    """The mask a user gave (an array, or a variable by name) as land (bool) on ``obj``'s grid.

    A CF flag or land/sea mask variable is decoded by its attributes (:func:`land_from_flags`);
    otherwise non-zero is land and NaN is not (a mask of 1 = land and NaN = sea, as by name).
    Its dims must be the grid's, and others of the field's only (a time-varying mask).
    """
    if arr.dtype.kind not in "biuf":
        raise InputDataError(f"{what} for variable {name!r} must be boolean (True = land), got dtype {arr.dtype}.")
    missing = [d for d in grid.dims if d not in arr.dims]
    if missing or any(arr.sizes[d] != obj.sizes[d] for d in grid.dims):
        raise InputDataError(
            f"{what} for variable {name!r} must cover its grid {grid.dims} with sizes "
            f"{tuple(obj.sizes[d] for d in grid.dims)}; got dims {arr.dims} and shape {arr.shape}."
        )
    extra = [d for d in arr.dims if d not in obj.dims or arr.sizes[d] != obj.sizes[d]]
    if extra:
        raise InputDataError(
            f"{what} for variable {name!r} has dims {extra} that the field {obj.dims} does not have "
            f"(or not with the same sizes: {dict(arr.sizes)} against {dict(obj.sizes)}). Pass one mask for the grid, "
            f"e.g. land=mask.any({extra[0]!r}) (land wherever any of them is land) or land=mask.isel({extra[0]}=0)."
        )
    found = land_from_flags(arr)
    land = found if found is not None else arr.fillna(0) if arr.dtype.kind == "f" else arr
    return _on_field_coords(land, obj, name).astype(bool).rename("land")


def _on_field_coords(mask: xr.DataArray, obj: xr.DataArray, name: str) -> xr.DataArray:
    """``mask`` on ``obj``'s coordinates wherever both have them: the nearest within half a step.

    A mask read from another file may store its latitudes the other way round, or hold the
    same coordinates in float64 where the field has float32: used position by position it
    would put land in the wrong place. A dim without an index coordinate on either side is
    taken position by position. Lazy masks stay lazy (only the coordinates are compared).
    """
    for dim in mask.dims:
        if dim not in obj.dims or dim not in mask.indexes or dim not in obj.indexes:
            continue
        target, given = obj.indexes[dim], mask.indexes[dim]
        if target.equals(given):
            continue
        numeric = np.issubdtype(target.dtype, np.number) and np.issubdtype(given.dtype, np.number)
        step = float(np.median(np.abs(np.diff(np.asarray(target, dtype="float64"))))) if numeric and len(target) > 1 else 0.0
        positions = xr.DataArray(np.arange(len(given), dtype="float64"), dims=dim, coords={dim: given})
        try:
            positions = positions.reindex({dim: target}, method="nearest" if numeric else None, tolerance=0.5 * step if numeric else None)
        except (ValueError, TypeError, KeyError) as err:  # e.g. a coordinate that is not monotonic
            positions = None
            reason = str(err)
        if positions is None or bool(positions.isnull().any()):
            reason = "some of the field's values have no match" if positions is not None else reason
            raise InputDataError(
                f"Land mask for variable {name!r}: its {dim!r} coordinate does not match the field's "
                f"({dim} {given.min()}..{given.max()} against {target.min()}..{target.max()}: {reason}). "
                f"Pass a mask on the field's grid (e.g. land=mask.reindex_like(field, method='nearest')) or a plain array."
            )
        mask = mask.isel({dim: positions.values.astype(int)}).assign_coords({dim: target})
    return mask


def never_observed(obj: xr.DataArray, grid: SpatialGrid) -> xr.DataArray:
    """True where ``obj`` has no finite value along all its non-spatial dims (lazy on dask).

    On dask the reduction reads the data through its own copy of the graph
    (:func:`dask.graph_manipulation.clone`): sharing the fill's reads would make dask hold
    every chunk of the series in memory until the fill uses it (a 2.4 GB archive on a worker
    with 720 MB spilled to disk); with its own reads it streams, at the cost of reading the
    data twice. Not for a rechunked array: dask 2026.8 cannot build the graph of a clone of
    a rechunk once it is wrapped in a delayed write (``to_netcdf(compute=False)``: "Cannot
    fuse tasks with multiple outputs"), so that one shares the reads (``sstfill fill`` opens
    its inputs in their final chunks, without a rechunk).
    """
    other = [d for d in obj.dims if d not in grid.dims]
    if not other:
        return ~np.isfinite(obj)
    if hasattr(obj.data, "dask") and not any(str(name).startswith("rechunk-") for name in obj.data.dask.layers):
        from dask.graph_manipulation import clone

        obj = obj.copy(data=clone(obj.data))
    return (~np.isfinite(obj)).all(other)


def _geolocation(obj: xr.DataArray, grid: SpatialGrid) -> tuple[np.ndarray, np.ndarray] | None:
    """(lon, lat) of every pixel, or None for grids without geolocation."""
    if grid.lat is None and grid.crs_wkt is None:
        return None
    return lonlat_2d(obj, grid)


def _spatial_coords(obj: xr.DataArray, grid: SpatialGrid) -> dict[str, Any]:
    return {c: obj.coords[c] for c in (grid.y_dim, grid.x_dim) if c in obj.coords}


def _land_from_package(obj: xr.DataArray, grid: SpatialGrid, lonlat: tuple[np.ndarray, np.ndarray]) -> xr.DataArray:
    """Single image: land where the ``global-land-mask`` package (1 km) has land at the pixel centre."""
    lon, lat = lonlat
    flags = _is_land(np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64"))
    return xr.DataArray(flags, dims=grid.dims, coords=_spatial_coords(obj, grid), name="land")


def land_in_cells(lon: np.ndarray, lat: np.ndarray, max_samples: int = MAX_SAMPLES_PER_CELL_SIDE) -> np.ndarray:
    """True where any part of a pixel's cell is land on the 1 km ``global-land-mask``.

    Each cell (half the distance to the neighbouring pixel centres on every side) is read
    at up to ``max_samples`` x ``max_samples`` points (one per kilometre for cells below 4 km).

    Examples
    --------
    >>> lon, lat = np.meshgrid([-5.6, -5.0], [35.8])  # Strait of Gibraltar; open Alboran Sea
    >>> land_in_cells(lon, lat).tolist()
    [[True, False]]
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")

    def half_steps(values: np.ndarray, axis: int, wrap: bool) -> np.ndarray:
        """Half the (centred) distance to the neighbouring pixel centres along ``axis``."""
        if values.shape[axis] < 2:
            return np.zeros_like(values)
        diff = np.diff(values, axis=axis)
        if wrap:  # across the dateline
            diff = (diff + 180.0) % 360.0 - 180.0
        first = np.take(diff, [0], axis=axis)
        last = np.take(diff, [-1], axis=axis)
        padded = np.concatenate([first, diff, last], axis=axis)
        n = padded.shape[axis]
        centred = (np.take(padded, range(0, n - 1), axis=axis) + np.take(padded, range(1, n), axis=axis)) / 2.0
        return centred / 2.0

    # next to a pixel without geolocation (NaN: outside a swath) the cell shrinks to its centre
    lon_y, lon_x = (np.nan_to_num(half_steps(lon, axis, True)) for axis in (0, 1))
    lat_y, lat_x = (np.nan_to_num(half_steps(lat, axis, False)) for axis in (0, 1))
    cell_km = 111.2 * float(np.nanmax(np.hypot(np.hypot(lat_y, lat_x), np.hypot(lon_y, lon_x) * np.cos(np.radians(lat))) * 2, initial=0.0))
    n = int(min(max_samples, max(1, np.ceil(cell_km))))
    offsets = (np.arange(n) + 0.5) / n * 2.0 - 1.0  # -1..1 across the cell
    out = np.zeros(lon.shape, dtype=bool)
    for a in offsets:
        for b in offsets:
            out |= _is_land(lat + a * lat_y + b * lat_x, lon + a * lon_y + b * lon_x)
    return out


def _is_land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The 1 km mask's land (:func:`sstfill.kernels.landmask.is_land`, read bit-packed: 0.1 GB, not the package's 0.9 GB) at every point with a finite position; False (no land known) where lat or lon is NaN."""
    out = np.zeros(np.shape(lat), dtype=bool)
    where = np.isfinite(lat) & np.isfinite(lon)
    if where.any():
        out[where] = landmask.is_land(np.clip(lat[where], -90.0, 90.0), (lon[where] + 180.0) % 360.0 - 180.0)
    return out


def _grow(mask: np.ndarray, cells: int, periodic_x: bool) -> np.ndarray:
    """``mask`` grown by ``cells`` in every direction (8 neighbours), wrapping x if periodic."""
    from scipy import ndimage

    if cells <= 0:
        return mask
    pad = ((0, 0), (cells, cells)) if periodic_x else ((0, 0), (0, 0))
    grown = ndimage.binary_dilation(np.pad(mask, pad, mode="wrap"), structure=np.ones((3, 3), bool), iterations=cells)
    return grown[:, cells:-cells] if periodic_x else grown


def _ice_shelves(never: np.ndarray, coast: np.ndarray, south: np.ndarray) -> np.ndarray:
    """Never-observed regions south of :data:`ICE_SHELF_LATITUDE` that touch ``coast``."""
    from scipy import ndimage

    candidates = never & south
    if not candidates.any():
        return candidates
    labels, _ = ndimage.label(candidates, structure=np.ones((3, 3), bool))
    touching = np.unique(labels[candidates & coast])
    return np.isin(labels, touching[touching > 0])


def _coastal_never_observed(obj: xr.DataArray, grid: SpatialGrid, lonlat: tuple[np.ndarray, np.ndarray]) -> xr.DataArray:
    """Series: never observed and next to the 1 km mask's land (or an Antarctic ice shelf); lazy."""
    lon, lat = lonlat
    coast = _grow(land_in_cells(lon, lat), COASTAL_BAND_CELLS, grid.periodic)
    coast_da = xr.DataArray(coast, dims=grid.dims, coords=_spatial_coords(obj, grid))
    never = never_observed(obj, grid).transpose(*grid.dims)
    land = never & coast_da
    south = lat < ICE_SHELF_LATITUDE
    if south.any():
        if hasattr(never.data, "dask"):
            never = never.chunk({d: -1 for d in grid.dims})
        shelves = xr.apply_ufunc(
            _ice_shelves,
            never,
            kwargs={"coast": coast, "south": south},
            dask="parallelized",
            output_dtypes=[bool],
        )
        land = land | shelves
    return land.rename("land")


def observation_mask(da: xr.DataArray, land: Any, dataset: xr.Dataset | None) -> xr.DataArray:
    """Flags per pixel of ``da``: 0 observed, 1 cloud, 2 land; land is also looked for in ``dataset``, if given.

    ``da`` must be a decoded float field (:func:`~sstfill.xr.fields.check_decoded`): packed
    integers, or a float still carrying its fill value, would read as observed everywhere.
    """
    check_known_chunks(da)
    check_decoded(da)
    located = with_grid_mapping(da, dataset)[0]  # a projected field's CRS may be a data variable of the dataset
    land_da = find_land(located, find_grid(located), land, dataset)
    missing = ~np.isfinite(da)  # +-inf is missing data too
    codes = xr.where(missing, 1, 0)
    if land_da is not None:
        codes = xr.where(missing & land_da, 2, codes)
    codes = codes.transpose(*da.dims)
    out = cf.flag_variable(codes, cf.MASK_FLAGS, f"observation mask of {da.name or 'field'}", da, cf.MASK_FLAG_COMMENT)
    return out.rename(f"{da.name or 'field'}_mask")
