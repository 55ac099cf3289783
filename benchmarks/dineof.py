"""DINEOF (data interpolating empirical orthogonal functions), a peer that needs a time series.

Beckers & Rixen (2003), Alvera-Azcarate et al. (2005); the input conventions are those of
``benchmarks/peers.py`` (``benchmarks/peer_inputs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.linalg import svds

from benchmarks.peer_inputs import prepare_inputs

__all__ = ["DineofResult", "dineof"]


@dataclass(frozen=True)
class DineofResult:
    """Result of :func:`dineof`.

    Attributes
    ----------
    filled : numpy.ndarray of float32, shape (time, y, x)
        Filled copy of the input stack (observed unchanged, land NaN).
    n_modes : int
        Number of EOF modes chosen by cross-validation (0 if nothing could
        be done).
    cv_rmse : list of float
        Cross-validation RMSE for ``k = 1, 2, ...`` modes (``cv_rmse[k-1]``).
    mean : float
        Mean of the observed values, removed before the decomposition.
    n_iter : list of int
        Iterations used for each ``k`` during cross-validation.
    final_iter : int
        Iterations of the final reconstruction with ``n_modes`` modes.
    cv_mask : numpy.ndarray of bool, shape (time, y, x)
        Observed pixels that were held out for cross-validation.
    """

    filled: NDArray[np.float32]
    n_modes: int
    cv_rmse: list[float]
    mean: float = float("nan")
    n_iter: list[int] = dc_field(default_factory=list)
    final_iter: int = 0
    cv_mask: NDArray[np.bool_] | None = None


_DENSE_MAX = 400  # use a dense eigen-decomposition of the Gram matrix up to this size


def _rank_k(a: NDArray[np.float64], k: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """Best rank-``k`` approximation of ``a`` (truncated SVD reconstruction)."""
    m, n = a.shape
    if min(m, n) <= _DENSE_MAX:
        # eigen-decomposition of the small Gram matrix gives the leading
        # singular vectors of the thin side; project onto them
        if n <= m:
            _, v = np.linalg.eigh(a.T @ a)  # ascending eigenvalues
            vk = v[:, -k:]
            return a @ (vk @ vk.T)
        _, u = np.linalg.eigh(a @ a.T)
        uk = u[:, -k:]
        return (uk @ uk.T) @ a
    v0 = rng.standard_normal(min(m, n))
    u, s, vt = svds(a, k=k, v0=v0)
    return (u * s) @ vt


def _cv_blocks(
    obs: NDArray[np.bool_], n_target: int, block: int, rng: np.random.Generator
) -> NDArray[np.bool_]:
    """Pick ~``n_target`` observed pixels in ``block`` x ``block`` spatial patches."""
    cv = np.zeros_like(obs)
    obs_idx = np.flatnonzero(obs)
    if n_target <= 0 or obs_idx.size == 0:
        return cv
    half = block // 2
    _, h, w = obs.shape
    count = 0
    for _ in range(100):
        need = n_target - count
        n_new = max(1, int(np.ceil(need / max(block * block * 0.5, 1.0))))
        centres = rng.choice(obs_idx, size=min(n_new, obs_idx.size), replace=False)
        t, y, x = np.unravel_index(centres, obs.shape)
        for dy in range(-half, block - half):
            for dx in range(-half, block - half):
                yy = np.clip(y + dy, 0, h - 1)
                xx = np.clip(x + dx, 0, w - 1)
                cv[t, yy, xx] = True
        cv &= obs
        count = int(cv.sum())
        if count >= n_target:
            break
    return cv


def _em_svd(
    a: NDArray[np.float64],
    miss: NDArray[np.float64],
    k: int,
    tol: float,
    max_iter: int,
    scale: float,
    rng: np.random.Generator,
) -> int:
    """Iterate ``a[miss] <- rank_k(a)[miss]`` in place until converged.

    ``miss`` is 1.0 at the entries to re-estimate and 0.0 elsewhere.  Stops
    when the RMS change of those entries is below ``tol * scale`` (the
    DINEOF criterion) or after ``max_iter`` iterations.
    """
    n_miss = float(miss.sum())
    if n_miss == 0:
        return 0
    for it in range(1, max_iter + 1):
        delta = _rank_k(a, k, rng)
        delta -= a
        delta *= miss
        a += delta
        change = np.sqrt(np.vdot(delta, delta) / n_miss)
        if change < tol * scale:
            return it
    return max_iter


def dineof(
    stack: ArrayLike,
    land: ArrayLike | None = None,
    max_modes: int | None = None,
    n_cv: float = 0.02,
    tol: float = 1e-3,
    max_iter: int = 300,
    seed: int = 0,
    to_fill: ArrayLike | None = None,
    *,
    cv_block: int = 3,
    patience: int = 3,
) -> DineofResult:
    """Fill a ``(time, y, x)`` stack with DINEOF (data interpolating EOFs).

    Beckers & Rixen (2003), Alvera-Azcarate et al. (2005).  Ocean pixels form
    a (space x time) matrix; the mean of all observed values is removed and
    gaps start at 0.  For ``k = 1, 2, ...`` modes the gap entries are replaced
    repeatedly by the rank-``k`` truncated-SVD reconstruction until the RMS
    change falls below ``tol`` times the standard deviation of the data (the
    run for ``k + 1`` starts from the converged ``k`` state).  The number of
    modes is chosen by cross-validation: a seeded random set of observed
    pixels, taken in small ``cv_block`` x ``cv_block`` patches to mimic
    clouds, is hidden and the ``k`` with the lowest RMSE on them is kept.
    The search stops after ``patience`` modes without improvement or at
    ``max_modes``.  Finally the held-out pixels are put back and the gaps are
    re-converged with the chosen ``k`` (starting from the cross-validation
    state for that ``k``).

    Pixels never observed and time steps with no observation are left out of
    the matrix and stay NaN.

    Parameters
    ----------
    stack : array_like, shape (time, y, x)
        Float data, NaN where not observed.
    land : array_like of bool, optional
        Land mask, shape ``(y, x)`` or ``(time, y, x)``; never used as data,
        returned NaN.
    max_modes : int, optional
        Largest number of modes tried (default ``min(min(m, n) - 1, 50)`` for
        an ``m`` pixels x ``n`` times matrix).
    n_cv : float
        Size of the cross-validation set: a fraction of the observed pixels
        if < 1, otherwise a number of pixels.
    tol : float
        Convergence tolerance (relative RMS change of the gap values).
    max_iter : int
        Maximum number of iterations per ``k``.
    seed : int
        Seed for the cross-validation set.
    to_fill : array_like of bool, optional
        Pixels to fill (default: every non-land NaN pixel).
    cv_block : int
        Side of the square patches of the cross-validation set.
    patience : int
        Stop the mode search after this many ``k`` without a lower CV RMSE.

    Returns
    -------
    DineofResult
        ``filled`` (float32), ``n_modes``, ``cv_rmse`` (per ``k``), and more.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> y, x = np.mgrid[0:30, 0:40] / 8.0
    >>> modes = np.stack([np.sin(x) * np.cos(y), np.cos(0.5 * x + y),
    ...                   np.exp(-(x - 2) ** 2 - (y - 2) ** 2)])
    >>> amp = rng.standard_normal((16, 3)); amp -= amp.mean(axis=0)
    >>> truth = 20 + np.einsum("tk,kyx->tyx", amp, modes)
    >>> truth += 0.02 * rng.standard_normal(truth.shape)
    >>> gappy = np.where(rng.random(truth.shape) < 0.3, np.nan, truth)
    >>> res = dineof(gappy)
    >>> res.n_modes
    3
    >>> bool(np.sqrt(np.mean((res.filled - truth)[np.isnan(gappy)] ** 2)) < 0.05)
    True
    """
    out, land3, observed, wanted = prepare_inputs(stack, land, to_fill, min_ndim=3)
    if out.ndim != 3:
        raise ValueError(f"stack must be (time, y, x), got shape {out.shape}")
    if not 0 < tol:
        raise ValueError("tol must be positive")
    nt = out.shape[0]
    rng = np.random.default_rng(seed)

    obs_tp = observed.reshape(nt, -1)
    rows = np.flatnonzero(obs_tp.any(axis=0))  # pixels observed at least once
    cols = np.flatnonzero(obs_tp[:, rows].any(axis=1)) if rows.size else rows
    m, n = rows.size, cols.size
    empty_cv = np.zeros(out.shape, dtype=bool)
    if m < 2 or n < 2:
        return DineofResult(out, 0, [], cv_mask=empty_cv)

    # (space x time) matrix of anomalies, gaps at 0
    vals = out.reshape(nt, -1)[np.ix_(cols, rows)].T.astype(np.float64)  # (m, n)
    obs_m = obs_tp[np.ix_(cols, rows)].T.copy()
    mean = float(vals[obs_m].mean())
    a = np.where(obs_m, vals - mean, 0.0)
    scale = float(np.sqrt(np.mean(a[obs_m] ** 2))) or 1.0

    k_max = min(m, n) - 1
    if max_modes is not None:
        k_max = min(k_max, int(max_modes))
    else:
        k_max = min(k_max, 50)
    if k_max < 1:
        return DineofResult(out, 0, [], mean=mean, cv_mask=empty_cv)

    # cross-validation set, in small spatial patches of the (time, y, x) grid
    n_obs = int(obs_m.sum())
    n_target = int(round(n_cv * n_obs)) if n_cv < 1 else int(n_cv)
    n_target = min(max(n_target, 1), n_obs // 2)
    cv3 = _cv_blocks(observed, n_target, max(int(cv_block), 1), rng)
    cv_m = cv3.reshape(nt, -1)[np.ix_(cols, rows)].T
    cv_true = a[cv_m]
    a[cv_m] = 0.0
    gaps_f = (~obs_m).astype(np.float64)
    miss_f = gaps_f + cv_m  # 1.0 where re-estimated during cross-validation

    cv_rmse: list[float] = []
    n_iter: list[int] = []
    best_k, best_err = 1, np.inf
    best_state = a.copy()
    for k in range(1, k_max + 1):
        n_iter.append(_em_svd(a, miss_f, k, tol, max_iter, scale, rng))
        err = float(np.sqrt(np.mean((a[cv_m] - cv_true) ** 2))) if cv_true.size else 0.0
        cv_rmse.append(err)
        if err < best_err:
            best_k, best_err = k, err
            np.copyto(best_state, a)
        elif k - best_k >= patience:
            break

    # final reconstruction: held-out pixels back, chosen k, warm start from
    # the cross-validation state for that k
    a = best_state
    a[cv_m] = cv_true
    final_iter = _em_svd(a, gaps_f, best_k, tol, max_iter, scale, rng)

    rec = np.full(out.shape, np.nan, dtype=np.float32)
    rec.reshape(nt, -1)[np.ix_(cols, rows)] = (a + mean).T.astype(np.float32)
    target = wanted & np.isfinite(rec)
    out[target] = rec[target]
    return DineofResult(
        filled=out,
        n_modes=best_k,
        cv_rmse=cv_rmse,
        mean=mean,
        n_iter=n_iter,
        final_iter=final_iter,
        cv_mask=cv3,
    )
