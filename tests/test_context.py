"""Models with context: a window around each tile and the same tile at neighbouring days (issue 14).

Real data: the bundled MUR L4 crop (two held-out days of the Southern California Bight).
The models are small and untrained but with non-zero weights on every input channel, so
any input that reaches the network changes the fill.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

import sstfill
from sstfill.kernels.windows import TileSource, TimeContext, neighbour_steps
from sstfill.models.networks import ModelConfig
from sstfill.testing import synthetic_sst
from sstfill.training.trainer import TrainSettings, fit, grow_inputs, uses_context
from sstfill.training.windows import draw_window_holes, window_bank

CONTEXT_INPUTS = ("field", "mask", "first_guess", "wide_guess", "wide_fraction", "neighbours")


def context_model(margin: int = 32, offsets: tuple[float, ...] = (-1.0, 1.0), seed: int = 0) -> sstfill.Inpainter:
    torch.manual_seed(seed)
    inputs = CONTEXT_INPUTS if offsets else tuple(c for c in CONTEXT_INPUTS if c != "neighbours")
    cfg = ModelConfig(widths=(8, 16), convs_per_level=1, inputs=inputs, context_margin=margin, time_offsets=offsets)
    model = sstfill.Inpainter(cfg, preset="test")
    torch.nn.init.normal_(model.generator.head.weight, std=0.3)  # the residual head starts at 0: wake it
    return model.to("cpu", precision="float32")


@pytest.fixture(scope="module")
def gappy(mur: xr.DataArray) -> xr.DataArray:
    holes = mur.inpaint.add_holes(kind="clouds", fraction=0.5, seed=3)[0]
    return holes


def test_neighbour_steps_follow_time_not_index() -> None:
    # a missing day and two scenes on one day: neighbours are the nearest steps within half a day
    days = np.array([0.0, 1.0, 1.2, 3.0, 4.1])
    steps = neighbour_steps(days, (-1.0, 1.0))
    assert steps[0].tolist() == [-1, 1]  # day 1 (not the 1.2 scene: farther from +1)
    assert steps[3].tolist() == [-1, 4]  # day 2 is missing; 4.1 is within half a day of 4
    assert steps[2].tolist() == [0, -1]  # 1.2 - 1 = 0.2 -> step 0; 2.2 has nothing
    assert (steps != np.arange(len(days))[:, None]).all()  # never the step itself


def test_neighbour_steps_of_a_long_archive_take_little_memory_and_follow_the_definition() -> None:
    import tracemalloc

    def by_definition(days: np.ndarray, offsets: tuple[float, ...]) -> np.ndarray:  # all pairs: n x n
        out = np.full((len(days), len(offsets)), -1)
        for j, offset in enumerate(offsets):
            gap = np.abs(days[None, :] - (days[:, None] + offset))
            np.fill_diagonal(gap, np.inf)
            nearest = gap.argmin(axis=1)
            ok = gap[np.arange(len(days)), nearest] <= 0.5
            out[ok, j] = nearest[ok]
        return out

    rng = np.random.default_rng(0)
    # irregular: hours, ties at exactly half a day, duplicated and unsorted steps, missing days
    days = np.concatenate([rng.integers(0, 120, 300) * 0.25, np.arange(0.0, 40.0), [3.5, 3.5, 7.0]])[rng.permutation(343)]
    for offsets in [(-2.0, -1.0, 1.0, 2.0), (-0.25, 0.0, 0.5, 1.5)]:
        np.testing.assert_array_equal(neighbour_steps(days, offsets), by_definition(days, offsets))
    archive = np.arange(6000.0) + rng.uniform(-0.2, 0.2, 6000)  # 16 years of daily maps
    tracemalloc.start()
    steps = neighbour_steps(archive, (-2.0, -1.0, 1.0, 2.0))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2**20, peak  # not n x n (288 MB a matrix)
    np.testing.assert_array_equal(steps[100:103], [[98, 99, 101, 102], [99, 100, 102, 103], [100, 101, 103, 104]])


def test_time_context_blocks_map_to_global_steps() -> None:
    steps = neighbour_steps(np.arange(6.0), (-2.0, -1.0, 1.0))
    ctx = TimeContext(0, steps, (2, 2, 2))
    assert ctx.depth == 2
    nb, targets = ctx.for_block((4,), 2, (0, 2))  # a block of steps 2-5, steps 2-3 to fill
    # block-relative: image k is step 2 + k; its neighbours are k-2, k-1, k+1 when inside the block
    assert nb[0].tolist() == [-1, -1, 1]
    assert nb[2].tolist() == [0, 1, 3]
    assert nb[3].tolist() == [1, 2, -1]
    assert targets.tolist() == [True, True, False, False]


def test_tile_source_cuts_windows_and_neighbours_like_slicing() -> None:
    rng = np.random.default_rng(0)
    images = rng.normal(size=(3, 50, 70)).astype("float32")
    oy, ox = np.array([-10, 20]), np.array([0, 40])
    src = TileSource(images, oy, ox, tile=16, margin=8)
    win = src[np.array([src.shape3[1] * src.shape3[2] * 2 + 3])]  # image 2, tile (1, 1)
    np.testing.assert_array_equal(win[0], images[2, 20 - 8 : 20 + 24, 40 - 8 : 40 + 24])
    nb = src.neighbours(np.array([1]), np.array([[2, -1]]))  # image 0, tile (0, 1), at image 2 and none
    assert np.isnan(nb[0, 0, :10]).all()  # rows above the image
    np.testing.assert_array_equal(nb[0, 0, 10:], images[2, 0:6, 40:56])
    assert np.isnan(nb[0, 1]).all()


def test_context_fill_keeps_observed_pixels_and_is_chunk_independent(gappy: xr.DataArray) -> None:
    model = context_model()
    whole = gappy.inpaint.fill(model, max_distance=None).values
    chunked = gappy.chunk({"time": 1, "lat": 96, "lon": 100}).inpaint.fill(model, max_distance=None).values
    np.testing.assert_array_equal(whole, chunked)  # time halo and space halo: same bits
    observed = np.isfinite(gappy.values)
    np.testing.assert_array_equal(whole[observed], gappy.values[observed])
    land = np.isnan(gappy.values).all(axis=0) & np.isnan(gappy.values).all(axis=0)
    assert np.isfinite(whole[:, ~land]).all()


def test_a_lazy_daily_series_in_one_step_chunks_reads_only_the_steps_near_the_one_computed() -> None:
    # a 16-day archive opened lazily, one day a chunk: each block gets a halo of 2 days (the model's window), and the
    # neighbouring days' guess reads the days within 5: not the whole archive
    import dask.array as dsk

    gappy = synthetic_sst(64, 80, nt=16, seed=4).inpaint.add_holes("clouds", fraction=0.4, seed=5)[0]
    values, read = gappy.values, []

    def load(block: np.ndarray, block_info: dict) -> np.ndarray:
        (t0, t1), *_ = block_info[None]["array-location"]
        read.extend(range(t0, t1))
        return values[t0:t1]

    lazy = gappy.copy(data=dsk.map_blocks(load, dsk.zeros(values.shape, chunks=(1, 64, 80), dtype=values.dtype), dtype=values.dtype))
    filled = lazy.inpaint.fill(context_model(offsets=(-2.0, -1.0, 1.0, 2.0)), land=None, max_distance=None)
    assert filled.chunks[0] == (1,) * 16  # the input's chunks
    day = filled.isel(time=8).compute(scheduler="sync")
    assert set(read) <= set(range(3, 14)), sorted(set(read))  # step 8 and the steps within 5 days
    whole = gappy.inpaint.fill(context_model(offsets=(-2.0, -1.0, 1.0, 2.0)), land=None, max_distance=None)
    np.testing.assert_array_equal(day.values, whole.values[8])
    np.testing.assert_array_equal(day["sst_error"].values, whole["sst_error"].values[8])


def test_neighbouring_day_changes_the_fill_and_single_images_still_work(mur: xr.DataArray, gappy: xr.DataArray) -> None:
    model = context_model()
    land = mur.isnull().all("time")  # MUR: land is NaN on every day
    series = gappy.inpaint.fill(model, land=land, max_distance=None)
    alone = gappy.isel(time=[1]).inpaint.fill(model, land=land, max_distance=None)
    hidden = np.isnan(gappy.values[1]) & ~land.values
    assert np.isfinite(series.values[1][hidden]).all() and np.isfinite(alone.values[0][hidden]).all()
    assert np.abs(series.values[1][hidden] - alone.values[0][hidden]).max() > 1e-2  # day 0 reached the fill of day 1
    # the same step two days away is no neighbour at offsets +-1: the model's fill is that of the image alone (the
    # neighbouring days' guess, which reaches 5 days, is left out here)
    far = gappy.assign_coords(time=[gappy.time.values[0] - pd.Timedelta(days=2), gappy.time.values[1]])
    with pytest.warns(UserWarning, match="3 days apart, so no step has a neighbour"):  # and the user is told why
        np.testing.assert_array_equal(far.inpaint.fill(model, land=land, max_distance=None, persistence=False).values[1], alone.values[0])
    one_image = gappy.isel(time=1).inpaint.fill(model, land=land, max_distance=None)  # no time axis at all
    np.testing.assert_array_equal(one_image.values, alone.values[0])


def test_a_numeric_time_coordinate_counts_in_its_units(mur: xr.DataArray, gappy: xr.DataArray) -> None:
    # a file opened with decode_times=False (or a time xarray cannot decode) keeps its numbers and their CF units;
    # the neighbours used to be one day per step whatever the numbers said
    model = context_model()
    land = mur.isnull().all("time")
    decoded = gappy.inpaint.fill(model, land=land, max_distance=None)
    first = str(gappy.time.values[0])[:19]
    hours = (gappy.time.values - gappy.time.values[0]) / np.timedelta64(1, "h")
    raw = gappy.assign_coords(time=("time", hours, {"units": f"hours since {first}"}))
    np.testing.assert_array_equal(raw.inpaint.fill(model, land=land, max_distance=None).values, decoded.values)  # the same neighbours
    alone = gappy.isel(time=[1]).inpaint.fill(model, land=land, max_distance=None).values[0]
    for apart in (raw.assign_coords(time=("time", 2 * hours, {"units": f"hours since {first}"})),  # 2 days apart: no neighbour at +-1 day
                  raw.assign_coords(time=("time", [0.0, 2.0], {"units": "days"})),
                  raw.assign_coords(time=("time", [0.0, 1.0], {"units": "months since 2021-01-01"}))):  # no dates in the standard calendar: mean months
        with pytest.warns(UserWarning, match="no step has a neighbour"):  # (the neighbouring days' guess reaches 2 days: off here)
            np.testing.assert_array_equal(apart.inpaint.fill(model, land=land, max_distance=None, persistence=False).values[1], alone)
    # the guess counts in the units too: 2 days apart is within its window, a month is not
    months = raw.assign_coords(time=("time", [0.0, 1.0], {"units": "months since 2021-01-01"}))
    with pytest.warns(UserWarning, match="no step has a neighbour"):
        np.testing.assert_array_equal(months.inpaint.fill(model, land=land, max_distance=None).values[1], alone)
    two_days = raw.assign_coords(time=("time", 2 * hours, {"units": f"hours since {first}"}))
    with pytest.warns(UserWarning, match="no step has a neighbour"):
        assert not np.array_equal(two_days.inpaint.fill(model, land=land, max_distance=None).values[1], alone, equal_nan=True)


def test_wide_context_fills_a_tile_without_data_of_its_own(mur: xr.DataArray) -> None:
    # a 160 x 160 hole: tiles inside it have no observation, their windows (64 px wider) do
    image = mur.isel(time=0).copy()
    sea = np.isfinite(image.values)
    image.values[16:176, 60:220] = np.nan
    model = context_model(margin=64, offsets=())
    land = mur.isnull().all("time")
    filled = image.inpaint.fill(model, land=land, fallback=False, max_distance=None)
    hole = np.zeros(sea.shape, bool)
    hole[16:176, 60:220] = True
    assert np.isfinite(filled.values[hole & sea]).all()  # no harmonic fallback needed
    plain = sstfill.Inpainter.from_preset("fast").to("cpu")
    without = image.inpaint.fill(plain, land=land, fallback=False, max_distance=None)
    assert np.isnan(without.values[hole & sea]).any()  # a model without context leaves the middle


def test_window_bank_samples_neighbours_from_training_steps_only(mur: xr.DataArray) -> None:
    days = np.array([0.0, 1.0])
    bank = window_bank([(mur.values, days)], (-1.0, 1.0), tile=64, margin=32, stride=32, min_valid=0.6, steps=[[1]])
    assert len(bank) and (bank.index[:, 1] == 1).all()
    s = bank.gather(np.arange(len(bank)))
    _, t, y, x = bank.index[0]
    padded = np.pad(mur.values, ((0, 0), (32, 32), (32, 32)), constant_values=np.nan)
    np.testing.assert_array_equal(s[0, 0], padded[1, y : y + 128, x : x + 128])
    np.testing.assert_array_equal(s[0, 1], padded[0, y : y + 128, x : x + 128])  # day -1 is step 0
    assert np.isnan(s[:, 2]).all()  # day +1 does not exist


def test_window_holes_include_clouds_wider_than_a_tile() -> None:
    holes = draw_window_holes(60, 192, ("clouds",), (0.6, 0.9), np.random.default_rng(0))
    from scipy import ndimage

    widest = max(max(b[1].stop - b[1].start for b in ndimage.find_objects(ndimage.label(h)[0])) for h in holes)
    assert widest > 64


def test_grown_model_predicts_like_its_base_until_trained(mur: xr.DataArray) -> None:
    base = sstfill.Inpainter.from_preset("fast")
    torch.manual_seed(1)
    for p in base.generator.parameters():
        torch.nn.init.normal_(p, std=0.05)
    base.to("cpu", precision="float32")
    config = ModelConfig(**{**base.config.to_dict(), "inputs": CONTEXT_INPUTS, "context_margin": 32, "time_offsets": (-1.0, 1.0)})
    grown = grow_inputs(base, config).to("cpu", precision="float32")
    rng = np.random.default_rng(0)
    day = mur.values[1].copy()
    day[:, :192][draw_window_holes(1, 192, ("clouds",), (0.4, 0.4), rng)[0]] = np.nan
    windows = np.stack([day[y : y + 128, x : x + 128] for y in (0, 64) for x in (0, 64, 128)]).astype("float32")
    tiles = windows[:, 32:96, 32:96]
    assert (np.isfinite(tiles).sum(axis=(1, 2)) >= 64).all()  # normalised over the tile itself, as the base does
    neighbours = np.stack([mur.values[0, y + 32 : y + 96, x + 32 : x + 96] for y in (0, 64) for x in (0, 64, 128)])[:, None].repeat(2, axis=1)
    expected = base.predict_tiles(tiles, np.isfinite(tiles))
    got = grown.predict_tiles(windows, np.isfinite(windows), neighbours.astype("float32"))
    np.testing.assert_allclose(got, expected, atol=1e-4)
    trained_like = grow_inputs(base, config)
    with torch.no_grad():
        trained_like.generator.encoders[0][0].weight[:, 3:] += 0.1  # once the new channels have weight, they count
    assert np.abs(trained_like.to("cpu", precision="float32").predict_tiles(windows, np.isfinite(windows), neighbours.astype("float32")) - expected).max() > 1e-3


def test_training_with_context_learns_from_window_samples(mur: xr.DataArray) -> None:
    model = context_model(seed=2)
    assert uses_context(model)
    bank = window_bank([(mur.values, np.array([0.0, 1.0]))], model.config.time_offsets, tile=64, margin=32, stride=32, min_valid=0.6)
    train, val = bank.subset(np.arange(0, len(bank), 2)), bank.subset(np.arange(1, len(bank), 2))
    torch.set_num_threads(1)
    fit(model, train, val, TrainSettings(epochs=2, batch_size=8, steps_per_epoch=3, hole_bank=32), device="cpu", progress=False)
    assert len(model.history["val_loss"]) == 2 and np.isfinite(model.history["val_loss"]).all()
    # plain tiles train a context model too (nothing is known around them)
    tiles = np.stack([mur.values[0, 64:128, 64:128], mur.values[1, 64:128, 128:192]]).astype("float32")
    fit(model, tiles, tiles, TrainSettings(epochs=1, batch_size=2, steps_per_epoch=1, hole_bank=8), device="cpu", progress=False)


def test_bundled_context_model_fills_a_day_better_with_its_neighbouring_day(mur: xr.DataArray) -> None:
    land = mur.isnull().all("time")
    day1, hidden = mur.isel(time=[1]).inpaint.add_holes("clouds", fraction=0.5, seed=5, land=land)
    series = xr.concat([mur.isel(time=[0]), day1], dim="time")  # day 0 clear, day 1 under clouds
    with_day0 = series.inpaint.fill("context", land=land, max_distance=None, precision="float32").values[1]
    alone = day1.inpaint.fill("context", land=land, max_distance=None, precision="float32").values[0]
    h = hidden.values[0]
    truth = mur.values[1][h]
    rmse_series = float(np.sqrt(np.mean((with_day0[h] - truth) ** 2)))
    rmse_alone = float(np.sqrt(np.mean((alone[h] - truth) ** 2)))
    assert rmse_series < 0.8 * rmse_alone, (rmse_series, rmse_alone)


def test_a_nearly_uniform_tile_is_normalised_by_its_window_not_blown_up(mur: xr.DataArray) -> None:
    # a 192-px window of the real crop whose 64-px tile shows one 9 x 9 patch (81 pixels, enough
    # for the tile's own statistics): that patch varies 0.12 degC, the window 0.43 degC
    from sstfill.models.networks import PRESETS, normalise_tiles
    from sstfill.models.store import bundled_model_path

    window = mur.values[0, :, :192].astype("float32")
    observed = np.isfinite(window)
    observed[64:128, 64:128] = False
    observed[100:109, 70:79] = True
    values, obs = torch.from_numpy(np.nan_to_num(window))[None], torch.from_numpy(observed)[None]
    patch, context = window[100:109, 70:79], window[observed]
    _, _, own = normalise_tiles(values, obs, 0.05, 64)
    norm, _, floored = normalise_tiles(values, obs, 0.05, 64, window_std_floor=1.0)
    assert float(own) == pytest.approx(patch.std(), rel=1e-4)  # the tile's own spread: the window spans 13 of them
    assert float(floored) == pytest.approx(context.std(), rel=1e-4)
    assert float(norm.abs().max()) < 5 < float(normalise_tiles(values, obs, 0.05, 64)[0].abs().max())
    # the context preset and the bundled context model use it; older configurations keep the tile's own
    assert ModelConfig(**PRESETS["context"]).window_std_floor == 1.0
    assert sstfill.load_model(bundled_model_path("context")).config.window_std_floor == 1.0
    old = {k: v for k, v in ModelConfig(**PRESETS["context"]).to_dict().items() if k != "window_std_floor"}
    assert ModelConfig.from_dict(old).window_std_floor == 0.0


@pytest.mark.parametrize("factor", [2, 3, 4, 8])
def test_wide_view_interpolates_only_the_cells_the_tile_needs(mur: xr.DataArray, factor: int) -> None:
    # sstfill.models.networks.wide_view upsamples only the coarse cells around the tile: the
    # same channels as upsampling the whole window and cropping (bit for bit where the
    # factor is a power of 2, to float32 rounding otherwise), on real windows with real gaps
    import dataclasses

    import torch.nn.functional as F

    from sstfill.models.harmonic import harmonic_fill
    from sstfill.models.networks import wide_view

    cfg = dataclasses.replace(context_model(margin=64, offsets=()).config, wide_factor=factor)
    holes = mur.inpaint.add_holes(kind="clouds", fraction=0.6, seed=5)[0].values
    windows = np.stack([holes[t, y : y + 192, x : x + 192] for t in range(len(holes)) for y, x in ((0, 0), (0, 64))])
    observed = torch.from_numpy(np.isfinite(windows))
    norm = torch.from_numpy(np.nan_to_num(windows - np.nanmean(windows)).astype("float32"))
    assert 0.2 < float(observed.float().mean()) < 0.8

    obs = observed.float().unsqueeze(1)
    fraction = F.avg_pool2d(obs, factor)
    coarse = torch.where(fraction > 0, F.avg_pool2d(norm.unsqueeze(1) * obs, factor) / fraction.clamp_min(1e-6), torch.zeros_like(fraction))
    guess = harmonic_fill(coarse.squeeze(1), (fraction > 0).squeeze(1), cfg.first_guess_iterations).unsqueeze(1)
    whole = F.interpolate(torch.cat([guess, fraction], dim=1), scale_factor=factor, mode="bilinear", align_corners=False)[..., 64:128, 64:128]

    got = wide_view(norm, observed, cfg)
    for channel, expected in zip(got, (whole[:, 0], whole[:, 1])):
        assert channel.shape == (len(windows), 64, 64)
        if factor & (factor - 1) == 0:
            assert torch.equal(channel, expected)
        else:
            torch.testing.assert_close(channel, expected, rtol=0, atol=1e-5)
