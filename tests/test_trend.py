"""The fallback's large-scale trend (sstfill.kernels.trend), and the trial's trend that fades far from the data (benchmarks/large_gap_trial.py)."""

from __future__ import annotations

import numpy as np

from sstfill.kernels.blocks import fill_regions
from benchmarks.large_gap_trial import faded_trend
from sstfill.kernels.trend import TREND_BLOCK, block_trend
from sstfill.models.harmonic import LaplaceFiller


def _harmonic(values: np.ndarray, todo: np.ndarray) -> np.ndarray:
    return fill_regions(values, todo, LaplaceFiller().predict_tiles)


def _dome_open_to_the_south() -> np.ndarray:
    """A meridional SST profile peaking at row 60 (degC), observed on rows 0-95 only: the gap runs off the image."""
    y = np.arange(288.0)[:, None] + np.zeros((1, 240))
    field = (20.0 - (y - 60.0) ** 2 / 500.0).astype("float32")
    field[96:] = np.nan
    return field


def test_the_trend_continues_the_gradient_beyond_the_data_and_the_faded_one_levels_off():
    field = _dome_open_to_the_south()
    shipped = block_trend(field)
    faded = faded_trend(field, _harmonic, (24, 48))
    far = slice(96 + 48 + TREND_BLOCK, None)  # beyond the fade's outer distance from the last gap-free block row
    # the biharmonic trend goes on falling (down to the lowest block mean, where it is clipped) ...
    assert shipped[far].min() < shipped[96].min() - 2.0
    # ... the faded one stays at the last gap-free block row's level: no gradient carried on
    last_row_mean = float(field[72:96].mean())
    np.testing.assert_allclose(faded[far], last_row_mean, atol=0.02)
    # next to the data (gap-free blocks on both sides of the bilinear weights) both are the block means
    np.testing.assert_array_equal(faded[12:60], shipped[12:60])


def test_a_fade_beyond_every_distance_changes_nothing():
    field = _dome_open_to_the_south()
    np.testing.assert_array_equal(faded_trend(field, _harmonic, (1e6, 2e6)), block_trend(field))
