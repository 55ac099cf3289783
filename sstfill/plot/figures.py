"""Quick-look figures: the input, the fill, its flags, the error, and training curves.

Import it yourself (``import sstfill.plot``); matplotlib is only needed here. The figures
follow the SST report's figures 10-15: input with gaps, filled field, where it was filled,
and, when the truth is known, the error map and a scatter of filled against true values on
the pixels that were missing from the input.

SST in kelvin is shown in degrees Celsius. Land is grey, gaps are white. Fields with more
than two dimensions are shown at the first index of every other dimension.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

__all__ = ["quicklook", "flag_map", "training_curves"]

#: colour of land in every map
LAND_COLOUR = "#a3a3a3"
#: colour of sea pixels the error map does not score (observed in the input, or no truth)
UNSCORED_COLOUR = "#e8e8e8"
#: colours of the flag meanings sstfill writes (others get a qualitative palette)
FLAG_COLOURS = {
    "observed": "#9ecae1",
    "filled": "#f16913",
    "cloud": "#f16913",
    "land": LAND_COLOUR,
    "not_filled": "#67000d",
}
_PALETTE = ("#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")
_KELVIN = {"k", "kelvin", "kelvins", "degk", "deg_k", "degree_kelvin", "degrees_kelvin"}
_CELSIUS = {"degc", "deg_c", "celsius", "degree_celsius", "degrees_celsius", "°c"}


# ----------------------------------------------------------------------------- helpers


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _cmap():
    """cmocean's 'thermal' when installed, else matplotlib's RdYlBu_r."""
    try:
        import cmocean

        return cmocean.cm.thermal
    except ImportError:
        import matplotlib

        return matplotlib.colormaps["RdYlBu_r"]


def _is_kelvin(da: xr.DataArray | None) -> bool:
    return da is not None and str(da.attrs.get("units", "")).strip().lower() in _KELVIN


def _units(da: xr.DataArray) -> str:
    """Display units: kelvin becomes degC; otherwise the ``units`` attribute (may be '')."""
    if _is_kelvin(da):
        return "°C"
    units = str(da.attrs.get("units", "")).strip()
    return "°C" if units.lower() in _CELSIUS else units


def _is_temperature(da: xr.DataArray) -> bool:
    return _units(da) == "°C" or "temperature" in str(da.attrs.get("standard_name", ""))


def _values(da: xr.DataArray, kelvin: bool) -> np.ndarray:
    out = np.asarray(da.values, dtype="float64")
    return out - 273.15 if kelvin else out


def _spatial_dims(da: xr.DataArray) -> tuple[str, str]:
    """(y, x) dims from sstfill's grid finder, else the last two dims."""
    from sstfill.errors import GridError
    from sstfill.xr.grid import find_grid

    try:
        return find_grid(da).dims
    except GridError:
        if da.ndim < 2:
            raise ValueError(f"Variable {da.name!r} has dims {da.dims}: a map needs two spatial dimensions.") from None
        return da.dims[-2], da.dims[-1]


def _fmt(value: Any) -> str:
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.datetime64):
        text = np.datetime_as_string(value, unit="m")
        return text[:-6] if text.endswith("T00:00") else text.replace("T", " ")
    if value.dtype.kind == "f":
        return f"{float(value):.4g}"
    return str(value[()])


def _first_image(da: xr.DataArray, dims: tuple[str, str]) -> tuple[xr.DataArray, str]:
    """The 2-D image at index 0 of every non-spatial dim, and a note saying so ('' if 2-D)."""
    extra = [d for d in da.dims if d not in dims]
    if not extra:
        return da, ""
    notes = []
    for d in extra:
        label = f"{d} = {_fmt(da[d].values[0])}" if d in da.coords else f"{d} index 0"
        notes.append(label if da.sizes[d] == 1 else f"{label} (first of {da.sizes[d]})")
    return da.isel({d: 0 for d in extra}), ", ".join(notes)


def _select(other: Any, dims: tuple[str, str], like: xr.DataArray, what: str) -> np.ndarray:
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


def _axis(da: xr.DataArray, dim: str, geo_name: str | None) -> tuple[np.ndarray, str, bool]:
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


class _MapGrid:
    """How to draw a (y, x) image: coordinates, labels and aspect ratio."""

    def __init__(self, image: xr.DataArray, dims: tuple[str, str]) -> None:
        from sstfill.errors import GridError
        from sstfill.xr.grid import find_grid

        lat = lon = None
        try:
            grid = find_grid(image)
            if grid.kind == "regular":
                lat, lon = grid.lat, grid.lon
        except GridError:
            pass
        self.y, self.ylabel, y_real = _axis(image, dims[0], lat)
        self.x, self.xlabel, x_real = _axis(image, dims[1], lon)
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

    def label(self, ax) -> None:
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)


def _land_layer(ax, grid: _MapGrid, land: np.ndarray | None) -> None:
    if land is None or not land.any():
        return
    from matplotlib.colors import ListedColormap

    grid.draw(ax, np.where(land, 1.0, np.nan), cmap=ListedColormap([LAND_COLOUR]), vmin=0, vmax=1)


def _limits(*arrays: np.ndarray | None) -> tuple[float, float]:
    """2nd-98th percentile of the finite values of all arrays."""
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays if a is not None])
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [2, 98])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return float(lo), float(hi)


def _axes_for(ax: Any, n: int, figsize: tuple[float, float], nrows: int, ncols: int, what: str):
    """``n`` axes: new ones on a fresh figure, or the ones the user passed."""
    if ax is None:
        fig = _pyplot().figure(figsize=figsize, layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
        return fig, axes[:n]
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n:
        raise ValueError(f"{what} draws {n} panels here; pass ax= a sequence of {n} Axes (got {len(axes)}).")
    return axes[0].figure, axes


def _flag_meanings(flag: xr.DataArray) -> tuple[list[int], list[str]]:
    meanings = str(flag.attrs.get("flag_meanings", "")).split()
    if not meanings:
        raise ValueError(
            f"Variable {flag.name!r} has no flag_meanings attribute: pass a CF flag variable such as "
            "filled['sst_fill_flag'] or da.inpaint.mask()."
        )
    values = flag.attrs.get("flag_values")
    values = list(range(len(meanings))) if values is None else [int(v) for v in np.atleast_1d(values)]
    if len(values) != len(meanings):
        raise ValueError(f"Variable {flag.name!r}: {len(values)} flag_values but {len(meanings)} flag_meanings.")
    return values, meanings


def _draw_flags(ax, grid: _MapGrid, codes: np.ndarray, values: list[int], meanings: list[str], legend: str = "right") -> None:
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    colours, extra = [], iter(_PALETTE * 4)
    for m in meanings:
        colours.append(FLAG_COLOURS.get(m) or next(extra))
    order = np.argsort(values)
    sorted_values = np.asarray(values)[order]
    index = np.full(codes.shape, np.nan)
    for k, v in enumerate(sorted_values):
        index[codes == v] = k
    cmap = ListedColormap([colours[i] for i in order])
    norm = BoundaryNorm(np.arange(len(values) + 1) - 0.5, cmap.N)
    grid.draw(ax, index, cmap=cmap, norm=norm)
    grid.label(ax)
    if legend:
        total = max(int(np.isfinite(index).sum()), 1)
        handles = [
            Patch(facecolor=colours[i], edgecolor="0.3", linewidth=0.5, label=f"{meanings[i].replace('_', ' ')} ({np.sum(codes == values[i]) / total:.1%})")
            for i in order
        ]
        if legend == "below":
            from matplotlib.transforms import ScaledTranslation

            below_labels = ax.transAxes + ScaledTranslation(0, -0.5, ax.figure.dpi_scale_trans)
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below_labels, ncol=2, borderaxespad=0, frameon=False, fontsize="small")
        else:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False, fontsize="small")


def _find_flag(filled: xr.DataArray) -> xr.DataArray | None:
    name = f"{filled.name}_fill_flag"
    if name in filled.coords:
        return filled.coords[name]
    for c in filled.coords.values():
        if "filled" in str(c.attrs.get("flag_meanings", "")).split():
            return c
    return None


# ----------------------------------------------------------------------------- public


def flag_map(flag_da: xr.DataArray, ax: Any = None):
    """Map of a CF flag variable in categorical colours, with a legend.

    Works on the ``<var>_fill_flag`` written by ``fill`` (observed, filled, land, not
    filled) and on ``da.inpaint.mask()`` (observed, cloud, land); any variable with
    ``flag_values`` and ``flag_meanings`` will do. The legend gives each flag's share of
    the pixels shown.

    Parameters
    ----------
    flag_da : DataArray
        The flag variable; beyond two dimensions the first index of the others is shown.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import sstfill, sstfill.plot, sstfill.testing
    >>> sst = sstfill.testing.synthetic_sst(64, 96)
    >>> gappy, _ = sst.inpaint.add_holes("clouds", fraction=0.3, seed=0)
    >>> filled = gappy.inpaint.fill(model="laplace")
    >>> fig = sstfill.plot.flag_map(filled["sst_fill_flag"])
    """
    values, meanings = _flag_meanings(flag_da)
    dims = _spatial_dims(flag_da)
    image, note = _first_image(flag_da, dims)
    image = image.transpose(*dims)
    grid = _MapGrid(image, dims)
    fig, (axis,) = _axes_for(ax, 1, (6.6, 4.0 * grid.ratio() + 1.3), 1, 1, "flag_map")
    _draw_flags(axis, grid, np.asarray(image.values), values, meanings)
    title = str(flag_da.attrs.get("long_name") or flag_da.name or "flags")
    axis.set_title(title + (f"\n{note}" if note else ""), fontsize="medium")
    return fig


def quicklook(
    gappy: xr.DataArray,
    filled: xr.DataArray,
    truth: xr.DataArray | None = None,
    *,
    flag: xr.DataArray | None = None,
    land: Any = None,
    ax: Any = None,
    title: str | None = None,
):
    """Input, fill and flags side by side; with the truth, also the error and a scatter.

    Panels: the input with its gaps (white), the filled field, the fill flag; when
    ``truth`` is given, the truth, the error ``filled - truth`` on the pixels missing from
    the input but known in the truth (diverging colours centred at 0, limits at the 99th
    percentile of its size), and filled against true values on those pixels with the 1:1
    line, RMSE and bias. The field panels share their colour limits (2nd to 98th
    percentile of the truth and the fill). Kelvin is shown as degC. Land is grey.

    Parameters
    ----------
    gappy : DataArray
        The field given to ``fill``, NaN in the gaps.
    filled : DataArray
        What ``gappy.inpaint.fill()`` returned.
    truth : DataArray, optional
        The complete field, e.g. before ``add_holes``.
    flag : DataArray, optional
        Fill flag (0 observed, 1 filled, 2 land, 3 not filled); default: the
        ``<name>_fill_flag`` coordinate of ``filled``, else worked out from the inputs.
    land : DataArray or bool array, optional
        Land to shade grey; default: the flag's land, else pixels missing in every input.
    ax : sequence of Axes, optional
        Three Axes (six with ``truth``) to draw into; a new figure by default.
    title : str, optional
        Figure title; default: the variable's ``long_name``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import sstfill, sstfill.plot, sstfill.testing
    >>> sst = sstfill.testing.synthetic_sst(96, 128)
    >>> gappy, hidden = sst.inpaint.add_holes("clouds", fraction=0.3, seed=0)
    >>> filled = gappy.inpaint.fill(model="laplace")
    >>> fig = sstfill.plot.quicklook(gappy, filled, truth=sst)
    >>> fig.savefig("quicklook.png", dpi=120)  # doctest: +SKIP
    """
    for what, obj in (("gappy", gappy), ("filled", filled), ("truth", truth)):
        if isinstance(obj, xr.Dataset):
            raise TypeError(f"quicklook takes DataArrays; {what} is a Dataset. Pass one variable, e.g. ds['sst'].")
    dims = _spatial_dims(gappy)
    image, note = _first_image(gappy, dims)
    image = image.transpose(*dims).load()
    grid = _MapGrid(image, dims)
    kelvin = _is_kelvin(gappy)
    units = _units(gappy)

    def shown(da: xr.DataArray, what: str) -> xr.DataArray:
        """The image shown, loaded once (with its coordinates: one dask compute)."""
        if not isinstance(da, xr.DataArray):
            raise TypeError(f"quicklook takes DataArrays; {what} is a {type(da).__name__}.")
        missing = [d for d in dims if d not in da.dims]
        if missing:
            raise ValueError(f"{what} has dims {da.dims} but the input's map is on {dims}; they must share the grid.")
        return da.isel({d: 0 for d in da.dims if d not in dims}).transpose(*dims, ...).load()

    def values_of(da: xr.DataArray, what: str) -> np.ndarray:
        out = _values(da, _is_kelvin(da) if "units" in da.attrs else kelvin)
        if out.shape != image.shape:
            raise ValueError(f"{what} has shape {out.shape} on the map but the input has {image.shape}; they must share the grid.")
        return out

    g = values_of(image, "gappy")
    filled = shown(filled, "filled")
    f = values_of(filled, "filled")
    t = values_of(shown(truth, "truth"), "truth") if truth is not None else None

    flag = _find_flag(filled) if flag is None else flag
    if flag is not None:
        codes = _select(flag, dims, g, "flag").astype("float64")
        flag_values, meanings = _flag_meanings(flag)
    else:
        from sstfill.xr.cf import FILL_FLAGS

        flag_values, meanings = list(FILL_FLAGS), list(FILL_FLAGS.values())
        codes = np.where(np.isfinite(g), 0, np.where(np.isfinite(f), 1, 3)).astype("float64")
    if land is not None:
        land_mask = _select(land, dims, g, "land").astype(bool)
    elif flag is not None and "land" in meanings:
        land_mask = codes == flag_values[meanings.index("land")]
    else:
        land_mask = ~np.isfinite(g) & ~np.isfinite(f) & (True if t is None else ~np.isfinite(t))
    if flag is None and "land" in meanings:
        codes[land_mask & ~np.isfinite(g)] = 2

    rows = 2 if truth is not None else 1
    row_height = 3.3 * grid.ratio() + 1.4
    fig, axes = _axes_for(ax, 3 * rows, (15.0, rows * row_height + 0.5), rows, 3, "quicklook")
    cmap = _cmap()
    vmin, vmax = _limits(t, f)
    quantity = "SST" if _is_temperature(gappy) else str(gappy.name or "value")
    cbar_label = f"{quantity} ({units})" if units else quantity

    def field_panel(axis, values, panel_title):
        artist = grid.draw(axis, values, cmap=cmap, vmin=vmin, vmax=vmax)
        _land_layer(axis, grid, land_mask)
        grid.label(axis)
        axis.set_title(panel_title, fontsize="medium")
        fig.colorbar(artist, ax=axis, label=cbar_label, shrink=0.9, extend="both")

    sea = ~land_mask
    missing = ~np.isfinite(g) & sea
    share = missing.sum() / max(int(sea.sum()), 1)
    field_panel(axes[0], g, f"input: {share:.0%} of the sea missing")
    n_filled = int(np.sum(codes == flag_values[meanings.index("filled")])) if "filled" in meanings else int((missing & np.isfinite(f)).sum())
    field_panel(axes[1], f, f"filled: {n_filled:,} pixels")
    _draw_flags(axes[2], grid, codes, flag_values, meanings, legend="below")
    axes[2].set_title("fill flag", fontsize="medium")

    if truth is not None:
        field_panel(axes[3], t, "truth")
        judged = missing & np.isfinite(t) & np.isfinite(f)
        err = np.where(judged, f - t, np.nan)
        lim = float(np.percentile(np.abs(err[judged]), 99)) if judged.any() else 1.0
        lim = lim if lim > 0 else 1e-3
        from matplotlib.colors import ListedColormap

        grid.draw(axes[4], np.where(sea & ~judged, 1.0, np.nan), cmap=ListedColormap([UNSCORED_COLOUR]), vmin=0, vmax=1)
        artist = grid.draw(axes[4], err, cmap="RdBu_r", vmin=-lim, vmax=lim)
        _land_layer(axes[4], grid, land_mask)
        grid.label(axes[4])
        axes[4].set_title("error where the input was missing\n(light grey: observed or no truth)", fontsize="medium")
        diff_units = units if units else ""
        fig.colorbar(artist, ax=axes[4], label=f"filled - truth ({diff_units})" if diff_units else "filled - truth", shrink=0.9, extend="both")
        _scatter(axes[5], t[judged], f[judged], units)

    if title is None:
        title = str(gappy.attrs.get("long_name") or gappy.name or "field")
    fig.suptitle(title + (f"\n{note}" if note else ""))
    return fig


def _scatter(ax, truth: np.ndarray, filled: np.ndarray, units: str) -> None:
    from sstfill.evaluation.metrics import bias, rmse

    u = f" {units}" if units else ""
    label = f" ({units})" if units else ""
    ax.set_xlabel(f"truth{label}")
    ax.set_ylabel(f"filled{label}")
    if truth.size == 0:
        ax.set_title("filled vs truth: no missing pixel with a known truth", fontsize="medium")
        return
    lo = float(min(truth.min(), filled.min()))
    hi = float(max(truth.max(), filled.max()))
    pad = 0.03 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    if truth.size > 3000:
        art = ax.hexbin(truth, filled, gridsize=70, bins="log", mincnt=1, cmap="viridis", extent=(lo, hi, lo, hi), linewidths=0)
        ax.figure.colorbar(art, ax=ax, label="pixels", shrink=0.9)
    else:
        ax.scatter(truth, filled, s=6, alpha=0.6, color="#08519c", edgecolors="none", rasterized=True)
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.9, ls="--", label="1:1")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", frameon=False, fontsize="small")
    ax.set_title(f"RMSE {rmse(filled, truth):.3f}{u}, bias {bias(filled, truth):+.3f}{u}\n({truth.size:,} pixels missing from the input)", fontsize="medium")


def training_curves(history: Any, ax: Any = None, *, title: str | None = None):
    """Losses per epoch of a training run, with the best epoch marked.

    Panels: training and validation loss (log scale when positive); validation RMSE on
    the hidden pixels (per-tile standardised units, as in training), with the test score
    if there is one; and the adversarial losses when they are not all zero. The best epoch
    (lowest validation loss, whose weights training keeps) is marked on every panel.
    Epochs are counted from 1.

    Parameters
    ----------
    history : dict or Inpainter
        ``model.history`` as written by ``ds.inpaint.train`` (``epoch``, ``train_loss``,
        ``val_loss``, ``val_rmse_hidden``, ``adv_g``, ``adv_d``, ...), or the model.
    ax : sequence of Axes, optional
        One Axes per panel (2, or 3 with adversarial losses); a new figure by default.
    title : str, optional
        Start of the figure title (default "training history"); the number of epochs, the
        best epoch and the tile counts follow it.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import sstfill.plot
    >>> history = {"epoch": [0, 1, 2], "train_loss": [0.9, 0.5, 0.4], "val_loss": [0.8, 0.5, 0.6],
    ...            "val_rmse_hidden": [0.7, 0.5, 0.55]}
    >>> fig = sstfill.plot.training_curves(history)
    >>> len(fig.axes)
    2
    """
    if not isinstance(history, dict):
        history = getattr(history, "history", None)
    if not isinstance(history, dict) or not (history.get("val_loss") or history.get("train_loss")):
        raise ValueError("training_curves needs a training history with 'train_loss' or 'val_loss' per epoch: pass model.history from ds.inpaint.train().")
    n_epochs = max(len(history.get(k) or []) for k in ("train_loss", "val_loss"))
    # history["epoch"] counts from 0; epochs are shown counted from 1, as `sstfill train` prints them
    epochs = np.asarray(history.get("epoch") or range(n_epochs), dtype=float) + 1

    def series(key):
        v = history.get(key) or []
        return np.asarray(v, dtype=float) if len(v) == len(epochs) else None

    train, val, rmse = series("train_loss"), series("val_loss"), series("val_rmse_hidden")
    adv_g, adv_d = series("adv_g"), series("adv_d")
    adversarial = any(a is not None and np.any(np.nan_to_num(a) != 0) for a in (adv_g, adv_d))
    n = 2 + adversarial
    fig, axes = _axes_for(ax, n, (4.6 * n, 3.8), 1, n, "training_curves")
    best = int(np.nanargmin(val)) if val is not None and np.isfinite(val).any() else None

    def mark(axis, values=None):
        if best is None:
            return
        axis.axvline(epochs[best], color="0.4", ls=":", lw=1, label=f"best epoch ({int(epochs[best])})")
        if values is not None and np.isfinite(values[best]):
            axis.plot(epochs[best], values[best], "o", ms=7, mfc="none", mec="k")

    a = axes[0]
    for values, label, colour in ((train, "training", "#1f77b4"), (val, "validation", "#d62728")):
        if values is not None:
            a.plot(epochs, values, "-o", ms=3, color=colour, label=label)
    mark(a, val)
    finite = np.concatenate([v[np.isfinite(v)] for v in (train, val) if v is not None])
    if finite.size and np.all(finite > 0):
        from matplotlib.ticker import FuncFormatter, LogLocator

        a.set_yscale("log")
        if finite.max() / finite.min() < 100:  # under two decades: plain numbers on 1-2-5 ticks
            a.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            a.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
            a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    a.set_title("loss", fontsize="medium")
    a.set_ylabel("weighted loss")

    a = axes[1]
    if rmse is not None:
        a.plot(epochs, rmse, "-o", ms=3, color="#d62728", label="validation")
    test = history.get("test_rmse_hidden")
    if test:
        a.axhline(float(np.ravel(test)[-1]), color="#2ca02c", ls="--", lw=1, label=f"test, best weights ({float(np.ravel(test)[-1]):.3f})")
    mark(a, rmse)
    a.set_title("RMSE on hidden pixels", fontsize="medium")
    a.set_ylabel("RMSE (standardised units)")

    if adversarial:
        a = axes[2]
        for values, label, colour in ((adv_g, "generator", "#9467bd"), (adv_d, "discriminator", "#8c564b")):
            if values is not None:
                a.plot(epochs, values, "-o", ms=3, color=colour, label=label)
        mark(a)
        a.set_title("adversarial losses", fontsize="medium")
        a.set_ylabel("binary cross-entropy")

    for a in axes:
        a.set_xlabel("epoch")
        a.grid(True, lw=0.4, alpha=0.5)
        a.legend(frameon=False, fontsize="small")
        if len(epochs) and np.allclose(epochs, np.round(epochs)):
            from matplotlib.ticker import MaxNLocator

            a.xaxis.set_major_locator(MaxNLocator(integer=True))
    parts = [f"{len(epochs)} epochs"]
    if best is not None:
        parts.append(f"best epoch {int(epochs[best])}")
    tiles = history.get("tiles")
    if tiles and len(tiles) == 3:
        parts.append(f"tiles train/val/test {tiles[0]}/{tiles[1]}/{tiles[2]}")
    if history.get("split"):
        parts.append(f"split {history['split']}")
    fig.suptitle(f"{title or 'training history'}: " + ", ".join(parts), fontsize="medium")
    return fig
