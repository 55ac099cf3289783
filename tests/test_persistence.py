"""The neighbouring days' guess blended into a series' fill far from each day's data (sstfill.kernels.persistence).

Real data: the bundled MUR L4 crop (two consecutive days of the Southern California Bight)
under synthetic cloud-shaped holes and, on the second day, one cloud of 100 x 120 pixels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import ndimage

import sstfill  # registers .inpaint
from sstfill.kernels.persistence import (MIN_SPREAD_PIXELS, BLEND_SCALE_KM, blend_with_guess, blended_sigma, departure_spread, fill_weight, neighbour_prior,
                                        persistence_guess, step_weights)
from sstfill.kernels.windows import neighbour_steps
from sstfill.xr.dispatch import harmonic_fallback
from sstfill.xr.persistence import NOTE


@pytest.fixture(scope="module")
def cloudy(mur: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    gappy, hidden = mur.inpaint.add_holes(kind="clouds", fraction=0.3, seed=3)
    wide = xr.zeros_like(mur, dtype=bool)
    wide[1, 40:140, 60:180] = True  # about 110 x 130 km on the second day
    return gappy.where(~wide), (hidden | wide) & mur.notnull(), mur.isnull().all("time")


def _bits(a: xr.DataArray) -> np.ndarray:
    return np.ascontiguousarray(a.values).view(f"uint{a.dtype.itemsize * 8}")


@pytest.mark.parametrize("model", ["default", "laplace"])
def test_the_neighbouring_day_lowers_the_error_far_from_the_days_data(mur, cloudy, model):
    gappy, hidden, land = cloudy
    fills = {p: gappy.inpaint.fill(model, land=land, max_distance=None, persistence=p) for p in (False, True)}
    distance = ndimage.distance_transform_edt(gappy.isnull().values[1])  # pixels of about 1.1 km
    errors = {p: (f - mur).values[1][hidden.values[1]] for p, f in fills.items()}
    far = distance[hidden.values[1]] > 10

    def rmse(p, where=Ellipsis):
        return float(np.sqrt(np.mean(errors[p][where] ** 2)))

    # measured: default 0.199 -> 0.175 degC beyond 10 km, 0.142 -> 0.125 on all hidden pixels; laplace 0.223 -> 0.192
    assert rmse(True, far) < 0.9 * rmse(False, far)
    assert rmse(True) < 0.92 * rmse(False)
    observed = gappy.notnull()
    np.testing.assert_array_equal(_bits(fills[True].where(observed)), _bits(gappy.where(observed)))  # bit for bit
    assert bool(fills[True].where(land).isnull().all())  # land stays NaN
    flag = "analysed_sst_fill_flag"
    np.testing.assert_array_equal(fills[True][flag].values, fills[False][flag].values)  # the same pixels filled
    assert NOTE in fills[True].attrs["comment"] and NOTE in fills[True].attrs["history"] and NOTE not in fills[False].attrs["comment"]


def _edge_steps(field: np.ndarray, hidden: np.ndarray, weight: np.ndarray) -> float:
    """Mean |difference| of neighbouring hidden pixels, one blended with the guess and one not (the guess's edge)."""
    steps = []
    for axis in (1, 2):
        a, b = [slice(None)] * 3, [slice(None)] * 3
        a[axis], b[axis] = slice(0, -1), slice(1, None)
        a, b = tuple(a), tuple(b)
        across = hidden[a] & hidden[b] & ((weight[a] < 1) != (weight[b] < 1))
        steps.append(np.abs(field[a] - field[b])[across])
    return float(np.concatenate(steps).mean())


@pytest.mark.parametrize("model", ["default", "laplace"])
def test_the_blend_carries_on_past_the_edge_of_the_guess_without_a_step(mur, cloudy, model):
    from sstfill.xr.grid import find_grid
    from sstfill.xr.persistence import blend_neighbour_days

    gappy, hidden, land = cloudy
    plain = gappy.inpaint.fill(model, land=land, max_distance=None, persistence=False, error=False).values
    left = np.broadcast_to(land.values, plain.shape)
    carried, weight, _ = blend_neighbour_days(gappy, plain, left, find_grid(gappy), harmonic_fallback)
    ended, weight_ended, _ = blend_neighbour_days(gappy, plain, left, find_grid(gappy), harmonic_fallback, carry_on=False)
    blended = weight_ended < 1
    np.testing.assert_array_equal(weight[blended], weight_ended[blended])
    hidden = hidden.values
    truth_step = _edge_steps(mur.values, hidden, weight_ended)
    # measured: the blend alone steps by 0.044 (default) / 0.050 (laplace) degC there, the truth by 0.018;
    # carried on, 0.015 / 0.013
    assert _edge_steps(ended, hidden, weight_ended) > 2 * truth_step
    assert _edge_steps(carried, hidden, weight_ended) < 1.2 * truth_step
    beyond = hidden & ~blended & np.isfinite(plain)  # hidden pixels the other day did not see
    # the guess's share is carried on too (for the error): between the blend's and none
    assert (weight[beyond] < 1).mean() > 0.5 and weight[beyond].min() >= weight_ended[blended].min()

    def rmse(field):
        return float(np.sqrt(np.mean((field - mur.values)[beyond] ** 2)))

    # and the guess's news about the fill's bias helps there: 0.120 -> 0.096 (default), 0.158 -> 0.119 (laplace)
    np.testing.assert_array_equal(_bits(xr.DataArray(ended[beyond])), _bits(xr.DataArray(plain[beyond])))
    assert rmse(carried) < 0.9 * rmse(plain)
    observed = np.isfinite(gappy.values)
    np.testing.assert_array_equal(carried[observed].view("uint32"), gappy.values[observed].view("uint32"))
    assert np.isnan(carried[left]).all()


def test_it_fills_no_pixel_the_fill_left_and_keeps_the_reach(cloudy):
    gappy, _, land = cloudy
    out = {p: gappy.inpaint.fill("laplace", land=land, max_distance="5 km", persistence=p) for p in (False, True)}
    np.testing.assert_array_equal(out[True].isnull().values, out[False].isnull().values)
    assert int(out[True].isnull().sum()) > int(land.sum()) * 2  # gaps beyond 5 km stay missing on both days


def test_dask_chunks_give_the_same_fill_bit_for_bit(cloudy):
    gappy, _, land = cloudy
    whole = gappy.inpaint.fill("laplace", land=land, max_distance=None)
    for chunks in ({"time": 1}, {"time": 1, "lat": 96, "lon": 128}, {"time": 2, "lat": 64}):
        lazy = gappy.chunk(chunks).inpaint.fill("laplace", land=land, max_distance=None)
        assert lazy.chunks is not None  # nothing computed yet
        lazy = lazy.compute()
        np.testing.assert_array_equal(_bits(lazy), _bits(whole))
        np.testing.assert_array_equal(_bits(lazy["analysed_sst_error"]), _bits(whole["analysed_sst_error"]))  # the guess's spread too


def test_single_images_and_steps_without_a_neighbour_within_five_days_are_not_changed(cloudy):
    gappy, _, land = cloudy
    image = gappy.isel(time=1)
    alone = image.inpaint.fill("laplace", land=land)
    np.testing.assert_array_equal(_bits(alone), _bits(image.inpaint.fill("laplace", land=land, persistence=False)))
    assert NOTE not in alone.attrs["comment"]  # the output says what was done, and only that
    apart = gappy.assign_coords(time=pd.to_datetime(["2021-01-01", "2021-01-07"]))  # 6 days apart
    np.testing.assert_array_equal(_bits(apart.inpaint.fill("laplace", land=land)), _bits(apart.inpaint.fill("laplace", land=land, persistence=False)))
    near = gappy.assign_coords(time=pd.to_datetime(["2021-01-01", "2021-01-05"]))  # 4 days apart: the guess's second layer
    assert not np.array_equal(_bits(near.inpaint.fill("laplace", land=land)), _bits(near.inpaint.fill("laplace", land=land, persistence=False)))


def test_days_3_to_5_away_guess_only_where_the_days_within_2_saw_nothing(mur, cloudy):
    gappy, hidden, land = cloudy
    west = mur.lon < mur.lon[mur.sizes["lon"] // 2]
    far_day, near_day, today = mur[0], mur[0].where(west), gappy[1]  # the day before saw the west half only
    three = xr.concat([far_day, near_day, today], "time").assign_coords(time=pd.to_datetime(["2021-01-01", "2021-01-04", "2021-01-05"]))
    two = three.isel(time=[1, 2])  # the same series without the step 4 days before
    fills = {n: s.inpaint.fill("laplace", land=land, max_distance=None)[-1] for n, s in (("three", three), ("two", two))}
    np.testing.assert_array_equal(_bits(fills["three"].where(west)), _bits(fills["two"].where(west)))  # the near days' guess, bit for bit
    east = hidden[1] & ~west
    errors = {n: float(np.sqrt(((f - mur[1]).values[east.values] ** 2).mean())) for n, f in fills.items()}
    assert errors["three"] < 0.9 * errors["two"], errors  # measured: 0.138 -> 0.114 degC (0.154 -> 0.113 before the tiles were stitched)


def test_irregular_steps_are_weighted_by_their_distance_in_days():
    days = np.array([0.0, 1.0, 1.25, 3.0])  # two scenes on the second day, no third day
    weights = step_weights(days, neighbour_steps(days, (-2.0, -1.0, 1.0, 2.0)))
    assert weights[0].tolist() == [0.0, 0.0, 1.0, 0.0]  # day 1 (nearest to +1); nothing within half a day of +2
    assert weights[3].tolist() == [0.25, 0.0, 0.0, 0.0]  # day 1 is nearest to 3 - 2 = 1: 2 days away
    # the scene at 1.25: day 0 (nearest to 0.25, 1.25 days away) and day 3 (nearest to 3.25, 1.75 days away)
    np.testing.assert_allclose(weights[2], [0.0, 1 / 1.25**2, 0.0, 1 / 1.75**2])


def test_the_guess_carries_a_front_under_a_cloud_and_the_blend_weights_distance():
    yesterday = np.full((60, 60), 10.0, "float32")
    yesterday[30:] = 11.0  # a front along row 30
    today = yesterday + 0.5
    today[10:50, 10:50] = np.nan
    before = np.full((60, 60), np.nan, "float32")  # two days before: not observed at all
    guess = persistence_guess(today, neighbour_prior([before, yesterday], [0.25, 1.0]), None, harmonic_fallback)
    np.testing.assert_allclose(guess[10:50, 10:50], (yesterday + 0.5)[10:50, 10:50], atol=1e-4)  # a Laplace fill smears it
    flat = np.where(np.isnan(today), 10.75, today).astype("float32")
    weight = fill_weight(today, guess, np.full(today.shape, BLEND_SCALE_KM))
    assert set(np.unique(weight).tolist()) == {0.5, 1.0} and bool((weight[np.isnan(today)] == 0.5).all())  # equal weights at the scale
    blended = blend_with_guess(today, flat, guess, weight)
    np.testing.assert_allclose(blended[20, 20], 0.5 * (10.75 + 10.5), atol=1e-4)
    assert np.array_equal(blended[~np.isnan(today)], today[~np.isnan(today)])


def test_the_error_of_a_blended_pixel_moves_towards_the_guess_ratio_with_distance(cloudy):
    import dataclasses

    gappy, _, land = cloudy
    filler = sstfill.LaplaceFiller()
    sigma = {}
    for ratio in (1.0, 0.5):
        filler.error_model = dataclasses.replace(sstfill.LaplaceFiller.error_model, guess_ratio=ratio, guess_cap=0.0)
        sigma[ratio] = gappy.inpaint.fill(filler, land=land, max_distance=None)["analysed_sst_error"].values
    factor = sigma[0.5] / sigma[1.0]  # w + (1 - w) * 0.5 with w the fill's weight; the fills are the same
    filled = np.isfinite(sigma[1.0])
    assert bool((factor[filled] >= 0.5 - 1e-6).all() and (factor[filled] <= 1 + 1e-6).all())
    distance = ndimage.distance_transform_edt(gappy.isnull().values[1])
    inside, edge = filled[1] & (distance > 40), filled[1] & (distance <= 2)
    assert factor[1][inside].mean() < 0.75 < factor[1][edge].mean()  # about 40 km in: the guess weighs more than the fill


def test_the_guess_error_levels_off_at_the_spread_of_the_day_to_day_change(cloudy):
    import dataclasses

    gappy, _, land = cloudy
    filler = sstfill.LaplaceFiller()
    sigma = {}
    for ratio, cap in ((1.0, 0.0), (0.5, 0.0), (1.0, 0.5)):
        filler.error_model = dataclasses.replace(sstfill.LaplaceFiller.error_model, guess_ratio=ratio, guess_cap=cap)
        sigma[ratio, cap] = gappy.inpaint.fill(filler, land=land, max_distance=None)["analysed_sst_error"].values[1]
    plain = sigma[1.0, 0.0]  # w + (1 - w) * 1: the fill's own error
    weight = 2 * sigma[0.5, 0.0] / plain - 1  # from w + (1 - w) * 0.5
    departure = (gappy[1] - gappy[0]).values  # the second day's one neighbour: the first day
    spread = float(np.nanstd(departure.astype("float64")))
    filled = np.isfinite(plain)
    expected = weight * plain + (1 - weight) * np.minimum(plain, 0.5 * spread)
    np.testing.assert_allclose(sigma[1.0, 0.5][filled], expected[filled], rtol=1e-4, atol=1e-6)
    distance = ndimage.distance_transform_edt(gappy.isnull().values[1])
    deep = filled & (distance > 40) & (weight < 0.5)  # inside the wide cloud, where the first day saw: the fill's error keeps growing, the guess's is capped
    assert deep.sum() > 500 and plain[deep].mean() > 0.5 * spread and bool((sigma[1.0, 0.5][deep] < 0.6 * plain[deep]).all())
    untouched = filled & (weight > 1 - 1e-6)
    np.testing.assert_array_equal(sigma[1.0, 0.5][untouched], plain[untouched])


def test_the_spread_is_that_of_the_layer_that_made_the_guess():
    rng = np.random.default_rng(0)
    near = np.full((20, 20), 10.0, "float32")
    near[:, 10:] = np.nan  # the days within 2 saw the west only
    far = np.full((20, 20), 12.0, "float32")
    today = np.full((20, 20), np.nan, "float32")
    today[:5] = (11.0 + rng.normal(0, 0.3, (5, 20))).astype("float32")
    spread = departure_spread(today, [near, far])
    np.testing.assert_allclose(spread[10, 3], np.std(today[:5, :10] - 10.0), rtol=1e-5)  # the near days' share of today
    np.testing.assert_allclose(spread[10, 15], np.std(today[:5] - 12.0), rtol=1e-5)  # the far days' (they saw all of it)
    few = np.full((20, 20), np.nan, "float32")
    few[0, : MIN_SPREAD_PIXELS - 1] = 10.0  # shares too few pixels with today to measure a spread: the next layer's
    np.testing.assert_allclose(departure_spread(today, [few, far])[0, 0], np.std(today[:5] - 12.0), rtol=1e-5)
    assert bool(np.isnan(departure_spread(today, [few])).all())
    # where no prior has the pixel (the guess carried on past its edge), on request the first measured layer's
    assert bool(np.isnan(departure_spread(today, [near])[:, 10:]).all())
    np.testing.assert_allclose(departure_spread(today, [near], everywhere=True)[:, 10:], np.std(today[:5, :10] - 10.0), rtol=1e-5)
    np.testing.assert_allclose(departure_spread(today, [few, near], everywhere=True)[0, 15], np.std(today[:5, :10] - 10.0), rtol=1e-5)


def test_the_blended_error_without_a_cap_is_the_ratio_form():
    rng = np.random.default_rng(1)
    sigma, weight = rng.uniform(0.05, 1.0, 1000).astype("float32"), rng.uniform(0, 1, 1000).astype("float32")
    weight[:100] = 1.0
    spread = np.full(1000, 0.2, "float32")
    np.testing.assert_allclose(blended_sigma(sigma, weight, spread, 0.4), sigma * (weight + (1 - weight) * 0.4), rtol=1e-6)
    capped = blended_sigma(sigma, weight, spread, 0.4, 1.0)
    assert bool((capped <= blended_sigma(sigma, weight, spread, 0.4) + 1e-7).all()) and np.array_equal(capped[:100], sigma[:100])


def test_a_time_axis_after_another_leading_axis_is_blended_the_same(cloudy):
    gappy, _, land = cloudy
    image = gappy.inpaint.fill("laplace", land=land, error=False)
    deep = gappy.expand_dims(depth=2).transpose("depth", "time", "lat", "lon")  # a step is not contiguous
    filled = deep.inpaint.fill("laplace", land=land, error=False)
    for d in range(2):
        np.testing.assert_array_equal(_bits(filled.isel(depth=d)), _bits(image))


def test_a_fill_without_its_error_carries_the_same_field_past_the_guess(cloudy):
    # fill(error=False) skips carrying the fill's weight on (one harmonic solve fewer), never the field
    gappy, _, land = cloudy
    with_error = gappy.inpaint.fill("laplace", land=land, max_distance=None)
    without = gappy.inpaint.fill("laplace", land=land, max_distance=None, error=False)
    np.testing.assert_array_equal(_bits(with_error), _bits(without))
    assert "analysed_sst_error" in with_error.coords and "analysed_sst_error" not in without.coords
