"""Sample-quality checks for stacks of SST tiles: SSIM, Fréchet distance, birthday test.

The three checks of the "ProGAN on satellite images" talk (SSIM between samples, a
Fréchet distance between feature distributions, and Arora & Zhang's birthday-paradox
duplicate test), for numpy stacks of tiles ``(N, 64, 64)`` in kelvin or degrees Celsius
(NaN: land, cloud).

* :func:`ssim_tiles`: one SSIM per tile, scikit-image's SSIM map with gaps left out.
* :func:`frechet_distance`: the Fréchet distance between the Gaussians fitted to the
  features of two stacks. There are no Inception weights for SST (and none offline), so the
  features come from a small convolutional autoencoder that sstfill ships
  (``sstfill/data/quality_encoder_v1.npz``, trained on the training tiles of the real MUR
  and SLSTR data by ``examples/train_quality_encoder.py``): :func:`load_encoder`,
  :func:`encode_tiles`.
* :func:`birthday_test`: the closest pairs within a sample, flagged as near-duplicates
  below a threshold, and the support-size estimate ``S**2``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sstfill.evaluation import metrics
from sstfill.evaluation.encoder import (  # noqa: F401  (the encoder's names, re-exported: quality is where users look)
    ENCODER_FILES, ENCODER_VERSION, STD_FLOOR, SSTEncoder, _stack, encode_tiles, encoder_network, load_encoder, pooled_statistics,
    standardise_tiles,
)

__all__ = [
    "ENCODER_VERSION",
    "ssim_tiles",
    "SSTEncoder",
    "load_encoder",
    "encode_tiles",
    "frechet_distance",
    "frechet_distance_from_features",
    "BirthdayResult",
    "birthday_test",
    "pairwise_mse",
]



def _skimage_ssim_map(a: np.ndarray, b: np.ndarray, data_range: float, window: int) -> np.ndarray:
    """scikit-image's SSIM map (uniform window, sample covariance), float64."""
    from skimage.metrics import structural_similarity

    return structural_similarity(a, b, win_size=window, gaussian_weights=False, data_range=data_range, full=True)[1]


def _ssim_map_function():
    """scikit-image's SSIM map when installed, else sstfill's scipy transcription of it."""
    try:
        import skimage.metrics  # noqa: F401
    except ImportError:  # scikit-image is not a core dependency: the same map with scipy
        return metrics.ssim_map
    return _skimage_ssim_map


def ssim_tiles(pred: Any, truth: Any, data_range: float | None = None, window: int = 7) -> np.ndarray:
    """Structural similarity of each tile of ``pred`` with the same tile of ``truth``.

    On gap-free tiles each value is scikit-image's
    ``structural_similarity(pred[i], truth[i], win_size=window, gaussian_weights=False,
    data_range=...)`` (uniform window, sample covariance, K1=0.01, K2=0.03, the mean of the
    SSIM map without its ``(window - 1) // 2``-pixel border), computed in float64: given
    float32 input scikit-image computes in float32, where the local variances of kelvin
    values (~290**2 less ~290**2) are round-off, and its SSIM of real 64x64 MUR tiles is then
    off by up to 0.2.

    Gaps: a pixel where either tile is NaN (land, cloud) is left out of the mean; before
    filtering, such pixels are set to the mean of the truth's finite pixels in both tiles,
    so pixels next to a gap see that value in their window. A tile with no finite pixel
    pair inside the border scores NaN. This is :func:`sstfill.evaluation.metrics.ssim`,
    tile by tile (the same numbers; scikit-image computes the map when it is installed).

    SSIM is not invariant to units: the luminance term compares absolute means, which in
    kelvin (~290) are nearly equal for any two SST tiles of one region, so the score is
    mostly the contrast and structure terms there.

    Parameters
    ----------
    pred, truth : array (N, ny, nx) or (ny, nx)
        The tiles to compare, same shape.
    data_range : float, optional
        The dynamic range in the constants C1 = (0.01 R)**2, C2 = (0.03 R)**2; default: each
        truth tile's max - min over the pixels finite in both tiles (1 when constant). Pass a fixed range
        (e.g. 2.0 kelvin) to score all tiles on one scale.
    window : int
        Side of the uniform window (odd, at least 3, at most the tile side).

    Returns
    -------
    ndarray (N,)
        One SSIM per tile (NaN where nothing could be scored).

    Examples
    --------
    >>> from sstfill.testing import synthetic_sst
    >>> truth = synthetic_sst(64, 64, land=False).values[None]
    >>> ssim_tiles(truth, truth).tolist()
    [1.0]
    >>> bool(ssim_tiles(truth + 0.2 * np.random.default_rng(0).normal(size=truth.shape), truth)[0] < 0.9)
    True
    """
    a, b = _stack(pred, "pred"), _stack(truth, "truth")
    if a.shape != b.shape:
        raise ValueError(f"pred and truth must have the same shape; got {a.shape} and {b.shape}.")
    ssim_map = _ssim_map_function()
    return np.array([metrics._masked_ssim(a[i], b[i], data_range, window, ssim_map) for i in range(len(a))], dtype="float64")


# --------------------------------------------------------------------------- Fréchet distance


def frechet_distance_from_features(features_a: Any, features_b: Any, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, d).

    ``|mu_a - mu_b|**2 + tr(C_a + C_b - 2 (C_a C_b)**0.5)``, with sample covariances and
    ``scipy.linalg.sqrtm``, handled as the reference FID code does: when the square root is
    not finite, ``eps`` is added to both diagonals and it is taken again; imaginary parts
    from round-off are dropped (a ValueError if any diagonal one exceeds 1e-3). Round-off can
    leave the result a hair below zero; it is clipped at 0.

    Both sets need more samples than features (N > d), else the covariance is singular and
    the distance unreliable: a ValueError. The estimate is biased upwards at small N, so
    compare distances computed with the same N.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(500, 3)), rng.normal(size=(500, 3)) + [2.0, 0.0, 0.0]
    >>> round(frechet_distance_from_features(a, a), 9), 3.8 < frechet_distance_from_features(a, b) < 4.4
    (0.0, True)
    """
    from scipy import linalg

    a, b = np.asarray(features_a, "float64"), np.asarray(features_b, "float64")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be two arrays (N, d) with the same d; got {a.shape} and {b.shape}.")
    d = a.shape[1]
    for name, f in (("first", a), ("second", b)):
        if len(f) <= d:
            raise ValueError(f"the {name} set has {len(f)} samples for {d} features: a Fréchet distance needs more samples than features (N > {d}), and is only stable with several times more.")
        if not np.isfinite(f).all():
            raise ValueError(f"the {name} feature set holds NaN or infinite values.")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        offset = np.eye(d) * eps
        covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"the matrix square root has a large imaginary part ({np.abs(covmean.imag).max():.3g}): the covariances are ill-conditioned; use more samples.")
        covmean = covmean.real
    distance = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))
    return max(distance, 0.0)


def frechet_distance(real: Any, generated: Any, encoder: SSTEncoder | None = None) -> float:
    """Fréchet distance between two stacks of SST tiles, on the features of a fixed SST encoder.

    The SST counterpart of the FID: both stacks are encoded by :func:`encode_tiles` (the
    bundled ``v1`` encoder by default: 32 principal components of pooled convolutional
    statistics plus the log amplitude, scaled on the encoder's training tiles) and
    :func:`frechet_distance_from_features` compares the fitted Gaussians. 0 for identical
    stacks; larger when the tiles differ in structure, sharpness, noise or amplitude. Gaps
    are set to each tile's mean and read as smooth water: compare stacks with the same gaps.

    Scores are comparable only when made with the same encoder version
    (``encoder.version``, ``"sst-encoder/1"`` for ``v1``) and the same number of tiles (the
    estimate is biased upwards at small N: two halves of 292 held-out real tiles score 3.0,
    of 1079 tiles 1.5). Each stack needs more tiles than features (N > 33 for ``v1``);
    several hundred give stable values. For scale (``v1``, held-out bundled crops): one half
    against the other half blurred (Gaussian, sigma 1 / 3 px) scores 2.6 / 7.1 with 540
    tiles a side, 4.3 / 9.7 with 146; MUR L4 tiles against SLSTR L2 tiles about 40-60.

    Examples
    --------
    >>> from sstfill.testing import synthetic_sst
    >>> tiles = np.concatenate([synthetic_sst(64, 640, seed=s, land=False).values.reshape(64, 10, 64).transpose(1, 0, 2) for s in range(8)])
    >>> frechet_distance(tiles, tiles) < 1e-6
    True
    """
    enc = encoder if encoder is not None else load_encoder()
    return frechet_distance_from_features(encode_tiles(real, enc), encode_tiles(generated, enc))


# --------------------------------------------------------------------------- birthday test


def _anomaly_rows(samples: Any) -> tuple[np.ndarray, np.ndarray]:
    """Tiles as rows (N, pixels): anomalies (each tile's mean removed, float64, gaps 0) and the validity mask."""
    arr = _stack(samples, "samples")
    valid = np.isfinite(arr)
    count = np.maximum(valid.sum(axis=(1, 2)), 1)
    clean = np.where(valid, arr, 0.0)
    rows = np.where(valid, clean - (clean.sum(axis=(1, 2)) / count)[:, None, None], 0.0)
    return rows.reshape(len(arr), -1), valid.reshape(len(arr), -1).astype("float64")


def _pair_moments_mse(n, sx, sy, sxx, syy, sxy, normalise: bool) -> np.ndarray:
    """MSE of two tiles over their common pixels from the sums there (count, x, y, x**2, y**2, x*y)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_x, mean_y = sx / n, sy / n
        var_x = np.maximum(sxx / n - mean_x**2, 0.0)
        var_y = np.maximum(syy / n - mean_y**2, 0.0)
        cov = sxy / n - mean_x * mean_y
        if normalise:  # both standardised over the common pixels (std at least STD_FLOOR)
            std_x, std_y = np.maximum(np.sqrt(var_x), STD_FLOOR), np.maximum(np.sqrt(var_y), STD_FLOOR)
            mse = var_x / std_x**2 + var_y / std_y**2 - 2 * cov / (std_x * std_y)
        else:  # both centred over the common pixels
            mse = var_x + var_y - 2 * cov
    return np.maximum(mse, 0.0)


def pairwise_mse(samples: Any, others: Any | None = None, *, normalise: bool = True, min_overlap: float = 0.5) -> np.ndarray:
    """Pixelwise mean squared difference between every pair of tiles, over the pixels both observe.

    For each pair, over the pixels finite in both tiles, each tile is standardised (its mean
    removed and divided by its std, at least 0.01) so that the MSE is ``2 (1 - r)``, r the
    tiles' correlation there; with ``normalise=False`` each is only centred (MSE in squared
    data units: the variance of the difference). Taking the statistics over the common
    pixels makes a copy with a cloud on it a duplicate (MSE 0). Computed for all pairs at
    once from sums over common pixels (matrix products; S = 2000 tiles of 64x64 take seconds).
    Pairs that share fewer than ``min_overlap`` of their pixels get ``inf``, as does the
    diagonal of a self-comparison.

    Returns
    -------
    ndarray (N, M), float64: M = N when ``others`` is None.

    Examples
    --------
    >>> t = np.stack([np.zeros((4, 4)), np.eye(4), 2 * np.eye(4) + 5.0])
    >>> pairwise_mse(t, normalise=False).round(4).tolist()
    [[inf, 0.1875, 0.75], [0.1875, inf, 0.1875], [0.75, 0.1875, inf]]
    >>> pairwise_mse(t).round(4).tolist()  # standardised: the last two are one pattern
    [[inf, 1.0, 1.0], [1.0, inf, 0.0], [1.0, 0.0, inf]]
    """
    x, mx = _anomaly_rows(samples)
    if others is None:
        return _pairwise_rows(x, mx, None, None, normalise, min_overlap)
    y, my = _anomaly_rows(others)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"samples and others must have tiles of one size; got {x.shape[1]} and {y.shape[1]} pixels.")
    return _pairwise_rows(x, mx, y, my, normalise, min_overlap)


def _pairwise_rows(x: np.ndarray, mx: np.ndarray, y: np.ndarray | None, my: np.ndarray | None, normalise: bool, min_overlap: float) -> np.ndarray:
    """:func:`pairwise_mse` of rows from :func:`_anomaly_rows` (``y`` None: ``x`` with itself, diagonal inf)."""
    same = y is None
    n = mx @ mx.T if same else mx @ my.T
    sx, sxx = (x @ mx.T, (x**2) @ mx.T) if same else (x @ my.T, (x**2) @ my.T)
    sy, syy = (sx.T, sxx.T) if same else (mx @ y.T, mx @ (y**2).T)
    mse = _pair_moments_mse(n, sx, sy, sxx, syy, x @ (x if same else y).T, normalise)
    mse[n < min_overlap * x.shape[1]] = np.inf
    if same:
        np.fill_diagonal(mse, np.inf)
    return mse


def _pairs_mse(x: np.ndarray, mx: np.ndarray, pairs: np.ndarray, normalise: bool) -> np.ndarray:
    """:func:`pairwise_mse` of the listed pairs only, each pair's pixels compared directly."""
    out = np.empty(len(pairs))
    for k, (i, j) in enumerate(pairs):
        common = (mx[i] > 0) & (mx[j] > 0)
        a, b = x[i, common], x[j, common]
        a, b = a - a.mean(), b - b.mean()
        if normalise:
            a, b = a / max(a.std(), STD_FLOOR), b / max(b.std(), STD_FLOOR)
        out[k] = np.mean((a - b) ** 2)
    return out


@dataclass
class BirthdayResult:
    """The closest pairs of a sample and what they say about its support (:func:`birthday_test`).

    Attributes
    ----------
    pairs : ndarray (n_pairs, 2)
        Indices (i < j) of the closest pairs, closest first.
    mse : ndarray (n_pairs,)
        Their pixelwise MSE (of standardised tiles, or of anomalies when not ``normalised``),
        computed directly on the pair.
    threshold : float
        Pairs with ``mse <= threshold`` are near-duplicates.
    duplicates : ndarray of bool (n_pairs,)
        Which of ``pairs`` are near-duplicates.
    sample_size : int
        S, the number of tiles tested.
    normalised : bool
        Whether tiles were standardised (True) or only had their mean removed.
    threshold_source : str
        ``"explicit"``, ``"reference"`` or ``"default"``.
    reference_nn_mse : ndarray or None
        Nearest-neighbour MSE of each reference tile within the reference (if one was given).
    """

    pairs: np.ndarray
    mse: np.ndarray
    threshold: float
    duplicates: np.ndarray
    sample_size: int
    normalised: bool
    threshold_source: str
    reference_nn_mse: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_duplicates(self) -> int:
        """How many of the closest pairs are near-duplicates."""
        return int(np.count_nonzero(self.duplicates))

    @property
    def has_duplicates(self) -> bool:
        """Whether the sample holds at least one near-duplicate pair."""
        return self.n_duplicates > 0

    @property
    def support_estimate(self) -> int:
        """S**2: the support size that a duplicate in a sample of S points to (Arora & Zhang)."""
        return self.sample_size**2

    @property
    def support_is_lower_bound(self) -> bool:
        """True when no duplicate was found: the support is then larger than about S**2."""
        return not self.has_duplicates

    def summary(self) -> str:
        """One line: what was found and the support estimate.

        Examples
        --------
        >>> tiles = np.random.default_rng(0).normal(size=(50, 16, 16))
        >>> birthday_test(tiles).summary()
        'S = 50: no near-duplicate among the 10 closest pairs (MSE <= 0.05, default); support at least about S**2 = 2500'
        """
        what = f"{self.n_duplicates} near-duplicate pair(s) among the {len(self.pairs)} closest" if self.has_duplicates else f"no near-duplicate among the {len(self.pairs)} closest pairs"
        bound = "about" if self.has_duplicates else "at least about"
        return f"S = {self.sample_size}: {what} (MSE <= {self.threshold:.3g}, {self.threshold_source}); support {bound} S**2 = {self.support_estimate}"


#: duplicate threshold without a reference: MSE 0.05 of standardised tiles (correlation
#: >= 0.975; distinct real tiles stay above 0.13); for anomalies (``normalise=False``) 1e-4
#: in squared data units (0.01 K RMS)
DEFAULT_THRESHOLD = {True: 0.05, False: 1e-4}
#: a reference sets the threshold at this fraction of its smallest nearest-neighbour MSE
REFERENCE_FRACTION = 0.5


def birthday_test(samples: Any, n_pairs: int = 10, threshold: float | None = None, reference: Any | None = None, *, normalise: bool = True) -> BirthdayResult:
    """Arora & Zhang's birthday-paradox test: are there near-duplicates among S samples?

    If samples of S tiles from a generator hold a duplicate with good probability, the
    generator's support is about S**2 distinct tiles; if none is found, larger than that.
    The test finds the ``n_pairs`` closest pairs by pixelwise MSE (all S (S - 1) / 2 pairs
    by matrix products: S = 2000 takes a few seconds), flags those at or below a threshold,
    and the pairs are meant to be looked at (:func:`sstfill.plot.quality.plot_closest_pairs`).

    Distance (:func:`pairwise_mse`): by default, over the pixels both tiles observe, each
    is standardised, so the MSE is ``2 (1 - r)`` with r the tiles' correlation there. A
    generator that repeats one pattern at another temperature or amplitude is caught, a copy
    with a cloud on it too, the score has one scale for every region, and flat noisy tiles
    are not duplicates of each other (with plain anomalies they are: two flat tiles differ
    only by their noise). Distinct real 64x64 tiles (556 non-overlapping windows of the MUR
    L4 and SLSTR L2 training scenes) are never closer than MSE 0.13 (r = 0.93); nearly
    planar tiles (a uniform gradient, as in smooth L4 fields or
    :func:`sstfill.testing.synthetic_sst` on a 64-row grid) can come closer. With
    ``normalise=False`` tiles are only centred (MSE in squared data units). Pairs that
    share under half their pixels are never close.

    Threshold: ``threshold`` if given; else, from ``reference`` (real tiles, distinct: no
    overlapping windows, not one place on consecutive days), ``REFERENCE_FRACTION`` (0.5)
    times the smallest nearest-neighbour MSE among the reference tiles: closer than any two
    real tiles are, with a margin. (A low percentile of the nearest-neighbour MSE, say the
    1st, is not used: the closest pair of a real sample of a few hundred tiles falls below
    it.) The reference should be at least as large as the sample, since closest pairs get
    closer as the set grows (a warning otherwise). Else ``DEFAULT_THRESHOLD``: 0.05
    (r >= 0.975, a copy with noise of a fifth of the tile's std), or 1e-4 squared data
    units (0.01 K RMS) without ``normalise``.

    Parameters
    ----------
    samples : array (S, ny, nx)
        The tiles to test (S >= 2).
    n_pairs : int
        How many of the closest pairs to return.
    threshold : float, optional
        Largest MSE of a near-duplicate pair (in the units of the distance).
    reference : array (R, ny, nx), optional
        Distinct real tiles to derive the threshold from (when ``threshold`` is None).
    normalise : bool
        Standardise each tile (True, the default) or only remove its mean (False).

    Returns
    -------
    BirthdayResult

    Examples
    --------
    >>> from sstfill.testing import synthetic_sst
    >>> fields = [synthetic_sst(128, 256, seed=s, land=False).values for s in range(5)]
    >>> tiles = np.concatenate([f.reshape(2, 64, 4, 64).transpose(0, 2, 1, 3).reshape(8, 64, 64) for f in fields])
    >>> birthday_test(tiles).has_duplicates
    False
    >>> result = birthday_test(np.concatenate([tiles, tiles[:2] + 0.5]))  # two copies, 0.5 K warmer
    >>> result.n_duplicates, sorted(result.pairs[:2].tolist()), result.support_estimate
    (2, [[0, 40], [1, 41]], 1764)
    """
    arr = _stack(samples, "samples")
    s = len(arr)
    if s < 2:
        raise ValueError(f"the birthday test needs at least 2 samples; got {s}.")
    rows, valid = _anomaly_rows(arr)
    mse = _pairwise_rows(rows, valid, None, None, normalise, 0.5)
    reference_nn = None
    if threshold is not None:
        source = "explicit"
    elif reference is not None:
        ref = pairwise_mse(reference, normalise=normalise)
        if len(ref) < 2:
            raise ValueError("reference must hold at least 2 tiles.")
        reference_nn = ref.min(axis=1)
        threshold = REFERENCE_FRACTION * float(np.min(reference_nn))
        source = "reference"
        if len(ref) < s:
            warnings.warn(
                f"birthday_test: the reference has {len(ref)} tiles for a sample of {s}; closest pairs get closer as the set grows, "
                "so real samples may be flagged. Pass a reference at least as large as the sample.",
                UserWarning,
                stacklevel=2,
            )
    else:
        threshold, source = DEFAULT_THRESHOLD[bool(normalise)], "default"
    upper = np.triu_indices(s, k=1)
    values = mse[upper]
    n = max(min(int(n_pairs), values.size), 1)
    order = np.argpartition(values, n - 1)[:n] if n < values.size else np.arange(values.size)
    order = order[np.lexsort((order, values[order]))]  # closest first, ties in index order
    pairs = np.stack([upper[0][order], upper[1][order]], axis=1)
    closest = np.where(np.isfinite(values[order]), _pairs_mse(rows, valid, pairs, normalise), np.inf)  # again, directly: no round-off from the sums
    return BirthdayResult(
        pairs=pairs,
        mse=closest,
        threshold=float(threshold),
        duplicates=closest <= threshold,
        sample_size=s,
        normalised=bool(normalise),
        threshold_source=source,
        reference_nn_mse=reference_nn,
    )
