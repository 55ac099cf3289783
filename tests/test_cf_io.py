"""CF metadata of outputs, and writing them back to netCDF and zarr from awkward real-file encodings."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest
import xarray as xr

import sstfill
from sstfill.testing import synthetic_sst


def _write_raw(path, data, *, packed: bool, fill_and_missing: bool):
    """Write a file the way real products do, with netCDF4 directly (no xarray encoding)."""
    ny, nx = data.shape[-2:]
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", data.shape[0])
        nc.createDimension("lat", ny)
        nc.createDimension("lon", nx)
        lat = nc.createVariable("lat", "f4", ("lat",))
        lat[:] = np.linspace(-30, 30, ny)
        lat.standard_name, lat.units = "latitude", "degrees_north"
        lon = nc.createVariable("lon", "f4", ("lon",))
        lon[:] = np.linspace(100, 160, nx)
        lon.standard_name, lon.units = "longitude", "degrees_east"
        t = nc.createVariable("time", "f8", ("time",))
        t[:] = np.arange(data.shape[0])
        t.units = "days since 2020-01-01"
        if packed:
            v = nc.createVariable("sst", "i2", ("time", "lat", "lon"), fill_value=np.int16(-32768), zlib=True)
            v.scale_factor, v.add_offset = np.float32(0.01), np.float32(20.0)
            v.valid_min, v.valid_max = np.int16(-2000), np.int16(2000)
            v.set_auto_maskandscale(True)
            v[:] = np.ma.masked_invalid(np.where(np.isfinite(data), data - 273.15, np.nan))
            v.units = "degree_Celsius"
        else:
            v = nc.createVariable("sst", "f4", ("time", "lat", "lon"), fill_value=np.float32(np.nan))
            if fill_and_missing:
                v.missing_value = np.float32(-9.96921e36)  # ERSST v5 sets both, differently
            v[:] = data - 273.15
            v.units = "degC"
        v.standard_name = "sea_surface_temperature"
        nc.history = "created by a test"


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("packed,fill_and_missing", [(True, False), (False, True)])
@pytest.mark.parametrize("store", ["netcdf", "zarr"])
def test_filled_real_style_files_write_back(tmp_path, packed, fill_and_missing, store):
    truth = synthetic_sst(70, 90, nt=2, seed=1)
    _write_raw(tmp_path / "in.nc", truth.values, packed=packed, fill_and_missing=fill_and_missing)
    ds = xr.open_dataset(tmp_path / "in.nc", chunks={})
    gappy = ds.inpaint.add_holes("sst", kind="squares", fraction=0.3, seed=0)
    out = gappy.inpaint.fill("sst", model="laplace")
    target = tmp_path / ("out.nc" if store == "netcdf" else "out.zarr")
    if store == "netcdf":
        out.to_netcdf(target)
        back = xr.open_dataset(target)
    else:
        out.to_zarr(target)
        back = xr.open_zarr(target)
    # zarr keeps scale_factor as a JSON number, which xarray decodes to float64
    assert back.sst.dtype == (np.float64 if packed and store == "zarr" else np.float32)
    if packed:  # the packing is kept: int16 on disk, filled values rounded to its 0.01 step
        assert back.sst.encoding["dtype"] == np.int16 and float(back.sst.encoding["scale_factor"]) == pytest.approx(0.01)
        np.testing.assert_allclose(back.sst.values, out.sst.values, atol=0.0051, rtol=0)
        # valid range stays in packed integers, as CF wants for packed data
        assert back.sst.attrs["valid_min"] == -2000 and back.sst.attrs["valid_max"] == 2000
    else:
        np.testing.assert_array_equal(back.sst.values, out.sst.values)
    assert back.sst_fill_flag.dtype == np.int8
    assert back.sst.attrs["ancillary_variables"] == "sst_fill_flag sst_error"
    assert back.sst_fill_flag.attrs["flag_meanings"].startswith("observed filled land not_filled")
    # the observed values survived the trip bit for bit (packed: the same stored integers)
    obs = gappy.sst.notnull().values
    if packed:
        raw_back = (xr.open_dataset(target, mask_and_scale=False) if store == "netcdf" else xr.open_zarr(target, mask_and_scale=False)).sst.values
        raw_in = xr.open_dataset(tmp_path / "in.nc", mask_and_scale=False).sst.values
        assert raw_back.dtype == np.int16
        np.testing.assert_array_equal(raw_back[obs], raw_in[obs])
    else:
        np.testing.assert_array_equal(back.sst.values[obs], gappy.sst.values[obs])


def test_attributes_and_history(sst_image):
    sst_image = sst_image.copy()
    sst_image.attrs["history"] = "older line"
    sst_image.attrs["comment"] = "original comment"
    filled = sst_image.inpaint.fill(model="laplace")
    hist = filled.attrs["history"].splitlines()
    assert "sstfill" in hist[0] and "harmonic" in hist[0] and hist[1] == "older line"
    assert filled.attrs["comment"].startswith("original comment") and "sst_fill_flag" in filled.attrs["comment"]
    assert filled.attrs["units"] == "kelvin" and filled.attrs["standard_name"] == "sea_surface_temperature"
    flag = filled["sst_fill_flag"]
    assert flag.attrs["standard_name"] == "sea_surface_temperature status_flag"
    assert list(flag.attrs["flag_values"]) == [0, 1, 2, 3, 4]
    assert sstfill.__version__ in filled.attrs["history"]


def test_cf_xarray_understands_the_flag_variable(sst_image):
    cf_xarray = pytest.importorskip("cf_xarray")  # noqa: F841
    out = sst_image.to_dataset().inpaint.fill("sst", model="laplace")
    assert out.sst_fill_flag.cf.is_flag_variable
    observed = out.sst_fill_flag.cf == "observed"
    assert bool((observed == out.sst.notnull() & sst_image.notnull()).all())


def _slstr_sample() -> xr.Dataset:
    from importlib import resources

    with resources.as_file(resources.files("sstfill") / "data" / "sample_slstr_nw_med.nc") as path, xr.open_dataset(path) as ds:
        return ds.load()


def test_a_chunked_fill_keeps_the_input_chunks_and_writes_to_zarr(tmp_path):
    """Chunks smaller than the halo are merged to fill; the outputs come back in the input's chunks (zarr needs them)."""
    ds = _slstr_sample()
    var = next(iter(ds.data_vars))
    chunks = {dim: 100 for dim in ds[var].dims if ds.sizes[dim] > 100}  # 100, 100, 56: each last chunk narrower than the halo
    lazy = ds.chunk(chunks)
    assert any(c[-1] < 64 for c in lazy[var].chunks)
    out = lazy.inpaint.fill(var=var, model="laplace")
    for name in (var, f"{var}_fill_flag", f"{var}_error"):
        assert out[name].chunks == lazy[var].chunks, name
    out.to_zarr(tmp_path / "out.zarr")
    back = xr.open_zarr(tmp_path / "out.zarr").load()
    expected = ds.inpaint.fill(var=var, model="laplace")
    np.testing.assert_array_equal(back[var].values, expected[var].values)
    np.testing.assert_array_equal(back[f"{var}_error"].values, expected[f"{var}_error"].values)


def test_filling_again_replaces_the_earlier_outputs(sst_image):
    gappy = sst_image.copy()
    gappy.values[30:50, 40:80] = np.nan
    first = gappy.to_dataset().inpaint.fill("sst", model="laplace")
    first["sst"] = gappy  # the field as it came, with the first fill's variables beside it
    again = first.inpaint.fill("sst", model="laplace", error=False)
    assert "sst_error" not in again and again.sst.attrs["ancillary_variables"] == "sst_fill_flag"
    as_array = first.sst.assign_coords(sst_error=first.sst_error).inpaint.fill(model="laplace", error=False)
    assert "sst_error" not in as_array.coords and "sst_error" not in as_array.attrs["ancillary_variables"]


def test_flag_and_error_carry_the_fields_grid_mapping():
    import pyproj

    crs = pyproj.CRS.from_epsg(3413)
    x = np.arange(0, 400_000, 5000.0)
    y = np.arange(-2_000_000, -1_700_000, 5000.0)
    field = synthetic_sst(y.size, x.size, seed=3).values
    field[20:40, 30:50] = np.nan
    da = xr.DataArray(field, dims=("y", "x"), name="sst", attrs={"units": "K", "grid_mapping": "crs"},
                      coords={"x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
                              "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
                              "crs": ((), 0, crs.to_cf())})
    out = da.inpaint.fill(model="laplace", land=None)
    assert out.sst_fill_flag.attrs["grid_mapping"] == "crs" and out.sst_error.attrs["grid_mapping"] == "crs"


def test_the_coordinates_keep_their_attributes(mur, tmp_path):
    """lat/lon/time keep units, standard_name and axis in the fill, its flag and the mask (xr.where dropped them)."""
    gappy, _ = mur.isel(lat=slice(0, 96), lon=slice(0, 128)).inpaint.add_holes(kind="squares", fraction=0.2, seed=0)
    filled = gappy.to_dataset().inpaint.fill("analysed_sst", model="laplace")
    filled.to_netcdf(tmp_path / "out.nc")
    with xr.open_dataset(tmp_path / "out.nc") as back:
        for name in ("lat", "lon"):
            assert back[name].attrs == mur[name].attrs and back[name].attrs["units"].startswith("degrees_"), name
        assert back.analysed_sst.cf["latitude"].name == "lat"
    assert filled.analysed_sst_fill_flag.lat.attrs == mur.lat.attrs
    assert gappy.inpaint.mask().lon.attrs == mur.lon.attrs


def test_the_fill_note_is_a_sentence_of_its_own_after_the_products_comment():
    """MUR's comment has no closing full stop: it read '... method for interpolation Cloud gaps filled by sstfill ...'."""
    gappy = synthetic_sst(64, 64, seed=2).inpaint.add_holes("squares", fraction=0.2, seed=0)[0]
    for comment, start in (("MUR analysis method for interpolation", "MUR analysis method for interpolation. Cloud gaps filled by sstfill"),
                           ("Quality level 5 only.", "Quality level 5 only. Cloud gaps filled by sstfill"), ("", "Cloud gaps filled by sstfill")):
        assert gappy.assign_attrs(comment=comment).inpaint.fill(model="laplace").attrs["comment"].startswith(start)
