"""Latent-space inpainting (Yeh et al., the seeds' document 001): a DCGAN and a search for z.

A DCGAN generator maps ``z`` in ``[-1, 1]^d`` to a tile in its normalisation (tanh
output: the tile's anomaly over its standard deviation, divided by
:attr:`LatentConfig.value_scale`); a discriminator judges tiles. To fill a tile, the ``z``
whose generated tile best matches the observed pixels is searched by gradient descent:

* **context loss**: the L1 misfit on observed pixels, each weighted by the share of its
  neighbours (a ``context_window`` box) that are missing, so pixels next to a gap count
  most, plus :attr:`LatentConfig.context_floor` so the rest of the tile still counts;
* **prior loss**: ``prior_weight * log(1 - D(G(z)))``, which keeps the generated tile
  realistic to the discriminator;
* ``z`` is clipped to ``[-1, 1]`` after every step; ``restarts`` starting points (the same
  ones for every tile, so a tile's fill does not depend on what else is in its batch) and
  the one with the lowest loss wins.

The generated tile is then blended into the gaps Poisson-style: the generated values plus a
harmonic correction that takes the observed border values exactly (the gradient of the
generated field, the values of the observed one), so the fill meets the data without a step.
Observed pixels are returned unchanged.

:class:`LatentInpainter` is a tile model like :class:`~sstfill.models.inpainter.Inpainter`:
``da.inpaint.fill(model)``, save/load (weights + JSON), dask, the CLI's ``--model`` and the
error variable all work with it. The z-search is much slower than one forward pass of the
default model: see the benchmarks page for the measured rate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sstfill.errors import ModelMismatchError
from sstfill.kernels.uncertainty import FALLBACK_ERROR_MODEL, ErrorModel
from sstfill.models.cache import LOADED_MODELS
from sstfill.models.files import arrays_to_state, build_model, check_config_types, check_state_shapes, load_arrays, save_arrays, state_to_arrays
from sstfill.models.harmonic import harmonic_fill
from sstfill.models.inpainter import resolve_device
from sstfill.models.networks import channel_widths, non_negative_number, normalise_tiles, whole_number

__all__ = ["LatentConfig", "LatentGenerator", "LatentDiscriminator", "LatentInpainter", "KIND", "context_weights"]

#: ``kind`` in a model file's JSON that marks a latent model.
KIND = "latent"


@dataclass(frozen=True)
class LatentConfig:
    """Architecture of the DCGAN and settings of the z-search.

    Parameters
    ----------
    tile_size : int
        Tile edge in pixels: ``4 * 2**len(widths)``.
    z_dim : int
        Length of the latent vector ``z``.
    widths : tuple of int
        Generator channels from the 4x4 seed up (the discriminator mirrors them).
    value_scale : float
        Normalised anomalies (in tile standard deviations) are divided by this to lie in tanh's range.
    std_floor : float
        Smallest per-tile standard deviation used for normalising (field units).
    steps, restarts : int
        Gradient steps of the z-search, and starting points per tile.
    search_lr : float
        Adam's learning rate on ``z``.
    prior_weight : float
        Lambda: weight of the discriminator's prior loss against the context loss.
    context_window : int
        Box (pixels) over which the missing share that weights an observed pixel is counted.
    context_floor : float
        Weight added to every observed pixel (0: the paper's weights, which ignore observed
        pixels with no missing neighbour).
    blend : {"poisson", "none"}
        How the generated tile enters the gaps.
    seed : int
        Seed of the starting points.
    """

    tile_size: int = 64
    z_dim: int = 100
    widths: tuple[int, ...] = (128, 64, 32, 16)
    value_scale: float = 3.0
    std_floor: float = 0.05
    steps: int = 25
    restarts: int = 2
    search_lr: float = 0.05
    prior_weight: float = 0.003
    context_window: int = 7
    context_floor: float = 1.0
    blend: str = "poisson"
    seed: int = 0
    #: a latent model sees its tile only: no context window, no neighbouring steps
    context_margin: int = field(default=0, init=False)
    time_offsets: tuple[float, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:  # a model file's settings: refused by name, not failing later
        for name, least in (("tile_size", 4), ("z_dim", 1), ("steps", 0), ("restarts", 1), ("context_window", 1), ("seed", 0)):
            object.__setattr__(self, name, whole_number(name, getattr(self, name), least))
        object.__setattr__(self, "widths", channel_widths(self.widths))
        for name in ("value_scale", "std_floor", "search_lr", "prior_weight", "context_floor"):
            object.__setattr__(self, name, non_negative_number(name, getattr(self, name)))
        if self.tile_size != 4 * 2 ** len(self.widths):
            raise ValueError(f"tile_size must be 4 * 2**len(widths) = {4 * 2 ** len(self.widths)} for widths {self.widths}, got {self.tile_size}")
        if self.blend not in ("poisson", "none"):
            raise ValueError(f"blend must be 'poisson' or 'none', got {self.blend!r}")

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self) if f.init}

    @classmethod
    def from_dict(cls, d: dict) -> LatentConfig:
        if not isinstance(d, dict):
            raise ValueError(f"the latent configuration must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls) if f.init}
        return cls(**{k: (tuple(v) if k == "widths" else v) for k, v in d.items() if k in known})

    def replace(self, **changes: Any) -> LatentConfig:
        """A copy with ``changes`` (e.g. more search ``steps`` or another ``prior_weight``)."""
        return LatentConfig.from_dict({**self.to_dict(), **changes})


class LatentGenerator(nn.Module):
    """DCGAN generator: z (N, z_dim) -> tile (N, 1, T, T) in [-1, 1]."""

    def __init__(self, config: LatentConfig) -> None:
        super().__init__()
        w = config.widths
        self.seed_shape = (w[0], 4, 4)
        self.project = nn.Sequential(nn.Linear(config.z_dim, w[0] * 16, bias=False), nn.Unflatten(1, self.seed_shape), nn.BatchNorm2d(w[0]), nn.ReLU(True))
        layers: list[nn.Module] = []
        for cin, cout in zip(w[:-1], w[1:]):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(w[-1], w[-1], 4, 2, 1, bias=False), nn.BatchNorm2d(w[-1]), nn.ReLU(True), nn.Conv2d(w[-1], 1, 3, padding=1), nn.Tanh()]
        self.up = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.project(z))


class LatentDiscriminator(nn.Module):
    """DCGAN discriminator: tile (N, 1, T, T) -> logit (N,); :meth:`features` is its pooled trunk."""

    def __init__(self, config: LatentConfig) -> None:
        super().__init__()
        w = config.widths[::-1]
        layers: list[nn.Module] = [nn.Conv2d(1, w[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for cin, cout in zip(w[:-1], w[1:]):
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]
        self.trunk = nn.Sequential(*layers)  # T -> 4x4 after len(widths) halvings
        self.head = nn.Linear(w[-1] * 16, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Mean-pooled trunk features (N, widths[0])."""
        return self.trunk(x).mean(dim=(-2, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x).flatten(1)).squeeze(1)


def context_weights(observed: torch.Tensor, window: int, floor: float) -> torch.Tensor:
    """Yeh et al.'s weights (N, T, T): per observed pixel, the missing share of its ``window`` box, plus ``floor``; 0 where missing.

    Examples
    --------
    >>> obs = torch.ones(1, 8, 8, dtype=torch.bool); obs[0, 4, 4] = False
    >>> w = context_weights(obs, 3, 0.0)
    >>> float(w[0, 4, 3]), float(w[0, 0, 0]), float(w[0, 4, 4])
    (0.1111111119389534, 0.0, 0.0)
    """
    missing = (~observed).to(torch.float32).unsqueeze(1)
    share = nn.functional.avg_pool2d(missing, window, stride=1, padding=window // 2, count_include_pad=False).squeeze(1)
    return torch.where(observed, share + floor, torch.zeros((), dtype=share.dtype, device=share.device))


def _model_from_arrays(config: dict, arrays: dict[str, np.ndarray], device: str) -> LatentInpainter:
    return LatentInpainter.from_file_contents(config, arrays).to(device)


def _model_from_file(path: str, mtime: float, device: str, search: dict) -> LatentInpainter:
    """The model saved at ``path``, read once per process (the cache of :mod:`sstfill.models.cache`), with the ``search`` settings."""

    def read() -> LatentInpainter:
        arrays, config = load_arrays(path)
        return build_model(path, arrays, config, LatentInpainter.from_file_contents).to(device)

    model = LOADED_MODELS.get(("latent-file", path, mtime, device), read)
    return model if model.config.to_dict() == search else model.with_search(**search)


class LatentInpainter:
    """A DCGAN that fills tiles by searching its latent space (see the module's docstring).

    Parameters
    ----------
    config : LatentConfig
        Architecture and search settings.
    history : dict, optional
        Training history (losses per epoch).
    error_model : ErrorModel, optional
        Fitted on held-out fills (``ds.inpaint.train(method="latent")`` does it); None uses
        :data:`~sstfill.kernels.uncertainty.FALLBACK_ERROR_MODEL`.

    Examples
    --------
    >>> import numpy as np
    >>> model = LatentInpainter(LatentConfig(widths=(16, 8, 8, 4), z_dim=8, steps=5))
    >>> tiles = np.random.default_rng(0).normal(290, 1, (2, 64, 64)).astype("float32")
    >>> observed = np.ones(tiles.shape, bool); observed[:, 20:40, 20:40] = False
    >>> out = model.predict_tiles(np.where(observed, tiles, np.nan), observed)
    >>> out.shape, bool((out[observed] == tiles[observed]).all()), bool(np.isfinite(out).all())
    ((2, 64, 64), True, True)
    """

    def __init__(self, config: LatentConfig | None = None, *, history: dict | None = None, error_model: ErrorModel | None = None) -> None:
        self.config = config or LatentConfig()
        self.generator = LatentGenerator(self.config)
        self.discriminator = LatentDiscriminator(self.config)
        self.history: dict[str, list] = history or {}
        self.fitted_error_model = error_model
        self.adapted_on: dict | None = None
        self.preset = KIND
        self.device = torch.device("cpu")
        self.precision = "float32"
        self._path: str | None = None

    # -- the tile-model interface -------------------------------------------------------
    @property
    def tile_size(self) -> int:
        return self.config.tile_size

    @property
    def context_margin(self) -> int:
        return self.config.context_margin

    @property
    def time_offsets(self) -> tuple[float, ...]:
        return self.config.time_offsets

    @property
    def error_model(self) -> ErrorModel:
        """Its own error model, fitted on held-out fills, else :data:`~sstfill.kernels.uncertainty.FALLBACK_ERROR_MODEL`."""
        return self.fitted_error_model or FALLBACK_ERROR_MODEL

    @property
    def preferred_batch(self) -> int:
        return 64 if self.device.type == "cpu" else 4096

    @property
    def description(self) -> str:
        c = self.config
        return (f"latent-space inpainting with a DCGAN (z in [-1,1]^{c.z_dim}, widths {list(c.widths)}), "
                f"{c.steps} search steps x {c.restarts} restarts, prior weight {c.prior_weight:g}, {c.blend} blending, "
                f"{c.tile_size}x{c.tile_size} tiles")

    def starting_points(self) -> torch.Tensor:
        """The ``restarts`` starting z (restarts, z_dim), the same for every tile."""
        gen = torch.Generator().manual_seed(self.config.seed)
        return torch.rand(self.config.restarts, self.config.z_dim, generator=gen) * 2 - 1

    def search(self, target: torch.Tensor, weights: torch.Tensor, steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The best z per tile and its generated tile (N, T, T), for ``target`` tiles (tanh units) weighted by ``weights``."""
        c = self.config
        steps = c.steps if steps is None else steps
        n, r = len(target), c.restarts
        z = self.starting_points().to(target.device).repeat(n, 1).requires_grad_(True)  # (n * r, d), tile-major
        tgt = target.repeat_interleave(r, 0).unsqueeze(1)
        w = weights.repeat_interleave(r, 0).unsqueeze(1)
        opt = torch.optim.Adam([z], lr=c.search_lr)
        g, d = self.generator.eval(), self.discriminator.eval()

        def loss_of(z_now: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            tiles = g(z_now)
            context = (w * (tiles - tgt).abs()).sum(dim=(1, 2, 3))
            # log(1 - D) = -softplus(logit): small where D calls the tile real
            prior = -nn.functional.softplus(d(tiles)) if c.prior_weight else torch.zeros_like(context)
            return context + c.prior_weight * prior, tiles

        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            total, _ = loss_of(z)
            total.sum().backward()  # tiles are independent: each z gets its own loss's gradient
            opt.step()
            with torch.no_grad():
                z.clamp_(-1, 1)
        with torch.no_grad():
            total, tiles = loss_of(z)
        best = total.view(n, r).argmin(dim=1)
        pick = torch.arange(n, device=target.device) * r + best
        return z.detach()[pick], tiles[pick, 0]

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray, neighbours: np.ndarray | None = None) -> np.ndarray:
        """Fill a batch of tiles (N, T, T), NaN where not ``observed``; returns float32 (N, T, T).

        ``neighbours`` is accepted and ignored (a latent model sees one tile).
        """
        t = self.config.tile_size
        if values.shape[-2:] != (t, t):
            raise ModelMismatchError(f"This latent model fills {t}x{t} tiles, got {values.shape[-2:]}.")
        self._freeze()
        v = torch.from_numpy(np.ascontiguousarray(values, dtype="float32")).to(self.device)
        m = torch.from_numpy(np.ascontiguousarray(observed, dtype=bool)).to(self.device)
        outs = []
        step = self.preferred_batch
        with torch.inference_mode(False), torch.enable_grad():
            for i in range(0, len(v), step):
                outs.append(self._fill(v[i : i + step], m[i : i + step]).cpu())
        return torch.cat(outs).numpy() if outs else np.empty((0, t, t), "float32")

    def _fill(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        c = self.config
        norm, mean, std = normalise_tiles(values, observed, c.std_floor)
        target = norm / c.value_scale
        _, generated = self.search(target, context_weights(observed, c.context_window, c.context_floor))
        generated = generated.detach() * c.value_scale  # back to tile standard deviations
        if c.blend == "poisson":
            # the generated field's gradients, the observed field's values at the gap borders
            correction = harmonic_fill(norm - generated, observed, 4, tolerance=1e-4)
            filled = generated + torch.where(observed, torch.zeros_like(correction), correction)
        else:
            filled = generated
        out = filled * std + mean
        return torch.where(observed, values, out)

    def _freeze(self) -> None:
        for p in (*self.generator.parameters(), *self.discriminator.parameters()):
            p.requires_grad_(False)

    # -- device, persistence ------------------------------------------------------------
    def to(self, device: str | torch.device | None, precision: str | None = None) -> LatentInpainter:
        """Move to ``device`` ("cpu", "cuda", "auto"); returns the model. It always computes in float32 (``precision`` is ignored)."""
        self.device = resolve_device(device)
        self.generator.to(self.device)
        self.discriminator.to(self.device)
        return self

    def _config_json(self) -> dict:
        out = {"kind": KIND, "latent": self.config.to_dict(), "preset": KIND, "history": self.history}
        if self.fitted_error_model is not None:
            out["error_model"] = self.fitted_error_model.to_dict()
        return out

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**state_to_arrays("generator", self.generator.state_dict()), **state_to_arrays("discriminator", self.discriminator.state_dict())}

    def save(self, path: str | os.PathLike, *, extra_config: dict | None = None, overwrite: bool = True) -> Path:
        """Write the weights of both networks (no pickle) and a JSON config to exactly ``path``, atomically; returns it."""
        return save_arrays(path, self._arrays(), {**self._config_json(), **(extra_config or {})}, overwrite=overwrite)

    @classmethod
    def from_file_contents(cls, config: dict, arrays: dict[str, np.ndarray]) -> LatentInpainter:
        """The model a file's JSON ``config`` and weight ``arrays`` describe (on the CPU)."""
        check_config_types(config, {"latent": dict, "history": dict, "error_model": dict})
        latent = LatentConfig.from_dict(config["latent"])
        described = f"widths {list(latent.widths)}, z_dim {latent.z_dim}"
        check_state_shapes(lambda: LatentGenerator(latent), arrays, "generator", described)  # before anything is allocated
        check_state_shapes(lambda: LatentDiscriminator(latent), arrays, "discriminator", described)
        saved = config.get("error_model")
        model = cls(latent, history=config.get("history"), error_model=None if saved is None else ErrorModel.from_dict(saved))
        model.generator.load_state_dict(arrays_to_state("generator", arrays))
        model.discriminator.load_state_dict(arrays_to_state("discriminator", arrays))
        return model

    def with_search(self, **changes: Any) -> LatentInpainter:
        """A copy sharing the weights, with other search settings (``steps``, ``restarts``, ``prior_weight``, ...).

        Examples
        --------
        >>> LatentInpainter(LatentConfig(widths=(8, 8, 8, 8))).with_search(steps=10).config.steps
        10
        """
        out = object.__new__(LatentInpainter)  # not copy.copy: that goes through __reduce__ and copies the weights
        out.__dict__.update(self.__dict__)
        out.config = self.config.replace(**changes)
        return out

    def copy(self) -> LatentInpainter:
        """An independent copy (weights, error model, device)."""
        out = LatentInpainter.from_file_contents(self._config_json(), self._arrays())
        return out.to(self.device)

    def __reduce__(self):
        # dask pickles the model into its task graph: a file's path (read once per worker) or
        # plain arrays and JSON, never torch modules
        if self._path is not None and Path(self._path).is_file():
            return (_model_from_file, (self._path, os.path.getmtime(self._path), str(self.device), self.config.to_dict()))
        return (_model_from_arrays, (self._config_json(), self._arrays(), str(self.device)))

    def __repr__(self) -> str:
        n = sum(p.numel() for p in self.generator.parameters())
        return f"<LatentInpainter z_dim={self.config.z_dim} widths={list(self.config.widths)} params={n} steps={self.config.steps} restarts={self.config.restarts} device={self.device}>"

