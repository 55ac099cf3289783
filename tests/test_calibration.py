"""Calibration metrics of a predicted error (sstfill.evaluation.calibration) and the coverage scale."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sstfill.evaluation.calibration import GAUSSIAN_COVERAGE, coverage, crps_gaussian, reliability, spread_skill
from sstfill.kernels.uncertainty import FEATURES, ErrorModel, calibrate_scale


@pytest.fixture(scope="module")
def calibrated():
    """Errors drawn with a pixel-varying sigma, and that sigma."""
    rng = np.random.default_rng(3)
    sigma = rng.uniform(0.05, 1.5, 200_000)
    return rng.normal(0.0, sigma), sigma


def test_a_calibrated_gaussian_covers_68_95_997(calibrated):
    errors, sigma = calibrated
    cov = coverage(errors, sigma)
    for k in (1, 2, 3):
        assert cov[k] == pytest.approx(GAUSSIAN_COVERAGE[k], abs=0.005)
    # too small a sigma covers too little, too large too much
    assert coverage(errors, 0.7 * sigma)[1] < 0.6 and coverage(errors, 1.5 * sigma)[1] > 0.8


def test_non_finite_pairs_are_ignored(calibrated):
    errors, sigma = calibrated
    e, s = errors.copy(), sigma.copy()
    e[::5] = np.nan
    s[1::7] = np.inf
    keep = np.isfinite(e) & np.isfinite(s)
    assert coverage(e, s) == coverage(errors[keep], sigma[keep])
    assert math.isnan(crps_gaussian([np.nan], [1.0]))


def test_zero_sigma_is_a_prediction_of_no_error_not_a_dropped_pixel():
    """sigma 0 with error 0.5 is outside every interval (coverage 1/2, not 1/1) and scores CRPS |0.5|; a negative sigma is dropped."""
    e, s = np.array([0.5, 0.1, 0.0, 0.3]), np.array([0.0, 1.0, 0.0, -1.0])
    assert coverage(e, s) == {1: 2 / 3, 2: 2 / 3, 3: 2 / 3}
    assert reliability(e, s, levels=(0.5, 0.99))[1].tolist() == [2 / 3, 2 / 3]
    z = 0.1
    crps_01 = z * math.erf(z / math.sqrt(2)) + 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) - 1 / math.sqrt(math.pi)
    assert crps_gaussian(e, s) == pytest.approx((0.5 + crps_01 + 0.0) / 3)
    assert spread_skill(e, s, bins=1)[2].tolist() == [3]
    assert crps_gaussian([0.0], [0.0]) == 0.0  # a perfect deterministic fill scores 0, as the docstring says (it was NaN)


def test_crps_matches_its_closed_form_and_a_monte_carlo_estimate():
    # CRPS of N(0, s) at 0 is s (sqrt(2) - 1) / sqrt(pi)
    assert crps_gaussian([0.0, 0.0], [1.0, 2.0]) == pytest.approx(1.5 * (math.sqrt(2) - 1) / math.sqrt(math.pi))
    # E|X - y| - E|X - X'| / 2 by sampling, for one truth 0.7 sigma away
    rng = np.random.default_rng(0)
    x, x2 = rng.normal(0, 0.4, 400_000), rng.normal(0, 0.4, 400_000)
    y = 0.28
    monte_carlo = np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x - x2))
    assert crps_gaussian([-y], [0.4]) == pytest.approx(monte_carlo, rel=0.01)  # errors are fill - truth


def test_crps_of_a_calibrated_gaussian_is_about_half_its_rmse(calibrated):
    errors, sigma = calibrated
    rmse = np.sqrt(np.mean(errors**2))
    assert 0.4 < crps_gaussian(errors, sigma) / rmse < 0.6


def test_reliability_lies_on_the_diagonal_when_calibrated(calibrated):
    errors, sigma = calibrated
    nominal, observed = reliability(errors, sigma)
    np.testing.assert_allclose(observed, nominal, atol=0.01)
    _, over = reliability(errors, 2 * sigma)
    assert (over[nominal <= 0.9] > nominal[nominal <= 0.9] + 0.05).all()


def test_spread_skill_bins_follow_sigma(calibrated):
    errors, sigma = calibrated
    spread, skill, count = spread_skill(errors, sigma, bins=8)
    assert len(spread) == 8 and count.sum() == errors.size and (np.diff(spread) > 0).all()
    np.testing.assert_allclose(skill, spread, rtol=0.05)
    # a sigma that does not know the error: equal spread, skill that ignores it
    _, skill_flat, _ = spread_skill(errors, np.full(errors.size, 1.0), bins=4)
    assert np.ptp(skill_flat) < 0.1


def test_calibrate_scale_finds_the_factor_of_a_mis_scaled_model(calibrated):
    errors, sigma = calibrated
    features = np.zeros((len(FEATURES), errors.size))
    features[0] = np.log(sigma)  # log sigma = log_distance feature: sigma**2 = exp(2 * f0) (fill part)
    hinges = (0.0,) * (len(FEATURES) - 5)  # the distance hinges' coefficients (their features are 0 here)
    model = ErrorModel((-50.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0) + hinges)
    np.testing.assert_allclose(model.sigma(features), sigma, rtol=1e-9)
    too_small = ErrorModel((-50.0, 0.0, 2 * np.log(0.6), 2.0, 0.0, 0.0, 0.0) + hinges)
    fixed = calibrate_scale(too_small, features, errors)
    assert fixed.scale == pytest.approx(1 / 0.6, rel=0.03)
    assert fixed.coefficients == too_small.coefficients
    cov = coverage(errors, fixed.sigma(features))
    assert all(abs(cov[k] - GAUSSIAN_COVERAGE[k]) < 0.01 for k in (1, 2, 3))
