"""Fill a long series as anomalies from its own monthly climatology.

A gap in a multi-year series is mostly the seasonal cycle, which the series itself knows:
each pixel's mean of its observed values in the same calendar month. Filling the anomaly
from that climatology and adding it back is what DINEOF does implicitly with its leading
modes; on ERSST v5 (global, 2 degrees, 128 months, real clouds over half the ocean) it
takes the default model from 4.89 to 0.517 degC, level with DINEOF's 0.517, and the
context model adapted to the series for a minute to 0.436 (``benchmarks/seasonal_trial.py``,
``benchmarks/adapt.py``, ``docs/benchmarks/adapt.md``).

``fill(climatology="auto")`` (the default) does it for a series of monthly (or coarser)
maps, :data:`MIN_STEP_DAYS` apart or more, in which every calendar month occurs in at least
:data:`MIN_YEARS` different years, judged from the time coordinate alone; anything else
(days, a season, daily maps over many years) is filled as it is. Daily series are left
alone because it was not measured on them, and on the 6- and 10-day MUR series the series'
own mean, used the same way, made the fill 25 % worse (fronts that move from day to day
are not a climatology); ``climatology="monthly"`` asks for it on any series with dates. The climatology is computed
lazily from the observed pixels (``groupby("time.month").mean()``: one pass over the
series); a pixel never observed in some calendar month gets a harmonic fill of that
month's climatology map (land stays out). Observed pixels are returned bit for bit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from sstfill.errors import InputDataError
from sstfill.kernels.tiling import TilePlan
from sstfill.xr.series import find_time_dim, time_coordinate, typical_step_days, undated_steps

__all__ = ["MIN_YEARS", "MIN_STEP_DAYS", "NOTE", "Climatology", "monthly_climatology"]

#: Years each calendar month of a series must occur in for ``climatology="auto"`` to use one.
MIN_YEARS = 3
#: The typical step (days) of a series for ``climatology="auto"`` to use one: monthly maps.
MIN_STEP_DAYS = 25.0
#: How every :attr:`Climatology.note` begins (in the filled field's ``comment`` and ``history``).
NOTE = "as anomalies from"


@dataclass(frozen=True)
class Climatology:
    """Each step's climatology, laid out like the field it was computed for.

    Attributes
    ----------
    per_step : DataArray
        Same dims, shape and chunks (along the grid) as the field: the climatology of
        each step's calendar month.
    note : str
        What it is, for the filled field's ``comment`` and ``history``.
    """

    per_step: xr.DataArray
    note: str

    def anomalies(self, work: xr.DataArray) -> xr.DataArray:
        """``work`` minus its climatology (NaN where ``work`` is)."""
        return work - self.per_step

    def restore(self, work: xr.DataArray, filled_anomalies: xr.DataArray) -> xr.DataArray:
        """The filled field: the observed values of ``work`` bit for bit, elsewhere anomaly plus climatology."""
        restored = (filled_anomalies + self.per_step).astype(work.dtype)
        return xr.where(np.isfinite(work), work, restored, keep_attrs=False).transpose(*work.dims)


def _months(work: xr.DataArray, dim: str, dates: xr.DataArray | None) -> xr.DataArray | None:
    """The calendar month of each step, from its ``dates`` (:func:`~sstfill.xr.series.time_coordinate`); None without dates."""
    if dates is None:
        return None
    try:
        dated = ~undated_steps(dates.values)
        if dates.dtype == object and not dated.all():  # cftime dates with None among them: .dt does not take them
            month = np.array([d.month if ok else np.nan for d, ok in zip(dates.values, dated)], dtype="float64")
            return xr.DataArray(month, dims=dates.dims, coords={dim: work[dim]})
        return dates.dt.month.assign_coords({dim: work[dim]})  # on the field's own coordinate (numbers, if they were)
    except (AttributeError, TypeError):
        return None


def _auto_applies(work: xr.DataArray, dates: xr.DataArray, spatial_dims: tuple[str, str], months: xr.DataArray) -> bool:
    """``climatology="auto"``: monthly (or coarser) maps, every calendar month in :data:`MIN_YEARS` years."""
    step = typical_step_days(work, spatial_dims)
    if step is None or step < MIN_STEP_DAYS:
        return False
    years_of_month = Counter(m for _, m in {(int(y), int(m)) for y, m in zip(dates.dt.year.values, months.values)})
    return bool(years_of_month) and min(years_of_month.values()) >= MIN_YEARS


def monthly_climatology(
    work: xr.DataArray,
    spatial_dims: tuple[str, str],
    climatology: Any,
    land: Any = None,
    *,
    periodic_x: bool = False,
) -> Climatology | None:
    """The monthly climatology ``fill`` subtracts, or None when it fills the field as it is.

    Parameters
    ----------
    work : DataArray
        The field, dims (others, y, x), numpy or dask.
    spatial_dims : (y, x)
    climatology : "auto", "monthly", None, False or DataArray
        "auto": for monthly maps (:data:`MIN_STEP_DAYS` apart or more) in which every
        calendar month occurs in at least :data:`MIN_YEARS` years; "monthly": always (the series needs dates); None or False:
        never; a DataArray with a ``month`` dimension (1-12) on the field's grid: that one
        (e.g. a climatology of the whole archive, so that fills of parts of it agree).
    land : bool array (y, x), like ``work``, or None
        Pixels whose climatology is not filled.
    periodic_x : bool
        The x axis wraps around (for the harmonic fill of the climatology's gaps).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2001-01-01", periods=48, freq="MS")
    >>> season = 10 + 5 * np.cos(2 * np.pi * (t.month.values - 1) / 12)
    >>> sst = xr.DataArray(np.broadcast_to(season[:, None, None], (48, 8, 8)).copy(), dims=("time", "lat", "lon"), coords={"time": t})
    >>> sst[5, 2:5, 2:5] = np.nan
    >>> clim = monthly_climatology(sst, ("lat", "lon"), "auto")
    >>> bool(float(clim.per_step[5, 3, 3]) == season[5])
    True
    >>> monthly_climatology(sst.isel(time=slice(0, 24)), ("lat", "lon"), "auto") is None  # two years
    True
    >>> days = sst.interp(time=pd.date_range("2001-01-01", "2004-12-01", freq="D"))
    >>> monthly_climatology(days, ("lat", "lon"), "auto") is None  # daily maps: not measured, left alone
    True
    """
    if climatology is None or climatology is False:
        return None
    name = work.name if work.name is not None else "field"
    is_table = isinstance(climatology, xr.DataArray)
    if not is_table and climatology not in ("auto", "monthly"):
        raise ValueError(f"climatology={climatology!r}: use 'auto', 'monthly', None, or a DataArray with a 'month' dimension.")
    dim = find_time_dim(work, spatial_dims)
    dates = None if dim is None else time_coordinate(work, dim)
    months = _months(work, dim, dates)
    if months is None:
        if climatology == "auto":
            return None
        raise InputDataError(f"Variable {name!r} has no time axis with dates, so it has no monthly climatology.",
                             fix="Drop climatology= or give the field a datetime time coordinate (or numbers with CF units, e.g. 'days since 1800-01-01').",
                             argument="climatology")
    undated = undated_steps(dates.values)
    if undated.any():  # no calendar month: never a climatology silently skipped, nor a KeyError
        dated = {dim: np.flatnonzero(~undated)}
        if climatology == "auto" and not (undated.sum() < undated.size and _auto_applies(work.isel(dated), dates.isel(dated), spatial_dims, months.isel(dated))):
            return None
        raise InputDataError(f"Variable {name!r}: {int(undated.sum())} step(s) of its time coordinate {dim!r} have no date (NaT; index "
                             f"{', '.join(map(str, np.flatnonzero(undated)[:5]))}), so their calendar month, and their monthly climatology, is unknown.",
                             fix=f"Give those steps their dates, drop them ({name}.isel({dim}={name}[{dim!r}].notnull())), or pass climatology=None.",
                             argument="climatology")
    if is_table:
        table = _check_table(climatology, work, dim, spatial_dims, months, name)
        note = f"{NOTE} the monthly climatology passed in"
    else:
        if climatology == "auto" and not _auto_applies(work, dates, spatial_dims, months):
            return None
        observed = work.where(np.isfinite(work))
        table = observed.groupby(months.rename("month")).mean(dim).astype(work.dtype)
        table = table.transpose("month", ..., *spatial_dims)  # the maps' axes last, whatever order groupby gives
        years = np.unique(dates.dt.year.values).size
        note = f"{NOTE} its own monthly climatology ({years} years)"
    table = _fill_gaps(table, land, periodic_x)
    per_step = table.sel(month=months.values).rename(month=dim).drop_vars("month", errors="ignore")
    per_step = per_step.assign_coords({dim: work[dim]}).transpose(*[d for d in work.dims if d in per_step.dims])
    if work.chunks is not None:
        per_step = per_step.chunk({d: c for d, c in zip(work.dims, work.chunks) if d in per_step.dims})
    return Climatology(per_step, note)


def _check_table(table: xr.DataArray, work: xr.DataArray, dim: str, spatial_dims: tuple[str, str], months: xr.DataArray, name: str) -> xr.DataArray:
    """A user's climatology, checked against the field: a ``month`` dim covering the series' months, the same grid."""
    if "month" not in table.dims:
        raise InputDataError(f"The climatology for {name!r} has dims {table.dims}; it needs a 'month' dimension (1-12), e.g. sst.groupby('time.month').mean().")
    missing = set(np.unique(months.values).tolist()) - set(np.asarray(table["month"].values).tolist())
    if missing:
        raise InputDataError(f"The climatology for {name!r} has no month {sorted(missing)}; give it every calendar month of the series.")
    for d in spatial_dims:
        if table.sizes.get(d) != work.sizes[d]:
            raise InputDataError(f"The climatology for {name!r} has {table.sizes.get(d)} points along {d!r}, the field {work.sizes[d]}; regrid it to the field's grid.")
    others = [d for d in work.dims if d not in (dim, *spatial_dims)]
    # matched by position on the field's grid: coordinates that differ in the last bit (float32 vs float64) must not misalign it
    table = table.drop_vars([c for c in table.coords if c != "month"])
    return table.transpose("month", *[d for d in others if d in table.dims], *spatial_dims).astype(work.dtype)


def _fill_gaps(table: xr.DataArray, land: Any, periodic_x: bool) -> xr.DataArray:
    """The climatology maps with their ocean gaps (a pixel never observed in that month) filled harmonically."""
    from sstfill.models.store import resolve_model
    from sstfill.xr.dispatch import fill_array

    if land is not None and np.ndim(land) > 2:  # land that changes with time: land where it always is
        land = land.all(axis=tuple(range(np.ndim(land) - 2)))
    filled = fill_array(table.data, land, model=resolve_model("laplace"), plan=TilePlan(64, 16), periodic_x=periodic_x)
    return table.copy(data=filled)
