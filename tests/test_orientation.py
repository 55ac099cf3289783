"""A field and its mirror image are filled the same, bit for bit (fills run in one canonical orientation)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import xarray as xr

import sstfill  # noqa: F401  (registers .inpaint)
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


def test_curvilinear_grid_is_filled_in_one_orientation(slstr_wide_clouds):
    gappy = slstr_wide_clouds
    lon2, lat2 = np.meshgrid(gappy.lon.values, gappy.lat.values)
    curvi = xr.DataArray(
        gappy.values,
        dims=("nj", "ni"),
        coords={"lat": (("nj", "ni"), lat2, {"standard_name": "latitude"}), "lon": (("nj", "ni"), lon2, {"standard_name": "longitude"})},
        name="sst",
        attrs=gappy.attrs,
    )
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
    gappy = slstr_wide_clouds.isel(lat=slice(0, 128), lon=slice(0, 160))
    lon2, lat2 = np.meshgrid(gappy.lon.values, gappy.lat.values)
    curvi = xr.DataArray(
        gappy.values,
        dims=("nj", "ni"),
        coords={"lat": (("nj", "ni"), lat2, {"standard_name": "latitude"}), "lon": (("nj", "ni"), lon2, {"standard_name": "longitude"})},
        name="sst",
    )
    transposed = curvi.transpose("ni", "nj")
    assert find_grid(transposed).dims == ("nj", "ni")  # along nj the latitude changes
    filled = curvi.inpaint.fill(model="laplace", land=None)
    back = transposed.inpaint.fill(model="laplace", land=None).transpose("nj", "ni")
    np.testing.assert_array_equal(back.values, filled.values)
    np.testing.assert_array_equal(back["sst_fill_flag"].values, filled["sst_fill_flag"].values)
