"""fill() without a model: the bundled ``context`` model on daily series, ``default`` elsewhere.

Real data: the bundled MUR L4 crop (``mur`` in ``conftest.py``: two consecutive days of the
Southern California Bight), under synthetic cloud-shaped holes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import sstfill  # noqa: F401  (registers .inpaint)
from sstfill.models.store import load_bundled_model
from sstfill.xr.series import AUTO_CONTEXT_SHARE, auto_init_name, auto_model_name, share_with_neighbours

SPATIAL = ("lat", "lon")


@pytest.fixture(scope="module")
def holed(mur: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    return mur.inpaint.add_holes(kind="clouds", fraction=0.5, seed=3)


def _bits(a: xr.DataArray) -> np.ndarray:
    return np.ascontiguousarray(a.values).view(f"uint{a.dtype.itemsize * 8}")


def _rmse(filled: xr.DataArray, truth: xr.DataArray, hidden: xr.DataArray) -> float:
    return float(np.sqrt(((filled - truth) ** 2).where(hidden & filled.notnull()).mean()))


def test_a_daily_series_is_filled_by_the_context_model_and_better_for_it(mur, holed):
    gappy, hidden = holed
    auto = gappy.inpaint.fill(max_distance=None)
    context = gappy.inpaint.fill(model="context", max_distance=None)
    default = gappy.inpaint.fill(model="default", max_distance=None)
    np.testing.assert_array_equal(_bits(auto), _bits(context))
    np.testing.assert_array_equal(_bits(auto["analysed_sst_error"]), _bits(context["analysed_sst_error"]))
    assert "'context' preset" in auto.attrs["comment"] and "neighbouring steps" in auto.attrs["comment"]
    # the reason for the choice, on these real days: the model that sees the neighbouring day
    # fills better (0.095 against 0.103 K without the neighbouring days' guess that both get)
    alone = {m: gappy.inpaint.fill(model=m, max_distance=None, persistence=False, error=False) for m in ("context", "default")}
    assert _rmse(alone["context"], mur, hidden) < 0.96 * _rmse(alone["default"], mur, hidden)
    # with the guess, carried past the edge of what the other day saw, the default model gains most
    # (0.103 -> 0.0939 K; context 0.0947 -> 0.0946) and on this two-day crop the two are level; on the
    # benchmark's series the context model stays ahead with it (0.140 against 0.149 degC, docs/benchmarks/accuracy.md)
    assert _rmse(default, mur, hidden) < 0.95 * _rmse(alone["default"], mur, hidden)
    assert _rmse(auto, mur, hidden) < 1.02 * _rmse(default, mur, hidden)


def test_a_single_image_is_filled_by_the_default_model(holed):
    gappy = holed[0].isel(time=0)
    auto = gappy.inpaint.fill(model="auto")
    np.testing.assert_array_equal(_bits(auto), _bits(gappy.inpaint.fill(model="default")))
    assert "'default' preset" in auto.attrs["comment"]
    one_step = holed[0].isel(time=[0])  # a time axis of one step is a single image too
    assert auto_model_name(one_step, SPATIAL) == "default"


def test_monthly_maps_get_the_default_model_without_a_warning(holed):
    gappy = holed[0].isel(time=[0, 1, 0, 1])
    monthly = gappy.assign_coords(time=pd.date_range("2021-01-01", periods=4, freq="MS"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the coarse-steps warning is for a model the user chose, not for the choice
        assert auto_model_name(monthly, SPATIAL) == "default"
        auto = monthly.inpaint.fill(climatology=None)
    np.testing.assert_array_equal(_bits(auto), _bits(monthly.inpaint.fill(model="default", climatology=None)))


def test_the_choice_follows_the_share_of_steps_with_a_neighbour(holed):
    context = load_bundled_model("context")
    frame = holed[0].isel(time=[0, 1, 0, 1, 0, 1])

    def at(*days: str) -> xr.DataArray:
        return frame.isel(time=slice(0, len(days))).assign_coords(time=pd.to_datetime(list(days)))

    pairs = at("2021-01-01", "2021-01-02", "2021-02-01", "2021-03-01")  # 2 of 4 steps have a neighbour
    assert share_with_neighbours(pairs, context, SPATIAL) == 0.5 >= AUTO_CONTEXT_SHARE
    assert auto_model_name(pairs, SPATIAL) == "context"
    sparse = at("2021-01-01", "2021-01-02", "2021-02-01", "2021-03-01", "2021-04-01")  # 2 of 5
    assert auto_model_name(sparse, SPATIAL) == "default"
    # adapting counts the offsets in the series' own steps: the context model on any series
    assert auto_init_name(sparse, SPATIAL) == "context" and auto_init_name(frame.isel(time=0), SPATIAL) == "default"
    every_other_day = at("2021-01-01", "2021-01-03", "2021-01-05")  # offsets +-2 d: all have one
    assert auto_model_name(every_other_day, SPATIAL) == "context"


def test_the_choice_is_made_on_the_field_not_on_its_chunks(holed):
    gappy = holed[0]
    lazy = gappy.chunk({"time": 1, "lat": 96, "lon": 128}).inpaint.fill(max_distance=None)
    np.testing.assert_array_equal(_bits(lazy.compute()), _bits(gappy.inpaint.fill(model="context", max_distance=None)))


def test_the_error_of_a_series_fill_carries_the_context_models_series_scale(holed):
    from sstfill.kernels.uncertainty import error_block

    gappy = holed[0]
    error_model = load_bundled_model("context").error_model
    assert 0.5 < error_model.series_scale < 1.0  # fitted: days filled with their neighbours err less for the same features
    alone = gappy.inpaint.fill(max_distance=None, persistence=False)  # the fill of the model alone
    plain = error_block(gappy.values, alone.values, None, error_model=error_model)
    assert np.isfinite(plain).sum() > 1000
    np.testing.assert_allclose(alone["analysed_sst_error"].values, plain * np.float32(error_model.series_scale), rtol=1e-5)
    # blended with the neighbouring days' guess: its error from the blend's own weights and spreads (sstfill.kernels.persistence.blended_sigma)
    from sstfill.kernels.persistence import blended_sigma
    from sstfill.xr.dispatch import harmonic_fallback
    from sstfill.xr.grid import find_grid
    from sstfill.xr.persistence import blend_neighbour_days

    auto = gappy.inpaint.fill(max_distance=None)
    blended, weight, spread = blend_neighbour_days(gappy, alone.values, None, find_grid(gappy), harmonic_fallback)
    np.testing.assert_array_equal(blended, auto.values)
    fill_sigma = error_block(gappy.values, auto.values, None, error_model=error_model) * np.float32(error_model.series_scale)
    assert error_model.guess_ratio > 0 and error_model.guess_cap > 0 and (weight < 1).sum() > 1000
    expected = blended_sigma(fill_sigma, weight, spread, error_model.guess_ratio, error_model.guess_cap)
    np.testing.assert_allclose(auto["analysed_sst_error"].values, expected, rtol=1e-5)
    assert float(np.nanmax(np.abs(expected / fill_sigma - 1))) > 0.1  # the guess moves the error
