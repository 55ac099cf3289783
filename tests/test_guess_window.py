"""The first guess on the context window (``ModelConfig.guess_on_window``, issue 14's seams).

A tile-only model's harmonic first guess sees nothing beyond its tile's edge, so where two
tiles overlap under a cloud their guesses extrapolate from different data and disagree:
the blend then steps across the overlap, every tile stride. On the window around the tile,
both guesses see the same data around the overlap.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import xarray as xr

import sstfill
from sstfill.models.harmonic import harmonic_fill
from sstfill.models.inpainter import TILE_REACH
from sstfill.models.networks import ModelConfig, build_inputs, normalise_tiles
from sstfill.models.store import bundled_model_path


@pytest.fixture(scope="module")
def mur(mur: xr.DataArray) -> xr.DataArray:
    """The first day of the bundled MUR sample (``conftest.py``)."""
    return mur.isel(time=0)


def window_guess_model(margin: int = 16) -> sstfill.Inpainter:
    """The bundled default network with its first guess on a window ``margin`` px wider (0: the tile's own guess)."""
    base = sstfill.load_model(bundled_model_path("default"))
    config = dataclasses.replace(base.config, context_margin=margin, guess_on_window=margin > 0)
    model = sstfill.Inpainter(config, preset="default")
    model.generator.load_state_dict(base.generator.state_dict())
    return model.to("cpu", precision="float32")


def test_guess_on_window_needs_a_margin_and_a_first_guess() -> None:
    with pytest.raises(ValueError, match="guess_on_window"):
        ModelConfig(guess_on_window=True)
    with pytest.raises(ValueError, match="guess_on_window"):
        ModelConfig(inputs=("field", "mask"), residual=False, context_margin=16, guess_on_window=True)
    cfg = ModelConfig(context_margin=16, guess_on_window=True)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert ModelConfig.from_dict({k: v for k, v in cfg.to_dict().items() if k != "guess_on_window"}).guess_on_window is False


def test_the_guess_is_the_windows_harmonic_fill_cropped_to_the_tile(mur: xr.DataArray) -> None:
    window = torch.from_numpy(mur.values[:96, :96].astype("float32"))[None]
    observed = torch.isfinite(window)
    observed[:, 20:76, 30:90] = False  # a cloud across the tile's right edge
    norm, _, _ = normalise_tiles(torch.nan_to_num(window), observed, 0.05, 16)
    on_window = build_inputs(norm, observed, ModelConfig(context_margin=16, guess_on_window=True))[1]
    on_tile = build_inputs(norm, observed, ModelConfig(context_margin=16))[1]
    expected = harmonic_fill(norm, observed, 8)[:, 16:80, 16:80]
    torch.testing.assert_close(on_window, expected)
    # the tile's own guess has nothing beyond column 80 of the window; the window's does
    assert float((on_window - on_tile).abs().max()) > 0.1


def test_neighbouring_tiles_guesses_agree_where_they_overlap(mur: xr.DataArray) -> None:
    # two tiles 48 px apart (the lattice's stride) under one cloud across their 16-px overlap
    field = mur.values[:128, :160].astype("float32")
    observed = np.isfinite(field)
    observed[24:104, 40:120] = False
    cfg_tile, cfg_window = ModelConfig(context_margin=16), ModelConfig(context_margin=16, guess_on_window=True)
    guesses = {}
    for name, cfg in (("tile", cfg_tile), ("window", cfg_window)):
        out = []
        for x0 in (32, 80):  # tile origins; windows start 16 px before
            w = torch.from_numpy(np.nan_to_num(field[16:112, x0 - 16 : x0 + 80]))[None]
            o = torch.from_numpy(observed[16:112, x0 - 16 : x0 + 80])[None]
            # both tiles in the same units: normalise by the same constants
            norm = torch.where(o, (w - 290.0) / 2.0, torch.zeros(()))
            out.append(build_inputs(norm, o, cfg)[1][0] * 2.0 + 290.0)
        overlap = (out[0][:, 48:64], out[1][:, 0:16])  # columns 80..95 of the field
        gap = ~torch.from_numpy(observed[32:96, 80:96])
        guesses[name] = float(((overlap[0] - overlap[1])[gap] ** 2).mean().sqrt())
    assert guesses["window"] < 0.5 * guesses["tile"], guesses


def test_a_window_guess_model_keeps_its_reach_and_fills_chunk_independently(mur: xr.DataArray, tmp_path) -> None:
    model = sstfill.load_model(window_guess_model(16).save(tmp_path / "m.npz"))  # weights + JSON round trip
    assert model.config.guess_on_window
    assert model.tile_reach == TILE_REACH and model.context_margin == 16
    gappy = mur.inpaint.add_holes(kind="clouds", fraction=0.5, seed=3)[0]
    whole = gappy.inpaint.fill(model, error=False).values
    chunked = gappy.chunk({"lat": 90, "lon": 110}).inpaint.fill(model, error=False).values
    np.testing.assert_array_equal(whole, chunked)
    observed = np.isfinite(gappy.values)
    np.testing.assert_array_equal(whole[observed], gappy.values[observed])
    truth = mur.values
    hidden = ~observed & np.isfinite(truth) & np.isfinite(whole)
    plain = gappy.inpaint.fill(window_guess_model(0), error=False).values  # the same weights, the tile's own guess
    rmse = lambda f: float(np.sqrt(np.mean((f[hidden] - truth[hidden]) ** 2)))
    assert rmse(whole) < 1.1 * rmse(plain)  # the same network, a better-informed guess: no worse


def test_a_window_guess_model_trains_on_windows_with_either_hole_recipe(mur: xr.DataArray) -> None:
    from sstfill.training.tiles import cut_tiles_by_index, draw_holes
    from sstfill.training.trainer import TrainSettings, _hole_drawer, fit
    from sstfill.training.windows import draw_window_holes

    torch.manual_seed(0)
    model = sstfill.Inpainter(ModelConfig(widths=(8, 16), convs_per_level=1, context_margin=16, guess_on_window=True), preset="test")
    assert _hole_drawer(model) is draw_window_holes and _hole_drawer(model, window_holes=False) is draw_holes
    windows = cut_tiles_by_index([mur.values.astype("float32")], 96, 24, min_valid=0.9)[:, None]
    assert windows.shape[1:] == (1, 96, 96) and len(windows) > 12
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    settings = TrainSettings(epochs=2, steps_per_epoch=2, batch_size=8, window_holes=False, hole_fraction=(0.1, 0.5))
    trained = fit(model, windows[:-4], windows[-4:], settings, device="cpu", progress=False)
    assert len(trained.history["epoch"]) == 2 and np.isfinite(trained.history["val_loss"]).all()
    assert any(not torch.equal(before[k], v) for k, v in trained.generator.state_dict().items())
