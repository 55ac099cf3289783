"""The time axis of a field and each step's neighbouring steps, for models that look at them.

A model with ``time_offsets`` (in days, or in units of its ``time_step_days``) sees each
tile at the neighbouring steps too. The
neighbours are chosen by time, not by index (:func:`sstfill.kernels.windows.neighbour_steps`):
a series with missing days or irregular steps gets, for each offset, the step nearest to it
within half a unit of the offsets (half a day for the bundled models), or none. A field without a time axis, or with one step, gets none, and
the same model fills it from the image alone.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from sstfill.kernels.windows import TimeContext, neighbour_steps

__all__ = ["AUTO_CONTEXT_SHARE", "COARSE_STEP_DAYS", "UNIT_DAYS", "auto_init_name", "auto_model_name", "find_time_dim", "wants_auto", "share_with_neighbours", "step_days", "time_context", "time_coordinate", "typical_step_days", "undated_steps", "warn_if_undated"]

#: A series whose typical step is at least this many days (every other day, weekly,
#: monthly) gets, when a model with neighbouring steps is trained or adapted on it, offsets
#: counted in its own steps (``time_step_days``): the neighbours are then the adjacent steps.
COARSE_STEP_DAYS = 1.5


def find_time_dim(da: xr.DataArray, spatial_dims: tuple[str, ...]) -> str | None:
    """The time dimension of ``da``: the one cf-xarray calls T, else one named ``time``; None if neither.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((2, 3, 3)), dims=("time", "lat", "lon"))
    >>> find_time_dim(da, ("lat", "lon"))
    'time'
    >>> find_time_dim(da.rename(time="ocean_time").assign_coords(ocean_time=xr.date_range("2021-01-01", periods=2)), ("lat", "lon"))
    'ocean_time'
    """
    import cf_xarray  # noqa: F401  (registers the .cf accessor)

    candidates = [d for d in da.cf.axes.get("T", []) if d in da.dims and d not in spatial_dims]
    if not candidates and "time" in da.dims and "time" not in spatial_dims:
        candidates = ["time"]
    if not candidates:  # a dimension of dates without CF attributes (ROMS' ocean_time: long_name "time since initialization")
        candidates = [d for d in da.dims if d not in spatial_dims and d in da.coords and time_coordinate(da, d) is not None]
    return candidates[0] if candidates else None


#: Days in a unit of a numeric time coordinate that holds no dates: no reference date in its
#: units (``"days"``), or a calendar that neither xarray nor :func:`time_coordinate` knows; a
#: mean Gregorian month and year.
UNIT_DAYS = {"day": 1.0, "d": 1.0, "hour": 1 / 24, "hr": 1 / 24, "h": 1 / 24, "minute": 1 / 1440, "min": 1 / 1440,
             "second": 1 / 86400, "sec": 1 / 86400, "s": 1 / 86400, "week": 7.0, "month": 365.2425 / 12, "year": 365.2425}


#: Calendars named otherwise than CF names them (the IRI Data Library's ``"360"``).
CALENDAR_ALIASES = {"360": "360_day", "365": "365_day", "366": "366_day"}


def time_coordinate(da: xr.DataArray, dim: str) -> xr.DataArray | None:
    """``dim``'s coordinate as dates (datetime64 or cftime); None when it holds none.

    A numeric coordinate with CF units ``"<unit> since <date>"`` (as a file opened with
    ``decode_times=False`` keeps it) is decoded as xarray decodes it, a calendar named
    otherwise than CF names it (IRI's ``"360"``) with its CF name.

    Examples
    --------
    >>> raw = xr.DataArray(np.zeros(2), dims="time", coords={"time": ("time", [0, 36], {"units": "hours since 2021-01-01"})})
    >>> str(time_coordinate(raw, "time").values[1])[:19]
    '2021-01-02T12:00:00'
    >>> time_coordinate(raw.assign_coords(time=[0, 1]), "time") is None  # numbers without a reference date
    True
    >>> iri = raw.assign_coords(time=("time", [600.5, 601.5], {"units": "months since 1960-01-01", "calendar": "360"}))
    >>> [str(d) for d in time_coordinate(iri, "time").values]  # mid-month stamps in a 360-day calendar
    ['2010-01-16 00:00:00', '2010-02-16 00:00:00']
    """
    coord = da.coords.get(dim)
    if coord is None:
        return None
    if np.issubdtype(coord.dtype, np.number):
        if " since " not in str(coord.attrs.get("units", "")).lower():
            return None
        calendar = str(coord.attrs.get("calendar", "")).strip().lower()
        variable = coord.variable if calendar not in CALENDAR_ALIASES else xr.Variable(
            coord.dims, coord.values, {**coord.attrs, "calendar": CALENDAR_ALIASES[calendar]})  # then cftime reads e.g. months in 360_day
        try:
            coord = xr.decode_cf(xr.Dataset(coords={dim: variable}))[dim]
        except (ValueError, OverflowError):  # e.g. months since a date in the standard calendar: numbers, not dates
            return None
    dated = ~undated_steps(coord.values)
    if np.issubdtype(coord.dtype, np.datetime64) or (coord.dtype == object and dated.any() and hasattr(coord.values[dated].flat[0], "toordinal")):
        return coord
    return None


def undated_steps(values: Any) -> np.ndarray:
    """Which of ``values`` (dates, cftime dates or numbers) are missing: NaT, None or NaN.

    >>> undated_steps(np.array(["2021-01-01", "NaT"], dtype="datetime64[s]")).tolist()
    [False, True]
    """
    return np.asarray(pd.isnull(np.asarray(values)), dtype=bool)


def step_days(da: xr.DataArray, dim: str) -> np.ndarray:
    """The steps of ``dim`` in days, from the first: from its dates (:func:`time_coordinate`), a numeric coordinate's units, else one day per index.

    Numbers that are no dates (no reference date, an unknown calendar) count
    :data:`UNIT_DAYS`. A step without a date (NaT) is NaN: it has no neighbouring step.

    Examples
    --------
    >>> import pandas as pd
    >>> da = xr.DataArray(np.zeros(3), dims="time", coords={"time": pd.to_datetime(["2021-01-01T00:00", "2021-01-02T00:00", "2021-01-04T12:00"])})
    >>> step_days(da, "time").tolist()
    [0.0, 1.0, 3.5]
    >>> raw = da.assign_coords(time=("time", [0, 24, 84], {"units": "hours since 2021-01-01"}))  # as decode_times=False reads it
    >>> step_days(raw, "time").tolist()
    [0.0, 1.0, 3.5]
    >>> step_days(da.assign_coords(time=("time", [0, 2, 4])), "time").tolist()  # no units: one day per step
    [0.0, 1.0, 2.0]
    """
    dates = time_coordinate(da, dim)
    if dates is not None:  # NaN for a step without a date (NaT): it has no neighbour and is none
        values = dates.values
        dated = ~undated_steps(values)
        if not dated.any():
            return np.full(values.shape, np.nan)
        first = values[dated].min()
        if np.issubdtype(values.dtype, np.datetime64):  # in milliseconds: a millennium in datetime64[us] overflowed nanoseconds
            values, first = values.astype("datetime64[ms]"), np.datetime64(first, "ms")
            return np.where(dated, (values - first) / np.timedelta64(1, "D"), np.nan).astype("float64")
        return np.array([(v - first).total_seconds() / 86400 if ok else np.nan for v, ok in zip(values, dated)], dtype="float64")  # cftime
    coord = da.coords.get(dim)
    if coord is not None and np.issubdtype(coord.dtype, np.number):
        unit = str(coord.attrs.get("units", "")).strip().lower().split(" since ")[0].strip()
        days = UNIT_DAYS.get(unit) or UNIT_DAYS.get(unit.removesuffix("s"))  # "s" is seconds; "days" is "day"
        if days is not None:
            values = coord.values.astype("float64")
            return (values - np.nanmin(values)) * days if np.isfinite(values).any() else np.full(values.shape, np.nan)
    return np.arange(da.sizes[dim], dtype="float64")


def warn_if_undated(work: xr.DataArray, spatial_dims: tuple[str, ...]) -> None:
    """Warn when steps of ``work``'s time axis have no date (NaT): each is filled alone, with no neighbouring step, and is none.

    Examples
    --------
    >>> import pandas as pd, pytest
    >>> da = xr.DataArray(np.zeros((2, 2, 2)), dims=("time", "y", "x"), coords={"time": pd.to_datetime(["2021-01-01", None])}, name="sst")
    >>> with pytest.warns(UserWarning, match="no date"):
    ...     warn_if_undated(da, ("y", "x"))
    """
    dim = find_time_dim(work, spatial_dims)
    dates = None if dim is None or work.sizes[dim] < 2 else time_coordinate(work, dim)
    undated = np.zeros(0, dtype=bool) if dates is None else undated_steps(dates.values)
    if undated.any():
        name = work.name if work.name is not None else "field"
        warnings.warn(
            f"Variable {name!r}: {int(undated.sum())} step(s) of its time coordinate {dim!r} have no date (NaT; index "
            f"{', '.join(map(str, np.flatnonzero(undated)[:5]))}): each is filled alone, without neighbouring steps, and is no step's neighbour. "
            f"Give those steps their dates, or drop them: {name}.isel({dim}={name}[{dim!r}].notnull()).",
            UserWarning,
            stacklevel=4,
        )


def typical_step_days(da: xr.DataArray, spatial_dims: tuple[str, ...]) -> float | None:
    """The median step of ``da``'s time axis in days; None without a time axis of 2 steps or more.

    Examples
    --------
    >>> import pandas as pd
    >>> da = xr.DataArray(np.zeros(4), dims="time", coords={"time": pd.date_range("2010-01-01", periods=4, freq="MS")})
    >>> typical_step_days(da, ())
    31.0
    """
    dim = find_time_dim(da, spatial_dims)
    return None if dim is None else _median_step(step_days(da, dim))


def _median_step(days: np.ndarray) -> float | None:
    """The median of the positive steps between sorted ``days``; None if there is none."""
    steps = np.diff(np.sort(days))
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else None


#: ``fill()`` without a model uses the bundled ``context`` model on a series in which at
#: least this share of the steps has a neighbouring step at its offsets, and the bundled
#: ``default`` model otherwise (:func:`auto_model_name`).
AUTO_CONTEXT_SHARE = 0.5


def wants_auto(model: Any) -> bool:
    """True for ``None`` and ``"auto"`` (any case): the bundled model is to be chosen for the field.

    >>> wants_auto(None), wants_auto("Auto"), wants_auto("default")
    (True, True, False)
    """
    return model is None or (isinstance(model, str) and model.lower() == "auto")


def _neighbours(work: xr.DataArray, model: Any, spatial_dims: tuple[str, ...]) -> tuple[str, np.ndarray, np.ndarray] | None:
    """(time dim, days of its steps, neighbouring steps (n_steps, n_offsets), -1 for none) of ``work`` for ``model``; None without offsets or 2 steps."""
    offsets = tuple(getattr(model, "time_offsets", ()) or ())
    if not offsets:
        return None
    dim = find_time_dim(work, spatial_dims)
    if dim is None or work.sizes[dim] < 2:
        return None
    days = step_days(work, dim)
    return dim, days, neighbour_steps(days / getattr(model, "time_step_days", 1.0), offsets)


def share_with_neighbours(work: xr.DataArray, model: Any, spatial_dims: tuple[str, ...]) -> float:
    """The share of the steps of ``work`` that have a neighbouring step at ``model``'s offsets (0 without any).

    Examples
    --------
    >>> import pandas as pd
    >>> class Daily:
    ...     time_offsets = (-1.0, 1.0)
    >>> days = pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-10", "2021-01-20"])
    >>> da = xr.DataArray(np.zeros((4, 2, 2)), dims=("time", "y", "x"), coords={"time": days})
    >>> share_with_neighbours(da, Daily(), ("y", "x"))
    0.5
    """
    found = _neighbours(work, model, spatial_dims)
    return 0.0 if found is None else float((found[2] >= 0).any(axis=1).mean())


def auto_model_name(work: xr.DataArray, spatial_dims: tuple[str, ...]) -> str:
    """The bundled model ``fill()`` uses when it is given none: ``"context"`` on a series, else ``"default"``.

    ``"context"`` when at least :data:`AUTO_CONTEXT_SHARE` of the steps of ``work`` have a
    neighbouring step at the bundled ``context`` model's offsets (daily maps, within 2
    days), since it is the better model there (held-out MUR series: 0.164 against 0.200
    degC); ``"default"`` for single images, monthly maps and sparse series, where the
    ``context`` model is the worse one (SLSTR L2: 0.244 against 0.225). See the
    context guide.

    Examples
    --------
    >>> import pandas as pd
    >>> days = xr.DataArray(np.zeros((3, 8, 8)), dims=("time", "lat", "lon"), coords={"time": pd.date_range("2021-01-01", periods=3)})
    >>> auto_model_name(days, ("lat", "lon")), auto_model_name(days.isel(time=0), ("lat", "lon"))
    ('context', 'default')
    """
    from sstfill.models.store import load_bundled_model

    dim = find_time_dim(work, spatial_dims)
    if dim is None or work.sizes[dim] < 2:  # a single image: no need to load the context model
        return "default"
    return "context" if share_with_neighbours(work, load_bundled_model("context"), spatial_dims) >= AUTO_CONTEXT_SHARE else "default"


def auto_init_name(work: xr.DataArray, spatial_dims: tuple[str, ...]) -> str:
    """The bundled model that adapting to ``work`` starts from with ``init="auto"``: ``"context"`` on any series, else ``"default"``.

    Unlike :func:`auto_model_name`, any series of 2 steps or more: adapting counts the
    context model's offsets in the series' own steps when they are coarser than daily
    (monthly maps: the adjacent months), and it adapts better than the default model on
    every series measured (``docs/benchmarks/adapt.md``, 5 minutes: ERSST v5 monthly 0.434
    against 0.501 degC, MUR SoCal 0.116 against 0.147, MUR Arabian Sea 0.277 against 0.335).

    Examples
    --------
    >>> import pandas as pd
    >>> months = xr.DataArray(np.zeros((3, 8, 8)), dims=("time", "lat", "lon"), coords={"time": pd.date_range("2010-01-01", periods=3, freq="MS")})
    >>> auto_init_name(months, ("lat", "lon")), auto_model_name(months, ("lat", "lon"))
    ('context', 'default')
    """
    dim = find_time_dim(work, spatial_dims)
    return "context" if dim is not None and work.sizes[dim] >= 2 else "default"


def time_context(work: xr.DataArray, model: Any, spatial_dims: tuple[str, ...]) -> TimeContext | None:
    """The :class:`TimeContext` of ``work`` (dims: others, then y, x) for ``model``; None when not needed.

    None when the model looks at no neighbouring steps, ``work`` has no time axis, or no
    step has a neighbour within the model's offsets; in that last case, a series coarser
    than the model's step (a daily model on monthly maps) gets a warning that says how to
    adapt the model to it.
    """
    found = _neighbours(work, model, spatial_dims)
    if found is None:
        return None
    dim, days, steps = found
    offsets, unit = tuple(model.time_offsets), getattr(model, "time_step_days", 1.0)
    if not (steps >= 0).any():
        typical = _median_step(days)
        if typical is not None and typical >= COARSE_STEP_DAYS * unit:
            warnings.warn(
                f"Variable {work.name!r}: its steps are {typical:g} days apart, so no step has a neighbour at the model's offsets "
                f"({', '.join(f'{t:+g}' for t in offsets)} {'d' if unit == 1 else f'x {unit:g} d'}) and each image is filled alone. To use the neighbouring steps, "
                f"adapt the model to this series: ds.inpaint.train(var, init=model, max_minutes=5) (or sstfill train --init) counts "
                f"its offsets in the series' steps.",
                UserWarning,
                stacklevel=4,
            )
        return None
    axis = work.dims.index(dim)
    chunks = work.chunks[axis] if work.chunks is not None else (work.sizes[dim],)
    return TimeContext(axis, steps, tuple(int(c) for c in chunks))
