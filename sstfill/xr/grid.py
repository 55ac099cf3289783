"""Find the horizontal grid of a field: latitude/longitude or projected x/y, CF first.

Everything downstream works in index space on the two spatial dimensions found here, so
descending latitude, 0..360 or -180..180 longitudes, curvilinear and projected grids all
tile the same way. Only periodicity (a global grid wraps in longitude) changes the tiling.
:func:`canonical_orientation` puts a field in one orientation before it is filled
(coordinates increasing, :func:`canonical_flips`; a longitude grid rolled to start at 0 degrees E
if global, or to be one region if it is one stored across its seam), so a mirrored or
rolled copy of a field is filled the same, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cf_xarray  # noqa: F401  (registers .cf)
import numpy as np
import pyproj
import xarray as xr

from sstfill.errors import GridError

__all__ = ["SpatialGrid", "Orientation", "find_grid", "with_grid_mapping", "missing_grid_mappings", "with_coordinates_in_memory", "lonlat_2d", "metres_per_unit", "canonical_flips", "canonical_orientation", "flip_yx"]

_LAT_NAMES = ("lat", "latitude", "nav_lat", "lat_rho", "LAT", "Latitude", "XLAT", "yc")
_LON_NAMES = ("lon", "longitude", "nav_lon", "lon_rho", "LON", "Longitude", "XLONG", "xc")
_Y_NAMES = ("y", "Y", "projection_y_coordinate", "rlat")
_X_NAMES = ("x", "X", "projection_x_coordinate", "rlon")


@dataclass(frozen=True)
class SpatialGrid:
    """The horizontal grid of a field.

    Attributes
    ----------
    y_dim, x_dim : str
        Names of the row and column dimensions (tiled in index space).
    lat, lon : str or None
        Names of the latitude/longitude coordinates, if any (1-D or 2-D).
    kind : {"regular", "curvilinear", "projected"}
        Regular: 1-D lat/lon; curvilinear: 2-D lat/lon (swaths, ocean-model grids);
        projected: x/y with a CF ``grid_mapping``.
    periodic : bool
        True for a global grid whose longitude wraps around (tiles cross the dateline).
    crs_wkt : str or None
        The grid mapping's CRS (WKT) for projected grids.
    """

    y_dim: str
    x_dim: str
    lat: str | None = None
    lon: str | None = None
    kind: str = "regular"
    periodic: bool = False
    crs_wkt: str | None = None

    @property
    def dims(self) -> tuple[str, str]:
        return (self.y_dim, self.x_dim)


def _cf_names(obj: xr.DataArray, key: str, table: str) -> list[str]:
    """Names that cf-xarray identifies for ``key`` in ``obj.cf.<table>``, else []."""
    try:
        found = getattr(obj.cf, table).get(key, [])
    except Exception:  # odd attributes confuse cf-xarray (a numeric `coordinates`: AttributeError): use names
        found = []
    return [name for name in found if name in obj.coords]


def _first(obj: xr.DataArray, cf_key: str, table: str, names: tuple[str, ...]) -> str | None:
    for name in _cf_names(obj, cf_key, table):
        return name
    for name in names:
        if name in obj.coords:
            return name
    return None


def _is_periodic(lon: np.ndarray) -> bool:
    """Whether 1-D longitudes are evenly spaced and span the whole circle.

    Steps are taken modulo 360, so a global grid relabelled without sorting (``lon % 360`` of
    a -180..180 grid: 180..358, 0..178) wraps like the sorted one.
    """
    if lon.size < 3:
        return False
    step = (np.diff(lon.astype("float64")) + 180.0) % 360.0 - 180.0
    if not np.allclose(step, step[0], rtol=1e-3, atol=1e-6) or step[0] == 0:
        return False
    return bool(np.isclose(abs(step[0]) * lon.size, 360.0, rtol=1e-3))


def _grid_mapping_wkt(obj: xr.DataArray, mapping: str, xy: tuple[str, str]) -> str | None:
    """CRS (WKT) of the CF ``grid_mapping`` of ``obj``, or None if its variable is not a coordinate.

    cf-xarray parses the attribute (one variable, or several with their coordinates) and
    builds the CRS with :meth:`pyproj.CRS.from_cf`; with several, the one whose coordinates
    are ``xy`` is taken, else the first.
    """
    name = obj.name if obj.name is not None else "<unnamed>"
    try:  # cf-xarray reads a DataArray's grid_mapping from attrs only; xarray may keep it in encoding
        mappings = obj.assign_attrs(grid_mapping=mapping).cf.grid_mappings
    except Exception as err:
        raise GridError(
            f"Variable {name!r}: grid_mapping {mapping!r} could not be read by pyproj "
            f"({err}). Fix its CF attributes or drop it: da.drop_vars({mapping!r})."
        ) from err
    found = [m for m in mappings if m.array.name in obj.coords]
    chosen = next((m for m in found if all(c in m.coordinates for c in xy)), found[0] if found else None)
    return None if chosen is None else chosen.crs.to_wkt()


def _northward_share(lat: np.ndarray, lon: np.ndarray, axis: int) -> float:
    """Median share (0..1) of the northward component in the steps between neighbouring pixels along ``axis`` of ``lat``/``lon``."""
    dlat = np.diff(lat, axis=axis)
    dlon = (np.diff(lon, axis=axis) + 180.0) % 360.0 - 180.0
    east = dlon * np.cos(np.radians(np.take(lat, range(lat.shape[axis] - 1), axis=axis)))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.abs(dlat) / np.hypot(dlat, east)
    share = share[np.isfinite(share)]
    return float(np.median(share)) if share.size else np.nan


def _curvilinear_dims(obj: xr.DataArray, lat_c: xr.DataArray, lon_c: xr.DataArray) -> tuple[str, str]:
    """(y, x) dims of a curvilinear grid: y is the dim along which the 2-D latitude/longitude run more north-south.

    Told by geography, not by the order of the dims, so a field and its transpose (``(ni, nj)``
    instead of ``(nj, ni)``) are tiled the same way; where the two dims cannot be told apart
    (a grid turned by 45 degrees, no finite position) the field's own order is kept. Read
    from at most about 256 lines of each direction.
    """
    dims = tuple(d for d in obj.dims if d in lat_c.dims)
    lat = lat_c.transpose(*dims)
    lon = lon_c.transpose(*dims)
    shares = []
    for axis in (0, 1):
        other = 1 - axis
        step = max(1, lat.shape[other] // 256)
        lines = {dims[other]: slice(None, None, step)}
        sample_lat = np.asarray(lat.isel(lines).values, dtype="float64")
        sample_lon = np.asarray(lon.isel(lines).values, dtype="float64")
        shares.append(_northward_share(sample_lat, sample_lon, axis))
    if np.isfinite(shares).all() and shares[1] > shares[0]:
        return dims[1], dims[0]
    return dims[0], dims[1]


def _check_latitudes(name: Any, lat: str, lon: str, values: np.ndarray) -> None:
    """Raise :class:`GridError` if latitudes lie beyond +-90 degrees (swapped with the longitudes, or not latitudes).

    Distances in km, the reach and the land mask would otherwise be computed from them silently.
    """
    finite = np.abs(values[np.isfinite(values)])
    if finite.size and finite.max() > 90.0 + 1e-6:
        raise GridError(
            f"Variable {name!r}: its latitude coordinate {lat!r} reaches {finite.max():g} degrees, beyond +-90: "
            f"latitude and longitude may be swapped ({lon!r} is taken as the longitude), or {lat!r} is no latitude.",
            fix=f"Check da[{lat!r}] and da[{lon!r}]; rename them (da.rename(...)) or set their standard_name attributes to 'latitude' and 'longitude'.",
        )


def _no_lonlat_grid(obj: xr.DataArray, lat: str, lon: str) -> GridError:
    """The error for a latitude and a longitude that make no grid (a stack of swaths: dims (time, nj, ni)), saying why from their dims."""
    name = obj.name if obj.name is not None else "<unnamed>"
    lat_dims, lon_dims = obj.coords[lat].dims, obj.coords[lon].dims
    extra = [d for d in dict.fromkeys(lat_dims + lon_dims) if d not in obj.dims[-2:]]
    why = f", and they change along {extra[0]!r} (a stack of swaths, each on its own grid)." if extra else "."
    fix = (f"Fill one {extra[0]!r} step at a time, e.g. da.isel({extra[0]}=0).inpaint.fill(...), or regrid the steps to one grid first."
           if extra else "Give the field latitude/longitude of those shapes: da.assign_coords(lat=..., lon=...).")
    return GridError(
        f"Variable {name!r}: its latitude {lat!r} {lat_dims} and longitude {lon!r} {lon_dims} make no grid sstfill can tile: "
        f"it needs them 1-D, one along each of two dimensions, or both 2-D on the same two (a curvilinear grid){why}",
        fix=fix,
        argument="swath_steps" if extra else None,
    )


def find_grid(obj: xr.DataArray) -> SpatialGrid:
    """Identify the two spatial dimensions of ``obj``.

    Latitude and longitude are looked up through cf-xarray (``standard_name``, ``units``,
    ``axis``), then by common names; without them, projected ``x``/``y`` with a CF
    ``grid_mapping`` are used. On a curvilinear grid (2-D latitude/longitude) y is the
    dim along which the grid runs more north-south, whatever the order of the field's dims.

    Examples
    --------
    >>> import sstfill.testing
    >>> g = find_grid(sstfill.testing.synthetic_sst(ny=32, nx=48))
    >>> g.dims, g.kind, g.periodic
    (('lat', 'lon'), 'regular', False)
    """
    name = obj.name if obj.name is not None else "<unnamed>"
    lat = _first(obj, "latitude", "coordinates", _LAT_NAMES)
    lon = _first(obj, "longitude", "coordinates", _LON_NAMES)
    if lat is not None and lon is not None:
        lat_c, lon_c = obj.coords[lat], obj.coords[lon]
        if lat_c.ndim == 1 and lon_c.ndim == 1 and lat_c.dims != lon_c.dims:
            _check_latitudes(name, lat, lon, np.asarray(lat_c.values, dtype="float64"))
            periodic = _is_periodic(np.asarray(lon_c.values))
            return SpatialGrid(lat_c.dims[0], lon_c.dims[0], lat, lon, "regular", periodic)
        if lat_c.ndim == 2 and lat_c.dims == lon_c.dims:
            ydim, xdim = _curvilinear_dims(obj, lat_c, lon_c)
            return SpatialGrid(ydim, xdim, lat, lon, "curvilinear", False)
    x = _first(obj, "X", "axes", _X_NAMES)
    y = _first(obj, "Y", "axes", _Y_NAMES)
    mapping = obj.attrs.get("grid_mapping") or obj.encoding.get("grid_mapping")
    if x is not None and y is not None and obj.coords[x].ndim == 1 and obj.coords[y].ndim == 1:
        crs_wkt = None if mapping is None else _grid_mapping_wkt(obj, mapping, (x, y))
        if crs_wkt is not None or (lat is None and lon is None and mapping is not None):
            return SpatialGrid(obj.coords[y].dims[0], obj.coords[x].dims[0], lat, lon, "projected", False, crs_wkt)
    if lat is not None and lon is not None:
        raise _no_lonlat_grid(obj, lat, lon)
    raise GridError(
        f"Variable {name!r} (dims {tuple(obj.dims)}) has no latitude/longitude coordinates "
        "that sstfill can find, nor projected x/y with a CF grid_mapping. Name them 'lat'/'lon' "
        "or give them CF attributes, e.g. da['my_lat'].attrs['standard_name'] = 'latitude' "
        "(and 'longitude'), or assign them: da.assign_coords(lat=..., lon=...)."
    )


def with_grid_mapping(obj: xr.DataArray, dataset: xr.Dataset | None) -> tuple[xr.DataArray, list[str]]:
    """``obj`` with the CF ``grid_mapping`` variables it names and lacks taken from ``dataset`` as coordinates, and their names.

    xarray's default ``open_dataset`` (``decode_coords=True``) keeps a grid mapping variable
    as a data variable of the dataset, so ``ds[var]`` alone has no CRS: a projected field
    would be located nowhere (no land by position, distances on the map). The names added
    are returned so that an output can drop them again.

    Examples
    --------
    >>> ds = xr.Dataset({"sst": (("y", "x"), np.zeros((2, 2)), {"grid_mapping": "crs: x y"}), "crs": ((), 0)})
    >>> located, added = with_grid_mapping(ds["sst"], ds)
    >>> added, "crs" in located.coords
    (['crs'], True)
    """
    if dataset is None:
        return obj, []
    added = [n for n in missing_grid_mappings(obj) if n in dataset.variables and set(dataset[n].dims) <= set(obj.dims)]
    return (obj.assign_coords({n: dataset.variables[n] for n in added}) if added else obj), added


def with_coordinates_in_memory(obj: xr.DataArray) -> xr.DataArray:
    """``obj`` with its 1-D or 2-D latitude and longitude coordinates read into memory when they are dask arrays.

    A swath opened with ``chunks=`` has lazy 2-D coordinates, and finding the grid, its
    orientation, the reach and the neighbouring days' blend each read them again (10 reads
    of every coordinate chunk while a fill was built); read once here, the fill reads them
    from memory. ``obj`` itself is left as it is.

    Examples
    --------
    >>> import dask.array as dsa
    >>> lat = xr.DataArray(dsa.from_array(np.ones((2, 3)), chunks=1), dims=("nj", "ni"))
    >>> swath = xr.DataArray(np.zeros((2, 3)), dims=("nj", "ni"), coords={"lat": lat, "lon": lat + 1})
    >>> [type(with_coordinates_in_memory(swath)[c].data).__name__ for c in ("lat", "lon")], type(swath["lat"].data).__name__
    (['ndarray', 'ndarray'], 'Array')
    """
    names = [_first(obj, "latitude", "coordinates", _LAT_NAMES), _first(obj, "longitude", "coordinates", _LON_NAMES)]
    lazy = [n for n in names if n is not None and obj.coords[n].ndim <= 2 and obj.coords[n].chunks is not None]
    if not lazy:
        return obj
    import dask

    loaded = dask.compute(*[obj.coords[n].variable for n in lazy])  # the variables: a coordinate's DataArray carries the other one too
    return obj.assign_coords(dict(zip(lazy, loaded)))


def missing_grid_mappings(obj: xr.DataArray) -> list[str]:
    """The CF ``grid_mapping`` variables ``obj`` names (attribute or encoding) and does not carry as coordinates.

    Examples
    --------
    >>> sst = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), attrs={"grid_mapping": "crs: x y"})
    >>> missing_grid_mappings(sst), missing_grid_mappings(sst.assign_coords(crs=0))
    (['crs'], [])
    """
    text = str(obj.attrs.get("grid_mapping") or obj.encoding.get("grid_mapping") or "")
    tokens = text.split()
    names = [t[:-1] for t in tokens if t.endswith(":")] or tokens[:1]  # "crs", or "crs: x y other: lat lon"
    return [n for n in names if n not in obj.coords]


#: Length units of projection coordinates (their ``units`` attribute, UDUNITS spellings), in metres.
_METRES_PER_UNIT = {
    **dict.fromkeys(("m", "metre", "meter", "metres", "meters"), 1.0),
    **dict.fromkeys(("km", "kilometre", "kilometer", "kilometres", "kilometers"), 1000.0),
}


def metres_per_unit(coord: xr.DataArray) -> float | None:
    """Metres per unit of a projection coordinate, from its ``units`` (None: not a length unit sstfill knows).

    Examples
    --------
    >>> metres_per_unit(xr.DataArray([0.0, 5.0], attrs={"units": "kilometers"}))
    1000.0
    """
    return _METRES_PER_UNIT.get(str(coord.attrs.get("units", "")).strip().lower())


def lonlat_2d(obj: xr.DataArray, grid: SpatialGrid) -> tuple[np.ndarray, np.ndarray]:
    """Longitude (-180..180) and latitude of every pixel, as two (ny, nx) arrays.

    Projected grids are converted with pyproj from their ``grid_mapping``; x and y in
    metres or kilometres (their ``units``) are converted to the projection's own unit
    (without ``units`` they are taken in it).
    """
    if grid.kind == "projected" and grid.crs_wkt is not None and (grid.lat is None or grid.lon is None):
        crs = pyproj.CRS.from_wkt(grid.crs_wkt)
        crs_metres = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        xs, ys = obj.coords[grid.x_dim], obj.coords[grid.y_dim]
        xv, yv = (c.values.astype("float64") * (metres_per_unit(c) or crs_metres) / crs_metres for c in (xs, ys))
        xx, yy = np.meshgrid(xv, yv)
        to_lonlat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        lon, lat = to_lonlat.transform(xx, yy)
    else:
        lat_c = obj.coords[grid.lat]
        lon_c = obj.coords[grid.lon]
        if lat_c.ndim == 1:
            lon, lat = np.meshgrid(lon_c.values, lat_c.values)
        else:
            lat = lat_c.transpose(grid.y_dim, grid.x_dim).values
            lon = lon_c.transpose(grid.y_dim, grid.x_dim).values
    lon = (np.asarray(lon, dtype="float64") + 180.0) % 360.0 - 180.0
    return lon, np.asarray(lat, dtype="float64")


def _median_step(values: np.ndarray, axis: int, longitude: bool) -> float:
    """Median of the finite steps of ``values`` along ``axis`` (longitudes wrapped to +-180)."""
    step = np.diff(np.asarray(values, dtype="float64"), axis=axis)
    if longitude:
        step = (step + 180.0) % 360.0 - 180.0
    step = step[np.isfinite(step)]
    return float(np.median(step)) if step.size else 0.0


def canonical_flips(obj: xr.DataArray, grid: SpatialGrid) -> tuple[bool, bool]:
    """Whether to reverse the y and the x dimension of ``obj`` to fill it in canonical order.

    A fill runs on the field with both spatial coordinates increasing along their
    dimensions, so a field and its mirror image (e.g. latitude north-to-south and
    south-to-north) are filled the same, bit for bit. Each dimension is ordered by its
    1-D coordinate if it has one (the dimension coordinate, else latitude for y and
    longitude for x, else another 1-D numeric coordinate on it); on curvilinear grids by
    2-D latitude along y and 2-D longitude along x. Longitude steps are taken modulo 360
    (a grid across the dateline is increasing). The direction is the sign of the median
    step; a dimension with no coordinate, or a median step of 0, keeps its index order.

    Examples
    --------
    >>> import sstfill.testing
    >>> da = sstfill.testing.synthetic_sst(8, 10)
    >>> canonical_flips(da, find_grid(da)), canonical_flips(da.isel(lat=slice(None, None, -1)), find_grid(da))
    ((False, False), (True, False))
    """
    flips = []
    for axis, (dim, named) in enumerate(((grid.y_dim, grid.lat), (grid.x_dim, grid.lon))):
        longitude = axis == 1
        step = 0.0
        if obj.sizes.get(dim, 1) > 1:
            candidates = [dim, named] + [str(c) for c in obj.coords]
            one_d = [c for c in candidates if c is not None and c in obj.coords and obj.coords[c].dims == (dim,) and obj.coords[c].dtype.kind in "fiu"]
            if one_d:
                step = _median_step(obj.coords[one_d[0]].values, 0, longitude and one_d[0] == grid.lon)
            elif named is not None and named in obj.coords and obj.coords[named].ndim == 2 and dim in obj.coords[named].dims:
                coord = obj.coords[named]
                step = _median_step(coord.values, coord.dims.index(dim), longitude)
        flips.append(step < 0)
    return flips[0], flips[1]


def _canonical_roll(obj: xr.DataArray, grid: SpatialGrid, flip_x: bool) -> int:
    """Columns to roll the (flipped) x axis left so that a longitude grid starts where it should.

    Periodic: at the column with longitude in [-step/4, 3 step/4) modulo 360 (0 degrees E,
    or just east of it), so a global grid stored 0..360 and -180..180 is tiled alike. A
    regional grid whose longitudes, taken modulo 360 and read as a circle, are increasing
    with the widest gap between two columns inside the array (a region across 0 degrees E
    subset from a 0..360 product and sorted: 0..10 then 350..360) is rolled so that the
    gap is at the array's edge and the region is contiguous. Otherwise 0.
    """
    if grid.kind != "regular" or grid.lon is None or obj.coords[grid.lon].dims != (grid.x_dim,) or obj.sizes[grid.x_dim] < 3:
        return 0
    lon = np.asarray(obj.coords[grid.lon].values, dtype="float64")[:: -1 if flip_x else 1]
    if not np.isfinite(lon).all() or _median_step(lon, 0, True) <= 0:
        return 0
    gaps = (np.roll(lon, -1) - lon) % 360.0  # eastward from each column to the next, the last to the first
    if grid.periodic:
        return int(np.argmin((lon + float(np.median(gaps)) / 4.0) % 360.0))
    widest = int(np.argmax(gaps))
    return 0 if widest == lon.size - 1 or gaps[widest] <= 2.0 * float(np.median(gaps)) else widest + 1


def _check_monotonic(obj: xr.DataArray, grid: SpatialGrid, orientation: Orientation) -> None:
    """Raise :class:`GridError` if a 1-D latitude or longitude of ``obj`` goes back and forth (longitude: once rolled)."""
    name = obj.name if obj.name is not None else "<unnamed>"
    for coord, dim, longitude in ((grid.lat, grid.y_dim, False), (grid.lon, grid.x_dim, True)):
        if coord is None or obj.coords[coord].dims != (dim,):
            continue
        values = np.asarray(obj.coords[coord].values, dtype="float64")
        if longitude:
            values = np.roll(values[:: -1 if orientation.flips[1] else 1], -orientation.roll)
        step = np.diff(values)
        if longitude:
            step = (step + 180.0) % 360.0 - 180.0
        step = step[np.isfinite(step)]
        if (step > 0).any() and (step < 0).any():
            raise GridError(
                f"Variable {name!r}: its {coord!r} coordinate is not monotonic (it goes back and forth along {dim!r}), "
                "so neighbouring pixels are not neighbours on the Earth.",
                fix=f"Sort the field first: da.sortby({coord!r}).",
            )


@dataclass(frozen=True)
class Orientation:
    """How a field is put in the fill's canonical orientation: spatial dims reversed, then x rolled.

    :meth:`apply` reverses ``y_dim`` and ``x_dim`` as ``flips`` says (coordinates
    increasing, :func:`canonical_flips`), then rolls ``x_dim`` left by ``roll`` columns
    (:func:`_canonical_roll`); :meth:`undo` takes a result back. Coordinates go with the data.
    """

    y_dim: str
    x_dim: str
    flips: tuple[bool, bool] = (False, False)
    roll: int = 0

    def apply(self, obj: xr.DataArray) -> xr.DataArray:
        """``obj`` (a DataArray on the grid) in canonical orientation."""
        out = obj.isel({d: slice(None, None, -1) for d, flip in zip((self.y_dim, self.x_dim), self.flips) if flip and d in obj.dims})
        return out.roll({self.x_dim: -self.roll}, roll_coords=True) if self.roll and self.x_dim in obj.dims else out

    def undo(self, obj: xr.DataArray, like: xr.DataArray | None = None) -> xr.DataArray:
        """A result in canonical orientation back in the field's; a lazy one rolled back in the chunks of ``like``."""
        out = obj.roll({self.x_dim: self.roll}, roll_coords=True) if self.roll and self.x_dim in obj.dims else obj
        out = out.isel({d: slice(None, None, -1) for d, flip in zip((self.y_dim, self.x_dim), self.flips) if flip and d in out.dims})
        if self.roll and like is not None and hasattr(out.data, "dask") and like.chunks is not None:
            out = out.chunk({d: c for d, c in like.chunksizes.items() if d in out.dims})
        return out

    def apply_data(self, data: Any) -> Any:
        """A numpy or dask array whose last two axes are (y, x) in canonical orientation; None passes through."""
        if data is None:
            return None
        data = flip_yx(data, self.flips)
        if not self.roll:
            return data
        if hasattr(data, "dask"):
            import dask.array as da

            return da.roll(data, -self.roll, axis=-1)
        return np.roll(data, -self.roll, axis=-1)


def canonical_orientation(obj: xr.DataArray, grid: SpatialGrid) -> Orientation:
    """The :class:`Orientation` a fill of ``obj`` runs in: a mirrored or rolled copy of a field is filled the same.

    Raises
    ------
    GridError
        A 1-D latitude or longitude that is not monotonic (shuffled rows or columns).

    Examples
    --------
    >>> import sstfill.testing
    >>> da = sstfill.testing.synthetic_sst(4, 10, land=False, lat0=-60.0, lon0=-180.0, step=36.0)
    >>> canonical_orientation(da, find_grid(da))  # a global grid starts at 0 degrees E
    Orientation(y_dim='lat', x_dim='lon', flips=(False, False), roll=5)
    """
    flips = canonical_flips(obj, grid)
    orientation = Orientation(grid.y_dim, grid.x_dim, flips, _canonical_roll(obj, grid, flips[1]))
    _check_monotonic(obj, grid, orientation)
    return orientation


def flip_yx(data: Any, flips: tuple[bool, bool]) -> Any:
    """Reverse the y (second last) and x (last) axes of a numpy or dask array as ``flips`` says.

    Its own inverse; None passes through. Arrays with one axis are taken as x.
    """
    if data is None or not any(flips):
        return data
    index = [slice(None)] * data.ndim
    if flips[0] and data.ndim >= 2:
        index[-2] = slice(None, None, -1)
    if flips[1] and data.ndim >= 1:
        index[-1] = slice(None, None, -1)
    return data[tuple(index)]
