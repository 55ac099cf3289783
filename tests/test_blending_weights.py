"""Overlapping tiles are blended with weights "window x observed fraction" (docs: tiling and seams).

The fraction counts at least ``FRACTION_FLOOR`` (0.05), so a tile dominates a neighbour by at
most 20 to 1 (an unbounded ratio put a step at tile borders, issue 14).

A tile that sees little data predicts its gaps worse than a neighbour that sees a lot, so where
tiles overlap the one with more observed pixels must dominate. These tests fill with a stub
model whose prediction per tile is known (the mean of the tile's observed pixels), so the
blended value of every gap pixel can be computed independently, pixel by pixel, from the
documented rule.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import sstfill  # noqa: F401  (registers .inpaint)
from sstfill.xr.dispatch import fill_block
from sstfill.kernels.tiling import FRACTION_FLOOR, TilePlan
from sstfill.testing import synthetic_sst


class TileMeanModel:
    """A tile model that fills each tile with the mean of its observed pixels."""

    tile_size = 64
    description = "tile mean (test stub)"

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        total = np.where(observed, values, 0).sum(axis=(1, 2), dtype="float64")
        count = np.maximum(observed.sum(axis=(1, 2)), 1)
        return np.broadcast_to((total / count)[:, None, None], values.shape).astype("float32")


def expected_blend(field: np.ndarray, plan: TilePlan, *, weight_by_fraction: bool) -> np.ndarray:
    """The blended tile-mean prediction at every pixel, summed tile by tile over the lattice."""
    ny, nx = field.shape
    observed = np.isfinite(field)
    window = plan.window().astype("float64")
    num, den = np.zeros((ny, nx)), np.zeros((ny, nx))
    for oy in plan.origins(0, ny):
        for ox in plan.origins(0, nx):
            y0, y1, x0, x1 = max(oy, 0), min(oy + plan.tile, ny), max(ox, 0), min(ox + plan.tile, nx)
            obs = observed[y0:y1, x0:x1]
            if not obs.any():
                continue
            fraction = obs.sum() / plan.tile**2  # pixels outside the field count as unobserved
            mean = field[y0:y1, x0:x1][obs].astype("float64").mean()
            factor = max(fraction, FRACTION_FLOOR) if weight_by_fraction else 1.0
            weight = window[y0 - oy : y1 - oy, x0 - ox : x1 - ox] * factor
            num[y0:y1, x0:x1] += weight * mean
            den[y0:y1, x0:x1] += weight
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


@pytest.fixture(scope="module")
def cloudy_field() -> np.ndarray:
    """Realistic SST (no land) under real cloud shapes: tiles see very different fractions."""
    da = synthetic_sst(150, 170, seed=7, land=False)
    gappy, hidden = da.inpaint.add_holes("clouds", fraction=0.5, seed=3)
    assert int(hidden.sum()) > 5000
    return gappy.values


def test_tiles_with_more_data_dominate_the_blend(cloudy_field):
    plan = TilePlan(tile=64, overlap=16, stitch=False)  # the weighted blend itself
    filled = fill_block(cloudy_field, None, model=TileMeanModel(), plan=plan, fallback=False)
    gaps = np.isnan(cloudy_field)
    want = expected_blend(cloudy_field, plan, weight_by_fraction=True)
    equal_weights = expected_blend(cloudy_field, plan, weight_by_fraction=False)
    # the field is such that the rule matters: equal weights would move gap pixels by tenths of a kelvin
    assert np.abs(want - equal_weights)[gaps].max() > 0.1
    np.testing.assert_allclose(filled[gaps], want[gaps], rtol=0, atol=2e-4)
    np.testing.assert_array_equal(filled[~gaps], cloudy_field[~gaps])  # observed pixels bit for bit


def test_the_accessor_blends_the_same_way(cloudy_field):
    da = xr.DataArray(cloudy_field, dims=("lat", "lon"), coords={"lat": np.arange(150) * 0.05, "lon": np.arange(170) * 0.05})
    filled = da.inpaint.fill(TileMeanModel(), overlap=16, fallback=False, land=xr.zeros_like(da, dtype=bool), stitch=False)
    gaps = np.isnan(cloudy_field)
    want = expected_blend(cloudy_field, TilePlan(tile=64, overlap=16), weight_by_fraction=True)
    np.testing.assert_allclose(filled.values[gaps], want[gaps], rtol=0, atol=2e-4)
