"""Filling a multi-year series as anomalies from its own monthly climatology (sstfill.xr.climatology).

On the bundled real ERSST v5 crop (Pacific, 2 degrees, 48 months) with real cloud
shapes (at half their size) hiding a third of it.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pytest
import xarray as xr

import sstfill  # noqa: F401  (registers .inpaint)
from sstfill.errors import InputDataError


@pytest.fixture(scope="module")
def ersst():
    with xr.open_dataset(files("sstfill") / "data" / "sample_ersst_pacific.nc") as ds:
        sst = ds["sst"].load()
    gappy, hidden = sst.inpaint.add_holes("clouds", fraction=0.4, seed=0, tile=32)  # shapes at half their size
    return sst, gappy, hidden


def _rmse(filled: xr.DataArray, truth: xr.DataArray, hidden: xr.DataArray) -> float:
    return float(np.sqrt(((filled - truth) ** 2).where(hidden).mean()))


def test_a_multi_year_series_is_filled_from_its_climatology_and_keeps_what_it_observed(ersst):
    sst, gappy, hidden = ersst
    plain = gappy.inpaint.fill("default", climatology=None, max_distance=None, precision="float32")
    anomalies = gappy.inpaint.fill("default", max_distance=None, precision="float32")  # "auto": 4 years of every month
    assert "monthly climatology (4 years)" in anomalies.attrs["comment"]
    assert "climatology" not in plain.attrs["comment"]
    # the seasonal cycle comes from the series: far better than filling each month alone (0.45 vs 1.09 degC when written)
    assert _rmse(anomalies, sst, hidden) < 0.6 * _rmse(plain, sst, hidden)
    observed = np.isfinite(gappy.values)
    assert np.array_equal(anomalies.values[observed], gappy.values[observed])  # bit for bit
    land = sst.isnull().values
    assert np.isnan(anomalies.values[land]).all()
    assert (anomalies["sst_fill_flag"].values[hidden.values] == 1).all()
    sigma = anomalies["sst_error"].values
    assert np.isfinite(sigma[hidden.values]).all() and np.isnan(sigma[observed]).all()


def test_a_file_opened_with_decode_times_false_is_filled_as_the_decoded_one(ersst, tmp_path):
    # its time stays numbers with CF units ("days since ..."): they are still dates, so "auto" still finds the climatology
    _, gappy, _ = ersst
    gappy.to_dataset(name="sst").to_netcdf(tmp_path / "gappy.nc")
    with xr.open_dataset(tmp_path / "gappy.nc", decode_times=False) as ds:
        raw = ds["sst"].load()
    assert np.issubdtype(raw.time.dtype, np.number) and " since " in raw.time.attrs["units"]
    filled = raw.inpaint.fill("fast", max_distance=None, precision="float32")
    decoded = gappy.inpaint.fill("fast", max_distance=None, precision="float32")
    assert "monthly climatology (4 years)" in filled.attrs["comment"]
    np.testing.assert_array_equal(filled.values, decoded.values)
    np.testing.assert_array_equal(filled.time.values, raw.time.values)  # the coordinate as it came


def test_a_series_shorter_than_three_years_is_filled_as_it_is(ersst):
    _, gappy, _ = ersst
    two_years = gappy.isel(time=slice(0, 24))
    auto = two_years.inpaint.fill("fast", max_distance=None, precision="float32")
    plain = two_years.inpaint.fill("fast", climatology=None, max_distance=None, precision="float32")
    xr.testing.assert_equal(auto, plain)  # values, flags and errors
    assert auto.attrs["comment"] == plain.attrs["comment"]
    forced = two_years.inpaint.fill("fast", climatology="monthly", max_distance=None, precision="float32")
    assert "monthly climatology (2 years)" in forced.attrs["comment"]


def test_the_climatology_fill_is_lazy_and_does_not_depend_on_the_chunks(ersst, no_compute):
    _, gappy, _ = ersst
    lazy = gappy.chunk({"time": 12, "lon": 20}).inpaint.fill("fast", max_distance=None, precision="float32")
    with pytest.raises(AssertionError, match="computed eagerly"):
        lazy.values  # noqa: B018  (nothing was computed until here)


def test_chunked_fill_equals_the_whole_fill(ersst):
    _, gappy, _ = ersst
    whole = gappy.inpaint.fill("fast", max_distance=None, precision="float32")
    chunked = gappy.chunk({"time": 12, "lon": 20}).inpaint.fill("fast", max_distance=None, precision="float32")
    np.testing.assert_array_equal(chunked.values, whole.values)
    np.testing.assert_array_equal(chunked["sst_error"].values, whole["sst_error"].values)
    reordered = gappy.transpose("lat", "time", "lon").inpaint.fill("fast", max_distance=None, precision="float32")
    assert reordered.dims == ("lat", "time", "lon")
    np.testing.assert_array_equal(reordered.transpose(*whole.dims).values, whole.values)


def test_a_pixel_never_observed_in_a_month_still_gets_a_climatology(ersst):
    sst, gappy, _ = ersst
    januaries = gappy["time"].dt.month.values == 1
    holed = gappy.copy()
    holed[januaries, 10:14, 20:24] = np.nan  # an ocean box clouded every January
    assert np.isfinite(sst.values[:, 10:14, 20:24]).all()
    out = holed.inpaint.fill("fast", max_distance=None, precision="float32")
    box = out.values[januaries, 10:14, 20:24]
    assert np.isfinite(box).all()
    assert np.abs(box - sst.values[januaries, 10:14, 20:24]).max() < 3.0  # degC: a January value, not a wild one


def test_a_climatology_passed_in_fills_a_part_of_the_archive_like_the_whole(ersst):
    sst, gappy, hidden = ersst
    table = gappy.groupby("time.month").mean()  # the climatology of the whole archive (observed pixels)
    first_year = gappy.isel(time=slice(0, 12))
    out = first_year.inpaint.fill("fast", climatology=table, max_distance=None, precision="float32")
    plain = first_year.inpaint.fill("fast", climatology=None, max_distance=None, precision="float32")
    assert "climatology passed in" in out.attrs["comment"]
    truth, hid = sst.isel(time=slice(0, 12)), hidden.isel(time=slice(0, 12))
    assert _rmse(out, truth, hid) < 0.8 * _rmse(plain, truth, hid)
    # a table whose coordinates differ in the last digits (another file, float32) is matched by position
    shifted = table.assign_coords(lat=(table["lat"] + 1e-4).astype("float32"))
    again = first_year.inpaint.fill("fast", climatology=shifted, max_distance=None, precision="float32")
    np.testing.assert_array_equal(again.values, out.values)


def test_bad_climatologies_are_refused_naming_the_variable_and_the_fix(ersst):
    _, gappy, _ = ersst
    table = gappy.groupby("time.month").mean()
    with pytest.raises(InputDataError, match=r"'sst'.*no month \[12\]"):
        gappy.inpaint.fill("fast", climatology=table.sel(month=slice(1, 11)))
    with pytest.raises(InputDataError, match=r"'sst'.*regrid"):
        gappy.inpaint.fill("fast", climatology=table.isel(lat=slice(0, 10)))
    with pytest.raises(InputDataError, match=r"'sst' has no time axis with dates"):
        gappy.isel(time=0).inpaint.fill("fast", climatology="monthly")
    with pytest.raises(ValueError, match="climatology='yearly'"):
        gappy.inpaint.fill("fast", climatology="yearly")


def test_the_command_line_fills_from_the_climatology_and_says_so(tmp_path, ersst, capsys):
    from sstfill.cli import main

    _, gappy, _ = ersst
    src = tmp_path / "ersst_gappy.nc"
    gappy.to_dataset().to_netcdf(src)
    assert main(["fill", str(src), str(tmp_path / "auto.nc"), "--model", "fast", "--no-progress"]) == 0
    assert "own monthly climatology" in capsys.readouterr().out
    assert main(["fill", str(src), str(tmp_path / "plain.nc"), "--model", "fast", "--no-progress", "--climatology", "none"]) == 0
    assert "climatology" not in capsys.readouterr().out
    with xr.open_dataset(tmp_path / "auto.nc") as auto, xr.open_dataset(tmp_path / "plain.nc") as plain:
        assert "monthly climatology (4 years)" in auto["sst"].attrs["comment"]
        observed = auto["sst_fill_flag"].values == 0
        np.testing.assert_array_equal(auto["sst"].values[observed], plain["sst"].values[observed])
        assert not np.array_equal(auto["sst"].values[~observed], plain["sst"].values[~observed], equal_nan=True)


def test_adapting_to_a_multi_year_series_learns_its_anomalies_and_records_it(ersst, tmp_path):
    sst, gappy, hidden = ersst
    ds = gappy.to_dataset()
    model = ds.inpaint.train("sst", init="fast", epochs=1, steps_per_epoch=2, batch_size=8, progress=False, seed=0)
    assert model.adapted_on["climatology"] == "as anomalies from its own monthly climatology (4 years)"
    path = tmp_path / "adapted.npz"
    model.save(path)
    from sstfill.cli.info import adaptation_rows

    reloaded = sstfill.load_model(path)
    assert ("climatology", "trained as anomalies from its own monthly climatology (4 years)") in adaptation_rows(reloaded.adapted_on)
    filled = gappy.inpaint.fill(reloaded, max_distance=None, precision="float32")
    plain = gappy.inpaint.fill(reloaded, climatology=None, max_distance=None, precision="float32")
    assert _rmse(filled, sst, hidden) < 0.7 * _rmse(plain, sst, hidden)
    raw = ds.inpaint.train("sst", init="fast", epochs=1, steps_per_epoch=2, batch_size=8, progress=False, seed=0, climatology=None)
    assert "climatology" not in raw.adapted_on
