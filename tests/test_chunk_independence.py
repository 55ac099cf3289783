"""Chunk independence and laziness of a fill on the odd cases an audit found: dtypes other than float32, time chunks of one step.

A chunked fill equals the numpy one bit for bit (docs/guide/tiling.md, "Exactly what is bit
for bit"; docs/guide/context.md), also for a float64 (or float16) daily series blended with
its neighbouring days; a monthly series filled from its climatology, to the rounding of the
climatology's means (docs/guide/climatology.md).
"""

from __future__ import annotations

from importlib import resources

import dask
import dask.array
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sstfill  # noqa: F401  (registers .inpaint)
from sstfill.testing import synthetic_sst


def _same(a: xr.DataArray, b: xr.DataArray) -> None:
    """The same values, flags and error, bit for bit (NaN where the other is NaN)."""
    name = a.name
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a[f"{name}_fill_flag"].values, b[f"{name}_fill_flag"].values)
    if f"{name}_error" in a.coords:
        np.testing.assert_array_equal(a[f"{name}_error"].values, b[f"{name}_error"].values)


@pytest.fixture(scope="module")
def daily() -> xr.DataArray:
    """A daily series with clouds, 4 steps of 64 x 72: every step has neighbours for the persistence blend."""
    gappy, _ = synthetic_sst(64, 72, nt=4, seed=3).inpaint.add_holes("clouds", fraction=0.5, seed=1)
    return gappy


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_a_chunked_daily_series_of_another_dtype_is_blended_as_the_numpy_one(daily, dtype):
    # the dask path blended the fill's weight in a slot of the field's dtype (float64), the numpy
    # path in float32: 1 - w rounded differently, 2812 pixels differed by 1e-7 (float64), the error by 0.07 (float16)
    field = daily.astype(dtype)
    whole = field.inpaint.fill("laplace")
    assert "persistence" in whole.attrs["comment"]
    with dask.config.set(scheduler="threads"):
        chunked = field.chunk({"time": 1, "lat": 40, "lon": 17}).inpaint.fill("laplace").compute()
    assert chunked.dtype == whole.dtype == np.dtype(dtype)
    _same(chunked, whole)
    observed = np.isfinite(field.values)
    np.testing.assert_array_equal(chunked.values[observed], field.values[observed])


@pytest.fixture(scope="module")
def monthly() -> xr.DataArray:
    """Eight years of monthly float32 maps (the bundled ERSST crop, twice, with noise) with clouds: filled from its climatology."""
    with resources.as_file(resources.files("sstfill") / "data" / "sample_ersst_pacific.nc") as path, xr.open_dataset(path) as ds:
        sst = ds["sst"].isel(lat=slice(0, 32), lon=slice(0, 40)).load()
    rng = np.random.default_rng(0)
    values = np.concatenate([sst.values, sst.values + rng.normal(0, 0.3, sst.shape)]).astype("float32")
    time = pd.date_range("1990-01-01", periods=len(values), freq="MS")
    series = xr.DataArray(values, dims=sst.dims, coords={"time": time, "lat": sst.lat, "lon": sst.lon}, name="sst", attrs=sst.attrs)
    gappy, _ = series.inpaint.add_holes("clouds", fraction=0.4, seed=1)
    return gappy


def test_a_monthly_series_in_one_step_chunks_is_filled_as_the_numpy_one_to_the_climatologys_rounding(monthly, no_compute):
    # dask sums the monthly means along time in the order of its chunks: one step per chunk moves
    # the climatology by an ulp, and the filled pixels by up to 1.5e-5 (chunks of a year agree bit for
    # bit). Putting every step of a pixel in one chunk made it exact, but took 5x as long and 7x the
    # tasks on a 3-year daily 512^2 series (0.6 -> 3.0 s, 8k -> 56k tasks): the climatology guide says so
    lazy = monthly.chunk({"time": 1, "lon": 17}).inpaint.fill("laplace", error=False, persistence=False)
    assert "climatology" in lazy.attrs["comment"]
    with dask.config.set(scheduler="threads"):
        chunked = lazy.compute()
    whole = monthly.inpaint.fill("laplace", error=False, persistence=False)
    np.testing.assert_array_equal(chunked["sst_fill_flag"].values, whole["sst_fill_flag"].values)
    observed = np.isfinite(monthly.values)
    np.testing.assert_array_equal(chunked.values[observed], monthly.values[observed])  # bit for bit
    np.testing.assert_allclose(chunked.values, whole.values, rtol=0, atol=1e-4)  # degC: the climatology's rounding
    with dask.config.set(scheduler="threads"):
        yearly = monthly.chunk({"time": 12}).inpaint.fill("laplace", error=False, persistence=False).compute()
    _same(yearly, whole)


def test_a_field_with_unknown_chunk_sizes_is_refused_with_a_clear_message(daily):
    # "cannot convert float NaN to integer" from find_land (or pandas' "Wrong type <class 'float'>" with land=None)
    from sstfill.errors import InputDataError

    data = daily.chunk({"time": 1}).data
    unknown = data[dask.array.from_array(np.ones(daily.sizes["time"], dtype=bool), chunks=1)]  # a lazy boolean index: chunk sizes NaN along time
    assert np.isnan(unknown.chunks[0]).all()
    field = xr.DataArray(unknown, dims=daily.dims, coords={"lat": daily.lat, "lon": daily.lon}, name="sst", attrs=daily.attrs)
    for call in (lambda: field.inpaint.fill("laplace"), lambda: field.inpaint.fill("laplace", land=None), field.inpaint.mask,
                 lambda: field.inpaint.add_holes("clouds", fraction=0.3), lambda: field.to_dataset().inpaint.mask("sst")):
        with pytest.raises(InputDataError, match=r"'sst' is a dask array with unknown chunk sizes along 'time'.*compute_chunk_sizes"):
            call()
    known = field.copy(data=field.data.compute_chunk_sizes())  # the fix it gives
    _same(known.inpaint.fill("laplace").compute(), known.compute().inpaint.fill("laplace"))


def test_a_swaths_lazy_coordinates_are_read_once_while_a_fill_is_built():
    # finding the grid, its orientation, the reach and the blend each computed them: 10 reads of every chunk
    import threading

    reads, lock = [], threading.Lock()

    def counted(block: np.ndarray) -> np.ndarray:
        if block.size > 1:  # not dask's look at the function with a tiny block
            with lock:
                reads.append(block.shape)
        return block

    j, i = np.mgrid[0:96, 0:120]
    lat = dask.array.from_array(40 + 0.01 * j + 0.002 * i, chunks=48).map_blocks(counted)
    lon = dask.array.from_array(5 + 0.012 * i - 0.002 * j, chunks=48).map_blocks(counted)
    values = (285 + 0.01 * i + 0.005 * j).astype("float32")
    values[30:60, 40:80] = np.nan
    swath = xr.DataArray(dask.array.from_array(values, chunks=48), dims=("nj", "ni"), name="sst", attrs={"units": "kelvin"},
                         coords={"lat": (("nj", "ni"), lat, {"standard_name": "latitude"}), "lon": (("nj", "ni"), lon, {"standard_name": "longitude"})})
    filled = swath.inpaint.fill("laplace")
    chunks_of_both = 2 * lat.npartitions
    assert len(reads) == chunks_of_both, len(reads)  # each chunk of each coordinate read once
    assert isinstance(swath["lat"].data, dask.array.Array)  # the user's field keeps its lazy coordinates
    flag = filled["sst_fill_flag"].values
    assert (flag == 1).sum() == np.isnan(values).sum() and np.isfinite(filled.values[flag == 1]).all()
