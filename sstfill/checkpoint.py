"""Save and load models without pickle: arrays in an ``.npz`` plus a JSON config.

A model file is a numpy ``.npz`` archive read with ``allow_pickle=False``: one array per
tensor of the generator's ``state_dict`` (``generator/<name>``), optionally the
discriminator and optimiser state (``discriminator/...``, ``optimizer_g/...``) for resuming,
and ``__config__``: UTF-8 JSON with the architecture, tile size, normalisation, training
history and the sstfill version. Loading never executes code from the file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import ModelFileError

__all__ = [
    "FORMAT",
    "save_arrays",
    "load_arrays",
    "state_to_arrays",
    "arrays_to_state",
    "load_model",
    "load_default_model",
    "load_bundled_model",
    "default_model_path",
    "bundled_model_path",
    "DEFAULT_MODEL",
    "BUNDLED_MODELS",
]

FORMAT = "sstfill-model/1"
DEFAULT_MODEL = "default_model.npz"
#: Trained models shipped in ``sstfill/data``, by the name ``model=`` accepts.
BUNDLED_MODELS = {"default": DEFAULT_MODEL, "fast": "fast_model.npz"}


def state_to_arrays(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """``state_dict`` tensors as numpy arrays under ``prefix/``."""
    return {f"{prefix}/{k}": v.detach().cpu().numpy() for k, v in state.items()}


def arrays_to_state(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`state_to_arrays`."""
    start = f"{prefix}/"
    return {k[len(start) :]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith(start)}


def optimizer_to_arrays(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, np.ndarray], dict]:
    """Optimiser state: tensors as arrays, the rest (hyper-parameters) as JSON-able dict."""
    sd = optimizer.state_dict()
    arrays = {}
    for pid, pstate in sd["state"].items():
        for key, value in pstate.items():
            arrays[f"{prefix}/{pid}/{key}"] = torch.as_tensor(value).detach().cpu().numpy()
    return arrays, {"param_groups": sd["param_groups"]}


def arrays_to_optimizer(prefix: str, arrays: dict[str, np.ndarray], meta: dict, optimizer: torch.optim.Optimizer) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    start = f"{prefix}/"
    for k, v in arrays.items():
        if k.startswith(start):
            pid, key = k[len(start) :].split("/", 1)
            state.setdefault(int(pid), {})[key] = torch.from_numpy(np.array(v))
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray], config: dict[str, Any]) -> Path:
    """Write ``arrays`` and ``config`` atomically (temporary file, then rename)."""
    from . import __version__

    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
    meta = dict(config, format=FORMAT, sstfill_version=__version__)
    payload = dict(arrays)
    payload["__config__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a model file: (arrays, config). Raises :class:`ModelFileError` on any problem."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Model file {str(path)!r} does not exist. Train one with ds.inpaint.train(...) and model.save(path), or pass model=None for the bundled model.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise ModelFileError(f"Model file {str(path)!r} is corrupt or truncated ({type(err).__name__}: {err}). Re-save or re-download it.") from err
    if "__config__" not in arrays:
        raise ModelFileError(f"{str(path)!r} is an .npz file but not an sstfill model (no __config__ entry).")
    try:
        config = json.loads(arrays.pop("__config__").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"Model file {str(path)!r} has an unreadable configuration ({err}).") from err
    if config.get("format") != FORMAT:
        raise ModelFileError(f"Model file {str(path)!r} has format {config.get('format')!r}; this sstfill reads {FORMAT!r}. Upgrade sstfill or re-train.")
    return arrays, config


def load_model(path: str | os.PathLike, device: str | None = None, precision: str = "auto"):
    """Load a model saved with :meth:`Inpainter.save` (weights only; never unpickles).

    ``device`` and ``precision`` are as in :meth:`Inpainter.to`.

    Examples
    --------
    >>> import sstfill, tempfile, os
    >>> m = sstfill.Inpainter.from_preset("fast")
    >>> p = m.save(os.path.join(tempfile.mkdtemp(), "m.npz"))
    >>> load_model(p).config.widths
    (16, 32, 48)
    """
    from .inpainter import Inpainter

    return Inpainter.load(path, device=device, precision=precision)


_BUNDLED_CACHE: dict[tuple, Any] = {}


def bundled_model_path(name: str = "default"):
    """Where a bundled model (a key of :data:`BUNDLED_MODELS`) lives in the installed package; it may be missing."""
    if name not in BUNDLED_MODELS:
        raise ValueError(f"No bundled model named {name!r}; the bundled models are {sorted(BUNDLED_MODELS)}.")
    return resources.files("sstfill") / "data" / BUNDLED_MODELS[name]


def default_model_path():
    """Where the bundled default model lives inside the installed package (it may be missing)."""
    return bundled_model_path("default")


def load_bundled_model(name: str = "default", device: str | None = None, precision: str | None = None):
    """A model shipped inside the package, trained on real MUR and SLSTR SST.

    ``"default"`` is the most accurate; ``"fast"`` (the ``fast`` preset) fills 1.7-1.9x as
    fast on a CPU for a slightly higher error (see the benchmarks page). Loaded once per
    process and per ``(device, precision)`` (see :meth:`Inpainter.to`), so asking for
    another precision never changes the model other callers hold.

    Examples
    --------
    >>> load_bundled_model("fast").config.widths
    (16, 32, 48)
    """
    from .inpainter import resolve_device

    ref = bundled_model_path(name)
    if not ref.is_file():
        raise ModelFileError(f"The bundled {name!r} model is missing from this installation of sstfill. Reinstall sstfill, or pass model='laplace' or a model path.")
    key = (name, str(resolve_device(device or "cpu")), precision or "auto")
    if key not in _BUNDLED_CACHE:
        with resources.as_file(ref) as file:
            _BUNDLED_CACHE[key] = load_model(file, device=key[1], precision=key[2])
    return _BUNDLED_CACHE[key]


def load_default_model(device: str | None = None, precision: str | None = None):
    """The bundled default model: :func:`load_bundled_model` ``("default", device, precision)``."""
    return load_bundled_model("default", device, precision)
