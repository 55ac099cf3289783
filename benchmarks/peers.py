"""Classical gap-filling methods used as baselines ("peers") in the benchmarks.

Every function follows the same conventions:

* ``field`` is a float array with NaN at every pixel that is not observed.
* ``land`` (optional, boolean, broadcastable to ``field``) marks land pixels.
  Land is never used as data, whatever value it holds, and is returned NaN.
* ``to_fill`` (optional, boolean, same shape as ``field``) marks the pixels the
  caller wants filled; the default is every non-land NaN pixel.  The methods
  always work on *all* gaps internally (a gap the caller does not want filled
  is still unknown, never data); ``to_fill`` only selects which estimates are
  written to the output.  Pixels in ``to_fill`` that are observed keep their
  observed value, those on land stay NaN.
* The result is a new ``float32`` array; the input is never modified.  Observed
  ocean pixels are returned bit-for-bit equal to ``field.astype(np.float32)``
  (i.e. bit-for-bit unchanged for float32 input).  Filled pixels are finite
  wherever the method can fill them; everything else that is not observed is
  NaN.
* A connected region of gaps (connected through ocean, not through land) that
  touches no observed ocean pixel cannot be filled from data and stays NaN.

Single-image methods (:func:`fill_biharmonic`, :func:`fill_laplace`,
:func:`fill_telea`) work on the last two axes and loop over any leading axes.
:func:`dineof` needs a ``(time, y, x)`` stack; it lives in ``benchmarks/dineof.py`` and is
re-exported here, and the input checks all methods share are ``benchmarks/peer_inputs.py``.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, sparse
from scipy.sparse.linalg import spsolve

from benchmarks.dineof import DineofResult, dineof
from benchmarks.peer_inputs import prepare_inputs

__all__ = [
    "DineofResult",
    "PEERS",
    "dineof",
    "fill_biharmonic",
    "fill_laplace",
    "fill_telea",
]

_CROSS = ndimage.generate_binary_structure(2, 1)  # 4-connectivity
_SQUARE = ndimage.generate_binary_structure(2, 2)  # 8-connectivity


# --------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------
def _active_gaps(
    observed: NDArray[np.bool_],
    gaps: NDArray[np.bool_],
    wanted: NDArray[np.bool_],
    structure: NDArray[np.bool_] = _CROSS,
) -> NDArray[np.bool_]:
    """Gap regions of a 2-D slice that can and need to be filled.

    Gaps are split into regions connected through ``structure`` (never
    through land).  A region is kept if it is adjacent to an observed pixel
    (otherwise there is no data to fill it from) and contains a ``wanted``
    pixel (otherwise nobody asked for it).
    """
    labels, n = ndimage.label(gaps, structure=structure)
    if n == 0:
        return np.zeros_like(gaps)
    touching = ndimage.binary_dilation(observed, structure=structure) & gaps
    ok = np.zeros(n + 1, dtype=bool)
    ok[np.unique(labels[touching])] = True
    need = np.zeros(n + 1, dtype=bool)
    need[np.unique(labels[wanted])] = True
    keep = ok & need
    keep[0] = False
    return keep[labels]


def _loop_2d(
    fill2d: Callable[[NDArray[np.float32], NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]], None],
    field: ArrayLike,
    land: ArrayLike | None,
    to_fill: ArrayLike | None,
) -> NDArray[np.float32]:
    """Apply ``fill2d(out, land, observed, wanted)`` (in place) to every 2-D slice."""
    out, land_b, observed, wanted = prepare_inputs(field, land, to_fill)
    for idx in np.ndindex(out.shape[:-2]):
        if wanted[idx].any() and observed[idx].any():
            fill2d(out[idx], land_b[idx], observed[idx], wanted[idx])
    return out


# --------------------------------------------------------------------------
# biharmonic (scikit-image)
# --------------------------------------------------------------------------
_BIHARMONIC_REACH = 5  # pixels; 4 suffices (checked), 1 pixel of margin


def fill_biharmonic(
    field: ArrayLike,
    land: ArrayLike | None = None,
    to_fill: ArrayLike | None = None,
) -> NDArray[np.float32]:
    """Fill gaps by biharmonic inpainting (``skimage.restoration.inpaint_biharmonic``).

    Land pixels are handed to scikit-image as *unknown*, together with the
    gaps: the biharmonic solution is computed over land too, then land is set
    back to NaN.  (Telling scikit-image that land is "known" with some neutral
    value would bias every gap next to the coast towards that value.)  The
    method is applied to each 2-D slice over the last two axes.

    Parameters
    ----------
    field : array_like, shape (..., y, x)
        Float field, NaN where not observed.
    land : array_like of bool, optional
        Land mask broadcastable to ``field``; never used as data, returned NaN.
    to_fill : array_like of bool, optional
        Pixels to fill (default: every non-land NaN pixel).

    Returns
    -------
    numpy.ndarray of float32
        Filled copy of ``field``.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.add.outer(np.arange(8.0), np.arange(9.0))
    >>> f[3:5, 3:6] = np.nan
    >>> bool(np.allclose(fill_biharmonic(f), np.add.outer(np.arange(8.0), np.arange(9.0)), atol=1e-3))
    True
    """
    from skimage.restoration import inpaint_biharmonic

    def _one(out: NDArray[np.float32], land_b: NDArray[np.bool_], obs: NDArray[np.bool_], wanted: NDArray[np.bool_]) -> None:
        target = _active_gaps(obs, ~obs & ~land_b, wanted, _SQUARE) & wanted
        if not target.any():
            return
        # Unknowns = gaps + land.  scikit-image's system for a masked region
        # reads known pixels up to 4 pixels away (13-point stencil applied on
        # the region and a 2-pixel rim), so masked regions farther than that
        # from every region holding a target pixel do not affect the result:
        # hand them over as "known" (their value is never read) to save work.
        unknown = ~obs
        labels, _ = ndimage.label(unknown, structure=_SQUARE)
        needed = np.isin(labels, np.unique(labels[target]))
        reach = ndimage.binary_dilation(needed, structure=_SQUARE, iterations=_BIHARMONIC_REACH)
        solve = np.isin(labels, np.unique(labels[reach & unknown]))
        img = np.where(obs, out, np.float32(0.0)).astype(np.float64)
        res = inpaint_biharmonic(img, solve, split_into_regions=True)
        out[target] = res[target].astype(np.float32)

    return _loop_2d(_one, field, land, to_fill)


# --------------------------------------------------------------------------
# Laplace / harmonic interpolation
# --------------------------------------------------------------------------
_DIRS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def _shift_slices(dy: int, dx: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices ``(src, dst)`` so that ``a[dst]`` is the (dy, dx) neighbour of ``a[src]``."""

    def one(d: int) -> tuple[slice, slice]:
        if d == 0:
            return slice(None), slice(None)
        if d > 0:
            return slice(None, -d), slice(d, None)
        return slice(-d, None), slice(None, d)

    (sy, ty), (sx, tx) = one(dy), one(dx)
    return (sy, sx), (ty, tx)


def _laplace_direct(u: NDArray[np.float64], ocean: NDArray[np.bool_], unknown: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Solve the 5-point Laplace equation for ``unknown`` pixels exactly.

    ``u`` holds the Dirichlet data at known ocean pixels.  Neighbours that are
    land or outside the array are left out of the stencil (natural Neumann
    boundary).  Returns the solution at ``unknown`` pixels (C order).
    """
    n = int(unknown.sum())
    idx = np.full(unknown.shape, -1, dtype=np.int64)
    idx[unknown] = np.arange(n)
    diag = np.zeros(n)
    rhs = np.zeros(n)
    rows, cols = [], []
    for dy, dx in _DIRS:
        src, dst = _shift_slices(dy, dx)
        valid = unknown[src] & ocean[dst]
        i = idx[src][valid]
        diag[i] += 1.0  # each pixel appears at most once per direction
        nb_unknown = unknown[dst][valid]
        rows.append(i[nb_unknown])
        cols.append(idx[dst][valid][nb_unknown])
        rhs[i[~nb_unknown]] += u[dst][valid][~nb_unknown]
    r = np.concatenate(rows + [np.arange(n)])
    c = np.concatenate(cols + [np.arange(n)])
    v = np.concatenate([-np.ones(r.size - n), diag])
    a = sparse.csc_matrix((v, (r, c)), shape=(n, n))
    return np.asarray(spsolve(a, rhs), dtype=np.float64)


def _laplace_sor(
    u: NDArray[np.float64],
    ocean: NDArray[np.bool_],
    unknown: NDArray[np.bool_],
    omega: float,
    tol: float,
    max_iter: int,
) -> NDArray[np.float64]:
    """Red-black SOR for the same system as :func:`_laplace_direct`."""
    h, w = u.shape
    pad = np.zeros((h + 2, w + 2))
    v = pad[1:-1, 1:-1]  # view: updates to ``v`` update ``pad``
    v[ocean] = u[ocean]
    # cheap initial guess: value of the nearest known pixel
    known = ocean & ~unknown
    _, (iy, ix) = ndimage.distance_transform_edt(~known, return_indices=True)
    v[unknown] = u[iy[unknown], ix[unknown]]
    opad = np.zeros((h + 2, w + 2))
    opad[1:-1, 1:-1] = ocean
    deg = opad[:-2, 1:-1] + opad[2:, 1:-1] + opad[1:-1, :-2] + opad[1:-1, 2:]
    inv_deg = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    parity = np.add.outer(np.arange(h), np.arange(w)) % 2 == 0
    weights = [omega * (unknown & parity), omega * (unknown & ~parity)]
    weights = [wt * inv_deg for wt in weights] + weights  # [wr/deg, wb/deg, wr, wb]
    change = np.inf
    for _ in range(max_iter):
        change = 0.0
        for color in (0, 1):
            nsum = pad[:-2, 1:-1] + pad[2:, 1:-1]
            nsum += pad[1:-1, :-2]
            nsum += pad[1:-1, 2:]
            # delta = omega * (nsum / deg - v) on this colour, 0 elsewhere
            delta = nsum * weights[color]
            delta -= weights[2 + color] * v
            v += delta
            change = max(change, float(np.abs(delta).max()))
        if change < tol:
            break
    else:
        warnings.warn(
            f"fill_laplace(method='gauss-seidel') did not converge in {max_iter} iterations "
            f"(last max update {change:.3g} > tol {tol:.3g})",
            RuntimeWarning,
            stacklevel=4,
        )
    return v[unknown].copy()


def fill_laplace(
    field: ArrayLike,
    land: ArrayLike | None = None,
    method: str = "direct",
    to_fill: ArrayLike | None = None,
    *,
    omega: float = 1.9,
    tol: float = 1e-6,
    max_iter: int = 20000,
) -> NDArray[np.float32]:
    """Fill gaps with the solution of the Laplace equation (harmonic interpolation).

    Observed pixels are Dirichlet data; the array edge and the coast are
    natural (zero-flux Neumann) boundaries, i.e. neighbours outside the array
    or on land are left out of the 5-point stencil.  Only gap regions that
    contain a pixel of ``to_fill`` are solved (regions are independent).

    Parameters
    ----------
    field : array_like, shape (..., y, x)
        Float field, NaN where not observed.
    land : array_like of bool, optional
        Land mask broadcastable to ``field``; never used as data, returned NaN.
    method : {"direct", "gauss-seidel"}
        ``"direct"`` solves the sparse linear system for the unknown pixels
        exactly (``scipy.sparse.linalg.spsolve``).  ``"gauss-seidel"`` runs
        red-black successive over-relaxation (vectorised numpy) from the
        nearest-observed-value initial guess until the largest update of a
        sweep is below ``tol``.
    to_fill : array_like of bool, optional
        Pixels to fill (default: every non-land NaN pixel).
    omega : float
        SOR relaxation factor (``"gauss-seidel"`` only), in (0, 2).
    tol : float
        Stopping tolerance on the largest per-sweep update, in field units.
    max_iter : int
        Maximum number of red-black sweeps; a ``RuntimeWarning`` is issued if
        it is reached.

    Returns
    -------
    numpy.ndarray of float32
        Filled copy of ``field``.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.add.outer(np.arange(6.0), 2 * np.arange(7.0))  # harmonic ramp
    >>> g = f.copy(); g[2:4, 2:5] = np.nan
    >>> bool(np.allclose(fill_laplace(g), f))
    True
    >>> bool(np.allclose(fill_laplace(g, method="gauss-seidel"), f, atol=1e-4))
    True
    """
    if method not in ("direct", "gauss-seidel"):
        raise ValueError(f"method must be 'direct' or 'gauss-seidel', got {method!r}")
    if not 0.0 < omega < 2.0:
        raise ValueError(f"omega must be in (0, 2), got {omega}")

    def _one(out: NDArray[np.float32], land_b: NDArray[np.bool_], obs: NDArray[np.bool_], wanted: NDArray[np.bool_]) -> None:
        active = _active_gaps(obs, ~obs & ~land_b, wanted, _CROSS)
        if not active.any():
            return
        # crop to the bounding box of the active regions plus a 1-pixel rim
        ys, xs = np.nonzero(active)
        box = (
            slice(max(ys.min() - 1, 0), ys.max() + 2),
            slice(max(xs.min() - 1, 0), xs.max() + 2),
        )
        unknown = active[box]
        # ocean = pixels that take part: known data + active unknowns; other
        # gaps cannot touch an active region (else they would be part of it)
        ocean = obs[box] | unknown
        u = np.where(obs[box], out[box], 0.0).astype(np.float64)
        if method == "direct":
            sol = _laplace_direct(u, ocean, unknown)
        else:
            sol = _laplace_sor(u, ocean, unknown, omega, tol, max_iter)
        sub = out[box]
        tgt = wanted[box] & unknown
        sub[tgt] = sol[tgt[unknown]].astype(np.float32)

    return _loop_2d(_one, field, land, to_fill)


# --------------------------------------------------------------------------
# Telea fast marching (OpenCV)
# --------------------------------------------------------------------------
_TELEA_SCALE = float(2**20)  # see fill_telea: OpenCV's Telea adds O(1) absolute errors


def fill_telea(
    field: ArrayLike,
    land: ArrayLike | None = None,
    radius: float = 5,
    to_fill: ArrayLike | None = None,
) -> NDArray[np.float32]:
    """Fill gaps with Telea's fast-marching inpainting (``cv2.inpaint``, ``INPAINT_TELEA``).

    OpenCV (checked with 5.0) accepts 8-bit, 16-bit unsigned and single-channel
    32-bit float images (float64 is rejected), but its Telea implementation
    adds a *normalised* gradient term to every inpainted pixel: an error of up
    to about +-1.4 in image units, whatever the data range, even on a constant
    image.  Harmless for 0..255 images, but for SST in degC it means errors of
    ~1 degC.  The observed values are therefore mapped linearly onto
    ``0 .. 2**20`` in float32 before inpainting and mapped back afterwards,
    which shrinks that artefact to ~1e-6 of the observed range (a uint16
    rescaling would do almost as well but adds quantisation).

    Land is given to OpenCV as part of the inpainting mask (filled, then set
    back to NaN), so it is never used as data; note that Telea marches inward
    and re-uses already inpainted pixels, so values can travel across a
    narrow land strip.

    Parameters
    ----------
    field : array_like, shape (..., y, x)
        Float field, NaN where not observed.
    land : array_like of bool, optional
        Land mask broadcastable to ``field``; never used as data, returned NaN.
    radius : float
        Neighbourhood radius in pixels (``inpaintRadius``).
    to_fill : array_like of bool, optional
        Pixels to fill (default: every non-land NaN pixel).

    Returns
    -------
    numpy.ndarray of float32
        Filled copy of ``field``.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.full((10, 10), 18.0); f[4:6, 4:6] = np.nan
    >>> bool(np.allclose(fill_telea(f), 18.0))
    True
    """
    import cv2

    def _one(out: NDArray[np.float32], land_b: NDArray[np.bool_], obs: NDArray[np.bool_], wanted: NDArray[np.bool_]) -> None:
        target = _active_gaps(obs, ~obs & ~land_b, wanted, _SQUARE) & wanted
        if not target.any():
            return
        vals = out[obs].astype(np.float64)
        lo, hi = float(vals.min()), float(vals.max())
        span = (hi - lo) / _TELEA_SCALE if hi > lo else 1.0
        img = np.zeros(out.shape, dtype=np.float32)
        img[obs] = (vals - lo) / span
        mask = (~obs).astype(np.uint8)
        res = cv2.inpaint(img, mask, float(radius), cv2.INPAINT_TELEA)
        out[target] = (res[target].astype(np.float64) * span + lo).astype(np.float32)

    return _loop_2d(_one, field, land, to_fill)


PEERS: dict[str, Callable[..., NDArray[np.float32]]] = {
    "biharmonic": fill_biharmonic,
    "laplace": fill_laplace,
    "telea": fill_telea,
}
"""Single-image peer methods by name (:func:`dineof` needs a time series)."""
