"""The quick-look figures: the input, the fill, its standard error, its flags, the error, and a scatter."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from sstfill.evaluation.metrics import bias, rmse
from sstfill.plot.maps import (
    LAND_COLOUR,
    UNSCORED_COLOUR,
    MapGrid,
    axes_for,
    first_image,
    land_layer,
    pyplot,
    select_image,
    spatial_dims,
    step_index,
)
from sstfill.plot.units import display_units, to_celsius
from sstfill.xr.cf import FILL_FLAGS, output_names

__all__ = ["quicklook", "flag_map", "FLAG_COLOURS"]

#: colours of the flag meanings sstfill writes (others get a qualitative palette)
FLAG_COLOURS = {
    "observed": "#9ecae1",
    "filled": "#f16913",
    "cloud": "#f16913",
    "land": LAND_COLOUR,
    "not_filled": "#67000d",
    "beyond_reach": "#ffffcc",
}
_PALETTE = ("#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")
#: sequential colormap of the standard-error map (0 is dark)
ERROR_CMAP = "magma"


def _cmap():
    """cmocean's 'thermal' when installed, else matplotlib's RdYlBu_r."""
    try:
        import cmocean

        return cmocean.cm.thermal
    except ImportError:
        import matplotlib

        return matplotlib.colormaps["RdYlBu_r"]


def _units(da: xr.DataArray) -> str:
    """Display units: kelvin becomes degC; otherwise the ``units`` attribute (may be '')."""
    return display_units(da.attrs.get("units"))


def _is_temperature(da: xr.DataArray) -> bool:
    return _units(da) == "°C" or "temperature" in str(da.attrs.get("standard_name", ""))


def _limits(*arrays: np.ndarray | None) -> tuple[float, float]:
    """2nd-98th percentile of the finite values of all arrays."""
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays if a is not None])
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [2, 98])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return float(lo), float(hi)


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


def _draw_flags(ax, grid: MapGrid, codes: np.ndarray, values: list[int], meanings: list[str], legend: str = "right") -> None:
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
    name = output_names(filled.name)[0]
    if name in filled.coords:
        return filled.coords[name]
    for c in filled.coords.values():
        if "filled" in str(c.attrs.get("flag_meanings", "")).split():
            return c
    return None


def _find_error(filled: xr.DataArray) -> xr.DataArray | None:
    """The ``<name>_error`` coordinate ``fill`` attaches, else one whose standard_name ends in ``standard_error``."""
    name = output_names(filled.name)[1]
    if name in filled.coords:
        return filled.coords[name]
    for c in filled.coords.values():
        if str(c.attrs.get("standard_name", "")).endswith("standard_error"):
            return c
    return None


def _field_of(ds: xr.Dataset, name: Any, what: str) -> xr.DataArray:
    """The filled variable of a Dataset ``ds.inpaint.fill`` returned, with its flag and error as coordinates.

    ``name``: the variable to take (the input's name), or None to take the only one with a
    ``<var>_fill_flag`` beside it.
    """
    filled_vars = [str(v) for v in ds.data_vars if output_names(v)[0] in ds.data_vars]
    if name is None or name not in ds.data_vars:
        if len(filled_vars) != 1:
            found = f"{len(filled_vars)} filled variables ({', '.join(filled_vars)})" if filled_vars else "no filled variable (none has a _fill_flag)"
            raise TypeError(f"{what} is a Dataset with {found}; pass one variable, e.g. ds['sst'].")
        name = filled_vars[0]
    extra = [n for n in output_names(name) if n in ds.data_vars and set(ds[n].dims) <= set(ds[name].dims)]
    return ds[name].assign_coords({n: ds[n] for n in extra})


def _flag_of(ds: xr.Dataset) -> xr.DataArray:
    """The one fill flag (``<var>_fill_flag``) or else CF flag variable of a Dataset, else a TypeError."""
    flags = [str(v) for v in ds.data_vars if ds[v].attrs.get("flag_meanings")]
    fill_flags = [v for v in flags if "filled" in str(ds[v].attrs["flag_meanings"]).split()]
    flags = fill_flags or flags
    if len(flags) != 1:
        found = f"{len(flags)} ({', '.join(flags)})" if flags else "none (no variable with flag_meanings)"
        raise TypeError(f"flag_map takes a flag variable; this Dataset has {found}. Pass one, e.g. ds['sst_fill_flag'].")
    return ds[flags[0]]


# ----------------------------------------------------------------------------- public


def flag_map(flag_da: xr.DataArray | xr.Dataset, ax: Any = None):
    """Map of a CF flag variable in categorical colours, with a legend.

    Works on the ``<var>_fill_flag`` written by ``fill`` (observed, filled, land, not
    filled) and on ``da.inpaint.mask()`` (observed, cloud, land); any variable with
    ``flag_values`` and ``flag_meanings`` will do. The legend gives each flag's share of
    the pixels shown.

    Parameters
    ----------
    flag_da : DataArray or Dataset
        The flag variable; beyond two dimensions the first index of the others is shown. A
        Dataset (what ``ds.inpaint.fill`` returns) is taken if it holds one flag variable.
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
    >>> fig = sstfill.plot.flag_map(gappy.to_dataset().inpaint.fill(model="laplace"))  # its sst_fill_flag
    """
    if isinstance(flag_da, xr.Dataset):
        flag_da = _flag_of(flag_da)
    values, meanings = _flag_meanings(flag_da)
    dims = spatial_dims(flag_da)
    image, note = first_image(flag_da, dims)
    image = image.transpose(*dims)
    grid = MapGrid(image, dims)
    fig, (axis,) = axes_for(ax, 1, (6.6, 4.0 * grid.ratio() + 1.3), 1, 1, "flag_map")
    _draw_flags(axis, grid, np.asarray(image.values), values, meanings)
    title = str(flag_da.attrs.get("long_name") or flag_da.name or "flags")
    axis.set_title(title + (f"\n{note}" if note else ""), fontsize="medium")
    return fig


def quicklook(
    gappy: xr.DataArray,
    filled: xr.DataArray | xr.Dataset,
    truth: xr.DataArray | None = None,
    *,
    flag: xr.DataArray | None = None,
    land: Any = None,
    ax: Any = None,
    title: str | None = None,
    show_error: bool = True,
):
    """Input, fill, its standard error and flags side by side; with the truth, also the error and a scatter.

    Panels: the input with its gaps (white), the filled field, the standard error of the
    filled values (when ``filled`` carries the ``<name>_error`` that ``fill`` adds: a
    sequential colour scale from 0 to its 99th percentile, observed sea light grey), the
    fill flag; when ``truth`` is given, the truth, the error ``filled - truth`` on the pixels missing from
    the input but known in the truth (diverging colours centred at 0, limits at the 99th
    percentile of its size), and filled against true values on those pixels with the 1:1
    line, RMSE and bias. The field panels share their colour limits (2nd to 98th
    percentile of the truth and the fill). Kelvin is shown as degC. Land is grey.

    Parameters
    ----------
    gappy : DataArray
        The field given to ``fill``, NaN in the gaps. Beyond two dimensions the first index
        of the others is shown; the other inputs are shown at the same step (that of a step
        selected before, e.g. ``gappy.isel(time=1)`` with the whole filled series).
    filled : DataArray or Dataset
        What ``gappy.inpaint.fill()`` returned, or what ``ds.inpaint.fill()`` returned (its
        variable of the name of ``gappy``, with the ``<name>_fill_flag`` and ``<name>_error``
        variables beside it).
    truth : DataArray, optional
        The complete field, e.g. before ``add_holes``.
    flag : DataArray, optional
        Fill flag (0 observed, 1 filled, 2 land, 3 not filled, 4 beyond reach); default: the
        ``<name>_fill_flag`` coordinate of ``filled``, else worked out from the inputs.
    land : DataArray or bool array, optional
        Land to shade grey; default: the flag's land, else pixels missing in every input.
    ax : sequence of Axes, optional
        Axes to draw into, in the order input, fill, flag (then truth, error, scatter with
        ``truth``), and the standard error last: three (six with ``truth``), or one more to
        show the standard error. A new figure by default.
    title : str, optional
        Figure title; default: the variable's ``long_name``.
    show_error : bool
        Show the standard error of the filled values when ``filled`` carries it (the
        ``<name>_error`` coordinate of ``fill(error=True)``); False leaves the panel out.

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
    >>> [ax.get_title().split(":")[0] for ax in fig.axes if ax.get_label() != "<colorbar>"][-1]
    'standard error of the fill (1 sigma)'
    >>> fig.savefig("quicklook.png", dpi=120)  # doctest: +SKIP
    >>> ds = gappy.to_dataset().inpaint.fill(model="laplace")  # a Dataset: its sst, flag and error
    >>> fig = sstfill.plot.quicklook(gappy, ds)
    """
    if isinstance(filled, xr.Dataset):
        filled = _field_of(filled, getattr(gappy, "name", None), "filled")
    for what, obj in (("gappy", gappy), ("filled", filled), ("truth", truth)):
        if isinstance(obj, xr.Dataset):
            raise TypeError(f"quicklook takes DataArrays; {what} is a Dataset. Pass one variable, e.g. ds['sst'] (only filled may be the Dataset of ds.inpaint.fill).")
    dims = spatial_dims(gappy)
    image, note = first_image(gappy, dims)
    image = image.transpose(*dims).load()
    grid = MapGrid(image, dims)
    units = _units(gappy)

    def shown(da: xr.DataArray, what: str) -> xr.DataArray:
        """The image shown, loaded once (with its coordinates: one dask compute)."""
        if not isinstance(da, xr.DataArray):
            raise TypeError(f"quicklook takes DataArrays; {what} is a {type(da).__name__}.")
        missing = [d for d in dims if d not in da.dims]
        if missing:
            raise ValueError(f"{what} has dims {da.dims} but the input's map is on {dims}; they must share the grid.")
        return da.isel({d: step_index(da, d, image, what) for d in da.dims if d not in dims}).transpose(*dims, ...).load()

    def values_of(da: xr.DataArray, what: str) -> np.ndarray:
        # a field without its own units is taken to be in the input's
        out = to_celsius(np.asarray(da.values, dtype="float64"), da.attrs["units"] if "units" in da.attrs else gappy.attrs.get("units"))
        if out.shape != image.shape:
            raise ValueError(f"{what} has shape {out.shape} on the map but the input has {image.shape}; they must share the grid.")
        return out

    g = values_of(image, "gappy")
    filled = shown(filled, "filled")
    f = values_of(filled, "filled")
    t = values_of(shown(truth, "truth"), "truth") if truth is not None else None

    flag = _find_flag(filled) if flag is None else flag
    if flag is not None:
        codes = select_image(flag, dims, g, "flag", at=image).astype("float64")
        flag_values, meanings = _flag_meanings(flag)
    else:
        flag_values, meanings = list(FILL_FLAGS), list(FILL_FLAGS.values())
        codes = np.where(np.isfinite(g), 0, np.where(np.isfinite(f), 1, 3)).astype("float64")
    if land is not None:
        land_mask = select_image(land, dims, g, "land", at=image).astype(bool)
    elif flag is not None and "land" in meanings:
        land_mask = codes == flag_values[meanings.index("land")]
    else:
        land_mask = ~np.isfinite(g) & ~np.isfinite(f) & (True if t is None else ~np.isfinite(t))
    if flag is None and "land" in meanings:
        codes[land_mask & ~np.isfinite(g)] = 2

    sigma_da = _find_error(filled) if show_error else None
    sigma = None
    if sigma_da is not None:
        sigma = select_image(sigma_da, dims, g, "error", at=image).astype("float64")  # a spread: kelvin and degC alike

    rows = 2 if truth is not None else 1
    row_height = 3.3 * grid.ratio() + 1.4
    if sigma is not None and ax is not None:
        n_given = np.asarray(ax, dtype=object).size
        if n_given == 3 * rows:  # no room for it: drawn as before the standard error existed
            sigma = None
        elif n_given != 3 * rows + 1:
            raise ValueError(f"quicklook draws {3 * rows} panels here; pass ax= a sequence of {3 * rows} Axes, or {3 * rows + 1} to show the standard error too (got {n_given}).")
    if sigma is None or ax is not None:
        fig, axes = axes_for(ax, 3 * rows + (sigma is not None), (15.0, rows * row_height + 0.5), rows, 3, "quicklook")
    else:
        # four columns, each error map under the standard error: input | fill | standard error | flag,
        # then truth | scatter | filled - truth (the flag's legend below it); axes in the order of ax=
        fig = pyplot().figure(figsize=(19.0, rows * row_height + 0.5), layout="constrained")
        gs = fig.add_gridspec(rows, 4)
        places = [(0, 0), (0, 1), (0, 3)] + ([(1, 0), (1, 2), (1, 1)] if truth is not None else []) + [(0, 2)]
        axes = [fig.add_subplot(gs[i, j]) for i, j in places]
    cmap = _cmap()
    vmin, vmax = _limits(t, f)
    quantity = "SST" if _is_temperature(gappy) else str(gappy.name or "value")
    cbar_label = f"{quantity} ({units})" if units else quantity

    def field_panel(axis, values, panel_title):
        artist = grid.draw(axis, values, cmap=cmap, vmin=vmin, vmax=vmax)
        land_layer(axis, grid, land_mask)
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
    if sigma is not None:
        _error_panel(fig, axes[-1], grid, sigma, sea & ~np.isfinite(sigma), land_mask, display_units(sigma_da.attrs.get("units", gappy.attrs.get("units"))))

    if truth is not None:
        field_panel(axes[3], t, "truth")
        judged = missing & np.isfinite(t) & np.isfinite(f)
        err = np.where(judged, f - t, np.nan)
        lim = float(np.percentile(np.abs(err[judged]), 99)) if judged.any() else 1.0
        lim = lim if lim > 0 else 1e-3
        grid.shade(axes[4], sea & ~judged, UNSCORED_COLOUR)
        artist = grid.draw(axes[4], err, cmap="RdBu_r", vmin=-lim, vmax=lim)
        land_layer(axes[4], grid, land_mask)
        grid.label(axes[4])
        axes[4].set_title("error where the input was missing\n(light grey: observed, not filled or no truth)", fontsize="medium")
        diff_units = units if units else ""
        fig.colorbar(artist, ax=axes[4], label=f"filled - truth ({diff_units})" if diff_units else "filled - truth", shrink=0.9, extend="both")
        _scatter(axes[5], t[judged], f[judged], units)

    if title is None:
        title = str(gappy.attrs.get("long_name") or gappy.name or "field")
    fig.suptitle(title + (f"\n{note}" if note else ""))
    return fig


def _error_panel(fig, ax, grid: MapGrid, sigma: np.ndarray, unshown: np.ndarray, land_mask: np.ndarray, units: str) -> None:
    """The standard error of the filled values: sequential colours from 0, the rest light grey."""
    finite = sigma[np.isfinite(sigma)]
    top = float(np.percentile(finite, 99)) if finite.size else 1.0
    top = top if top > 0 else 1e-3
    grid.shade(ax, unshown, UNSCORED_COLOUR)
    artist = grid.draw(ax, sigma, cmap=ERROR_CMAP, vmin=0.0, vmax=top)
    land_layer(ax, grid, land_mask)
    grid.label(ax)
    median = f"median {np.median(finite):.3g} {units}".rstrip() if finite.size else "nothing filled"
    ax.set_title(f"standard error of the fill (1 sigma): {median}\n(light grey: observed or not filled)", fontsize="medium")
    fig.colorbar(artist, ax=ax, label=f"error (1 sigma, {units})" if units else "error (1 sigma)", shrink=0.9, extend="max")


def _scatter(ax, truth: np.ndarray, filled: np.ndarray, units: str) -> None:
    """Filled against true values with the 1:1 line; RMSE and bias in the title."""
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
    ax.set_title(f"RMSE {rmse(filled, truth):.3f}{u}, bias {bias(filled, truth):+.3f}{u}\n({truth.size:,} pixels missing from the input and filled)", fontsize="medium")


