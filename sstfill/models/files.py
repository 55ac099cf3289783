"""Save and load models without pickle: arrays in an ``.npz`` plus a JSON config.

A model file is a numpy ``.npz`` archive read with ``allow_pickle=False``: one array per
tensor of the generator's ``state_dict`` (``generator/<name>``), optionally the
discriminator and optimiser state (``discriminator/...``, ``optimizer_g/...``) for resuming,
and ``__config__``: UTF-8 JSON with the architecture, tile size, normalisation, training
history and the sstfill version. Loading never executes code from the file: an archive
that holds a pickled object is refused without unpickling it.

A model file is written to exactly the path given, whatever its name (``m.npz``,
``m.sstfill``, ``m``): its content is an ``.npz`` archive either way. sstfill 0.1.0 and
earlier added ``.npz`` to a name without that suffix; :func:`resolve_model_file` still
finds such a file (with a warning) when it is asked for the name without ``.npz``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from sstfill._version import __version__
from sstfill.atomic import as_target, is_zarr_store, write_atomically
from sstfill.errors import ModelFileError
from sstfill.kernels.uncertainty import ErrorModel

__all__ = [
    "FORMAT", "UNKNOWN_VERSION", "save_arrays", "load_arrays", "resolve_model_file", "state_to_arrays", "arrays_to_state", "build_model",
    "check_state_shapes", "check_config_types", "is_model_file", "data_file_kind",
]

FORMAT = "sstfill-model/1"
#: The version a model file records when it was saved from a source checkout whose version
#: sstfill could not tell (the bundled models were saved so).
UNKNOWN_VERSION = "0.0.0+unknown"
#: How to get a model file, said when there is none at the path given.
_GET_ONE = "Train one with ds.inpaint.train(...) and model.save(path), or pass model=None for the bundled model."
#: The first bytes of netCDF files (classic, 64-bit offset, CDF-5; netCDF-4), and what they are.
_NETCDF_MAGIC = {b"CDF\x01": "a netCDF file", b"CDF\x02": "a netCDF file", b"CDF\x05": "a netCDF file", b"\x89HDF\r\n\x1a\n": "a netCDF-4/HDF5 file"}
#: The first bytes of files often passed as a model by mistake, and what they are.
_MAGIC = {**_NETCDF_MAGIC, b"GRIB": "a GRIB file", b"\x1f\x8b": "a gzip-compressed file"}


def state_to_arrays(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """``state_dict`` tensors as numpy arrays under ``prefix/``."""
    return {f"{prefix}/{k}": v.detach().cpu().numpy() for k, v in state.items()}


def arrays_to_state(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`state_to_arrays`."""
    start = f"{prefix}/"
    return {k[len(start) :]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith(start)}


def save_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray], config: dict[str, Any], overwrite: bool = True) -> Path:
    """Write ``arrays`` and ``config`` to exactly ``path``, atomically (``overwrite=False``: never over an existing file, also one that appeared meanwhile).

    The file is an ``.npz`` archive whatever its name: no suffix is added. It is written by
    :func:`sstfill.atomic.write_atomically`: to a temporary file in the same directory, with
    the permissions of any new file, then put in place over ``path``, so a reader never sees
    half a file and an interrupted save leaves the old file (if any) as it was.

    Raises
    ------
    ModelFileError
        If ``path`` is an existing directory.
    OutputError
        If the file cannot be written there (permissions, full disk).
    """
    path = as_target(path)  # "~" expanded, as the writer does: never publish over a directory
    if path.is_dir():
        raise ModelFileError(f"Cannot save a model to {str(path)!r}: it is a directory. Give a file name, e.g. {str(path / 'model.npz')!r}.")
    meta = dict(config, format=FORMAT, sstfill_version=__version__)
    payload = dict(arrays)
    payload["__config__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # to a file object: numpy adds no suffix
            np.savez(f, **payload)

    return write_atomically(path, write, overwrite=overwrite)


def resolve_model_file(path: str | os.PathLike) -> Path:
    """The model file to read for ``path``; a clear :class:`ModelFileError` when there is none.

    ``path`` itself when it is a file. When it does not exist but ``path + ".npz"`` does
    (sstfill 0.1.0 and earlier added ``.npz`` to names without it, so ``model.save("m")``
    wrote ``m.npz``), that file, with a :class:`UserWarning` naming it. A directory is
    refused with a message that lists the model files inside it.
    """
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        if is_zarr_store(path):
            raise _not_a_model(path, data_file_kind(path))
        inside = _archives_in(path)
        hint = f" It holds {', '.join(inside[:5])}{', ...' if len(inside) > 5 else ''}; pass one of those." if inside else " Pass the model file inside it (a file written by model.save(path))."
        raise ModelFileError(f"Model path {str(path)!r} is a directory, not a model file.{hint}")
    legacy = path.with_name(path.name + ".npz")
    if path.name and legacy.is_file():
        warnings.warn(
            f"Model file {str(path)!r} does not exist; reading {str(legacy)!r} instead (sstfill 0.1.0 and earlier "
            f"added '.npz' to the name given to save). Rename it to {path.name!r} or pass {legacy.name!r} to silence this warning.",
            UserWarning,
            stacklevel=_caller_outside_sstfill(),
        )
        return legacy
    raise ModelFileError(f"Model file {str(path)!r} does not exist.", fix=_GET_ONE, argument="model")


def _not_a_model(path: Path, what: str) -> ModelFileError:
    """The error for a ``path`` that holds something else than a model (``what``: "it is a netCDF file")."""
    return ModelFileError(f"{str(path)!r} is not an sstfill model file ({what}): a model is an .npz file that sstfill saved.", fix=_GET_ONE, argument="model")


def data_file_kind(path: Path) -> str | None:
    """What ``path`` is when it holds data sstfill reads: "it is a zarr store", "it is a netCDF file" or "it is a netCDF-4/HDF5 file"; None otherwise.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.nc").write_bytes(b"CDF\\x01\\x00\\x00\\x00\\x02")
    >>> data_file_kind(folder / "a.nc"), data_file_kind(folder)
    ('it is a netCDF file', None)
    """
    if is_zarr_store(path):
        return "it is a zarr store"
    if not path.is_file():
        return None
    with open(path, "rb") as f:
        head = f.read(8)
    return next((f"it is {what}" for magic, what in _NETCDF_MAGIC.items() if head.startswith(magic)), None)


def _other_format(path: Path) -> str | None:
    """What ``path`` is, from its first bytes, when it is no ``.npz`` archive: "it is a netCDF file", "it is a text file", ...

    None for a zip archive (also one cut short), a ``.npy`` file and a pickle: :func:`load_arrays` says what is wrong with those.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.nc").write_bytes(b"CDF\\x01\\x00\\x00\\x00\\x02"); _ = (folder / "b.txt").write_text("notes")
    >>> _other_format(folder / "a.nc"), _other_format(folder / "b.txt")
    ('it is a netCDF file', 'it is a text file')
    """
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith((b"PK", b"\x93NUMPY")) or (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5):  # zip, .npy, pickle (PROTO opcode)
        return None
    if not head:
        return "it is empty"
    known = next((what for magic, what in _MAGIC.items() if head.startswith(magic)), None)
    if known:
        return f"it is {known}"
    try:
        head.decode("utf-8")
        text = b"\x00" not in head
    except UnicodeDecodeError as err:
        text = b"\x00" not in head and err.start >= len(head) - 3  # a character cut at the end of what was read
    return "it is a text file" if text else f"its first bytes, {head[:8]!r}, are not those of an .npz archive"


def is_model_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file written by ``model.save`` (an ``.npz`` archive with a ``__config__`` entry); reads the archive's directory only.

    Examples
    --------
    >>> import tempfile
    >>> text = Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = text.write_text("not a model")
    >>> is_model_file(text), is_model_file(text.parent / "missing.npz")
    (False, False)
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return "__config__.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _archives_in(folder: Path, limit: int = 200) -> list[str]:
    """Names of the files in ``folder`` that could be model files (zip archives: ``.npz`` or any name)."""
    names = []
    for entry in sorted(folder.iterdir())[:limit]:
        try:
            if not entry.is_file():
                continue
            with entry.open("rb") as f:
                if entry.suffix == ".npz" or f.read(4) == b"PK\x03\x04":
                    names.append(entry.name)
        except OSError:
            continue
    return names


def _caller_outside_sstfill() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside the sstfill package."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the sstfill package
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def _pickle_content(path: Path) -> str | None:
    """What in ``path`` is pickled, read from headers only (nothing is unpickled); None if nothing.

    Finds ``.npz`` entries whose arrays hold Python objects, PyTorch files (a zip archive
    with a ``data.pkl``) and plain pickle files.
    """
    with open(path, "rb") as f:
        start = f.read(2)
        if start == b"\x93N" and f.seek(0) == 0 and _holds_objects(f):
            return "it is a numpy array file (.npy) of pickled Python objects"
    if not zipfile.is_zipfile(path):
        return "it is a pickle file" if len(start) == 2 and start[0] == 0x80 and 2 <= start[1] <= 5 else None  # PROTO opcode
    names = []
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".pkl"):
                return f"it is a PyTorch or other pickle archive ({member})"
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as f:
                if _holds_objects(f):
                    names.append(member[: -len(".npy")])
    return f"its entries {names} hold pickled Python objects" if names else None


def _holds_objects(f: Any) -> bool:
    """Whether the ``.npy`` array that the binary file object ``f`` starts with holds Python objects (pickled); reads its header only."""
    major, _ = np.lib.format.read_magic(f)
    read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    return read_header(f)[2].hasobject


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a model file: (arrays, config). Raises :class:`ModelFileError` on any problem.

    ``path`` is found as :func:`resolve_model_file` says. Entries holding pickled Python
    objects are refused, never unpickled; a file of another kind (netCDF, text, ...) is called
    what it is. An ``error_model`` in the config must be one :meth:`ErrorModel.from_dict` accepts.
    """
    path = resolve_model_file(path)
    try:
        other = _other_format(path)
    except OSError as err:
        raise ModelFileError(f"Model file {str(path)!r} cannot be read ({type(err).__name__}: {err}).") from err
    if other:
        raise _not_a_model(path, other)
    try:
        loaded = np.load(path, allow_pickle=False)
        single_array = not isinstance(loaded, np.lib.npyio.NpzFile)
        if not single_array:
            with loaded as npz:
                arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        pickled = None
        if isinstance(err, ValueError):  # numpy's answer to pickled content when allow_pickle=False
            try:
                pickled = _pickle_content(path)
            except Exception:  # unreadable headers: report the original problem
                pickled = None
        if pickled:
            raise ModelFileError(
                f"Refused to load {str(path)!r}: {pickled}, which could run code when read, so sstfill "
                "never unpickles it. sstfill model files hold plain arrays only: use a file written by "
                "model.save(path), or re-save the model with sstfill from code you trust."
            ) from err
        detail = type(err).__name__ if "pickle" in str(err) else f"{type(err).__name__}: {err}"  # never numpy's advice to load it unsafely
        raise ModelFileError(f"Model file {str(path)!r} is corrupt or truncated ({detail}). Re-save or re-download it.") from err
    if single_array:
        raise ModelFileError(f"{str(path)!r} holds a single numpy array (.npy), not an sstfill model. Pass a file written by model.save(path).")
    if "__config__" not in arrays:
        pickled = _pickle_content(path)
        if pickled:
            raise ModelFileError(f"{str(path)!r} is not an sstfill model: {pickled} (nothing was unpickled). sstfill reads only files written by model.save(path).")
        raise ModelFileError(f"{str(path)!r} is an .npz file but not an sstfill model (no __config__ entry).")
    try:
        config = json.loads(arrays.pop("__config__").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"Model file {str(path)!r} has an unreadable configuration ({err}).") from err
    if not isinstance(config, dict):
        raise ModelFileError(f"Model file {str(path)!r} has an unreadable configuration (a JSON {type(config).__name__}, not an object). Re-save or re-download it.")
    if config.get("format") != FORMAT:
        raise ModelFileError(f"Model file {str(path)!r} has format {config.get('format')!r}; this sstfill reads {FORMAT!r}. Upgrade sstfill or re-train.")
    if isinstance(config.get("error_model"), dict):  # the checks of ErrorModel.from_dict, said with the file's name (not a dict: the model's class says so)
        try:
            ErrorModel.from_dict(config["error_model"])
        except (TypeError, ValueError, OverflowError) as err:
            raise ModelFileError(f"Model file {str(path)!r} has an invalid error model: {err}. Re-download the file, or re-train the model.") from err
    return arrays, config




def check_state_shapes(build: Callable[[], torch.nn.Module], arrays: dict[str, np.ndarray], prefix: str, described: str) -> None:
    """Raise ``ValueError`` unless the ``prefix`` weights of ``arrays`` have the shapes of the module ``build()`` makes.

    The module is built on torch's "meta" device, which allocates no memory: a configuration
    asking for huge layers is refused at once, not after gigabytes are allocated.
    ``described`` says which settings the shapes come from, for the message.
    """
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in build().state_dict().items()}
    found = {k[len(prefix) + 1 :]: tuple(np.shape(v)) for k, v in arrays.items() if k.startswith(prefix + "/")}
    problems = [f"missing {k}" for k in expected if k not in found] + [f"unexpected {k}" for k in found if k not in expected]
    problems += [f"{k} is {found[k]}, the configuration needs {shape}" for k, shape in expected.items() if k in found and found[k] != shape]
    if problems:
        more = "; ..." if len(problems) > 4 else ""
        raise ValueError(f"its {prefix} weights do not fit its configuration ({described}): {'; '.join(problems[:4])}{more}")


def check_config_types(config: dict[str, Any], kinds: dict[str, type]) -> None:
    """Raise ``ValueError`` where a key of ``kinds`` is in ``config`` (and not null) with a value of another type."""
    for key, kind in kinds.items():
        if config.get(key) is not None and not isinstance(config[key], kind):
            raise ValueError(f"its {key!r} is a {type(config[key]).__name__}, not a {kind.__name__}")


def build_model(path: Path, arrays: dict[str, np.ndarray], config: dict[str, Any], build: Any) -> Any:
    """``build(config, arrays)``, the model a file read by :func:`load_arrays` holds, remembering its ``path``.

    A file whose arrays or config do not fit this version's networks raises ``ModelFileError``.
    """
    try:
        model = build(config, arrays)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ModelFileError(f"Model file {str(path)!r} does not match this version of sstfill's networks ({type(err).__name__}: {str(err)[:300]}). Re-train it with this version.") from err
    model._path = str(Path(path).resolve())
    model._sha256 = hashlib.sha256(Path(path).read_bytes()).hexdigest()  # what a fill's metadata names it by (sstfill.models.store.model_source)
    return model
