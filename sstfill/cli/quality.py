"""``sstfill quality``: compare a candidate field (a fill, a model's samples) with a reference by SSIM, Fréchet distance and the birthday test."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from sstfill.cli.common import check_written_files, say
from sstfill.errors import CLIError

__all__ = ["cmd_quality", "check_plot", "matching_tiles", "TILE", "MIN_VALID"]

#: Tile edge (pixels): the shipped encoder's.
TILE = 64
#: Smallest observed share of a tile, in both fields, for it to be compared.
MIN_VALID = 0.5


def matching_tiles(reference: Any, candidate: Any, spatial: tuple[str, str], max_tiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Tiles (N, 64, 64) at the same places and steps of two fields of one grid, at most ``max_tiles``, each loaded one step at a time.

    A tile is kept when both fields observe at least :data:`MIN_VALID` of it.
    """
    other = [d for d in reference.dims if d not in spatial]
    ref = reference.transpose(*other, *spatial)
    cand = candidate.transpose(*other, *spatial)
    steps = int(np.prod([ref.sizes[d] for d in other])) if other else 1
    ny, nx = ref.sizes[spatial[0]], ref.sizes[spatial[1]]
    a, b = [], []
    for k in range(steps):
        index = dict(zip(other, np.unravel_index(k, [ref.sizes[d] for d in other]))) if other else {}
        ra = np.asarray(ref.isel(index).values, dtype="float32")
        ca = np.asarray(cand.isel(index).values, dtype="float32")
        for r in range(0, ny - TILE + 1, TILE):
            for c in range(0, nx - TILE + 1, TILE):
                ta, tb = ra[r : r + TILE, c : c + TILE], ca[r : r + TILE, c : c + TILE]
                if np.isfinite(ta).mean() >= MIN_VALID and np.isfinite(tb).mean() >= MIN_VALID:
                    a.append(ta)
                    b.append(tb)
                    if len(a) == max_tiles:
                        return np.stack(a), np.stack(b)
    empty = np.empty((0, TILE, TILE), "float32")
    return (np.stack(a), np.stack(b)) if a else (empty, empty)


def check_plot(plot: str, inputs: list[str], overwrite: bool) -> Path:
    """``--plot``'s path, checked before any tile is compared: never an input or a directory holding one, never a directory,
    an existing file only with ``overwrite`` (``--overwrite``)."""
    from sstfill.atomic import check_target
    from sstfill.xr.io import expand_inputs

    path = Path(plot).expanduser()
    check_written_files({"--plot": path}, expand_inputs(inputs), overwrite)
    check_target(path, overwrite=True)  # a directory is refused even with --overwrite; a place that takes no file fails now
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise CLIError(f"--plot {plot!r} exists already. Pass --overwrite to replace it, or choose another name.")
    return path


def cmd_quality(args: argparse.Namespace) -> int:
    """Run ``sstfill quality REFERENCE CANDIDATE``: tiles at the same places, then SSIM, FD and the birthday test."""
    from sstfill.evaluation.encoder import ENCODER_VERSION
    from sstfill.evaluation.quality import birthday_test, frechet_distance, ssim_tiles
    from sstfill.xr.fields import pick_variable
    from sstfill.xr.grid import find_grid
    from sstfill.xr.io import open_inputs

    if args.max_tiles < 2:
        raise CLIError("--max-tiles must be at least 2.")
    plot = check_plot(args.plot, [args.reference, args.candidate], args.overwrite) if args.plot else None
    ref_ds = open_inputs([args.reference])
    cand_ds = open_inputs([args.candidate])
    ref = pick_variable(ref_ds, args.var)
    cand = pick_variable(cand_ds, args.candidate_var or ref.name)
    spatial = find_grid(ref).dims
    if find_grid(cand).dims != spatial or any(ref.sizes[d] != cand.sizes[d] for d in ref.dims) or set(ref.dims) != set(cand.dims):
        raise CLIError(f"{args.reference!r} ({ref.name}: {dict(ref.sizes)}) and {args.candidate!r} ({cand.name}: {dict(cand.sizes)}) are not on one grid: "
                       "sstfill quality compares tiles at the same places; regrid or subset one of them first.")
    a, b = matching_tiles(ref, cand, spatial, args.max_tiles)
    if len(a) < 2:
        raise CLIError(f"Only {len(a)} tile(s) of {TILE}x{TILE} pixels are at least {MIN_VALID:.0%} observed in both fields; compare larger fields.")
    ssim = ssim_tiles(b, a)
    say(f"tiles compared: {len(a)} of {TILE}x{TILE} pixels ({ref.name!r} in {args.reference} against {cand.name!r} in {args.candidate})")
    say(f"SSIM: mean {np.nanmean(ssim):.4f}, median {np.nanmedian(ssim):.4f}, lowest {np.nanmin(ssim):.4f}")
    try:
        fd = frechet_distance(a, b)
        say(f"Frechet distance ({ENCODER_VERSION} features): {fd:.3f} (0: the same feature statistics; compare only scores made with the same number of tiles)")
    except ValueError as err:
        say(f"Frechet distance: n/a ({err})")
    result = birthday_test(b, reference=a)
    say(f"birthday test on the candidate: {result.summary()}")
    say(f"birthday test on the reference: {birthday_test(a).summary()}")
    if plot is not None:
        from sstfill.atomic import write_atomically
        from sstfill.plot.quality import plot_closest_pairs

        fig = plot_closest_pairs(b, result, n=min(8, len(result.mse)), title=f"Closest pairs among {len(b)} tiles of {args.candidate}")
        path = write_atomically(plot, lambda tmp: fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight"), overwrite=args.overwrite)
        say(f"wrote {path}")
    return 0
