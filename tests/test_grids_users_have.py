"""Real-world grids, coordinates and encodings: invariants of the fill checked on cases users' files have."""

from __future__ import annotations

import numpy as np
import pytest
import pyproj
import xarray as xr

import sstfill  # noqa: F401  (registers .inpaint)
from sstfill.xr.reach import EARTH_RADIUS_KM


def _great_circle_km(lon0, lat0, lon1, lat1):
    p0, p1 = np.radians(lat0), np.radians(lat1)
    a = np.sin((p1 - p0) / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(np.radians(lon1 - lon0) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def test_reach_in_km_on_a_mercator_grid_is_measured_on_the_earth():
    """A reach in km on a projected grid is a distance on the Earth, not on the map.

    On a Mercator grid (EPSG:3857) at 60 N the map spacing is twice the ground spacing:
    x/y 2 km apart are 1 km apart on the Earth. max_distance=30 stopped at 15 km.
    """
    crs = pyproj.CRS.from_epsg(3857)
    x0, y0 = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(5.0, 60.0)
    x, y = x0 + 2000.0 * np.arange(120), y0 + 2000.0 * np.arange(8)
    values = np.full((y.size, x.size), 285.0, "float32")
    values[:, 20:] = np.nan  # observed: the 20 westernmost columns
    da = xr.DataArray(values, dims=("y", "x"), name="sst", attrs={"grid_mapping": "crs", "units": "K"},
                      coords={"x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
                              "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
                              "crs": ((), 0, crs.to_cf())})
    flag = da.inpaint.fill(model="laplace", land=None, max_distance=30)["sst_fill_flag"].values
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(*np.meshgrid(x, y))
    km = _great_circle_km(lon[:, 19:20], lat[:, 19:20], lon, lat)  # to the nearest observation, in the same row
    assert km[flag == 1].max() > 27.0 and km[flag == 1].max() <= 30.0 * 1.02
    assert km[flag == 4].min() >= 30.0 * 0.98


def _gibraltar(crs_as: str) -> xr.Dataset:
    """A UTM 30N field over the Strait of Gibraltar with clouds, land NaN; its CRS a CF grid_mapping ``crs``.

    ``crs_as``: "coordinate" (the variable a coordinate of the field), or "variable" (a data
    variable of the dataset, as CF files store it and ``xr.open_dataset`` reads it by default).
    """
    from sstfill.testing import synthetic_sst

    crs = pyproj.CRS.from_epsg(32630)
    x, y = 250_000 + 2000.0 * np.arange(90), 3_950_000 + 2000.0 * np.arange(70)
    da = xr.DataArray(synthetic_sst(70, 90, land=False).values, dims=("y", "x"), name="sst", attrs={"grid_mapping": "crs", "units": "kelvin"},
                      coords={"x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
                              "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
                              "crs": ((), 0, crs.to_cf())})
    gappy = da.where(xr.DataArray(np.random.default_rng(0).random(da.shape) > 0.3, dims=da.dims))
    land = gappy.inpaint.mask().values == 2
    assert land.mean() > 0.05  # Spain and Morocco, located with pyproj
    ds = gappy.where(xr.DataArray(~land, dims=da.dims)).to_dataset()
    return ds if crs_as == "coordinate" else ds.reset_coords("crs")


def test_a_grid_mapping_variable_of_the_dataset_locates_the_field():
    """ds.inpaint.fill finds the field's grid_mapping among the dataset's data variables.

    xarray's default ``open_dataset`` (decode_coords=True) keeps a CF grid_mapping variable as
    a data variable; the field alone had no CRS, so its land (found by position) was filled
    and flagged ``filled``, and a reach in km was measured on the map.
    """
    reference = _gibraltar("coordinate").inpaint.fill("sst", model="laplace")
    ds = _gibraltar("variable")
    out = ds.inpaint.fill("sst", model="laplace")
    flag = out["sst_fill_flag"].values
    assert (flag == 2).mean() > 0.05 and np.isnan(out["sst"].values[flag == 2]).all()
    np.testing.assert_array_equal(flag, reference["sst_fill_flag"].values)
    np.testing.assert_array_equal(out["sst"].values, reference["sst"].values)
    assert "crs" in out.data_vars and "crs" not in out["sst"].coords  # the dataset as it was
    np.testing.assert_array_equal(ds.inpaint.mask("sst").values, reference["sst_fill_flag"].values.clip(0, 2))


def test_a_field_that_names_a_grid_mapping_it_lacks_is_filled_with_a_warning_saying_so():
    """``ds['sst'].inpaint.fill()`` of a CF file opened with xarray's defaults: the CRS stays in the dataset.

    The field cannot be located, so land is not found by position: that was silent. Filled from
    the dataset (or with the CRS attached) nothing is said and land stays land.
    """
    ds = _gibraltar("variable")
    with pytest.warns(UserWarning, match=r"names the grid mapping 'crs' but does not carry it.*ds\.inpaint\.fill\('sst'\)"):
        alone = ds["sst"].inpaint.fill(model="laplace")
    assert not (alone["sst_fill_flag"].values == 2).any()  # what the warning is about
    with pytest.warns(UserWarning, match="the file has no variable 'crs' either"):
        ds.drop_vars("crs").inpaint.fill("sst", model="laplace")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.inpaint.fill("sst", model="laplace")
        ds["sst"].assign_coords(crs=ds["crs"]).inpaint.fill(model="laplace")


def test_a_grid_mapping_read_into_the_encoding_is_written_back(tmp_path):
    """A field read with decode_coords="all" (grid_mapping in its encoding) is written with its grid_mapping.

    The filled field's encoding was rebuilt without it and the flag and error looked in the
    attributes only: the output file had no grid_mapping, so it was no longer located (nor
    refillable).
    """
    from sstfill.xr.grid import find_grid
    from sstfill.xr.io import write_atomic

    _gibraltar("variable").to_netcdf(tmp_path / "in.nc")
    with xr.open_dataset(tmp_path / "in.nc", decode_coords="all") as ds:
        assert ds["sst"].encoding["grid_mapping"] == "crs" and "grid_mapping" not in ds["sst"].attrs
        out = ds.inpaint.fill("sst", model="laplace")
        write_atomic(out, tmp_path / "out.nc")
    with xr.open_dataset(tmp_path / "out.nc", decode_coords=False) as raw:
        assert [raw[v].attrs.get("grid_mapping") for v in ("sst", "sst_fill_flag", "sst_error")] == ["crs"] * 3
    with xr.open_dataset(tmp_path / "out.nc", decode_coords="all") as back:
        assert find_grid(back["sst"]).crs_wkt is not None


def test_coordinate_bounds_are_not_taken_for_a_field(mur):
    """CF cell bounds (``lat_bnds`` of dims (lat, nv), named by ``lat:bounds``) are not fields: the one field is picked.

    They are floating point and 2-D, so ``ds.inpaint.fill()`` asked which of
    ['analysed_sst', 'lat_bnds', 'lon_bnds'] to fill.
    """
    half = 0.005
    ds = mur.isel(time=0).to_dataset().assign(lat_bnds=(("lat", "nv"), np.stack([mur.lat - half, mur.lat + half], 1)),
                                              lon_bnds=(("lon", "nv"), np.stack([mur.lon - half, mur.lon + half], 1)))
    ds["lat"].attrs["bounds"], ds["lon"].attrs["bounds"] = "lat_bnds", "lon_bnds"
    assert ds.inpaint.mask().name == "analysed_sst_mask"
    assert sorted(ds.inpaint.fill(model="laplace", land=None).data_vars) == ["analysed_sst", "analysed_sst_error", "analysed_sst_fill_flag", "lat_bnds", "lon_bnds"]


def test_a_float16_field_is_written_to_netcdf_as_float32(mur, tmp_path):
    """netCDF has no 16-bit float: a float16 field (from a zarr store) is written as float32, every value exactly.

    The write failed deep in netCDF4 (TypeError: Illegal primitive data type ... got float16),
    with a traceback from ``sstfill fill in.zarr out.nc``.
    """
    from sstfill.xr.io import write_atomic

    field = mur.isel(time=0).astype("float16")
    out = field.to_dataset().inpaint.fill("analysed_sst", model="laplace", land=None)
    write_atomic(out, tmp_path / "out.nc")
    with xr.open_dataset(tmp_path / "out.nc") as back:
        assert back["analysed_sst"].dtype == "float32"
        np.testing.assert_array_equal(back["analysed_sst"].values, out["analysed_sst"].values.astype("float32"))


def test_positions_that_change_along_time_are_refused_with_what_to_do():
    """A stack of swaths, latitude/longitude of dims (time, nj, ni), is refused saying why and what to do.

    The error said the field had no latitude/longitude and to name them 'lat'/'lon', which they were.
    """
    from sstfill.errors import GridError

    j, i = np.mgrid[0:30, 0:40]
    lat, lon = np.stack([40 + 0.01 * j, 40.2 + 0.01 * j]), np.stack([5 + 0.01 * i, 5.3 + 0.01 * i])
    values = np.full((2, 30, 40), 290.0)
    values[:, 10:20, 10:20] = np.nan
    da = xr.DataArray(values, dims=("time", "nj", "ni"), name="sst",
                      coords={"lat": (("time", "nj", "ni"), lat), "lon": (("time", "nj", "ni"), lon)})
    with pytest.raises(GridError, match=r"'sst'.*'lat'.*'lon'.*along 'time'") as info:
        da.inpaint.fill(model="laplace", land=None)
    assert "da.isel(time=" in info.value.fix
    from sstfill.cli.common import cli_message

    said = cli_message(info.value, "fill")  # the command says it without Python
    assert "along 'time'" in said and "Fill one step at a time" in said and "da." not in said
    assert da.isel(time=1).inpaint.fill(model="laplace", land=None).notnull().all()  # one step is one curvilinear grid
