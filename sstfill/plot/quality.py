"""The closest pairs of a birthday test, side by side, for the look the test asks for."""

from __future__ import annotations

from typing import Any

import numpy as np

from sstfill.evaluation.encoder import standardise_tiles
from sstfill.evaluation.quality import BirthdayResult
from sstfill.plot.maps import LAND_COLOUR

__all__ = ["plot_closest_pairs"]

#: frame and title colour of a pair flagged as near-duplicates
DUPLICATE_COLOUR = "#d62728"


def plot_closest_pairs(samples: Any, result: BirthdayResult, n: int = 8, *, title: str | None = None):
    """The ``n`` closest pairs of a :func:`~sstfill.evaluation.quality.birthday_test`, one pair per column.

    Each column shows the two tiles of a pair (top and bottom), row 0 at the top, as the
    test compares them: standardised (each tile's mean removed and divided by its std, over
    its own pixels) or, for a test run with ``normalise=False``, as anomalies in data units,
    on one colour scale (-2.5 to 2.5 std
    for standardised tiles; the 98th percentile of the shown anomalies' size otherwise). NaN
    pixels (land, cloud) are grey. The column title gives the indices and the MSE; pairs
    flagged as near-duplicates are titled and framed in red. The figure title is
    ``result.summary()``.

    The figure is a plain :class:`matplotlib.figure.Figure`, not registered with pyplot
    (no global state: nothing to close); save it with ``fig.savefig(path)``.

    Parameters
    ----------
    samples : array (S, ny, nx)
        The tiles the test was run on.
    result : BirthdayResult
        From ``birthday_test(samples, ...)``.
    n : int
        How many of the closest pairs to show (at most ``len(result.pairs)``).
    title : str, optional
        Figure title (default: ``result.summary()``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from sstfill.evaluation.quality import birthday_test
    >>> tiles = np.random.default_rng(0).normal(size=(30, 64, 64))
    >>> tiles[7] = tiles[3] + 0.01
    >>> fig = plot_closest_pairs(tiles, birthday_test(tiles), n=4)
    >>> len(fig.axes), fig.axes[0].get_title().splitlines()[0]
    (9, '#3 & #7')
    """
    import matplotlib
    from matplotlib.figure import Figure

    arr = np.asarray(samples, dtype="float64")
    if arr.ndim != 3 or len(arr) != result.sample_size:
        raise ValueError(f"samples must be the stack (S, ny, nx) the test ran on (S = {result.sample_size}); got shape {arr.shape}.")
    count = min(int(n), len(result.pairs))
    if count < 1:
        raise ValueError(f"n must be at least 1 and the result must hold pairs; got n={n} with {len(result.pairs)} pairs.")
    pairs = result.pairs[:count]
    shown_idx = np.unique(pairs)
    if result.normalised:
        shown = dict(zip(shown_idx.tolist(), standardise_tiles(arr[shown_idx])[0].astype("float64")))
        shown = {i: np.where(np.isfinite(arr[i]), t, np.nan) for i, t in shown.items()}
        label = "standardised SST"
    else:
        shown = {i: arr[i] - np.nanmean(arr[i]) for i in shown_idx.tolist()}
        label = "anomaly (tile mean removed)"
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad=LAND_COLOUR)
    if result.normalised:
        limit = 2.5
    else:
        finite = np.concatenate([np.abs(t[np.isfinite(t)]) for t in shown.values()])
        limit = float(np.percentile(finite, 98)) if finite.size else 1.0
        limit = limit if limit > 0 else 1.0

    fig = Figure(figsize=(1.7 * count + 0.6, 4.0), layout="constrained")
    axes = fig.subplots(2, count, squeeze=False)
    for col, ((i, j), mse, duplicate) in enumerate(zip(pairs.tolist(), result.mse[:count], result.duplicates[:count])):
        colour = DUPLICATE_COLOUR if duplicate else "0.2"
        for row, k in enumerate((i, j)):
            ax = axes[row, col]
            image = ax.imshow(shown[k], cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(2.5 if duplicate else 0.8)
        shown_mse = f"{mse:.3g}" if mse >= 1e-12 else "0"  # round-off of an exact copy shows as 0
        axes[0, col].set_title(f"#{i} & #{j}\nMSE {shown_mse}" + ("\nduplicate" if duplicate else ""), fontsize="small", color=colour)
    fig.colorbar(image, ax=axes[:, -1].tolist(), shrink=0.8, label=label)
    fig.suptitle(title if title is not None else result.summary(), fontsize="small")
    return fig
