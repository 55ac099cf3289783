"""Maps on a field's grid: which dims are the map, the image shown, and how to draw it.

The drawing layer every sstfill figure shares: :class:`MapGrid` places a (y, x) image on its
latitude/longitude (or projected, or index) axes with the right aspect ratio, and
:func:`land_layer` shades land. Numpy and xarray in, matplotlib artists out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from sstfill.errors import GridError
from sstfill.xr.grid import find_grid

__all__ = [
    "LAND_COLOUR",
    "UNSCORED_COLOUR",
    "pyplot",
    "spatial_dims",
    "first_image",
    "select_image",
    "step_index",
    "MapGrid",
    "land_layer",
    "axes_for",
]

#: colour of land in every map
LAND_COLOUR = "#a3a3a3"
#: colour of sea pixels the error map does not score (observed in the input, or no truth)
UNSCORED_COLOUR = "#e8e8e8"


def pyplot():
    """``matplotlib.pyplot``, imported when a figure is made (not when sstfill.plot is)."""
    import matplotlib.pyplot as plt

    return plt


def spatial_dims(da: xr.DataArray) -> tuple[str, str]:
    """(y, x) dims from sstfill's grid finder, else the last two dims."""
    try:
        return find_grid(da).dims
    except GridError:
        if da.ndim < 2:
            raise ValueError(f"Variable {da.name!r} has dims {da.dims}: a map needs two spatial dimensions.") from None
        return da.dims[-2], da.dims[-1]


def _format_coordinate(value: Any) -> str:
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.datetime64):
        text = np.datetime_as_string(value, unit="m")
        return text[:-6] if text.endswith("T00:00") else text.replace("T", " ")
    if value.dtype.kind == "f":
        return f"{float(value):.4g}"
    return str(value[()])


def first_image(da: xr.DataArray, dims: tuple[str, str]) -> tuple[xr.DataArray, str]:
    """The 2-D image at index 0 of every non-spatial dim, and a note saying so.

    The note also names a step selected before (a scalar date coordinate, as
    ``da.isel(time=1)`` leaves); '' for a 2-D image without one.
    """
    extra = [d for d in da.dims if d not in dims]
    notes = [
        f"{c} = {_format_coordinate(v.values)}"
        for c, v in da.coords.items()
        if v.ndim == 0 and np.issubdtype(v.dtype, np.datetime64) and not np.isnat(v.values)
    ]
    if not extra:
        return da, ", ".join(notes)
    for d in extra:
        label = f"{d} = {_format_coordinate(da[d].values[0])}" if d in da.coords else f"{d} index 0"
        notes.append(label if da.sizes[d] == 1 else f"{label} (first of {da.sizes[d]})")
    return da.isel({d: 0 for d in extra}), ", ".join(notes)


def step_index(da: xr.DataArray, dim: str, at: xr.DataArray | None, what: str) -> int:
    """Index along ``dim`` of the step shown: that of ``at``'s scalar ``dim`` coordinate if it has one, else 0."""
    if at is None or dim not in at.coords or at.coords[dim].ndim != 0 or dim not in da.coords:
        return 0
    value = at.coords[dim].values
    hits = np.flatnonzero(np.asarray(da.coords[dim].values) == value)
    if not hits.size:
        raise ValueError(f"{what} has no {dim} = {_format_coordinate(value)}, the step of the input shown; select the same step of both.")
    return int(hits[0])


def select_image(other: Any, dims: tuple[str, str], like: Any, what: str, at: xr.DataArray | None = None) -> np.ndarray:
    """``other`` (DataArray or array) reduced to the shown image, as a numpy array.

    A DataArray with more dims is taken at the step of ``at`` (the image shown, see
    :func:`step_index`), else at index 0 of each.
    """
    if isinstance(other, xr.DataArray):
        extra = {d: step_index(other, d, at, what) for d in other.dims if d not in dims}
        other = other.isel(extra).transpose(*dims).values
    arr = np.asarray(other)
    if arr.ndim > 2:
        arr = arr.reshape((-1,) + arr.shape[-2:])[0]
    if arr.shape != like.shape:
        raise ValueError(f"{what} has shape {arr.shape} on the map but the input has {like.shape}; they must share the grid.")
    return arr


def _monotonic(values: np.ndarray) -> bool:
    step = np.diff(values)
    return bool(np.all(step > 0) or np.all(step < 0))


def _wrap_longitude(values: np.ndarray) -> Callable[[float], float]:
    """Tick value -> longitude in the convention of ``values`` (0 to 360, else -180 to 180)."""
    if values.min() >= 0:
        return lambda v: v % 360.0
    return lambda v: (v + 180.0) % 360.0 - 180.0


def _coordinate_axis(da: xr.DataArray, dim: str, geo_name: str | None) -> tuple[np.ndarray, str, bool, Callable[[float], float] | None]:
    """Coordinate values along ``dim``, an axis label, whether they are real coordinates, and a tick wrap.

    A longitude that crosses the 0/360 (or -180/180) seam is unwrapped to increase
    through it (350, 355, 360, 365 ...); the last item then turns tick values back into
    longitudes (365 -> 5). None otherwise.
    """
    candidates = [geo_name] if geo_name else []
    candidates += [dim] + [str(c) for c in da.coords if da.coords[c].dims == (dim,)]
    for name in candidates:
        if name is None or name not in da.coords or da.coords[name].dims != (dim,):
            continue
        values = np.asarray(da.coords[name].values)
        if values.dtype.kind not in "iuf" or values.size < 2 or not np.all(np.isfinite(values)):
            continue
        values = values.astype("float64")
        attrs = da.coords[name].attrs
        std = attrs.get("standard_name", "")
        units = str(attrs.get("units", ""))
        is_lon = std == "longitude" or name == geo_name and "lon" in name.lower()
        wrap = None
        if is_lon and not _monotonic(values):
            unwrapped = np.unwrap(values, period=360.0)
            if _monotonic(unwrapped):
                values, wrap = unwrapped, _wrap_longitude(values)
        if not _monotonic(values):
            continue
        if std == "latitude" or name == geo_name and "lat" in name.lower():
            label = "latitude (°N)"
        elif is_lon:
            label = "longitude (°E)"
        else:
            label = f"{name} ({units})" if units else str(name)
        return values, label, True, wrap
    return np.arange(da.sizes[dim], dtype="float64"), f"{dim} (index)", False, None


def _runs_backwards(image: xr.DataArray, coord: str | None, axis: int, dims: tuple[str, str]) -> bool:
    """Whether a 2-D latitude/longitude ``coord`` decreases along ``axis`` (0: y, 1: x) of the image, and changes more along it than across."""
    if coord is None or coord not in image.coords or set(image.coords[coord].dims) != set(dims):
        return False
    values = np.asarray(image.coords[coord].transpose(*dims).values, dtype="float64")
    if min(values.shape) < 2 or not np.isfinite(values).any():
        return False
    values = np.nan_to_num(values, nan=float(np.nanmean(values)))
    if axis == 1:  # longitude: through the 0/360 seam
        values = np.unwrap(np.unwrap(values, period=360.0, axis=1), period=360.0, axis=0)
    along, across = (float(np.mean(np.diff(values, axis=a))) for a in (axis, 1 - axis))
    return along < 0 and abs(along) > abs(across)


class MapGrid:
    """How to draw a (y, x) image: coordinates, labels and aspect ratio.

    Latitude/longitude grids get the aspect ratio of their mean latitude; evenly spaced
    axes are drawn with ``imshow`` (origin at the lower left), others with ``pcolormesh``.
    A longitude that crosses the 0/360 (or -180/180) seam is drawn across it, ticked as
    longitudes. A curvilinear grid (2-D latitude/longitude) is drawn on its index axes,
    turned so that north is up and east is right.

    Parameters
    ----------
    image : DataArray
        A 2-D image on ``dims`` (its coordinates place it).
    dims : (str, str)
        The (y, x) dimensions.

    Examples
    --------
    >>> import sstfill.testing
    >>> grid = MapGrid(sstfill.testing.synthetic_sst(64, 96), ("lat", "lon"))
    >>> grid.xlabel, grid.ylabel
    ('longitude (°E)', 'latitude (°N)')
    >>> across = sstfill.testing.synthetic_sst(64, 96).assign_coords(lon=np.arange(350.0, 398.0, 0.5) % 360)
    >>> grid = MapGrid(across, ("lat", "lon"))
    >>> grid.xlabel, grid.x[[0, -1]]
    ('longitude (°E)', array([350. , 397.5]))
    """

    def __init__(self, image: xr.DataArray, dims: tuple[str, str]) -> None:
        lat = lon = None
        #: whether the y (x) axis runs downwards (leftwards): index axes of a curvilinear grid whose
        #: latitude falls along y (longitude along x), drawn north up and east right
        self.flip_y = self.flip_x = False
        try:
            grid = find_grid(image)
            if grid.kind == "regular":
                lat, lon = grid.lat, grid.lon
            elif grid.kind == "curvilinear":
                self.flip_y = _runs_backwards(image, grid.lat, 0, dims)
                self.flip_x = _runs_backwards(image, grid.lon, 1, dims)
        except GridError:
            pass
        self.y, self.ylabel, y_real, self._ywrap = _coordinate_axis(image, dims[0], lat)
        self.x, self.xlabel, x_real, self._xwrap = _coordinate_axis(image, dims[1], lon)
        self.aspect: float | str = "equal"
        if y_real and x_real and lat is not None and lon is not None:
            self.aspect = 1.0 / max(np.cos(np.deg2rad(np.clip(np.mean(self.y), -85, 85))), 0.05)
        elif y_real != x_real:
            self.aspect = "auto"
        self._even = all(self._is_even(v) for v in (self.x, self.y))

    def ratio(self) -> float:
        """Height / width of the map on paper (clipped), to size figures."""
        if self.aspect == "auto":
            return 0.75
        height = abs(self.y[-1] - self.y[0]) * (len(self.y) / max(len(self.y) - 1, 1))
        width = abs(self.x[-1] - self.x[0]) * (len(self.x) / max(len(self.x) - 1, 1))
        factor = 1.0 if self.aspect == "equal" else float(self.aspect)
        return float(np.clip(height * factor / max(width, 1e-12), 0.3, 2.5))

    @staticmethod
    def _is_even(v: np.ndarray) -> bool:
        step = np.diff(v)
        return bool(step.size and np.allclose(step, step[0], rtol=1e-3, atol=0))

    def draw(self, ax, values: np.ndarray, **kwargs):
        """Draw ``values`` (y, x) or an RGBA (y, x, 4) image on ``ax``; returns the artist."""
        x, y = self.x, self.y
        if self._even:
            if x[0] > x[-1]:
                x, values = x[::-1], values[:, ::-1]
            if y[0] > y[-1]:
                y, values = y[::-1], values[::-1]
            dx = (x[-1] - x[0]) / (len(x) - 1) if len(x) > 1 else 1.0
            dy = (y[-1] - y[0]) / (len(y) - 1) if len(y) > 1 else 1.0
            extent = (x[0] - dx / 2, x[-1] + dx / 2, y[0] - dy / 2, y[-1] + dy / 2)
            artist = ax.imshow(values, origin="lower", extent=extent, interpolation="nearest", aspect=self.aspect, **kwargs)
        else:
            artist = ax.pcolormesh(x, y, values, shading="nearest", rasterized=True, **kwargs)
            ax.set_aspect(self.aspect)
        self._orient(ax)
        return artist

    def _orient(self, ax) -> None:
        """Turn axes that run backwards (:attr:`flip_y`, :attr:`flip_x`), once per Axes."""
        if self.flip_y and not ax.yaxis_inverted():
            ax.invert_yaxis()
        if self.flip_x and not ax.xaxis_inverted():
            ax.invert_xaxis()

    def shade(self, ax, where: np.ndarray, colour: str):
        """Paint the pixels where ``where`` is true in one colour (the others stay transparent)."""
        from matplotlib.colors import ListedColormap

        return self.draw(ax, np.where(where, 1.0, np.nan), cmap=ListedColormap([colour]), vmin=0, vmax=1)

    def outline(self, ax, where: np.ndarray, **kwargs):
        """Contour the edge of the pixels where ``where`` is true (``contour`` keywords pass on)."""
        artist = ax.contour(self.x, self.y, np.where(where, 1.0, 0.0), levels=[0.5], **kwargs)
        self._orient(ax)
        return artist

    def label(self, ax) -> None:
        """Name the axes: latitude/longitude, the coordinate and its units, or the index.

        A longitude unwrapped across the 0/360 (or -180/180) seam is ticked in the
        convention of its coordinate (..., 355, 0, 5, ...).
        """
        from matplotlib.ticker import FuncFormatter

        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        for axis, wrap in ((ax.xaxis, self._xwrap), (ax.yaxis, self._ywrap)):
            if wrap is not None:
                axis.set_major_formatter(FuncFormatter(lambda v, _, wrap=wrap: f"{wrap(v) + 0.0:g}"))


def land_layer(ax, grid: MapGrid, land: np.ndarray | None) -> None:
    """Shade ``land`` in :data:`LAND_COLOUR` (nothing if there is none)."""
    if land is None or not land.any():
        return
    grid.shade(ax, land, LAND_COLOUR)


def axes_for(ax: Any, n: int, figsize: tuple[float, float], nrows: int, ncols: int, what: str):
    """``n`` axes: new ones on a fresh figure, or the ones the user passed."""
    if ax is None:
        fig = pyplot().figure(figsize=figsize, layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
        return fig, axes[:n]
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n:
        raise ValueError(f"{what} draws {n} panels here; pass ax= a sequence of {n} Axes (got {len(axes)}).")
    return axes[0].figure, axes

