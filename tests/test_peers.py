"""Tests for the classical peer gap-filling methods in ``benchmarks/peers.py``."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.peers import PEERS, dineof, fill_biharmonic, fill_laplace, fill_telea

# optional dependency of each single-image method
_NEEDS = {"biharmonic": "skimage", "laplace": None, "telea": "cv2"}
# RMSE bounds (degC) on the synthetic scene's holes; measured: biharmonic 0.10,
# laplace 0.30, telea 0.54 (filling with the mean: 4.19)
_MAX_RMSE = {"biharmonic": 0.2, "laplace": 0.45, "telea": 0.8}


def _method(name: str):
    if _NEEDS[name] is not None:
        pytest.importorskip(_NEEDS[name])
    return PEERS[name]


# --------------------------------------------------------------------------
# synthetic data
# --------------------------------------------------------------------------
def sst_field(ny: int = 64, nx: int = 96) -> np.ndarray:
    """Smooth SST-like field (degC): 25 -> 10 meridional gradient, a meander, two eddies."""
    y, x = np.mgrid[0:ny, 0:nx].astype(np.float64)
    f = 25.0 - 15.0 * y / (ny - 1)
    f += 1.2 * np.sin(2 * np.pi * x / 48 + 1.5 * np.sin(2 * np.pi * y / 40)) * np.exp(-(((y - 30) / 12) ** 2))
    f += 1.5 * np.exp(-((y - 18) ** 2 + (x - 30) ** 2) / (2 * 5.0**2))
    f -= 1.2 * np.exp(-((y - 47) ** 2 + (x - 72) ** 2) / (2 * 6.0**2))
    f += 0.3 * np.sin(2 * np.pi * (x + 2 * y) / 30)
    return f.astype(np.float32)


@pytest.fixture(scope="module")
def scene():
    """Truth, gappy field, land mask and hole mask (64 x 96)."""
    truth = sst_field()
    ny, nx = truth.shape
    land = np.zeros((ny, nx), dtype=bool)
    land[44:60, 0:14] = True  # coastal land block on the left edge
    holes = np.zeros((ny, nx), dtype=bool)
    holes[10:22, 40:56] = True  # cloud over open water
    holes[30:38, 20:30] = True
    holes[40:52, 62:80] = True  # cloud over the cold eddy
    holes[36:44, 4:16] = True  # cloud against the coast
    holes[0:6, 84:96] = True  # cloud in a corner of the array
    rng = np.random.default_rng(42)
    holes |= rng.random((ny, nx)) < 0.05  # scattered bad pixels
    holes &= ~land
    field = truth.copy()
    field[holes] = np.nan
    field[land] = np.nan
    return truth, field, land, holes


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


# --------------------------------------------------------------------------
# single-image methods: shared invariants and skill
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PEERS))
def test_single_image_contract_and_skill(name, scene):
    fill = _method(name)
    truth, field, land, holes = scene
    before = field.copy()
    out = fill(field, land=land)

    np.testing.assert_array_equal(field, before)  # input not mutated (NaN-aware)
    assert out.dtype == np.float32 and out.shape == field.shape
    assert out is not field
    obs = ~holes & ~land
    # observed pixels bit-for-bit unchanged
    assert np.array_equal(out[obs].view(np.uint32), field[obs].view(np.uint32))
    assert np.isnan(out[land]).all()
    assert np.isfinite(out[holes]).all()

    err = _rmse(out[holes], truth[holes])
    mean_err = _rmse(np.nanmean(field), truth[holes])
    assert mean_err > 2.0  # the baseline really is bad on this field
    assert err < _MAX_RMSE[name], f"{name}: RMSE {err:.3f} degC"
    assert err < 0.2 * mean_err, f"{name}: RMSE {err:.3f} vs mean-fill {mean_err:.3f}"


@pytest.mark.parametrize("name", sorted(PEERS))
def test_land_values_are_ignored(name, scene):
    fill = _method(name)
    _, field, land, _ = scene
    garbage = field.copy()
    garbage[land] = 1.0e6  # land carries junk instead of NaN
    a = fill(field, land=land)
    b = fill(garbage, land=land)
    np.testing.assert_array_equal(a, b)
    assert np.isnan(b[land]).all()


@pytest.mark.parametrize("name", sorted(PEERS))
def test_to_fill_selects_pixels(name, scene):
    fill = _method(name)
    _, field, land, holes = scene
    want = np.zeros_like(holes)
    want[10:22, 40:56] = True
    want[0, 0] = True  # observed pixel: must stay as observed
    want[50, 5] = True  # land pixel: must stay NaN
    out = fill(field, land=land, to_fill=want)
    full = fill(field, land=land)
    sel = want & holes
    assert np.isfinite(out[sel]).all()
    np.testing.assert_array_equal(out[sel], full[sel])  # other gaps still unknowns
    assert np.isnan(out[holes & ~want]).all()
    assert out[0, 0] == field[0, 0]
    assert np.isnan(out[50, 5])


@pytest.mark.parametrize("name", sorted(PEERS))
def test_nd_input_loops_over_leading_axes(name, scene):
    fill = _method(name)
    truth, field, land, _ = scene
    other = np.flipud(field).copy()
    stack = np.stack([field, other])[None]  # (1, 2, y, x)
    out = fill(stack, land=land)
    assert out.shape == stack.shape
    np.testing.assert_array_equal(out[0, 0], fill(field, land=land))
    np.testing.assert_array_equal(out[0, 1], fill(other, land=land))


@pytest.mark.parametrize("name", sorted(PEERS))
def test_unfillable_regions_stay_nan(name):
    fill = _method(name)
    f = np.full((20, 24), 15.0, dtype=np.float32)
    land = np.zeros(f.shape, dtype=bool)
    land[4:12, 4:12] = True
    land[6:10, 6:10] = False  # a lake enclosed by land ...
    f[6:10, 6:10] = np.nan  # ... entirely cloudy
    f[15:18, 15:20] = np.nan  # an ordinary cloud
    out = fill(f, land=land)
    assert np.isnan(out[6:10, 6:10]).all()
    assert np.allclose(out[15:18, 15:20], 15.0, atol=1e-3)
    # nothing observed at all: everything stays NaN
    empty = np.full((8, 9), np.nan, dtype=np.float32)
    assert np.isnan(fill(empty)).all()


@pytest.mark.parametrize("name", sorted(PEERS))
def test_float64_input(name, scene):
    fill = _method(name)
    _, field, land, holes = scene
    f64 = field.astype(np.float64) + 1e-9  # not representable in float32
    out = fill(f64, land=land)
    assert out.dtype == np.float32
    obs = ~holes & ~land
    np.testing.assert_array_equal(out[obs], f64[obs].astype(np.float32))


# --------------------------------------------------------------------------
# method-specific checks
# --------------------------------------------------------------------------
def test_laplace_direct_and_gauss_seidel_agree(scene):
    _, field, land, holes = scene
    direct = fill_laplace(field, land=land, method="direct")
    gs = fill_laplace(field, land=land, method="gauss-seidel")
    assert np.isfinite(gs[holes]).all()
    assert np.max(np.abs(direct[holes] - gs[holes])) < 1e-4


def test_laplace_reproduces_harmonic_function():
    y, x = np.mgrid[0:40, 0:50].astype(np.float64)
    f = 3.0 + 0.1 * x - 0.05 * y + 0.002 * x * y  # discrete-harmonic
    g = f.copy()
    g[5:15, 8:30] = np.nan  # interior holes, not touching the array edge
    g[22:35, 30:45] = np.nan
    g[20, 3] = np.nan
    hole = np.isnan(g)
    for method, tol in (("direct", 1e-5), ("gauss-seidel", 1e-4)):
        out = fill_laplace(g, method=method)
        assert np.max(np.abs(out[hole] - f[hole])) < tol, method


def test_laplace_gauss_seidel_warns_when_not_converged(scene):
    _, field, land, _ = scene
    with pytest.warns(RuntimeWarning, match="did not converge"):
        fill_laplace(field, land=land, method="gauss-seidel", max_iter=3)


def test_laplace_rejects_bad_arguments(scene):
    _, field, _, _ = scene
    with pytest.raises(ValueError):
        fill_laplace(field, method="jacobi")
    with pytest.raises(ValueError):
        fill_laplace(field[0])  # 1-D


def test_biharmonic_reproduces_linear_ramp():
    pytest.importorskip("skimage")
    y, x = np.mgrid[0:30, 0:40].astype(np.float64)
    f = 12.0 + 0.2 * x + 0.1 * y
    g = f.copy()
    g[8:20, 10:25] = np.nan
    out = fill_biharmonic(g)
    assert np.max(np.abs(out[8:20, 10:25] - f[8:20, 10:25])) < 1e-3


def test_telea_has_no_opencv_offset_artefact():
    # cv2's Telea adds up to ~1.4 *image units* to inpainted pixels (raw float
    # degC input: max error 1.4 here); fill_telea rescales so that this
    # artefact vanishes and only Telea's own error (~0.07) remains
    pytest.importorskip("cv2")
    y, x = np.mgrid[0:30, 0:40].astype(np.float64)
    f = (18.0 + 0.02 * x + 0.01 * y).astype(np.float32)
    g = f.copy()
    g[8:20, 10:28] = np.nan
    out = fill_telea(g)
    assert np.max(np.abs(out[8:20, 10:28] - f[8:20, 10:28])) < 0.2


# --------------------------------------------------------------------------
# DINEOF
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lowrank():
    """(20, 40, 60) stack: 20 degC + 3 smooth modes x random series + noise, 30% hidden."""
    rng = np.random.default_rng(7)
    nt, ny, nx = 20, 40, 60
    y, x = np.mgrid[0:ny, 0:nx] / 10.0
    modes = np.stack(
        [
            np.sin(x) * np.cos(0.7 * y),
            np.exp(-((x - 3) ** 2 + (y - 2) ** 2)),
            np.cos(0.5 * x + 0.9 * y),
        ]
    )
    amp = rng.standard_normal((nt, 3)) * np.array([2.0, 1.5, 1.0])
    amp -= amp.mean(axis=0)
    noise = 0.02
    truth = 20.0 + np.einsum("tk,kyx->tyx", amp, modes) + noise * rng.standard_normal((nt, ny, nx))
    truth = truth.astype(np.float32)
    land = np.zeros((ny, nx), dtype=bool)
    land[30:40, 0:8] = True
    hidden = (rng.random(truth.shape) < 0.3) & ~land
    stack = truth.copy()
    stack[hidden] = np.nan
    stack[:, land] = np.nan
    return truth, stack, land, hidden, noise


def test_dineof_recovers_low_rank_stack(lowrank):
    truth, stack, land, hidden, noise = lowrank
    before = stack.copy()
    res = dineof(stack, land=land)

    np.testing.assert_array_equal(stack, before)  # input not mutated
    out = res.filled
    assert out.dtype == np.float32 and out.shape == stack.shape
    obs = ~hidden & ~land[None]
    assert np.array_equal(out[obs].view(np.uint32), stack[obs].view(np.uint32))
    assert np.isnan(out[:, land]).all()
    assert np.isfinite(out[hidden]).all()

    assert 3 <= res.n_modes <= 5
    assert res.n_modes == int(np.argmin(res.cv_rmse)) + 1
    err = _rmse(out[hidden], truth[hidden])
    mean_err = _rmse(np.nanmean(stack), truth[hidden])
    assert err < 3 * noise, f"DINEOF RMSE {err:.4f}"
    assert err < 0.05 * mean_err
    # the cross-validation pixels were observed ones, in the ocean
    assert res.cv_mask is not None and res.cv_mask.any()
    assert not (res.cv_mask & ~obs).any()
    assert 0.005 < res.cv_mask.sum() / obs.sum() < 0.05


def test_dineof_tighter_tolerance_finds_three_modes(lowrank):
    truth, stack, land, hidden, noise = lowrank
    res = dineof(stack, land=land, tol=1e-4)
    assert res.n_modes in (3, 4)
    assert _rmse(res.filled[hidden], truth[hidden]) < 2 * noise


def test_dineof_is_deterministic_and_honours_to_fill(lowrank):
    _, stack, land, hidden, _ = lowrank
    small = stack[:, :24, :32]
    a = dineof(small, land=land[:24, :32], max_modes=4)
    b = dineof(small, land=land[:24, :32], max_modes=4)
    np.testing.assert_array_equal(a.filled, b.filled)
    assert len(a.cv_rmse) <= 4
    want = np.zeros(small.shape, dtype=bool)
    want[3] = True
    c = dineof(small, land=land[:24, :32], max_modes=4, to_fill=want)
    h = hidden[:, :24, :32]
    np.testing.assert_array_equal(c.filled[want & h], a.filled[want & h])
    assert np.isnan(c.filled[~want & h]).all()


def test_dineof_svd_backends_agree(lowrank, monkeypatch):
    import benchmarks.dineof as peers

    truth, stack, land, hidden, noise = lowrank
    small = stack[:, :20, :30]  # 600 pixels x 20 times
    dense = dineof(small, land=land[:20, :30], max_modes=4, tol=1e-4)
    monkeypatch.setattr(peers, "_DENSE_MAX", 5)  # force scipy.sparse.linalg.svds
    lanczos = dineof(small, land=land[:20, :30], max_modes=4, tol=1e-4)
    assert lanczos.n_modes == dense.n_modes
    np.testing.assert_allclose(lanczos.filled, dense.filled, atol=1e-3)
    # more times than pixels: the Gram matrix is taken on the other side
    monkeypatch.undo()
    wide = stack[:, 5:8, 10:14]  # 12 pixels x 20 times
    res = dineof(wide, max_modes=4, tol=1e-4)
    h = hidden[:, 5:8, 10:14]
    assert np.isfinite(res.filled[h]).all()
    assert _rmse(res.filled[h], truth[:, 5:8, 10:14][h]) < 0.2


def test_dineof_degenerate_inputs():
    empty = np.full((4, 5, 6), np.nan)
    res = dineof(empty)
    assert res.n_modes == 0 and np.isnan(res.filled).all()
    with pytest.raises(ValueError):
        dineof(np.zeros((5, 6)))
