"""The accessor's fill end to end: observed pixels, land, flags, laziness, schedulers, grids."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr

from sstfill.models.harmonic import LaplaceFiller
from sstfill.xr.cf import FILL_FLAGS
from sstfill.testing import IndexOracle, index_field, synthetic_land, synthetic_sst

from sstfill.evaluation.metrics import rmse


def _bits(a):
    a = np.asarray(a)
    return a.view(f"uint{a.dtype.itemsize * 8}")


def test_fill_keeps_observed_bit_for_bit_and_land_nan(sst_series):
    gappy, hidden = sst_series.inpaint.add_holes("clouds", fraction=0.4, seed=0)
    filled = gappy.inpaint.fill(model="laplace")
    obs = gappy.notnull().values
    assert np.array_equal(_bits(filled.values[obs]), _bits(gappy.values[obs]))
    land = np.broadcast_to(synthetic_land(150, 170), gappy.shape)
    assert filled.isnull().values[land].all()
    flag = filled["sst_fill_flag"]
    assert set(np.unique(flag.values)) <= set(FILL_FLAGS)
    assert (flag.values[land] == 2).all() and (flag.values[obs] == 0).all()
    assert ((flag.values == 1) == (filled.notnull().values & ~obs)).all()
    assert (flag.values[hidden.values] != 0).all()
    # the classical fill is a real fill: much better than the mean of the observed pixels
    h = hidden.values
    assert rmse(filled.values, sst_series.values, h) < 0.5 * rmse(np.nanmean(gappy.values), sst_series.values, h)


def test_fill_is_lazy_on_dask_and_equals_numpy(sst_series, no_compute):
    gappy, _ = sst_series.inpaint.add_holes("squares", fraction=0.3, seed=1)
    lazy = gappy.chunk({"time": 1, "lat": 70, "lon": 90})
    out = lazy.inpaint.fill(model="laplace")
    assert hasattr(out.data, "dask") and hasattr(out["sst_fill_flag"].data, "dask")


_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: ")


def _unstamped(filled: xr.DataArray) -> xr.DataArray:
    """``filled`` without the time stamp of its history line: two fills run at different moments."""
    assert _STAMP.match(filled.attrs["history"])
    return filled.assign_attrs(history=_STAMP.sub("", filled.attrs["history"]))


def test_dask_result_equals_numpy_result(sst_series):
    gappy, _ = sst_series.inpaint.add_holes("squares", fraction=0.3, seed=1)
    eager = gappy.inpaint.fill(model="laplace")
    lazy = gappy.chunk({"time": 1, "lat": 70, "lon": 90}).inpaint.fill(model="laplace").compute()
    xr.testing.assert_identical(_unstamped(lazy), _unstamped(eager))


@pytest.mark.parametrize("scheduler", ["threads", "processes", "distributed"])
def test_same_result_under_every_scheduler(sst_series, scheduler):
    gappy, _ = sst_series.isel(time=slice(0, 2)).inpaint.add_holes("squares", fraction=0.3, seed=2)
    expected = gappy.inpaint.fill(model="laplace")
    lazy = gappy.chunk({"time": 1, "lat": 75, "lon": 85}).inpaint.fill(model="laplace")
    if scheduler == "distributed":
        distributed = pytest.importorskip("distributed")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, distributed.Client(cluster):
            got = lazy.compute()
    else:
        got = lazy.compute(scheduler=scheduler)
    xr.testing.assert_identical(_unstamped(got), _unstamped(expected))


def test_global_grid_wraps_without_seam():
    lon = np.arange(0, 360, 2.0)
    lat = np.arange(-60, 62, 2.0)
    field = 300 - 0.005 * lat[:, None] ** 2 + 2 * np.cos(np.deg2rad(lon))[None, :] + np.sin(np.deg2rad(3 * lon))[None, :]
    truth = xr.DataArray(field.astype("float32"), dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name="sst")
    gappy = truth.copy()
    gappy[:, -12:] = np.nan  # a cloud band across the dateline
    gappy[:, :10] = np.nan
    gappy[::7] = truth[::7]  # with a few clear rows
    hidden = gappy.isnull().values
    # the polar rows lie farther from the clear rows than the default reach: fill everything
    at_seam = gappy.inpaint.fill(model="laplace", land=None, max_distance=None)
    # the same clouds moved to the middle of the array, where no seam can exist
    mid = gappy.roll(lon=90, roll_coords=False).inpaint.fill(model="laplace", land=None, max_distance=None).roll(lon=-90, roll_coords=False)
    assert np.isfinite(at_seam.values).all()
    assert rmse(at_seam, truth, hidden) == pytest.approx(rmse(mid, truth, hidden), rel=0.1)
    jump = np.abs(at_seam[:, 0] - at_seam[:, -1]).max()
    jump_mid = np.abs(mid[:, 0] - mid[:, -1]).max()
    assert float(jump) < 1.2 * float(jump_mid) + 0.01


def test_global_grid_oracle_exact_across_dateline():
    lon = np.arange(0, 360, 1.5)
    da = xr.DataArray(index_field((70, lon.size)), dims=("lat", "lon"), coords={"lat": np.arange(70.0), "lon": lon}, name="f")
    truth = da.copy()
    gappy = da.where(~((da.lon > 330) | (da.lon < 20)) | (da.lat % 7 == 0))
    # the rows up to 69N are far apart in km: fill everything, however far (max_distance=None)
    filled = gappy.chunk({"lon": 80}).inpaint.fill(model=IndexOracle(period=lon.size), land=None, min_observed=0.0, max_distance=None)
    assert np.array_equal(filled.values, truth.values)


def test_descending_latitude_and_0_360_longitude(sst_image):
    gappy, hidden = sst_image.inpaint.add_holes("squares", fraction=0.3, seed=4, land=None)
    flipped = gappy.isel(lat=slice(None, None, -1)).assign_coords(lon=gappy.lon % 360)
    a = gappy.inpaint.fill(model="laplace", land=None)
    b = flipped.inpaint.fill(model="laplace", land=None).isel(lat=slice(None, None, -1))
    h = hidden.values
    assert rmse(a, sst_image, h) == pytest.approx(rmse(b, sst_image, h), rel=0.05)


def test_extra_dims_pass_through_in_any_order(sst_series):
    gappy, _ = sst_series.inpaint.add_holes("squares", fraction=0.2, seed=0)
    da = gappy.expand_dims(depth=[1.0, 5.0]).transpose("lat", "depth", "time", "lon")
    out = da.inpaint.fill(model="laplace")
    assert out.dims == da.dims and out["sst_fill_flag"].dims == da.dims
    np.testing.assert_array_equal(out.isel(depth=0).values, out.isel(depth=1).values)


def test_grid_smaller_than_a_tile_and_float64_kept():
    da = synthetic_sst(20, 30, land=False).astype("float64")
    da.attrs["units"] = "kelvin"
    gappy, hidden = da.inpaint.add_holes("squares", fraction=0.25, seed=0, land=None)
    out = gappy.inpaint.fill(model="laplace", land=None)
    assert out.dtype == np.float64 and out.shape == (20, 30)
    assert np.isfinite(out.values).all()


def test_curvilinear_swath_fills_in_index_space():
    y, x = np.mgrid[0:90, 0:110]
    base = synthetic_sst(90, 110, land=False)
    da = xr.DataArray(base.values, dims=("row", "col"), name="sst",
                      coords={"lat": (("row", "col"), 40 + 0.01 * y + 0.003 * x, {"standard_name": "latitude"}),
                              "lon": (("row", "col"), -20 + 0.01 * x - 0.004 * y, {"standard_name": "longitude"})})
    gappy, hidden = da.inpaint.add_holes("random_field", fraction=0.3, seed=1, land=None)
    out = gappy.inpaint.fill(model="laplace", land=None)
    assert out.dims == ("row", "col") and "lat" in out.coords
    h = hidden.values
    assert rmse(out, da, h) < 0.5 * rmse(np.nanmean(gappy.values), da, h)


def test_dataset_fill_adds_flag_variable(sst_series):
    ds = sst_series.to_dataset()
    ds["other"] = ds.sst.isel(time=0) * 0 + 1
    ds = ds.inpaint.add_holes("sst", kind="squares", fraction=0.2, seed=0)
    out = ds.inpaint.fill("sst", model="laplace")
    assert "sst_fill_flag" in out.data_vars and "sst_fill_flag" not in out.sst.coords
    assert out.sst.attrs["ancillary_variables"] == "sst_fill_flag sst_error"
    assert out.sst_fill_flag.attrs["flag_meanings"] == "observed filled land not_filled beyond_reach"
    xr.testing.assert_identical(out.other.variable, ds.other.variable)


def test_projected_grid_fills_and_finds_land_through_pyproj():
    import pyproj

    crs = pyproj.CRS.from_epsg(32630)  # UTM 30N: the Strait of Gibraltar
    x = 250_000 + 2000.0 * np.arange(90)
    y = 3_950_000 + 2000.0 * np.arange(70)
    base = synthetic_sst(70, 90, land=False)
    da = xr.DataArray(base.values, dims=("y", "x"), name="sst",
                      coords={"x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
                              "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
                              "crs": ((), 0, crs.to_cf())},
                      attrs={"grid_mapping": "crs", "units": "kelvin"})
    land = da.inpaint.mask().values == 2
    assert not land.any()  # every pixel is observed: nothing to call land yet
    gappy = da.where(xr.DataArray(np.random.default_rng(0).random(da.shape) > 0.3, dims=da.dims))
    flags = gappy.inpaint.mask().values
    assert (flags == 2).mean() > 0.05 and (flags == 1).mean() > 0.1  # Spain/Morocco vs sea, via pyproj
    out = gappy.inpaint.fill(model="laplace")
    assert np.isnan(out.values[flags == 2]).all() and np.isfinite(out.values[flags == 1]).all()


_THREADS_SEEN: list[int] = []
_CALLING_THREADS: list[str] = []


class _ThreadSpy(LaplaceFiller):
    """Records torch's thread count in every model call (module level: dask may pickle it)."""

    def predict_tiles(self, values, observed):
        import threading

        import torch

        _THREADS_SEEN.append(torch.get_num_threads())
        _CALLING_THREADS.append(threading.current_thread().name)
        return super().predict_tiles(values, observed)


def test_numpy_fills_call_the_model_with_one_torch_thread_on_every_core(sst_series):
    """Plain numpy input: one worker thread per torch thread, each with one torch thread (no OpenMP
    threads spinning for a core that another program holds), and the same values as dask."""
    import dask
    import torch

    gappy, _ = sst_series.isel(time=slice(0, 4)).inpaint.add_holes("clouds", fraction=0.3, seed=2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        _THREADS_SEEN.clear()
        _CALLING_THREADS.clear()
        eager = gappy.inpaint.fill(_ThreadSpy(), land=None)
        assert _THREADS_SEEN and set(_THREADS_SEEN) == {1}
        assert len(set(_CALLING_THREADS)) == 2  # both cores busy
        assert torch.get_num_threads() == 2  # the caller's setting is left as it was
    finally:
        torch.set_num_threads(before)
    with dask.config.set(scheduler="threads"):
        lazy = gappy.chunk({"time": 1, "lat": 80, "lon": 90}).inpaint.fill(_ThreadSpy(), land=None).values
    np.testing.assert_array_equal(eager.values, lazy)


def test_dask_tasks_share_cores_with_torch_and_leave_the_main_thread_alone(sst_series):
    import torch

    gappy, _ = sst_series.inpaint.add_holes("clouds", fraction=0.3, seed=2)
    lazy = gappy.chunk({"time": 1})
    before = torch.get_num_threads()
    _THREADS_SEEN.clear()
    lazy.inpaint.fill(_ThreadSpy(), land=None).compute(scheduler="threads", num_workers=2)
    assert _THREADS_SEEN and set(_THREADS_SEEN) == {1}  # one torch thread per dask thread
    _THREADS_SEEN.clear()
    lazy.inpaint.fill(_ThreadSpy(), land=None).compute(scheduler="sync")
    # one task at a time in the main thread: torch's thread count becomes that many worker
    # threads, each calling the model with one torch thread (so results match the threaded scheduler)
    assert _THREADS_SEEN and set(_THREADS_SEEN) == {1}
    assert torch.get_num_threads() == before


def test_neural_fill_is_bit_for_bit_the_same_for_numpy_chunks_and_schedulers():
    """The bundled fast model on the real SLSTR sample: numpy and chunked threaded dask agree bit for bit
    (the synchronous scheduler runs the numpy path's worker threads)."""
    import dask
    from importlib import resources

    ds = xr.open_dataset(resources.files("sstfill") / "data" / "sample_slstr_nw_med.nc")
    field = ds["sea_surface_skin_temperature"].isel(time=0).load()
    gappy, _ = field.inpaint.add_holes("clouds", fraction=0.4, seed=0)
    eager = gappy.inpaint.fill("fast", device="cpu", precision="float32").values
    # the threaded scheduler calls the model with one torch thread per task, on chunks whose
    # tiles make batches of other sizes than the whole image's
    with dask.config.set(scheduler="threads"):
        lazy = gappy.chunk({"lat": 100, "lon": 90}).inpaint.fill("fast", device="cpu", precision="float32").values
    np.testing.assert_array_equal(lazy, eager)


def test_filling_an_earlier_fill_again_fills_its_pixels_anew_and_flags_them_filled():
    """A real L2 crop filled, then filled again from the Dataset and from the DataArray (lazily too): the earlier fill's pixels are gaps again."""
    from importlib import resources

    var = "sea_surface_skin_temperature"
    with resources.as_file(resources.files("sstfill") / "data" / "sample_slstr_nw_med.nc") as path, xr.open_dataset(path) as ds:
        ds = ds.load()
    first = ds.inpaint.fill(model="laplace", error=False)
    flag = first[f"{var}_fill_flag"].values
    assert (flag == 1).sum() > 10000
    dataarray = first[var].assign_coords({f"{var}_fill_flag": first[f"{var}_fill_flag"]})
    from_dataarray = dataarray.inpaint.fill(model="fast")
    for again in (first.inpaint.fill(model="fast"), first.chunk().inpaint.fill(model="fast"), from_dataarray.coords.to_dataset().assign({var: from_dataarray})):
        np.testing.assert_array_equal(again[f"{var}_fill_flag"].values, flag)  # not 'observed' (0), as before
        assert np.isfinite(again[f"{var}_error"].values[flag == 1]).all()
        np.testing.assert_array_equal(again[var].values[flag == 0], ds[var].values[flag == 0])  # observed bit for bit
        assert np.abs(again[var].values[flag == 1] - first[var].values[flag == 1]).mean() > 0.01  # filled anew by the fast model


def test_a_flag_or_error_variable_of_the_product_itself_is_never_replaced():
    """A product's own '<var>_error' (an uncertainty) or '<var>_fill_flag' (a quality flag): the fill replaced or dropped them."""
    from importlib import resources

    from sstfill.errors import InputDataError

    var = "sea_surface_skin_temperature"
    with resources.as_file(resources.files("sstfill") / "data" / "sample_slstr_nw_med.nc") as path, xr.open_dataset(path) as ds:
        ds = ds.load()
    own_error = (0.3 + 0 * ds[var]).astype("float32").assign_attrs(long_name="SSES standard deviation", units="kelvin")
    own_flag = ds[var].notnull().astype("int8").assign_attrs(flag_values=[0, 1], flag_meanings="bad good")
    for name, own in ((f"{var}_error", own_error), (f"{var}_fill_flag", own_flag)):
        product = ds.assign({name: own})
        for error in (True, False):
            with pytest.raises(InputDataError, match=rf"'{name}' is already in the data and was not written by sstfill.*rename_vars"):
                product.inpaint.fill(model="laplace", error=error)
        with pytest.raises(InputDataError, match=f"'{name}' is already in the data"):  # a coordinate of the DataArray too
            product[var].assign_coords({name: own}).inpaint.fill(model="laplace")
        renamed = product.rename_vars({name: f"{name}_product"}).inpaint.fill(var, model="laplace")  # the fix the message gives
        xr.testing.assert_identical(renamed[f"{name}_product"], own.rename(f"{name}_product"))


def test_the_fill_options_have_one_set_of_defaults():
    """da.inpaint.fill spells its options out (the documented API); ds.inpaint.fill passes them on to
    sstfill.xr.filling.fill_field, whose defaults must be the same ones."""
    import inspect

    from sstfill.xr.accessor import DataArrayInpaint
    from sstfill.xr.filling import fill_field

    public = {k: p.default for k, p in inspect.signature(DataArrayInpaint.fill).parameters.items() if k != "self"}
    inner = {k: p.default for k, p in inspect.signature(fill_field).parameters.items() if k not in ("da", "dataset")}
    assert public == inner
