"""The neighbouring days' observations as a guess under a cloud, blended with a fill far from the day's data. Numpy.

SST changes little from one day to the next, except by large-scale warming or cooling: a
pixel under today's cloud that was observed yesterday or the day before is known better
from those observations than from a fill that reaches across tens of kilometres of cloud.
The *persistence guess* of an image is the weighted mean of its neighbouring steps'
observations (weights ``1 / dt**2``, ``dt`` in days) plus the image's departure from that
mean, filled harmonically from the pixels where both are observed (the day-to-day change
is smooth). Pixels none of the steps within 2 days observed get the guess of the steps 3
to 5 days away, made the same way on its own (:func:`layered_guess`). :func:`blend_with_guess` then keeps the fill near the image's own data and
moves to the guess away from it, with the fill's weight (:func:`fill_weight`)
``1 / (1 + d / BLEND_SCALE_KM)`` at ``d`` km from the nearest observed pixel of the image;
where none of those steps saw a gap pixel, the blend's correction of the fill is carried on
harmonically (:func:`continue_past_guess`), so the field has no step where the guess ends;
the error of a blended pixel is ``w`` times the fill's plus ``1 - w`` times the guess's
(:func:`blended_sigma`): ``guess_ratio`` times the fill's, at most ``guess_cap`` times the
spread of the image's departure from the prior that made the guess (:func:`departure_spread`;
:class:`~sstfill.kernels.uncertainty.ErrorModel`).

Measured (``docs/benchmarks/persistence.md``): on the fit set (the MUR series' training
days, and their clouds wider than a tile), the ``context`` model's fills went from 0.174 to
0.161 and from 0.318 to 0.287 degC with a scale of 32 km, the best of 8 to 128 km; in a
scratch run the same scale was best on the 0.01 and the 0.1 degree series alike (a
distance, not a number of pixels), and neighbours within 5 days instead of 2 were worse.
The steps 3 to 5 days away as a second layer, only where the nearer ones saw nothing
(23-35 % of the hidden pixels of those sets), lowered the fit set's errors under clouds
wider than a tile by 7.4 % (``context``) and 11.6 % (``default``). The guess's error does
not grow with the distance from the image's data as the fill's does: beyond a few tens of
kilometres it levels off near the day-to-day change's own spread, hence the cap
(``docs/benchmarks/calibration.md``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["GUESS_OFFSETS_DAYS", "FAR_OFFSETS_DAYS", "BLEND_SCALE_KM", "step_weights", "neighbour_prior", "persistence_guess", "layered_guess",
           "departure_spread", "fill_weight", "blend_with_guess", "continue_past_guess", "blended_sigma"]

#: The neighbouring steps a guess is made of: the steps nearest to 2 and 1 days before and
#: after (within :data:`~sstfill.kernels.windows.STEP_TOLERANCE_DAYS`).
GUESS_OFFSETS_DAYS = (-2.0, -1.0, 1.0, 2.0)

#: The second layer of the guess, where none of :data:`GUESS_OFFSETS_DAYS` observed a pixel:
#: the steps nearest to 3, 4 and 5 days before and after.
FAR_OFFSETS_DAYS = (-5.0, -4.0, -3.0, 3.0, 4.0, 5.0)

#: The fewest pixels an image and a prior share for :func:`departure_spread` to measure their spread.
MIN_SPREAD_PIXELS = 16

#: Distance (km) from the image's data at which the fill and the guess weigh the same.
BLEND_SCALE_KM = 32.0


def step_weights(days: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Weight ``1 / dt**2`` (``dt`` in days) of each step's neighbouring steps, 0 for none (-1).

    Examples
    --------
    >>> step_weights(np.array([0.0, 1.0, 3.0]), np.array([[-1, 1], [0, 2], [1, -1]])).tolist()
    [[0.0, 1.0], [1.0, 0.25], [0.25, 0.0]]
    """
    days = np.asarray(days, dtype="float64")
    has = steps >= 0
    gap = np.abs(days[np.where(has, steps, 0)] - days[:, None])
    return np.where(has & (gap > 0), 1.0 / np.maximum(gap, 1e-9) ** 2, 0.0)


def neighbour_prior(neighbours: Sequence[Any], weights: Sequence[Any]) -> Any:
    """The weighted mean of the neighbouring steps' observations; NaN where none observed the pixel.

    Elementwise with numpy's API, so numpy or dask arrays alike (a dask array stays lazy,
    chunk by chunk). ``weights[j]`` broadcasts against ``neighbours[j]`` (0: no such step).

    Examples
    --------
    >>> neighbour_prior([np.array([10.0, np.nan, np.nan]), np.array([12.0, 12.0, np.nan])], [1.0, 0.25]).astype(float).round(3).tolist()
    [10.4, 12.0, nan]
    """
    total = prior = None
    for neighbour, weight in zip(neighbours, weights):
        seen = np.isfinite(neighbour)
        w = np.where(seen, np.float32(1.0) * weight, np.float32(0.0)).astype("float32")
        x = np.where(seen, neighbour, np.float32(0.0)).astype("float32") * w
        total, prior = (w, x) if total is None else (total + w, prior + x)
    return np.where(total > 0, prior / np.where(total > 0, total, np.float32(1.0)), np.float32(np.nan)).astype("float32")


def persistence_guess(image: np.ndarray, prior: np.ndarray, land: np.ndarray | None,
                      fill_gaps: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """The guess of ``image``: its :func:`neighbour_prior` plus its departure from it, filled harmonically.

    Parameters
    ----------
    image : float array (ny, nx)
        The image, NaN in its gaps.
    prior : float array (ny, nx)
        :func:`neighbour_prior` of its neighbouring steps (NaN where none observed).
    land : bool array (ny, nx), optional
        Never guessed.
    fill_gaps : callable
        ``fill_gaps(images, todo)``: a harmonic fill of the ``todo`` pixels of ``images``
        (n, ny, nx), e.g. :func:`sstfill.xr.dispatch.harmonic_fallback`.

    Returns
    -------
    float32 array (ny, nx), NaN where the prior is (where the image and its prior share no
    pixel at all, the prior itself).

    Examples
    --------
    >>> yesterday = np.full((40, 40), 10.0, "float32"); yesterday[20:, :] = 10.5  # a front along row 20
    >>> today = yesterday + 1.0; today[10:30, 10:30] = np.nan  # 1 degree warmer, the front under a cloud
    >>> mean_fill = lambda images, todo: np.where(todo, np.nanmean(images), images)  # fill() fills harmonically
    >>> guess = persistence_guess(today, neighbour_prior([yesterday], [1.0]), None, mean_fill)
    >>> round(float(guess[15, 20]), 3), round(float(guess[25, 20]), 3)
    (11.0, 11.5)
    """
    departure = np.asarray(image, dtype="float32") - prior
    known = np.isfinite(departure)
    todo = ~known if land is None else ~known & ~land
    if known.any() and todo.any():
        departure = fill_gaps(departure[None], todo[None])[0]
    # where the departure is not known (no pixel of the image and its prior in common) the prior alone:
    # the guess exists wherever the prior does
    return (np.where(np.isfinite(departure), departure, np.float32(0.0)) + prior).astype("float32", copy=False)


def layered_guess(image: np.ndarray, priors: Sequence[np.ndarray], land: np.ndarray | None,
                  fill_gaps: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """:func:`persistence_guess` of each prior in turn, each only where the ones before it give none.

    Each layer's departure is filled from its own prior, so where the first prior (the
    nearest days) exists the guess is that of the first prior alone, bit for bit; a later
    layer is solved only if it adds a gap pixel.

    Examples
    --------
    >>> near = np.full((20, 20), 10.0, "float32"); near[:, 10:] = np.nan  # the days within 2 saw the west only
    >>> far = np.full((20, 20), 12.0, "float32")  # 4 days before: the whole image, 2 degrees warmer
    >>> today = np.full((20, 20), np.nan, "float32"); today[0] = 11.0  # today: one row, 1 degree warmer than near
    >>> mean_fill = lambda images, todo: np.where(todo, np.nanmean(images), images)
    >>> guess = layered_guess(today, [near, far], None, mean_fill)
    >>> float(guess[10, 5]), float(guess[10, 15])  # the near days' guess where they saw, the far days' elsewhere
    (11.0, 11.0)
    """
    guess = None
    for prior in priors:
        if guess is not None:
            adds = ~np.isfinite(guess) & np.isfinite(prior) & ~np.isfinite(image)
            if not (adds if land is None else adds & ~land).any():
                continue
        layer = persistence_guess(image, prior, land, fill_gaps)
        guess = layer if guess is None else np.where(np.isfinite(guess), guess, layer)
    return guess


def departure_spread(image: np.ndarray, priors: Sequence[np.ndarray], everywhere: bool = False) -> np.ndarray:
    """The standard deviation of the image's departure from the prior that gives each pixel its guess, float32.

    Layer by layer as :func:`layered_guess` takes them: a pixel gets the spread of the first
    prior that has it, measured on the pixels the image and that prior share. A prior that
    shares fewer than :data:`MIN_SPREAD_PIXELS` with the image measures none, and the next
    one's is taken where it has the pixel; NaN where none does, or with ``everywhere`` the
    spread of the first prior that measured one (for the pixels the guess is carried on to,
    :func:`continue_past_guess`).

    Examples
    --------
    >>> near = np.full((8, 8), 10.0, "float32"); near[:, 4:] = np.nan
    >>> far = np.full((8, 8), 12.0, "float32")
    >>> today = np.full((8, 8), np.nan, "float32"); today[:4] = 11.0; today[:4:2, :] = 11.5
    >>> spread = departure_spread(today, [near, far])  # today - near: 1 or 1.5; today - far: -1 or -0.5
    >>> float(spread[6, 0]), float(spread[6, 6])
    (0.25, 0.25)
    >>> bool(np.isnan(departure_spread(today, [near[:, :1].repeat(8, 1) * np.nan])).all())
    True
    """
    spread = np.full(np.shape(image), np.nan, dtype="float32")
    first = None  # the spread of the first prior that measured one
    for prior in priors:
        departure = np.asarray(image, dtype="float32") - prior
        shared = np.isfinite(departure)
        if shared.sum() < MIN_SPREAD_PIXELS:
            continue
        value = np.float32(np.std(departure[shared], dtype="float64"))
        spread[np.isnan(spread) & np.isfinite(prior)] = value
        first = value if first is None else first
    if everywhere and first is not None:
        spread[np.isnan(spread)] = first
    return spread


def fill_weight(image: np.ndarray, guess: np.ndarray, distance_km: np.ndarray, scale_km: float = BLEND_SCALE_KM) -> np.ndarray:
    """The fill's weight in the blend: ``1 / (1 + distance_km / scale_km)`` where ``image`` is missing and ``guess`` is not, else 1.

    float32; an image without data (``inf`` distance) weighs 0.

    Examples
    --------
    >>> fill_weight(np.array([1.0, np.nan, np.nan, np.nan]), np.array([0.0, 4.0, np.nan, 4.0]), np.array([0.0, 32.0, 32.0, np.inf])).tolist()
    [1.0, 0.5, 1.0, 0.0]
    """
    weight = np.array(distance_km, dtype="float32")  # then in place: images can be large
    weight += np.float32(scale_km)
    np.divide(np.float32(scale_km), weight, out=weight)
    weight[np.isfinite(image) | ~np.isfinite(guess)] = 1.0
    return weight


def blend_with_guess(image: np.ndarray, filled: np.ndarray, guess: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``filled`` where it is missing or :func:`fill_weight` is 1 (observed, no guess); elsewhere its blend with ``guess``.

    ``weight * filled + (1 - weight) * guess``: a pixel the fill left missing (land, beyond
    the reach) stays missing; an observed pixel is returned as ``filled`` holds it, bit for bit.

    Examples
    --------
    >>> image = np.array([1.0, np.nan, np.nan]); filled = np.array([1.0, 2.0, np.nan])
    >>> blend_with_guess(image, filled, np.array([0.0, 4.0, 4.0]), np.array([1.0, 0.5, 0.5])).tolist()
    [1.0, 3.0, nan]
    """
    use = (weight < 1) & np.isfinite(filled)
    if not use.any():
        return filled
    blended = (np.float32(1.0) - weight) * (np.asarray(guess, dtype="float32") - filled)
    blended += filled  # filled + (1 - w) * (guess - filled)
    return np.where(use, blended.astype(filled.dtype), filled)


def continue_past_guess(image: np.ndarray, filled: np.ndarray, blended: np.ndarray, guess: np.ndarray, weight: np.ndarray | None,
                        fill_gaps: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
    """``blended`` where the guess reached; beyond it ``filled`` plus the blend's correction continued harmonically.

    Where none of the neighbouring steps saw a gap pixel there is no guess, and a blend alone
    would end in a step at the edge of what they saw: the fill's weight jumps from ``w`` to
    1 there. Instead the correction ``blended - filled`` is filled harmonically over those
    pixels, from its values where the guess was blended and 0 at the image's own data (and
    wherever nothing was blended): the field stays continuous, and the guess's news about
    the fill's bias carries on into the pixels next to it. The guess's share ``1 - weight``
    is carried on the same way, for the error (:func:`blended_sigma`). Observed pixels and
    the pixels the fill left missing are returned as ``blended`` and ``weight`` hold them.

    Measured on the calibration fit set's series (``context`` model): RMSE 0.218 -> 0.193
    degC, the mean step between neighbouring pixels across that edge 0.101 -> 0.036 degC
    (the truth's: 0.030; ``docs/benchmarks.md``, issue 14).

    Parameters
    ----------
    image, filled, blended, guess : float arrays (ny, nx)
        The image (NaN in its gaps), its fill, the fill blended with ``guess``
        (:func:`blend_with_guess`), the guess (NaN where it has none).
    weight : float32 array (ny, nx), optional
        The fill's weight in the blend (:func:`fill_weight`); None: not carried on (a fill
        without its error: one harmonic solve fewer).
    fill_gaps : callable
        The harmonic fill, as for :func:`persistence_guess`.

    Returns
    -------
    (array like ``blended``, float32 array or None)
        The field and the fill's weight, both carried on past the guess.

    Examples
    --------
    >>> image = np.full((9, 30), np.nan, "float32"); image[:, 0] = 0.0  # data along the west edge only
    >>> filled = np.where(np.isnan(image), 1.0, image).astype("float32")
    >>> guess = np.full(image.shape, np.nan, "float32"); guess[:, 1:11] = 3.0  # the other days saw columns 1 to 10
    >>> weight = np.where(np.isfinite(guess), 0.5, 1.0).astype("float32")
    >>> blended = np.where(np.isfinite(guess), 2.0, filled).astype("float32")  # half way to the guess
    >>> mean_fill = lambda images, todo: np.where(todo, np.nanmean(images[:, ~todo[0]], axis=1)[:, None, None], images)  # fill() fills harmonically
    >>> out, carried = continue_past_guess(image, filled, blended, guess, weight, mean_fill)
    >>> float(out[4, 0]), float(out[4, 5]), round(float(out[4, 20]), 3)  # observed, blended, the correction carried on
    (0.0, 2.0, 1.909)
    >>> float(carried[4, 0]), float(carried[4, 5]), round(float(carried[4, 20]), 3)
    (1.0, 0.5, 0.545)
    """
    edge = ~np.isfinite(image) & np.isfinite(filled) & ~np.isfinite(guess)
    if not edge.any():
        return blended, weight
    known = np.empty((1 if weight is None else 2,) + edge.shape, dtype="float32")
    np.subtract(blended, filled, out=known[0], dtype="float32")  # 0 on observed and unblended pixels
    if weight is not None:
        np.subtract(np.float32(1.0), weight, out=known[1])
    known[:, edge | ~np.isfinite(filled)] = np.nan  # to solve for; and no boundary where nothing was filled
    carried = np.stack([fill_gaps(k[None], edge[None])[0] for k in known])  # one at a time: a solve's temporaries are many images
    carried[~np.isfinite(carried)] = 0.0
    out = np.where(edge, filled + carried[0].astype(blended.dtype), blended)
    if weight is not None:
        weight = np.where(edge, np.float32(1.0) - np.clip(carried[1], 0.0, 1.0), weight).astype("float32")
    return out, weight


def blended_sigma(sigma: Any, weight: Any, spread: Any, guess_ratio: float, guess_cap: float = 0.0) -> Any:
    """The error of a blended pixel: ``w * sigma + (1 - w) * min(guess_ratio * sigma, guess_cap * spread)``.

    ``sigma`` is the fill's error, ``weight`` its :func:`fill_weight`, ``spread`` the
    :func:`departure_spread` there; the cap applies where ``guess_cap > 0`` and the spread is
    known. ``sigma`` itself where ``w`` is 1 (nothing blended), and everywhere for a ratio of 1
    without a cap (an error model fitted before the guess). Elementwise, numpy or dask.

    Examples
    --------
    >>> sigma, w, spread = np.array([0.1, 1.0, 1.0, 1.0]), np.array([1.0, 0.5, 0.0, 0.0]), np.array([0.2, 0.2, 0.2, np.nan])
    >>> blended_sigma(sigma, w, spread, 0.5, 2.0).round(3).tolist()  # the guess's 0.5 * 1.0 capped at 2 * 0.2
    [0.1, 0.7, 0.4, 0.5]
    >>> blended_sigma(sigma, w, spread, 0.5).round(3).tolist()  # no cap: sigma * (w + (1 - w) * 0.5)
    [0.1, 0.75, 0.5, 0.5]
    >>> blended_sigma(sigma, w, spread, 1.0) is sigma  # fitted before the guess: the fill's own
    True
    """
    if guess_ratio == 1.0 and guess_cap <= 0:
        return sigma
    guess = sigma * np.float32(guess_ratio)
    if guess_cap > 0:
        guess = np.where(np.isfinite(spread), np.minimum(guess, spread * np.float32(guess_cap)), guess)
    return np.where(weight < 1, weight * sigma + (1 - weight) * guess, sigma)
