"""Synthetic holes for training and evaluation (numpy only).

Holes follow the SST report (one 10x10 square per 64x64 tile; many 6x6 squares; many
squares of side 1-10) or look like real clouds: shapes cut from real Sentinel-3 SLSTR
scenes shipped with the package, or a thresholded Gaussian random field.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

from sstfill.errors import InputDataError

__all__ = ["HOLE_KINDS", "make_holes", "cloud_library", "check_hole_request"]

HOLE_KINDS = ("square10", "squares6", "squares", "clouds", "random_field")


def _whole(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_hole_request(kind: object, fraction: object, tile: object = 64, seed: object = 0, name: object = None) -> None:
    """Raise :class:`InputDataError` unless ``kind``, ``fraction``, ``tile`` and ``seed`` can draw holes.

    Checked before any image is drawn, so that a lazy (dask) field refuses them at once, not
    when it is computed. ``name``: the variable, for the message.

    Examples
    --------
    >>> try:
    ...     check_hole_request("clouds", 0.0, name="sst")
    ... except InputDataError as err:
    ...     print(err.argument)
    fraction
    """
    var = f" for variable {name!r}" if name is not None else ""
    if not isinstance(kind, str) or kind not in HOLE_KINDS:
        raise InputDataError(f"Unknown hole kind {kind!r}{var}.", fix=f"Choose one of {', '.join(HOLE_KINDS)}.", argument="kind")
    try:
        inside = 0 < float(fraction) < 1  # NaN is not
    except (TypeError, ValueError):
        inside = False
    if not inside:
        raise InputDataError(f"Hole fraction {fraction!r}{var} is not strictly between 0 and 1: it is the share of the image to cover.",
                             fix="Pass a fraction such as 0.3 (0 < fraction < 1).", argument="fraction")
    if not _whole(tile) or tile < 1:
        raise InputDataError(f"Hole cell size tile={tile!r}{var} is not a whole number of pixels of at least 1.", fix="Pass tile=64 (the default), or e.g. 16 on a coarse grid.", argument="tile")
    if not _whole(seed) or seed < 0:
        raise InputDataError(f"Hole seed {seed!r}{var} is not a whole number of at least 0.", fix="Pass seed=0, or any other whole number >= 0 (the same seed gives the same holes).", argument="seed")

@functools.lru_cache(maxsize=4)
def cloud_library(which: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Real 64x64 cloud masks cut from Sentinel-3 SLSTR scenes, shipped with sstfill.

    Returns
    -------
    masks : bool array (N, 64, 64)
        True = cloud.
    fractions : float array (N,)
        Cloud fraction of each mask.
    """
    path = resources.files("sstfill") / "data" / f"cloud_masks_{which}.npz"
    with resources.as_file(path) as file, np.load(file) as npz:
        shape = tuple(int(s) for s in npz["shape"])
        masks = np.unpackbits(npz["packed"], count=int(np.prod(shape))).reshape(shape).astype(bool)
        fractions = np.asarray(npz["cloud_fraction"], dtype="float64")
    return masks, fractions


def _place_squares(shape: tuple[int, int], sizes: np.ndarray, rng: np.random.Generator, out: np.ndarray) -> None:
    """OR squares of the given sizes at random places into ``out`` (vectorised: 2-D difference array)."""
    ny, nx = shape
    ys = rng.integers(0, np.maximum(1, ny - sizes + 1))
    xs = rng.integers(0, np.maximum(1, nx - sizes + 1))
    diff = np.zeros((ny + 1, nx + 1), dtype=np.int32)
    y1, x1 = np.minimum(ys + sizes, ny), np.minimum(xs + sizes, nx)
    np.add.at(diff, (ys, xs), 1)
    np.add.at(diff, (ys, x1), -1)
    np.add.at(diff, (y1, xs), -1)
    np.add.at(diff, (y1, x1), 1)
    out |= diff.cumsum(0).cumsum(1)[:ny, :nx] > 0


def _squares_to_fraction(shape, fraction, rng, size_range) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    area = shape[0] * shape[1]
    mean_area = np.mean(np.arange(size_range[0], size_range[1] + 1) ** 2)
    for _ in range(50):
        need = fraction - out.mean()
        if need <= 0.002:
            break
        # squares at random places cover 1 - exp(-n a / A) of the area: aim for what is missing
        count = max(1, int(np.ceil(-np.log(1 - need / (1 - out.mean())) * area / mean_area)))
        _place_squares(shape, rng.integers(size_range[0], size_range[1] + 1, size=count), rng, out)
    return out


def _random_field(shape, fraction, rng, scale: float = 12.0) -> np.ndarray:
    """Thresholded Gaussian random field with correlation length ~``scale`` pixels."""
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.fftfreq(shape[1])[None, :]
    k2 = ky**2 + kx**2
    spectrum = np.exp(-0.5 * k2 * (2 * np.pi * scale) ** 2) + 0.02 / (1 + k2 * (2 * np.pi * scale) ** 2 * 4)
    noise = np.fft.fft2(rng.standard_normal(shape))
    field = np.real(np.fft.ifft2(noise * np.sqrt(spectrum)))
    return field > np.quantile(field, 1 - fraction)


def _real_clouds(shape, fraction, rng, tile: int = 64) -> np.ndarray:
    masks, fractions = cloud_library("train")
    near = np.flatnonzero(np.abs(fractions - fraction) <= 0.1)
    if near.size == 0:
        near = np.argsort(np.abs(fractions - fraction))[:20]
    ny, nx = shape
    cells_y, cells_x = -(-ny // tile), -(-nx // tile)
    out = np.zeros((cells_y * tile, cells_x * tile), dtype=bool)
    resample = np.arange(tile) * masks.shape[-1] // tile  # cells of another size: the shapes resampled (nearest)
    for i in range(cells_y):
        for j in range(cells_x):
            m = masks[rng.choice(near)][np.ix_(resample, resample)]
            m = np.rot90(m, rng.integers(4))
            if rng.random() < 0.5:
                m = m[:, ::-1]
            out[i * tile : (i + 1) * tile, j * tile : (j + 1) * tile] = m
    oy, ox = rng.integers(tile), rng.integers(tile)  # random phase: lattice seams move
    out = np.roll(out, (oy, ox), axis=(0, 1))
    return out[:ny, :nx]


def make_holes(kind: str, shape: tuple[int, int], rng: np.random.Generator, fraction: float = 0.3, tile: int = 64) -> np.ndarray:
    """A boolean hole pattern (True = hidden) for one 2-D image.

    Parameters
    ----------
    kind : {"square10", "squares6", "squares", "clouds", "random_field"}
        ``square10``: one 10x10 square in every ``tile`` x ``tile`` cell (the report's first
        set; ``fraction`` is ignored); ``squares6``: many 6x6 squares; ``squares``: many
        squares of side 1-10; ``clouds``: real SLSTR cloud shapes, one 64x64 shape per
        ``tile`` x ``tile`` cell (resampled to the cell: on a coarse grid, ``tile=16`` makes
        each shape four times coarser); ``random_field``: a thresholded Gaussian random field.
    shape : (ny, nx)
    rng : numpy Generator
    fraction : float
        Fraction of the image to cover (all kinds but ``square10``).
    tile : int
        Cell size of ``square10`` and ``clouds``.

    Examples
    --------
    >>> holes = make_holes("squares6", (64, 64), np.random.default_rng(0), fraction=0.2)
    >>> bool(0.19 < holes.mean() < 0.25)
    True
    """
    check_hole_request(kind, fraction, tile)
    if kind == "square10":
        out = np.zeros(shape, dtype=bool)
        for y0 in range(0, shape[0], tile):
            for x0 in range(0, shape[1], tile):
                h, w = min(tile, shape[0] - y0), min(tile, shape[1] - x0)
                s = min(10, h, w)
                y, x = y0 + rng.integers(0, h - s + 1), x0 + rng.integers(0, w - s + 1)
                out[y : y + s, x : x + s] = True
        return out
    if kind == "squares6":
        return _squares_to_fraction(shape, fraction, rng, (6, 6))
    if kind == "squares":
        return _squares_to_fraction(shape, fraction, rng, (1, 10))
    if kind == "clouds":
        return _real_clouds(shape, fraction, rng, tile)
    return _random_field(shape, fraction, rng)
