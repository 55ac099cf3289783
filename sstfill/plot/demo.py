"""The figure of ``sstfill demo``: one field with synthetic clouds, its fill, and the scores.

Drawn on the same map layer as :func:`sstfill.plot.quicklook` (:class:`~sstfill.plot.maps.MapGrid`),
in the demo's own layout: the input with gaps, the truth, the fill, the standard error of the
fill (when given), the error in the gaps, filled against true values, and a table of scores of
several methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from sstfill.evaluation.metrics import bias, rmse
from sstfill.plot.maps import (
    LAND_COLOUR,
    UNSCORED_COLOUR,
    MapGrid,
    land_layer,
    pyplot,
    select_image,
    spatial_dims,
)
from sstfill.plot.units import display_units, to_celsius

__all__ = ["demo_figure", "within_sigma", "DEMO_STYLE", "NODATA_COLOUR", "GAP_COLOUR"]

#: matplotlib settings of the demo figure (smaller text than matplotlib's default, bold titles)
DEMO_STYLE = {"font.size": 9, "axes.titlesize": 10.5, "axes.titleweight": "bold"}
#: colour of sea pixels without data that were not hidden (e.g. outside a satellite swath)
NODATA_COLOUR = "#e0e0e6"
#: colour of the gaps in the input (nothing is drawn there)
GAP_COLOUR = "#ffffff"
#: share of a Gaussian error within 1 and 2 standard deviations
GAUSSIAN_WITHIN = {1: 0.6827, 2: 0.9545}


def within_sigma(filled: Any, truth: Any, sigma: Any, hidden: Any, ks: Sequence[float] = (1, 2)) -> dict[float, float]:
    """Share of the hidden pixels whose error ``|filled - truth|`` is within ``k`` standard errors.

    Counted on the hidden pixels where the fill, the truth and ``sigma`` are all finite;
    NaN for every ``k`` when there is none. A calibrated Gaussian error gives about 68 %
    within 1 sigma and 95 % within 2 (:data:`GAUSSIAN_WITHIN`).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros(4)
    >>> within_sigma(np.array([0.5, -1.5, 3.0, 9.0]), truth, np.ones(4), np.array([True, True, True, False]))
    {1: 0.3333333333333333, 2: 0.6666666666666666}
    """
    f, t, e = (np.asarray(a, dtype="float64") for a in (filled, truth, sigma))
    judged = np.asarray(hidden, dtype=bool) & np.isfinite(f) & np.isfinite(t) & np.isfinite(e)
    if not judged.any():
        return {k: float("nan") for k in ks}
    size = np.abs(f[judged] - t[judged])
    return {k: float(np.mean(size <= k * e[judged])) for k in ks}


def demo_figure(
    truth: xr.DataArray,
    gappy: xr.DataArray,
    filled: xr.DataArray,
    *,
    hidden: Any,
    land: Any,
    scores: Sequence[tuple[str, Mapping[str, float]]],
    title: str,
    note: str = "",
    error: Any = None,
):
    """Input, truth, fill, its standard error, error in the gaps, filled vs truth, and a score table.

    The field panels share the colour limits of the truth (0.5th to 99.5th percentile);
    the error map is centred at 0 with limits at the 99th percentile of its size; the
    scatter gives the RMSE, bias and correlation on the hidden pixels. Kelvin (the units of
    ``truth``) is shown as degC. Land is grey; sea pixels without data that were not hidden
    (e.g. outside a satellite swath) are shaded as "no data".

    Parameters
    ----------
    truth, gappy, filled : DataArray
        The complete field, the field with the synthetic gaps (NaN), and its fill; 2-D,
        on one grid, in the units of ``truth``.
    hidden, land : bool array or DataArray
        The pixels hidden by the synthetic gaps, and land, on the same grid.
    scores : sequence of (label, dict)
        One row of the score table per method: a label and its ``rmse``, ``mae`` and
        ``bias`` on the hidden pixels (as :func:`sstfill.evaluation.metrics.scores` gives).
    title : str
        The figure title.
    note : str, optional
        Text under the table (what filled the gaps, which data); lines as given.
    error : DataArray or array, optional
        The standard error of the fill (the ``<name>_error`` of ``fill``, units of
        ``truth``): drawn beside the fill (sequential colours from 0), with the share of the
        hidden pixels within 1 and 2 sigma (:func:`within_sigma`) under the score table.
        Without it the figure has six panels.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn once already, so that saving it anywhere keeps :data:`DEMO_STYLE`.

    Examples
    --------
    >>> import sstfill, sstfill.testing
    >>> from sstfill.evaluation.metrics import scores
    >>> sst = sstfill.testing.synthetic_sst(64, 96)
    >>> gappy, hidden = sst.inpaint.add_holes("clouds", fraction=0.3, seed=0)
    >>> filled = gappy.inpaint.fill(model="laplace")
    >>> fig = demo_figure(sst, gappy, filled, hidden=hidden, land=filled.sst_fill_flag == 2,
    ...                   scores=[("laplace", scores(filled, sst, hidden))], title="demo")
    >>> len(fig.axes)  # six panels and two colour bars
    8
    >>> fig = demo_figure(sst, gappy, filled, hidden=hidden, land=filled.sst_fill_flag == 2, error=filled.sst_error,
    ...                   scores=[("laplace", scores(filled, sst, hidden))], title="demo")
    >>> len(fig.axes)  # and the standard error with its colour bar
    10
    """
    dims = spatial_dims(truth)
    image = truth.transpose(*dims)
    grid = MapGrid(image, dims)
    units_attr = truth.attrs.get("units")
    t = to_celsius(np.asarray(image.values, dtype="float64"), units_attr)
    g = to_celsius(select_image(gappy, dims, t, "gappy").astype("float64"), units_attr)
    f = to_celsius(select_image(filled, dims, t, "filled").astype("float64"), units_attr)
    hidden = select_image(hidden, dims, t, "hidden").astype(bool)
    land = select_image(land, dims, t, "land").astype(bool)
    unit = display_units(units_attr)
    sigma = None if error is None else select_image(error, dims, t, "error").astype("float64")  # a spread: K and degC alike

    ocean = np.isfinite(t)
    lo, hi = np.nanpercentile(t[ocean], [0.5, 99.5])
    pad = 0.02 * (hi - lo)
    err = np.where(hidden, f - t, np.nan)
    scored = np.abs(err[np.isfinite(err)])
    emax = max(float(np.nanpercentile(scored, 99)) if scored.size else 1.0, 1e-3)
    nodata = ~ocean & ~land & ~hidden

    plt = pyplot()
    with plt.rc_context(DEMO_STYLE):
        if sigma is None:
            fig = plt.figure(figsize=(14, 10), layout="constrained")
            gs = fig.add_gridspec(2, 3)
            a_in, a_truth, a_fill, a_err, a_sc, a_txt = [fig.add_subplot(gs[i, j]) for i in range(2) for j in range(3)]
        else:  # input | truth | fill | standard error, then the score table | scatter (under the fill) | error (under the standard error)
            fig = plt.figure(figsize=(18, 10), layout="constrained")
            gs = fig.add_gridspec(2, 4)
            a_in, a_truth, a_fill, a_sigma = (fig.add_subplot(gs[0, j]) for j in range(4))
            a_txt, a_sc, a_err = fig.add_subplot(gs[1, :2]), fig.add_subplot(gs[1, 2]), fig.add_subplot(gs[1, 3])
        outline = {"colors": "k", "linewidths": 0.4, "alpha": 0.5}

        def decorate(ax, label: str, show_nodata: bool = True) -> None:
            land_layer(ax, grid, land)
            if show_nodata and nodata.any():
                grid.shade(ax, nodata, NODATA_COLOUR)
            ax.set_title(label)
            grid.label(ax)
            ax.set_facecolor("white")

        sst_kw = {"cmap": "RdYlBu_r", "vmin": lo - pad, "vmax": hi + pad}
        im = grid.draw(a_in, g, **sst_kw)
        decorate(a_in, f"input with gaps ({np.mean(hidden[ocean]):.0%} of the ocean hidden)")
        grid.draw(a_truth, t, **sst_kw)
        decorate(a_truth, "truth")
        grid.draw(a_fill, f, **sst_kw)
        grid.outline(a_fill, hidden, **outline)
        decorate(a_fill, "filled (outline: gaps)")
        cb = fig.colorbar(im, ax=[a_in, a_truth, a_fill], location="bottom", shrink=0.45, aspect=40, pad=0.02, extend="both")
        cb.set_label(f"sea-surface temperature ({unit})" if unit else "value")

        grid.shade(a_err, ocean & ~hidden, UNSCORED_COLOUR)
        ie = grid.draw(a_err, err, cmap="RdBu_r", vmin=-emax, vmax=emax)
        grid.outline(a_err, hidden, **outline)
        decorate(a_err, "error in the gaps: filled − truth", show_nodata=False)
        cb2 = fig.colorbar(ie, ax=a_err, location="bottom", shrink=0.8, aspect=25, pad=0.02, extend="both")
        cb2.set_label(f"error ({unit})" if unit else "error")

        coverage = None
        if sigma is not None:
            shown = sigma[np.isfinite(sigma)]
            top = max(float(np.percentile(shown, 99)) if shown.size else 1.0, 1e-3)
            grid.shade(a_sigma, ocean & ~np.isfinite(sigma), UNSCORED_COLOUR)
            isg = grid.draw(a_sigma, sigma, cmap="magma", vmin=0.0, vmax=top)
            grid.outline(a_sigma, hidden, **outline)
            decorate(a_sigma, "standard error of the fill (1 sigma)", show_nodata=False)
            cb3 = fig.colorbar(isg, ax=a_sigma, location="bottom", shrink=0.8, aspect=25, pad=0.02, extend="max")
            cb3.set_label(f"error (1 sigma, {unit})" if unit else "error (1 sigma)")
            coverage = within_sigma(f, t, sigma, hidden)

        _scatter(a_sc, t, f, hidden, unit)
        _table(a_txt, scores, unit, note, show_nodata=bool(nodata.any()), coverage=coverage)
        fig.suptitle(title, fontsize=12, fontweight="bold")
        fig.draw_without_rendering()  # ticks and layout made in DEMO_STYLE, whatever the caller's style
    return fig


def _scatter(ax, truth: np.ndarray, filled: np.ndarray, hidden: np.ndarray, unit: str) -> None:
    """Filled against true values on the hidden pixels, with n, RMSE, bias and r."""
    t, f = truth[hidden], filled[hidden]
    both = np.isfinite(t) & np.isfinite(f)
    t, f = t[both], f[both]
    if t.size:
        ax.scatter(t, f, s=2, alpha=0.2, color="#1f5f95", edgecolors="none", rasterized=True)
        lim = [min(t.min(), f.min()), max(t.max(), f.max())]
        span = lim[1] - lim[0] or 1.0
        lim = [lim[0] - 0.03 * span, lim[1] + 0.03 * span]
        ax.plot(lim, lim, color="k", lw=1, ls="--", label="1:1")
        ax.set_xlim(lim)
        ax.set_ylim(lim)
        r = float(np.corrcoef(t, f)[0, 1]) if t.size > 1 else float("nan")
        stats = (
            f"n = {t.size:,} pixels\nRMSE = {rmse(filled, truth, hidden):.3f} {unit}\n"
            f"bias = {bias(filled, truth, hidden):+.3f} {unit}\nr = {r:.3f}"
        )
        ax.text(0.04, 0.96, stats, transform=ax.transAxes, va="top", ha="left", fontsize=9, bbox={"boxstyle": "round", "fc": "white", "ec": "0.8"})
        ax.legend(loc="lower right", frameon=False)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(True, lw=0.4, alpha=0.5)
    ax.set_title("filled vs truth in the gaps")
    ax.set_xlabel(f"truth ({unit})" if unit else "truth")
    ax.set_ylabel(f"filled ({unit})" if unit else "filled")


def _table(
    ax, scores: Sequence[tuple[str, Mapping[str, float]]], unit: str, note: str, show_nodata: bool, coverage: Mapping[float, float] | None = None
) -> None:
    """The score table, the share of the gaps within 1 and 2 sigma (``coverage``), a legend of the map colours, and the note."""
    from matplotlib.patches import Rectangle

    ax.axis("off")
    lines = [f"{'method':<28}{'RMSE':>7}{'MAE':>7}{'bias':>8}", "─" * 50]
    for label, s in scores:
        lines.append(f"{label:<28}{s['rmse']:>7.3f}{s['mae']:>7.3f}{s['bias']:>+8.3f}")
    if coverage:  # beside the table (the axes spans two columns then)
        ax.text(0.56, 0.97, "Standard error in the gaps", fontweight="bold", fontsize=10.5, va="top", transform=ax.transAxes)
        calibration = [f"{'|filled − truth|':<20}{'share':>7}{'Gaussian':>10}", "─" * 37]
        calibration += [f"{f'within {k:g} sigma':<20}{100 * v:>5.0f} %{100 * GAUSSIAN_WITHIN.get(k, float('nan')):>8.0f} %" for k, v in coverage.items()]
        ax.text(0.56, 0.88, "\n".join(calibration), family="monospace", fontsize=9, va="top", transform=ax.transAxes, linespacing=1.5)
    ax.text(0.0, 0.97, f"Scores in the gaps ({unit or 'field units'})", fontweight="bold", fontsize=10.5, va="top", transform=ax.transAxes)
    ax.text(0.0, 0.88, "\n".join(lines), family="monospace", fontsize=9, va="top", transform=ax.transAxes, linespacing=1.5)
    legend = [(LAND_COLOUR, "land"), (GAP_COLOUR, "gap (cloud)")]
    if show_nodata:
        legend.append((NODATA_COLOUR, "no data"))
    legend.append((UNSCORED_COLOUR, "observed (error maps)" if coverage else "observed (error map)"))
    width = 0.5 if coverage else 1.0  # of the axes, for the legend: it spans two columns with the coverage
    for i, (colour, text) in enumerate(legend):
        x, y = 0.45 * width * (i % 2), 0.56 - 0.06 * (i // 2)
        ax.add_patch(Rectangle((x, y - 0.02), 0.04 * width, 0.04, transform=ax.transAxes, fc=colour, ec="0.45", lw=0.6))
        ax.text(x + 0.06 * width, y, text, transform=ax.transAxes, va="center", fontsize=9)
    ax.text(0.0, 0.41, note, fontsize=8.5, va="top", transform=ax.transAxes, color="0.25", linespacing=1.55)
