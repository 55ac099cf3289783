"""The SQG simulator of pre-training SST (sstfill.training.sqg): physics-level checks on small runs."""

from __future__ import annotations

import numpy as np
import pytest

from sstfill.training.sqg import DAY, isotropic_spectrum, simulate, sst_series


@pytest.fixture(scope="module")
def run128() -> np.ndarray:
    return simulate(n=128, steps=6, seed=0)


def _anomaly_corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef((a - a.mean()).ravel(), (b - b.mean()).ravel())[0, 1])


def _gradient_kurtosis(field: np.ndarray) -> float:
    gy, gx = np.gradient(field.astype("float64"))
    g = np.hypot(gx, gy)
    return float(((g - g.mean()) ** 4).mean() / g.var() ** 2)


def test_deterministic_by_seed():
    a = simulate(n=64, steps=2, seed=3, spinup=0.3)
    b = simulate(n=64, steps=2, seed=3, spinup=0.3)
    c = simulate(n=64, steps=2, seed=4, spinup=0.3)
    np.testing.assert_array_equal(a, b)
    assert abs(_anomaly_corr(a[-1], c[-1])) < 0.5


def test_variance_stays_bounded_over_a_long_run():
    # 5 model time units (~28 simulated days, ~40 eddy turnovers): forcing and damping balance
    th = simulate(n=64, steps=10, save_every=0.5, seed=1)
    std = th.std(axis=(1, 2))
    assert np.isfinite(th).all()
    assert 0.5 < std.min() and std.max() < 4.0
    assert std.max() / std.min() < 1.5


def test_red_spectrum_in_the_inertial_range(run128):
    k, p = isotropic_spectrum(run128[-1].astype("float64"))
    sel = (k >= 4) & (k <= 20)
    slope = np.polyfit(np.log(k[sel]), np.log(p[sel]), 1)[0]
    # SQG's forward cascade gives about k^-5/3; white noise would give ~+1 (per shell), a smooth field far below -4
    assert -3.5 < slope < -1.2, slope


def test_fronts_are_sharper_than_a_gaussian_field_of_the_same_spectrum(run128):
    field = run128[-1].astype("float64")
    phases = np.exp(2j * np.pi * np.random.default_rng(0).random(field.shape))
    gaussian = np.real(np.fft.ifft2(np.abs(np.fft.fft2(field)) * phases))
    assert _gradient_kurtosis(field) > _gradient_kurtosis(gaussian) + 0.5


def test_consecutive_days_are_correlated_like_mur(run128):
    lag1 = [_anomaly_corr(run128[i], run128[i + 1]) for i in range(len(run128) - 1)]
    lag5 = _anomaly_corr(run128[0], run128[5])
    # MUR L4 socal 2021-01: 0.90 (0.83-0.96) after removing each day's plane; the field evolves
    assert 0.8 < np.mean(lag1) < 0.97, lag1
    assert lag5 < np.mean(lag1) - 0.15


def test_sst_series_is_kelvin_with_a_gradient_and_noise():
    clean = sst_series(n=64, steps=2, seed=5, spinup=0.5)
    noisy = sst_series(n=64, steps=2, seed=5, spinup=0.5, noise_k=0.3)
    assert clean.dtype == np.float32 and clean.shape == (2, 64, 64)
    assert 283 < clean.mean() < 302 and 0.2 < clean.std() < 5
    residual = (noisy - clean).astype("float64")
    assert abs(residual.std() - 0.3) < 0.02 and abs(residual.mean()) < 0.02
    assert DAY > 0


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="steps >= 1"):
        simulate(n=64, steps=0)
