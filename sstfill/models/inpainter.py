"""The user-facing neural model: a generator, its configuration, and tile filling.

An :class:`Inpainter` is what ``ds.inpaint.train(...)`` returns, what ``model.save(path)``
writes and :func:`sstfill.load_model` reads, and what ``da.inpaint.fill(model)`` uses.
"""

from __future__ import annotations

import copy
import functools
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sstfill.errors import ModelFileError, ModelMismatchError
from sstfill.kernels.uncertainty import FALLBACK_ERROR_MODEL, ErrorModel
from sstfill.models.batching import TileBatcher, batcher_for, existing_batcher
from sstfill.models.cache import LOADED_MODELS
from sstfill.models.files import arrays_to_state, build_model, check_config_types, check_state_shapes, load_arrays, resolve_model_file, save_arrays, state_to_arrays
from sstfill.models.networks import Generator, ModelConfig, PRESETS, build_inputs, make_discriminator, normalise_tiles

__all__ = ["Inpainter", "resolve_device", "resolve_precision", "load_file_once", "PRECISIONS"]

#: What ``precision=`` accepts: "auto" is bfloat16 where the hardware computes it natively
#: (CUDA; CPUs with AVX512-BF16 or AMX) and float32 elsewhere.
PRECISIONS = ("auto", "float32", "bfloat16")
#: Tiles per forward pass on a CPU: small batches keep the activations in cache.
CPU_MICRO_BATCH = 16
#: Tiles per ``predict_tiles`` call that :func:`sstfill.xr.dispatch.fill_block` aims at, and
#: the batch a GPU's :class:`~sstfill.models.batching.TileBatcher` gathers across chunks.
PREFERRED_BATCH = {"cpu": 256, "cuda": 8192}
#: On a CPU, pixels of windows per call at most: 256 windows of 96 x 96 (the default model),
#: 64 of 192 x 192 (the context model, whose fill at 256 a call took 2.7x the memory and
#: no less time: 528 against 193 MB, 4.2 against 3.9 s on 8 steps of 512 x 512).
CPU_BATCH_PIXELS = 256 * 96 * 96
#: Pixels from the nearest observation of the same image beyond which a model that sees one
#: image fills no gap: the harmonic fallback does (issue 14). Far from its data a tile is
#: normalised on a few pixels, is worse than a smooth fill, and meets its neighbours in
#: tile-sized steps. Measured with the default model on the held-out cases
#: (``python benchmarks/accuracy.py``), pooled RMSE / under clouds wider than a tile, degC:
#: no limit 0.211 / 0.643; 48 px 0.211 / 0.643; 32 px 0.209 / 0.633; 20 px 0.208 / 0.630;
#: 12 px 0.208 / 0.631; 6 px 0.209 / 0.638; 16 px with the cover rule and the smoothing of
#: the tiles, as shipped, 0.207 / 0.631.
TILE_REACH = 16


def resolve_device(device: str | torch.device | None) -> torch.device:
    """"auto" -> CUDA when available, else CPU; asking for CUDA without it falls back with a warning."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} is not a torch device: use 'auto', 'cpu', 'cuda' or 'cuda:N'.") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        warnings.warn("CUDA was requested but is not available here: running on the CPU instead.", RuntimeWarning, stacklevel=3)
        return torch.device("cpu")
    return device


@functools.lru_cache(maxsize=1)
def _cpu_has_native_bf16() -> bool:
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # older torch: do not guess
        return False


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """The dtype the generator computes in: ``precision`` from :data:`PRECISIONS` on ``device``.

    "auto" picks bfloat16 where it is native (CUDA, or a CPU with AVX512-BF16/AMX), where it
    is 2-3x faster than float32 and changes filled values by about 0.01 K; float32 elsewhere.
    Inputs, the harmonic first guess and the output stay float32 either way.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    native = device.type == "cuda" or (device.type == "cpu" and _cpu_has_native_bf16())
    return torch.bfloat16 if native else torch.float32


def load_file_once(path: str, mtime: float, device: str, precision: str = "auto") -> Inpainter:
    """The model saved at ``path``, read once per process and ``(path, mtime, device, precision)``.

    Dask workers unpickle a saved model through this (see :meth:`Inpainter.__reduce__`), so
    the tasks of one worker share one copy: see :mod:`sstfill.models.cache`.
    """
    return LOADED_MODELS.get(("file", path, mtime, device, precision), lambda: Inpainter.load(path, device=device, precision=precision))


def _from_config(config: dict, arrays: dict[str, np.ndarray]) -> Inpainter:
    """The model a file's JSON ``config`` and weight ``arrays`` describe (on the CPU)."""
    if config.get("kind", "autoencoder") != "autoencoder":
        raise ModelFileError(f"This file holds a {config['kind']!r} model, not an autoencoder: load it with sstfill.load_model(path).")
    check_config_types(config, {"model": dict, "history": dict, "error_model": dict, "adapted_on": dict, "preset": str})
    model_config = ModelConfig.from_dict(config["model"])
    described = f"widths {list(model_config.widths)}, {model_config.channels} input channels"
    check_state_shapes(lambda: Generator(model_config), arrays, "generator", described)  # before anything is allocated: a config may ask for huge layers
    saved = config.get("error_model")
    model = Inpainter(model_config, history=config.get("history"), preset=config.get("preset"),
                      error_model=None if saved is None else ErrorModel.from_dict(saved))
    model.generator.load_state_dict(arrays_to_state("generator", arrays))
    model.adapted_on = config.get("adapted_on")
    return model


def _from_arrays(config: dict, arrays: dict[str, np.ndarray], device: str, precision: str = "auto") -> Inpainter:
    return _from_config(config, arrays).to(device, precision=precision)


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
    error_model : ErrorModel, optional
        The standard deviation of its fills' errors, pixel by pixel
        (:mod:`sstfill.kernels.uncertainty`), fitted on held-out errors; None (a model not
        yet fitted, or a file saved before sstfill had error models) uses
        :data:`~sstfill.kernels.uncertainty.FALLBACK_ERROR_MODEL`, the harmonic fill's.

    Examples
    --------
    >>> import numpy as np, sstfill
    >>> model = sstfill.Inpainter.from_preset("fast")
    >>> tiles = np.random.default_rng(0).normal(290, 1, (2, 64, 64)).astype("float32")
    >>> model.predict_tiles(tiles, np.ones(tiles.shape, bool)).shape
    (2, 64, 64)
    """

    def __init__(self, config: ModelConfig | None = None, *, history: dict | None = None, preset: str | None = None, error_model: ErrorModel | None = None) -> None:
        self.config = config or ModelConfig()
        self.fitted_error_model = error_model
        #: what the model was adapted on (``ds.inpaint.train(init=...)``): data, variable,
        #: time span, settings; saved in its JSON, shown by ``sstfill info``
        self.adapted_on: dict | None = None
        self.generator = Generator(self.config)
        self.discriminator = make_discriminator(self.config)
        self.history: dict[str, list] = history or {}
        self.preset = preset
        self.device = torch.device("cpu")
        self.precision = "auto"
        #: merge concurrent predict_tiles calls (dask tasks) into one device batch;
        #: None: on CUDA devices only
        self.cross_chunk_batching: bool | None = None
        self._path: str | None = None
        # the bfloat16 copy of the generator (see _generator_in), with the stamp it was made for
        self._cast_generator: tuple[tuple, torch.nn.Module] | None = None

    @classmethod
    def from_preset(cls, preset: str = "default", **overrides: Any) -> Inpainter:
        """A fresh (untrained) model from a named preset in :data:`sstfill.models.networks.PRESETS`."""
        if preset not in PRESETS:
            raise ValueError(f"Unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
        return cls(ModelConfig(**{**PRESETS[preset], **overrides}), preset=preset)

    # -- the tile-model interface -------------------------------------------------------
    @property
    def tile_size(self) -> int:
        return self.config.tile_size

    @property
    def context_margin(self) -> int:
        """Pixels of context wanted beyond each tile: ``predict_tiles`` takes windows this much wider on every side."""
        return self.config.context_margin

    @property
    def time_offsets(self) -> tuple[float, ...]:
        """Offsets of the neighbouring time steps ``predict_tiles`` takes as ``neighbours``, in units of :attr:`time_step_days`."""
        return self.config.time_offsets

    @property
    def time_step_days(self) -> float:
        """Days per unit of :attr:`time_offsets` (1: offsets in days)."""
        return self.config.time_step_days

    #: Tiles go through :func:`~sstfill.kernels.tiling.smooth_tiles` (the decoder's ripple).
    smooth_output = True

    @property
    def tile_reach(self) -> int | None:
        """Gaps farther than this (pixels) from the data of their image are left to the fallback.

        :data:`TILE_REACH` for a model that sees its tile of one image only; None (no
        limit) for one that sees neighbouring time steps or a coarse view of a context
        window beyond its tile: such tiles know more than the image's data around them (the
        reach was measured for the tile-only models).
        """
        c = self.config
        return None if c.time_offsets or c.sees_wide_view else TILE_REACH

    @property
    def error_model(self) -> ErrorModel:
        """The error model of its fills: its own, fitted on held-out errors, else :data:`~sstfill.kernels.uncertainty.FALLBACK_ERROR_MODEL`."""
        return self.fitted_error_model or FALLBACK_ERROR_MODEL

    @property
    def description(self) -> str:
        c = self.config
        adv = f"{c.discriminator} discriminator" if c.discriminator and c.adversarial_weight else "no adversary"
        name = f"'{self.preset}' " if self.preset else ""
        context = ""
        if c.sees_wide_view:
            context += f", context window {c.window}x{c.window}"
        if c.guess_on_window:
            context += f", first guess on the {c.window}x{c.window} window"
        if c.time_offsets:
            unit = "d" if c.time_step_days == 1 else f"x {c.time_step_days:g} d"
            context += f", neighbouring steps {', '.join(f'{t:+g}' for t in c.time_offsets)} {unit}"
        return f"adversarial convolutional autoencoder, {name}preset, widths {list(c.widths)}, {adv}, {c.tile_size}x{c.tile_size} tiles{context}"

    def forward_tiles(
        self,
        values: torch.Tensor,
        observed: torch.Tensor,
        dtype: torch.dtype = torch.float32,
        micro_batch: int | None = None,
        generator: torch.nn.Module | None = None,
        neighbours: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalised prediction (N, T, T) and the per-tile (mean, std) to undo it.

        ``values`` and ``observed`` are windows (N, W, W) of ``config.window`` pixels around
        the tiles (the tiles themselves for a model without context margin);
        ``neighbours`` (N, S, T, T), NaN where not observed, are the tiles at the steps of
        ``config.time_offsets`` (None: none known). ``dtype`` is what the generator
        computes in (bfloat16 through autocast); the normalisation, the first guess and the
        output are float32. The generator runs on ``micro_batch`` tiles at a time (all at
        once if None). ``generator`` replaces ``self.generator``: filling passes a copy
        whose weights are already ``dtype``.
        """
        cfg = self.config
        norm, mean, std = normalise_tiles(values, observed, cfg.std_floor, cfg.context_margin, cfg.window_std_floor)
        nb = nb_obs = None
        if neighbours is not None and cfg.time_offsets:
            nb_obs = torch.isfinite(neighbours)
            nb = torch.where(nb_obs, (neighbours - mean[:, None]) / std[:, None], torch.zeros((), dtype=neighbours.dtype, device=neighbours.device))
        x, guess = build_inputs(norm, observed, cfg, nb, nb_obs)
        x = x.contiguous(memory_format=torch.channels_last)
        step = micro_batch or max(1, len(x))
        net = generator if generator is not None else self.generator
        weights = next(net.parameters()).dtype
        if weights != torch.float32:
            x = x.to(weights)
        with torch.autocast(device_type=values.device.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16 and weights == torch.float32):
            out = torch.cat([net(x[i : i + step]) for i in range(0, len(x), step)]).squeeze(1)
        out = out.float()
        if cfg.residual:
            out = out + guess
        return out, mean, std

    def _generator_in(self, dtype: torch.dtype) -> torch.nn.Module:
        """The generator with its weights in ``dtype``, for filling.

        A bfloat16 copy computes the same values as autocast (which casts the weights in
        every call) about 1.35x faster on a CPU. The copy is made again whenever the
        weights change (training, ``load_state_dict``, ``to``): in-place updates bump
        each parameter's version counter. It lives on the model, not in the cache of loaded
        models (:mod:`sstfill.models.cache`): it is derived from this object's live weights,
        not from a file, is stale as soon as they change, and goes away with the model
        (default model: 1.6 MiB, made in 90 ms, checked in 0.5 ms per call; measured).
        """
        if dtype == torch.float32:
            return self.generator
        params = list(self.generator.parameters())
        stamp = (dtype, self.device, tuple((p.data_ptr(), p._version) for p in params))
        cached = self._cast_generator
        if cached is None or cached[0] != stamp:
            net = copy.deepcopy(self.generator).to(dtype=dtype).eval().requires_grad_(False)
            self._cast_generator = cached = (stamp, net)
        return cached[1]

    @property
    def preferred_batch(self) -> int:
        """Tiles per :meth:`predict_tiles` call that keep this model's device busy (on a CPU, at most :data:`CPU_BATCH_PIXELS` of windows)."""
        if self.device.type == "cuda":
            return PREFERRED_BATCH["cuda"]
        return max(1, min(PREFERRED_BATCH["cpu"], CPU_BATCH_PIXELS // self.config.window**2))

    def predict_tiles(self, values: np.ndarray, observed: np.ndarray, neighbours: np.ndarray | None = None) -> np.ndarray:
        """Fill a batch of tiles; returns float32 (N, T, T).

        ``values`` (N, W, W), NaN where not ``observed``, are windows of ``config.window``
        pixels around the tiles (the tiles when the model has no context margin);
        ``neighbours`` (N, S, T, T), NaN where not observed, the same tiles at the steps of
        ``config.time_offsets`` (None: none known). Thread-safe. On a GPU, calls that
        arrive together from several threads (the chunks dask fills at once) run as one
        batch: see :mod:`sstfill.models.batching`.
        """
        w = self.config.window
        if values.shape[-1] != w or values.shape[-2] != w:
            what = f"{self.tile_size}x{self.tile_size} tiles" + (f" in {w}x{w} context windows" if w != self.tile_size else "")
            raise ModelMismatchError(f"This model fills {what}, got {values.shape[-2:]}.")
        if neighbours is not None and not self.config.time_offsets:
            neighbours = None
        batching = self.cross_chunk_batching if self.cross_chunk_batching is not None else self.device.type == "cuda"
        if batching:
            return batcher_for(self, self._predict_now, batch_tiles=PREFERRED_BATCH["cuda"]).predict_tiles(values, observed, neighbours)
        return self._predict_now(values, observed, neighbours)

    @property
    def _batcher(self) -> TileBatcher | None:
        """The :class:`TileBatcher` merging this model's calls; None before the first batched call."""
        return existing_batcher(self)

    def _predict_now(self, values: np.ndarray, observed: np.ndarray, neighbours: np.ndarray | None = None) -> np.ndarray:
        self.generator.eval()
        cuda = self.device.type == "cuda"
        dtype = resolve_precision(self.precision, self.device)
        v = torch.from_numpy(np.ascontiguousarray(values, dtype="float32"))
        m = torch.from_numpy(np.ascontiguousarray(observed, dtype=bool))
        nb = None if neighbours is None else torch.from_numpy(np.ascontiguousarray(neighbours, dtype="float32"))
        if cuda:
            v, m = v.pin_memory().to(self.device, non_blocking=True), m.pin_memory().to(self.device, non_blocking=True)
            nb = None if nb is None else nb.pin_memory().to(self.device, non_blocking=True)
        # a GPU wants big batches; a CPU runs the network fastest on small ones (activations
        # stay in cache), and everything else fastest on big ones (fewer calls)
        micro = None if cuda else CPU_MICRO_BATCH
        outs, step = [], self._max_batch()
        net = self._generator_in(dtype)
        with torch.inference_mode():
            for i in range(0, len(v), step):
                part = None if nb is None else nb[i : i + step]
                out, mean, std = self.forward_tiles(v[i : i + step], m[i : i + step], dtype, micro, generator=net, neighbours=part)
                outs.append((out * std + mean).cpu())
        return torch.cat(outs).numpy().astype("float32", copy=False)

    def _max_batch(self) -> int:
        """Tiles per forward pass so no activation exceeds torch's 32-bit indexing (2**31 elements)."""
        c = self.config
        largest = max(2 * w * (c.tile_size >> i) ** 2 for i, w in enumerate(c.widths))
        return max(1, 2**30 // largest)

    # -- device, persistence ------------------------------------------------------------
    def to(self, device: str | torch.device | None, precision: str | None = None) -> Inpainter:
        """Move to ``device`` ("cpu", "cuda", "auto"); returns the model itself.

        ``precision`` ("auto", "float32", "bfloat16"; unchanged if None) is what filling
        computes in: see :func:`resolve_precision`.
        """
        self.device = resolve_device(device)
        if precision is not None:
            resolve_precision(precision, self.device)  # raises on an unknown name
            self.precision = precision
        # channels-last is oneDNN's fast layout on CPUs and tensor cores' on GPUs
        self.generator.to(self.device, memory_format=torch.channels_last)
        if self.discriminator is not None:
            self.discriminator.to(self.device)
        return self

    def _config_json(self) -> dict:
        out = {"model": self.config.to_dict(), "preset": self.preset, "history": self.history}
        if self.fitted_error_model is not None:
            out["error_model"] = self.fitted_error_model.to_dict()
        if self.adapted_on is not None:
            out["adapted_on"] = self.adapted_on
        return out

    def save(self, path: str | os.PathLike, *, extra_arrays: dict[str, np.ndarray] | None = None, extra_config: dict | None = None, overwrite: bool = True) -> Path:
        """Write the weights (no pickle) and a JSON config to exactly ``path``; returns it.

        The file is an ``.npz`` archive whatever its name (``model.npz`` is customary, but
        ``model.sstfill`` is written as given, with no suffix added). The write is atomic:
        a temporary file in the same directory, renamed over ``path`` when complete.
        :func:`sstfill.load_model` reads it back from the same path. ``overwrite=False`` never
        replaces a file, also one that appeared while the model trained (``OutputError``).
        """
        arrays = state_to_arrays("generator", self.generator.state_dict())
        arrays.update(extra_arrays or {})
        return save_arrays(path, arrays, {**self._config_json(), **(extra_config or {})}, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None, precision: str = "auto") -> Inpainter:
        """Read a file written by :meth:`save`, under any name.

        Missing files, directories, corrupt or incompatible files and files holding pickled
        objects (refused, never unpickled) raise ``ModelFileError``; see
        :func:`sstfill.models.files.resolve_model_file` for files older sstfill versions saved
        as ``path + ".npz"``.
        """
        path = resolve_model_file(path)
        arrays, config = load_arrays(path)
        return build_model(path, arrays, config, _from_config).to(device or "cpu", precision=precision)

    def copy(self) -> Inpainter:
        """An independent copy: same configuration, weights (and discriminator's), error model, device and precision.

        Not ``copy.deepcopy``: pickling a model that was loaded from a file sends its path
        (:meth:`__reduce__`), and unpickling gives the one shared, cached model of that file.

        Examples
        --------
        >>> a = Inpainter.from_preset("fast"); b = a.copy()
        >>> b is not a and all(bool((p == q).all()) for p, q in zip(a.generator.parameters(), b.generator.parameters()))
        True
        """
        out = Inpainter(ModelConfig.from_dict(self.config.to_dict()), history=copy.deepcopy(self.history), preset=self.preset, error_model=self.fitted_error_model)
        out.generator.load_state_dict({k: v.detach().clone() for k, v in self.generator.state_dict().items()})
        if self.discriminator is not None and out.discriminator is not None:
            out.discriminator.load_state_dict({k: v.detach().clone() for k, v in self.discriminator.state_dict().items()})
        out.adapted_on = copy.deepcopy(self.adapted_on)
        out.cross_chunk_batching = self.cross_chunk_batching
        return out.to(self.device, precision=self.precision)

    def __reduce__(self):
        # dask pickles the model into its task graph: send a path (loaded once per worker)
        # or plain numpy arrays, never a pickled torch module
        if self._path is not None and Path(self._path).is_file():
            return (load_file_once, (self._path, os.path.getmtime(self._path), str(self.device), self.precision))
        return (_from_arrays, (self._config_json(), state_to_arrays("generator", self.generator.state_dict()), str(self.device), self.precision))

    def __repr__(self) -> str:
        n = sum(p.numel() for p in self.generator.parameters())
        return f"<Inpainter preset={self.preset!r} widths={list(self.config.widths)} params={n} device={self.device} precision={self.precision!r}>"
