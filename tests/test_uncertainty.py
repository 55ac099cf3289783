"""Per-pixel error of a fill (issue 15): where it is defined, chunk independence, CF, the fit, model files."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from importlib import resources
from pathlib import Path

import dask
import numpy as np
import pytest
import xarray as xr

import sstfill
from sstfill.cli.info import error_model_row
from sstfill.errors import ModelFileError
from sstfill.kernels.uncertainty import (
    ERROR_HALO,
    FALLBACK_ERROR_MODEL,
    DISTANCE_KNOTS,
    DISTANCE_PRODUCTS,
    FEATURES,
    FEATURES_V1,
    FEATURES_V2,
    SIGNAL_FEATURES,
    ErrorModel,
    error_block,
    error_features,
    fit_error_model,
)
from sstfill.models.files import load_arrays
from sstfill.models.harmonic import LaplaceFiller
from sstfill.models.store import resolve_model
from sstfill.testing import synthetic_sst
from sstfill.xr import io as sio
from sstfill.xr.cf import FILL_FLAGS



def _coefficients(*values: float) -> tuple[float, ...]:
    """The noise part (2), then the fill part's intercept and one coefficient per signal feature: ``values``, padded with 0.1."""
    n = len(FEATURES) + 2
    return tuple(values[:n]) + (0.1,) * (n - len(values))


#: An error model unlike the fallback, to see which one a fill used.
CUSTOM = ErrorModel(_coefficients(-5.0, 0.5, -1.0, 0.2, 0.8, 0.1, -0.3), fitted_on="test coefficients")


def _bits(a) -> np.ndarray:
    """The raw bits of a float array: equal bits mean equal values, NaN included."""
    a = np.ascontiguousarray(np.asarray(a))
    return a.view(f"uint{a.dtype.itemsize * 8}")


class _NoCompute:
    """A dask scheduler that fails if anything is computed: proves laziness."""

    def __call__(self, dsk, keys, **kwargs):
        raise AssertionError("something was computed eagerly")


@contextlib.contextmanager
def _nothing_computed():
    with dask.config.set(scheduler=_NoCompute()):
        yield


@pytest.fixture(scope="module")
def series() -> xr.DataArray:
    """Three days of 150 x 170 synthetic SST (not multiples of the chunks) with land and clouds."""
    gappy, _ = synthetic_sst(150, 170, nt=3, seed=3).inpaint.add_holes("clouds", fraction=0.4, seed=0)
    return gappy


@pytest.fixture(scope="module")
def eager(series) -> xr.DataArray:
    return series.inpaint.fill(model="laplace")


# -- where the error is defined ---------------------------------------------------------------
def _check_error_where_filled(filled: xr.DataArray) -> None:
    flag = filled["sst_fill_flag"].values
    sigma = filled["sst_error"].values
    assert sigma.dtype == np.float32 and sigma.shape == flag.shape
    assert np.isnan(sigma[flag != 1]).all()
    assert np.isfinite(sigma[flag == 1]).all() and (sigma[flag == 1] > 0).all()


def test_error_is_nan_exactly_where_nothing_was_filled(series):
    gappy = series.isel(time=0)
    # flags 0 (observed), 1 (filled), 2 (land), 4 (beyond reach)
    near = gappy.inpaint.fill(model="laplace", max_distance="4 px")
    # flag 3 (not filled): too few observed pixels and no fallback
    sparse = gappy.inpaint.fill(model="laplace", min_observed=0.99, fallback=False)
    seen = set(np.unique(near["sst_fill_flag"])) | set(np.unique(sparse["sst_fill_flag"]))
    assert seen == set(FILL_FLAGS)  # every flag is met
    for filled in (near, sparse):
        _check_error_where_filled(filled)


@pytest.mark.parametrize("model", [None, "fast", "laplace"])
def test_error_does_not_change_the_fill(series, model):
    gappy = series.isel(time=slice(0, 2))
    with_error = gappy.inpaint.fill(model=model)
    without = gappy.inpaint.fill(model=model, error=False)
    assert "sst_error" in with_error.coords and "sst_error" not in without.coords
    assert "sst_error" not in without.attrs["ancillary_variables"].split()
    np.testing.assert_array_equal(_bits(with_error.values), _bits(without.values))
    np.testing.assert_array_equal(with_error["sst_fill_flag"].values, without["sst_fill_flag"].values)
    _check_error_where_filled(with_error)


def test_dataset_fill_adds_an_error_variable_unless_asked_not_to(series):
    ds = series.to_dataset()
    out = ds.inpaint.fill("sst", model="laplace")
    assert "sst_error" in out.data_vars and "sst_error" not in out["sst"].coords
    assert out["sst"].attrs["ancillary_variables"].split()[-2:] == ["sst_fill_flag", "sst_error"]
    assert "sst_error" not in ds.inpaint.fill("sst", model="laplace", error=False).variables


def test_error_of_a_fill_is_the_kernels_on_input_and_fill(series):
    """The coordinate is :func:`error_block` of the input and the filled field, with the model's error model.

    Without the neighbouring days' guess, whose factor on the blended pixels is tested in
    ``tests/test_persistence.py``.
    """
    alone = series.inpaint.fill(model="laplace", persistence=False)
    expected = error_block(series.values, alone.values, None, error_model=LaplaceFiller.error_model)
    np.testing.assert_array_equal(_bits(alone["sst_error"].values), _bits(expected))


def test_a_mirrored_field_gets_the_same_error_bit_for_bit(series):
    gappy = series.isel(time=0)
    straight = gappy.inpaint.fill(model="laplace")
    mirrored = gappy.isel(lat=slice(None, None, -1)).inpaint.fill(model="laplace").isel(lat=slice(None, None, -1))
    np.testing.assert_array_equal(_bits(mirrored.values), _bits(straight.values))  # holds: the fill is canonical
    np.testing.assert_array_equal(_bits(mirrored["sst_error"].values), _bits(straight["sst_error"].values))


# -- numpy and dask ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "chunks",
    [
        {"time": 1, "lat": 70, "lon": 90},
        {"time": 1, "lat": 40, "lon": 50},  # smaller than the halo: merged
        {"time": 2, "lat": 150, "lon": 85},
        {"time": 3, "lat": 75, "lon": 170},
    ],
    ids=lambda c: "x".join(str(v) for v in c.values()),
)
def test_dask_error_is_lazy_and_equals_numpy_bit_for_bit(series, eager, chunks):
    with _nothing_computed():
        lazy = series.chunk(chunks).inpaint.fill(model="laplace")
        assert hasattr(lazy["sst_error"].data, "dask")
    got = lazy["sst_error"].compute()
    np.testing.assert_array_equal(_bits(got.values), _bits(eager["sst_error"].values))
    assert got.attrs == eager["sst_error"].attrs


def test_error_array_of_small_blocks_sees_a_full_halo():
    """Two holes across a chunk border: each side's features need the other side's pixels."""
    from sstfill.xr.uncertainty import error_array

    truth = synthetic_sst(160, 160, seed=4, land=False).values
    gappy = truth.copy()
    gappy[40:120, 60:100] = np.nan  # straddles the chunk border at 80 in both directions
    expected = error_block(gappy, truth, None, error_model=CUSTOM)
    lazy = error_array(dask.array.from_array(gappy, chunks=80), dask.array.from_array(truth, chunks=80), error_model=CUSTOM)
    assert 80 >= ERROR_HALO  # the chunks are not merged
    np.testing.assert_array_equal(_bits(lazy.compute()), _bits(expected))


@pytest.mark.parametrize("chunks", [None, 100, 40])
def test_error_wraps_around_a_global_grid(chunks):
    """On a periodic grid the features see across the seam: a gap just east of it gets the error it gets anywhere else.

    They stopped at the array's edge: the pixels of a gap next to the seam were taken for far
    from the data (sigma 0.31 against 0.12 one gap-width east, on a 4-degree global field).
    """
    from sstfill.xr.uncertainty import error_array

    truth = synthetic_sst(48, 360, seed=4, land=False).values  # taken as a global 1-degree grid
    gappy = truth.copy()
    gappy[15:30, 0:9] = gappy[20:40, 350:] = np.nan  # both sides of the seam
    # the same field turned half a circle: its gaps far (more than ERROR_HALO) from the array's edges
    expected = np.roll(error_block(np.roll(gappy, 180, -1), np.roll(truth, 180, -1), None, error_model=CUSTOM), -180, -1)
    if chunks is None:
        got = error_array(gappy, truth, error_model=CUSTOM, periodic_x=True)
    else:
        got = error_array(dask.array.from_array(gappy, chunks=(48, chunks)), truth, error_model=CUSTOM, periodic_x=True).compute()
    np.testing.assert_array_equal(_bits(got), _bits(expected))


# -- what the error says ----------------------------------------------------------------------
@pytest.mark.parametrize("model", [None, "laplace"])
def test_error_grows_towards_the_middle_of_a_big_hole(model):
    sst = synthetic_sst(128, 128, seed=2, land=False)
    gappy = sst.copy()
    gappy[34:94, 34:94] = np.nan
    sigma = gappy.inpaint.fill(model=model, land=None, max_distance=None)["sst_error"].values
    hole = sigma[34:94, 34:94]
    assert np.isfinite(hole).all()
    edge = np.concatenate([hole[0], hole[-1], hole[:, 0], hole[:, -1]])
    centre = hole[25:35, 25:35]
    assert np.median(centre) > 2 * np.median(edge)


# -- CF and files -----------------------------------------------------------------------------
def test_error_is_described_the_cf_way(eager, series):
    attrs = eager["sst_error"].attrs
    assert attrs["units"] == series.attrs["units"]
    assert attrs["standard_name"] == "sea_surface_temperature standard_error"
    assert "standard error" in attrs["long_name"] and FALLBACK_ERROR_MODEL.fitted_on in attrs["comment"]
    ancillary = eager.attrs["ancillary_variables"].split()
    assert "sst_fill_flag" in ancillary and "sst_error" in ancillary
    assert "sst_error" in eager.attrs["comment"]


def test_error_of_a_field_in_celsius_is_in_celsius(series):
    celsius = (series - 273.15).assign_attrs(series.attrs, units="degree_Celsius")
    filled = celsius.isel(time=0).inpaint.fill(model="laplace")
    assert filled["sst_error"].attrs["units"] == "degree_Celsius"


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_error_survives_writing_and_reading(tmp_path, series, suffix):
    out = series.to_dataset().inpaint.fill("sst", model="laplace")
    path = sio.write_atomic(out, tmp_path / f"filled{suffix}")
    opener = xr.open_zarr if suffix == ".zarr" else xr.open_dataset
    with opener(path) as back:
        error = back["sst_error"].load()
        assert error.dtype == np.float32
        np.testing.assert_array_equal(_bits(error.values), _bits(out["sst_error"].values))
        assert np.isnan(error.values).any()
        assert error.attrs == out["sst_error"].attrs
        assert back["sst"].attrs["ancillary_variables"] == out["sst"].attrs["ancillary_variables"]


# -- the error model and its fit --------------------------------------------------------------
@pytest.fixture(scope="module")
def realistic_features() -> np.ndarray:
    """Features of the filled pixels of two cloudy synthetic days, shape (len(FEATURES), n).

    Pixel noise from 0.01 to 0.3 K across the field, as in an L2 swath, so that every
    feature varies and the fit is identifiable.
    """
    sst = synthetic_sst(200, 200, nt=2, seed=1)
    noise = np.random.default_rng(2).standard_normal(sst.shape) * np.geomspace(0.01, 0.3, 200)
    gappy, _ = (sst + noise.astype("float32")).assign_attrs(sst.attrs).inpaint.add_holes("clouds", fraction=0.5, seed=3)
    filled = gappy.inpaint.fill(model="laplace")
    parts = []
    for day in range(2):
        features = error_features(gappy.values[day], filled.values[day])
        parts.append(features[:, filled["sst_fill_flag"].values[day] == 1])
    features = np.concatenate(parts, axis=1)
    assert features.shape[1] > 20000 and np.isfinite(features).all()
    # every feature varies (the fit is identifiable); few pixels lie beyond the last distance knot
    far = FEATURES.index(f"log_distance_beyond_{DISTANCE_KNOTS[-1]}")
    assert (np.delete(features.std(axis=1), far) > 0.1).all() and (features[far] > 0).mean() > 0.01
    return features


def test_products_with_the_distance_are_the_log_distance_times_their_feature(realistic_features):
    # DISTANCE_PRODUCTS: how fast sigma grows away from the data depends on the field around
    distance = realistic_features[FEATURES.index("log_distance")]
    assert len(DISTANCE_PRODUCTS) == 3 and FEATURES[-3:] == tuple(f"log_distance_x_{n}" for n in DISTANCE_PRODUCTS)
    for name in DISTANCE_PRODUCTS:
        product = realistic_features[FEATURES.index(f"log_distance_x_{name}")]
        np.testing.assert_allclose(product, distance * realistic_features[FEATURES.index(name)], rtol=1e-6, atol=1e-6)
        assert np.corrcoef(product, distance)[0, 1] < 0.999  # not the distance again: the fit can tell them apart


def test_sigma_never_falls_with_the_distance(realistic_features):
    """Where a fitted slope in the log distance is negative (products with a strong gradient), it is made zero; elsewhere sigma is untouched, bit for bit."""
    # a fill part whose slope beyond the first knot, 1 - 2 - 0.5 * log_gradient, is negative where the gradient is strong
    c = dict.fromkeys(SIGNAL_FEATURES, 0.0) | {"log_distance": 1.0, "log_distance_beyond_4": -2.0, "log_distance_x_log_gradient": -0.5}
    model = ErrorModel((np.log(1e-4), 0.0, -3.0) + tuple(c[name] for name in SIGNAL_FEATURES))
    rising = 1.0 - 2.0 - 0.5 * realistic_features[FEATURES.index("log_gradient")] > 0
    assert rising.any() and (~rising).any()  # both kinds of pixel are there
    sigmas = []
    for ld in np.log1p(np.array([1.0, 2, 4, 6, 10, 16, 30, 64])):  # the same pixels moved away from the data, all else kept
        f = realistic_features.copy()
        f[FEATURES.index("log_distance")] = ld
        for k in DISTANCE_KNOTS:
            f[FEATURES.index(f"log_distance_beyond_{k}")] = max(0.0, ld - np.log1p(k))
        for name in DISTANCE_PRODUCTS:
            f[FEATURES.index(f"log_distance_x_{name}")] = ld * f[FEATURES.index(name)]
        sigmas.append(model.sigma(f))
    sigmas = np.array(sigmas)
    steps = np.diff(sigmas, axis=0)
    assert (steps >= -1e-6 * sigmas[1:]).all(), steps.min()  # never falls (to rounding: the products are float32 features)
    assert (steps[3:, ~rising] < 1e-6 * sigmas[4:, ~rising]).all()  # flat from 6 px on where the slope is negative
    # at 64 px: where every segment rises, the plain log-linear formula, bit for bit; elsewhere more
    plain = np.exp(-3.0 + np.tensordot(np.array([c[n] for n in SIGNAL_FEATURES]), f[[FEATURES.index(n) for n in SIGNAL_FEATURES]], axes=1))
    fill_part = model.variance_parts(f)[1]
    np.testing.assert_array_equal(fill_part[rising], plain[rising])
    assert (fill_part[~rising] > plain[~rising]).all()


def test_the_fit_uses_the_exact_gradient_of_the_lift(realistic_features):
    """The lifted fill part's gradient (used by the likelihood fit) agrees with finite differences."""
    from sstfill.kernels.uncertainty import _DistanceSlopes

    slopes = _DistanceSlopes(SIGNAL_FEATURES, lambda name: realistic_features[FEATURES.index(name)].astype("float64"))
    s = np.array(FALLBACK_ERROR_MODEL.coefficients[3:])
    assert (np.asarray(slopes.slopes(s)[1]) < 0).mean() > 0.01  # the fallback's slopes go negative on these pixels
    weights = np.random.default_rng(3).uniform(0.5, 1.5, realistic_features.shape[1])
    analytic = slopes.gradient(s, weights)
    for i in range(len(s)):
        step = np.zeros(len(s))
        step[i] = 1e-6
        numeric = (np.sum(weights * slopes.lift(s + step)) - np.sum(weights * slopes.lift(s - step))) / 2e-6
        assert numeric == pytest.approx(analytic[i], rel=1e-3, abs=1e-3), SIGNAL_FEATURES[i]
    assert np.abs(analytic).max() > 1  # not a gradient of nothing


def _nll(model: ErrorModel, features: np.ndarray, errors: np.ndarray) -> float:
    sigma = model.sigma(features)
    return float(np.mean(np.log(sigma) + 0.5 * (errors / sigma) ** 2))


@pytest.mark.parametrize(
    "coefficients",
    [_coefficients(-3.0, 1.0, -3.0, 0.8, 1.0, 0.3, -0.8), _coefficients(-4.0, 0.2, 0.5, 1.5, -0.2, 0.0, 1.0), FALLBACK_ERROR_MODEL.coefficients],
    ids=["a", "b", "fallback"],
)
def test_fit_recovers_known_sigma(realistic_features, coefficients):
    rng = np.random.default_rng(7)
    truth = ErrorModel(coefficients)
    errors = rng.normal(0.0, truth.sigma(realistic_features))
    fitted = fit_error_model(realistic_features, errors, fitted_on="synthetic")
    assert fitted.fitted_on == "synthetic" and fitted.features == FEATURES
    # the noise and fill parts trade off where one dominates: the sigma is what is identifiable;
    # beyond the last distance knot (3 % of these pixels) it is known less well
    far = realistic_features[FEATURES.index(f"log_distance_beyond_{DISTANCE_KNOTS[-1]}")] > 0
    got, expected = fitted.sigma(realistic_features), truth.sigma(realistic_features)
    np.testing.assert_allclose(got[~far], expected[~far], rtol=0.1)
    np.testing.assert_allclose(got[far], expected[far], rtol=0.2)
    # the maximum of the likelihood: no worse than the truth, and calibrated on average
    assert _nll(fitted, realistic_features, errors) <= _nll(truth, realistic_features, errors)
    z = np.abs(errors / fitted.sigma(realistic_features))
    assert abs(np.mean(z**2) - 1) < 0.01
    for k, expected in [(1, 0.683), (2, 0.954), (3, 0.997)]:
        assert abs(np.mean(z < k) - expected) < 0.02, k


def test_fit_ignores_non_finite_errors_and_needs_ten(realistic_features):
    rng = np.random.default_rng(1)
    errors = rng.normal(0.0, CUSTOM.sigma(realistic_features))
    spoiled = errors.copy()
    spoiled[::7] = np.nan
    keep = np.isfinite(spoiled)
    assert fit_error_model(realistic_features, spoiled) == fit_error_model(realistic_features[:, keep], errors[keep])
    with pytest.raises(ValueError, match="at least 10"):
        fit_error_model(realistic_features[:, :9], errors[:9])


def test_error_model_round_trips_through_a_dict():
    d = CUSTOM.to_dict()
    assert d["features"] == list(FEATURES) and d["fitted_on"] == CUSTOM.fitted_on
    assert ErrorModel.from_dict(d) == CUSTOM
    assert ErrorModel.from_dict({"coefficients": d["coefficients"]}).coefficients == CUSTOM.coefficients
    assert "series_scale" not in d and ErrorModel.from_dict(d).series_scale == 1.0  # files from before it: 1
    series = dataclasses.replace(CUSTOM, series_scale=0.8)
    assert series.to_dict()["series_scale"] == 0.8 and ErrorModel.from_dict(series.to_dict()) == series
    assert "guess_cap" not in d and ErrorModel.from_dict(d).guess_cap == 0.0  # files from before the cap: none
    capped = dataclasses.replace(CUSTOM, guess_ratio=1.5, guess_cap=0.6)
    assert ErrorModel.from_dict(capped.to_dict()) == capped and capped.to_dict()["guess_cap"] == 0.6


def test_steps_filled_with_neighbouring_steps_get_the_series_scale(series):
    """The fill's time context decides: steps with a neighbour get sigma x series_scale, the others the plain sigma."""
    from sstfill.kernels.windows import TimeContext
    from sstfill.xr.uncertainty import error_array

    gappy = series.isel(time=slice(0, 3)).values
    filled = series.isel(time=slice(0, 3)).inpaint.fill(model="laplace").values
    scaled = dataclasses.replace(CUSTOM, series_scale=0.8)
    ctx = TimeContext(0, np.array([[1], [0], [-1]]), (3,))  # steps 0 and 1 see each other; step 2 is alone
    plain = error_block(gappy, filled, None, error_model=CUSTOM)
    got = error_array(gappy, filled, error_model=scaled, time=ctx)
    np.testing.assert_array_equal(_bits(got[:2]), _bits(plain[:2] * np.float32(0.8)))
    np.testing.assert_array_equal(_bits(got[2]), _bits(plain[2]))
    assert np.isfinite(plain).sum() > 100
    lazy = error_array(dask.array.from_array(gappy, chunks=(1, 75, 85)), dask.array.from_array(filled, chunks=(1, 75, 85)), error_model=scaled, time=ctx)
    np.testing.assert_array_equal(_bits(lazy.compute()), _bits(got))
    np.testing.assert_array_equal(_bits(error_array(gappy, filled, error_model=scaled)), _bits(plain))  # no time context: no scale


@pytest.mark.parametrize("n", [len(FEATURES) + 1, len(FEATURES) + 3])
def test_error_model_with_a_wrong_number_of_coefficients_is_refused(n):
    with pytest.raises(ValueError, match="coefficients"):
        ErrorModel(tuple(range(n)))
    with pytest.raises(ValueError, match="coefficients"):
        ErrorModel.from_dict({"coefficients": list(range(n))})


def test_error_model_with_other_features_is_refused():
    other = tuple(reversed(FEATURES))
    with pytest.raises(ValueError, match="features"):
        ErrorModel(CUSTOM.coefficients, features=other)
    with pytest.raises(ValueError, match="features"):
        ErrorModel.from_dict({**CUSTOM.to_dict(), "features": list(other)})


# -- model files ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fast_model() -> sstfill.Inpainter:
    return resolve_model("fast", "cpu", None)


def _with_error_model(model: sstfill.Inpainter, error_model: ErrorModel | None) -> sstfill.Inpainter:
    copy = sstfill.Inpainter(model.config, history=model.history, preset=model.preset, error_model=error_model)
    copy.generator.load_state_dict(model.generator.state_dict())
    return copy


def test_a_fitted_error_model_is_saved_loaded_and_used(tmp_path, fast_model, series):
    path = _with_error_model(fast_model, CUSTOM).save(tmp_path / "m.npz")
    assert load_arrays(path)[1]["error_model"] == CUSTOM.to_dict()
    loaded = sstfill.load_model(path)
    assert loaded.fitted_error_model == CUSTOM and loaded.error_model == CUSTOM
    gappy = series.isel(time=0)
    filled = gappy.inpaint.fill(loaded)
    expected = error_block(gappy.values, filled.values, None, error_model=CUSTOM)
    np.testing.assert_array_equal(_bits(filled["sst_error"].values), _bits(expected))
    assert CUSTOM.fitted_on in filled["sst_error"].attrs["comment"]


def test_a_model_file_without_an_error_model_uses_the_fallback(tmp_path, fast_model, series):
    path = _with_error_model(fast_model, None).save(tmp_path / "old.npz")
    assert "error_model" not in load_arrays(path)[1]  # what files from before error models hold
    loaded = sstfill.load_model(path)
    assert loaded.fitted_error_model is None and loaded.error_model == FALLBACK_ERROR_MODEL
    gappy = series.isel(time=0)
    filled = gappy.inpaint.fill(loaded)
    _check_error_where_filled(filled)
    expected = error_block(gappy.values, filled.values, None, error_model=FALLBACK_ERROR_MODEL)
    np.testing.assert_array_equal(_bits(filled["sst_error"].values), _bits(expected))
    # the same network with the fallback as its own error model: the same error, bit for bit
    explicit = gappy.inpaint.fill(_with_error_model(fast_model, FALLBACK_ERROR_MODEL))
    np.testing.assert_array_equal(_bits(explicit["sst_error"].values), _bits(filled["sst_error"].values))


@pytest.mark.parametrize(
    "features, before",
    [(FEATURES_V1, "the distance hinges"), (FEATURES_V2, "the products with the distance")],
    ids=["v1-before-hinges", "v2-before-products"],
)
def test_an_error_model_from_before_the_current_features_still_loads_and_gives_its_sigma(tmp_path, fast_model, series, realistic_features, features, before):
    # what model files of 2026-12-03 and before hold (five features, seven coefficients),
    # and of 2026-12-03..05 (seven features with the distance hinges, nine coefficients)
    coefficients = [-5.0, 0.5, -1.0, 0.2, 0.8, 0.1, -0.3, 0.4, -0.2][: len(features) + 2]
    saved = {"coefficients": coefficients, "features": list(features), "fitted_on": "old", "scale": 0.9}
    old = ErrorModel.from_dict(saved)
    assert old.features == features and old.to_dict() == saved
    assert ErrorModel.from_dict({"coefficients": coefficients}).features == features
    # the same sigma as the current features with the newer features' coefficients at zero
    same = ErrorModel(tuple(coefficients) + (0.0,) * (len(FEATURES) - len(features)), scale=0.9)
    np.testing.assert_allclose(old.sigma(realistic_features), same.sigma(realistic_features), rtol=1e-12)
    np.testing.assert_allclose(old.sigma(realistic_features[: len(features)]), same.sigma(realistic_features), rtol=1e-12)
    path = fast_model.save(tmp_path / "old.npz", extra_config={"error_model": saved})
    loaded = sstfill.load_model(path)
    assert loaded.error_model == old
    # `sstfill info` says which kind it holds
    assert f"before {before}" in error_model_row(loaded)[1]
    assert "saved before" not in error_model_row(fast_model)[1]
    gappy = series.isel(time=0)
    filled = gappy.inpaint.fill(loaded)
    _check_error_where_filled(filled)
    expected = error_block(gappy.values, filled.values, None, error_model=same)
    np.testing.assert_allclose(filled["sst_error"].values, expected, rtol=1e-6)


def test_a_model_file_with_an_unknown_error_model_is_refused(tmp_path, fast_model):
    other = {**CUSTOM.to_dict(), "features": ["something_else", *FEATURES[1:]]}
    path = fast_model.save(tmp_path / "future.npz", extra_config={"error_model": other})
    with pytest.raises(ModelFileError):
        sstfill.load_model(path)


def test_the_calibration_writes_the_laplace_fit_where_the_fallback_is_read(tmp_path, monkeypatch):
    """benchmarks/calibration.py --write-models stores the Laplace fill's fit as the JSON that FALLBACK_ERROR_MODEL loads (no hand-copied constant)."""
    from benchmarks import calibration

    shipped = resources.files("sstfill") / "data" / calibration.LAPLACE_ERROR_MODEL
    assert ErrorModel.from_dict(json.loads(shipped.read_text(encoding="utf-8"))) == FALLBACK_ERROR_MODEL
    monkeypatch.setattr(calibration, "REPO", tmp_path)
    refit = dataclasses.replace(FALLBACK_ERROR_MODEL, coefficients=tuple(c + 0.01 for c in FALLBACK_ERROR_MODEL.coefficients),
                                fitted_on="benchmarks/calibration.py: 12 hidden pixels under real clouds", scale=0.9)
    calibration.write_models({"laplace": refit})
    written = ErrorModel.from_dict(json.loads((tmp_path / "sstfill" / "data" / calibration.LAPLACE_ERROR_MODEL).read_text(encoding="utf-8")))
    assert written == dataclasses.replace(refit, fitted_on="benchmarks/calibration.py, the harmonic (Laplace) fill: 12 hidden pixels under real clouds")
    assert os.listdir(tmp_path / "sstfill" / "data") == [calibration.LAPLACE_ERROR_MODEL]  # nothing else, no temporary left


def test_laplace_fills_with_the_fallback_error(series):
    gappy = series.isel(time=0)
    filled = gappy.inpaint.fill(model="laplace")
    _check_error_where_filled(filled)
    assert LaplaceFiller.error_model is FALLBACK_ERROR_MODEL
    expected = error_block(gappy.values, filled.values, None, error_model=FALLBACK_ERROR_MODEL)
    np.testing.assert_array_equal(_bits(filled["sst_error"].values), _bits(expected))


# -- the bundled default model on real data ---------------------------------------------------
SAMPLES = ("sample_mur_socal.nc", "sample_slstr_ne_atl_south.nc", "sample_slstr_nw_med.nc")


@pytest.fixture(scope="module")
def real_fills() -> dict:
    """Per sample: (truth, fill by the default model of real cloud shapes hidden on day 1, hidden pixels)."""
    out = {}
    for name in SAMPLES:
        with xr.open_dataset(Path(resources.files("sstfill") / "data" / name)) as ds:
            series = ds[next(iter(ds.data_vars))].load()
        truth = series.isel(time=0)
        # MUR is complete over the ocean: its land is what is missing every day
        land = xr.DataArray(series.isnull().all("time").values, dims=truth.dims) if "mur" in name else "auto"
        gappy, hidden = truth.inpaint.add_holes("clouds", fraction=0.4, seed=0, land=land)
        out[name] = truth, gappy.inpaint.fill(None, land=land), hidden.values
    return out


@pytest.mark.parametrize("name", SAMPLES)
def test_default_model_error_on_real_data_is_plausible(real_fills, name):
    truth, filled, hidden = real_fills[name]
    var = truth.name
    flag = filled[f"{var}_fill_flag"].values
    sigma = filled[f"{var}_error"].values
    assert hidden.sum() > 5000 and (flag[hidden] == 1).all()
    assert np.isnan(sigma[flag != 1]).all()
    on_filled = sigma[flag == 1]
    assert np.isfinite(on_filled).all() and (on_filled > 0).all() and (on_filled < 5.0).all()
    assert filled[f"{var}_error"].attrs["units"] == truth.attrs["units"]
    # sigma ranks the errors: the pixels it trusts least are filled clearly worse than those it trusts most
    abs_error = np.abs(filled.values - truth.values)[hidden]
    s = sigma[hidden]
    low, high = np.quantile(s, [0.25, 0.75])
    assert np.median(abs_error[s >= high]) > 1.5 * np.median(abs_error[s <= low])


@pytest.mark.parametrize("name", SAMPLES)
def test_default_model_error_is_roughly_calibrated_on_real_data(real_fills, name):
    """Loose: the mean of (error / sigma)**2 over hidden real pixels is within a factor 3 of 1."""
    truth, filled, hidden = real_fills[name]
    z2 = ((filled.values - truth.values)[hidden] / filled[f"{truth.name}_error"].values[hidden]) ** 2
    mean_z2 = float(np.mean(z2.astype("float64")))
    model = resolve_model(None, "cpu", None)
    if model.fitted_error_model is None and not 0.3 < mean_z2 < 3:
        pytest.xfail(f"the default model has no fitted error model; the placeholder fallback gives mean (e/sigma)^2 = {mean_z2:.2f}")
    assert 0.3 < mean_z2 < 3


@pytest.mark.parametrize("size", [1, 3, 5, 33])
def test_box_sums_match_a_direct_sum_and_do_not_depend_on_where_the_image_starts(size):
    from numpy.lib.stride_tricks import sliding_window_view

    from sstfill.kernels.boxes import box_count, box_sum

    rng = np.random.default_rng(size)
    sst = 285 + np.cumsum(rng.normal(0, 0.05, (120, 100)), axis=1)  # values like an SST field
    half = size // 2
    padded = np.pad(sst, half)
    direct = sliding_window_view(sliding_window_view(padded, size, axis=1).sum(-1), size, axis=0).sum(-1)
    np.testing.assert_allclose(box_sum(sst, size), direct, rtol=1e-13)
    mask = rng.random(sst.shape) < 0.4
    np.testing.assert_array_equal(box_count(mask, size), sliding_window_view(sliding_window_view(np.pad(mask, half).astype(int), size, axis=1).sum(-1), size, axis=0).sum(-1))
    # a block cut with a halo of at least half a box gives its core the whole image's bits
    core = (slice(40, 80), slice(30, 70))
    block = sst[40 - half - 3 : 80 + half + 5, 30 - half - 7 : 70 + half + 2]
    inner = (slice(half + 3, half + 43), slice(half + 7, half + 47))
    np.testing.assert_array_equal(box_sum(block, size)[inner], box_sum(sst, size)[core])


def test_the_fit_converges_with_heavy_tailed_features_and_errors():
    """Newton's start from a plain step diverged here (a singular Hessian; NaN coefficients in an adapted model): steps are now halved until the likelihood improves."""
    from sstfill.kernels.uncertainty import _log_linear_fit, calibrate_scale, fit_error_model

    rng = np.random.default_rng(0)
    n = 2000
    features = rng.uniform(0, 3, (len(FEATURES), n))
    features[2] = rng.exponential(1, n) ** 3  # a few huge values
    errors = rng.standard_t(1.5, n) * np.exp(0.5 * features[0]) * 0.01  # sigma grows with the first feature
    start = _log_linear_fit(np.vstack([np.ones(n), features[[0, 2]]]), errors**2)
    assert np.isfinite(start).all() and 0.2 < start[1] < 1.5  # sigma rises with it (t errors: not by exactly 0.5)
    fitted = calibrate_scale(fit_error_model(features, errors), features, errors)
    assert np.isfinite(fitted.coefficients).all() and np.isfinite(fitted.sigma(features)).all()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"scale": -1.0}, r"error_model\.scale must be a finite number > 0, got -1\.0"),
        ({"scale": 0}, r"error_model\.scale must be a finite number > 0, got 0"),
        ({"scale": float("nan")}, r"error_model\.scale must be a finite number > 0, got nan"),
        ({"scale": True}, r"error_model\.scale must be a finite number > 0, got True"),
        ({"series_scale": -0.7}, r"error_model\.series_scale must be a finite number > 0, got -0\.7"),
        ({"guess_ratio": 0.0}, r"error_model\.guess_ratio must be a finite number > 0, got 0\.0"),
        ({"guess_cap": float("-inf")}, r"error_model\.guess_cap must be a finite number >= 0, got -inf"),
        ({"coefficients": [0.0] * 5 + [float("inf")] + [0.0] * 6}, r"error_model\.coefficients\[5\] must be a finite number, got inf"),
        ({"coefficients": [0.0] * 11 + [None]}, r"error_model\.coefficients\[11\] must be a finite number, got None"),
        ({"coefficients": 3}, r"error_model\.coefficients must be a list of numbers, got 3"),
    ],
    ids=["scale-negative", "scale-0", "scale-nan", "scale-bool", "series-negative", "ratio-0", "cap-inf", "coefficient-inf", "coefficient-null", "coefficients-int"],
)
def test_an_error_model_dict_with_a_bad_field_is_refused_naming_it(change, message):
    """Each factor multiplies a standard deviation (finite, > 0; the cap may be 0: none); the coefficients must be finite. Before: all accepted."""
    with pytest.raises(ValueError, match=message):
        ErrorModel.from_dict({**CUSTOM.to_dict(), **change})
    assert ErrorModel.from_dict({**CUSTOM.to_dict(), "guess_cap": 0}).guess_cap == 0.0  # 0: no cap, as saved before the cap
    assert ErrorModel.from_dict(FALLBACK_ERROR_MODEL.to_dict()) == FALLBACK_ERROR_MODEL
