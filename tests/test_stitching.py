"""Stitching: tiles that disagree are joined without steps on the lattice (sstfill.kernels.stitching).

The tiles here are the real MUR crop's own truth, each shifted by its own constant, as
neighbouring tiles of a model disagree (on the real Norwegian Sea scene 70 % of their
disagreement in the overlaps is such a constant per pair). The plain weighted blend turns
the offsets into ramps across every overlap; the stitched blend keeps the tiles' own
differences, which here are the truth's, and the observed pixels around the gaps, so it
gives back the truth (along the coast not quite: the correction is free on land, not held
by a zero-flux boundary).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from sstfill.kernels.blocks import fill_block
from sstfill.kernels.tiling import TilePlan, cut_tiles
from sstfill.xr.dispatch import stitch_tiles


class _Unused:
    tile_size, description = 64, "tiles from the truth (the runner below)"


def _offset_truth_runner(truth: np.ndarray, plan: TilePlan, spread: float):
    """A tile runner that returns each lattice tile of ``truth`` plus a constant of its own (sd ``spread``)."""
    oy, ox = plan.origins(0, truth.shape[0]), plan.origins(0, truth.shape[1])
    tiles = cut_tiles(truth, oy, ox, plan.tile).reshape(-1, plan.tile, plan.tile)
    offsets = np.random.default_rng(0).normal(0.0, spread, len(tiles)).astype("float32")

    def run(model, values, observed, rows, batch_size, out, neighbours=None):
        out[rows] = tiles[rows] + offsets[rows, None, None]

    return run


@pytest.fixture(scope="module")
def cloudy_mur(mur):
    day = mur.isel(time=0)
    gappy, hidden = day.inpaint.add_holes("clouds", fraction=0.5, seed=0)
    return day.values, gappy.values, hidden.values, np.isnan(day.values)


def _fill(gappy, land, truth, stitch):
    plan = TilePlan(64, 16, stitch=stitch)
    run = _offset_truth_runner(np.where(land, np.nan, truth), plan, spread=0.5)
    return fill_block(gappy, land, model=_Unused(), plan=plan, run_tiles=run, stitch=stitch_tiles if stitch else None)


def test_stitching_joins_disagreeing_tiles_without_their_steps(cloudy_mur):
    truth, gappy, hidden, land = cloudy_mur
    plain, stitched = _fill(gappy, land, truth, False), _fill(gappy, land, truth, True)
    filled = hidden & np.isfinite(plain)
    assert filled.sum() > 10000 and np.array_equal(np.isfinite(plain), np.isfinite(stitched))
    plain_error = np.sqrt(np.mean((plain - truth)[filled] ** 2))
    stitched_error = np.sqrt(np.mean((stitched - truth)[filled] ** 2))
    assert plain_error > 0.15  # the offsets show in the plain blend
    assert stitched_error < 0.05 * plain_error  # the stitched blend is the truth, nearly
    offshore = filled & (ndimage.distance_transform_edt(~land) >= 10)
    assert np.sqrt(np.mean((stitched - truth)[offshore] ** 2)) < 0.03 * plain_error  # away from the coast, more nearly still
    # the ramps themselves: differences between neighbouring filled pixels that the truth does not have
    def ramp(field):
        error = (field - truth).astype("float64")
        return float(np.mean(np.abs(np.diff(error, axis=-1))[filled[:, 1:] & filled[:, :-1]]))

    assert ramp(plain) > 0.005  # 0.012 K per pixel
    assert ramp(stitched) < 0.1 * ramp(plain)  # 0.0006
    # observed pixels bit for bit, land NaN
    observed = np.isfinite(gappy)
    assert np.array_equal(stitched[observed].view("uint32"), gappy[observed].view("uint32"))
    assert np.isnan(stitched[land]).all()


def test_tiles_that_agree_are_left_as_they_are(cloudy_mur):
    truth, gappy, hidden, land = cloudy_mur
    plan = TilePlan(64, 16)
    run = _offset_truth_runner(np.where(land, np.nan, truth), plan, spread=0.0)
    out = fill_block(gappy, land, model=_Unused(), plan=plan, run_tiles=run, stitch=stitch_tiles)
    filled = hidden & np.isfinite(out)
    assert np.abs(out - truth)[filled].max() < 1e-4


def test_the_correction_carries_on_into_the_fallback_without_a_step(mur):
    """The stitching correction is solved on the gaps the fallback fills too and added there.

    The fallback fills from the plain blend, so it is the correction's own continuation that
    joins it to the stitched pixels: added to the tiles' pixels alone it would leave a step
    of its size along the edge of the fallback's region. Run side by side (two threads) or
    one after the other, the fill is the same bit for bit.
    """
    from sstfill.xr.dispatch import harmonic_fallback

    truth = mur.isel(time=0).values
    land = np.isnan(truth)
    gappy = truth.copy()
    gappy[8:184, 40:250] = np.nan  # wider than two tiles: its middle is beyond every tile's reach
    plan = TilePlan(64, 16, stitch=True)
    run = _offset_truth_runner(np.where(land, np.nan, truth), plan, spread=0.5)
    fill = {
        together: fill_block(gappy, land, model=_Unused(), plan=plan, run_tiles=run, stitch=stitch_tiles, fallback=harmonic_fallback, side_by_side=together)
        for together in (False, True)
    }
    assert np.array_equal(fill[False].view("uint32"), fill[True].view("uint32"))
    by_tiles = np.isfinite(fill_block(gappy, land, model=_Unused(), plan=plan, run_tiles=run, stitch=stitch_tiles)) & np.isnan(gappy)
    by_fallback = np.isnan(gappy) & ~land & ~by_tiles
    assert by_fallback.sum() > 500 and np.isfinite(fill[True][by_fallback]).all()
    # along the edge between the two, the error (fill - truth) of a fallback pixel is that of its tile-filled neighbour
    error = (fill[True] - truth).astype("float64")
    steps = []
    for axis in (0, 1):
        for shift in (1, -1):
            beside = np.roll(by_tiles, shift, axis=axis)
            edge = by_fallback & beside
            steps.append(np.abs(error - np.roll(error, shift, axis=axis))[edge])
    steps = np.concatenate(steps)
    assert steps.size > 50
    # 0.026 K, where the truth's own neighbours differ by 0.018 K on average; with the
    # correction added to the tiles' pixels alone, 0.236 K (it is 0.18 K there on average)
    assert np.mean(steps) < 0.06
