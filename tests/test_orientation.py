"""A field and its mirror image are filled the same, bit for bit (fills run in one canonical orientation)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import xarray as xr

import sstfill  # noqa: F401  (registers .inpaint)
import sstfill.testing
from sstfill.errors import GridError
from sstfill.xr.grid import canonical_flips, find_grid

REVERSE = slice(None, None, -1)


@pytest.fixture(scope="module")
def slstr_wide_clouds() -> xr.DataArray:
    """The bundled real SLSTR scene (latitude north to south) under real cloud shapes over half of it.

    With the swath edge, about two thirds of the sea is missing, much of it beyond any tile's
    reach, so the harmonic fallback fills a large part.
    """
    ds = xr.open_dataset(resources.files("sstfill") / "data" / "sample_slstr_nw_med.nc")
    field = ds["sea_surface_skin_temperature"].isel(time=0).load()
    gappy, _ = field.inpaint.add_holes("clouds", fraction=0.5, seed=4, land=None)
    return gappy


@pytest.mark.parametrize(
    "mirror,chunks", [(("lat",), None), (("lon",), None), (("lat", "lon"), {"lat": 100, "lon": 90})]
)
def test_mirrored_input_gives_the_mirrored_fill_bit_for_bit(slstr_wide_clouds, mirror, chunks):
    gappy = slstr_wide_clouds
    assert gappy.lat[0] > gappy.lat[-1]  # stored north to south
    flipped = gappy.isel({dim: REVERSE for dim in mirror})
    if chunks is not None:
        gappy, flipped = gappy.chunk(chunks), flipped.chunk(chunks)
    filled = gappy.inpaint.fill(model="laplace", land=None).compute()
    back = flipped.inpaint.fill(model="laplace", land=None).compute().isel({dim: REVERSE for dim in mirror})
    assert np.isnan(filled.values).sum() < np.isnan(gappy.values).sum() // 2  # the gaps were filled
    np.testing.assert_array_equal(back.values, filled.values)
    np.testing.assert_array_equal(back["sea_surface_skin_temperature_fill_flag"].values, filled["sea_surface_skin_temperature_fill_flag"].values)


def _as_curvilinear(gappy: xr.DataArray) -> xr.DataArray:
    """``gappy`` on (nj, ni) with 2-D latitude and longitude, as an L2 swath is stored."""
    lon2, lat2 = np.meshgrid(gappy.lon.values, gappy.lat.values)
    coords = {"lat": (("nj", "ni"), lat2, {"standard_name": "latitude"}), "lon": (("nj", "ni"), lon2, {"standard_name": "longitude"})}
    return xr.DataArray(gappy.values, dims=("nj", "ni"), coords=coords, name="sst", attrs=gappy.attrs)


def test_curvilinear_grid_is_filled_in_one_orientation(slstr_wide_clouds):
    curvi = _as_curvilinear(slstr_wide_clouds)
    assert find_grid(curvi).kind == "curvilinear"
    assert canonical_flips(curvi, find_grid(curvi)) == (True, False)  # latitude decreases along nj
    filled = curvi.inpaint.fill(model="laplace", land=None)
    back = curvi.isel(nj=REVERSE, ni=REVERSE).inpaint.fill(model="laplace", land=None).isel(nj=REVERSE, ni=REVERSE)
    np.testing.assert_array_equal(back.values, filled.values)


def test_canonical_order_follows_coordinates_across_the_dateline():
    da = sstfill.testing.synthetic_sst(8, 12, land=False)
    lon = np.array([174, 175, 176, 177, 178, 179, -180, -179, -178, -177, -176, -175], dtype="float32")
    da = da.assign_coords(lon=("lon", lon, da.lon.attrs))
    grid = find_grid(da)
    assert canonical_flips(da, grid) == (False, False)  # increasing eastward, through the dateline
    assert canonical_flips(da.isel(lon=REVERSE, lat=REVERSE), grid) == (True, True)


def test_transposed_curvilinear_field_is_filled_the_same(slstr_wide_clouds):
    """A curvilinear field stored (ni, nj) instead of (nj, ni) is tiled along the same y and x.

    y and x were the field's first and second dims: the transposed field was filled
    transposed, on another tile lattice (up to 0.7 K apart with the Laplace fill).
    """
    curvi = _as_curvilinear(slstr_wide_clouds.isel(lat=slice(0, 128), lon=slice(0, 160)))
    transposed = curvi.transpose("ni", "nj")
    assert find_grid(transposed).dims == ("nj", "ni")  # along nj the latitude changes
    filled = curvi.inpaint.fill(model="laplace", land=None)
    back = transposed.inpaint.fill(model="laplace", land=None).transpose("nj", "ni")
    np.testing.assert_array_equal(back.values, filled.values)
    np.testing.assert_array_equal(back["sst_fill_flag"].values, filled["sst_fill_flag"].values)


def _global_field() -> xr.DataArray:
    """A global 4-degree field, longitudes 0..356, with gaps across 0 degrees E, the dateline and elsewhere."""
    da = sstfill.testing.synthetic_sst(40, 90, land=False, lat0=-78.0, lon0=0.0, step=4.0)
    gappy, _ = da.inpaint.add_holes("squares", fraction=0.3, seed=2, land=None)
    values = gappy.values.copy()
    values[10:22, 84:] = values[10:22, :7] = values[25:30, 40:52] = np.nan
    return gappy.copy(data=values)


def _fill_all(da: xr.DataArray) -> xr.DataArray:
    return da.inpaint.fill(model="laplace", land=None, max_distance="3 px").compute()


def _assert_same_fill(got: xr.DataArray, expected: xr.DataArray) -> None:
    for name in (None, "sst_fill_flag", "sst_error"):
        a, b = (x if name is None else x[name] for x in (got, expected))
        np.testing.assert_array_equal(a.values, b.values)


@pytest.mark.parametrize("chunks", [None, {"lon": 40}])
def test_global_grid_stored_from_the_dateline_is_filled_the_same(chunks):
    """A global grid is filled from the same first column whether stored 0..360 or -180..180.

    It was tiled from its first column: -180..180 put the tile lattice, and the fill, 90
    columns away (0.23 K apart on an ERSST month with the Laplace fill).
    """
    field = _global_field()
    east = field.assign_coords(lon=("lon", field.lon.values - 360.0 * (field.lon.values >= 180.0), field.lon.attrs))
    rolled = east.roll(lon=45, roll_coords=True)  # -180..176
    assert float(rolled.lon[0]) == -180.0
    if chunks is not None:
        rolled = rolled.chunk(chunks)
    filled = rolled.inpaint.fill(model="laplace", land=None, max_distance="3 px")
    assert filled.chunks == rolled.chunks and filled["sst_error"].chunks == rolled.chunks  # lazy, in the field's chunks
    filled = filled.compute()
    assert np.array_equal(filled.lon.values, rolled.lon.values)
    _assert_same_fill(filled.roll(lon=-45, roll_coords=True), _fill_all(field))


def test_region_across_the_prime_meridian_in_0_360_order_is_filled_as_one_region():
    """A region across 0 degrees E subset from a 0..360 product (columns 0..E, then 360-W..360) is filled as the region it is.

    The two halves were filled side by side as stored, east of 0 on the left: the reach was
    measured across the false seam and the fill ran through it (825 of 20,480 pixels
    flagged otherwise, values up to 0.58 K apart on an SLSTR crop).
    """
    field = sstfill.testing.synthetic_sst(64, 96, land=False, lat0=45.0, lon0=-2.4, step=0.05)
    gappy, _ = field.inpaint.add_holes("squares", fraction=0.4, seed=1, land=None)
    stored = gappy.assign_coords(lon=gappy.lon % 360).sortby("lon")  # 0..2.35, then 357.6..359.95
    assert float(stored.lon[0]) < 0.01 and float(stored.lon[-1]) > 359.0
    filled = _fill_all(stored)
    back = filled.assign_coords(lon=("lon", (filled.lon.values + 180.0) % 360.0 - 180.0, filled.lon.attrs)).sortby("lon")
    _assert_same_fill(back, _fill_all(gappy))


def test_shuffled_coordinates_are_refused():
    field = sstfill.testing.synthetic_sst(32, 40, land=False)
    shuffled = field.isel(lat=np.random.default_rng(0).permutation(32))
    with pytest.raises(GridError, match=r"'sst'.*'lat'.*not monotonic.*sortby\('lat'\)"):
        shuffled.inpaint.fill(model="laplace")


def test_mirrored_series_with_its_climatology_is_filled_the_same():
    """The monthly climatology (its gaps filled harmonically) is computed in the fill's orientation too.

    It was computed as the field was stored: a series stored south-to-north came out up to
    3e-5 K off its mirror image.
    """
    with xr.open_dataset(resources.files("sstfill") / "data" / "sample_ersst_pacific.nc") as ds:
        sst = ds["sst"].isel(lat=slice(0, 40), lon=slice(0, 48)).load()
    gappy, _ = sst.inpaint.add_holes("clouds", fraction=0.3, seed=1, land=None)
    filled = gappy.inpaint.fill(model="laplace", land=None)
    assert "climatology" in filled.attrs["comment"]
    back = gappy.isel(lat=REVERSE).inpaint.fill(model="laplace", land=None).isel(lat=REVERSE)
    _assert_same_fill(back, filled)
