"""Open inputs lazily and write outputs atomically (what the ``sstfill`` command uses).

:func:`open_inputs` takes netCDF files, glob patterns of (daily) files or zarr stores and
returns one lazy, dask-backed Dataset. :func:`write_atomic` writes a Dataset (computing it
while writing) to a temporary sibling of the target and puts it in place only once the
write is complete, so a failed, interrupted or concurrent run never leaves a half-written
file under the final name, and of two runs writing one output exactly one wins.

Examples
--------
>>> import os, tempfile, sstfill.testing
>>> d = tempfile.mkdtemp()
>>> ds = sstfill.testing.synthetic_sst(32, 48, nt=2).to_dataset()
>>> write_atomic(ds, os.path.join(d, "sst.nc")).name
'sst.nc'
>>> sorted(open_inputs([os.path.join(d, "*.nc")]).data_vars)
['sst']
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import os
import re
import secrets
import shutil
import socket
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import xarray as xr
from dask.diagnostics import ProgressBar

from sstfill.errors import InputDataError, SSTFillError

__all__ = [
    "OutputError",
    "open_inputs",
    "write_atomic",
    "check_output",
    "clean_stale_temporaries",
    "FillProgressBar",
    "output_format",
    "is_zarr_store",
    "expand_inputs",
]
_GLOB_CHARS = set("*?[")
_NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5")
# encoding keys each backend understands (the rest, e.g. a netCDF source's chunksizes
# written to zarr or stale zarr chunks after re-chunking, make the writers fail)
_COMMON_ENCODING = ("dtype", "_FillValue", "missing_value", "scale_factor", "add_offset", "units", "calendar", "_Unsigned")
_NETCDF_ENCODING = _COMMON_ENCODING + ("zlib", "complevel", "shuffle", "fletcher32", "compression")


class OutputError(SSTFillError, OSError):
    """The output cannot be written: it exists already, its format is unknown, or the write failed."""


# -- inputs -------------------------------------------------------------------------------
def is_zarr_store(path: str | os.PathLike) -> bool:
    """True for a directory that is a zarr store (name ``*.zarr`` or zarr metadata inside)."""
    p = Path(path)
    if not p.is_dir():
        return False
    return p.suffix == ".zarr" or any((p / marker).exists() for marker in (".zgroup", ".zattrs", "zarr.json", ".zmetadata"))


def expand_inputs(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Paths and glob patterns -> existing files/stores, in order (each pattern's matches sorted).

    Raises :class:`~sstfill.errors.InputDataError` naming the first path that does not exist
    or pattern that matches nothing.
    """
    out: list[str] = []
    for item in paths:
        text = os.path.expanduser(os.fspath(item))
        if _GLOB_CHARS & set(text) and not os.path.exists(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise InputDataError(
                    f"Input pattern {text!r} matches no file. Check the directory and the pattern "
                    "(quote it so that the shell does not expand it, e.g. 'data/sst_*.nc')."
                )
            out.extend(matches)
            continue
        if not os.path.exists(text):
            hint = ""
            parent = os.path.dirname(text) or "."
            if not os.path.isdir(parent):
                hint = f" (its directory {parent!r} does not exist either)"
            raise InputDataError(f"Input file {text!r} does not exist{hint}. Check the path, or pass a glob pattern such as 'data/*.nc'.")
        if os.path.isdir(text) and not is_zarr_store(text):
            raise InputDataError(
                f"Input {text!r} is a directory but not a zarr store (no .zgroup or zarr.json inside). "
                f"To read the netCDF files in it pass a pattern: '{os.path.join(text, '*.nc')}'."
            )
        out.append(text)
    if not out:
        raise InputDataError("No input given: pass one or more netCDF files, glob patterns or zarr stores.")
    # the same file twice (a pattern and an explicit path) would be combined with itself
    seen: set[str] = set()
    unique = []
    for p in out:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


# variables without the combined dimension (a land mask, a grid) are taken from the first
# file; grids must match exactly (an outer join would silently pad with NaN)
_COMBINE = dict(data_vars="minimal", coords="minimal", compat="override", join="exact", combine_attrs="drop_conflicts")


def open_input(path: str, chunks: Any) -> xr.Dataset:
    try:
        if is_zarr_store(path):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part", category=UserWarning)
                return xr.open_zarr(path, chunks=chunks)
        return xr.open_dataset(path, chunks=chunks)
    except SSTFillError:
        raise
    except Exception as err:  # noqa: BLE001  (backends raise many kinds; all mean "unreadable")
        kind = "zarr store" if is_zarr_store(path) else "netCDF file"
        why = f"{type(err).__name__}: {str(err)[:300]}"
        if "did not find a match in any of xarray's currently installed IO backends" in str(err):
            why = "no installed reader recognises its format"
        raise InputDataError(
            f"Cannot read {path!r} as a {kind} ({why}). "
            "Check that the file is complete (not truncated by a failed download) and is netCDF or zarr."
        ) from err


def _check_chunks(ds: xr.Dataset, chunks: Mapping[str, Any]) -> dict[str, Any]:
    unknown = [d for d in chunks if d not in ds.dims]
    if unknown:
        raise InputDataError(f"Chunks given for {unknown}, which the inputs do not have; their dimensions are {dict(ds.sizes)}.")
    return dict(chunks)


def open_inputs(paths: list[str] | str, chunks: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Open netCDF files, glob patterns of daily files or zarr stores as one lazy Dataset.

    Parameters
    ----------
    paths : list of str
        netCDF files, glob patterns (``'data/sst_2021-*.nc'``, matches sorted) and zarr
        stores (a directory named ``*.zarr`` or holding ``.zgroup``/``zarr.json``). Several
        files are combined by their coordinates (``xr.open_mfdataset(combine="by_coords")``),
        typically along time.
    chunks : dict, optional
        Dask chunks, e.g. ``{"time": 1, "lat": 512, "lon": 512}``. By default dask's
        automatic chunks (aligned with the files' storage chunks) with one time step per
        chunk for netCDF inputs, and the storage chunks of zarr stores.

    Returns
    -------
    xarray.Dataset backed by dask: nothing is read until computed.

    Raises
    ------
    InputDataError
        A path does not exist, a pattern matches nothing, a file cannot be read, or the
        files cannot be combined. Raised before anything is computed or written.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = expand_inputs(paths)
    user_chunks = dict(chunks) if chunks else None
    if len(files) == 1:
        ds = open_input(files[0], {} if is_zarr_store(files[0]) else "auto")
    elif all(not is_zarr_store(f) for f in files):
        try:
            ds = xr.open_mfdataset(files, combine="by_coords", chunks="auto", **_COMBINE)
        except Exception as err:  # noqa: BLE001
            for f in files:  # name the unreadable file, if that is the problem
                open_input(f, {}).close()
            raise InputDataError(
                f"Cannot combine the {len(files)} input files ({files[0]!r} ... {files[-1]!r}) by their coordinates "
                f"({type(err).__name__}: {str(err)[:300]}). They must share a grid and differ along one dimension such as time."
            ) from err
    else:
        parts = [open_input(f, {}) for f in files]
        try:
            ds = xr.combine_by_coords(parts, **_COMBINE)
        except Exception as err:  # noqa: BLE001
            raise InputDataError(f"Cannot combine the inputs {files} by their coordinates ({type(err).__name__}: {str(err)[:300]}).") from err
    if user_chunks is not None:
        ds = ds.chunk(_check_chunks(ds, user_chunks))
    elif "time" in ds.dims and ds.sizes["time"] > 1 and not any(is_zarr_store(f) for f in files):
        ds = ds.chunk({"time": 1})
    return ds


# -- outputs ------------------------------------------------------------------------------
def output_format(target: str | os.PathLike) -> str:
    """"netcdf" or "zarr" from the target's name; anything else raises :class:`OutputError`."""
    name = os.fspath(target).rstrip("/\\")
    lower = name.lower()
    if lower.endswith(".zarr"):
        return "zarr"
    if lower.endswith(_NETCDF_SUFFIXES):
        return "netcdf"
    raise OutputError(f"Output {name!r}: cannot tell the format from its name. End it with .nc (netCDF) or .zarr (zarr store).")


def _clean_encodings(ds: xr.Dataset, fmt: str) -> xr.Dataset:
    keep = _NETCDF_ENCODING if fmt == "netcdf" else _COMMON_ENCODING
    ds = ds.copy(deep=False)
    for var in ds.variables.values():
        var.encoding = {k: v for k, v in var.encoding.items() if k in keep}
    return ds


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _as_target(target: str | os.PathLike) -> Path:
    return Path(os.path.expanduser(os.fspath(target)).rstrip("/\\"))


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


# -- temporaries: .<name>.tmp-<pid>-<token>@<host> and .<name>.old-<pid>-<token>@<host> ----
_HOST = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname() or "localhost")[:64]
_TEMP_KINDS = ("tmp", "old")
# "<pid>" (written by sstfill before 0.2, or by hand) or "<pid>-<token>@<host>"
_TEMP_SUFFIX = re.compile(r"(?P<pid>\d+)(?:-(?P<token>[0-9a-f]+)@(?P<host>.+))?")
#: A temporary without a host in its name (an older sstfill's) whose process is gone is
#: removed only once it is this old (seconds): on a shared file system the process may be
#: alive on another host.
STALE_UNNAMED_HOST_S = 15 * 60


def _temp_path(target: Path, kind: str) -> Path:
    """A fresh sibling name of ``target`` that only this call uses (also among threads)."""
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}@{_HOST}"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (True when it cannot be told)."""
    if pid <= 0 or os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, someone else's
        return True
    return True


def clean_stale_temporaries(target: str | os.PathLike, *, min_age_s: float = STALE_UNNAMED_HOST_S) -> list[Path]:
    """Remove temporaries of ``target`` left by killed runs; returns what was removed.

    A run writes ``.<name>.tmp-<pid>-<token>@<host>`` (and, while replacing an output,
    ``.<name>.old-<pid>-<token>@<host>``) beside ``target``; a run killed with SIGKILL or by a
    power cut leaves it behind. Such a temporary is removed when it was made on this host
    and process ``pid`` no longer exists. Temporaries of other hosts (a directory shared
    over NFS) are left alone; ones without a host in their name (``.<name>.tmp-<pid>``)
    are removed only when their process is gone on this host and they are older than
    ``min_age_s`` seconds.
    """
    target = _as_target(target)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        for kind in _TEMP_KINDS:
            prefix = f".{target.name}.{kind}-"
            if entry.name.startswith(prefix):
                break
        else:
            continue
        match = _TEMP_SUFFIX.fullmatch(entry.name[len(prefix) :])
        if match is None or (match["host"] is not None and match["host"] != _HOST):
            continue
        if _pid_alive(int(match["pid"])):
            continue
        if match["host"] is None:
            try:
                age = now - entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            if age < min_age_s:
                continue
        path = Path(entry.path)
        _remove(path)
        removed.append(path)
    return removed


# -- publishing without replacing ---------------------------------------------------------
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, getattr(errno, "ENOTSUP", errno.EINVAL), getattr(errno, "EOPNOTSUPP", errno.EINVAL)}


def _load_renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl without it
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


#: Linux ``renameat2`` (atomic rename that refuses an existing target, or swaps two paths);
#: None elsewhere, where hard links and ``mkdir`` claims do the same job.
_RENAMEAT2 = _load_renameat2()


def _renameat2(src: Path, dst: Path, flags: int) -> int:
    """0 on success, else the errno (EEXIST, ENOENT, ... or an unsupported-flag errno)."""
    if _RENAMEAT2 is None:
        return errno.ENOSYS
    rc = _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags)
    return 0 if rc == 0 else ctypes.get_errno()


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst`` atomically; FileExistsError when ``dst`` exists (never replaced)."""
    code = _renameat2(src, dst, _RENAME_NOREPLACE)
    if code == 0:
        return
    if code not in _UNSUPPORTED:
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), str(dst))
        raise OSError(code, os.strerror(code), str(src), None, str(dst))
    if os.name == "nt":  # os.rename never replaces on Windows
        os.rename(src, dst)
        return
    if src.is_dir() and not src.is_symlink():
        os.mkdir(dst)  # claims the name: FileExistsError when taken
        try:
            os.rename(src, dst)  # onto the empty directory just made
        except OSError as err:
            with contextlib.suppress(OSError):
                os.rmdir(dst)  # only if still the empty claim
            if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise FileExistsError(err.errno, "taken meanwhile", str(dst)) from err
            raise
        return
    try:
        os.link(src, dst)  # FileExistsError when taken
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: claim the name, then replace the claim
        fd = os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)
        os.replace(src, dst)
        return
    os.unlink(src)


def _publish(tmp: Path, target: Path, overwrite: bool) -> None:
    """Put the complete ``tmp`` in place as ``target``; never a half state, never a leftover.

    Without ``overwrite`` an existing ``target`` (also one another run put there while this
    one was writing) is never replaced: :class:`OutputError`. With it the last run to
    publish wins; an output it replaces is deleted.
    """
    for _ in range(50):
        try:
            _rename_noreplace(tmp, target)
            return
        except FileExistsError:
            if not overwrite:
                raise OutputError(
                    f"Output {str(target)!r} was created by another run while this one was writing; it was left as it is "
                    "and this run's result was discarded. Pass --overwrite (overwrite=True) to replace it, or choose another name."
                ) from None
        tmp_is_dir = tmp.is_dir() and not tmp.is_symlink()
        if not tmp_is_dir and not (target.is_dir() and not target.is_symlink()):
            os.replace(tmp, target)  # files: one atomic step
            return
        code = _renameat2(tmp, target, _RENAME_EXCHANGE)
        if code == 0:  # swapped atomically: tmp now holds the replaced output
            _remove(tmp)
            return
        if code == errno.ENOENT:  # the target went away meanwhile: publish again
            continue
        # no atomic swap here: set the old output aside, put the new one in, delete the old
        old = _temp_path(target, "old")
        try:
            os.rename(target, old)
        except FileNotFoundError:
            continue
        try:
            _rename_noreplace(tmp, target)
        except FileExistsError:  # another run published meanwhile; replace it next round
            _remove(old)
            continue
        except BaseException:
            try:
                _rename_noreplace(old, target)  # the old output back in place
            except BaseException:
                _remove(old)  # superseded by another run's output
            raise
        _remove(old)
        return
    raise OutputError(f"Output {str(target)!r} kept being replaced by other runs; this run's result was discarded.")


# -- checks before computing ----------------------------------------------------------------
def _cannot_write(target: Path, where: Path, err: BaseException) -> OutputError:
    why = _describe_write_error(err)
    return OutputError(f"Cannot write {str(target)!r}: {why} in {str(where)!r}. Choose another output directory, or fix its permissions.")


def _probe(tmp: Path, fmt: str, target: Path) -> None:
    """Create and remove the temporary name: the output directory takes new entries."""
    try:
        if fmt == "zarr":
            os.mkdir(tmp)
            os.rmdir(tmp)
        else:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            os.unlink(tmp)
    except OSError as err:
        raise _cannot_write(target, tmp.parent, err) from err


def check_output(target: str | os.PathLike, overwrite: bool = False) -> Path:
    """Fail early, before any computing, when ``target`` cannot be written.

    Checks the format from the name, that ``target`` does not exist (unless ``overwrite``),
    and that its directory (or, when it does not exist yet, the nearest existing folder
    above it) takes new entries, by creating and removing a temporary name there. Creates
    nothing that stays.

    Raises
    ------
    OutputError
        Naming the path and the cause.
    """
    path = _as_target(target)
    fmt = output_format(path)
    if _exists(path) and not overwrite:
        raise OutputError(f"Output {str(path)!r} exists already. Pass --overwrite (overwrite=True) to replace it, or choose another name.")
    base = path.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise OutputError(f"Cannot write {str(path)!r}: {str(base)!r} is a file, not a directory.")
    _probe(base / _temp_path(path, "tmp").name, fmt, path)
    return path


# -- write failures -----------------------------------------------------------------------
#: errno values that only a write gives
_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
#: functions whose failure is a failed write (innermost frames of the traceback)
_WRITE_FRAMES = {"__setitem__", "load_store_chunk", "store_chunk", "prepare_variable", "set_variables", "set_variable",
                 "_put", "set", "set_partial_values", "setitem", "close", "sync", "_close", "flush", "createVariable"}


def _is_write_failure(err: BaseException) -> bool:
    """Whether an error raised while writing comes from the writing (not from the computing)."""
    if isinstance(err, OutputError) or not isinstance(err, (OSError, RuntimeError)):
        return False
    if isinstance(err, OSError) and err.errno in _WRITE_ERRNOS | {errno.EACCES, errno.EPERM}:
        return True
    names = []
    tb = err.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return any(name in _WRITE_FRAMES for name in names[-4:])


def _describe_write_error(err: BaseException) -> str:
    code = getattr(err, "errno", None)
    text = getattr(err, "strerror", None) or str(err)
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"the disk is full or over quota ({text})"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied ({text})"
    if code == errno.EROFS:
        return f"the file system is read-only ({text})"
    if "NetCDF: HDF error" in str(err):
        return f"the netCDF library failed to write ({text}: usually a full disk, a quota or a lost network file system)"
    return f"{type(err).__name__}: {text}"


# -- packing: keep the input's integer encoding where the values fit it --------------------
class _PackingDoesNotFit(Exception):
    """Raised by a dask task: values of ``name`` lie outside what its packing can represent."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _packing(encoding: Mapping[str, Any]) -> dict[str, Any] | None:
    """The integer packing of an encoding: lowest/highest storable integer, excluded values."""
    from sstfill.xr.cf import keeps_packing

    if not keeps_packing(encoding):
        return None
    disk = np.dtype(encoding["dtype"])
    unsigned = str(encoding.get("_Unsigned", "")).lower()
    stored = disk
    if disk.kind == "i" and unsigned == "true":
        stored = np.dtype(f"u{disk.itemsize}")
    elif disk.kind == "u" and unsigned == "false":
        stored = np.dtype(f"i{disk.itemsize}")
    info = np.iinfo(stored)
    excluded = []
    for key in ("_FillValue", "missing_value"):
        value = encoding.get(key)
        if value is not None:
            for v in np.atleast_1d(np.asarray(value)):
                excluded.append(int(np.asarray(v).astype(disk).view(stored)) if disk != stored else int(v))
    scale = float(encoding.get("scale_factor", 1.0) if encoding.get("scale_factor") is not None else 1.0)
    offset = float(encoding.get("add_offset", 0.0) if encoding.get("add_offset") is not None else 0.0)
    return {"lo": int(info.min), "hi": int(info.max), "excluded": tuple(excluded), "scale": scale, "offset": offset, "dtype": str(disk)}


def _fits(values: np.ndarray, lo: int, hi: int, excluded: tuple, scale: float, offset: float) -> bool:
    """Whether every non-NaN value packs to an integer in [lo, hi] that is not an excluded one."""
    values = np.asarray(values)
    if values.dtype.kind not in "fc" or values.size == 0 or np.isnan(values).all():
        return True
    ends = (np.round((np.array([np.nanmin(values), np.nanmax(values)], "float64") - offset) / scale))
    if not np.isfinite(ends).all():  # +-inf cannot be stored packed
        return False
    low, high = float(ends.min()), float(ends.max())
    if low < lo or high > hi:
        return False
    inside = [x for x in excluded if low <= x <= high]
    if not inside:  # the usual case: the fill value is at an end of the integer range
        return True
    finite = values[np.isfinite(values)]
    packed = np.round((finite.astype("float64") - offset) / scale)
    return not any(np.any(packed == x) for x in inside)


def _check_block(block: np.ndarray, *, variable: str, **packing: Any) -> np.ndarray:
    if not _fits(block, **packing):
        raise _PackingDoesNotFit(variable)
    return block


def _replace(ds: xr.Dataset, name: Any, var: xr.Variable) -> xr.Dataset:
    return ds.assign_coords({name: var}) if name in ds.coords else ds.assign({name: var})


def _guard_packing(ds: xr.Dataset) -> xr.Dataset:
    """Check that values written packed fit their packing: now (numpy) or while computing (dask)."""
    for name in list(ds.variables):
        var = ds.variables[name]
        packing = _packing(var.encoding)
        if packing is None or var.dtype.kind != "f" or name in ds.indexes:
            continue
        args = {k: packing[k] for k in ("lo", "hi", "excluded", "scale", "offset")}
        if hasattr(var.data, "dask"):
            checked = var.data.map_blocks(_check_block, variable=str(name), **args, dtype=var.dtype, meta=np.array((), var.dtype))
            new = var.copy(deep=False, data=checked)
            new.encoding = dict(var.encoding)
            ds = _replace(ds, name, new)
        elif not _fits(var.values, **args):
            ds = _unpack(ds, name)
    return ds


def _unpack(ds: xr.Dataset, name: Any) -> xr.Dataset:
    """Write variable ``name`` unpacked (its in-memory float dtype), and say so in its history."""
    from sstfill.xr.cf import add_history, unpack_valid_range

    var = ds.variables[name]
    packing = _packing(var.encoding) or {}
    new = var.copy(deep=False)
    new.encoding = {k: v for k, v in var.encoding.items() if k not in ("scale_factor", "add_offset", "_Unsigned", "missing_value", "_FillValue", "dtype")}
    new.encoding["dtype"] = var.dtype  # float64 decoded values stay float64: observed pixels bit for bit
    new.encoding["_FillValue"] = np.array(np.nan, dtype=var.dtype)[()]
    scale, offset = packing.get("scale", 1.0), packing.get("offset", 0.0)
    attrs = unpack_valid_range(var.attrs, scale, offset)
    what = f"{packing.get('dtype')}, scale_factor {scale:g}, add_offset {offset:g}"
    new.attrs = add_history(attrs, f"{name} written unpacked as {var.dtype}: its values do not fit the packing of the input ({what})")
    return _replace(ds, name, new)


# -- progress -----------------------------------------------------------------------------
#: names of the dask tasks that do the filling (see :mod:`sstfill.xr.dispatch`)
FILL_TASK_NAMES = ("_fill_dask_block", "_fill_beyond_tiles_task")


def _key_name(key: Any) -> str:
    return str(key[0] if isinstance(key, tuple) and key else key)


class FillProgressBar(ProgressBar):
    """A dask progress bar whose percentage is the share of the *fill* tasks done.

    dask's own :class:`~dask.diagnostics.ProgressBar` counts all tasks; in a fill the many
    cheap ones (reads, rechunks, halos) finish first and the expensive fill tasks last, so
    it jumps to about 40 % and then stalls. This one counts only the fill tasks (keys named
    after :data:`FILL_TASK_NAMES`), and all tasks in a computation without any.

    Parameters
    ----------
    out : file, optional
        Where the bar is drawn (default: standard error).
    dt : float
        Seconds between redraws.
    """

    def __init__(self, out: Any = None, dt: float = 0.5, **kwargs: Any) -> None:
        super().__init__(out=sys.stderr if out is None else out, dt=dt, **kwargs)
        self.fill_total = 0
        self.fill_done = 0

    @staticmethod
    def is_fill_task(key: Any) -> bool:
        """Whether the dask task ``key`` runs a fill kernel."""
        name = _key_name(key)
        return any(fill in name for fill in FILL_TASK_NAMES)

    def _start_state(self, dsk: Mapping, state: Mapping) -> None:
        self.fill_total = sum(1 for key in dsk if self.is_fill_task(key))
        self.fill_done = 0

    def _posttask(self, key: Any, result: Any, dsk: Mapping, state: Mapping, worker_id: Any) -> None:
        if self.is_fill_task(key):
            self.fill_done += 1

    def fraction(self) -> float | None:
        """Share of the fill tasks done, or None when this computation fills nothing."""
        return self.fill_done / self.fill_total if self.fill_total else None

    def _update_bar(self, elapsed: float) -> None:
        frac = self.fraction()
        if frac is None:
            super()._update_bar(elapsed)
        elif frac < 1:
            self._draw_bar(frac, elapsed)


# -- warnings -----------------------------------------------------------------------------
_QUIET_LOCK = threading.Lock()
_QUIET_USERS = 0
_QUIET_FILTER = ("ignore", re.compile("Consolidated metadata is currently not part", re.I), UserWarning, None, 0)


@contextlib.contextmanager
def _quiet_zarr_consolidation() -> Iterator[None]:
    """Hide zarr 3's warning that consolidated metadata (which xarray writes) is not in its spec.

    The filter is process-wide while any write runs (zarr warns from its own event-loop
    thread), and installed and removed under a lock so concurrent writes do not undo it for
    each other as nested :func:`warnings.catch_warnings` would.
    """
    global _QUIET_USERS
    with _QUIET_LOCK:
        if _QUIET_USERS == 0:
            warnings.filters.insert(0, _QUIET_FILTER)
            warnings._filters_mutated()  # type: ignore[attr-defined]
        _QUIET_USERS += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET_USERS -= 1
            if _QUIET_USERS == 0:
                with contextlib.suppress(ValueError):
                    warnings.filters.remove(_QUIET_FILTER)
                warnings._filters_mutated()  # type: ignore[attr-defined]


# -- the write ----------------------------------------------------------------------------
def _compute(delayed: Any) -> None:
    """Compute a delayed write; on the local threaded scheduler, in a pool that is drained after.

    dask re-raises the first failing task at once while the others keep running; a store
    task still running could then write into the temporary after it was removed. A pool
    of this write's own is shut down (waiting for running tasks, cancelling queued ones)
    before the temporary is cleaned up.
    """
    import dask
    import dask.threaded
    from dask.base import get_scheduler

    if get_scheduler(collections=[delayed]) is not dask.threaded.get or dask.config.get("pool", None) is not None:
        dask.compute(delayed)
        return
    from concurrent.futures import ThreadPoolExecutor

    from dask.system import CPU_COUNT

    workers = dask.config.get("num_workers", None) or CPU_COUNT
    pool_class = getattr(dask.threaded, "ContextAwareThreadPoolExecutor", ThreadPoolExecutor)
    pool = pool_class(workers)
    try:
        dask.compute(delayed, scheduler="threads", pool=pool, num_workers=workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: netCDF writes of one process, one at a time: the netCDF-C and HDF5 libraries are not
#: thread-safe, and two threads writing netCDF files at once can crash the process (xarray
#: locks the data writes, not the file's creation and closing). Separate processes are not
#: affected; zarr writes run concurrently.
_NETCDF_WRITE_LOCK = threading.Lock()


def _write(data: xr.Dataset, tmp: Path, fmt: str, target: Path, progress: bool) -> None:
    bar = FillProgressBar() if progress else contextlib.nullcontext()
    serial = _NETCDF_WRITE_LOCK if fmt == "netcdf" else contextlib.nullcontext()
    with serial, bar, _quiet_zarr_consolidation():
        try:
            if fmt == "netcdf":
                _compute(data.to_netcdf(tmp, compute=False))
            else:
                _compute(data.to_zarr(tmp, mode="w", compute=False))
        except (OSError, RuntimeError) as err:
            if _is_write_failure(err):
                raise _cannot_write(target, target.parent, err) from err
            raise


def write_atomic(ds: xr.Dataset, target: str | os.PathLike, overwrite: bool = False, *, progress: bool = False) -> Path:
    """Write ``ds`` to ``target`` (``.nc`` netCDF or ``.zarr`` store) atomically.

    Before anything is computed, the output directory is checked (a temporary name is
    created and removed there) and temporaries left there by killed runs are removed
    (:func:`clean_stale_temporaries`). The data are then written (and dask-computed) into
    a temporary sibling ``.<name>.tmp-<pid>-<token>@<host>`` and put in place as ``target``
    only once complete, in one atomic step that never replaces an output another run
    created meanwhile (unless ``overwrite``). On any error, or Ctrl-C, the temporary is
    removed and nothing is left under ``target``; an existing target replaced with
    ``overwrite=True`` is kept until the new one is complete, and then deleted.

    Variables stored packed (an integer dtype with ``scale_factor``/``add_offset``, as the
    filled field of a packed input) stay packed when their values fit the packing; when
    they do not, the variable is written unpacked (its float dtype) and its ``history``
    says so.

    Parameters
    ----------
    ds : Dataset
        What to write; dask-backed variables are computed during the write.
    target : path
        Output path; its suffix picks the format.
    overwrite : bool
        Replace an existing target. Without it an existing target raises :class:`OutputError`,
        also when another run creates it while this one is writing (exactly one run wins).
    progress : bool
        Show a progress bar of the fill tasks while computing (local schedulers).

    Returns
    -------
    pathlib.Path of the written target.

    Raises
    ------
    OutputError
        The target exists (or appeared meanwhile), its format is unknown, its directory
        cannot be written, or the write failed (full disk, permissions): naming the path
        and the cause.
    """
    target = _as_target(target)
    fmt = output_format(target)
    if _exists(target) and not overwrite:
        raise OutputError(f"Output {str(target)!r} exists already. Pass --overwrite (overwrite=True) to replace it, or choose another name.")
    parent = target.parent
    created: list[Path] = []
    probe = parent
    while not probe.exists() and probe != probe.parent:
        created.append(probe)
        probe = probe.parent
    tmp = _temp_path(target, "tmp")
    try:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"Cannot create the output directory {str(parent)!r} ({err}).") from err
        clean_stale_temporaries(target)
        _probe(tmp, fmt, target)
        plain = _clean_encodings(ds, fmt)
        for _ in range(len(plain.variables) + 1):
            try:
                _write(_guard_packing(plain), tmp, fmt, target, progress)
                break
            except _PackingDoesNotFit as err:
                _remove(tmp)
                tmp = _temp_path(target, "tmp")  # a fresh name: the library may still hold the old file open
                plain = _unpack(plain, err.name)
        else:  # pragma: no cover  (each round unpacks one more variable)
            raise OutputError(f"Cannot write {str(target)!r}: its packed variables do not fit their packing.")
        try:
            _publish(tmp, target, overwrite)
        except OutputError:
            raise
        except OSError as err:  # e.g. a directory that stopped taking new entries meanwhile
            raise _cannot_write(target, parent, err) from err
    except BaseException:
        _remove(tmp)
        for d in created:  # directories made for this output, now empty
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    return target
