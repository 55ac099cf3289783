"""The user-facing neural model: a generator, its configuration, and tile filling.

An :class:`Inpainter` is what ``ds.inpaint.train(...)`` returns, what ``model.save(path)``
writes and :func:`sstfill.load_model` reads, and what ``da.inpaint.fill(model)`` uses.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .checkpoint import arrays_to_state, load_arrays, save_arrays, state_to_arrays
from .errors import ModelFileError
from .model import Generator, ModelConfig, PRESETS, build_inputs, make_discriminator, normalise_tiles

__all__ = ["Inpainter", "resolve_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """"auto" -> CUDA when available, else CPU; asking for CUDA without it falls back with a warning."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        warnings.warn("CUDA was requested but is not available here: running on the CPU instead.", RuntimeWarning, stacklevel=3)
        return torch.device("cpu")
    return device


_LOADED: dict[tuple, Inpainter] = {}


def _load_cached(path: str, mtime: float, device: str) -> Inpainter:
    """Load a model once per process (dask workers unpickle models through this)."""
    key = (path, mtime, device)
    if key not in _LOADED:
        _LOADED[key] = Inpainter.load(path, device=device)
    return _LOADED[key]


def _from_arrays(config: dict, arrays: dict[str, np.ndarray], device: str) -> Inpainter:
    model = Inpainter(ModelConfig.from_dict(config["model"]), history=config.get("history"), preset=config.get("preset"))
    model.generator.load_state_dict(arrays_to_state("generator", arrays))
    return model.to(device)


class Inpainter:
    """An adversarially trained convolutional autoencoder that fills tiles.

    Parameters
    ----------
    config : ModelConfig
        Architecture and loss settings.
    history : dict, optional
        Training history (losses per epoch).
    preset : str, optional
        Name of the preset it was built from.

    Examples
    --------
    >>> import numpy as np, sstfill
    >>> model = sstfill.Inpainter.from_preset("fast")
    >>> tiles = np.random.default_rng(0).normal(290, 1, (2, 64, 64)).astype("float32")
    >>> model.predict_tiles(tiles, np.ones(tiles.shape, bool)).shape
    (2, 64, 64)
    """

    def __init__(self, config: ModelConfig | None = None, *, history: dict | None = None, preset: str | None = None) -> None:
        self.config = config or ModelConfig()
        self.generator = Generator(self.config)
        self.discriminator = make_discriminator(self.config)
        self.history: dict[str, list] = history or {}
        self.preset = preset
        self.device = torch.device("cpu")
        self._path: str | None = None

    @classmethod
    def from_preset(cls, preset: str = "default", **overrides: Any) -> Inpainter:
        """A fresh (untrained) model from a named preset in :data:`sstfill.model.PRESETS`."""
        if preset not in PRESETS:
            raise ValueError(f"Unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
        return cls(ModelConfig(**{**PRESETS[preset], **overrides}), preset=preset)

    # -- the tile-model interface -------------------------------------------------------
    @property
    def tile_size(self) -> int:
        return self.config.tile_size

    @property
    def description(self) -> str:
        c = self.config
        adv = f"{c.discriminator} discriminator" if c.discriminator and c.adversarial_weight else "no adversary"
        name = f"'{self.preset}' " if self.preset else ""
        return f"adversarial convolutional autoencoder, {name}preset, widths {list(c.widths)}, {adv}, {c.tile_size}x{c.tile_size} tiles"

    def forward_tiles(self, values: torch.Tensor, observed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalised prediction (N, T, T) and the per-tile (mean, std) to undo it."""
        norm, mean, std = normalise_tiles(values, observed, self.config.std_floor)
        x, guess = build_inputs(norm, observed, self.config)
        with torch.autocast(device_type=values.device.type, dtype=torch.bfloat16, enabled=values.device.type == "cuda"):
            out = self.generator(x).squeeze(1)
        out = out.float()
        if self.config.residual:
            out = out + guess
        return out, mean, std

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """Fill a batch of tiles ``(N, T, T)`` (NaN where not observed); returns float32."""
        if values.shape[-1] != self.tile_size or values.shape[-2] != self.tile_size:
            from .errors import ModelMismatchError

            raise ModelMismatchError(f"This model fills {self.tile_size}x{self.tile_size} tiles, got {values.shape[-2:]}.")
        self.generator.eval()
        cuda = self.device.type == "cuda"
        v = torch.from_numpy(np.ascontiguousarray(values, dtype="float32"))
        m = torch.from_numpy(np.ascontiguousarray(observed, dtype=bool))
        if cuda:
            v, m = v.pin_memory().to(self.device, non_blocking=True), m.pin_memory().to(self.device, non_blocking=True)
        outs = []
        with torch.inference_mode():
            for i in range(0, len(v), self._max_batch()):
                out, mean, std = self.forward_tiles(v[i : i + self._max_batch()], m[i : i + self._max_batch()])
                outs.append((out * std + mean).cpu())
        return torch.cat(outs).numpy().astype("float32", copy=False)

    def _max_batch(self) -> int:
        """Tiles per forward pass so no activation exceeds torch's 32-bit indexing (2**31 elements)."""
        c = self.config
        largest = max(2 * w * (c.tile_size >> i) ** 2 for i, w in enumerate(c.widths))
        return max(1, 2**30 // largest)

    # -- device, persistence ------------------------------------------------------------
    def to(self, device: str | torch.device | None) -> Inpainter:
        """Move to ``device`` ("cpu", "cuda", "auto"); returns the model itself."""
        self.device = resolve_device(device)
        self.generator.to(self.device)
        if self.discriminator is not None:
            self.discriminator.to(self.device)
        return self

    def _config_json(self) -> dict:
        return {"model": self.config.to_dict(), "preset": self.preset, "history": self.history}

    def save(self, path: str | os.PathLike, *, extra_arrays: dict[str, np.ndarray] | None = None, extra_config: dict | None = None) -> Path:
        """Write weights (no pickle) and a JSON config to ``path`` (``.npz``); returns the path."""
        arrays = state_to_arrays("generator", self.generator.state_dict())
        arrays.update(extra_arrays or {})
        return save_arrays(path, arrays, {**self._config_json(), **(extra_config or {})})

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> Inpainter:
        """Read a file written by :meth:`save`; corrupt or incompatible files raise ``ModelFileError``."""
        arrays, config = load_arrays(path)
        try:
            model = cls(ModelConfig.from_dict(config["model"]), history=config.get("history"), preset=config.get("preset"))
            model.generator.load_state_dict(arrays_to_state("generator", arrays))
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ModelFileError(f"Model file {str(path)!r} does not match this version of sstfill's networks ({type(err).__name__}: {str(err)[:300]}). Re-train it with this version.") from err
        model._path = str(Path(path).resolve())
        return model.to(device or "cpu")

    def __reduce__(self):
        # dask pickles the model into its task graph: send a path (loaded once per worker)
        # or plain numpy arrays, never a pickled torch module
        if self._path is not None and Path(self._path).is_file():
            return (_load_cached, (self._path, os.path.getmtime(self._path), str(self.device)))
        return (_from_arrays, (self._config_json(), state_to_arrays("generator", self.generator.state_dict()), str(self.device)))

    def __repr__(self) -> str:
        n = sum(p.numel() for p in self.generator.parameters())
        return f"<Inpainter preset={self.preset!r} widths={list(self.config.widths)} params={n} device={self.device}>"
