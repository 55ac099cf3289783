"""Training curves: losses and hidden-pixel RMSE per epoch, with the best epoch marked."""

from __future__ import annotations

from typing import Any

import numpy as np

from sstfill.plot.maps import axes_for
from sstfill.training.settings import kept_epoch

__all__ = ["training_curves"]


def training_curves(history: Any, ax: Any = None, *, title: str | None = None):
    """Losses per epoch of a training run, with the best epoch marked.

    Panels: training and validation loss (log scale when positive); validation RMSE on
    the hidden pixels (per-tile standardised units, as in training), with the test score
    if there is one; and the adversarial losses when they are not all zero. The epoch whose
    weights training kept (``history["best_epoch"]``; in older histories the lowest
    validation loss) is marked on every panel; an adapted model that kept its starting
    weights has none marked.
    Epochs are counted from 1.

    Parameters
    ----------
    history : dict or Inpainter
        ``model.history`` as written by ``ds.inpaint.train`` (``epoch``, ``train_loss``,
        ``val_loss``, ``val_rmse_hidden``, ``adv_g``, ``adv_d``, ...), or the model.
    ax : sequence of Axes, optional
        One Axes per panel (2, or 3 with adversarial losses); a new figure by default.
    title : str, optional
        Start of the figure title (default "training history"); the number of epochs, the
        best epoch and the tile counts follow it.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import sstfill.plot
    >>> history = {"epoch": [0, 1, 2], "train_loss": [0.9, 0.5, 0.4], "val_loss": [0.8, 0.5, 0.6],
    ...            "val_rmse_hidden": [0.7, 0.5, 0.55]}
    >>> fig = sstfill.plot.training_curves(history)
    >>> len(fig.axes)
    2
    """
    if not isinstance(history, dict):
        history = getattr(history, "history", None)
    if not isinstance(history, dict) or not (history.get("val_loss") or history.get("train_loss")):
        raise ValueError("training_curves needs a training history with 'train_loss' or 'val_loss' per epoch: pass model.history from ds.inpaint.train().")
    n_epochs = max(len(history.get(k) or []) for k in ("train_loss", "val_loss"))
    # history["epoch"] counts from 0; epochs are shown counted from 1, as `sstfill train` prints them
    epochs = np.asarray(history.get("epoch") or range(n_epochs), dtype=float) + 1

    def series(key):
        v = history.get(key) or []
        return np.asarray(v, dtype=float) if len(v) == len(epochs) else None

    train, val, rmse = series("train_loss"), series("val_loss"), series("val_rmse_hidden")
    adv_g, adv_d = series("adv_g"), series("adv_d")
    adversarial = any(a is not None and np.any(np.nan_to_num(a) != 0) for a in (adv_g, adv_d))
    n = 2 + adversarial
    fig, axes = axes_for(ax, n, (4.6 * n, 3.8), 1, n, "training_curves")
    kept = kept_epoch(history)  # recorded by the trainer (-1: an adapted model's starting weights)
    if kept is not None:
        best = kept if 0 <= kept < len(epochs) else None
    else:  # older histories: the lowest validation loss
        best = int(np.nanargmin(val)) if val is not None and np.isfinite(val).any() else None

    def mark(axis, values=None):
        if best is None:
            return
        axis.axvline(epochs[best], color="0.4", ls=":", lw=1, label=f"best epoch ({int(epochs[best])})")
        if values is not None and np.isfinite(values[best]):
            axis.plot(epochs[best], values[best], "o", ms=7, mfc="none", mec="k")

    a = axes[0]
    for values, label, colour in ((train, "training", "#1f77b4"), (val, "validation", "#d62728")):
        if values is not None:
            a.plot(epochs, values, "-o", ms=3, color=colour, label=label)
    mark(a, val)
    finite = np.concatenate([v[np.isfinite(v)] for v in (train, val) if v is not None])
    if finite.size and np.all(finite > 0):
        from matplotlib.ticker import FuncFormatter, LogLocator

        a.set_yscale("log")
        if finite.max() / finite.min() < 100:  # under two decades: plain numbers on 1-2-5 ticks
            a.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            a.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
            a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    a.set_title("loss", fontsize="medium")
    a.set_ylabel("weighted loss")

    a = axes[1]
    if rmse is not None:
        a.plot(epochs, rmse, "-o", ms=3, color="#d62728", label="validation")
    test = history.get("test_rmse_hidden")
    if test:
        a.axhline(float(np.ravel(test)[-1]), color="#2ca02c", ls="--", lw=1, label=f"test, best weights ({float(np.ravel(test)[-1]):.3f})")
    mark(a, rmse)
    a.set_title("RMSE on hidden pixels", fontsize="medium")
    a.set_ylabel("RMSE (standardised units)")

    if adversarial:
        a = axes[2]
        for values, label, colour in ((adv_g, "generator", "#9467bd"), (adv_d, "discriminator", "#8c564b")):
            if values is not None:
                a.plot(epochs, values, "-o", ms=3, color=colour, label=label)
        mark(a)
        a.set_title("adversarial losses", fontsize="medium")
        a.set_ylabel("binary cross-entropy")

    for a in axes:
        a.set_xlabel("epoch")
        a.grid(True, lw=0.4, alpha=0.5)
        a.legend(frameon=False, fontsize="small")
        if len(epochs) and np.allclose(epochs, np.round(epochs)):
            from matplotlib.ticker import FixedLocator, MaxNLocator

            # one epoch: a tick at it (MaxNLocator falls back to fractions on a range under 1)
            a.xaxis.set_major_locator(FixedLocator(epochs) if np.ptp(epochs) < 1 else MaxNLocator(integer=True))
    parts = [f"{len(epochs)} epoch{'s' if len(epochs) != 1 else ''}"]
    if best is not None:
        parts.append(f"best epoch {int(epochs[best])}")
    elif kept == -1:
        parts.append("kept the starting weights")
    tiles = history.get("tiles")
    if tiles and len(tiles) == 3:
        parts.append(f"tiles train/val/test {tiles[0]}/{tiles[1]}/{tiles[2]}")
    if history.get("split"):
        parts.append(f"split {history['split']}")
    fig.suptitle(f"{title or 'training history'}: " + ", ".join(parts), fontsize="medium")
    return fig
