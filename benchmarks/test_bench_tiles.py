"""Regression benchmark of ``predict_tiles`` (pytest-benchmark); not part of ``tests/``.

Times one call of ``model.predict_tiles`` on 256 realistic 64 x 64 tiles (synthetic SST,
real-shaped cloud gaps over about 40 %) for the two bundled models and the classical
Laplace filler. Run and compare with::

    python -m pytest benchmarks/test_bench_tiles.py --benchmark-only
    python -m pytest benchmarks/test_bench_tiles.py --benchmark-only --benchmark-autosave
    python -m pytest benchmarks/test_bench_tiles.py --benchmark-only --benchmark-compare --benchmark-compare-fail=median:25%

Each test also checks the output (shape, dtype, finite, plausible values), so a fast but
broken model does not pass. ``extra_info`` holds tiles/s and the torch thread count.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")
torch = pytest.importorskip("torch")

from benchmarks.harness import parse_model_spec  # noqa: E402
from benchmarks.throughput import model_window, realistic_tiles  # noqa: E402
from sstfill import LaplaceFiller  # noqa: E402

N_TILES = 256


@pytest.fixture(scope="module", params=["default", "fast", "laplace"])
def model(request):
    return parse_model_spec(request.param).tile_model()  # 'laplace': a LaplaceFiller


def test_predict_tiles_256(benchmark, model):
    values, observed = realistic_tiles(N_TILES, tile=model_window(model), seed=0)  # windows around the tiles for the default model (96 x 96)
    model.predict_tiles(values[:16], observed[:16])  # warm-up outside the timing
    out = benchmark.pedantic(model.predict_tiles, args=(values, observed), rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(
        tiles=N_TILES,
        tiles_per_s=N_TILES / benchmark.stats.stats.min,
        torch_threads=torch.get_num_threads(),
        model=model.description,
    )
    margin = (values.shape[-1] - out.shape[-1]) // 2
    tile = (slice(None), slice(margin, values.shape[-2] - margin), slice(margin, values.shape[-1] - margin))
    values, observed = values[tile], observed[tile]
    assert out.shape == values.shape and out.dtype == np.float32
    assert np.isfinite(out).all()
    if isinstance(model, LaplaceFiller):  # the classical filler returns observed pixels as they are
        np.testing.assert_array_equal(out[observed], values[observed])
    else:  # the network's output is only used in the gaps; it must still be SST-like there
        assert np.abs(out[~observed] - np.nanmean(values)).max() < 20.0
