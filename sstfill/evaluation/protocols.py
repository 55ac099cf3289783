"""The report's evaluation protocol: hide pixels of real tiles, fill them, score."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from sstfill.evaluation.metrics import rmse, scores, ssim
from sstfill.training.tiles import draw_holes

__all__ = ["REPORT_TABLE", "evaluate_tiles_table"]

#: RMSE on inpainted pixels (normalised units) in the SST report's table
REPORT_TABLE = {"square10": 0.0376, "squares6": 0.1223, "squares": 0.1417}


def evaluate_tiles_table(model, tiles: np.ndarray, holes: Sequence[str] = ("square10", "squares6", "squares"), fraction: float = 0.25, seed: int = 0, batch_size: int = 256) -> pd.DataFrame:
    """Score ``model`` on truth ``tiles`` (N, T, T) for each hole set.

    A model with a context margin gets each tile alone, with nothing known around it.

    Columns: ``rmse_tile`` and ``rmse_hidden`` in per-tile normalised units (error divided
    by the truth tile's standard deviation), the same in field units (``*_units``; degC
    for SST in K or degC), ``mae_units``, ``bias_units`` and ``ssim`` (of the composite:
    observed pixels kept, holes filled), and the count of tiles and hidden pixels.
    """
    rows = []
    tile = tiles.shape[-1]
    valid = np.isfinite(tiles)
    std = np.maximum(np.nanstd(tiles, axis=(1, 2), keepdims=True), 1e-6)
    for k, kind in enumerate(holes):
        rng = np.random.default_rng([seed, k])
        hide = draw_holes(len(tiles), tile, [kind], (fraction, fraction), rng) & valid
        observed = valid & ~hide
        inputs = np.where(observed, tiles, np.nan).astype("float32")
        margin = getattr(model, "context_margin", 0)
        if margin:  # the protocol is the tile alone: nothing is known around it
            inputs = np.pad(inputs, ((0, 0), (margin, margin), (margin, margin)), constant_values=np.nan)
        known = np.isfinite(inputs)
        pred = np.concatenate([model.predict_tiles(inputs[i : i + batch_size], known[i : i + batch_size]) for i in range(0, len(tiles), batch_size)])
        normalised = (pred - tiles) / std  # errors in units of each truth tile's standard deviation
        hidden = scores(pred, tiles, hide)
        composite = np.where(observed, tiles, pred)
        rows.append(
            {
                "holes": kind,
                "rmse_tile": rmse(normalised, 0.0, valid),
                "rmse_hidden": rmse(normalised, 0.0, hide),
                "rmse_tile_units": rmse(pred, tiles, valid),
                "rmse_hidden_units": hidden["rmse"],
                "mae_units": hidden["mae"],
                "bias_units": hidden["bias"],
                "ssim": float(np.mean([ssim(composite[i], tiles[i]) for i in range(len(tiles))])),
                "report_rmse_hidden": REPORT_TABLE.get(kind, np.nan),
                "tiles": len(tiles),
                "hidden_pixels": int(hide.sum()),
            }
        )
    return pd.DataFrame(rows).set_index("holes")
