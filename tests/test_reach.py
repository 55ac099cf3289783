"""The reach of a fill (``max_distance``): gaps far from the data stay NaN, flagged beyond_reach.

On the bundled real SLSTR crops: the NW Mediterranean one has a real swath edge (40 % of
it lies outside the swath), the NE Atlantic one real clouds.
"""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

import sstfill
from sstfill.cli.fill import max_distance_arg
from sstfill.errors import CLIError
from sstfill.kernels.reach import beyond_reach, distance_to_observed
from sstfill.testing import synthetic_sst
from sstfill.xr.cf import FILL_FLAGS
from sstfill.xr.grid import find_grid
from sstfill.xr.reach import (
    AUTO_REACH_KM,
    EARTH_RADIUS_KM,
    parse_max_distance,
    reach_mask,
)

DATA = Path(sstfill.__file__).parent / "data"
VAR = "sea_surface_skin_temperature"


@pytest.fixture(scope="module")
def edge() -> xr.DataArray:
    """Real SLSTR L2 pixels across a real swath edge (NW Mediterranean, held out): 128 x 144, half outside the swath."""
    with xr.open_dataset(DATA / "sample_slstr_nw_med.nc") as ds:
        return ds[VAR].isel(time=0, lat=slice(64, 192), lon=slice(80, 224)).load()


@pytest.fixture(scope="module")
def clouds() -> xr.DataArray:
    with xr.open_dataset(DATA / "sample_slstr_ne_atl_south.nc") as ds:
        return ds[VAR].load()


@pytest.fixture(scope="module")
def edge_fills(edge):
    """The Laplace fill of the edge crop within 40 px, and without a limit."""
    return edge.inpaint.fill("laplace", max_distance="40 px"), edge.inpaint.fill(
        "laplace", max_distance=None
    )


def _flag(filled: xr.DataArray) -> np.ndarray:
    return filled[f"{filled.name}_fill_flag"].values


def test_flag_meaning():
    assert FILL_FLAGS[4] == "beyond_reach"


def test_beyond_reach_is_nan_and_flagged_4(edge, edge_fills):
    limited, everything = edge_fills
    flag, observed = _flag(limited), np.isfinite(edge.values)
    land = _flag(everything) == 2
    # independent of sstfill's kernel: scipy's distance transform of the observed pixels
    far = (ndimage.distance_transform_edt(~observed) > 40) & ~land
    assert far.sum() > 2000  # the far side of the swath edge
    np.testing.assert_array_equal(flag == 4, far)
    assert np.isnan(limited.values[far]).all()
    # within reach: every gap that is not land is filled
    within_gaps = ~observed & ~land & ~far
    assert within_gaps.sum() > 1000
    assert (
        np.isfinite(limited.values[within_gaps]).all()
        and (flag[within_gaps] == 1).all()
    )
    # observed pixels bit for bit, in both fills
    np.testing.assert_array_equal(limited.values[observed], edge.values[observed])
    np.testing.assert_array_equal(everything.values[observed], edge.values[observed])
    assert "beyond_reach" in limited[f"{edge.name}_fill_flag"].attrs["flag_meanings"]


def test_no_limit_fills_everything_as_before(edge, edge_fills):
    _, everything = edge_fills
    flag = _flag(everything)
    assert not (flag == 4).any() and not (flag == 3).any()
    assert np.isfinite(everything.values[flag == 1]).all()
    assert (flag == 1).sum() == (~np.isfinite(edge.values) & (flag != 2)).sum()


def test_pixels_filled_by_tiles_do_not_change(edge, edge_fills):
    # beyond-reach pixels are handed to the fill as land: the gaps within reach keep their values,
    # but for the stitching of the tiles, a solve over the whole gap (measured: at most 0.0007 K)
    limited, everything = edge_fills
    near = (_flag(limited) == 1) & (
        ndimage.distance_transform_edt(np.isnan(edge.values)) <= 24
    )
    np.testing.assert_allclose(limited.values[near], everything.values[near], rtol=0, atol=0.003)


def test_real_clouds_within_the_default_reach_are_all_filled(clouds):
    filled = clouds.inpaint.fill("laplace")
    flag = _flag(filled)
    gaps = ~np.isfinite(clouds.values) & (flag != 2)
    beyond = reach_mask(clouds, find_grid(clouds), "auto").values
    np.testing.assert_array_equal(flag == 4, beyond)
    assert (flag[gaps & ~beyond] == 1).all()


def test_km_distance_matches_great_circle_distance(edge):
    """'30 km' marks a gap beyond reach iff its great-circle distance to every observation exceeds 30 km (within 3 %)."""
    beyond = reach_mask(edge, find_grid(edge), "30 km").values
    observed = np.isfinite(edge.values)
    lat, lon = np.meshgrid(edge.lat.values, edge.lon.values, indexing="ij")
    rng = np.random.default_rng(0)
    gaps = np.argwhere(~observed)
    picks = gaps[rng.choice(len(gaps), 300, replace=False)]
    olat, olon = np.radians(lat[observed]), np.radians(lon[observed])
    checked = 0
    for r, c in picks:
        p, q = np.radians(lat[r, c]), np.radians(lon[r, c])
        h = (
            np.sin((olat - p) / 2) ** 2
            + np.cos(p) * np.cos(olat) * np.sin((olon - q) / 2) ** 2
        )
        d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h)).min()
        if abs(d - 30) > 0.03 * 30:
            assert beyond[r, c] == (d > 30), (r, c, d)
            checked += 1
    assert checked > 250


def test_forms_of_max_distance(edge):
    grid = find_grid(edge)
    km = reach_mask(edge, grid, "30 km").values
    np.testing.assert_array_equal(reach_mask(edge, grid, 30).values, km)
    np.testing.assert_array_equal(reach_mask(edge, grid, "30000 m").values, km)
    px = reach_mask(edge, grid, "30 px").values
    np.testing.assert_array_equal(reach_mask(edge, grid, "30 pixels").values, px)
    np.testing.assert_array_equal(px, beyond_reach(np.isfinite(edge.values), 30.0))
    # pixels here are 1.19 km tall and 0.86-0.90 km wide: 30 km is 25.3 px along y, 33-35 px along x
    observed = np.isfinite(edge.values)
    assert (km <= beyond_reach(observed, 25.0)).all() and (
        beyond_reach(observed, 35.0) <= km
    ).all()
    assert km.sum() != px.sum()
    assert reach_mask(edge, grid, None) is None
    assert (
        parse_max_distance("auto").auto
        and parse_max_distance(AUTO_REACH_KM).value == AUTO_REACH_KM
    )


@pytest.mark.parametrize(
    "bad", ["far", "10 furlongs", "-5 km", -1, float("nan"), True, [30], "km"]
)
def test_bad_values_raise(edge, bad):
    with pytest.raises(ValueError, match="max_distance"):
        edge.inpaint.fill("laplace", max_distance=bad)


def test_cli_argument():
    assert (
        max_distance_arg("none") is None
        and max_distance_arg("auto") == "auto"
        and max_distance_arg("25") == 25.0
    )
    with pytest.raises(CLIError, match="--max-distance"):
        max_distance_arg("very far")


@pytest.mark.parametrize("reach", ["20 px", "200 px", "40 km"])
def test_dask_chunks_give_the_numpy_mask(edge, reach, no_compute):
    grid = find_grid(edge)
    lazy = reach_mask(
        edge.chunk({"lat": 64, "lon": 96}), grid, reach
    )  # builds a graph only
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_array_equal(lazy.values, reach_mask(edge, grid, reach).values)


def test_dask_fill_equals_numpy_fill(edge, edge_fills):
    chunked = edge.chunk({"lat": 64, "lon": 72}).inpaint.fill(
        "laplace", max_distance="40 px"
    )
    np.testing.assert_array_equal(_flag(chunked.compute()), _flag(edge_fills[0]))
    np.testing.assert_array_equal(chunked.values, edge_fills[0].values)


def test_periodic_x_measures_across_the_dateline():
    sst = synthetic_sst(18, 72, step=5.0, lat0=-42.5, lon0=0.0, land=False)
    assert find_grid(sst).periodic
    observed = np.zeros(sst.shape, bool)
    observed[:, 0] = True  # only the first column (0E) observed
    gappy = sst.where(observed)
    beyond = reach_mask(gappy, find_grid(gappy), "3 px").values
    assert (
        not beyond[:, -3:].any() and beyond[:, -4].all()
    )  # 3 columns west of 0E are within reach
    assert not beyond[:, 1:4].any() and beyond[:, 4].all()
    lazy = reach_mask(gappy.chunk({"lon": 24}), find_grid(gappy), "3 px").values
    np.testing.assert_array_equal(lazy, beyond)
    d = distance_to_observed(observed, periodic_x=True)
    assert d[0, 71] == 1.0 and d[0, 36] == 36.0


def test_beyond_reach_with_row_spacing_is_the_exact_distance_mask():
    """The bounds from one transform and the exact transforms of the undecided gaps give the mask of the full distance transform."""
    rng = np.random.default_rng(1)
    for trial in range(24):
        ny, nx = (int(n) for n in rng.integers(20, 160, 2))
        lat = np.linspace(rng.uniform(-80, 40), rng.uniform(41, 85), ny)
        dy = np.full(ny, rng.uniform(0.5, 3.0))
        spacing = (dy, dy * np.cos(np.deg2rad(lat)))  # x spacing shrinking poleward, many classes
        observed = rng.random((2, ny, nx)) < rng.choice([0.002, 0.01, 0.05])
        observed[1] &= trial % 5 != 0  # sometimes an image without data
        land = rng.random((ny, nx)) < 0.1
        reach, periodic = rng.uniform(2, 60), bool(trial % 2)
        got = beyond_reach(observed, reach, spacing, periodic_x=periodic, exclude=land)
        expect = (distance_to_observed(observed, spacing, periodic_x=periodic) > reach) & ~observed & ~land
        assert np.array_equal(got, expect), trial


def test_a_long_reach_bounded_from_cells_gives_the_exact_distance_mask():
    """Reaches of many pixels take their bounds from a coarse transform of cells (REFERENCE_CELL): the mask stays exact."""
    from sstfill.kernels import reach as kernel

    rng = np.random.default_rng(7)
    both = 0
    for trial in range(10):
        ny, nx = (int(n) for n in rng.integers(150, 420, 2))
        lat = np.linspace(rng.uniform(-75, 20), rng.uniform(25, 80), ny)
        dy = np.full(ny, rng.uniform(0.8, 1.2))
        spacing = (dy, dy * np.cos(np.deg2rad(lat)))
        observed = rng.random((ny, nx)) < rng.choice([0.0005, 0.002, 0.01])
        observed[:, int(nx * rng.uniform(0.2, 0.6)) :] = False  # a swath with scattered data, and its edge
        observed[rng.integers(ny), 0] = True
        reach = 16 * kernel.REFERENCE_CELL * 1.3 * rng.uniform(1.0, 2.0)  # the cells' path
        got = beyond_reach(observed, reach, spacing, periodic_x=bool(trial % 2))
        expect = (distance_to_observed(observed, spacing, periodic_x=bool(trial % 2)) > reach) & ~observed
        assert np.array_equal(got, expect), trial
        both += 0 < got.sum() < got.size - observed.sum()
    assert both >= 5  # most images have gaps on both sides of the reach


@pytest.mark.parametrize("opencv", [True, False], ids=["opencv", "scipy"])
def test_the_distance_transform_is_scipys_bit_for_bit(monkeypatch, opencv):
    """With or without OpenCV (optional, faster), and beyond the size where its float32 is exact."""
    from sstfill.kernels import reach as kernel

    if opencv:
        pytest.importorskip("cv2")
    else:
        monkeypatch.setattr(kernel, "_opencv", lambda: None)
    rng = np.random.default_rng(3)
    for shape, p in [((517, 300), 0.5), ((700, 650), 1e-5), ((1, 9), 0.3), ((40, 1), 0.2)]:
        observed = rng.random(shape) < p
        observed.flat[rng.integers(observed.size)] = True
        np.testing.assert_array_equal(kernel._edt(observed, None), ndimage.distance_transform_edt(~observed))
    monkeypatch.setattr(kernel, "_EXACT_FLOAT32_SQUARES", 100)  # such images go to scipy
    observed = rng.random((60, 60)) < 0.001
    observed[0, 0] = True
    np.testing.assert_array_equal(kernel._edt(observed, None), ndimage.distance_transform_edt(~observed))


def test_the_distance_transform_is_shared_between_the_reach_and_the_error_variable():
    from sstfill.kernels import reach

    rng = np.random.default_rng(5)
    observed = rng.random((300, 200)) > 0.97
    first = reach.edt_to_observed(observed)
    np.testing.assert_array_equal(first, ndimage.distance_transform_edt(~observed))
    assert reach.edt_to_observed(observed.copy()) is first  # the same content: computed once
    assert reach.edt_to_observed(observed, (1.0, 1.0)) is first  # unit spacing is the same transform
    assert not first.flags.writeable  # shared: nobody may change it
    other = observed.copy()
    other[150, 100] = ~other[150, 100]
    assert reach.edt_to_observed(other) is not first and reach.edt_to_observed(other)[150, 100] != first[150, 100]
    scaled = reach.edt_to_observed(observed, (2.0, 1.0))
    np.testing.assert_array_equal(scaled, ndimage.distance_transform_edt(~observed, sampling=(2.0, 1.0)))


def _mercator_field() -> xr.DataArray:
    """0.25-degree longitudes, latitudes Mercator-spaced from the equator to 70 N (0.25 to 0.085 degrees); observed: the northernmost row."""
    lat = np.degrees(np.arctan(np.sinh(np.radians(np.arange(400) * 0.25))))
    lon = np.arange(-30.0, -20.0, 0.25)
    values = np.full((lat.size, lon.size), np.nan, "float32")
    values[-1] = 290.0
    return xr.DataArray(values, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}, name="sst")


def test_uneven_latitudes_give_each_row_its_own_spacing():
    """A reach in km on a Mercator-spaced grid is measured with the rows' own latitude steps.

    Every row took the median step (0.18 degrees, from 35 N): 300 km from 70 N stopped at 150 km.
    """
    sst = _mercator_field()
    beyond = reach_mask(sst, find_grid(sst), 300.0).values[:, 5]
    nearest_beyond = sst.lat.values[np.flatnonzero(beyond)[-1]]
    reached_km = np.radians(sst.lat.values[-1] - nearest_beyond) * 6371.0
    assert 270.0 < reached_km < 315.0


def test_a_row_without_latitude_takes_the_median_spacing():
    """A NaN in a 1-D latitude no longer fails in the distance kernel (ValueError: pixel spacings must be finite)."""
    sst = synthetic_sst(40, 60, land=False)
    sst[10:30, 20:40] = np.nan
    lat = sst.lat.values.copy()
    lat[5] = np.nan
    holed = sst.assign_coords(lat=("lat", lat, sst.lat.attrs))
    filled = holed.inpaint.fill(model="laplace", max_distance=50)
    expected = sst.inpaint.fill(model="laplace", max_distance=50)
    np.testing.assert_array_equal(filled["sst_fill_flag"].values, expected["sst_fill_flag"].values)


def _unlocated_swath(edge: xr.DataArray) -> tuple[xr.DataArray, np.ndarray]:
    """The real swath edge as a curvilinear swath whose pixels beyond the edge have no latitude/longitude (as lost geolocation or a model grid's land often has); one observed pixel among them."""
    lat, lon = np.meshgrid(edge.lat.values, edge.lon.values, indexing="ij")
    lat, lon = lat + 2e-4 * np.arange(lat.shape[1]), lon - 1e-4 * np.arange(lat.shape[0])[:, None]  # not separable: 2-D
    observed = np.isfinite(edge.values)
    unlocated = ndimage.distance_transform_edt(~observed) > 25  # well beyond the edge
    values = edge.values.copy()
    r, c = np.unravel_index(np.argmin(np.where(observed, ndimage.distance_transform_edt(~unlocated), np.inf)), observed.shape)
    unlocated[r, c] = True  # an observed pixel without a position: kept as it is
    lat[unlocated], lon[unlocated] = np.nan, np.nan
    swath = xr.DataArray(values, dims=("nj", "ni"), name=VAR, attrs=edge.attrs,
                         coords={"lat": (("nj", "ni"), lat, {"standard_name": "latitude", "units": "degrees_north"}),
                                 "lon": (("nj", "ni"), lon, {"standard_name": "longitude", "units": "degrees_east"})})
    return swath, unlocated


@pytest.mark.parametrize("max_distance", [None, "auto"])
def test_pixels_without_a_position_are_never_filled(edge, max_distance):
    """A swath's pixels whose latitude or longitude is NaN stay missing, flagged not_filled, with no error; they were all filled.

    They are on no map: beyond the swath edge, or land of an ocean model's grid.
    """
    swath, unlocated = _unlocated_swath(edge)
    assert find_grid(swath).kind == "curvilinear" and unlocated.sum() > 1000
    out = swath.inpaint.fill(land=None, max_distance=max_distance)
    flag, values, sigma = _flag(out), out.values, out[f"{VAR}_error"].values
    observed = np.isfinite(swath.values)
    gap = unlocated & ~observed
    assert np.isnan(values[gap]).all() and (flag[gap] == 3).all() and np.isnan(sigma[gap]).all()
    kept = unlocated & observed
    assert kept.sum() == 1 and (flag[kept] == 0).all()
    np.testing.assert_array_equal(values[observed].view(np.uint32), swath.values[observed].view(np.uint32))
    near = ~unlocated & ~observed & (ndimage.distance_transform_edt(~observed) <= 10)
    assert near.sum() > 500 and np.isfinite(values[near]).all() and (flag[near] == 1).all()
    chunked = swath.chunk({"nj": 64, "ni": 72}).inpaint.fill(land=None, max_distance=max_distance).compute()
    np.testing.assert_array_equal(_flag(chunked), flag)
