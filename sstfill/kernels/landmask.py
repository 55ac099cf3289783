"""The 1 km land mask of the ``global-land-mask`` package, held bit-packed: 117 MB, never 0.9 GB. Numpy only.

Importing ``global_land_mask`` decompresses its whole mask into a boolean array of 21,600 x
43,200 bytes (933 MB resident in every process that looks up land, each dask worker
included). Here the same file is read in bands of rows, each packed to bits at once, so
the mask takes 117 MB and the peak stays near that; :func:`is_land` gives the package's
``globe.is_land`` answer for every point, bit for bit (same indexing).
"""

from __future__ import annotations

import functools
import importlib.util
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["is_land"]

#: Rows of the 1 km mask decompressed at a time (43,200 bytes each).
ROWS_PER_READ = 64


def _package_file() -> Path:
    """The package's mask file, found without importing the package (its import loads the mask)."""
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the global-land-mask package is not installed: pip install global-land-mask")
    return Path(next(iter(spec.submodule_search_locations))) / "globe_combined_mask_compressed.npz"


def _read_npy(archive: zipfile.ZipFile, name: str, rows_per_read: int | None = None) -> np.ndarray:
    """An array of the .npz ``archive``; with ``rows_per_read``, a 2-D boolean one packed to bits row band by row band."""
    with archive.open(name) as stream:
        version = np.lib.format.read_magic(stream)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise ValueError(f"unexpected .npy version {version} of {name} in the land mask file")
        shape, fortran, dtype = readers[version](stream)
        if rows_per_read is None:
            count = int(np.prod(shape))
            return np.frombuffer(stream.read(count * dtype.itemsize), dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")
        if fortran or dtype != np.bool_ or len(shape) != 2:
            raise ValueError(f"unexpected land mask layout in {name}: {shape} {dtype} fortran={fortran}")
        ny, nx = shape
        packed = np.empty((ny, -(-nx // 8)), dtype=np.uint8)
        for start in range(0, ny, rows_per_read):
            stop = min(start + rows_per_read, ny)
            band = np.frombuffer(stream.read((stop - start) * nx), dtype=np.uint8).reshape(stop - start, nx)
            packed[start:stop] = np.packbits(band, axis=1)
        return packed


@functools.lru_cache(maxsize=1)
def _mask() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(packed ocean bits (21600, 5400), latitudes, longitudes) of the package's mask, read once per process."""
    with zipfile.ZipFile(_package_file()) as archive:
        return _read_npy(archive, "mask.npy", ROWS_PER_READ), _read_npy(archive, "lat.npy"), _read_npy(archive, "lon.npy")


def _index(values: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """The package's index of each value on ``axis`` (clipped to its ends, truncated as it does)."""
    values = np.clip(np.array(values, dtype="float64"), axis.min(), axis.max())
    return ((values - axis[0]) / (axis[1] - axis[0])).astype("int")


def is_land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where the 1 km mask has land at (``lat``, ``lon``) in degrees (lat in [-90, 90], lon in [-180, 180]).

    The answer of ``global_land_mask.globe.is_land`` for every point, from the bit-packed
    mask (see the module's docstring).

    Examples
    --------
    >>> is_land(np.array([40.0, 36.0]), np.array([-100.0, -30.0])).tolist()  # Kansas, the mid-Atlantic
    [True, False]
    """
    packed, lats, lons = _mask()
    i, j = _index(lat, lats), _index(lon, lons)
    ocean = (packed[i, j >> 3] >> (7 - (j & 7))) & 1
    return ocean == 0
