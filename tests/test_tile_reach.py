"""What the tiles may fill (issue 14): their reach from the data, their cover, the decoder's ripple.

A model of single images fills gaps only within ``TILE_REACH`` pixels of its image's data
(the harmonic fallback fills the rest); a pixel takes the tiles' blend only where tiles
with a prediction hold at least ``MIN_COVERAGE`` of its window; the neural models' tiles
are smoothed by a 3x3 binomial filter against the decoder's 2- and 4-pixel ripple.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import xarray as xr

import sstfill
from sstfill.kernels.reach import distance_to_observed
from sstfill.kernels.tiling import MIN_COVERAGE, TilePlan, smooth_tiles, window_coverage
from sstfill.models.inpainter import TILE_REACH
from sstfill.models.store import resolve_model


@pytest.mark.parametrize("overlap", [0, 16, 32])
def test_window_coverage_is_one_with_every_tile_and_low_inside_a_missing_one(overlap):
    plan = TilePlan(64, overlap)
    oy = ox = plan.origins(0, 256)
    used = np.ones((oy.size, ox.size), bool)
    np.testing.assert_allclose(window_coverage(used, plan.window(), oy, ox, (256, 256)), 1.0, atol=1e-6)
    i = j = int(np.flatnonzero(oy == 2 * plan.stride)[0])
    used[i, j] = False  # one tile without a prediction
    cover = window_coverage(used, plan.window(), oy, ox, (256, 256))
    y0 = x0 = 2 * plan.stride
    assert cover[y0 + 32, x0 + 32] < MIN_COVERAGE  # its middle belongs to it alone or mostly
    untouched = np.ones((256, 256), bool)
    untouched[y0 : y0 + 64, x0 : x0 + 64] = False
    np.testing.assert_allclose(cover[untouched], 1.0, atol=1e-6)  # elsewhere nothing changes


def test_smoothing_removes_the_two_pixel_ripple_and_keeps_ramps():
    y, x = np.mgrid[0:64, 0:64].astype("float64")
    ramp = 0.02 * x - 0.01 * y + 15.0
    ripple = 0.1 * ((x % 2) - 0.5)
    out = smooth_tiles((ramp + ripple)[None])[0]
    np.testing.assert_allclose(out[1:-1, 1:-1], ramp[1:-1, 1:-1], atol=1e-9)  # ripple gone, ramp kept
    assert np.allclose(smooth_tiles(np.full((2, 64, 64), 3.5)), 3.5)


@pytest.fixture(scope="module")
def sample_with_a_wide_cloud():
    path = resources.files("sstfill") / "data" / "sample_slstr_ne_atl_south.nc"
    with xr.open_dataset(str(path)) as ds:
        sst = ds["sea_surface_skin_temperature"].isel(time=0).load()
    gappy = sst.copy()
    gappy[70:190, 60:200] = np.nan  # a cloud 120 x 140 pixels, wider than a tile
    return gappy


def test_gaps_beyond_the_tiles_reach_are_left_to_the_fallback(sample_with_a_wide_cloud):
    gappy = sample_with_a_wide_cloud
    model = resolve_model(None)
    assert model.tile_reach == TILE_REACH and model.smooth_output
    observed = np.isfinite(gappy.values)
    tiles_only = gappy.inpaint.fill(None, land=None, fallback=False, error=False, max_distance=None)
    full = gappy.inpaint.fill(None, land=None, error=False, max_distance=None)
    distance = distance_to_observed(observed)
    far = ~observed & (distance > TILE_REACH)
    near = ~observed & (distance <= TILE_REACH)
    assert far.sum() > 3000
    assert np.isnan(tiles_only.values[far]).all()  # the tiles leave them
    assert (tiles_only[f"{gappy.name}_fill_flag"].values[far] == 3).all()  # flagged not_filled
    assert np.isfinite(tiles_only.values[near]).mean() > 0.95
    filled = full.values
    assert np.isfinite(filled[~observed]).all()
    np.testing.assert_array_equal(filled[observed], gappy.values[observed])  # bit for bit
    # the far part is the fallback: a harmonic fill of the departure from the image's
    # large-scale trend (made from what the tiles left), discrete Laplacian ~0 inside it
    from sstfill.kernels.trend import block_trend
    from sstfill.xr.grid import canonical_flips, find_grid, flip_yx

    flips = canonical_flips(gappy, find_grid(gappy))  # the fill's orientation (the blocks count from its corner)
    trend = flip_yx(block_trend(flip_yx(tiles_only.values.astype("float64"), flips)), flips)
    assert trend is not None and np.abs(trend[far] - filled[far]).max() < 3.0
    inner = far.copy()
    inner[1:-1, 1:-1] &= far[:-2, 1:-1] & far[2:, 1:-1] & far[1:-1, :-2] & far[1:-1, 2:]
    f = filled.astype("float64") - trend
    lap = f[:-2, 1:-1] + f[2:, 1:-1] + f[1:-1, :-2] + f[1:-1, 2:] - 4 * f[1:-1, 1:-1]
    assert np.abs(lap[inner[1:-1, 1:-1]]).max() < 1e-3
    # and the same, bit for bit, when the field comes in small dask chunks
    chunked = gappy.chunk({"lat": 70, "lon": 90}).inpaint.fill(None, land=None, error=False, max_distance=None)
    np.testing.assert_array_equal(chunked.values, filled)


def test_a_model_with_time_context_has_no_tile_reach():
    context = resolve_model("context")
    assert context.time_offsets and context.tile_reach is None
    assert sstfill.Inpainter.from_preset("fast").tile_reach == TILE_REACH
