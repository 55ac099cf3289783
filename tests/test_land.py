"""Land versus persistent cloud: land comes from land information, not from "never observed"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sstfill.errors import InputDataError
from sstfill.xr.land import land_in_cells


def _series(da: xr.DataArray, steps: int) -> xr.DataArray:
    """``steps`` daily images made from the real days (repeated, slightly perturbed)."""
    days = [da.isel(time=k % da.sizes["time"]) + 0.01 * k for k in range(steps)]
    out = xr.concat(days, dim="time").assign_coords(time=pd.date_range("2021-01-01", periods=steps, freq="D"))
    out.attrs = da.attrs
    return out.rename(da.name)


def _persistent_clouds(da: xr.DataArray) -> tuple[xr.DataArray, np.ndarray, np.ndarray]:
    """Hide an open-sea disc and a 12-pixel coastal fog band on every day."""
    product_land = da.isnull().all("time").values
    ny, nx = product_land.shape
    y, x = np.mgrid[0:ny, 0:nx]
    disc = (y - 60) ** 2 + (x - 60) ** 2 < 30**2  # open sea, 50-100 km from the coast
    from scipy import ndimage

    fog = ndimage.binary_dilation(product_land, iterations=12) & ~product_land
    cloud = (disc | fog) & ~product_land
    assert not (disc & product_land).any() and fog.sum() > 500
    return da.where(~cloud), cloud, product_land


@pytest.mark.parametrize("steps", [2, 4, 16])
def test_persistent_cloud_is_cloud_whatever_the_series_length(mur, steps):
    gappy, cloud, product_land = _persistent_clouds(_series(mur, steps))
    mask = gappy.inpaint.mask().values
    assert (mask[:, product_land] == 2).all()  # the product's land, recognised at every length
    # the persistent clouds are cloud, but for the pixels right next to a coast (the
    # product's, or a small island that MUR fills over but the 1 km mask has)
    from scipy import ndimage

    lon, lat = np.meshgrid(gappy.lon.values, gappy.lat.values)
    coast = ndimage.binary_dilation(product_land | land_in_cells(lon, lat), iterations=2)
    assert (mask[:, cloud & ~coast] == 1).all()
    assert (mask[0][cloud] == 1).mean() > 0.85


def test_persistent_cloud_is_filled(mur):
    gappy, cloud, product_land = _persistent_clouds(_series(mur, 4))
    filled = gappy.inpaint.fill(model="laplace")
    flag = filled["analysed_sst_fill_flag"].values
    filled_cloud = cloud & (flag[0] != 2)
    assert filled_cloud.sum() > 0.85 * cloud.sum()
    assert (flag[:, filled_cloud] == 1).all()
    assert np.isfinite(filled.values[:, filled_cloud]).all()
    assert np.isnan(filled.values[:, product_land]).all() and (flag[:, product_land] == 2).all()
    # the fill of the persistent clouds is close to the hidden truth (a smooth L4 field)
    truth = _series(mur, 4).values
    err = filled.values[:, filled_cloud] - truth[:, filled_cloud]
    assert np.sqrt(np.mean(err**2)) < 0.5 * np.nanstd(truth[:, filled_cloud])


def test_single_images_keep_the_pixel_centre_land_mask(mur):
    one = mur.isel(time=0)
    mask = one.inpaint.mask().values
    # the 1 km mask at pixel centres: a few coastal pixels that MUR masks are cloud here
    product_land = mur.isnull().all("time").values
    assert (mask[product_land] == 2).mean() > 0.99


def test_antarctic_ice_shelves_are_land_and_southern_ocean_clouds_are_not():
    # an ERSST-like 2 degree global grid with the Ross Ice Shelf (which the 1 km mask counts
    # as sea) and a persistent cloud in the open Southern Ocean, both never observed
    lat = np.arange(-88.0, 89.0, 2.0)
    lon = np.arange(0.0, 360.0, 2.0)
    lon2, lat2 = np.meshgrid(np.where(lon > 180, lon - 360, lon), lat)
    land = land_in_cells(lon2, lat2)
    shelf = (lat2 >= -84) & (lat2 <= -78) & (lon2 >= 164) | (lat2 >= -84) & (lat2 <= -78) & (lon2 <= -156)
    shelf &= ~land
    cloud = (lat2 >= -56) & (lat2 <= -50) & (lon2 >= -140) & (lon2 <= -120)
    values = np.where(land | shelf | cloud, np.nan, 10.0 + 0.1 * lat2).astype("float32")
    da = xr.DataArray(
        np.stack([values, values + 0.5, values - 0.5]),
        dims=("time", "lat", "lon"),
        coords={"time": pd.date_range("2020-01-01", periods=3, freq="MS"), "lat": lat, "lon": lon},
        name="sst",
        attrs={"units": "degC", "standard_name": "sea_surface_temperature"},
    )
    mask = da.inpaint.mask().values[0]
    assert shelf.sum() > 10 and (mask[shelf] == 2).all()
    assert (mask[cloud] == 1).all()
    assert (mask[land & np.isnan(values)] == 2).all()


def test_land_in_cells_sees_land_inside_coarse_cells():
    # 2 degree cells whose centres are at sea but which hold a coast or an island
    lon, lat = np.meshgrid([-5.0, 145.0], [36.5, -5.0])
    centre_only = land_in_cells(lon, lat, max_samples=1)
    whole_cell = land_in_cells(lon, lat)
    assert (whole_cell >= centre_only).all() and whole_cell.sum() > centre_only.sum()


def test_nonfinite_input_is_treated_as_missing(mur):
    da = mur.isel(time=0).copy()
    values = da.values
    ocean = np.argwhere(np.isfinite(values))
    pos, neg = ocean[::997][:20], ocean[500::991][:20]
    values[tuple(pos.T)] = np.inf
    values[tuple(neg.T)] = -np.inf
    da.values = values
    assert (da.inpaint.mask(land=None).values[tuple(pos.T)] == 1).all()
    for model in ("laplace", None):
        for field in (da, da.chunk({"lat": 96, "lon": 128})):
            filled = field.inpaint.fill(model=model)
            out, flag = filled.values, filled["analysed_sst_fill_flag"].values
            bad = ~np.isfinite(values) & ~np.isnan(values)
            assert np.isfinite(out[bad]).all() and (flag[bad] == 1).all()
            truth = mur.isel(time=0).values
            assert np.abs(out[bad] - truth[bad]).max() < 1.0  # filled from the neighbours
            obs = np.isfinite(values)
            assert (flag[obs] == 0).all()
            assert np.array_equal(out[obs].view("uint32"), values[obs].view("uint32"))


def test_land_found_on_a_rechunked_series_does_not_break_a_lazy_write(mur, tmp_path):
    """dask 2026.8 cannot build a delayed write of a clone of a rechunked array ("Cannot fuse
    tasks with multiple outputs"); the land search of such a series must not make one."""
    import dask

    series = _series(mur, 4).rename("sst")
    rechunked = series.chunk({"time": 4}).chunk({"time": 1})  # what .chunk() on an opened file makes
    filled = rechunked.inpaint.fill("laplace")
    write = filled.to_dataset().to_netcdf(tmp_path / "out.nc", compute=False)
    dask.compute(write)
    with xr.open_dataset(tmp_path / "out.nc") as back:
        np.testing.assert_array_equal(back["sst"].values, series.inpaint.fill("laplace").values)
        assert (back["sst_fill_flag"].values[:, series.isnull().all("time").values] == 2).all()  # land found


def test_open_inputs_reads_a_series_in_its_final_chunks(mur, tmp_path):
    from sstfill.xr.inputs import open_inputs

    _series(mur, 3).to_dataset().to_netcdf(tmp_path / "s.nc")
    ds = open_inputs([str(tmp_path / "s.nc")])
    assert ds["analysed_sst"].chunks[0] == (1, 1, 1)
    assert not any(str(n).startswith("rechunk-") for n in ds["analysed_sst"].data.dask.layers)  # so the land search has its own reads
    assert open_inputs([str(tmp_path / "s.nc")], {"time": 3})["analysed_sst"].chunks[0] == (3,)


def _coastal_cloud(mur: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """One real MUR day under a cloud that touches the coast, and the product's land as a mask on its grid."""
    one = mur.isel(time=0)
    land = mur.isnull().all("time").rename("land")
    from scipy import ndimage

    near_coast = ndimage.binary_dilation(land.values, iterations=8) & ~land.values
    rows, cols = np.nonzero(near_coast)
    y, x = rows[len(rows) // 2], cols[len(cols) // 2]
    cloud = np.zeros(land.shape, bool)
    cloud[max(y - 20, 0) : y + 20, max(x - 20, 0) : x + 20] = True
    return one.where(~cloud), land


def test_a_land_mask_stored_the_other_way_round_is_used_by_its_coordinates(mur):
    gappy, land = _coastal_cloud(mur)
    expected = gappy.inpaint.fill(model="laplace", land=land)
    flipped = land.isel(lat=slice(None, None, -1))  # the same mask, north to south (another file's order)
    got = gappy.inpaint.fill(model="laplace", land=flipped)
    xr.testing.assert_identical(got.drop_attrs(), expected.drop_attrs())
    assert np.isnan(got.values[land.values & gappy.isnull().values]).all()
    assert (got["analysed_sst_fill_flag"].values[land.values & gappy.isnull().values] == 2).all()


def test_a_land_mask_with_float64_coordinates_is_matched_to_the_field(mur):
    gappy, land = _coastal_cloud(mur)
    expected = gappy.inpaint.fill(model="laplace", land=land)
    recomputed = land.assign_coords(lat=land.lat.values.astype("float64") + 1e-6, lon=land.lon.values.astype("float64") - 1e-6)
    got = gappy.inpaint.fill(model="laplace", land=recomputed)
    np.testing.assert_array_equal(got.values, expected.values)
    elsewhere = land.assign_coords(lat=land.lat.values + 1.0)  # a mask of another place: named, not used
    with pytest.raises(InputDataError, match="Land mask for variable 'analysed_sst'.*'lat' coordinate does not match"):
        gappy.inpaint.fill(model="laplace", land=elsewhere)


def test_a_mask_given_as_an_array_means_what_the_same_variable_by_name_means(mur):
    """1 = land with NaN for sea, and a CF flag variable: passed as a DataArray they meant land everywhere they were not 0."""
    gappy, land = _coastal_cloud(mur)
    expected = gappy.inpaint.fill(model="laplace", land=land)
    nan_for_sea = land.where(land, np.nan).astype("float32")  # 1 = land, NaN = sea
    flags = land.astype("int8").where(land, 2).assign_attrs(flag_values=[1, 2], flag_meanings="land water")  # 2 = water: non-zero
    for mask in (nan_for_sea, flags):
        given = gappy.inpaint.fill(model="laplace", land=mask)
        by_name = gappy.to_dataset().assign(mask=mask).inpaint.fill(var="analysed_sst", model="laplace", land="mask")["analysed_sst"]
        np.testing.assert_array_equal(given.values, expected.values)
        np.testing.assert_array_equal(by_name.values, expected.values)
        cloud = gappy.isnull().values & ~land.values
        assert (given["analysed_sst_fill_flag"].values[cloud] == 1).all()  # the cloud is filled, not taken for land


def test_a_mask_with_a_dim_the_field_lacks_is_refused_with_the_fix(mur):
    gappy, land = _coastal_cloud(mur)
    stacked = xr.concat([land, land], dim="member")  # a mask per member, for one image
    with pytest.raises(InputDataError, match=r"Land mask for variable 'analysed_sst' has dims \['member'\].*land=mask.any\('member'\)"):
        gappy.inpaint.fill(model="laplace", land=stacked)
    with pytest.raises(InputDataError, match=r"Land mask 'mask' for variable 'analysed_sst' has dims \['member'\]"):
        gappy.to_dataset().assign(mask=stacked).inpaint.fill(var="analysed_sst", model="laplace", land="mask")


def test_pixels_without_geolocation_are_not_land(mur):
    """An L2 swath's lat/lon are NaN beyond its edge: the land lookup skips them (it raised an IndexError).

    Such pixels are on no map, so they are not filled either (flagged not_filled); the rest is
    filled as with their positions known.
    """
    one = mur.isel(time=0, lat=slice(0, 120), lon=slice(0, 160))
    lon, lat = np.meshgrid(one.lon.values.astype("float64"), one.lat.values.astype("float64"))
    values = one.values.copy()
    values[:, :10] = np.nan  # beyond the swath edge: open sea at 120.4 W, no land there
    values[50:70, 60:90] = np.nan

    def swath(lon, lat):
        return xr.DataArray(values, dims=("y", "x"), name="sst", attrs=one.attrs, coords={
            "lat": (("y", "x"), lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": (("y", "x"), lon, {"standard_name": "longitude", "units": "degrees_east"})})

    known, unknown = swath(lon, lat), swath(lon.copy(), lat.copy())
    unknown["lat"].values[:, :10] = unknown["lon"].values[:, :10] = np.nan
    for make in (lambda a: a, lambda a: xr.concat([a, a + 0.1], "time")):
        expected, got = make(known).inpaint.fill(model="laplace"), make(unknown).inpaint.fill(model="laplace")
        np.testing.assert_allclose(got.values[..., 10:], expected.values[..., 10:], rtol=1e-6)  # the solver's last digit
        np.testing.assert_array_equal(got["sst_fill_flag"].values[..., 10:], expected["sst_fill_flag"].values[..., 10:])
        flag = got["sst_fill_flag"].values.reshape((-1,) + values.shape)
        assert (flag[:, 50:70, 60:90] == 1).mean() > 0.9 and (flag[:, :, :10] == 3).all() and np.isnan(got.values[..., :10]).all()


def test_the_bit_packed_land_mask_answers_as_the_package_for_a_tenth_of_the_memory():
    """sstfill.kernels.landmask against global_land_mask.globe.is_land, in a fresh process (the package's import holds 0.9 GB)."""
    import os
    import subprocess
    import sys

    if not os.path.exists("/proc/self/statm"):
        pytest.skip("resident memory is read from /proc (Linux)")

    script = """
import os, numpy as np
from sstfill.kernels import landmask  # sstfill (torch, xarray) imported before the memory is measured
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20  # resident now, MB
before = rss()
rng = np.random.default_rng(0)
lat, lon = rng.uniform(-90, 90, 400000), rng.uniform(-180, 180, 400000)
lat[:6], lon[:6] = [90, -90, 0, 0, 36.0, 40.0], [180, -180, 180, -180, -5.6, -100.0]
coast_lat, coast_lon = rng.uniform(35, 45, 400000), rng.uniform(-10, 10, 400000)  # Iberia, the Mediterranean
ours = np.concatenate([landmask.is_land(lat, lon), landmask.is_land(coast_lat, coast_lon)])
grown = rss() - before
from global_land_mask import globe
theirs = np.concatenate([globe.is_land(lat.copy(), lon.copy()), globe.is_land(coast_lat.copy(), coast_lon.copy())])
print(int(np.array_equal(ours, theirs)), round(float(ours.mean()), 3), int(grown), int(rss() - before - grown))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    same, land_share, ours_mb, package_mb = run.stdout.split()
    assert same == "1" and 0.2 < float(land_share) < 0.6  # a third of random points, more on the Iberian box
    assert 100 < int(ours_mb) < 250 and int(package_mb) > 800, run.stdout  # held: bit-packed ~120 MB; the package's bool array 933 MB
