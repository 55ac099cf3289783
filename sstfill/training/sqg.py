"""Simulated SST for pre-training: a small surface quasi-geostrophic (SQG) model (numpy only).

Surface buoyancy ``theta`` (a stand-in for SST) on a doubly periodic square of side
``2 pi`` is advected by the surface velocity it induces,

.. math::

    \\partial_t\\theta + J(\\psi, \\theta) = F - r\\,\\theta + \\text{filter},
    \\qquad \\hat\\psi = -\\hat\\theta / |k|, \\qquad (u, v) = (-\\psi_y, \\psi_x),

solved pseudo-spectrally (FFTs, 2/3 de-aliasing) with the third-order strong-stability
Runge-Kutta scheme and a CFL-limited time step. A steady large-scale forcing ``F`` (random
phases on the ring ``k_force +- 1``) stirs the field, a linear damping ``r`` (the air-sea
heat flux restoring SST anomalies) keeps its variance bounded, and an exponential
spectral filter (Smith et al. 2002) removes the enstrophy that the forward cascade
carries to the grid scale. The field spins up from red noise into sharp fronts and thin
filaments, as SQG turbulence does (Held et al. 1995).

:func:`simulate` returns the nondimensional ``theta`` snapshots; :func:`sst_series`
turns them into SST in kelvin (a mean, a large-scale gradient, anomalies of a few K and
optional sensor noise) with snapshots one "day" apart: the default ``save_every`` gives
the same lag-1 correlation of day-to-day anomalies as the MUR L4 socal series (see
``examples/make_sqg_series.py`` and ``docs/benchmarks/pretraining.md``).
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

__all__ = ["DAY", "isotropic_spectrum", "simulate", "sst_series"]

#: Model time between two snapshots that mimic consecutive days: the lag-1 correlation of
#: the simulated anomalies then is 0.88, against 0.90 for the MUR L4 socal series (see ``sst_series``).
DAY = 0.18


def _wavenumbers(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    kx = np.fft.rfftfreq(n, 1.0 / n)[None, :]
    ky = np.fft.fftfreq(n, 1.0 / n)[:, None]
    return kx, ky, np.sqrt(kx**2 + ky**2)


def _ring(
    k: np.ndarray,
    centre: float,
    width: float,
    rng: np.random.Generator,
    slope: float | None = None,
) -> np.ndarray:
    """A random-phase spectral field: a ring at ``centre +- width``, or a red spectrum ``k**slope``."""
    phase = np.exp(2j * np.pi * rng.random(k.shape))
    amp = (
        np.where(np.abs(k - centre) <= width, 1.0, 0.0)
        if slope is None
        else np.where(k > 0, (k + 1e-9) ** slope, 0.0)
        * np.exp(-((k / (4 * centre)) ** 2))
    )
    field = sfft.irfft2(amp * phase, s=(k.shape[0], k.shape[0]))
    return sfft.rfft2((field / field.std()).astype("float32"))


def _resample(theta_hat: np.ndarray, n: int, n_out: int) -> np.ndarray:
    """The field of the half spectrum ``theta_hat`` (grid ``n``) on a grid of ``n_out`` (spectral interpolation)."""
    if n_out == n:
        return sfft.irfft2(theta_hat, s=(n, n))
    m = min(n, n_out) // 2
    out = np.zeros((n_out, n_out // 2 + 1), dtype=theta_hat.dtype)
    out[:m, :m] = theta_hat[:m, :m]
    out[-m:, :m] = theta_hat[-m:, :m]
    return sfft.irfft2(out, s=(n_out, n_out)) * (n_out / n) ** 2


def simulate(
    n: int = 256,
    steps: int = 10,
    save_every: float = DAY,
    seed: int = 0,
    *,
    spinup: float = 1.0,
    k_force: float = 4.0,
    forcing: float = 1.0,
    damping: float = 0.2,
    init_std: float = 2.0,
    cfl: float = 0.6,
    max_dt: float = 0.05,
    model_n: int | None = None,
) -> np.ndarray:
    """Run the SQG model and return ``steps`` snapshots of ``theta``, ``save_every`` apart.

    Parameters
    ----------
    n : int
        Grid points per side (the domain is ``2 pi`` wide, periodic both ways).
    steps : int
        Number of saved snapshots.
    save_every : float
        Model time between snapshots (:data:`DAY` mimics daily SST).
    seed : int
        Seeds the initial red noise and the forcing's phases: same seed, same series.
    spinup : float
        Model time run before the first snapshot (fronts and filaments form within ~0.5).
    k_force, forcing, damping : float
        Wavenumber, amplitude and linear damping rate of the steady large-scale forcing.
    cfl : float
        Courant number of the adaptive time step (``dt = cfl dx / max|u|``, at most ``max_dt``).
    model_n : int, optional
        Grid the model runs on, default ``n // 2``; snapshots are spectrally interpolated
        to ``n``. Half the points per side and half the time steps make it ~8x faster than
        ``model_n = n`` (256 x 256 x 10 snapshots: 6-8 s on one core of a busy machine),
        with fronts ~4 output pixels wide instead of ~2.

    Returns
    -------
    float32 array (steps, n, n)
        Nondimensional ``theta`` (order-1 standard deviation).

    Examples
    --------
    >>> th = simulate(n=64, steps=3, seed=1, spinup=1.0)
    >>> th.shape, th.dtype.name, bool(np.isfinite(th).all())
    ((3, 64, 64), 'float32', True)
    """
    if steps < 1 or n < 16:
        raise ValueError(
            f"simulate needs steps >= 1 and n >= 16, got steps={steps}, n={n}: pass larger values."
        )
    rng = np.random.default_rng(seed)
    n_out, n = n, (model_n or n // 2)
    kx, ky, k = (a.astype("float32") for a in _wavenumbers(n))
    inv_k = np.where(k > 0, 1.0 / np.where(k > 0, k, 1.0), 0.0)
    dealias = ((np.abs(kx) < n / 3) & (np.abs(ky) < n / 3)).astype("float32")
    # exponential filter: 1 below 0.65 k_max, then decays to ~1e-15 at k_max (Smith et al. 2002)
    kstar = np.sqrt((kx / (n / 2)) ** 2 + (ky / (n / 2)) ** 2)
    filt = np.where(kstar > 0.65, np.exp(-23.6 * (kstar - 0.65) ** 4), 1.0).astype(
        "float32"
    )
    inv_k = inv_k.astype("float32")
    # u, v, theta_x, theta_y from theta_hat in one batched inverse FFT
    ops = np.stack(
        [-1j * ky * -inv_k, 1j * kx * -inv_k, 1j * kx + 0 * ky, 1j * ky + 0 * kx]
    ).astype("complex64")
    theta = init_std * _ring(k, k_force, 1.0, rng, slope=-1.0)  # red-noise start
    force = np.float32(forcing) * _ring(k, k_force, 1.0, rng)
    dx = 2 * np.pi / n

    def rhs(th: np.ndarray) -> tuple[np.ndarray, float]:
        u, v, tx, ty = sfft.irfft2(ops * th, s=(n, n))
        adv = sfft.rfft2(u * tx + v * ty) * dealias
        return -adv + force - damping * th, float(max(np.abs(u).max(), np.abs(v).max()))

    out = np.empty((steps, n_out, n_out), dtype="float32")
    t, saved = 0.0, 0
    targets = spinup + save_every * np.arange(steps)
    while saved < steps:
        k1, umax = rhs(theta)
        dt = min(cfl * dx / max(umax, 1e-6), max_dt, targets[saved] - t)
        if dt > 1e-12:
            a = theta + dt * k1
            b = 0.75 * theta + 0.25 * (a + dt * rhs(a)[0])
            theta = (theta + 2.0 * (b + dt * rhs(b)[0])) / 3.0
            theta *= filt
            t += dt
        if t >= targets[saved] - 1e-9:
            out[saved] = _resample(theta, n, n_out)
            saved += 1
    if not np.isfinite(out).all():
        raise FloatingPointError(
            f"The SQG run blew up (seed={seed}): lower cfl (was {cfl}) or forcing (was {forcing})."
        )
    return out


def sst_series(
    n: int = 256,
    steps: int = 10,
    seed: int = 0,
    *,
    mean_k: tuple[float, float] = (285.0, 300.0),
    gradient_k: tuple[float, float] = (0.5, 4.0),
    anomaly_std_k: tuple[float, float] = (0.3, 1.5),
    noise_k: float = 0.0,
    save_every: float = DAY,
    **model,
) -> np.ndarray:
    """SST in kelvin from an SQG run: mean + large-scale gradient + scaled anomalies (+ noise).

    Each series draws (from ``seed``) a mean in ``mean_k``, a plane gradient of
    ``gradient_k`` kelvin across the domain in a random direction and an anomaly standard
    deviation in ``anomaly_std_k`` (the theta series is scaled by its own standard
    deviation). ``noise_k`` adds white sensor noise of that standard deviation to each
    snapshot (SLSTR L2 has ~0.1-0.3 K). Snapshots are ``save_every`` apart (:data:`DAY`
    by default: the lag-1 correlation of the anomalies, after removing each snapshot's
    mean and best-fit plane, is 0.88 (0.875-0.905 over 8 noise-free 256 x 256 series) against
    0.90 in MUR L4 socal, 2021-01-01..10; ``python benchmarks/pretrain_sqg.py --lag1``).

    Returns
    -------
    float32 array (steps, n, n), kelvin

    Examples
    --------
    >>> sst = sst_series(n=64, steps=2, seed=3, spinup=1.0, noise_k=0.2)
    >>> sst.shape, bool(280 < sst.mean() < 305)
    ((2, 64, 64), True)
    """
    rng = np.random.default_rng([seed, 1])
    theta = simulate(n, steps, save_every, seed, **model).astype("float64")
    theta = (theta - theta.mean()) / theta.std()
    mean = rng.uniform(*mean_k)
    grad = rng.uniform(*gradient_k)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:n, 0:n] / (n - 1) - 0.5
    plane = grad * (np.cos(angle) * xx + np.sin(angle) * yy)
    sst = mean + plane + rng.uniform(*anomaly_std_k) * theta
    if noise_k > 0:
        sst = sst + rng.normal(0.0, noise_k, size=sst.shape)
    return sst.astype("float32")


def isotropic_spectrum(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic variance spectrum of a periodic square field: wavenumbers 1..n/2 and power.

    Examples
    --------
    >>> k, p = isotropic_spectrum(np.random.default_rng(0).normal(size=(32, 32)))
    >>> k[:3].tolist(), p.shape
    ([1, 2, 3], (16,))
    """
    n = field.shape[-1]
    f = np.fft.fft2(field - field.mean())
    power = np.abs(f) ** 2 / n**4
    kx = np.fft.fftfreq(n, 1.0 / n)
    kk = np.rint(np.sqrt(kx[None, :] ** 2 + kx[:, None] ** 2)).astype(int)
    spec = np.bincount(kk.ravel(), power.ravel())
    ks = np.arange(1, n // 2 + 1)
    return ks, spec[ks]
