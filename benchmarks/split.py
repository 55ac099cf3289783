"""The fixed train / held-out split of the real data, and the scene helpers that pick windows.

The benchmarks score only data the bundled models never saw in training. The split was
fixed when the bundled data and models were made; this module is its one home: the
benchmarks, ``examples/make_bundled_data.py`` (which cuts the bundled files with these
constants and helpers) and ``examples/train_default_model.py`` (which reads only the
training parts) all import it from here.
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data"  # ../shared/data from the repo root

MUR_SOCAL_FILE = "mur_l4_socal_2021-01.nc"
MUR_SOCAL_TRAIN_STEPS = (0, 1, 2, 3, 4, 5, 6, 7)  # 2021-01-01 .. 2021-01-08
MUR_SOCAL_HELDOUT_STEPS = (8, 9)  # 2021-01-09, 2021-01-10
MUR_ARABIAN_FILE = "mur_l4_arabian_sea_2023-08_0.1deg.nc"
MUR_ARABIAN_TRAIN_STEPS = (0, 1, 2, 3)  # first 4 steps
MUR_ARABIAN_HELDOUT_STEPS = (4, 5)  # last 2 steps
MUR_VAR = "analysed_sst"

SLSTR_VAR = "sea_surface_skin_temperature"
SLSTR_NE_ATL_FILE = "slstr_l2_ne_atl.nc"
# rows (latitude index; latitude descends) with index >= 0.75 * nlat are held out
SLSTR_NE_ATL_HELDOUT_ROW_FRACTION = 0.75
SLSTR_NORWEGIAN_FILE = "slstr_l2_norwegian_sea.nc"  # train
SLSTR_NW_MED_FILE = "slstr_l2_nw_med.nc"  # held out entirely

MIN_CLEAR_PATCH = 200  # px; clear patches smaller than this do not shape the swath hull

SPLIT_CONSTANTS = (
    "MUR_SOCAL_FILE", "MUR_SOCAL_TRAIN_STEPS", "MUR_SOCAL_HELDOUT_STEPS", "MUR_ARABIAN_FILE",
    "MUR_ARABIAN_TRAIN_STEPS", "MUR_ARABIAN_HELDOUT_STEPS", "MUR_VAR", "SLSTR_VAR", "SLSTR_NE_ATL_FILE",
    "SLSTR_NE_ATL_HELDOUT_ROW_FRACTION", "SLSTR_NORWEGIAN_FILE", "SLSTR_NW_MED_FILE", "MIN_CLEAR_PATCH",
)
"""The names that must hold the same values here and in ``examples/make_bundled_data.py``."""


SHARED_FILES = (MUR_SOCAL_FILE, MUR_ARABIAN_FILE, SLSTR_NE_ATL_FILE, SLSTR_NORWEGIAN_FILE, SLSTR_NW_MED_FILE)
"""The real-data files the split names: the folder given as ``--shared`` must hold them."""


def shared_folder(path: str | os.PathLike) -> Path:
    """``type=`` of a script's ``--shared`` option: the real-data folder, refused in one line naming what it lacks and the option.

    Without it a script run away from ``../shared/data`` stopped on a netCDF traceback.
    """
    folder = Path(path)
    lacking = [f for f in SHARED_FILES if not (folder / f).is_file()]
    if lacking:
        what = f"does not exist; give the folder that holds {', '.join(SHARED_FILES)}" if not folder.is_dir() else \
            f"lacks {', '.join(lacking)}; give the folder that holds them"
        raise argparse.ArgumentTypeError(f"the real-data folder {str(folder)!r} {what} (the shared data, see its README.md) as --shared PATH")
    return folder


def ne_atl_split_row(nlat: int) -> int:
    """First held-out row of the NE Atlantic scene (index >= 0.75 * nlat)."""
    return int(math.ceil(SLSTR_NE_ATL_HELDOUT_ROW_FRACTION * nlat))


def land_mask(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Land on the (lat, lon) pixel grid from global_land_mask."""
    from global_land_mask import globe

    lon2, lat2 = np.meshgrid(np.asarray(lon, float), np.asarray(lat, float))
    lon2 = (lon2 + 180.0) % 360.0 - 180.0
    return globe.is_land(lat2, lon2)


def swath_mask(valid: np.ndarray, min_patch: int = MIN_CLEAR_PATCH) -> np.ndarray:
    """Pixels inside the convex hull of the observed pixels (stray specks dropped)."""
    from scipy import ndimage
    from scipy.spatial import ConvexHull

    lab, _ = ndimage.label(valid, structure=np.ones((3, 3), bool))
    sizes = np.bincount(lab.ravel())
    keep = sizes >= min_patch
    keep[0] = False
    pts = np.argwhere(keep[lab]).astype(float)
    hull = ConvexHull(pts)
    rr, cc = np.mgrid[: valid.shape[0], : valid.shape[1]]
    inside = np.ones(valid.shape, bool)
    for a, b, c in hull.equations:  # a*r + b*c + c0 <= 0 inside
        inside &= (a * rr + b * cc + c) <= 1e-6
    return inside


def window_sums(a: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Sum of `a` over every size x size window whose corner is on the stride grid."""
    s = np.zeros((a.shape[0] + 1, a.shape[1] + 1), np.int64)
    s[1:, 1:] = np.cumsum(np.cumsum(a.astype(np.int64), 0), 1)
    r = np.arange(0, a.shape[0] - size + 1, stride)
    c = np.arange(0, a.shape[1] - size + 1, stride)
    R, C = np.meshgrid(r, c, indexing="ij")
    return s[R + size, C + size] - s[R, C + size] - s[R + size, C] + s[R, C], r, c
