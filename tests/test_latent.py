"""Latent-space (DCGAN) inpainting: the search for z, blending, training, files, the accessor and the CLI."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
import xarray as xr

import sstfill
from sstfill.errors import InputDataError, ModelFileError
from sstfill.models.latent import LatentConfig, LatentInpainter, context_weights
from sstfill.models.networks import normalise_tiles
from sstfill.testing import synthetic_sst
from sstfill.training.latent import train_latent, whole_tiles

from cli_run import run_cli  # tests/cli_run.py

TINY = dict(widths=(16, 16, 8, 8), z_dim=16)


@pytest.fixture(scope="module")
def tiny_model() -> LatentInpainter:
    """A tiny DCGAN trained for seconds on synthetic SST (fronts and eddies, no land)."""
    torch.manual_seed(0)
    sst = synthetic_sst(192, 256, nt=6, land=False, seed=3)
    tiles = sst.values.reshape(6, 3, 64, 4, 64).transpose(0, 1, 3, 2, 4).reshape(-1, 64, 64)
    holes = np.zeros(tiles.shape, bool)
    holes[:, 16:40, 20:44] = True
    return train_latent(tiles, tiles[:8], holes[:8], config=LatentConfig(**TINY, steps=30), epochs=30, steps_per_epoch=10, batch_size=16, lr=1e-3, seed=0)


def test_context_weights_follow_the_paper():
    obs = torch.ones(1, 9, 9, dtype=torch.bool)
    obs[0, 4, 4] = False
    w = context_weights(obs, 3, 0.0)
    assert float(w[0, 4, 4]) == 0  # missing pixels carry no weight
    assert float(w[0, 3, 3]) == pytest.approx(1 / 9)  # next to the gap: its missing share
    assert float(w[0, 0, 0]) == 0  # far from it: nothing (the paper), ...
    assert float(context_weights(obs, 3, 0.1)[0, 0, 0]) == pytest.approx(0.1)  # ... unless a floor is set


def test_search_recovers_a_tile_the_generator_can_make():
    """Hide a third of a generated tile: the search finds a z that restores it far better than the tile's spread."""
    torch.manual_seed(1)
    model = LatentInpainter(LatentConfig(**TINY, steps=150, restarts=3, prior_weight=0.0))
    model._freeze()
    with torch.no_grad():
        truth = model.generator.eval()(torch.rand(1, 16) * 2 - 1)[:, 0]
    observed = torch.ones_like(truth, dtype=torch.bool)
    observed[:, 10:50, 20:45] = False
    start = model.search(truth, context_weights(observed, 7, 0.1), steps=0)[1]
    _, found = model.search(truth, context_weights(observed, 7, 0.1))
    hidden = ~observed
    err_start = float((start - truth)[hidden].pow(2).mean().sqrt())
    err = float((found - truth)[hidden].pow(2).mean().sqrt())
    assert err < 0.5 * err_start, (err, err_start)


def test_fill_keeps_observed_pixels(tiny_model):
    sst = synthetic_sst(64, 64, land=False, seed=9).values[None].astype("float32")
    observed = np.ones(sst.shape, bool)
    observed[:, 20:44, 10:40] = False
    out = tiny_model.predict_tiles(np.where(observed, sst, np.nan), observed)
    assert np.array_equal(out[observed], sst[observed])  # bit for bit
    assert np.isfinite(out).all()


def test_poisson_blending_takes_the_generated_gradients_and_the_observed_values(monkeypatch):
    """A generated tile that is the truth plus a tilted offset: blending removes the offset, no blending keeps it."""
    sst = synthetic_sst(64, 64, land=False, seed=9).values[None].astype("float32")
    observed = np.ones(sst.shape, bool)
    observed[:, 20:44, 10:40] = False
    values = np.where(observed, sst, np.nan)
    model = LatentInpainter(LatentConfig(**TINY))
    _, mean, std = normalise_tiles(torch.from_numpy(values), torch.from_numpy(observed), model.config.std_floor)
    truth_n = (torch.from_numpy(sst) - mean) / std
    offset = 1.5 + 0.02 * torch.arange(64.0)[None, :, None]  # a harmonic (linear) offset, in tile standard deviations
    monkeypatch.setattr(model, "search", lambda target, weights, steps=None: (None, (truth_n + offset) / model.config.value_scale))
    blended = model.predict_tiles(values, observed)
    raw = model.with_search(blend="none").predict_tiles(values, observed)
    gap = ~observed
    assert np.abs(blended[gap] - sst[gap]).max() < 0.01 * float(std)
    assert np.abs(raw[gap] - sst[gap]).min() > 1.0 * float(std)


def test_a_tile_fills_the_same_alone_or_in_a_batch(tiny_model):
    sst = synthetic_sst(64, 192, land=False, seed=5).values.reshape(64, 3, 64).transpose(1, 0, 2).astype("float32")
    observed = np.ones(sst.shape, bool)
    observed[:, 5:30, 30:60] = False
    values = np.where(observed, sst, np.nan)
    together = tiny_model.predict_tiles(values, observed)
    alone = tiny_model.predict_tiles(values[1:2], observed[1:2])
    np.testing.assert_allclose(alone[0], together[1], atol=2e-4)


def test_training_records_its_history_and_fits_its_error_model(tiny_model):
    """How well a trained DCGAN fills is measured on real held-out tiles (benchmarks/latent.py), not here: a tiny GAN's quality depends on the run."""
    h = tiny_model.history
    assert len(h["d_loss"]) == 30 and h["tiles"] == [72, 8] and np.isfinite(h["d_loss"] + h["g_loss"]).all()
    assert np.isfinite(h["val_rmse"][0]) and h["val_rmse"][0] > 0
    em = tiny_model.fitted_error_model
    assert em is not None and "validation tiles" in em.fitted_on  # fitted on the validation fills
    assert tiny_model.error_model is em


def test_a_time_budget_stops_training_within_an_epoch(monkeypatch):
    # an epoch is a pass over the training tiles: thousands of batches on a large archive, so the budget is checked every batch
    import sstfill.training.latent as latent_training

    clock = iter(np.arange(0.0, 1000.0, 1.0))  # every reading of the clock one second later
    monkeypatch.setattr(latent_training.time, "perf_counter", lambda: float(next(clock)))
    tiles = synthetic_sst(192, 256, nt=3, land=False, seed=3).values.reshape(3, 3, 64, 4, 64).transpose(0, 1, 3, 2, 4).reshape(-1, 64, 64)
    model = train_latent(tiles, tiles[:4], config=LatentConfig(**TINY), epochs=5, steps_per_epoch=50, batch_size=8, max_seconds=10.5)
    h = model.history
    assert len(h["epoch"]) == 1 and 0 < h["steps"][0] < 50 and np.isfinite(h["d_loss"]).all()


def test_whole_tiles_and_too_few_of_them():
    t = synthetic_sst(64, 128, land=False).values.reshape(64, 2, 64).transpose(1, 0, 2).astype("float32").copy()
    t[0, :2, :10] = np.nan  # 0.5 % missing: completed
    t[1, :20] = np.nan  # 31 %: left out
    out = whole_tiles(t, LatentConfig())
    assert out.shape == (1, 64, 64) and np.isfinite(out).all() and np.abs(out).max() <= 1
    with pytest.raises(InputDataError, match="whole tiles"):
        train_latent(t, t, config=LatentConfig(**TINY), epochs=1)


def test_files_round_trip_through_load_model_and_pickle(tiny_model, tmp_path):
    path = tiny_model.save(tmp_path / "latent.npz")
    loaded = sstfill.load_model(path)
    assert isinstance(loaded, LatentInpainter) and loaded.config == tiny_model.config
    sst = synthetic_sst(64, 64, land=False, seed=2).values[None].astype("float32")
    observed = np.ones(sst.shape, bool)
    observed[:, 30:50, 5:25] = False
    values = np.where(observed, sst, np.nan)
    ref = tiny_model.predict_tiles(values, observed)
    np.testing.assert_array_equal(loaded.predict_tiles(values, observed), ref)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(tiny_model)).predict_tiles(values, observed), ref)
    assert loaded.fitted_error_model.to_dict() == tiny_model.fitted_error_model.to_dict()
    with pytest.raises(ModelFileError, match="load_model"):
        sstfill.Inpainter.load(path)
    # a model read from a file pickles as its path (dask workers read it once), search settings kept
    variant = loaded.with_search(steps=3)
    assert len(pickle.dumps(variant)) < 2000
    assert pickle.loads(pickle.dumps(variant)).config == variant.config
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(loaded)).predict_tiles(values, observed), ref)


def test_accessor_trains_and_fills_with_cf_output_and_dask(tmp_path):
    ds = synthetic_sst(192, 256, nt=5, land=False, seed=7).to_dataset()
    model = ds.inpaint.train("sst", method="latent", epochs=2, steps_per_epoch=3, batch_size=16, progress=False, **TINY, steps=10)
    assert isinstance(model, LatentInpainter) and "by time" in model.history["split"]
    with pytest.raises(TypeError, match="latent"):
        ds.inpaint.train("sst", method="latent", init="fast")
    with pytest.raises(ValueError, match="method"):
        ds.inpaint.train("sst", method="dcgan")
    land_sst = synthetic_sst(128, 128, seed=1)  # with land
    gappy, hidden = land_sst.inpaint.add_holes("squares", fraction=0.2, seed=0)
    filled = gappy.inpaint.fill(model)
    ok = np.isfinite(gappy.values)
    assert np.array_equal(filled.values[ok], gappy.values[ok])
    assert np.isnan(filled.values[np.isnan(land_sst.values)]).all()  # nothing on land
    assert np.isfinite(filled.values[hidden.values]).all()
    assert "latent-space" in filled.attrs["comment"] or "latent-space" in str(filled.attrs)
    assert "sst_error" in filled.coords and np.isfinite(filled.sst_error.values[hidden.values]).all()
    lazy = gappy.chunk({"lat": 64, "lon": 64}).inpaint.fill(model)
    np.testing.assert_allclose(lazy.values, filled.values, atol=1e-4, equal_nan=True)


@pytest.mark.slow
def test_cli_trains_describes_and_fills_with_a_latent_model(tmp_path):
    synthetic_sst(128, 192, nt=6, land=False, seed=2).to_dataset().to_netcdf(tmp_path / "train.nc")
    res = run_cli("train", "train.nc", "--method", "latent", "-o", "lat.npz", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--no-progress", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "latent (DCGAN)" in res.stdout and "DCGAN: 1 epoch" in res.stdout
    res = run_cli("info", "lat.npz", cwd=tmp_path)
    assert res.returncode == 0 and "z in [-1, 1]^100" in res.stdout and "--method latent" in res.stdout, res.stdout + res.stderr
    res = run_cli("train", "train.nc", "--method", "latent", "--preset", "fast", "-o", "x.npz", cwd=tmp_path)
    assert res.returncode == 2 and "--preset" in res.stderr
    gappy, hidden = synthetic_sst(64, 128, seed=4).inpaint.add_holes("squares", fraction=0.2, seed=1)
    gappy.to_dataset().to_netcdf(tmp_path / "gappy.nc")
    res = run_cli("fill", "gappy.nc", "out.nc", "--model", "lat.npz", "--no-progress", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    with xr.open_dataset(tmp_path / "out.nc") as out:
        assert np.isfinite(out.sst.values[hidden.values]).all()
        assert np.array_equal(out.sst.values[np.isfinite(gappy.values)], gappy.values[np.isfinite(gappy.values)])
