"""Adapting a trained model to the dataset being filled: ``ds.inpaint.train(init=...)`` (issue 16)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import torch
import xarray as xr

import sstfill
from sstfill.errors import InputDataError, ModelMismatchError
from sstfill.models.store import load_bundled_model
from sstfill.testing import synthetic_sst
from sstfill.training.losses import evaluate_tiles
from sstfill.training.trainer import START_WINDOWS, beats_start
from sstfill.training.tiles import OWN_CLOUDS, LibraryDrawer, cut_cloud_masks, draw_holes
from sstfill.xr.samples import own_cloud_masks


@pytest.fixture(scope="module")
def cloudy_series():
    """Four days with real-looking clouds (the user's archive: observed pixels and gaps)."""
    da = synthetic_sst(256, 128, nt=4, seed=5)
    cloudy, _ = da.inpaint.add_holes("clouds", fraction=0.3, seed=1)
    return cloudy


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.generator.state_dict().items()}


def test_adapting_records_what_and_leaves_the_original_unchanged(cloudy_series, tmp_path):
    base = load_bundled_model("fast")
    before = _weights(base)
    model = cloudy_series.to_dataset().inpaint.train("sst", init="fast", max_minutes=0.02, steps_per_epoch=2, batch_size=8, progress=False)
    assert model is not base and all(torch.equal(before[k], v) for k, v in _weights(base).items())
    rec = model.adapted_on
    assert rec["init"] == "fast" and rec["variable"] == "sst" and rec["sizes"]["time"] == 4
    assert rec["time_span"] == ["2021-01-01T00:00:00", "2021-01-04T00:00:00"]
    assert rec["settings"]["holes"] == [OWN_CLOUDS, "clouds"] and rec["own_cloud_masks"] > 0
    # every day teaches the model: split by bands of rows, no test set
    assert rec["split"].startswith("by bands of lat") and rec["tiles"][0] > 0 and rec["tiles"][1] > 0 and rec["tiles"][2] == 0
    assert "start_val_rmse_hidden" in model.history and model.history["val_rmse_hidden"]
    # the trainer's choice is recorded (-1: the start); the start's per-window errors stay out of the saved history
    assert model.history["best_epoch"][0] in [-1, *model.history["epoch"]] and START_WINDOWS not in model.history
    assert model.config.adversarial_weight == 0 and model.discriminator is None  # fine-tuned on the reconstruction alone
    back = sstfill.load_model(model.save(tmp_path / "adapted.npz"))
    assert back.adapted_on == rec
    # a fill's metadata says which model filled: a preset's name alone read the same for the bundled and any other 'fast' model
    import hashlib

    day = cloudy_series.isel(time=0)
    digest = hashlib.sha256((tmp_path / "adapted.npz").read_bytes()).hexdigest()[:12]
    said = {name: day.inpaint.fill(m).attrs["comment"] for name, m in (("bundled", base), ("adapted", model), ("saved", back))}
    assert "'fast' preset" in said["bundled"] and "bundled 'fast' model" in said["bundled"] and "adapted from" not in said["bundled"]
    assert "adapted from 'fast' on sst 2021-01-01..2021-01-04" in said["adapted"] and "bundled" not in said["adapted"] and "model file" not in said["adapted"]
    assert f"model file {(tmp_path / 'adapted.npz').resolve()} (sha256 {digest}), adapted from 'fast' on sst" in said["saved"]


def test_adapting_keeps_the_starting_weights_unless_an_epoch_beats_them(cloudy_series):
    """A learning rate that wrecks the network: no epoch beats the start, which comes back bit for bit."""
    start = _weights(load_bundled_model("fast"))
    model = cloudy_series.to_dataset().inpaint.train("sst", init="fast", lr=1.0, epochs=1, steps_per_epoch=3, batch_size=8, progress=False)
    assert not any(v < model.history["start_val_rmse_hidden"][0] for v in model.history["val_rmse_hidden"])  # worse, or NaN
    assert all(torch.equal(start[k], v) for k, v in _weights(model).items())


def test_beats_start_tells_a_gain_on_every_window_from_a_few_lucky_windows():
    """Paired over validation windows: with z=2 a lower total error from a few lucky windows is not enough."""
    model = load_bundled_model("fast")
    sst = synthetic_sst(256, 256, seed=3, land=False).values
    tiles = sst.reshape(4, 64, 4, 64).transpose(0, 2, 1, 3).reshape(16, 64, 64)
    holes = draw_holes(16, 64, ("clouds",), (0.3, 0.5), np.random.default_rng(0))
    start = evaluate_tiles(model, tiles, holes)["se_windows"]
    assert start.shape == (16,) and (start > 0).all()
    assert not beats_start(start, start) and not beats_start(start, start, z=2.0)
    lucky = start * 1.03  # every window 3 % worse but the worst, filled perfectly
    lucky[np.argmax(start)] = 0.0
    assert lucky.sum() < start.sum()  # lower in total: the bare comparison (z=0, the default) takes it
    assert beats_start(start, lucky, z=0.0) and not beats_start(start, lucky, z=2.0)
    assert beats_start(start, start * 0.97, z=2.0)  # 3 % better on every window


def test_validation_scores_do_not_depend_on_the_scoring_batch():
    # pooled over the set's pixels: a CPU scores the context model 64 windows a call, a GPU 256
    model = load_bundled_model("fast")
    sst = synthetic_sst(256, 256, seed=5, land=False).values
    tiles = sst.reshape(4, 64, 4, 64).transpose(0, 2, 1, 3).reshape(16, 64, 64)
    holes = draw_holes(16, 64, ("clouds",), (0.2, 0.6), np.random.default_rng(1))
    whole, small = evaluate_tiles(model, tiles, holes, batch=16), evaluate_tiles(model, tiles, holes, batch=3)
    for key in ("loss", "rmse_hidden", "rmse_hidden_field"):
        assert small[key] == pytest.approx(whole[key], rel=1e-6), key
    np.testing.assert_allclose(small["se_windows"], whole["se_windows"], rtol=1e-6)


def test_own_cloud_masks_are_the_gaps_of_the_data_not_its_land(cloudy_series):
    masks = own_cloud_masks(cloudy_series, ("lat", "lon"), size=64, fraction=(0.1, 0.7))
    assert masks.ndim == 3 and masks.shape[1:] == (64, 64) and len(masks) > 10
    frac = masks.reshape(len(masks), -1).mean(1)
    assert frac.max() <= 0.7 + 1e-9 and frac.min() > 0
    # land (never observed on any day) is in no mask
    never = ~cloudy_series.notnull().any("time").values
    assert never.any()
    ny, nx = never.shape
    img = cloudy_series.isel(time=0).values
    direct = cut_cloud_masks([(img, never)], 64, 16, (0.1, 0.7))
    for m in direct[:20]:
        assert m.sum() > 0
    land_only = np.zeros((1, ny, nx), "float32")
    land_only[0][never] = np.nan
    assert len(cut_cloud_masks([(land_only[0], never)], 64, 16, (0.01, 1.0))) == 0


def test_own_cloud_masks_of_a_long_archive_are_a_uniform_sample_never_all_held(cloudy_series):
    pairs = [(img, None) for img in cloudy_series.values]
    every = cut_cloud_masks(pairs, 64, 16, (0.1, 0.9), max_masks=10**6)
    assert len(every) > 60
    chosen = np.zeros(len(every))
    for seed in range(300):
        few = cut_cloud_masks(pairs, 64, 16, (0.1, 0.9), max_masks=20, seed=seed)
        assert len(few) == 20
        which = [int(np.flatnonzero((every == m).all(axis=(1, 2)))[0]) for m in few]
        assert which == sorted(which)  # each one of the windows, in the archive's order
        chosen[which] += 1
    expected = 300 * 20 / len(every)  # a uniform sample: every window as likely
    assert chosen.min() > 0.4 * expected and chosen.max() < 1.8 * expected, (chosen.min(), chosen.max(), expected)


def test_library_drawer_mixes_own_clouds_and_synthetic_kinds():
    library = np.zeros((5, 64, 64), bool)
    library[:, 10:40, 5:50] = True
    draw = LibraryDrawer(library, draw_holes)
    rng = np.random.default_rng(0)
    own = draw(6, 64, (OWN_CLOUDS,), (0.1, 0.7), rng)
    assert own.shape == (6, 64, 64) and all(m.sum() == library[0].sum() for m in own)
    big = draw(3, 160, (OWN_CLOUDS,), (0.1, 0.7), rng)  # windows wider than the masks: tiled
    assert big.shape == (3, 160, 160) and big.any(axis=(1, 2)).all()
    mixed = draw(40, 64, (OWN_CLOUDS, "squares"), (0.3, 0.3), rng)
    exact = np.array([(m == library[0]).all() for m in mixed])
    assert exact.any() and not exact.all()
    with pytest.raises(ValueError, match="empty"):
        LibraryDrawer(np.zeros((0, 64, 64), bool), draw_holes)


def test_adapting_refuses_what_it_cannot_do(cloudy_series):
    ds = cloudy_series.to_dataset()
    with pytest.raises(ModelMismatchError, match="not an autoencoder that can be adapted"):
        ds.inpaint.train("sst", init="laplace", max_minutes=0.01, progress=False)
    with pytest.raises(ModelMismatchError, match="latent model is trained afresh"):  # a DCGAN has no adaptation
        ds.inpaint.train("sst", init="latent", max_minutes=0.01, progress=False)
    with pytest.raises(TypeError, match="init= or model="):
        ds.inpaint.train("sst", init="fast", model=load_bundled_model("fast"), progress=False)
    clear = synthetic_sst(256, 128, nt=3, seed=2, land=False).to_dataset()  # no gaps: no own clouds, and only those asked for
    with pytest.raises(InputDataError, match="own_clouds"):
        clear.inpaint.train("sst", init="fast", holes="own_clouds", max_minutes=0.01, progress=False)


def test_an_explicit_preset_is_refused_where_it_would_be_ignored(cloudy_series):
    """train(init=..., preset=...) adapted the init model and dropped the preset silently (sstfill train refuses --init with --preset); model= too."""
    ds = cloudy_series.to_dataset()
    with pytest.raises(TypeError, match="init= or preset=, not both.*Drop preset='default'"):
        ds.inpaint.train("sst", init="fast", preset="default", max_minutes=0.01, progress=False)
    with pytest.raises(TypeError, match="model= or preset=, not both"):
        ds.inpaint.train("sst", model=load_bundled_model("fast"), preset="report", epochs=1, progress=False)
    with pytest.raises(TypeError, match="does not take preset, patience"):  # a latent model has no preset nor early stopping
        ds.inpaint.train("sst", method="latent", preset="fast", patience=3, epochs=1, progress=False)


def test_the_recorded_time_span_is_first_to_last_whatever_the_order_of_the_steps(cloudy_series):
    """Steps stored out of order (newest first, or shuffled) were recorded as their first and last stored: a span from 2021-01-04 to 2021-01-01."""
    shuffled = cloudy_series.isel(time=[2, 0, 3, 1]).to_dataset()
    model = shuffled.inpaint.train("sst", init="fast", max_minutes=0.005, steps_per_epoch=1, batch_size=4, max_tiles=4, progress=False)
    assert model.adapted_on["time_span"] == [str(cloudy_series.time.values[0])[:19], str(cloudy_series.time.values[-1])[:19]]
    hours = (shuffled.time.values - cloudy_series.time.values[0]) / np.timedelta64(1, "h")  # as decode_times=False reads them
    raw = shuffled.assign_coords(time=("time", hours, {"units": f"hours since {str(cloudy_series.time.values[0])[:19]}"}))
    model = raw.inpaint.train("sst", init="fast", max_minutes=0.005, steps_per_epoch=1, batch_size=4, max_tiles=4, progress=False)
    assert model.adapted_on["time_span"] == [str(cloudy_series.time.values[0])[:19], str(cloudy_series.time.values[-1])[:19]]  # dates, not hours


def test_a_missing_init_file_says_what_init_takes(cloudy_series, tmp_path):
    """init='missing.npz' said 'or pass model=None for the bundled model': fill's fix, and model= means something else to train()."""
    from sstfill.errors import ModelFileError

    with pytest.raises(ModelFileError, match="The model to adapt, '.*missing.npz'.*does not exist. Pass init='auto'") as info:
        cloudy_series.to_dataset().inpaint.train("sst", init=str(tmp_path / "missing.npz"), max_minutes=0.01, progress=False)
    assert info.value.argument == "init" and "model=None" not in str(info.value)


def test_training_from_a_model_file_never_changes_the_loaded_copy(cloudy_series):
    """Runs start from a copy: the model of the file, shared by every fill in the process, stays as saved."""
    from sstfill.models.store import bundled_model_path

    loaded = sstfill.load_model(bundled_model_path("fast"))
    saved = _weights(loaded)
    ds = cloudy_series.to_dataset()
    first = ds.inpaint.train("sst", init=loaded, epochs=1, steps_per_epoch=2, batch_size=8, progress=False)
    second = ds.inpaint.train("sst", init=loaded, epochs=1, steps_per_epoch=2, batch_size=8, progress=False)
    assert all(torch.equal(saved[k], v) for k, v in _weights(loaded).items())
    assert first.history["start_val_rmse_hidden"] == second.history["start_val_rmse_hidden"]  # both started from the file's weights
    assert first.history is not second.history


def test_adapting_to_a_monthly_series_makes_the_adjacent_months_its_neighbouring_steps(tmp_path):
    """The bundled context model looks +-1 and +-2 days away; adapted to monthly maps it looks +-1 and +-2 months away."""
    import pandas as pd

    from sstfill.xr.series import time_context

    # images smaller than the model's 192 px window (its own-cloud masks are cut tile-sized)
    monthly = synthetic_sst(128, 128, nt=6, seed=3).assign_coords(time=pd.date_range("2010-01-01", periods=6, freq="MS"))
    cloudy, _ = monthly.inpaint.add_holes("clouds", fraction=0.3, seed=2)
    with pytest.warns(UserWarning, match="31 days apart.*each image is filled alone.*init=model"):
        assert time_context(cloudy, load_bundled_model("context"), ("lat", "lon")) is None  # no month is a day from another
    model = cloudy.to_dataset().inpaint.train("sst", init="context", epochs=1, steps_per_epoch=1, batch_size=4, progress=False)
    assert model.config.time_step_days == 31.0 and model.adapted_on["time_step_days"] == 31.0  # the median month
    assert "neighbouring steps -2, -1, +1, +2 x 31 d" in model.description
    steps = time_context(cloudy, model, ("lat", "lon")).steps
    assert steps[0].tolist() == [-1, -1, 1, 2] and steps[3].tolist() == [1, 2, 4, 5]  # Feb (28 d) and Apr (30 d) still count
    back = sstfill.load_model(model.save(tmp_path / "monthly.npz"))
    assert back.config.time_step_days == 31.0
    # the fill of a month's gaps uses the months around it
    filled = cloudy.inpaint.fill(back, max_distance=None, error=False)
    changed = cloudy.copy(data=cloudy.values.copy())
    changed[2] = changed[2] + 1.0
    refilled = changed.inpaint.fill(back, max_distance=None, error=False)
    gaps = np.isnan(cloudy.values[3])
    assert not np.allclose(filled.values[3][gaps], refilled.values[3][gaps])
    # adapted again, to a daily series, it counts in days again
    daily, _ = synthetic_sst(128, 128, nt=4, seed=4).inpaint.add_holes("clouds", fraction=0.3, seed=3)
    again = daily.to_dataset().inpaint.train("sst", init=back, epochs=1, steps_per_epoch=1, batch_size=4, progress=False)
    assert again.config.time_step_days == 1.0 and again.adapted_on["time_step_days"] == 1.0


def test_adapting_validates_by_filling_the_held_out_band_under_other_days_clouds(cloudy_series):
    """The stopping point is what a fill gives: the validation band filled whole, scored on pixels hidden under another day's clouds."""
    from sstfill.training.tiles import split_blocks
    from sstfill.xr.validation import fill_validation

    check = fill_validation(cloudy_series, ("lat", "lon"), split=(0.75, 0.25, 0.0), by_rows=True, context_rows=64)
    band = split_blocks(256, (0.75, 0.25, 0.0))[1]
    observed = np.isfinite(cloudy_series.values)
    hidden = np.isfinite(check.truth)
    # only observed pixels of the band are hidden, each under the clouds of the day two steps away
    expect = (observed & ~observed[[2, 3, 0, 1]])[:, band]
    assert hidden.shape == (4, len(band), 128) and (hidden == expect).all() and hidden.sum() == check.hidden > 1000
    assert np.array_equal(check.truth[hidden], cloudy_series.values[:, band][hidden])
    # the field to fill keeps every other observation, the rows of context around the band included
    field = check.field.values
    assert np.isnan(field[:, check.rows][hidden]).all() and np.isfinite(field).sum() == observed[:, band[0] - 64 :].sum() - hidden.sum()
    # its score is the RMSE of those pixels in a fill by the model
    base = load_bundled_model("fast")
    se, n = check(base)
    filled = check.field.inpaint.fill(base, land=check.land, error=False, climatology=None).values[:, check.rows]
    assert n.sum() == hidden.sum() and np.isclose(se.sum(), np.sum((filled[hidden] - check.truth[hidden]) ** 2), rtol=1e-6)
    # adapting records it, starts from it, and keeps an epoch only if it fills the band better
    model = cloudy_series.to_dataset().inpaint.train("sst", init="fast", epochs=2, steps_per_epoch=2, batch_size=8, progress=False)
    h = model.history
    assert np.isclose(h["start_val_fill_rmse"][0], np.sqrt(se.sum() / n.sum()), rtol=1e-5)
    assert len(h["val_fill_rmse"]) == len(h["epoch"]) and "filled whole" in model.adapted_on["validation"]
    best = h["best_epoch"][0]
    kept = h["start_val_fill_rmse"][0] if best == -1 else h["val_fill_rmse"][h["epoch"].index(best)]
    assert kept == min([h["start_val_fill_rmse"][0], *h["val_fill_rmse"]])


def test_the_fill_validation_decides_which_weights_adapting_keeps(cloudy_series):
    """Whatever the tiles' scores say, an epoch is kept only if it fills the validation part better than the start."""
    from sstfill.training.trainer import TrainSettings, fit, new_model
    from sstfill.xr.samples import tiles_from_dataarray

    train, val, _, _ = tiles_from_dataarray(cloudy_series, ("lat", "lon"), split=(0.75, 0.25, 0.0), by="space", min_valid=0.5)
    start = _weights(load_bundled_model("fast"))
    for later, kept in ((2.0, -1), (0.5, 0)):  # every epoch fills worse than the start / the first epoch fills better
        calls = []

        def validate(model, calls=calls, later=later):
            calls.append(1)
            return np.full(4, 1.0 if len(calls) == 1 else later), np.full(4, 100.0)

        settings = TrainSettings(epochs=2, batch_size=8, steps_per_epoch=2, lr=1e-4, keep_start=True, select_on="rmse", fill_validation=validate)
        model = fit(new_model("fast", base=load_bundled_model("fast")), train, val, settings, device="cpu", progress=False)
        assert len(calls) == 3 and model.history["best_epoch"] == [kept]
        assert all(torch.equal(start[k], v) for k, v in _weights(model).items()) == (kept == -1)


def test_a_single_image_validates_under_drawn_clouds(cloudy_series):
    """One image has no other step to borrow clouds from: drawn cloud shapes hide its band, and its gaps are not taken for land."""
    from sstfill.xr.validation import fill_validation

    image = cloudy_series.isel(time=0)
    check = fill_validation(image, ("lat", "lon"), split=(0.75, 0.25, 0.0), by_rows=True, context_rows=64, seed=3)
    hidden = np.isfinite(check.truth)
    assert check.land is None and "drawn cloud shapes" in check.description
    assert 0.1 < hidden.sum() / np.isfinite(image.values[192:]).sum() < 0.6
    se, n = check("laplace")
    assert se.shape == (1,) and n[0] == hidden.sum()


def test_a_block_of_validation_steps_borrows_the_clouds_of_the_whole_series():
    """Split by time, the validation steps hide their pixels under the clouds of steps half the series away, training steps included."""
    from sstfill.training.tiles import split_blocks
    from sstfill.xr.validation import fill_validation

    series, _ = synthetic_sst(96, 96, nt=6, seed=6).inpaint.add_holes("clouds", fraction=0.3, seed=4)
    check = fill_validation(series, ("lat", "lon"), split=(0.75, 0.25, 0.0), by_rows=False, context_rows=64)
    steps = split_blocks(6, (0.75, 0.25, 0.0))[1]
    observed = np.isfinite(series.values)
    expect = observed[steps] & ~observed[(steps + 3) % 6]
    assert np.array_equal(np.isfinite(check.truth), expect) and expect.sum() > 100
    assert "clouds of other steps" in check.description
    assert np.array_equal(check.land.values, ~observed.any(axis=0))  # land: what no step of the series observes


def test_a_short_archive_without_validation_windows_adapts_on_its_filled_band(cloudy_series):
    """Two days whose validation band holds no window half observed: filling validates, the error model stays the start's."""
    two = cloudy_series.isel(time=slice(0, 2)).copy()
    band = two.values[:, 192:]
    band[:, :, ::2] = np.nan  # every other column missing: no 64 x 64 window of the band is half observed
    two.values[:, 192:] = band
    base = load_bundled_model("fast")
    model = two.to_dataset().inpaint.train("sst", init="fast", epochs=2, steps_per_epoch=2, batch_size=8, progress=False)
    h = model.history
    assert h["tiles"][0] > 0 and h["tiles"][1] == 0 and "rows 192-255 of 2 steps" in h["fill_validation"]
    assert np.isnan(h["start_val_loss"][0]) and np.isnan(h["val_loss"]).all()  # no tile scores, not perfect ones
    assert len(h["val_fill_rmse"]) == 2 and np.isfinite(h["val_fill_rmse"]).all()
    assert model.fitted_error_model == base.fitted_error_model  # nothing to refit it on
    # without validation by filling (a fresh model) the empty set is still an error
    with pytest.raises(InputDataError, match="validation \\(0\\)"):
        two.to_dataset().inpaint.train("sst", preset="fast", epochs=1, split_by="space", split=(0.75, 0.25, 0.0), progress=False)


def test_init_auto_adapts_the_model_fill_uses_on_the_field(cloudy_series):
    """init="auto": the context model on a series, the default model on one image (recorded by name)."""
    daily = cloudy_series.to_dataset().inpaint.train("sst", init="auto", max_minutes=0.01, steps_per_epoch=1, batch_size=8, progress=False)
    assert daily.adapted_on["init"] == "context" and daily.config.time_offsets
    one_day = cloudy_series.isel(time=[0]).to_dataset().inpaint.train("sst", init="AUTO", max_minutes=0.01, steps_per_epoch=1, batch_size=8,
                                                                   holes=("clouds",), progress=False)
    assert one_day.adapted_on["init"] == "default" and not one_day.config.time_offsets


def test_adapting_data_without_gaps_of_its_own_learns_under_the_other_holes(capsys):
    """Real ERSST months (gaps: land only): no own cloud masks, so the default holes fall back to the bundled clouds, said and recorded."""
    from sstfill.cli.info import adaptation_rows

    path = resources.files("sstfill") / "data" / "sample_ersst_pacific.nc"
    with resources.as_file(path) as file, xr.open_dataset(file) as ds:
        ds = ds.load()
    with pytest.warns(UserWarning, match=r"'sst' has no gaps covering 10%-70% of a 64x64 window .* it learns under 'clouds' holes only"):
        model = ds.inpaint.train("sst", init="fast", max_minutes=0.05, progress=False)
    assert model.adapted_on["own_cloud_masks"] == 0 and model.adapted_on["settings"]["holes"] == ["clouds"]
    assert ("own cloud masks", "none found in the data: synthetic holes only") in adaptation_rows(model.adapted_on)
    with pytest.raises(InputDataError, match="to use as 'own_clouds' holes"):  # asked for alone: nothing to learn under
        ds.inpaint.train("sst", init="fast", holes="own_clouds", max_minutes=0.05, progress=False)


def test_a_cpu_scores_a_few_samples_at_a_time_whatever_the_model(monkeypatch):
    # the network's activations grow with the samples scored at once (the default model: 1.2 GB
    # at 256, 0.2 GB at 32) and its speed does not: every model is scored 32 at a time on a CPU
    import sstfill.training.losses as losses_module

    seen: list[int] = []
    real = losses_module.losses

    def counting(model, target, *args, **kwargs):
        seen.append(len(target))
        return real(model, target, *args, **kwargs)

    monkeypatch.setattr(losses_module, "losses", counting)
    sst = synthetic_sst(320, 320, seed=5, land=False).values
    for name in ("fast", "default"):
        model = load_bundled_model(name)
        w = model.config.window
        tiles = np.stack([sst[y : y + w, x : x + w] for y in range(0, 320 - w + 1, 16) for x in range(0, 320 - w + 1, 16)])[:80]
        holes = draw_holes(len(tiles), w, ("clouds",), (0.2, 0.6), np.random.default_rng(1))
        seen.clear()
        scores = losses_module.evaluate_tiles(model, tiles, holes)
        assert len(tiles) == 80 and seen == [32, 32, 16], name
        assert scores["loss"] == pytest.approx(losses_module.evaluate_tiles(model, tiles, holes, batch=80)["loss"], rel=1e-6)
