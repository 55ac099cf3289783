"""Tiles of concurrent chunks are batched together (what keeps a GPU busy), on CPU here."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import dask
import numpy as np
import pytest
import torch

import sstfill
from sstfill.models.store import load_bundled_model
from sstfill.models.batching import TileBatcher


def _tiles(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.normal(15, 2, (n, 8, 8)).astype("float32")
    observed = rng.random(values.shape) > 0.3
    return np.where(observed, values, np.nan).astype("float32"), observed


def test_concurrent_calls_share_batches_and_each_gets_its_own_rows():
    sizes = []
    started = threading.Event()

    def predict(values, observed):
        sizes.append(len(values))
        started.set()
        time.sleep(0.05)  # the device is busy: later calls queue up meanwhile
        return np.where(observed, values, -1.0).astype("float32") * 2

    batcher = TileBatcher(predict, batch_tiles=10_000, wait_s=0.01)
    inputs = [_tiles(n, seed) for seed, n in enumerate([3, 7, 1, 12, 5, 9, 2, 4])]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda vm: batcher.predict_tiles(*vm), inputs))
    for (values, observed), out in zip(inputs, results):
        np.testing.assert_array_equal(out, np.where(observed, values, -1.0) * 2)
    assert batcher.calls == 8 and sum(sizes) == 43
    assert batcher.batches == len(sizes) < 8  # fewer, bigger device calls


def test_an_error_reaches_every_waiting_caller():
    def predict(values, observed):
        time.sleep(0.02)
        raise RuntimeError("CUDA out of memory (simulated)")

    batcher = TileBatcher(predict, wait_s=0.01)
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(batcher.predict_tiles, *_tiles(4, s)) for s in range(4)]
        for f in futures:
            with pytest.raises(RuntimeError, match="out of memory"):
                f.result(timeout=10)
    # and the batcher keeps serving afterwards
    batcher._predict = lambda v, m: v
    values, observed = _tiles(2, 9)
    np.testing.assert_array_equal(batcher.predict_tiles(values, observed), values)


def test_dask_fill_with_cross_chunk_batching_matches_plain_fill(sst_series):
    model = sstfill.Inpainter.from_preset("fast")
    with torch.no_grad():  # an untrained head outputs the first guess only: make the network matter
        torch.manual_seed(0)
        model.generator.head.weight.normal_(0, 0.1)
    gappy, _ = sst_series.inpaint.add_holes("clouds", fraction=0.4, seed=1)
    lazy = gappy.chunk({"time": 1, "lat": 75, "lon": 85})
    with dask.config.set(scheduler="threads", num_workers=4):
        plain = lazy.inpaint.fill(model, land=None).values
        model.cross_chunk_batching = True
        batched = lazy.inpaint.fill(model, land=None).values
    batcher = model._batcher
    assert batcher is not None and batcher.batches < batcher.calls
    np.testing.assert_allclose(batched, plain, atol=1e-4, equal_nan=True)
    obs = gappy.notnull().values
    np.testing.assert_array_equal(batched[obs], gappy.values[obs])


def test_batching_is_on_for_cuda_models_only():
    model = sstfill.Inpainter.from_preset("fast")
    assert model.device.type == "cpu" and model.preferred_batch == 256
    values, observed = _tiles(2, 0)
    values = np.pad(values, ((0, 0), (0, 56), (0, 56)), constant_values=np.nan)
    observed = np.pad(observed, ((0, 0), (0, 56), (0, 56)))
    model.predict_tiles(values, observed)
    assert model._batcher is None


def test_wide_windows_run_fewer_at_a_time_on_a_cpu_and_fill_the_same(sst_series):
    # the context model's 192-pixel windows 256 at a time took 2.7x the memory of 64 at a time
    context = load_bundled_model("context", device="cpu", precision="float32")
    default = load_bundled_model("default", device="cpu", precision="float32")
    assert (context.config.window, context.preferred_batch) == (192, 64)
    assert (default.config.window, default.preferred_batch) == (96, 256)
    gappy = sst_series.inpaint.add_holes("clouds", fraction=0.4, seed=1)[0].isel(time=slice(0, 3))
    chosen = gappy.inpaint.fill(context, land=None)
    np.testing.assert_array_equal(chosen.values, gappy.inpaint.fill(context, land=None, batch_size=256).values)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_dask_fill_batches_chunks_together(sst_series):
    model = sstfill.Inpainter.from_preset("fast")
    gappy, _ = sst_series.inpaint.add_holes("clouds", fraction=0.4, seed=1)
    lazy = gappy.chunk({"time": 1})
    cpu = lazy.inpaint.fill(model, land=None, device="cpu").values
    with dask.config.set(scheduler="threads", num_workers=8):
        gpu = lazy.inpaint.fill(model, land=None, device="cuda").values
    assert model._batcher.batches < model._batcher.calls
    np.testing.assert_allclose(gpu, cpu, atol=0.05, equal_nan=True)
