"""No step at a tile border where a tile with little data meets one with a lot (issue 14).

Each tile's blending weight is its window times its observed fraction, raised to at least
``FRACTION_FLOOR``. Without the floor, a tile that sees one pixel next to one that sees most
of its own switches over within a pixel of the overlap's edge: a step of ~90 % of their
disagreement between two neighbouring pixels, which on real L2 scenes drew the tile lattice
in the filled clouds. With it the switch spreads over the overlap.
"""

from __future__ import annotations

import numpy as np
import pytest

from sstfill.kernels import tiling
from sstfill.kernels.blocks import fill_block
from sstfill.kernels.tiling import TilePlan


class TileMeanModel:
    """Fills each tile with the mean of its observed pixels."""

    tile_size = 64
    description = "tile mean (test stub)"

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        total = np.where(observed, values, 0).sum(axis=(1, 2), dtype="float64")
        count = np.maximum(observed.sum(axis=(1, 2)), 1)
        return np.broadcast_to((total / count)[:, None, None], values.shape).astype(
            "float32"
        )


def _rich_next_to_poor() -> np.ndarray:
    """Columns 0-40 observed at 0 K; one observed pixel of 1 K at column 100; the rest cloud.

    The tile at column 0 sees 64 % data and predicts 0, the tiles at 48 and 96 see one pixel
    and predict 1: they disagree by 1 K across the overlap at columns 48-63.
    """
    field = np.full((64, 144), np.nan, dtype="float32")  # 3 strides: every pixel is covered by tiles with data
    field[:, :41] = 0.0
    field[32, 100] = 1.0
    return field


def _steps(floor: float, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    monkeypatch.setattr(tiling, "FRACTION_FLOOR", floor)
    field = _rich_next_to_poor()
    out = fill_block(field, None, model=TileMeanModel(), plan=TilePlan(64, 16))
    # rows 16-47 lie inside one row of tiles; in the outer rows, where the rows of tiles
    # above and below see no data, only tile edges reach: those pixels go to the fallback
    assert np.isfinite(out[16:48]).all()
    return np.diff(out[20].astype("float64"))  # along x, on a row away from the pixel


def test_the_switch_between_tiles_spreads_over_the_overlap(monkeypatch):
    steps = _steps(tiling.FRACTION_FLOOR, monkeypatch)
    assert tiling.FRACTION_FLOOR == 0.05
    assert (steps >= -1e-6).all()  # from 0 to 1, monotone
    assert steps.sum() == pytest.approx(1.0, abs=1e-5)
    assert (
        np.flatnonzero(steps > 1e-4).min() >= 47
    )  # the switch is inside the overlap (48-63)
    assert (
        steps.max() < 0.3
    )  # a ratio of at most 20 to 1: the largest step is 26 % of the jump


def test_without_the_floor_the_switch_is_a_step(monkeypatch):
    steps = _steps(0.0, monkeypatch)
    assert steps.max() > 0.8  # the old rule: one step between columns 63 and 64
