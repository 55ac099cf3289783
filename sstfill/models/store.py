"""Where models come from: the bundled models, files by path, and what ``model=`` accepts.

:func:`resolve_model` turns a user's ``model=`` into a tile model; :func:`load_model` reads
a saved file (the format: :mod:`sstfill.models.files`); :func:`load_bundled_model` loads a
model shipped in ``sstfill/data``. Loaded models are shared through the one cache,
:data:`sstfill.models.cache.LOADED_MODELS`.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from sstfill.errors import ModelFileError, ModelMismatchError
from sstfill.models.cache import LOADED_MODELS
from sstfill.models.harmonic import LaplaceFiller
from sstfill.models.inpainter import Inpainter, resolve_device

__all__ = [
    "load_model",
    "resolve_model",
    "load_default_model",
    "load_bundled_model",
    "model_source",
    "bundled_model_path",
    "DEFAULT_MODEL",
    "BUNDLED_MODELS",
    "BUNDLED_MODEL_USES",
]

DEFAULT_MODEL = "default_model.npz"
#: Trained models shipped in ``sstfill/data``, by the name ``model=`` accepts.
BUNDLED_MODELS = {"default": DEFAULT_MODEL, "fast": "fast_model.npz", "context": "context_model.npz", "latent": "latent_model.npz"}
#: What each bundled model is for, one line each (``sstfill info`` lists them).
BUNDLED_MODEL_USES = {
    "default": "the most accurate on single images; what fill() uses on them (and on monthly or sparse series) when no model is given",
    "fast": "fills 1.8-2.2x as fast on a CPU for a slightly higher error",
    "context": "sees neighbouring days and a 192-pixel window: the best on time series, what fill() uses on daily series when no model is given; worse than default on single images (GPU-trained; its validation RMSE is in units of a standard deviation floored at the window's, not comparable with the others')",
    "latent": "latent-space inpainting with a DCGAN (Yeh et al.): less accurate and far slower than default; for comparison (CPU-trained)",
}


def load_model(path: str | os.PathLike, device: str | None = None, precision: str = "auto") -> Inpainter:
    """Load a model saved with :meth:`Inpainter.save` or :meth:`~sstfill.models.latent.LatentInpainter.save` (weights only; never unpickles).

    ``path`` may have any name (the file is an ``.npz`` archive whatever it is called); see
    :func:`sstfill.models.files.resolve_model_file` for directories and files that older sstfill versions saved
    as ``path + ".npz"``. ``device`` and ``precision`` are as in :meth:`Inpainter.to`.

    Raises
    ------
    ModelFileError
        If the file is missing, a directory, corrupt, holds pickled objects (refused, never
        unpickled), or does not fit this version's networks.

    Examples
    --------
    >>> import sstfill, tempfile, os
    >>> m = sstfill.Inpainter.from_preset("fast")
    >>> p = m.save(os.path.join(tempfile.mkdtemp(), "m.npz"))
    >>> load_model(p).config.widths
    (16, 32, 48)
    """
    from sstfill.models.files import build_model, load_arrays, resolve_model_file
    from sstfill.models.inpainter import _from_config
    from sstfill.models.latent import KIND, LatentInpainter

    file = resolve_model_file(path)
    arrays, config = load_arrays(file)  # read once; the file's "kind" says which class it holds
    build = LatentInpainter.from_file_contents if config.get("kind") == KIND else _from_config
    return build_model(file, arrays, config, build).to(device or "cpu", precision=precision)


def bundled_model_path(name: str = "default"):
    """Where a bundled model (a key of :data:`BUNDLED_MODELS`) lives in the installed package; it may be missing."""
    if name not in BUNDLED_MODELS:
        raise ValueError(f"No bundled model named {name!r}; the bundled models are {sorted(BUNDLED_MODELS)}.")
    return resources.files("sstfill") / "data" / BUNDLED_MODELS[name]


def load_bundled_model(name: str = "default", device: str | None = None, precision: str | None = None) -> Inpainter:
    """A model shipped inside the package, trained on real MUR and SLSTR SST.

    ``"default"`` is the most accurate on single images, ``"context"`` on daily series (it
    sees the neighbouring days); ``"fast"`` (the ``fast`` preset) fills 1.8-2.2x as fast on
    a CPU for a slightly higher error (see the benchmarks page). Loaded once per
    process and per ``(name, device, precision)`` (see :meth:`Inpainter.to` and
    :mod:`sstfill.models.cache`), so asking for another precision never changes the model
    other callers hold.

    Examples
    --------
    >>> load_bundled_model("fast").config.widths
    (16, 32, 48)
    """
    ref = bundled_model_path(name)
    if not ref.is_file():
        raise ModelFileError(f"The bundled {name!r} model is missing from this installation of sstfill. Reinstall sstfill, or pass model='laplace' or a model path.")
    on, precision = str(resolve_device(device or "cpu")), precision or "auto"

    def load() -> Inpainter:
        with resources.as_file(ref) as file:
            return load_model(file, device=on, precision=precision)

    return LOADED_MODELS.get(("bundled", name, on, precision), load)


def model_source(model: Any) -> str | None:
    """Where ``model`` came from, as a fill's metadata says it; None for a model made in this session and not loaded from a file.

    A bundled model by its name, another model file by its path and the start of its SHA-256
    (two files of one preset fill differently), and an adapted model by what it was adapted
    from and on.

    Examples
    --------
    >>> model_source(load_bundled_model("fast"))
    "bundled 'fast' model"
    >>> from sstfill.models.inpainter import Inpainter
    >>> model_source(Inpainter.from_preset("fast")) is None
    True
    """
    parts = []
    path = getattr(model, "_path", None)
    if path:
        bundled = [name for name in BUNDLED_MODELS if Path(path) == Path(str(bundled_model_path(name))).resolve()]
        digest = getattr(model, "_sha256", None)
        parts.append(f"bundled {bundled[0]!r} model" if bundled else f"model file {path}" + (f" (sha256 {digest[:12]})" if digest else ""))
    adapted = getattr(model, "adapted_on", None)
    if adapted:
        span = adapted.get("time_span")
        parts.append(f"adapted from {adapted.get('init')!r} on {adapted.get('variable')}" + (f" {span[0][:10]}..{span[1][:10]}" if span else ""))
    return ", ".join(parts) or None


def load_default_model(device: str | None = None, precision: str | None = None) -> Inpainter:
    """The bundled default model: :func:`load_bundled_model` ``("default", device, precision)``."""
    return load_bundled_model("default", device, precision)


def resolve_model(model: Any = None, device: str | None = None, precision: str | None = None):
    """Turn what a user passes as ``model=`` into a :class:`TileModel`.

    ``None`` (or ``"default"``, or ``"auto"``) is the bundled default model (``fill()``
    without a model picks ``"default"`` or ``"context"`` for its field first,
    :func:`sstfill.xr.series.auto_model_name`); ``"fast"`` the bundled model
    of the ``fast`` preset; ``"laplace"`` the classical
    :class:`~sstfill.models.harmonic.LaplaceFiller`; a path loads a saved model
    (:func:`sstfill.load_model`); an object with ``predict_tiles`` is used as it is.
    ``device`` ("cpu", "cuda", "auto") moves a neural model and ``precision`` ("auto",
    "float32", "bfloat16") sets what it computes in; None leaves either as it is.
    """
    if model is None or (isinstance(model, str) and model.lower() in (*BUNDLED_MODELS, "auto")):
        return load_bundled_model("default" if model is None or model.lower() == "auto" else model.lower(), device, precision)
    elif isinstance(model, str) and model.lower() in ("laplace", "harmonic"):
        model = LaplaceFiller()
    elif isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        model = load_model(model)
    if not callable(getattr(model, "predict_tiles", None)):
        raise ModelMismatchError(
            f"model={model!r} cannot fill tiles: pass None (the bundled model), 'fast', 'laplace', a path "
            "saved with model.save(path), or an object with a predict_tiles(values, observed) method."
        )
    if (device is not None or precision is not None) and hasattr(model, "to"):
        target = device if device is not None else getattr(model, "device", None)
        model = model.to(target, precision=precision) if precision is not None else model.to(target)
    return model
