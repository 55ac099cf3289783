"""Time axes users really have: cftime calendars, undated steps, model output, numbers with CF units, long archives."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sstfill  # noqa: F401  (registers the accessor)
import sstfill.testing
from sstfill.errors import InputDataError
from sstfill.xr.climatology import monthly_climatology
from sstfill.xr.series import step_days, typical_step_days

from cli_run import run_cli  # tests/cli_run.py


@pytest.fixture(scope="module")
def daily() -> xr.DataArray:
    gappy, _ = sstfill.testing.synthetic_sst(64, 64, nt=6).inpaint.add_holes("clouds", fraction=0.3, seed=0)
    return gappy


@pytest.fixture(scope="module")
def monthly() -> xr.DataArray:
    with xr.open_dataset(files("sstfill") / "data" / "sample_ersst_pacific.nc") as ds:
        sst = ds["sst"].load()
    gappy, _ = sst.inpaint.add_holes("clouds", fraction=0.3, seed=0)
    return gappy


def _observed_kept(out: xr.DataArray, gappy: xr.DataArray) -> bool:
    seen = np.isfinite(gappy.values)
    return bool(np.array_equal(out.values[seen], gappy.values[seen]))


@pytest.mark.parametrize(("calendar", "chunked"), [(None, False), ("noleap", True)])
def test_a_step_without_a_date_costs_the_other_steps_nothing(daily, calendar, chunked):
    # one NaT used to make every step's offset NaT: the whole series lost its neighbouring days, silently
    dates = daily.time.values if calendar is None else xr.date_range("2021-01-01", periods=6, calendar=calendar, use_cftime=True).values
    undated = dates.copy()
    undated[4] = None if calendar else np.datetime64("NaT")
    field = daily.assign_coords(time=undated)
    with pytest.warns(UserWarning, match=r"'sst': 1 step\(s\) of its time coordinate 'time' have no date \(NaT; index 4\).*isel"):
        out = (field.chunk(time=2) if chunked else field).inpaint.fill("laplace").compute()
    dated = daily.assign_coords(time=dates).isel(time=[0, 1, 2, 3, 5])
    np.testing.assert_array_equal(out.isel(time=[0, 1, 2, 3, 5]).values, dated.inpaint.fill("laplace").values)  # the same neighbours
    np.testing.assert_array_equal(out.values[4], daily.isel(time=4).inpaint.fill("laplace").values)  # filled alone
    assert _observed_kept(out, field)


def test_a_monthly_series_with_an_undated_step_is_refused_not_filled_without_its_climatology(monthly):
    # "auto" used to drop the climatology silently (4.9 against 0.5 degC on ERSST), "monthly" raised a bare KeyError
    times = monthly.time.values.copy()
    times[5] = np.datetime64("NaT")
    for climatology in ("auto", "monthly"):
        with pytest.raises(InputDataError, match=r"'sst'.*'time' have no date \(NaT; index 5\).*isel\(time=.*climatology=None"):
            monthly.assign_coords(time=times).inpaint.fill("laplace", climatology=climatology)
    noleap = xr.date_range("2010-01-15", periods=48, freq="MS", calendar="noleap", use_cftime=True).values.astype(object)
    noleap[5] = None  # a cftime axis with a missing stamp: a TypeError before
    with pytest.raises(InputDataError, match="no date"):
        monthly.assign_coords(time=noleap).inpaint.fill("laplace")
    with pytest.warns(UserWarning, match="filled alone"):
        out = monthly.assign_coords(time=times).inpaint.fill("laplace", climatology=None)  # the fix the message names
    assert _observed_kept(out, monthly)


@pytest.mark.parametrize("calendar", ["standard", "360_day"])
def test_a_model_time_dimension_without_cf_attributes_is_the_time_axis(daily, calendar):
    # ROMS names it ocean_time (long_name "time since initialization"): it was taken for one more dimension, so
    # the series got no neighbouring days, no persistence, and the single-image model
    dates = xr.date_range("2021-01-01", periods=6, calendar=calendar, use_cftime=calendar != "standard")
    on_time = daily.assign_coords(time=dates)
    roms = on_time.rename(time="ocean_time").assign_coords(ocean_time=("ocean_time", dates, {"long_name": "time since initialization"}))
    expected = on_time.inpaint.fill("laplace")
    assert "neighbouring days" in expected.attrs["comment"]
    out = roms.chunk(ocean_time=3).inpaint.fill("laplace")
    np.testing.assert_array_equal(out.values, expected.values)
    assert out.attrs["comment"] == expected.attrs["comment"]


def test_months_since_a_date_as_the_iri_data_library_stores_them(monthly, tmp_path):
    # "months since 1960-01-01", calendar "360", mid-month stamps: xarray cannot decode it (decode_times=False),
    # and climatology="auto" left the seasonal cycle in the gaps without a word
    path = tmp_path / "iri.nc"
    stamps = np.arange(monthly.sizes["time"]) + 600.5  # 600 months after January 1960: January 2010
    monthly.to_dataset().assign_coords(time=("time", stamps, {"units": "months since 1960-01-01", "calendar": "360"})).to_netcdf(path)
    with pytest.raises(ValueError, match="unable to decode time units"):
        xr.open_dataset(path)
    with xr.open_dataset(path, decode_times=False) as ds:
        raw = ds["sst"].load()
    expected = monthly.inpaint.fill("laplace")
    assert "monthly climatology (4 years)" in expected.attrs["comment"]
    out = raw.inpaint.fill("laplace")  # "360" is CF's 360_day, in which cftime counts months
    assert "monthly climatology (4 years)" in out.attrs["comment"]
    np.testing.assert_array_equal(out.values, expected.values)
    np.testing.assert_array_equal(out.time.values, stamps)  # the coordinate as it came


def test_a_millennium_of_monthly_maps_in_datetime64_is_still_monthly():
    # past1000 + historical (850-2005) in a datetime64[s] axis: its days were counted in nanoseconds, which wrap
    # every 584 years, so the steps came out 18 days apart and climatology="auto" was silently not used
    months = pd.date_range("0850-01-01", "2005-12-01", freq="MS", unit="s")
    season = 15 + 5 * np.cos(2 * np.pi * (months.month.values - 1) / 12)
    noise = np.random.default_rng(0).normal(0, 0.1, (len(months), 8, 8))
    sst = xr.DataArray((season[:, None, None] + noise).astype("float32"), dims=("time", "lat", "lon"), name="sst",
                       coords={"time": months, "lat": np.arange(30.0, 38.0), "lon": np.arange(-130.0, -122.0)})
    assert typical_step_days(sst, ("lat", "lon")) == 31.0
    days = step_days(sst, "time")
    assert days[0] == 0 and days[-1] == (months[-1] - months[0]).days
    clim = monthly_climatology(sst, ("lat", "lon"), "auto")
    assert clim is not None and "(1156 years)" in clim.note
    np.testing.assert_allclose(clim.per_step.values[:12, 4, 4], season[:12], atol=0.02)


@pytest.mark.parametrize("calendar", ["360", "360_day"])
def test_the_command_line_fills_monthly_files_in_months_since_a_date(monthly, tmp_path, calendar):
    """IRI's "months since 1960-01-01" in calendar "360" could not be opened ('Check that the file is complete'),
    and in "360_day" (which xarray reads) the output could not be written (KeyError: 'months')."""
    stamps = np.arange(monthly.sizes["time"]) + 600.5
    ds = monthly.to_dataset().assign_coords(time=("time", stamps, {"units": "months since 1960-01-01", "calendar": calendar}))
    ds.isel(time=slice(0, 36)).to_netcdf(tmp_path / "a.nc")
    ds.isel(time=slice(36, None)).to_netcdf(tmp_path / "b.nc")
    for inputs in (["a.nc"], ["a.nc", "b.nc"]):
        res = run_cli("fill", *inputs, "out.nc", "--model", "laplace", "--no-progress", "--overwrite", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert "monthly climatology" in res.stdout + res.stderr and "warning" not in res.stderr
        with xr.open_dataset(tmp_path / "out.nc", decode_times=False) as out, xr.open_dataset(tmp_path / "a.nc", decode_times=False) as first:
            n = out.sizes["time"]
            assert n == (36 if len(inputs) == 1 else monthly.sizes["time"])
            values = xr.decode_cf(out.assign_coords(time=out.time.assign_attrs(calendar="360_day")))["time"].values
            assert [(d.year, d.month, d.day) for d in values[:2]] == [(2010, 1, 16), (2010, 2, 16)]  # the same dates
            if calendar == "360":  # kept as its numbers, as it came
                np.testing.assert_array_equal(out.time.values, stamps[:n])
            seen = np.isfinite(first["sst"].values)
            np.testing.assert_array_equal(out["sst"].values[:36][seen], first["sst"].values[seen])
            assert np.isfinite(out["sst"].values[out["sst_fill_flag"].values == 1]).all()
