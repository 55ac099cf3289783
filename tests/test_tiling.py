"""Tile plan, cutting and blending: every pixel covered, exact reassembly, chunk-invariance."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from sstfill.xr.dispatch import fill_array, fill_block
from sstfill.testing import IndexOracle, index_field
from sstfill.kernels.tiling import TilePlan, blend_tiles, cut_tiles


@pytest.mark.parametrize("tile,overlap", [(64, 16), (64, 0), (32, 8), (16, 12)])
def test_every_pixel_is_covered_by_the_lattice(tile, overlap):
    plan = TilePlan(tile, overlap)
    for start, stop in [(0, 1), (0, 150), (37, 211), (-63, 5)]:
        origins = plan.origins(start, stop)
        covered = np.zeros(stop - start, bool)
        for o in origins:
            covered[max(o, start) - start : min(o + tile, stop) - start] = True
        assert covered.all()
        # no useless tile: each touches [start, stop)
        assert ((origins + tile > start) & (origins < stop)).all()


def test_window_is_positive_and_a_partition_of_unity():
    plan = TilePlan(64, 16)
    w = plan.window()[0]  # one row of the separable window (centre row weight 1)
    w = w / w.max()
    assert (plan.window() > 0).all()
    # in the overlap, the right ramp of one tile plus the left ramp of the next sum to one
    np.testing.assert_allclose(w[plan.stride :] + w[: plan.overlap], 1.0, atol=1e-6)


@pytest.mark.parametrize("shape", [(150, 170), (3, 65, 129), (20, 30)])
def test_cut_and_blend_round_trip(shape):
    rng = np.random.default_rng(0)
    field = rng.normal(size=shape).astype("float32")
    plan = TilePlan(64, 16)
    oy, ox = plan.origins(0, shape[-2]), plan.origins(0, shape[-1])
    tiles = cut_tiles(field, oy, ox, plan.tile)
    weights = plan.window() * np.isfinite(tiles)
    back = blend_tiles(tiles, weights, oy, ox, shape[-2:])
    np.testing.assert_allclose(back, field, rtol=1e-6, atol=1e-6)


def _gappy_index_field(shape, seed=0, fraction=0.5):
    truth = index_field(shape)
    rng = np.random.default_rng(seed)
    field = truth.copy()
    field[rng.random(shape) < fraction] = np.nan
    field[..., 10:40, 20:90] = np.nan  # a big cloud
    return truth, field


@pytest.mark.parametrize("shape", [(150, 170), (2, 131, 197), (40, 50)])
def test_fill_with_oracle_reconstructs_exactly(shape):
    truth, field = _gappy_index_field(shape)
    out = fill_array(field, None, model=IndexOracle(), plan=TilePlan(64, 16), min_observed=0.0)
    np.testing.assert_array_equal(out, truth)


@pytest.mark.parametrize("chunks", [(75, 85), (64, 100), (70, (100, 70)), (149, 169)])
def test_dask_fill_with_ragged_chunks_equals_numpy(chunks):
    shape = (150, 170)
    truth, field = _gappy_index_field(shape, seed=1)
    plan = TilePlan(64, 16)
    lazy = fill_array(da.from_array(field, chunks=chunks), None, model=IndexOracle(), plan=plan, min_observed=0.0)
    np.testing.assert_array_equal(lazy.compute(scheduler="sync"), truth)


@pytest.mark.parametrize("chunks", [(1, 80, 60), (2, 150, 250)])
def test_periodic_fill_wraps_exactly(chunks):
    shape = (2, 90, 250)
    truth, field = _gappy_index_field(shape, seed=2)
    field[..., :, -20:] = np.nan  # a cloud astride the seam
    field[..., :, :15] = np.nan
    oracle = IndexOracle(period=shape[-1])
    kw = dict(model=oracle, plan=TilePlan(64, 16), periodic_x=True, min_observed=0.0)
    np.testing.assert_array_equal(fill_array(field, None, **kw), truth)
    lazy = fill_array(da.from_array(field, chunks=chunks), None, **kw)
    np.testing.assert_array_equal(lazy.compute(scheduler="sync"), truth)


def test_fill_block_keeps_observed_and_land():
    truth, field = _gappy_index_field((80, 90))
    land = np.zeros(field.shape, bool)
    land[:, 70:] = True
    field[:, 75:] = np.nan
    field[:, 70:75] = truth[:, 70:75]  # observed values on 'land' are data: kept as they are
    out = fill_block(field, land, model=IndexOracle(), plan=TilePlan(), min_observed=0.0)
    obs = np.isfinite(field)
    assert np.array_equal(out[obs].view("uint32"), field[obs].view("uint32"))
    assert np.isnan(out[land & ~obs]).all()
    assert np.isfinite(out[~land]).all()


def test_tiles_without_data_leave_pixels_not_filled_unless_fallback():
    from sstfill.models.harmonic import LaplaceFiller

    field = np.full((200, 200), np.nan, "float32")
    field[:20, :20] = 1.0
    out = fill_block(field, None, model=LaplaceFiller(), plan=TilePlan(), fallback=False)
    assert np.isfinite(out[:30, :30]).all()
    assert np.isnan(out[150:, 150:]).all()
    # with the fallback, the far corner is filled from the block (harmonic: the only value is 1)
    out = fill_block(field, None, model=LaplaceFiller(), plan=TilePlan())
    assert np.isfinite(out).all() and np.allclose(out, 1.0)


def test_fallback_fills_each_wide_cloud_from_its_own_surroundings():
    from sstfill.models.harmonic import LaplaceFiller

    field = np.where(np.arange(600) < 300, 1.0, 5.0).astype("float32")[None, :].repeat(400, 0)
    truth = field.copy()
    field[20:380, 20:280] = np.nan  # two clouds far wider than a tile's reach, one in each water mass
    field[20:380, 320:580] = np.nan
    no_fallback = fill_block(field, None, model=LaplaceFiller(), plan=TilePlan(), fallback=False)
    assert np.isnan(no_fallback[200, 150]) and np.isnan(no_fallback[200, 450])
    out = fill_block(field, None, model=LaplaceFiller(), plan=TilePlan())
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, truth, atol=1e-3)
    gap = np.isnan(field)
    np.testing.assert_array_equal(out[~gap], field[~gap])


def _wide_clouds(periodic: bool = False):
    """Synthetic SST (2, 300, 360 or 384 if periodic) with clouds far wider than a block's halo (and land unless periodic)."""
    from sstfill.testing import synthetic_sst

    if periodic:  # all ocean, periodic in x by mirroring; 384 = 8 tile strides, a periodic lattice
        half = synthetic_sst(300, 192, nt=2, seed=3, land=False).values
        values = np.concatenate([half, half[..., ::-1]], axis=-1).astype("float32")
    else:
        values = synthetic_sst(300, 360, nt=2, seed=3).values.astype("float32")
    land = np.isnan(values).all(axis=0)
    field = values.copy()
    field[0, 40:260, 100:300] = np.nan  # 220 x 200 px: wider than any tile's reach, across chunk borders
    field[1, 150:290, :120] = np.nan
    if periodic:
        field[1, 20:120, -90:] = np.nan  # astride the dateline, joined to nothing on the left
        field[1, 20:120, :60] = np.nan
    return field, land


@pytest.mark.parametrize("chunks", [(1, 150, 180), (2, 100, 120), (1, 300, 90), (2, 300, 360)])
def test_chunked_fill_equals_unchunked_bit_for_bit_with_wide_clouds(chunks):
    from sstfill.models.harmonic import LaplaceFiller

    field, land = _wide_clouds()
    kw = dict(model=LaplaceFiller(), plan=TilePlan(64, 16))
    whole = fill_array(field, land, **kw)
    assert np.isfinite(whole[:, ~land]).all() and np.isnan(whole[:, land & np.isnan(field).all(0)]).all()
    tiles_only = fill_array(field, land, fallback=False, **kw)
    assert np.isnan(tiles_only[0, 150, 200])  # the middle of the cloud is the fallback's
    lazy = fill_array(da.from_array(field, chunks=chunks), land, **kw)
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), whole)


@pytest.mark.parametrize("chunks", [(1, 300, 128), (2, 150, 96)])
def test_periodic_chunked_fill_equals_unchunked_with_wide_clouds(chunks):
    from sstfill.models.harmonic import LaplaceFiller

    field, land = _wide_clouds(periodic=True)
    kw = dict(model=LaplaceFiller(), plan=TilePlan(64, 16), periodic_x=True)
    whole = fill_array(field, land, **kw)
    assert np.isfinite(whole[:, ~land]).all()
    lazy = fill_array(da.from_array(field, chunks=chunks), land, **kw)
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), whole)
    # no seam at the dateline: starting the array 3 tile strides further east changes nothing
    shift = 3 * kw["plan"].stride
    rolled = fill_array(np.roll(field, shift, axis=-1), land, **kw)
    np.testing.assert_allclose(np.roll(rolled, -shift, axis=-1), whole, rtol=0, atol=1e-4)
    assert np.isnan(fill_array(field, land, fallback=False, **kw)[1, 20:120, -1]).any()  # the fallback did reach the seam


def test_images_too_big_for_one_task_get_the_fallback_block_by_block_and_no_stitching(monkeypatch):
    import sstfill.xr.dispatch as inference
    from sstfill.models.harmonic import LaplaceFiller

    field, land = _wide_clouds()
    kw = dict(model=LaplaceFiller(), plan=TilePlan(64, 16))
    whole = fill_array(field, land, **kw)
    monkeypatch.setattr(inference, "WHOLE_IMAGE_FALLBACK_PIXELS", 1000)
    lazy = fill_array(da.from_array(field, chunks=(1, 150, 180)), land, **kw).compute(scheduler="threads")
    assert np.isfinite(lazy[:, ~land]).all()
    tiles_only = ~np.isnan(fill_array(field, land, fallback=False, **kw))
    assert (lazy[tiles_only] != whole[tiles_only]).any()  # not stitched: that would step at the blocks' borders
    plain = fill_array(field, land, model=kw["model"], plan=TilePlan(64, 16, stitch=False))
    np.testing.assert_array_equal(lazy[tiles_only], plain[tiles_only])  # tiles: their plain blend, bit for bit
    differs = lazy != plain
    assert differs.any() and not differs[tiles_only].any()  # only fallback pixels may differ


def _record_shapes(monkeypatch, name: str) -> list:
    """Wrap ``sstfill.xr.dispatch.<name>`` so that the shape of its first argument is recorded in each call."""
    import sstfill.xr.dispatch as inference

    shapes = []
    real = getattr(inference, name)

    def recording(array, *args, **kwargs):
        shapes.append(array.shape)
        return real(array, *args, **kwargs)

    monkeypatch.setattr(inference, name, recording)
    return shapes


def test_fallback_tasks_gather_whole_images_by_the_fields_chunks_up_to_dasks_chunk_size(monkeypatch):
    import dask

    from sstfill.models.harmonic import LaplaceFiller

    field, land = _wide_clouds()
    field = np.concatenate([field, field])  # 4 images of 300 x 360 float32 (432 kB each)
    seen = _record_shapes(monkeypatch, "fill_beyond_tiles")
    kw = dict(model=LaplaceFiller(), plan=TilePlan(64, 16))
    reference = fill_array(field, land, **kw)
    chunked = da.from_array(field, chunks=(2, 150, 180))
    np.testing.assert_array_equal(fill_array(chunked, land, **kw).compute(scheduler="sync"), reference)
    assert sorted(seen) == [(2, 300, 360)] * 2  # each time chunk's four pieces gathered into one task
    seen.clear()
    with dask.config.set({"array.chunk-size": "600kB"}):  # two whole images would be larger than that
        np.testing.assert_array_equal(fill_array(chunked, land, **kw).compute(scheduler="sync"), reference)
    assert sorted(seen) == [(1, 300, 360)] * 4  # one image per task, the same fill bit for bit
    seen.clear()
    fill_array(da.from_array(field, chunks=(2, 300, 360)), land, **kw).compute(scheduler="sync")
    assert sorted(seen) == [(2, 300, 360)] * 2  # blocks of whole images are used as they are


@pytest.mark.parametrize("periodic", [False, True])
def test_numpy_stacks_are_filled_in_groups_of_images_with_the_same_result(monkeypatch, periodic):
    import sstfill.xr.dispatch as inference
    from sstfill.models.harmonic import LaplaceFiller

    field, land = _wide_clouds(periodic)
    stack = np.concatenate([field, field[::-1], field])  # 6 images
    land_3d = np.broadcast_to(land, stack.shape).copy()
    kw = dict(model=LaplaceFiller(), plan=TilePlan(64, 16), periodic_x=periodic)
    whole = fill_array(stack, land_3d, **kw)  # 6 images of 72 tiles: one group
    calls = _record_shapes(monkeypatch, "_fill_numpy_group")
    monkeypatch.setattr(inference, "NUMPY_GROUP_TILES", 150)  # 2 images per group
    for land_arg in (land_3d, land):
        calls.clear()
        np.testing.assert_array_equal(fill_array(stack, land_arg, batch_size=16, **kw), whole)
        assert calls == [(2,) + stack.shape[1:]] * 3
