"""The fixed SST encoder of the Fréchet distance: tiles in, feature vectors out.

A small convolutional trunk (trained as an autoencoder on the training tiles of the real MUR
and SLSTR data by ``examples/train_quality_encoder.py``, shipped as
``sstfill/data/quality_encoder_v1.npz``: weights and JSON, never pickled); its features are
the spatial mean and standard deviation of every channel after every ReLU, projected onto
their principal components over the training tiles, plus log10 of the tile's standard
deviation. :func:`sstfill.evaluation.quality.frechet_distance` uses it; scores are
comparable only under the same :data:`ENCODER_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["ENCODER_VERSION", "ENCODER_FILES", "STD_FLOOR", "SSTEncoder", "standardise_tiles", "encoder_network", "pooled_statistics",
           "encoder_from_arrays", "load_encoder", "encode_tiles"]

#: the version string an encoder file records; Fréchet distances are comparable only between
#: scores made with the same one
ENCODER_VERSION = "sst-encoder/1"
#: bundled encoder files by short version name
ENCODER_FILES = {"v1": "quality_encoder_v1.npz"}
#: the smallest per-tile standard deviation the encoder divides by (kelvin)
STD_FLOOR = 0.01

# --------------------------------------------------------------------------- tiles


def _stack(tiles: Any, what: str, tile: int | None = None) -> np.ndarray:
    """``tiles`` as a float64 array (N, ny, nx); a single 2-D tile becomes N = 1."""
    arr = np.asarray(tiles, dtype="float64")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"{what} must be a stack of tiles (N, ny, nx); got shape {arr.shape}.")
    if tile is not None and arr.shape[1:] != (tile, tile):
        raise ValueError(f"{what} must hold {tile}x{tile} tiles (the encoder's tile size); got {arr.shape[1]}x{arr.shape[2]}. Cut them with sstfill.training.tiles.cut_tiles_by_index(images, {tile}).")
    return arr


def standardise_tiles(tiles: np.ndarray, std_floor: float = STD_FLOOR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-tile standardised tiles, with gaps at the tile mean (0), and their mean and std.

    Mean and standard deviation are over each tile's finite pixels; the std is at least
    ``std_floor``. Returns ``(standardised float32 (N, ny, nx), mean (N,), std (N,))``.
    A tile with no finite pixel is refused.

    Examples
    --------
    >>> z, mean, std = standardise_tiles(np.array([[[290.0, 292.0], [np.nan, 291.0]]]))
    >>> z.dtype, z.astype("float64").round(4).tolist(), mean.tolist(), std.round(4).tolist()
    (dtype('float32'), [[[-1.2247, 1.2247], [0.0, 0.0]]], [291.0], [0.8165])
    """
    arr = _stack(tiles, "tiles")
    valid = np.isfinite(arr)
    count = valid.sum(axis=(1, 2))
    empty = np.flatnonzero(count == 0)
    if empty.size:
        raise ValueError(f"tiles {empty[:10].tolist()}{'...' if empty.size > 10 else ''} have no finite pixel: drop them before scoring.")
    clean = np.where(valid, arr, 0.0)
    mean = clean.sum(axis=(1, 2)) / count
    anomaly = np.where(valid, arr - mean[:, None, None], 0.0)
    std = np.maximum(np.sqrt((anomaly**2).sum(axis=(1, 2)) / count), std_floor)
    return (anomaly / std[:, None, None]).astype("float32"), mean, std


# --------------------------------------------------------------------------- SSIM



# --------------------------------------------------------------------------- the encoder


def encoder_network(widths: tuple[int, ...] = (16, 32, 64, 64), n_latent: int = 64, tile: int = 64):
    """The encoder of the quality autoencoder: stride-2 3x3 convolutions with ReLU, then a linear bottleneck.

    Input (B, 1, tile, tile) per-tile standardised SST (gaps 0); output (B, n_latent). The
    features of :func:`encode_tiles` come from its convolutional trunk (the first
    ``2 * len(widths)`` modules, :func:`pooled_statistics`); the bottleneck serves training.

    Examples
    --------
    >>> import torch
    >>> encoder_network()(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2, 64])
    """
    from torch import nn

    layers: list[nn.Module] = []
    cin, side = 1, tile
    for width in widths:
        layers += [nn.Conv2d(cin, width, 3, stride=2, padding=1), nn.ReLU()]
        cin, side = width, (side + 1) // 2
    layers += [nn.Flatten(), nn.Linear(cin * side * side, n_latent)]
    return nn.Sequential(*layers)


def pooled_statistics(trunk, standardised: np.ndarray, batch: int = 256) -> np.ndarray:
    """Spatial mean and std of every channel after every ReLU of ``trunk``: (N, 2 * sum(widths)), float64.

    ``standardised`` is (N, tile, tile) float32 from :func:`standardise_tiles`. Pooled over
    the whole tile, as FID pools Inception's last convolutional layer: statistics of local
    structure at four scales (2 to 16 pixels), which blur, noise and texture change, rather
    than where features sit in the tile.
    """
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(standardised), max(int(batch), 1)):
            h = torch.from_numpy(np.ascontiguousarray(standardised[start : start + batch, None], dtype="float32"))
            stats = []
            for layer in trunk:
                h = layer(h)
                if isinstance(layer, torch.nn.ReLU):
                    stats += [h.mean(dim=(2, 3)), h.std(dim=(2, 3), unbiased=False)]
            out.append(torch.cat(stats, dim=1).numpy())
    return np.concatenate(out).astype("float64") if out else np.empty((0, 0))


@dataclass(frozen=True, eq=False)
class SSTEncoder:
    """A fixed SST feature encoder: a convolutional trunk, its feature projection and its file's config.

    Features of a tile (:func:`encode_tiles`): the spatial mean and std of each channel after
    each of the trunk's ReLUs (:func:`pooled_statistics`, of the per-tile standardised tile),
    centred and projected onto their leading principal components over the encoder's
    training tiles (``centre``, ``projection``, scaled to unit mean variance there), then
    ``log10`` of the tile's standard deviation (its amplitude, which the standardisation
    removes and which matters for SST), centred and scaled to unit variance on the same tiles.
    """

    version: str
    config: dict[str, Any]
    trunk: Any  # torch.nn.Sequential of Conv2d/ReLU, in eval mode on the CPU
    centre: np.ndarray  # (n_pooled,)
    projection: np.ndarray  # (n_pooled, n_components)
    amplitude_mean: float
    amplitude_scale: float
    tile: int = 64
    std_floor: float = STD_FLOOR

    @property
    def n_features(self) -> int:
        """Number of features per tile (the principal components plus the log amplitude)."""
        return int(self.projection.shape[1]) + 1


def encoder_from_arrays(arrays: dict[str, np.ndarray], config: dict[str, Any]) -> SSTEncoder:
    """An :class:`SSTEncoder` from the arrays and config of an encoder file."""
    from torch import nn

    from sstfill.models.files import arrays_to_state

    arch = config["architecture"]
    widths, tile = tuple(int(w) for w in arch["widths"]), int(arch["tile"])
    trunk = nn.Sequential(*list(encoder_network(widths, 1, tile))[: 2 * len(widths)])
    trunk.load_state_dict(arrays_to_state("encoder", arrays))
    trunk.eval()
    for param in trunk.parameters():
        param.requires_grad_(False)
    centre, projection = np.asarray(arrays["feature_centre"], "float64"), np.asarray(arrays["feature_projection"], "float64")
    n_pooled = 2 * sum(widths)
    if centre.shape != (n_pooled,) or projection.ndim != 2 or projection.shape[0] != n_pooled:
        raise ValueError(f"encoder file: feature_centre {centre.shape} and feature_projection {projection.shape} do not fit the trunk's {n_pooled} pooled statistics.")
    return SSTEncoder(
        version=str(config["version"]),
        config=config,
        trunk=trunk,
        centre=centre,
        projection=projection,
        amplitude_mean=float(arrays["amplitude_mean"]),
        amplitude_scale=float(arrays["amplitude_scale"]),
        tile=tile,
        std_floor=float(config["preprocessing"]["std_floor"]),
    )


_LOADED: dict[str, SSTEncoder] = {}


def load_encoder(version: str = "v1") -> SSTEncoder:
    """The SST encoder bundled with sstfill (read once per process; no network, no pickle).

    The file is an sstfill model archive (``.npz`` arrays plus JSON config, read with
    :func:`sstfill.models.files.load_arrays`): the trunk's weights, the feature projection,
    and the training record (``config["training"]``: command, tiles, final reconstruction
    loss).

    Parameters
    ----------
    version : str
        ``"v1"`` (records ``config["version"] == "sst-encoder/1"``).

    Examples
    --------
    >>> enc = load_encoder()
    >>> enc.version, enc.n_features
    ('sst-encoder/1', 33)
    """
    if version not in ENCODER_FILES:
        raise ValueError(f"No bundled SST encoder {version!r}; the bundled ones are {sorted(ENCODER_FILES)}.")
    if version not in _LOADED:
        from sstfill.models.files import load_arrays

        ref = resources.files("sstfill") / "data" / ENCODER_FILES[version]
        if not ref.is_file():
            raise FileNotFoundError(f"The bundled SST encoder {ENCODER_FILES[version]!r} is missing from this installation of sstfill; reinstall sstfill.")
        with resources.as_file(ref) as path:
            arrays, config = load_arrays(path)
        _LOADED[version] = encoder_from_arrays(arrays, config)
    return _LOADED[version]


def encode_tiles(tiles: Any, encoder: SSTEncoder | None = None, batch: int = 256) -> np.ndarray:
    """Features of each tile under a fixed SST encoder (default: the bundled ``v1``).

    Each tile is standardised on its own (mean and std of its finite pixels, std at least
    0.01); NaN pixels (land, cloud) are then set to the tile mean (0), as the encoder saw
    gaps in training. Such flat patches read as smooth water, so compare stacks with the
    same gaps (e.g. put the truth's NaNs into the fills) or gap-free stacks. A tile with no
    finite pixel is refused (ValueError). Features (:class:`SSTEncoder`): the leading
    principal components of the pooled convolutional statistics, then the scaled ``log10``
    of the tile's std, so that the amplitude counts. Deterministic on a given machine (CPU,
    float32 network).

    Parameters
    ----------
    tiles : array (N, tile, tile)
        SST tiles (kelvin or degrees Celsius: the std, hence the amplitude feature, is the
        same in both), usually 64x64.
    encoder : SSTEncoder, optional
        From :func:`load_encoder`; the bundled ``v1`` by default.
    batch : int
        Tiles per forward pass.

    Returns
    -------
    ndarray (N, encoder.n_features), float64

    Examples
    --------
    >>> from sstfill.testing import synthetic_sst
    >>> tiles = synthetic_sst(64, 128, land=False).values.reshape(64, 2, 64).transpose(1, 0, 2)
    >>> encode_tiles(tiles).shape
    (2, 33)
    """
    enc = encoder if encoder is not None else load_encoder()
    arr = _stack(tiles, "tiles", enc.tile)
    if len(arr) == 0:
        return np.empty((0, enc.n_features))
    z, _, std = standardise_tiles(arr, enc.std_floor)
    components = (pooled_statistics(enc.trunk, z, batch) - enc.centre) @ enc.projection
    amplitude = (np.log10(std) - enc.amplitude_mean) / enc.amplitude_scale
    return np.concatenate([components, amplitude[:, None]], axis=1)


