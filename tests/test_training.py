"""Networks, training, save/load: learning happens, is reproducible, files are safe."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

import sstfill
from sstfill.errors import InputDataError, ModelFileError, ModelMismatchError
from sstfill.evaluation.metrics import rmse
from sstfill.models.networks import PRESETS, ModelConfig
from sstfill.testing import synthetic_sst
from sstfill.training.tiles import cut_tiles_by_index, split_blocks
from sstfill.training.banks import validation_holes
from sstfill.training.losses import evaluate_tiles
from sstfill.training.trainer import TrainSettings, fit

DATA = Path(sstfill.__file__).parent / "data"


@pytest.fixture(scope="module")
def banks():
    da = synthetic_sst(192, 256, nt=6, seed=11, land=False)
    tiles = cut_tiles_by_index(da.values, 64, 32, 0.9)
    return tiles[:60], tiles[60:90]


def test_report_preset_is_the_report_network():
    model = sstfill.Inpainter.from_preset("report")
    n = sum(p.numel() for p in model.generator.parameters())
    assert model.config.widths == (20, 15, 10) and model.config.discriminator == "pair"
    assert 10_000 < n < 30_000  # the report: 14,910 generator parameters (Keras, no bias layout details)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_give_the_tile_shape(preset):
    model = sstfill.Inpainter.from_preset(preset)
    x = torch.zeros(2, model.config.channels, 64, 64)
    assert model.generator(x).shape == (2, 1, 64, 64)
    w = model.config.window  # what a fill hands the model: the tile and its context margin
    windows = np.full((2, w, w), 290.0, "float32")
    assert model.predict_tiles(windows, np.ones(windows.shape, bool)).shape == (2, 64, 64)


def test_residual_model_starts_as_its_first_guess():
    model = sstfill.Inpainter.from_preset("fast")
    tiles = synthetic_sst(64, 64, land=False).values[None]
    obs = np.ones(tiles.shape, bool)
    obs[:, 20:40, 20:40] = False
    pred = model.predict_tiles(np.where(obs, tiles, np.nan), obs)
    lap = sstfill.LaplaceFiller(iterations=model.config.first_guess_iterations, tolerance=None).predict_tiles(np.where(obs, tiles, np.nan), obs)
    np.testing.assert_allclose(pred[~obs], lap[~obs], atol=2e-3)


@pytest.mark.slow
def test_training_lowers_validation_loss_and_is_reproducible(banks):
    train, val = banks
    settings = TrainSettings(epochs=2, batch_size=16, seed=3, steps_per_epoch=12, lr=2e-3)

    def run():
        torch.set_num_threads(1)
        torch.manual_seed(0)
        model = sstfill.Inpainter.from_preset("fast")
        before = evaluate_tiles(model, val, validation_holes(len(val), 64, settings))["loss"]
        model = fit(model, train, val, settings, device="cpu", progress=False)
        return model, before

    a, before = run()
    b, _ = run()
    assert min(a.history["val_loss"]) < before
    assert a.history["val_loss"] == b.history["val_loss"]
    for pa, pb in zip(a.generator.parameters(), b.generator.parameters()):
        assert torch.equal(pa, pb)


@pytest.mark.slow
@pytest.mark.parametrize("discriminator", ["pair", "context", "global_local", None])
def test_every_discriminator_trains_a_step(banks, discriminator):
    train, val = banks
    overrides = {"discriminator": discriminator} if discriminator else {"adversarial_weight": 0.0}
    model = sstfill.Inpainter.from_preset("fast", **overrides)
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    d_before = None if model.discriminator is None else [p.clone() for p in model.discriminator.parameters()]
    model = fit(model, train[:16], val[:8], TrainSettings(epochs=1, batch_size=8, steps_per_epoch=1, average_last=1), device="cpu", progress=False)
    assert any(not torch.equal(before[k], v) for k, v in model.generator.state_dict().items())
    if d_before is not None:
        assert any(not torch.equal(p0, p1) for p0, p1 in zip(d_before, model.discriminator.parameters()))
        assert model.history["adv_d"][0] > 0


@pytest.mark.slow
def test_checkpoint_and_resume_continue_the_same_run(banks, tmp_path):
    train, val = banks
    s = TrainSettings(epochs=2, batch_size=8, steps_per_epoch=3, seed=1)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    full = fit(sstfill.Inpainter.from_preset("fast"), train, val, s, device="cpu", progress=False)
    ck = tmp_path / "ck.npz"
    torch.manual_seed(0)
    fit(sstfill.Inpainter.from_preset("fast"), train, val, TrainSettings(**{**s.__dict__, "epochs": 1}), device="cpu", checkpoint=ck, progress=False)
    resumed = fit(sstfill.Inpainter.from_preset("fast"), train, val, s, device="cpu", resume=ck, progress=False)
    assert resumed.history["epoch"] == [0, 1]
    np.testing.assert_allclose(resumed.history["val_loss"], full.history["val_loss"], rtol=1e-5)


def test_resuming_a_run_that_had_stopped_trains_nothing_more(banks, tmp_path):
    """A run stopped by its budget or its patience, resumed with the same arguments (as after a kill between its last
    checkpoint and its model file): it trained one more epoch, past the budget, and came back with other weights."""
    train, val = banks
    for stop in ({"max_seconds": 1e-3}, {"patience": 1, "lr": 10.0}):  # the budget is spent by epoch 0; every epoch is worse than the first
        s = TrainSettings(epochs=6, batch_size=8, steps_per_epoch=2, seed=1, **stop)
        ck = tmp_path / "ck.npz"
        torch.manual_seed(0)
        full = fit(sstfill.Inpainter.from_preset("fast"), train, val, s, device="cpu", checkpoint=ck, progress=False)
        assert len(full.history["epoch"]) < 6  # it stopped early
        again = fit(sstfill.Inpainter.from_preset("fast"), train, val, s, device="cpu", resume=ck, progress=False)
        assert again.history["epoch"] == full.history["epoch"], stop
        for (name, a), b in zip(full.generator.state_dict().items(), again.generator.state_dict().values()):
            assert torch.equal(a, b), (stop, name)


@pytest.mark.parametrize("option, value", [("seed", -1), ("seed", 1.5), ("seed", "a"), ("seed", True), ("holes", ()), ("holes", [])])
def test_a_seed_or_holes_that_cannot_be_honoured_are_named_before_the_data_is_read(option, value, capsys):
    """seed=-1 failed in numpy ('expected non-negative integer'), holes=() in numpy ('high <= 0') after the tiles were cut."""
    ds = xr.open_dataset(DATA / "sample_ersst_pacific.nc")
    with pytest.raises(InputDataError, match=rf"^{option}={re.escape(repr(value))} cannot be honoured: give ") as err:
        ds.inpaint.train("sst", preset="fast", epochs=1, progress=False, **{option: value})
    assert err.value.argument == option
    if option == "seed" and value == -1:
        from sstfill.cli import main

        with pytest.raises(SystemExit) as cli:
            main(["train", str(DATA / "sample_ersst_pacific.nc"), "-o", "never.npz", "--seed", "-1", "--no-progress"])
        assert cli.value.code == 2 and "argument --seed: give a whole number of at least 0, not '-1'" in capsys.readouterr().err


def test_save_load_round_trip_gives_identical_fills(tmp_path, sst_image):
    model = sstfill.Inpainter.from_preset("fast")
    with torch.no_grad():  # not a fresh model: perturb the head so the network matters
        model.generator.head.weight.normal_(0, 0.1)
    model.history = {"val_loss": [0.5, 0.4]}
    path = model.save(tmp_path / "m.npz")
    again = sstfill.load_model(path)
    gappy, _ = sst_image.inpaint.add_holes("clouds", fraction=0.4, seed=0)
    a = gappy.inpaint.fill(model)
    b = gappy.inpaint.fill(again)
    np.testing.assert_array_equal(a.values, b.values)
    assert again.history == model.history and again.config == model.config


def test_model_files_are_not_pickles(tmp_path):
    path = sstfill.Inpainter.from_preset("report").save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as npz:  # loads without pickle, every entry a plain array
        assert all(npz[k].dtype != object for k in npz.files)


def test_corrupt_truncated_and_foreign_files_fail_clearly(tmp_path):
    path = sstfill.Inpainter.from_preset("fast").save(tmp_path / "m.npz")
    data = path.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.npz").write_bytes(b"not a model at all" * 100)
    np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
    for name, pattern in [("trunc.npz", "corrupt or truncated"), ("junk.npz", r"is not an sstfill model file \(it is a text file\)"), ("foreign.npz", "not an sstfill model"), ("missing.npz", "does not exist")]:
        with pytest.raises(ModelFileError, match=pattern):
            sstfill.load_model(tmp_path / name)


def test_incompatible_weights_fail_clearly(tmp_path):
    import json

    path = sstfill.Inpainter.from_preset("fast").save(tmp_path / "m.npz")
    with np.load(path) as npz:
        arrays = dict(npz)
    config = json.loads(arrays["__config__"].tobytes())
    config["model"]["widths"] = [8, 8, 8]  # weights no longer fit the architecture
    arrays["__config__"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="does not match"):
        sstfill.load_model(tmp_path / "bad.npz")
    config["format"] = "sstfill-model/99"
    arrays["__config__"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(ModelFileError, match="format"):
        sstfill.load_model(tmp_path / "future.npz")


def test_unknown_input_channel_and_tile_mismatch():
    with pytest.raises(ModelMismatchError, match="Unknown input channels"):
        ModelConfig(inputs=("field", "mask", "chlorophyll"))
    model = sstfill.Inpainter.from_preset("fast", tile_size=32)
    with pytest.raises(ModelMismatchError, match="32x32"):
        model.predict_tiles(np.zeros((1, 64, 64), "float32"), np.ones((1, 64, 64), bool))


def test_model_pickles_small_for_dask(tmp_path):
    import pickle

    model = sstfill.Inpainter.from_preset("default")
    loaded = sstfill.load_model(model.save(tmp_path / "m.npz"))
    assert len(pickle.dumps(loaded)) < 1000  # a path, loaded once per worker, not the weights
    clone = pickle.loads(pickle.dumps(model))  # unsaved: plain numpy arrays travel
    w = model.config.window  # the tile and its context margin
    x = np.random.default_rng(0).normal(290, 1, (2, w, w)).astype("float32")
    np.testing.assert_array_equal(clone.predict_tiles(x, np.ones(x.shape, bool)), model.predict_tiles(x, np.ones(x.shape, bool)))


def test_split_blocks_never_overlap():
    parts = split_blocks(17, (0.65, 0.15, 0.2))
    joined = np.concatenate(parts)
    assert np.array_equal(joined, np.arange(17)) and all(len(p) for p in parts)


@pytest.mark.slow
def test_accessor_train_splits_by_time_and_fills(sst_series):
    ds = sst_series.to_dataset()
    model = ds.inpaint.train("sst", epochs=1, preset="fast", batch_size=8, steps_per_epoch=2, progress=False, seed=0)
    steps = [int(n) for n in re.findall(r"(\d+) steps?\b", model.history["split"])]
    assert model.history["split"].startswith("by time") and len(steps) == 3 and sum(steps) == sst_series.sizes["time"]
    assert all(n > 0 for n in model.history["tiles"])
    # the trained model fills real cloud shapes on a day: every hole, nothing else, and well
    day = sst_series.isel(time=0)
    gappy, hidden = day.inpaint.add_holes("clouds", fraction=0.4, seed=1)
    h = hidden.values
    assert h.sum() > 2000
    filled = gappy.inpaint.fill(model)
    observed = gappy.notnull().values
    np.testing.assert_array_equal(filled.values[observed], gappy.values[observed])
    assert np.isfinite(filled.values[h]).all()
    assert np.isnan(filled.values[day.isnull().values]).all()  # land stays land
    # two training steps from a residual start leave it close to its first guess: no worse
    # than 10 % above the Laplace fill (an untrained-and-broken network is far above)
    laplace = gappy.inpaint.fill("laplace")
    assert rmse(filled, day, h) < 1.1 * rmse(laplace, day, h)
    # it learnt its error on the validation tiles, and its fills carry it
    assert model.fitted_error_model is not None and "validation tiles" in model.fitted_error_model.fitted_on
    sigma = filled["sst_error"].values
    assert np.isfinite(sigma[h]).all() and (sigma[h] > 0).all() and np.isnan(sigma[~h]).all()
    z2 = np.mean(((filled.values - day.values)[h] / sigma[h]) ** 2)
    assert 0.2 < z2 < 5  # the right order of magnitude (calibration is measured in benchmarks/calibration.py)


def test_accessor_train_stops_at_its_time_budget(sst_series):
    ds = sst_series.to_dataset()
    model = ds.inpaint.train("sst", epochs=50, patience=50, preset="fast", batch_size=8, steps_per_epoch=2, max_seconds=1e-6, progress=False)
    assert len(model.history["val_loss"]) == 1  # the first epoch passes the budget


def test_the_time_budget_stops_an_epoch_within_it(banks):
    # without steps_per_epoch an epoch is a pass over every tile: on a large archive, many times a budget of minutes
    train, val = banks
    torch.manual_seed(0)
    model = fit(sstfill.Inpainter.from_preset("fast"), train, val, TrainSettings(epochs=3, batch_size=4, max_seconds=1e-6), device="cpu", progress=False)
    h = model.history
    assert len(h["epoch"]) == 1 and round(h["tiles_per_second"][0] * h["seconds"][0]) == 4  # one batch of 4 of its 60 tiles, then the budget was spent


@pytest.mark.parametrize("budget", [dict(max_minutes=float("nan")), dict(max_minutes=0), dict(max_minutes=-1), dict(max_seconds=float("nan")), dict(max_seconds=0)])
def test_train_refuses_a_time_budget_that_is_none(budget):
    """0, negative or NaN budgets are refused by name: NaN trained without end (every comparison False), 0 or less one epoch."""
    from sstfill.errors import InputDataError

    ds = synthetic_sst(128, 128, nt=6).to_dataset()
    name = next(iter(budget))
    with pytest.raises(InputDataError, match=f"{name}=.* is not a time budget.*more than 0") as info:
        ds.inpaint.train("sst", epochs=2, preset="fast", progress=False, **budget)
    assert info.value.argument == name


@pytest.mark.parametrize("option", [dict(epochs=0), dict(epochs=2.5), dict(batch_size=0), dict(stride=0), dict(steps_per_epoch=0), dict(max_tiles=0),
                                    dict(patience=0), dict(hole_fraction=(0.7, 0.1)), dict(split=(0.5, 0.5)), dict(split=(1.2, -0.1, -0.1)),
                                    dict(min_valid=2), dict(lr=-1.0), dict(split_by="time")])
def test_train_refuses_options_it_cannot_honour(option):
    """epochs=0 returned an untrained model; the others failed inside numpy, torch or range() (ZeroDivisionError, IndexError, ...)."""
    from sstfill.errors import InputDataError

    ds = synthetic_sst(128, 128, nt=6).to_dataset()
    name = next(iter(option))
    with pytest.raises(InputDataError, match=f"{name}=.* cannot be honoured: give ") as info:
        ds.inpaint.train("sst", preset="fast", progress=False, **{"epochs": 1, **option})
    assert info.value.argument == name


def test_checkpoint_never_replaces_a_file_that_is_no_model(tmp_path):
    """checkpoint= naming an existing data file replaced it with a checkpoint after the first epoch, silently."""
    from sstfill.errors import OutputError

    data = tmp_path / "data.nc"
    synthetic_sst(64, 64).to_dataset().to_netcdf(data)
    before = data.read_bytes()
    ds = synthetic_sst(128, 128, nt=6).to_dataset()
    with pytest.raises(OutputError, match="checkpoint=.*data.nc.* is not an sstfill model file") as info:
        ds.inpaint.train("sst", preset="fast", epochs=1, checkpoint=str(data), progress=False)
    assert info.value.argument == "checkpoint" and data.read_bytes() == before


def test_images_smaller_than_a_tile_are_refused_saying_so():
    """40 x 40 images said 'Training needs tiles in both training (0) and validation (0) sets: use ... a smaller min_valid', which cannot help."""
    from sstfill.errors import InputDataError

    ds = synthetic_sst(40, 90, nt=6).to_dataset()
    for init in (None, "fast"):
        with pytest.raises(InputDataError, match="'sst' has images of 40 x 90 pixels, smaller than the model's 64 x 64 tiles.*at least 64 pixels"):
            ds.inpaint.train("sst", init=init, preset=None if init else "fast", epochs=1, progress=False)


def test_accessor_train_single_image_splits_by_region():
    ds = synthetic_sst(500, 200, land=False).to_dataset()
    from sstfill.xr.samples import tiles_from_dataarray

    train, val, test, how = tiles_from_dataarray(ds.sst, ("lat", "lon"), stride=32)
    assert how.startswith("by bands of lat") and len(train) and len(val) and len(test)


class _TileMean:
    """A poor tile model: every pixel of a tile gets the mean of its observed pixels."""

    tile_size = 64
    description = "tile mean (test stub)"

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        mean = np.nanmean(np.where(observed, values, np.nan), axis=(1, 2), keepdims=True)
        return np.where(observed, values, mean).astype("float32")


def test_evaluate_gives_the_report_table(sst_image):
    table = sst_image.inpaint.evaluate("laplace")
    poor = sst_image.inpaint.evaluate(_TileMean())
    assert list(table.index) == ["square10", "squares6", "squares"]
    tiles = int(table["tiles"].iloc[0])
    assert tiles > 0 and (poor["tiles"] == tiles).all()
    # the holes are those of the report: one 10x10 square per tile, or 25 % of each tile
    assert table.loc["square10", "hidden_pixels"] == 100 * tiles
    for kind in ("squares6", "squares"):
        assert 0.2 < table.loc[kind, "hidden_pixels"] / (tiles * 64 * 64) < 0.3
    # both fillers keep observed pixels, so the whole-tile error is the hole error diluted over
    # the tiles' valid pixels (at least min_valid = 95 % of them), the same tiles for both
    valid = [t["hidden_pixels"] * (t["rmse_hidden"] / t["rmse_tile"]) ** 2 for t in (table, poor)]
    np.testing.assert_allclose(valid[0], valid[1], rtol=1e-3)
    assert ((valid[0] >= 0.95 * tiles * 64 * 64) & (valid[0] <= tiles * 64 * 64 * 1.0001)).all()
    # the scores tell a good fill from a poor one, in every column
    assert (table["rmse_hidden"] < 0.5 * poor["rmse_hidden"]).all()
    assert (table["rmse_hidden_units"] < 0.5 * poor["rmse_hidden_units"]).all()
    assert (table["mae_units"] < poor["mae_units"]).all()
    assert (table["ssim"] > poor["ssim"]).all() and (table["ssim"] <= 1).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fill_matches_cpu(sst_image):
    model = sstfill.load_model(sstfill.Inpainter.from_preset("fast").save("/tmp/_sstfill_gpu_test.npz"))
    gappy, _ = sst_image.inpaint.add_holes("clouds", fraction=0.4, seed=0)
    cpu = gappy.inpaint.fill(model, device="cpu")
    gpu = gappy.inpaint.fill(model, device="cuda")
    np.testing.assert_allclose(gpu.values, cpu.values, atol=0.05, equal_nan=True)


def test_cuda_request_without_cuda_falls_back_with_a_warning():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.warns(RuntimeWarning, match="CUDA was requested"):
        model = sstfill.Inpainter.from_preset("fast").to("cuda")
    assert model.device.type == "cpu"


def test_resume_refuses_another_models_checkpoint_and_a_plain_model_file(tmp_path):
    """resume= takes a checkpoint of the same model; anything else is named, not a torch traceback."""
    from sstfill.training.checkpoints import RunState, save_checkpoint

    sst = xr.open_dataset(DATA / "sample_ersst_pacific.nc").sst  # real ERSST, int16 packed on disk
    fast = sstfill.Inpainter.from_preset("fast")  # what a run of preset="fast" checkpoints after its first epoch
    ck = save_checkpoint(tmp_path / "ck.npz", fast, torch.optim.Adam(fast.generator.parameters()),
                         torch.optim.Adam(fast.discriminator.parameters()), RunState(history={"epoch": [0], "val_loss": [0.5]}))
    kw = dict(epochs=2, steps_per_epoch=1, batch_size=4, max_tiles=12, device="cpu", progress=False)
    with pytest.raises(ModelMismatchError, match=r"another model \(preset='fast'\): widths \[16, 32, 48\] \(checkpoint\) vs \[32, 64, 96\] \(this run\)"):
        sst.inpaint.train(**kw, preset="default", resume=ck)
    with pytest.raises(ModelFileError, match="not a training checkpoint.*pass it as init="):
        sst.inpaint.train(**kw, preset="fast", resume=DATA / "fast_model.npz")


def test_too_few_rows_to_split_says_how_many_steps_and_the_split_it_needs(mur):
    """Two real MUR days of 192 rows: a split by time needs 3 steps, bands of rows need 64 rows each."""
    ds = mur.to_dataset()
    with pytest.raises(sstfill.errors.InputDataError, match=r"has 2 time steps \(a split by time needs 3 or more\) of 192 rows") as auto:
        ds.inpaint.train("analysed_sst", preset="fast", epochs=1, progress=False)
    assert "Train on 3 or more time steps" in str(auto.value)
    with pytest.raises(sstfill.errors.InputDataError, match="has 2 images of 192 rows") as space:
        ds.inpaint.train("analysed_sst", preset="fast", split_by="space", epochs=1, progress=False)
    assert "Use a larger region (more rows)" in str(space.value) and "time steps" not in str(space.value)


def test_settings_that_are_not_model_settings_are_named_with_the_ones_that_are():
    """train(adversarial_wieght=0.5) failed with ModelConfig.__init__()'s TypeError, which names no valid setting."""
    ds = synthetic_sst(128, 128, nt=6).to_dataset()
    with pytest.raises(TypeError, match="not model settings: adversarial_wieght.*fields of ModelConfig: .*adversarial_weight"):
        ds.inpaint.train("sst", preset="fast", epochs=1, progress=False, adversarial_wieght=0.5)


@pytest.mark.parametrize("size", [64, 96, 190])  # 190: a mask whose pixels are no whole number of bytes
def test_the_hole_bank_holds_its_masks_packed_and_gives_them_back_exactly(size):
    from sstfill.training.banks import HoleBank, flip_rotate
    from sstfill.training.windows import draw_window_holes

    settings = TrainSettings(holes=("clouds", "squares"), seed=4)
    bank = HoleBank(300, size, settings, torch.device("cpu"), np.random.default_rng(7), draw=draw_window_holes)
    reference = draw_window_holes(300, size, settings.holes, settings.hole_fraction, np.random.default_rng(7))  # the same draws, as bools
    assert bank.packed.dtype == torch.uint8 and bank.packed.numel() == 300 * -(-size * size // 8)  # one bit a pixel
    for seed in range(3):
        torch.manual_seed(seed)
        got = bank.sample(16, np.random.default_rng(seed))
        torch.manual_seed(seed)
        idx = np.random.default_rng(seed).integers(0, 300, 16)
        expected = flip_rotate(torch.from_numpy(reference[idx]))
        assert got.dtype == torch.bool and torch.equal(got, expected)
    from sstfill.training.banks import unpack_bits  # a GPU unpacks by shifts: the same masks

    assert torch.equal(unpack_bits(bank.packed, size * size, by_shifts=True), unpack_bits(bank.packed, size * size, by_shifts=False))
    assert torch.equal(unpack_bits(bank.packed, size * size), torch.from_numpy(reference.reshape(300, -1)))
    bank.refresh(1)  # the masks redrawn for an epoch are packed the same way
    rng = np.random.default_rng([settings.seed, 1, 7])
    where = rng.choice(300, 300, replace=False)
    reference[where] = draw_window_holes(300, size, settings.holes, settings.hole_fraction, rng)
    torch.manual_seed(0)
    got = bank.sample(32, np.random.default_rng(9))
    torch.manual_seed(0)
    assert torch.equal(got, flip_rotate(torch.from_numpy(reference[np.random.default_rng(9).integers(0, 300, 32)])))
