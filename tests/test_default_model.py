"""The bundled default model loads offline and fills real held-out samples well."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import xarray as xr

import sstfill
from sstfill.checkpoint import load_default_model
from sstfill.metrics import rmse


def _sample(name: str):
    ds = xr.open_dataset(resources.files("sstfill") / "data" / name)
    var = next(iter(ds.data_vars))
    return ds[var]


def test_default_model_loads_without_network_and_is_documented():
    model = load_default_model()
    assert isinstance(model, sstfill.Inpainter) and model.tile_size == 64
    assert model.history["val_loss"] and min(model.history["val_loss"]) < model.history["val_loss"][0]


@pytest.mark.parametrize(
    "model,name,bound",
    [
        # RMSE (K) on real pixels hidden under real cloud shapes (fraction 0.4, seed 0). Measured:
        # default model 0.147 / 0.130 / 0.177; fast model 0.184 / 0.138 / 0.184; the classical
        # Laplace tile fill 0.192 / 0.133 / 0.194; a model that outputs its first guess only lands
        # near Laplace, an untrained or broken one far above.
        (None, "sample_mur_socal.nc", 0.165),
        (None, "sample_slstr_ne_atl_south.nc", 0.145),
        (None, "sample_slstr_nw_med.nc", 0.19),
        ("fast", "sample_mur_socal.nc", 0.20),
        ("fast", "sample_slstr_ne_atl_south.nc", 0.15),
        ("fast", "sample_slstr_nw_med.nc", 0.195),
    ],
)
def test_bundled_models_fill_real_samples_accurately(model, name, bound):
    series = _sample(name)
    da = series.isel(time=0)
    land = xr.DataArray(series.isnull().all("time").values, dims=da.dims) if "mur" in name else "auto"
    gappy, hidden = da.inpaint.add_holes("clouds", fraction=0.4, seed=0, land=land)
    filled = gappy.inpaint.fill(model, land=land)  # None: the bundled default model
    h = hidden.values
    assert h.sum() > 5000
    assert rmse(filled, da, h) < bound
    obs = gappy.notnull().values
    np.testing.assert_array_equal(filled.values[obs], gappy.values[obs])
    preset = model or "default"
    assert f"'{preset}' preset" in filled.attrs["comment"]  # the provenance names the model
    assert sstfill.inference.resolve_model(preset.upper()).config.widths == sstfill.model.PRESETS[preset]["widths"]


def test_a_broken_model_would_fail_the_bound():
    da = _sample("sample_mur_socal.nc").isel(time=0)
    land = da.isnull()
    gappy, hidden = da.inpaint.add_holes("clouds", fraction=0.4, seed=0, land=land)
    broken = sstfill.load_model(resources.files("sstfill") / "data" / "default_model.npz")
    import torch

    with torch.no_grad():
        broken.generator.head.weight.mul_(-3.0)  # a sign/scale error in the learned correction
    assert rmse(gappy.inpaint.fill(broken, land=land), da, hidden.values) > 0.165


def test_units_do_not_matter_kelvin_or_celsius():
    da = _sample("sample_mur_socal.nc").isel(time=0)
    land = da.isnull()
    gappy, hidden = da.inpaint.add_holes("clouds", fraction=0.4, seed=1, land=land)
    kelvin = gappy.inpaint.fill(land=land)
    celsius = (gappy - 273.15).assign_attrs(units="degC").inpaint.fill(land=land)
    h = hidden.values
    np.testing.assert_allclose(celsius.values[h] + 273.15, kelvin.values[h], atol=2e-3)


def test_precision_options_agree_and_never_touch_observed_pixels():
    from sstfill.inpainter import resolve_precision

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
    tiles = np.stack([gappy.values[y : y + 64, x : x + 64] for y in (0, 40) for x in (0, 48)]).astype("float32")
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
