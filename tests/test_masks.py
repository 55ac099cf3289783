"""Land and cloud masks, synthetic holes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sstfill.xr.cf import MASK_FLAGS
from sstfill.errors import InputDataError
from sstfill.kernels.holes import HOLE_KINDS, cloud_library, make_holes
from sstfill.testing import synthetic_land


def test_mask_flags_on_a_time_series(sst_series):
    da = sst_series.copy()
    da[0, 5:15, 5:15] = np.nan  # a cloud on day 0 only
    m = da.inpaint.mask()
    assert m.dtype == np.int8 and list(m.attrs["flag_values"]) == list(MASK_FLAGS)
    assert m.attrs["flag_meanings"] == "observed cloud land"
    land = synthetic_land(150, 170)
    assert (m.values[:, land] == 2).all()  # the field's CF land_binary_mask coordinate
    assert (m.values[0, 5:15, 5:15] == 1).all() and (m.values[1, 5:15, 5:15] == 0).all()


def test_user_mask_wins_and_cf_variable_is_found(sst_image):
    sst_image = sst_image.drop_vars("land_mask")  # only the dataset's own mask below
    land = xr.zeros_like(sst_image, dtype=bool)
    land[:, :10] = True
    m = sst_image.inpaint.mask(land=land)
    assert (m.values[:, :10][np.isnan(sst_image.values[:, :10])] == 2).all()
    ds = sst_image.to_dataset()
    ds["lsm"] = (sst_image.dims, land.values.astype("int8"), {"standard_name": "land_binary_mask"})
    flags = ds.inpaint.mask("sst")
    holes = sst_image.isnull().values
    assert ((flags.values == 2) == (holes & land.values)).all()


def test_flag_variable_with_land_meaning(sst_image):
    ds = sst_image.drop_vars("land_mask").to_dataset()
    land = np.isnan(sst_image.values)
    ds["mask"] = (sst_image.dims, np.where(land, 2, 1).astype("int8"),
                  {"flag_masks": [1, 2, 4], "flag_meanings": "water land optional_lake_surface"})
    assert (ds.inpaint.mask("sst").values == np.where(land, 2, 0)).all()


def test_single_image_land_from_global_land_mask():
    # 0.1 deg grid over the Strait of Gibraltar: Spain and Morocco are land
    lat = np.arange(35.0, 37.0, 0.1)
    lon = np.arange(-7.0, -4.0, 0.1)
    da = xr.DataArray(np.full((lat.size, lon.size), np.nan, "float32"), dims=("lat", "lon"),
                      coords={"lat": lat, "lon": lon + 360}, name="sst")  # 0..360 longitudes
    da[5, 5] = 290.0
    m = da.inpaint.mask().values
    assert (m == 2).mean() > 0.3 and (m == 1).mean() > 0.2  # both land and sea recognised
    assert m[np.argmin(abs(lat - 36.0)), np.argmin(abs(lon + 6.5))] == 1  # Gulf of Cadiz is sea


def test_short_series_do_not_take_long_clouds_for_land(sst_series):
    short = sst_series.isel(time=slice(0, 3)).copy()
    short[:, 5:15, 5:15] = np.nan  # a cloud that lasts three days is still a cloud
    m = short.inpaint.mask()
    assert (m.values[:, 5:15, 5:15] == 1).all()


def test_land_none_means_every_gap_is_cloud(sst_series):
    m = sst_series.inpaint.mask(land=None)
    assert not (m == 2).any()


def test_bad_land_mask_is_a_clear_error(sst_image):
    with pytest.raises(InputDataError, match="'sst'.*must cover its grid"):
        sst_image.inpaint.mask(land=np.zeros((3, 3), bool))
    with pytest.raises(InputDataError, match="'nope'"):
        sst_image.inpaint.mask(land="nope")


@pytest.mark.parametrize("kind", [k for k in HOLE_KINDS if k != "square10"])
@pytest.mark.parametrize("fraction", [0.15, 0.5])
def test_hole_fraction_is_respected(kind, fraction):
    holes = make_holes(kind, (256, 320), np.random.default_rng(0), fraction=fraction)
    assert abs(holes.mean() - fraction) < 0.12
    assert not np.array_equal(holes, make_holes(kind, (256, 320), np.random.default_rng(1), fraction=fraction))


def test_square10_is_one_10x10_square_per_tile():
    holes = make_holes("square10", (128, 192), np.random.default_rng(0))
    for i in range(2):
        for j in range(3):
            cell = holes[i * 64 : (i + 1) * 64, j * 64 : (j + 1) * 64]
            assert cell.sum() == 100
            ys, xs = np.nonzero(cell)
            assert np.ptp(ys) == 9 and np.ptp(xs) == 9


def test_real_cloud_library_is_real_shapes():
    masks, fractions = cloud_library("train")
    assert masks.shape[1:] == (64, 64) and masks.dtype == bool and len(masks) > 100
    np.testing.assert_allclose(masks.mean(axis=(1, 2)), fractions, atol=1e-6)
    # real clouds are spatially coherent: a neighbour of a cloud pixel is mostly cloud
    same = (masks[:, 1:, :] == masks[:, :-1, :]).mean()
    assert same > 0.85


def test_add_holes_hides_only_observed_ocean_and_is_reproducible(sst_series):
    gappy, hidden = sst_series.inpaint.add_holes("clouds", fraction=0.4, seed=7)
    assert hidden.dtype == bool and hidden.dims == sst_series.dims
    assert not (hidden & sst_series.isnull()).any()
    assert gappy.isnull().sum() == sst_series.isnull().sum() + hidden.sum()
    frac = float(hidden.sum() / sst_series.notnull().sum())
    assert 0.25 < frac < 0.55
    _, again = sst_series.inpaint.add_holes("clouds", fraction=0.4, seed=7)
    assert (again == hidden).all()
    assert not (hidden[0] == hidden[1]).all()  # each day its own clouds


def test_add_holes_is_lazy_and_chunk_independent(sst_series, no_compute):
    lazy = sst_series.chunk({"time": 1, "lat": 75, "lon": 100})
    gappy, hidden = lazy.inpaint.add_holes("squares6", fraction=0.3, seed=3, land=None)
    assert hasattr(gappy.data, "dask") and hasattr(hidden.data, "dask")


def test_add_holes_chunked_equals_unchunked(sst_series):
    _, eager = sst_series.inpaint.add_holes("squares", fraction=0.3, seed=3, land=None)
    _, lazy = sst_series.chunk({"time": 1, "lat": 75, "lon": 100}).inpaint.add_holes("squares", fraction=0.3, seed=3, land=None)
    assert (lazy.compute() == eager).all()


def test_flag_variable_as_read_from_a_file(sst_image):
    # netCDF gives a one-element attribute back as a scalar; meanings may be spaced twice
    ds = sst_image.drop_vars("land_mask").to_dataset()
    land = np.isnan(sst_image.values)
    ds["lsm"] = (sst_image.dims, land.astype("int8"), {"flag_values": np.int8(1), "flag_meanings": "land"})
    assert (ds.inpaint.mask("sst").values == np.where(land, 2, 0)).all()
    ds["lsm"].attrs = {"flag_values": [0, 1, 2], "flag_meanings": "sea  land"}
    with pytest.raises(InputDataError, match="'lsm'"):
        ds.inpaint.mask("sst")


@pytest.mark.parametrize("tile", [16, 32, 64])
def test_real_cloud_shapes_fit_cells_of_any_size(tile):
    """A coarse grid (ERSST's 2 degrees) takes the 64x64 shapes resampled to its cells."""
    holes = make_holes("clouds", (100, 90), np.random.default_rng(0), fraction=0.4, tile=tile)
    assert holes.shape == (100, 90)
    assert 0.3 < holes.mean() < 0.5
