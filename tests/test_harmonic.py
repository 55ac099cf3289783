"""The classical harmonic fill is converged: it matches a direct sparse solve of Laplace's equation."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
import xarray as xr

from sstfill.models.harmonic import LaplaceFiller, harmonic_fill
from sstfill.xr.dispatch import harmonic_fallback


def direct_harmonic(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Exact solution (float64, sparse LU): each unknown pixel is the mean of its in-image neighbours."""
    ny, nx = image.shape
    unknown = ~known
    index = np.full(image.shape, -1, dtype=np.int64)
    n = int(unknown.sum())
    index[unknown] = np.arange(n)
    yy, xx = np.nonzero(unknown)
    me = index[yy, xx]
    values = np.where(known, image, 0.0).astype("float64")
    rows, cols, entries = [me], [me], [np.zeros(n)]
    rhs = np.zeros(n)
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        y2, x2 = yy + dy, xx + dx
        inside = (y2 >= 0) & (y2 < ny) & (x2 >= 0) & (x2 < nx)  # outside: Neumann, no term
        yi, xi, mi = y2[inside], x2[inside], me[inside]
        np.add.at(entries[0], mi, 1.0)
        free = unknown[yi, xi]
        rows.append(mi[free])
        cols.append(index[yi[free], xi[free]])
        entries.append(-np.ones(int(free.sum())))
        np.add.at(rhs, mi[~free], values[yi[~free], xi[~free]])
    matrix = scipy.sparse.csc_matrix((np.concatenate(entries), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    out = values.copy()
    out[unknown] = scipy.sparse.linalg.spsolve(matrix, rhs)
    return out


@pytest.fixture(scope="module")
def slstr_complete() -> np.ndarray:
    """The bundled real SLSTR field (256 x 256), its gaps filled by a direct solve: complete, real texture."""
    ds = xr.open_dataset(resources.files("sstfill") / "data" / "sample_slstr_nw_med.nc")
    field = ds["sea_surface_skin_temperature"].isel(time=0).values
    return direct_harmonic(field, np.isfinite(field)).astype("float32")


@pytest.fixture(scope="module")
def slstr_with_wide_cloud(slstr_complete) -> tuple[np.ndarray, np.ndarray]:
    """That field under a 150 x 170 cloud and 5 % scattered missing pixels."""
    gappy = slstr_complete.copy()
    gappy[40:190, 50:220] = np.nan
    rng = np.random.default_rng(0)
    gappy[rng.random(gappy.shape) < 0.05] = np.nan
    return gappy, np.isfinite(gappy)


def test_converged_fill_of_a_wide_cloud_matches_a_direct_solve(slstr_with_wide_cloud):
    image, known = slstr_with_wide_cloud
    exact = direct_harmonic(image, known)
    filled = LaplaceFiller().predict_tiles(image[None], known[None])[0]
    assert (filled[known] == image[known]).all()
    # 1e-4 of the field's range (about 5 K): within a few thousandths of a kelvin
    assert np.abs(filled - exact)[~known].max() < 2e-3
    # the pyramid alone (the neural models' first guess) stops short of it: the test tells them apart
    pyramid = LaplaceFiller(iterations=16, finest_iterations=8, tolerance=None).predict_tiles(image[None], known[None])[0]
    assert np.abs(pyramid - exact)[~known].max() > 1e-2


def test_fallback_is_converged_and_does_not_depend_on_orientation(slstr_with_wide_cloud):
    image, known = slstr_with_wide_cloud
    exact = direct_harmonic(image, known)
    filled = harmonic_fallback(image, ~known)
    assert np.abs(filled - exact)[~known].max() < 2e-3
    mirrored = harmonic_fallback(image[::-1, ::-1].copy(), ~known[::-1, ::-1])[::-1, ::-1]
    assert np.abs(mirrored - filled)[~known].max() < 2e-3


def test_fallback_regions_on_their_own_boxes_match_the_whole_image_solve(slstr_complete):
    """Small clouds and a wide one, each solved on its own box: the values of a direct solve of the whole image."""
    from sstfill.kernels import blocks

    image = slstr_complete.copy()
    image[150:230, 20:160] = np.nan  # wider than a window: its own box
    small = [(10, 12), (12, 200), (60, 110), (100, 230), (238, 240)]  # apart: one 64-px window each
    for y, x in small:
        image[y : y + 6, x : x + 5] = np.nan
    known = np.isfinite(image)
    calls: list[tuple[int, ...]] = []

    def solve(values, observed):
        calls.append(values.shape)
        return LaplaceFiller(tolerance=1e-4).predict_tiles(values, observed)

    filled = blocks.fill_regions(image, ~known, solve)
    assert len(calls) == 1 + len(small) and all(shape[-2] * shape[-1] < image.size for shape in calls)  # boxes, not the image
    np.testing.assert_array_equal(filled[known], image[known])
    assert np.abs(filled - direct_harmonic(image, known))[~known].max() < 2e-3


def test_converged_tiles_match_a_direct_solve_on_real_cloud_shapes(slstr_complete):
    from sstfill.kernels.holes import make_holes

    field = slstr_complete
    tiles = np.stack([field[y : y + 64, x : x + 64] for y in range(0, 256, 64) for x in range(0, 256, 64)])[::2]
    rng = np.random.default_rng(1)
    known = np.stack([~make_holes("clouds", (64, 64), rng, fraction=0.6) for _ in tiles])
    values = np.where(known, tiles, np.nan).astype("float32")
    filled = LaplaceFiller().predict_tiles(values, known)
    exact = np.stack([direct_harmonic(v, k) for v, k in zip(values, known)])
    assert np.abs(filled - exact)[~known].max() < 1e-3


def test_tolerance_none_is_the_first_guess_the_models_were_trained_with():
    import torch

    rng = np.random.default_rng(2)
    values = torch.from_numpy(rng.normal(size=(3, 32, 32)).astype("float32"))
    observed = torch.from_numpy(rng.random((3, 32, 32)) > 0.6)
    fixed = harmonic_fill(values, observed, 8)
    converged = harmonic_fill(values, observed, 8, tolerance=1e-6)
    assert torch.equal(fixed[observed], values[observed]) and torch.equal(converged[observed], values[observed])
    assert not torch.equal(fixed, converged)  # the first guess is not iterated further
