"""What the ``sstfill`` commands share: printing, ``--chunks``, bundled files, the model, history lines, an output's pixel counts and error quantiles."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

from sstfill.errors import CLIError, ModelFileError, SSTFillError

__all__ = [
    "say",
    "parse_chunks",
    "bundled_file",
    "resolve_cli_model",
    "format_count",
    "flag_counts",
    "error_quantiles",
    "history_lines",
    "resolve_init",
    "adaptation_scores",
    "NORMALISED_UNITS",
    "CLI_FIXES",
    "cli_message",
    "check_written_files",
]

#: How scores in a training history are labelled: each tile is standardised by its observed pixels.
NORMALISED_UNITS = "(normalised units: 1 = the tile's standard deviation)"


_TRAIN_FRESH = "sstfill train INPUT... -o MODEL.npz"
#: The fix of a library error (:attr:`SSTFillError.argument`) as each command says it: ``(command, argument) -> words`` ("": none)
CLI_FIXES: dict[tuple[str, str], str] = {
    ("fill", "var"): "Choose the variable to fill with --var NAME.",
    ("train", "var"): "Choose the variable to train on with --var NAME.",
    ("quality", "var"): "Choose the variable of REFERENCE to compare with --var NAME.",
    ("fill", "model"): f"Train one with {_TRAIN_FRESH}, or drop --model for the bundled model.",
    ("demo", "model"): f"Train one with {_TRAIN_FRESH}, or drop --model for the bundled model.",
    ("info", "model"): f"Train one with {_TRAIN_FRESH}.",
    ("train", "model"): "",
    ("fill", "climatology"): "Drop --climatology monthly, or give the inputs a datetime time coordinate.",
    ("train", "climatology"): "Drop --climatology monthly, or give the inputs a datetime time coordinate.",
    ("fill", "outputs"): "Rename it in the input first (with NCO: ncrename -v OLD,NEW FILE), then fill.",
    ("fill", "max_distance"): "Give it in pixels instead, e.g. --max-distance '30 px'.",
    ("train", "holes"): "Pass --holes clouds (the bundled cloud masks) instead.",
    ("train", "init"): "Give --init auto, default, fast, context or an autoencoder's model file (a latent model is trained afresh: --method latent).",
    ("fill", "init"): "With --adapt, give --model auto, default, fast, context or an autoencoder's model file.",
    ("train", "resume"): "Start afresh without --resume.",
    ("train", "resume_model"): "--resume takes the file a run wrote with --checkpoint; to go on training this model, give it as --init instead (it is adapted from its weights).",
    ("train", "split"): "Train on several time steps (3 or more), or a larger region.",
    ("fill", "split"): "Adapt on several time steps (3 or more), or a larger region.",
    ("fill", "swath_steps"): "Fill one step at a time (one granule per file, e.g. ncks -d time,0,0 IN.nc STEP.nc), or regrid the steps to one grid first.",
    ("train", "swath_steps"): "Train on one grid: regrid the steps to one grid first.",
}


def cli_message(err: SSTFillError, command: str) -> str:
    """``err``'s message with its fix as ``command`` says it (:data:`CLI_FIXES`): options, not Python calls.

    Examples
    --------
    >>> from sstfill.errors import InputDataError
    >>> err = InputDataError("Which variable?", fix="Say which: ds.inpaint.fill(var=...).", argument="var")
    >>> cli_message(err, "fill")
    'Which variable? Choose the variable to fill with --var NAME.'
    """
    words = CLI_FIXES.get((command, str(err.argument))) if getattr(err, "fix", None) else None
    if words is None:
        return str(err)
    return f"{err.problem} {words}".strip()


def say(*parts: Any) -> None:
    """Print a line for people, at once (progress bars and logs interleave).

    When whoever reads the output has gone (``sstfill fill ... | head -1``) the command
    goes on and says nothing more: a closed pipe made a run fail after or before its output
    was written.
    """
    try:
        print(*parts, flush=True)
    except BrokenPipeError:  # Python's advice: point stdout at devnull, so that nothing fails on exit either
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # a stdout without a file descriptor
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (stdout for the rest of the process)


def parse_chunks(text: str | None) -> dict[str, int] | None:
    """``"time=1,lat=512,lon=512"`` -> ``{"time": 1, "lat": 512, "lon": 512}``.

    Examples
    --------
    >>> parse_chunks("time=1, lat=-1")
    {'time': 1, 'lat': -1}
    >>> parse_chunks("") is None
    True
    """
    if not text:
        return None
    out: dict[str, int] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        try:
            size = int(value)
        except ValueError:
            size = 0
        if not sep or not name or (size <= 0 and value != "-1"):
            raise CLIError(f"--chunks {text!r}: give DIM=SIZE pairs separated by commas, e.g. --chunks time=1,lat=512,lon=512 (SIZE -1 for a whole dimension).")
        out[name] = size
    return out


def climatology_arg(text: str) -> str | None:
    """``--climatology`` as ``fill`` and ``train`` take it: "none" is None.

    >>> climatology_arg("none"), climatology_arg("auto")
    (None, 'auto')
    """
    return None if text == "none" else text


def bundled_file(name: str) -> Path:
    """Where a file shipped in ``sstfill/data`` lives in this installation (it may be missing)."""
    from importlib import resources

    return Path(str(resources.files("sstfill") / "data" / name))


def resolve_cli_model(model: str | None, device: str | None = None, precision: str | None = None):
    """The model once, up front (so a bad path fails before anything is written)."""
    from sstfill.models.store import resolve_model

    try:
        return resolve_model(model, device, precision)
    except ModelFileError as err:
        if model is None or model.lower() in ("default", "context"):
            raise CLIError(
                f"The bundled {model or 'default'} model is missing from this installation of sstfill: reinstall sstfill, "
                "or pass --model laplace (classical harmonic fill) or --model PATH.npz (a model you trained)."
            ) from err
        raise


def format_count(n: int) -> str:
    """A count with thousands separators: ``12,345``."""
    return f"{n:,}"


def flag_counts(path: Path, flag_name: str) -> dict[str, int] | None:
    """Pixels per fill flag of a written output (streamed through dask: little memory)."""
    import dask

    from sstfill.xr.cf import FILL_FLAGS
    from sstfill.xr.io import open_input

    try:
        with open_input(str(path), {}) as ds:
            if flag_name not in ds:
                return None
            flag = ds[flag_name]
            counts = dask.compute(*[(flag == value).sum().data for value in FILL_FLAGS], scheduler="threads")
    except Exception:  # noqa: BLE001  (a summary only)
        return None
    return {FILL_FLAGS[v]: int(c) for v, c in zip(FILL_FLAGS, counts)}


def error_quantiles(path: Path, error_name: str, flag_name: str, quantiles: tuple[float, ...] = (0.5, 0.95), bins: int = 4096) -> dict[float, float] | None:
    """Quantiles of ``<var>_error`` over the filled pixels (flag 1) of a written output.

    Streamed through dask like :func:`flag_counts`: one pass for the range, one for a
    histogram of ``bins`` bins over it, so the quantiles are exact to 1/``bins`` of the
    range (the value below which that share of the pixels lies, linear within a bin),
    whatever the size of the output. None when the output has
    no error variable or nothing was filled.

    Examples
    --------
    >>> import tempfile, numpy as np, xarray as xr
    >>> path = Path(tempfile.mkdtemp()) / "out.nc"
    >>> xr.Dataset({"sst_error": ("x", np.r_[np.arange(1.0, 101.0), 1e3]),
    ...             "sst_fill_flag": ("x", np.r_[np.ones(100, "int8"), 0])}).to_netcdf(path)
    >>> {q: round(v, 1) for q, v in error_quantiles(path, "sst_error", "sst_fill_flag").items()}
    {0.5: 50.0, 0.95: 95.0}
    """
    import dask
    import dask.array as dsa
    import numpy as np

    from sstfill.xr.io import open_input

    try:
        with open_input(str(path), {}) as ds:
            if error_name not in ds:
                return None
            error = ds[error_name]
            if flag_name in ds:
                error = error.where(ds[flag_name] == 1)
            values = dsa.asarray(error.data).ravel()
            # a chunk where nothing was filled is all NaN. dask silences numpy's warning about it in
            # each task with warnings.catch_warnings, which is not thread-safe (a task leaving it can
            # restore the filters while another is in nanmin): silenced here, around all the tasks
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
                lo, hi, n = dask.compute(dsa.nanmin(values), dsa.nanmax(values), dsa.isfinite(values).sum(), scheduler="threads")
            if not n or not np.isfinite(lo):
                return None
            if hi <= lo:
                return {q: float(lo) for q in quantiles}
            counts, edges = dsa.histogram(values, bins=bins, range=(float(lo), float(hi)))  # NaN falls outside the range
            counts = np.asarray(counts.compute(scheduler="threads"), dtype="float64")
    except Exception:  # noqa: BLE001  (a summary only)
        return None
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])  # pixels below each edge
    out = {}
    for q in quantiles:
        target = q * cumulative[-1]
        k = int(np.clip(np.searchsorted(cumulative, target, side="left"), 1, counts.size))  # first edge with that many below
        inside = (target - cumulative[k - 1]) / counts[k - 1] if counts[k - 1] else 0.0
        out[q] = float(edges[k - 1] + inside * (edges[k] - edges[k - 1]))
    return out


def history_lines(h: dict) -> list[str]:
    """The validation and test scores of a training history, one line each, for people.

    Examples
    --------
    >>> history_lines({"val_loss": [0.5, 0.4], "epoch": [0, 1]})
    ['validation: best loss 0.4000 at epoch 2 of 2']
    >>> history_lines({"val_loss": [0.5, 0.4], "epoch": [0, 1], "best_epoch": [-1]})  # adapting: the start was better
    ['validation: best loss 0.4000 at epoch 2 of 2 (not kept: no epoch beat the starting weights)']
    """
    import numpy as np

    lines = []
    val = h.get("val_loss") or []
    if val:
        best = int(np.nanargmin(val))
        epochs = h.get("epoch") or list(range(len(val)))
        rm = h.get("val_rmse_hidden") or []
        rm_text = f", hidden-pixel RMSE {rm[best]:.4f} {NORMALISED_UNITS}" if len(rm) > best else ""
        kept = " (not kept: no epoch beat the starting weights)" if (h.get("best_epoch") or [None])[0] == -1 else ""
        lines.append(f"validation: best loss {val[best]:.4f} at epoch {int(epochs[best]) + 1} of {len(val)}{rm_text}{kept}")
    if h.get("d_loss"):  # a latent (DCGAN) model: adversarial losses, then its fills' score
        lines.append(f"DCGAN: {len(h['d_loss'])} epoch(s), final discriminator loss {h['d_loss'][-1]:.3f}, generator loss {h['g_loss'][-1]:.3f}")
        if h.get("val_rmse"):
            lines.append(f"validation: hidden-pixel RMSE of its fills {h['val_rmse'][-1]:.4f} (field units)")
    if h.get("test_loss"):
        rm = h.get("test_rmse_hidden") or [float("nan")]
        lines.append(f"test: loss {h['test_loss'][-1]:.4f}, hidden-pixel RMSE {rm[-1]:.4f} {NORMALISED_UNITS}")
    return lines


def resolve_init(name: str, option: str = "--init") -> str:
    """What ``train(init=...)`` gets for a model named on the command line, checked before any data is read.

    A bundled model's name (``default``, ``fast``, ``context``) as it is; a model file as
    its absolute path. A missing file, a missing bundled model or ``laplace`` (nothing to
    adapt) is a one-line :class:`CLIError` naming ``option``.

    Examples
    --------
    >>> resolve_init("Fast")
    'fast'
    >>> resolve_init("no_such_model.npz")
    Traceback (most recent call last):
    ...
    sstfill.errors.CLIError: --init 'no_such_model.npz': no such model file; give auto, default, fast, context or the path of a model file.
    """
    from sstfill.models.files import resolve_model_file
    from sstfill.models.store import BUNDLED_MODELS

    adaptable = ["auto"] + [n for n in BUNDLED_MODELS if n != "latent"]
    choices = f"give {', '.join(adaptable)} or the path of a model file"
    key = name.lower()
    if key == "auto":  # the bundled model fill() uses on the data (sstfill.xr.series.auto_model_name), chosen once it is read
        return key
    if key == "latent":
        raise CLIError(f"{option} {name!r}: the latent (DCGAN) model cannot be adapted; train one with --method latent, or {choices}.")
    if key in BUNDLED_MODELS:
        if not bundled_file(BUNDLED_MODELS[key]).is_file():
            raise CLIError(f"{option} {name!r}: the bundled {key!r} model is missing from this installation of sstfill (reinstall sstfill), or {choices}.")
        return key
    if key in ("laplace", "harmonic"):
        raise CLIError(f"{option} {name!r} is the classical harmonic fill, which has no weights to adapt; {choices}.")
    try:
        path = resolve_model_file(name)
    except ModelFileError as err:
        if Path(name).expanduser().exists():  # a directory: the message lists the model files in it
            raise CLIError(f"{option}: {err}") from err
        raise CLIError(f"{option} {name!r}: no such model file; {choices}.") from err
    return str(path.resolve())


def adaptation_scores(h: dict, units: str | None = None) -> str | None:
    """Validation before and after adapting a model (``train(init=...)``), for people; None for other histories.

    Before: the starting weights. After: the weights kept, chosen as the trainer chooses
    them when adapting (``select_on="rmse"``): the epoch it recorded in ``best_epoch`` (the
    lowest hidden-pixel RMSE, if it beat the start), else the starting weights themselves.

    Examples
    --------
    >>> h = {"start_val_rmse_hidden": [0.5], "start_val_rmse_field_units": [0.3], "val_rmse_hidden": [0.55, 0.4], "val_rmse_field_units": [0.33, 0.25]}
    >>> adaptation_scores(h, "K")
    'validation RMSE of hidden pixels 0.300 -> 0.250 K'
    >>> adaptation_scores({**h, "val_rmse_hidden": [0.6, 0.7]}, "K")
    'validation RMSE of hidden pixels 0.300 -> 0.300 K (no epoch beat the starting weights: kept them)'
    >>> adaptation_scores({**h, "epoch": [0, 1], "best_epoch": [-1]}, "K")  # the trainer's recorded choice: the start
    'validation RMSE of hidden pixels 0.300 -> 0.300 K (no epoch beat the starting weights: kept them)'
    >>> adaptation_scores({"val_loss": [0.1]}) is None
    True

    A model adapted by filling its validation part (``history["start_val_fill_rmse"]``):

    >>> adaptation_scores({"start_val_fill_rmse": [0.31], "val_fill_rmse": [0.33, 0.29], "epoch": [0, 1], "best_epoch": [1]}, "K")
    'validation RMSE of hidden pixels, the validation part filled whole: 0.310 -> 0.290 K'
    """
    import numpy as np

    from sstfill.training.settings import kept_epoch

    by_filling = bool(h.get("start_val_fill_rmse"))  # chosen by filling the validation part (sstfill.xr.validation)
    start = h.get("start_val_rmse_hidden") or []
    start_field = h.get("start_val_fill_rmse" if by_filling else "start_val_rmse_field_units") or []
    if not start_field or not (start or by_filling):
        return None
    before = after = float(start_field[-1])
    kept_start = True
    val, val_field = h.get("val_rmse_hidden") or [], h.get("val_fill_rmse" if by_filling else "val_rmse_field_units") or []
    kept = kept_epoch(h)
    if kept is not None:  # as the trainer recorded its choice
        if 0 <= kept < len(val_field):
            after, kept_start = float(val_field[kept]), False
    elif not by_filling and val and len(val_field) == len(val):  # older histories: the choice redone
        best = int(np.nanargmin(val))
        if val[best] < float(start[-1]) - 1e-7:  # as the trainer decides
            after, kept_start = float(val_field[best]), False
    unit = f" {units}" if units else ""
    what = "validation RMSE of hidden pixels" + (", the validation part filled whole:" if by_filling else "")
    text = f"{what} {before:.3f} -> {after:.3f}{unit}"
    if kept_start:
        text += " (no epoch beat the starting weights: kept them)"
    return text


#: the outputs of :func:`check_written_files` that are no model files
_NOT_MODELS = ("OUTPUT", "--plot")


def check_written_files(written: dict[str, str | Path | None], inputs: list[str], overwrite: bool) -> None:
    """Refuse, before anything is read, an output a command would write over an input or a directory holding one, another of its outputs, or a file that is no model.

    ``written`` maps each option (``"--out"``, ``"--checkpoint"``, ``"--save-model"``,
    ``"OUTPUT"``, ``"--plot"``) to the path it writes (None: not given); ``inputs`` are the
    expanded input files. An input is never replaced, even with ``overwrite``, nor an
    output that contains an input (an input inside the output directory), and nothing is
    written inside an input (a zarr store); two options
    naming one file would overwrite each other (a checkpoint is rewritten every epoch, the
    model comes last); an existing file that is not an sstfill model (a netCDF file, notes)
    is never replaced by a model file (the options other than ``OUTPUT`` and ``--plot``),
    with or without ``overwrite``, nor as a ``--checkpoint``, which replaces its earlier checkpoint.

    Examples
    --------
    >>> check_written_files({"--out": "m.npz", "--checkpoint": "m.npz"}, [], overwrite=True)
    Traceback (most recent call last):
    ...
    sstfill.errors.CLIError: --out and --checkpoint name the same file 'm.npz': each would replace the other. Give them different names.
    """
    from sstfill.models.files import is_model_file

    given = {option: Path(path).expanduser() for option, path in written.items() if path is not None}
    sources = {Path(p).expanduser().resolve(): p for p in inputs}
    seen: dict[Path, str] = {}
    for option, path in given.items():
        where = path.resolve()
        if where in sources:
            raise CLIError(f"{option} {str(path)!r} is also an input: not replaced, even with --overwrite. Write it under another name.")
        inside = next((name for source, name in sources.items() if where in source.parents), None)
        if inside is not None:
            raise CLIError(f"{option} {str(path)!r} contains the input {str(inside)!r}: not replaced, even with --overwrite. "
                           "Write it under another name, or move the input out of it first.")
        store = next((name for source, name in sources.items() if source in where.parents), None)
        if store is not None:  # e.g. in.zarr/filled.nc: a file or group added inside an input store changes the input
            raise CLIError(f"{option} {str(path)!r} lies inside the input {str(store)!r}, which it would change. Write it outside the input.")
        if where in seen:
            raise CLIError(f"{seen[where]} and {option} name the same file {str(path)!r}: each would replace the other. Give them different names.")
        seen[where] = option
        if option not in _NOT_MODELS and path.is_file() and not is_model_file(path):
            raise CLIError(f"{option} {str(path)!r} exists and is not an sstfill model file: not replaced, even with --overwrite. "
                           "Choose another name, or delete it first if you mean to replace it.")
