"""``sstfill quality``: compare a candidate field (a fill, a model's samples) with a reference by SSIM, Fréchet distance and the birthday test."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from sstfill.cli.common import check_written_files, say
from sstfill.errors import CLIError

__all__ = ["cmd_quality", "check_plot", "check_same_grid", "in_reference_units", "matching_tiles", "TILE", "MIN_VALID"]

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


def check_same_grid(reference: Any, candidate: Any, spatial: tuple[str, str], names: tuple[str, str]) -> None:
    """Raise :class:`~sstfill.errors.CLIError` unless the two fields have the same dimensions, sizes and coordinates.

    Coordinates are compared where both fields have one along a dimension: times exactly,
    numbers to a thousandth of the grid's spacing (a float32 copy of a float64 grid is the
    same grid). Fields of one shape on other days, or shifted or flipped grids, are not
    compared tile by tile.
    """
    from sstfill.xr.grid import find_grid

    where = f"{names[0]!r} ({reference.name}: {dict(reference.sizes)}) and {names[1]!r} ({candidate.name}: {dict(candidate.sizes)})"
    if find_grid(candidate).dims != spatial or set(reference.dims) != set(candidate.dims) or any(reference.sizes[d] != candidate.sizes[d] for d in reference.dims):
        raise CLIError(f"{where} are not on one grid: sstfill quality compares tiles at the same places; regrid or subset one of them first.")
    for d in reference.dims:
        if d not in reference.coords or d not in candidate.coords:
            continue
        a, b = np.asarray(reference[d].values), np.asarray(candidate[d].values)
        if np.issubdtype(a.dtype, np.number) and np.issubdtype(b.dtype, np.number):
            step = float(np.median(np.abs(np.diff(a.astype("float64"))))) if a.size > 1 else 0.0
            same = np.allclose(a.astype("float64"), b.astype("float64"), rtol=0.0, atol=1e-3 * step if step > 0 else 1e-6)
        else:
            same = np.array_equal(a, b)
        if not same:
            raise CLIError(f"{where} have other {d!r} coordinates ({a[0]} .. {a[-1]} against {b[0]} .. {b[-1]}): sstfill quality compares tiles at the "
                           "same places and steps; select the same steps or regrid one of them first.")


def in_reference_units(reference: Any, candidate: Any, names: tuple[str, str]) -> Any:
    """``candidate`` in ``reference``'s units: kelvin and degrees Celsius are converted, other different ``units`` refused.

    A field without a ``units`` attribute is taken to be in the other's units. SSIM
    compares absolute values, so a candidate in degrees Celsius against a reference in
    kelvin would otherwise score about 0.1 for a perfect copy.
    """
    from sstfill.plot.units import CELSIUS_UNITS, KELVIN_UNITS

    def normalised(units: Any) -> str:
        return str(units or "").strip().lower().replace(" ", "_")

    ru, cu = normalised(reference.attrs.get("units")), normalised(candidate.attrs.get("units"))
    if not ru or not cu or ru == cu:
        return candidate
    kinds = [("kelvin" if u in KELVIN_UNITS else "celsius" if u in CELSIUS_UNITS else u) for u in (ru, cu)]
    if kinds[0] == kinds[1]:
        return candidate
    if set(kinds) == {"kelvin", "celsius"}:
        converted = candidate + (273.15 if kinds[0] == "kelvin" else -273.15)
        converted.attrs = dict(candidate.attrs, units=reference.attrs["units"])
        return converted.rename(candidate.name)
    raise CLIError(f"{names[0]!r} ({reference.name}) is in {reference.attrs['units']!r} and {names[1]!r} ({candidate.name}) in "
                   f"{candidate.attrs['units']!r}: sstfill quality compares values in one unit; convert one of them first.")


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
    check_same_grid(ref, cand, spatial, (args.reference, args.candidate))
    cand = in_reference_units(ref, cand, (args.reference, args.candidate))
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
