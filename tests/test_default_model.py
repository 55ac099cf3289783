"""The bundled default model loads offline and fills real held-out samples well."""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pytest
import xarray as xr

import sstfill
from sstfill.models.store import load_default_model
from sstfill.evaluation.metrics import rmse


def _sample(name: str):
    ds = xr.open_dataset(resources.files("sstfill") / "data" / name)
    var = next(iter(ds.data_vars))
    return ds[var]


def test_default_model_loads_without_network_and_is_documented():
    model = load_default_model()
    assert isinstance(model, sstfill.Inpainter) and model.tile_size == 64
    assert model.history["val_loss"] and min(model.history["val_loss"]) < model.history["val_loss"][0]


SAMPLES = ("sample_mur_socal.nc", "sample_slstr_ne_atl_south.nc", "sample_slstr_nw_med.nc")

# RMSE (K) on real pixels hidden under real cloud shapes (fraction 0.4, seed 0), first as an
# absolute bound, then as a ratio to the classical fill the network starts from
# (``model="laplace"``). Measured (2026-12-02, CPU, with the tile reach, cover rule and
# smoothing of issue 14; bfloat16 moves the ratios by < 0.003):
#
#   sample                     default           fast              laplace   first guess only
#   sample_mur_socal           0.126 (x 0.670)   0.172 (x 0.909)   0.189     0.185 (x 0.979)
#   sample_slstr_ne_atl_south  0.130 (x 0.976)   0.139 (x 1.045)   0.133     0.134 (x 1.008)
#   sample_slstr_nw_med        0.179 (x 0.921)   0.187 (x 0.964)   0.194     0.195 (x 1.004)
#   all hidden pixels pooled         (x 0.823)         (x 0.949)             (x 0.993)
#
# "first guess only" is either model with its network's output zeroed: a network that has
# learned nothing, or whose correction is lost, lands there, and every margin below fails.
# (Beyond 16 px from the data both it and the models hand over to the converged harmonic
# fallback, which is why it is a little better than Laplace on the MUR sample.)
# The `fast` model honestly loses to Laplace on the NE Atlantic sample (x 1.045), so for it
# the margin is demanded on all samples pooled, with a no-worse-than bound on that sample.
LIMITS = {
    # (model, sample): (RMSE bound in K, largest RMSE / RMSE of laplace)
    (None, "sample_mur_socal.nc"): (0.14, 0.75),
    # no worse than laplace: on this sample the network adds nothing over its stitched first guess
    # (2026-12-07: 0.983 and 0.981 of laplace; before the stitching 0.990 and 1.004), so the
    # other samples and the pooled ratio are what tell a working network from a broken one here
    (None, "sample_slstr_ne_atl_south.nc"): (0.145, 1.0),
    (None, "sample_slstr_nw_med.nc"): (0.19, 0.96),
    ("fast", "sample_mur_socal.nc"): (0.19, 0.95),
    ("fast", "sample_slstr_ne_atl_south.nc"): (0.15, 1.08),  # no worse than 8 % above laplace
    ("fast", "sample_slstr_nw_med.nc"): (0.20, 0.985),
}
#: largest RMSE / RMSE of laplace over the hidden pixels of all three samples together
POOLED_LIMITS = {None: 0.88, "fast": 0.975}


@functools.lru_cache(maxsize=None)
def _holes(name: str):
    """The sample's first day, the same day with real cloud shapes hidden, the hidden pixels, land."""
    series = _sample(name).load()
    da = series.isel(time=0)
    land = xr.DataArray(series.isnull().all("time").values, dims=da.dims) if "mur" in name else "auto"
    gappy, hidden = da.inpaint.add_holes("clouds", fraction=0.4, seed=0, land=land)
    return da, gappy, hidden.values, land


@functools.lru_cache(maxsize=None)
def _filled(model, name: str) -> xr.DataArray:
    """The sample's holes filled by ``model`` (a preset name, "laplace", None or a model); computed once."""
    _, gappy, _, land = _holes(name)
    return gappy.inpaint.fill(model, land=land)


def _squared_errors(model, name: str) -> tuple[float, int]:
    """Sum of squared errors over the hidden pixels and their count."""
    da, _, hidden, _ = _holes(name)
    err = (_filled(model, name).values - da.values)[hidden].astype("float64")
    assert np.isfinite(err).all()
    return float((err**2).sum()), int(hidden.sum())


def _rmse(model, name: str) -> float:
    total, count = _squared_errors(model, name)
    return float(np.sqrt(total / count))


def _pooled_ratio(model) -> float:
    """RMSE over the hidden pixels of all samples together, divided by Laplace's."""
    ours = sum(_squared_errors(model, n)[0] for n in SAMPLES)
    laplace = sum(_squared_errors("laplace", n)[0] for n in SAMPLES)
    return float(np.sqrt(ours / laplace))


def _first_guess_only(preset: str) -> sstfill.Inpainter:
    """The bundled model with its network's output zeroed: it returns its first guess."""
    import torch

    model = sstfill.Inpainter.load(resources.files("sstfill") / "data" / f"{preset}_model.npz")
    with torch.no_grad():
        model.generator.head.weight.zero_()
        model.generator.head.bias.zero_()
    return model


@pytest.mark.parametrize("model,name", list(LIMITS))
def test_bundled_models_fill_real_samples_accurately(model, name):
    bound, max_ratio = LIMITS[model, name]
    da, gappy, hidden, land = _holes(name)
    assert hidden.sum() > 5000
    filled = _filled(model, name)  # None: the bundled default model
    assert rmse(filled, da, hidden) < bound
    # the network must add something to the classical fill it starts from
    assert rmse(filled, da, hidden) / _rmse("laplace", name) < max_ratio
    obs = gappy.notnull().values
    np.testing.assert_array_equal(filled.values[obs], gappy.values[obs])
    preset = model or "default"
    assert f"'{preset}' preset" in filled.attrs["comment"]  # the provenance names the model
    assert sstfill.models.store.resolve_model(preset.upper()).config.widths == sstfill.models.networks.PRESETS[preset]["widths"]


@pytest.mark.parametrize("model", list(POOLED_LIMITS))
def test_bundled_models_beat_laplace_on_all_samples_together(model):
    assert _pooled_ratio(model) < POOLED_LIMITS[model]


def test_a_network_reduced_to_its_first_guess_fails_the_margins():
    # what the limits above are for: a network that adds nothing (zeroed output) fails them
    # all (both bundled models start from the same first guess, so one zeroed model stands for both)
    configs = [sstfill.models.store.resolve_model(preset).config for preset in ("default", "fast")]
    assert len({(c.residual, c.first_guess_iterations, c.std_floor) for c in configs}) == 1
    zeroed = _first_guess_only("default")
    for name in SAMPLES:
        for model in (None, "fast"):
            bound, max_ratio = LIMITS[model, name]
            if max_ratio < 1:
                assert _rmse(zeroed, name) / _rmse("laplace", name) > max_ratio, (model, name)
    for model, max_ratio in POOLED_LIMITS.items():
        assert _pooled_ratio(zeroed) > max_ratio, model


def test_a_broken_model_would_fail_the_bound():
    da, gappy, hidden, land = _holes("sample_mur_socal.nc")
    broken = sstfill.load_model(resources.files("sstfill") / "data" / "default_model.npz")
    import torch

    with torch.no_grad():
        broken.generator.head.weight.mul_(-3.0)  # a sign/scale error in the learned correction
    assert rmse(gappy.inpaint.fill(broken, land=land), da, hidden) > LIMITS[None, "sample_mur_socal.nc"][0]


def test_fill_follows_a_change_of_scale_and_offset():
    # Each tile is normalised by the mean and standard deviation of its observed pixels, so
    # the same field in other units (here degF, 1.8 x + offset) is filled the same way. A
    # normalisation by the variance instead of the standard deviation breaks this (its fill
    # moves by ~0.07 K), and so would any unit-dependent step in the model.
    da, gappy, hidden, _ = _holes("sample_slstr_nw_med.nc")
    kelvin = gappy.inpaint.fill(precision="float32")
    in_degf = (gappy * 1.8 - 459.67).assign_attrs({**gappy.attrs, "units": "degF"})
    degf = in_degf.inpaint.fill(precision="float32")
    back = (degf.values[hidden] + 459.67) / 1.8
    np.testing.assert_allclose(back, kelvin.values[hidden], rtol=0, atol=1e-3)


def test_normalised_tiles_have_zero_mean_and_unit_std_over_observed_pixels():
    import torch

    from sstfill.models.networks import normalise_tiles

    da, gappy, hidden, _ = _holes("sample_slstr_nw_med.nc")
    tiles = np.stack([gappy.values[y : y + 64, x : x + 64] for y in (0, 40) for x in (0, 48)]).astype("float32")
    observed = np.isfinite(tiles)
    assert observed.mean(axis=(1, 2)).min() > 0.1
    norm, mean, std = normalise_tiles(torch.from_numpy(np.nan_to_num(tiles)), torch.from_numpy(observed), 0.05)
    norm, mean, std = norm.numpy(), mean.numpy()[:, 0, 0], std.numpy()[:, 0, 0]
    for k in range(len(tiles)):
        values = tiles[k][observed[k]].astype("float64")
        assert values.std() > 0.05  # above the floor: the tile's own spread is used
        np.testing.assert_allclose([mean[k], std[k]], [values.mean(), values.std()], rtol=1e-4)
        np.testing.assert_allclose([norm[k][observed[k]].mean(), norm[k][observed[k]].std()], [0, 1], atol=1e-3)
        assert (norm[k][~observed[k]] == 0).all()


def test_units_do_not_matter_kelvin_or_celsius():
    da = _sample("sample_mur_socal.nc").isel(time=0)
    land = da.isnull()
    gappy, hidden = da.inpaint.add_holes("clouds", fraction=0.4, seed=1, land=land)
    kelvin = gappy.inpaint.fill(land=land)
    celsius = (gappy - 273.15).assign_attrs(units="degC").inpaint.fill(land=land)
    h = hidden.values
    np.testing.assert_allclose(celsius.values[h] + 273.15, kelvin.values[h], atol=2e-3)


def test_precision_options_agree_and_never_touch_observed_pixels():
    from sstfill.models.inpainter import resolve_precision

    import torch

    assert resolve_precision("float32", torch.device("cpu")) == torch.float32
    assert resolve_precision("bfloat16", torch.device("cpu")) == torch.bfloat16
    assert resolve_precision("auto", torch.device("cuda")) == torch.bfloat16
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("half", torch.device("cpu"))
    da = _sample("sample_slstr_nw_med.nc").isel(time=0)
    gappy, hidden = da.inpaint.add_holes("clouds", fraction=0.4, seed=0)
    f32 = gappy.inpaint.fill(precision="float32")
    bf16 = gappy.inpaint.fill(precision="bfloat16")
    auto = gappy.inpaint.fill()
    h, obs = hidden.values, gappy.notnull().values
    # bfloat16 moves filled values by hundredths of a kelvin, not more
    assert 0 < np.abs(bf16.values[h] - f32.values[h]).max() < 0.1
    assert abs(rmse(bf16, da, h) - rmse(f32, da, h)) < 0.005
    for out in (f32, bf16, auto):
        np.testing.assert_array_equal(out.values[obs], gappy.values[obs])
    # asking for a precision does not change the shared default model of other callers
    assert load_default_model().precision == "auto"


def test_bfloat16_copy_matches_autocast_and_follows_weight_changes():
    import torch

    model = sstfill.Inpainter.load(resources.files("sstfill") / "data" / "default_model.npz", precision="bfloat16")
    da = _sample("sample_slstr_nw_med.nc").isel(time=0)
    gappy, _ = da.inpaint.add_holes("clouds", fraction=0.4, seed=0)
    w = model.config.window  # the tile and the context its first guess sees
    tiles = np.stack([gappy.values[y : y + w, x : x + w] for y in (0, 40) for x in (0, 48)]).astype("float32")
    observed = np.isfinite(tiles)
    v, m = torch.from_numpy(tiles), torch.from_numpy(observed)
    with torch.inference_mode():
        autocast = model.forward_tiles(v, m, torch.bfloat16)[0]
        cast = model.forward_tiles(v, m, torch.bfloat16, generator=model._generator_in(torch.bfloat16))[0]
    # the same arithmetic as autocast, without casting the weights in every call
    assert torch.equal(autocast, cast)
    assert next(model._generator_in(torch.bfloat16).parameters()).dtype == torch.bfloat16
    assert model._generator_in(torch.float32) is model.generator
    before = model.predict_tiles(tiles, observed)
    # new weights (as training or load_state_dict give) reach the next fill
    with torch.no_grad():
        model.generator.head.bias.add_(10.0)  # +10 standard deviations of each tile
    after = model.predict_tiles(tiles, observed)
    assert np.abs(after - before).min() > 0.4
