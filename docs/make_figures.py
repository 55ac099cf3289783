"""Make the example figures of the documentation (``docs/images/*.png``).

Run from the repository root::

    python docs/make_figures.py                       # bundled model, else the Laplace filler
    python docs/make_figures.py --model my_model.npz  # another model file
    python docs/make_figures.py --history run.npz     # training curves of another model file

It uses only data shipped with sstfill (two held-out real crops, and real cloud shapes
from ``add_holes("clouds")``) and runs in well under a minute on a laptop CPU. Each
figure's title names the filler that made it. The training-curves figure is drawn from the
history stored in the model file; when there is none, the existing
``training_curves.png`` is left as it is.
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

import sstfill  # noqa: E402
import sstfill.plot  # noqa: E402
from sstfill.kernels.holes import HOLE_KINDS, make_holes  # noqa: E402

OUT = Path(__file__).resolve().parent / "images"
DATA = resources.files("sstfill") / "data"
DPI = 110


def load(path: str | None):
    """(model, label): the given file, else the bundled default model, else "laplace"."""
    if path is not None:
        return sstfill.load_model(path), f"model {Path(path).name}"
    ref = DATA / "default_model.npz"
    if ref.is_file():
        with resources.as_file(ref) as file:
            return sstfill.load_model(file), "bundled default model"
    return "laplace", "Laplace filler"


def open_sample(name: str) -> xr.Dataset:
    with resources.as_file(DATA / name) as path:
        return xr.open_dataset(path).load()


def save(fig, name: str) -> None:
    path = OUT / name
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"wrote {path}")


def hole_kinds_figure():
    """The five kinds of synthetic holes on one 128 x 128 window."""
    fig, axes = plt.subplots(1, len(HOLE_KINDS), figsize=(3.0 * len(HOLE_KINDS), 3.4), layout="constrained")
    for ax, kind in zip(axes, HOLE_KINDS):
        holes = make_holes(kind, (128, 128), np.random.default_rng(4), fraction=0.3)
        ax.imshow(holes, cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest")
        if kind == "square10":  # one square per 64 x 64 cell
            ax.axhline(63.5, color="#f16913", lw=0.8, ls=":")
            ax.axvline(63.5, color="#f16913", lw=0.8, ls=":")
        ax.set_title(f"{kind}\n{holes.mean():.0%} hidden", fontsize="medium")
        ax.set_xticks([0, 64, 127])
        ax.set_yticks([0, 64, 127])
    fig.suptitle("make_holes(kind, (128, 128), fraction=0.3): grey = hidden (dotted: the 64 x 64 cells of square10)", fontsize="medium")
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Make the documentation's example figures.")
    parser.add_argument("--model", help="model file to fill with (default: the bundled model, else laplace)")
    parser.add_argument("--history", help="model file whose training history to plot (default: --model's)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model, label = load(args.model)

    # MUR L4 is gap-free: hide pixels under real cloud shapes, fill, compare with the truth.
    # Land is what is missing on every day; holes on both days must not be taken for land.
    mur = open_sample("sample_mur_socal.nc")["analysed_sst"]
    land = mur.isnull().all("time")
    gappy, _ = mur.inpaint.add_holes("clouds", fraction=0.4, seed=3, land=land)
    filled = gappy.inpaint.fill(model=model, land=land)
    title = f"MUR L4 SST, Southern California Bight, real cloud shapes filled by the {label}"
    save(sstfill.plot.quicklook(gappy, filled, truth=mur, title=title), "quicklook_mur_socal.png")

    # SLSTR L2 with real clouds: hide some of the clear pixels, fill, score on those
    slstr = open_sample("sample_slstr_ne_atl_south.nc")["sea_surface_skin_temperature"]
    gappy, _ = slstr.inpaint.add_holes("clouds", fraction=0.3, seed=1)
    filled = gappy.inpaint.fill(model=model)
    title = f"SLSTR L2 skin SST south-west of Brittany, clear pixels hidden under real cloud shapes, filled by the {label}"
    save(sstfill.plot.quicklook(gappy, filled, truth=slstr, title=title), "quicklook_slstr_ne_atl.png")

    # the same scene with only its own clouds: what a user sees on a real product
    filled = slstr.inpaint.fill(model=model)
    title = f"SLSTR L2 skin SST south-west of Brittany, real clouds filled by the {label}"
    save(sstfill.plot.quicklook(slstr, filled, title=title), "quicklook_slstr_real_clouds.png")
    save(sstfill.plot.flag_map(filled["sea_surface_skin_temperature_fill_flag"]), "flag_map_slstr.png")

    save(hole_kinds_figure(), "hole_kinds.png")

    source, source_label = (sstfill.load_model(args.history), f"model {Path(args.history).name}") if args.history else (model, label)
    history = getattr(source, "history", None)
    if history and (history.get("val_loss") or history.get("train_loss")):
        save(sstfill.plot.training_curves(history, title=f"training history of the {source_label}"), "training_curves.png")
    else:
        print(f"the {source_label} has no training history: training_curves.png left as it is")
    print(f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
