"""The fill of one field: from a DataArray with gaps to the filled DataArray with its flag and error.

:func:`fill_field` is what ``da.inpaint.fill(...)`` and ``ds.inpaint.fill(...)`` run; the
accessor (:mod:`sstfill.xr.accessor`) only validates and wraps. The maths lives below it:
grids in :mod:`sstfill.xr.grid`, land in :mod:`sstfill.xr.land`, the tiles in
:mod:`sstfill.xr.dispatch`, metadata in :mod:`sstfill.xr.cf`.
"""

from __future__ import annotations

import warnings
from typing import Any

import xarray as xr

from sstfill.errors import ModelMismatchError
from sstfill.kernels.persistence import blended_sigma
from sstfill.kernels.tiling import TilePlan
from sstfill.kernels.uncertainty import FALLBACK_ERROR_MODEL
from sstfill.models.store import model_source, resolve_model
from sstfill.xr import cf
from sstfill.xr.climatology import monthly_climatology
from sstfill.xr.dispatch import fill_array, harmonic_fallback
from sstfill.xr.uncertainty import error_array
from sstfill.xr.fields import check_field, without_earlier_fill
from sstfill.xr.grid import SpatialGrid, canonical_orientation, find_grid, missing_grid_mappings, with_coordinates_in_memory, with_grid_mapping
from sstfill.xr.land import find_land
from sstfill.xr.persistence import NOTE as PERSISTENCE_NOTE, blend_neighbour_days
from sstfill.xr.reach import reach_mask, unlocated_pixels
from sstfill.xr.series import auto_model_name, time_context, wants_auto, warn_if_undated

__all__ = ["fill_field"]


def fill_field(
    da: xr.DataArray,
    model: Any = None,
    dataset: xr.Dataset | None = None,
    *,
    land: Any = "auto",
    tile: int | None = None,
    overlap: int = 16,
    stitch: bool = True,
    batch_size: int | None = None,
    min_observed: float = 0.0,
    fallback: bool = True,
    device: str | None = "auto",
    precision: str | None = None,
    max_distance: Any = "auto",
    error: bool = True,
    climatology: Any = "auto",
    persistence: bool = True,
) -> xr.DataArray:
    """Fill ``da``'s gaps: what :meth:`~sstfill.xr.accessor.DataArrayInpaint.fill` does; land is also looked for in ``dataset``.

    The steps, each from its own module: an earlier fill's pixels made gaps again
    (:mod:`sstfill.xr.fields`), the grid and one canonical orientation
    (:mod:`sstfill.xr.grid`), land (:mod:`sstfill.xr.land`), the climatology, the reach,
    each step's neighbouring steps, the tiles and fallback (:mod:`sstfill.xr.dispatch`), the
    neighbouring days' guess (:mod:`sstfill.xr.persistence`), the error, then the flag and
    the CF metadata (:mod:`sstfill.xr.cf`). Arguments as in
    :meth:`~sstfill.xr.accessor.DataArrayInpaint.fill`.

    Examples
    --------
    >>> import sstfill.testing
    >>> gappy, _ = sstfill.testing.synthetic_sst(96, 96).inpaint.add_holes("clouds", fraction=0.3, seed=0)
    >>> out = fill_field(gappy, "laplace", land=None)
    >>> int(out.isnull().sum()), [n for n in out.coords if n.startswith("sst_")]
    (0, ['sst_fill_flag', 'sst_error'])
    >>> bool((out == gappy).where(gappy.notnull(), True).all())  # observed pixels as they were
    True
    """
    name = da.name if da.name is not None else "field"
    outputs = flag_name, error_name = cf.output_names(name)
    da = without_earlier_fill(da, dataset)  # an earlier fill's pixels are gaps again; its flag and error replaced, never left stale
    da, borrowed = with_grid_mapping(da, dataset)  # a projected field's CRS, kept by xarray as a data variable of the dataset
    da = with_coordinates_in_memory(da)  # a swath's lazy 2-D latitude/longitude: read once, not at every look at the grid
    check_field(da)
    grid = find_grid(da)
    _warn_if_grid_mapping_missing(da, grid, dataset)
    work = da.transpose(*[d for d in da.dims if d not in grid.dims], *grid.dims)  # other dims, then y, x
    model = resolve_model(auto_model_name(work, grid.dims) if wants_auto(model) else model, device, precision)  # context on daily series
    model_tile = getattr(model, "tile_size", None)
    if tile is not None and model_tile is not None and tile != model_tile:
        raise ModelMismatchError(
            f"Variable {name!r}: tile={tile} but the model was trained on {model_tile}x{model_tile} "
            f"tiles. Drop the tile argument or pass tile={model_tile}."
        )
    plan = TilePlan(tile or model_tile or 64, overlap, margin=getattr(model, "context_margin", 0), stitch=stitch)
    land_da = find_land(da, grid, land, dataset)
    land_data = None
    if land_da is not None:
        land_da = land_da.transpose(*[d for d in work.dims if d in land_da.dims])
        # trailing dims broadcast as they are; anything else is broadcast explicitly
        aligned = land_da.dims == work.dims[work.ndim - land_da.ndim :]
        land_data = land_da.data if aligned else xr.broadcast(land_da, work)[0].transpose(*work.dims).data
    unlocated = unlocated_pixels(work, grid)  # a swath's pixels with no latitude/longitude: never filled, flagged not_filled
    if unlocated is not None:
        land_data = unlocated if land_data is None else land_data | unlocated
    orientation = canonical_orientation(work, grid)  # a mirrored or rolled copy of the field is filled the same, bit for bit
    canon, canon_land = orientation.apply(work), orientation.apply_data(land_data)  # land's leading dims as they are
    table = orientation.apply(climatology) if isinstance(climatology, xr.DataArray) else climatology  # matched by position
    clim = monthly_climatology(canon, grid.dims, table, canon_land, periodic_x=grid.periodic)
    warn_if_undated(canon, grid.dims)  # steps without a date (NaT): filled alone
    target = canon if clim is None else clim.anomalies(canon)  # what the model fills
    beyond = reach_mask(canon, grid, max_distance, canon_land)  # gaps beyond the data's reach: filled as land, flagged 4
    if beyond is not None:
        canon_land = beyond.data if canon_land is None else beyond.data | canon_land
        beyond = orientation.undo(beyond, like=work)
    series = time_context(canon, model, grid.dims)  # each step's neighbouring steps, for a model that sees them
    filled_data = fill_array(
        target.data, canon_land, model=model, plan=plan, periodic_x=grid.periodic,
        batch_size=batch_size, min_observed=min_observed, fallback=fallback, time=series,
    )
    fill_weight = guess_spread = None  # the fill's weight where the neighbouring days' guess was blended in, the guess's spread
    if persistence:  # far from a day's data, the neighbouring days' observations (sstfill.kernels.persistence)
        filled_data, fill_weight, guess_spread = blend_neighbour_days(target, filled_data, canon_land, grid, harmonic_fallback, error=error)
    filled = canon.copy(data=filled_data)
    if clim is not None:  # the error's features are those of the field, not of its anomalies (calibrated so on ERSST)
        filled = clim.restore(canon, filled)
    coords = {}
    if error:  # the standard error of each filled value, from the model's error model, in the fill's orientation
        error_model = getattr(model, "error_model", None) or FALLBACK_ERROR_MODEL
        sigma = canon.copy(data=error_array(canon.data, filled.data, error_model=error_model, time=series, periodic_x=grid.periodic))
        if fill_weight is not None:  # blended pixels: between the fill's error and the guess's
            sigma = sigma.copy(data=blended_sigma(sigma.data, fill_weight, guess_spread, error_model.guess_ratio, error_model.guess_cap))
        coords[error_name] = cf.error_variable(orientation.undo(sigma, like=work).transpose(*da.dims), da, error_model.fitted_on)
    filled = orientation.undo(filled, like=work)
    coords = {flag_name: cf.fill_flag(work, filled, land_da, beyond, da), **coords}
    filled = filled.transpose(*da.dims)
    source = model_source(model)  # which file or bundled model: a preset's name does not say
    description = ", ".join([model.description] + ([source] if source else []) + ([clim.note] if clim is not None else []) + ([PERSISTENCE_NOTE] if fill_weight is not None else []))
    filled.attrs = cf.filled_attrs(da, description, flag_name, error_name if error else None, replaced=outputs)
    filled.encoding = cf.clean_encoding(da.encoding, da.dtype)
    return filled.assign_coords(coords).drop_vars(borrowed)


def _warn_if_grid_mapping_missing(da: xr.DataArray, grid: SpatialGrid, dataset: xr.Dataset | None) -> None:
    """Warn when a projected field names a grid mapping it does not carry (``ds['sst']`` of a file opened with xarray's defaults).

    Its x/y then cannot be put on the Earth: no land by position, distances on the map.
    """
    lost = missing_grid_mappings(da)
    if not (lost and grid.kind == "projected" and grid.crs_wkt is None and (grid.lat is None or grid.lon is None)):
        return
    name = da.name if da.name is not None else "field"
    fix = (f"the file has no variable {lost[0]!r} either: add the grid mapping to it" if dataset is not None
           else f"fill it from its Dataset (ds.inpaint.fill({name!r})) or attach it first (da.assign_coords({lost[0]}=ds[{lost[0]!r}]))")
    warnings.warn(
        f"Variable {name!r} names the grid mapping {lost[0]!r} but does not carry it, so its x/y cannot be put on the Earth: "
        f"land is not masked by position and distances are those of the map; {fix}.",
        UserWarning,
        stacklevel=4,
    )
