"""Grid discovery: CF attributes, common names, orientation, periodicity, curvilinear, projected."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import xarray as xr

from sstfill.errors import GridError
from sstfill.xr.grid import find_grid, lonlat_2d


def test_regular_grid_by_cf_attributes_with_odd_names(sst_image):
    da = sst_image.rename(lat="yy", lon="xx")
    g = find_grid(da)
    assert g.dims == ("yy", "xx") and g.kind == "regular" and not g.periodic


def test_common_names_without_attributes():
    da = xr.DataArray(np.zeros((3, 4), "float32"), dims=("latitude", "longitude"),
                      coords={"latitude": [1.0, 2, 3], "longitude": [1.0, 2, 3, 4]})
    assert find_grid(da).dims == ("latitude", "longitude")


@pytest.mark.parametrize("lon", [np.arange(0, 360, 2.0), np.arange(-180, 180, 2.0), np.arange(0.5, 360, 1.0)])
def test_global_longitudes_are_periodic(lon):
    da = xr.DataArray(np.zeros((5, lon.size), "float32"), dims=("lat", "lon"), coords={"lat": np.arange(5.0), "lon": lon})
    assert find_grid(da).periodic


def test_regional_grid_is_not_periodic(sst_image):
    assert not find_grid(sst_image).periodic


def test_dims_found_whatever_the_order_and_extra_dims(sst_series):
    da = sst_series.expand_dims(depth=[0.5]).transpose("lon", "depth", "time", "lat")
    assert find_grid(da).dims == ("lat", "lon")


def test_curvilinear_grid():
    y, x = np.mgrid[0:20, 0:30]
    lat = 40 + 0.1 * y + 0.02 * x
    lon = -10 + 0.1 * x - 0.03 * y
    da = xr.DataArray(np.zeros((20, 30), "float32"), dims=("row", "col"),
                      coords={"nav_lat": (("row", "col"), lat, {"standard_name": "latitude", "units": "degrees_north"}),
                              "nav_lon": (("row", "col"), lon, {"standard_name": "longitude", "units": "degrees_east"})})
    g = find_grid(da)
    assert g.kind == "curvilinear" and g.dims == ("row", "col")
    lon2, lat2 = lonlat_2d(da, g)
    np.testing.assert_allclose(lat2, lat)


def test_projected_grid_with_grid_mapping():
    crs = pyproj.CRS.from_epsg(3413)  # NSIDC polar stereographic north
    x = np.arange(0, 50_000, 5000.0)
    y = np.arange(-2_000_000, -1_950_000, 5000.0)
    da = xr.DataArray(np.zeros((y.size, x.size), "float32"), dims=("y", "x"), name="sst",
                      coords={"x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
                              "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"}),
                              "crs": ((), 0, crs.to_cf())},
                      attrs={"grid_mapping": "crs"})
    g = find_grid(da)
    assert g.kind == "projected" and g.dims == ("y", "x")
    lon, lat = lonlat_2d(da, g)
    assert 60 < lat.min() < lat.max() < 90  # pyproj found the Arctic
    back = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(back[0], np.broadcast_to(x, lon.shape), atol=1e-3)


def test_no_grid_is_a_clear_error():
    da = xr.DataArray(np.zeros((3, 4)), dims=("a", "b"), name="sst")
    with pytest.raises(GridError, match=r"'sst'.*latitude/longitude.*standard_name"):
        find_grid(da)


@pytest.mark.parametrize("where", ["attrs", "encoding", "with coordinates"])
def test_grid_mapping_in_attrs_or_encoding(where):
    # xarray's decode_coords="all" keeps grid_mapping in encoding; CF also allows "crs: x y"
    crs = pyproj.CRS.from_epsg(3031)
    x = np.arange(0, 50_000, 5000.0)
    da = xr.DataArray(np.zeros((x.size, x.size), "float32"), dims=("y", "x"), name="sst",
                      coords={"x": x, "y": x, "crs": ((), 0, crs.to_cf())})
    if where == "encoding":
        da.encoding["grid_mapping"] = "crs"
    else:
        da.attrs["grid_mapping"] = "crs" if where == "attrs" else "crs: x y"
    g = find_grid(da)
    assert g.kind == "projected" and pyproj.CRS.from_wkt(g.crs_wkt) == crs


@pytest.mark.parametrize("units", ["km", "kilometers", "kilometres", "Kilometre"])
def test_projected_coordinates_in_kilometres_are_converted(units):
    """x/y in km (any UDUNITS spelling) give the positions and pixel spacing that metres give."""
    from sstfill.xr.reach import pixel_spacing_km

    crs = pyproj.CRS.from_epsg(3413)
    x = np.arange(0, 50_000, 5000.0)
    y = np.arange(-2_000_000, -1_950_000, 5000.0)

    def grid_in(unit, scale):
        return xr.DataArray(np.zeros((y.size, x.size), "float32"), dims=("y", "x"), name="sst", attrs={"grid_mapping": "crs"},
                            coords={"x": ("x", x * scale, {"standard_name": "projection_x_coordinate", "units": unit}),
                                    "y": ("y", y * scale, {"standard_name": "projection_y_coordinate", "units": unit}),
                                    "crs": ((), 0, crs.to_cf())})

    metres, km = grid_in("m", 1.0), grid_in(units, 1e-3)
    for a, b in zip(lonlat_2d(metres, find_grid(metres)), lonlat_2d(km, find_grid(km))):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-9)
    in_metres, in_km = pixel_spacing_km(metres, find_grid(metres)), pixel_spacing_km(km, find_grid(km))
    np.testing.assert_allclose(in_km, in_metres, rtol=1e-12)
    np.testing.assert_allclose(in_metres, 5.0, rtol=0.01)  # on the Earth: 5 km on the map, 72 N (true scale at 70 N)


def _global_field_with_a_gap_across_the_dateline() -> xr.DataArray:
    """A global 4-degree field (longitudes 0..356) with a gap across 0 degrees E and one across the dateline."""
    import sstfill.testing

    da = sstfill.testing.synthetic_sst(40, 90, land=False, lat0=-78.0, lon0=0.0, step=4.0)
    values = da.values.copy()
    values[10:22, 84:] = values[10:22, :7] = np.nan  # 0 degrees E: columns 84..89 and 0..6
    values[25:30, 40:52] = np.nan  # the dateline (180 E)
    return da.copy(data=values)


@pytest.mark.parametrize("relabel", [lambda lon: (lon + 180.0) % 360.0 - 180.0, lambda lon: lon - 360.0 * (lon > 100)])
def test_relabelled_global_longitudes_stay_periodic(relabel):
    """Longitudes relabelled without sorting (180..358 then 0..178 read as -180..-2, 0..178) wrap as the sorted grid does.

    They were taken for a regional grid: the gap across the seam was filled from one side
    only, and its far pixels flagged beyond_reach.
    """
    da = _global_field_with_a_gap_across_the_dateline()
    relabelled = da.assign_coords(lon=("lon", relabel(da.lon.values), da.lon.attrs))
    assert find_grid(relabelled).periodic
    reference = da.inpaint.fill(model="laplace", land=None, max_distance="3 px")
    filled = relabelled.inpaint.fill(model="laplace", land=None, max_distance="3 px")
    np.testing.assert_array_equal(filled.values, reference.values)
    np.testing.assert_array_equal(filled["sst_fill_flag"].values, reference["sst_fill_flag"].values)


def test_latitudes_beyond_the_poles_are_refused_naming_the_coordinates():
    """Latitude and longitude swapped (lat 0..359) ran: distances, reach and land came from a field on no Earth."""
    lon = np.arange(-40.0, 0.0, 0.5)
    lat = np.arange(0.0, 180.0, 2.0)
    da = xr.DataArray(np.zeros((lat.size, lon.size), "float32"), dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name="sst")
    with pytest.raises(GridError, match=r"'sst'.*'lat' reaches 178 degrees, beyond \+-90.*swapped") as info:
        find_grid(da)
    assert "da['lat']" in info.value.fix
    find_grid(da.assign_coords(lat=lat / 2.0))  # up to 89 degrees: a grid
