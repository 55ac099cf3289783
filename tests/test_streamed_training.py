"""Training from an archive larger than memory: samples read a pool of steps at a time (issue 16).

A dask-backed field whose padded images exceed ``SAMPLES_IN_MEMORY_BYTES`` is never read
whole to train on: its samples come from a :class:`StreamedWindowBank` that holds a few
steps. The limit is lowered here so that a small synthetic series (fronts, eddies, real
cloud shapes) streams; the samples must be the in-memory bank's, row for row.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

import sstfill
import sstfill.xr.samples as samples_module
from sstfill.models.networks import ModelConfig
from sstfill.testing import synthetic_sst
from sstfill.training.windows import StreamedWindowBank, WindowBank, window_bank

SPATIAL = ("lat", "lon")
#: Images (padded by the margin below) the lowered limit lets a set of whole images hold.
HELD = 5
MARGIN = 32
LIMIT = HELD * 4 * (160 + 2 * MARGIN) * (128 + 2 * MARGIN)


def small_context_model(seed: int = 0) -> sstfill.Inpainter:
    torch.manual_seed(seed)
    cfg = ModelConfig(widths=(8, 16), convs_per_level=1, inputs=("field", "mask", "first_guess", "wide_guess", "wide_fraction", "neighbours"),
                      context_margin=MARGIN, time_offsets=(-1.0, 1.0))
    return sstfill.Inpainter(cfg, preset="test").to("cpu", precision="float32")


@pytest.fixture(scope="module")
def archive() -> xr.DataArray:
    """A 12-day series under real-shaped clouds, lazy, one day a chunk."""
    gappy, _ = synthetic_sst(160, 128, nt=12, seed=7).inpaint.add_holes("clouds", fraction=0.35, seed=8)
    return gappy.chunk({"time": 1})


@pytest.fixture
def low_limit(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Lower the limit to ``HELD`` whole padded images; record the bytes (padded float32) of each read."""
    monkeypatch.setattr(samples_module, "SAMPLES_IN_MEMORY_BYTES", LIMIT)
    asked: list[int] = []
    read = samples_module._read_steps

    def recording(images: xr.DataArray, steps: np.ndarray) -> np.ndarray:
        asked.append(len(steps) * 4 * (images.shape[-2] + 2 * MARGIN) * (images.shape[-1] + 2 * MARGIN))
        return read(images, steps)

    monkeypatch.setattr(samples_module, "_read_steps", recording)
    return asked


def test_streamed_samples_are_the_in_memory_ones_and_few_steps_are_held(archive: xr.DataArray, low_limit: list[int]) -> None:
    config = small_context_model().config
    cut = dict(split=(0.75, 0.25, 0.0), tile=64, stride=32, min_valid=0.5, context=config)
    streamed, _, _, _ = samples_module.tiles_from_dataarray(archive, SPATIAL, **cut)
    assert isinstance(streamed, StreamedWindowBank) and streamed.capacity == HELD
    assert low_limit and max(low_limit) <= LIMIT  # never more than the limit in one read
    eager, _, _, _ = samples_module.tiles_from_dataarray(archive.compute(), SPATIAL, **cut)  # numpy input: held whole
    assert isinstance(eager, WindowBank) and len(eager) == len(streamed) > 50
    rows = np.random.default_rng(0).permutation(len(eager))
    np.testing.assert_array_equal(streamed.gather(rows), eager.gather(rows))  # NaN where the same nothing is known
    assert streamed.most_held <= HELD and max(low_limit) <= LIMIT

    # an epoch pool by pool: every sample once, each image read about once (not once per batch)
    streamed.reads = 0
    batches = streamed.epoch_batches(8, np.random.default_rng(1), None)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(len(streamed)))
    for idx in batches:
        streamed.gather(idx)
    steps_trained = len(np.unique(streamed.index[:, 1]))
    assert streamed.reads <= 2 * steps_trained, (streamed.reads, steps_trained)
    drawn = streamed.epoch_batches(8, np.random.default_rng(2), 6)  # with steps_per_epoch: 6 batches drawn
    assert [len(b) for b in drawn] == [8] * 6 and all(len(np.unique(streamed.index[b, 1])) <= HELD for b in drawn)


def test_a_small_or_in_memory_field_is_held_whole(archive: xr.DataArray) -> None:
    config = small_context_model().config
    train, _, _, _ = samples_module.tiles_from_dataarray(archive, SPATIAL, split=(0.75, 0.25, 0.0), context=config, min_valid=0.5)
    assert isinstance(train, WindowBank)  # 12 small images: under the limit, read once


@pytest.mark.slow
def test_adapting_on_a_lazy_archive_streams_its_samples_and_learns(archive: xr.DataArray, low_limit: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    import sstfill.xr.training as training_module

    monkeypatch.setattr(training_module, "MAX_ADAPTING_VALIDATION_SAMPLES", 12)  # adapting keeps fewer validation samples
    torch.set_num_threads(1)
    start = small_context_model(seed=3)
    model = archive.to_dataset(name="sst").inpaint.train(var="sst", init=start, epochs=3, steps_per_epoch=4, batch_size=8, progress=False)
    assert low_limit and max(low_limit) <= LIMIT  # the training set never read more than the limit's steps at once
    history = model.history
    assert "validation on 12 of its" in history["split"] and history["tiles"][1] == 12
    assert len(history["val_loss"]) == 3 and np.isfinite(history["val_loss"]).all() and np.isfinite(history["train_loss"]).all()
    assert np.isfinite(history["val_fill_rmse"]).all()
    filled = archive.isel(time=slice(0, 3)).inpaint.fill(model, land=None)
    observed = archive.isel(time=slice(0, 3)).notnull().values
    np.testing.assert_array_equal(filled.values[observed], archive.isel(time=slice(0, 3)).values[observed])


def test_samples_are_exactly_the_tiles_observed_enough(archive: xr.DataArray) -> None:
    # the observed fraction of each tile from a summed-area table, checked against the tiles themselves
    images = archive.isel(time=slice(0, 3)).values
    for tile, stride, least in ((64, 32, 0.5), (32, 8, 0.65)):
        bank = window_bank([(images, np.arange(3.0))], (), tile=tile, margin=0, stride=stride, min_valid=least)
        expected = [(t, y, x) for t in range(3) for y in range(0, images.shape[1] - tile + 1, stride) for x in range(0, images.shape[2] - tile + 1, stride)
                    if np.isfinite(images[t, y : y + tile, x : x + tile]).mean() >= least]
        assert [tuple(row) for row in bank.index[:, 1:].tolist()] == expected and len(expected) > 10


def test_validation_and_test_sets_keep_a_seeded_sample_of_at_most_max_validation(archive: xr.DataArray) -> None:
    config = small_context_model().config
    cut = dict(split=(0.5, 0.25, 0.25), tile=64, stride=16, min_valid=0.5, context=config, seed=3)
    _, val, test, how = samples_module.tiles_from_dataarray(archive, SPATIAL, **cut)
    assert len(val) > 40 and len(test) > 40 and "of its" not in how
    _, few_val, few_test, few_how = samples_module.tiles_from_dataarray(archive, SPATIAL, max_validation=40, **cut)
    assert len(few_val) == len(few_test) == 40
    assert f"validation on 40 of its {len(val)} samples" in few_how and f"test on 40 of its {len(test)} samples" in few_how
    kept = [np.flatnonzero((val.index == row).all(axis=1))[0] for row in few_val.index]  # drawn from the full set, in order
    assert kept == sorted(kept) and len(set(kept)) == 40
    np.testing.assert_array_equal(few_val.gather(np.arange(40)), val.gather(np.array(kept)))
    again = samples_module.tiles_from_dataarray(archive, SPATIAL, max_validation=40, **cut)[1]
    np.testing.assert_array_equal(again.index, few_val.index)  # seeded: the same sample every run


def small_plain_config() -> ModelConfig:
    """A model that sees its tiles alone (like the ``fast`` and ``report`` presets): no margin, no neighbours."""
    return ModelConfig(widths=(8, 16), convs_per_level=1)


def test_plain_tiles_of_a_large_archive_stream_and_are_the_tiles_cut_whole(archive: xr.DataArray, low_limit: list[int]) -> None:
    # a model without context used to cut every tile of the archive into memory, (64 / 32)**2 = 4 times its images
    cut = dict(split=(0.5, 0.25, 0.25), tile=64, stride=32, min_valid=0.5, context=small_plain_config())
    train, val, test, _ = samples_module.tiles_from_dataarray(archive, SPATIAL, **cut)
    assert isinstance(train, StreamedWindowBank) and train.margin == 0 and train.shape[1:] == (1, 64, 64)
    assert low_limit and max(low_limit) <= LIMIT
    eager = samples_module.tiles_from_dataarray(archive.compute(), SPATIAL, **cut)  # numpy input: cut whole, as before
    assert all(isinstance(tiles, np.ndarray) and tiles.ndim == 3 for tiles in eager[:3])
    np.testing.assert_array_equal(train.gather(np.arange(len(train)))[:, 0], eager[0])  # the same tiles, in the same order
    assert len(eager[0]) > 50 and train.most_held <= LIMIT // (4 * 160 * 128)
    for streamed_set, whole in zip((val, test), eager[1:3]):  # validation and test: tiles, as the model scores them
        assert isinstance(streamed_set, np.ndarray)
        np.testing.assert_array_equal(streamed_set, whole)
    few = samples_module.tiles_from_dataarray(archive, SPATIAL, max_tiles=20, **cut)[0]
    few_whole = samples_module.tiles_from_dataarray(archive.compute(), SPATIAL, max_tiles=20, **cut)[0]
    np.testing.assert_array_equal(few.gather(np.arange(20))[:, 0], few_whole)  # max_tiles keeps the same random subset


def test_plain_tiles_of_a_small_lazy_field_are_cut_whole(archive: xr.DataArray) -> None:
    train, val, _, _ = samples_module.tiles_from_dataarray(archive, SPATIAL, split=(0.75, 0.25, 0.0), context=small_plain_config(), min_valid=0.5)
    assert isinstance(train, np.ndarray) and isinstance(val, np.ndarray)  # 12 small images: under the limit


@pytest.mark.slow
def test_training_a_plain_model_on_a_lazy_archive_streams_its_tiles_and_learns(archive: xr.DataArray, low_limit: list[int]) -> None:
    torch.set_num_threads(1)
    model = archive.to_dataset(name="sst").inpaint.train(var="sst", preset="fast", widths=(8, 16), epochs=3, steps_per_epoch=4, batch_size=8,
                                                         min_valid=0.5, progress=False)
    assert low_limit and max(low_limit) <= LIMIT  # never more than the limit's images at once
    history = model.history
    assert len(history["val_loss"]) == 3 and np.isfinite(history["val_loss"]).all() and np.isfinite(history["train_loss"]).all()
    assert history["val_loss"][-1] < history["val_loss"][0]  # it learns from the streamed tiles
    filled = archive.isel(time=slice(0, 2)).inpaint.fill(model, land=None)
    observed = archive.isel(time=slice(0, 2)).notnull().values
    np.testing.assert_array_equal(filled.values[observed], archive.isel(time=slice(0, 2)).values[observed])
    assert np.isfinite(filled.values).mean() > np.isfinite(archive.isel(time=slice(0, 2)).values).mean()


@pytest.mark.slow
def test_a_latent_models_whole_tiles_of_a_large_archive_stream_and_train_it(low_limit: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    # a latent (DCGAN) model trains on nearly whole tiles; they were always cut into memory, up to (64 / 32)**2 = 4 times a gap-free archive
    from sstfill.models.latent import LatentInpainter
    from sstfill.training.latent import MAX_MISSING

    clear = synthetic_sst(160, 128, nt=12, seed=3, land=False).chunk({"time": 1})
    cut = dict(split=(0.75, 0.25, 0.0), tile=64, stride=32, min_valid=1 - MAX_MISSING)
    train, val, _, _ = samples_module.tiles_from_dataarray(clear, SPATIAL, **cut)  # no context: a latent model's tiles
    assert isinstance(train, StreamedWindowBank) and train.margin == 0 and isinstance(val, np.ndarray)
    eager = samples_module.tiles_from_dataarray(clear.compute(), SPATIAL, **cut)
    np.testing.assert_array_equal(train.gather(np.arange(len(train)))[:, 0], eager[0])  # the tiles cut whole, row for row
    np.testing.assert_array_equal(val, eager[1])

    cut_whole: list[int] = []  # tiles of each set cut into memory
    cut_tiles = samples_module.cut_tiles_by_index

    def recording(*args: object, **kwargs: object) -> np.ndarray:
        cut_whole.append(len(tiles := cut_tiles(*args, **kwargs)))
        return tiles

    monkeypatch.setattr(samples_module, "cut_tiles_by_index", recording)
    low_limit.clear()
    model = clear.to_dataset(name="sst").inpaint.train("sst", method="latent", epochs=2, steps_per_epoch=3, batch_size=16, progress=False,
                                                      widths=(16, 16, 8, 8), z_dim=16, steps=10)
    assert isinstance(model, LatentInpainter) and low_limit  # trained from tiles read per pool of steps
    train_whole, val_whole, _, _ = samples_module.tiles_from_dataarray(clear.compute(), SPATIAL, **dict(cut, split=(0.8, 0.2, 0.0)))  # train()'s split
    assert cut_whole[:1] == [len(val_whole)] and model.history["tiles"] == [len(train_whole), len(val_whole)]  # only the 2 validation days cut whole
    assert np.isfinite(model.history["d_loss"]).all() and np.isfinite(model.history["val_rmse"]).all()
    gappy, hidden = clear.isel(time=slice(0, 1)).compute().inpaint.add_holes("squares", fraction=0.2, seed=0)
    filled = gappy.inpaint.fill(model, land=None)
    observed = np.isfinite(gappy.values)
    np.testing.assert_array_equal(filled.values[observed], gappy.values[observed])
    assert np.isfinite(filled.values[hidden.values]).all()
