"""Maps on a field's grid: which dims are the map, the image shown, and how to draw it.

The drawing layer every sstfill figure shares: :class:`MapGrid` places a (y, x) image on its
latitude/longitude (or projected, or index) axes with the right aspect ratio, and
:func:`land_layer` shades land. Numpy and xarray in, matplotlib artists out.
"""

from __future__ import annotations

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
    """The 2-D image at index 0 of every non-spatial dim, and a note saying so ('' if 2-D)."""
    extra = [d for d in da.dims if d not in dims]
    if not extra:
        return da, ""
    notes = []
    for d in extra:
        label = f"{d} = {_format_coordinate(da[d].values[0])}" if d in da.coords else f"{d} index 0"
        notes.append(label if da.sizes[d] == 1 else f"{label} (first of {da.sizes[d]})")
    return da.isel({d: 0 for d in extra}), ", ".join(notes)


def select_image(other: Any, dims: tuple[str, str], like: xr.DataArray, what: str) -> np.ndarray:
    """``other`` (DataArray or array) reduced to the shown image, as a numpy array."""
    if isinstance(other, xr.DataArray):
        extra = {d: 0 for d in other.dims if d not in dims}
        other = other.isel(extra).transpose(*dims).values
    arr = np.asarray(other)
    if arr.ndim > 2:
        arr = arr.reshape((-1,) + arr.shape[-2:])[0]
    if arr.shape != like.shape:
        raise ValueError(f"{what} has shape {arr.shape} on the map but the input has {like.shape}; they must share the grid.")
    return arr


def _coordinate_axis(da: xr.DataArray, dim: str, geo_name: str | None) -> tuple[np.ndarray, str, bool]:
    """Coordinate values along ``dim``, an axis label, and whether they are real coordinates."""
    candidates = [geo_name] if geo_name else []
    candidates += [dim] + [str(c) for c in da.coords if da.coords[c].dims == (dim,)]
    for name in candidates:
        if name is None or name not in da.coords or da.coords[name].dims != (dim,):
            continue
        values = np.asarray(da.coords[name].values)
        if values.dtype.kind not in "iuf" or values.size < 2 or not np.all(np.isfinite(values)):
            continue
        step = np.diff(values.astype("float64"))
        if not (np.all(step > 0) or np.all(step < 0)):
            continue
        attrs = da.coords[name].attrs
        std = attrs.get("standard_name", "")
        units = str(attrs.get("units", ""))
        if std == "latitude" or name == geo_name and "lat" in name.lower():
            label = "latitude (°N)"
        elif std == "longitude" or name == geo_name and "lon" in name.lower():
            label = "longitude (°E)"
        else:
            label = f"{name} ({units})" if units else str(name)
        return values.astype("float64"), label, True
    return np.arange(da.sizes[dim], dtype="float64"), f"{dim} (index)", False


class MapGrid:
    """How to draw a (y, x) image: coordinates, labels and aspect ratio.

    Latitude/longitude grids get the aspect ratio of their mean latitude; evenly spaced
    axes are drawn with ``imshow`` (origin at the lower left), others with ``pcolormesh``.

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
    """

    def __init__(self, image: xr.DataArray, dims: tuple[str, str]) -> None:
        lat = lon = None
        try:
            grid = find_grid(image)
            if grid.kind == "regular":
                lat, lon = grid.lat, grid.lon
        except GridError:
            pass
        self.y, self.ylabel, y_real = _coordinate_axis(image, dims[0], lat)
        self.x, self.xlabel, x_real = _coordinate_axis(image, dims[1], lon)
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
            return ax.imshow(values, origin="lower", extent=extent, interpolation="nearest", aspect=self.aspect, **kwargs)
        artist = ax.pcolormesh(x, y, values, shading="nearest", rasterized=True, **kwargs)
        ax.set_aspect(self.aspect)
        return artist

    def shade(self, ax, where: np.ndarray, colour: str):
        """Paint the pixels where ``where`` is true in one colour (the others stay transparent)."""
        from matplotlib.colors import ListedColormap

        return self.draw(ax, np.where(where, 1.0, np.nan), cmap=ListedColormap([colour]), vmin=0, vmax=1)

    def outline(self, ax, where: np.ndarray, **kwargs):
        """Contour the edge of the pixels where ``where`` is true (``contour`` keywords pass on)."""
        return ax.contour(self.x, self.y, np.where(where, 1.0, 0.0), levels=[0.5], **kwargs)

    def label(self, ax) -> None:
        """Name the axes: latitude/longitude, the coordinate and its units, or the index."""
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)


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

