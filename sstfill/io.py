"""Open inputs lazily and write outputs atomically (what the ``sstfill`` command uses).

:func:`open_inputs` takes netCDF files, glob patterns of (daily) files or zarr stores and
returns one lazy, dask-backed Dataset. :func:`write_atomic` writes a Dataset (computing it
while writing) to a temporary sibling of the target and renames it into place only once
the write is complete, so a failed or interrupted run never leaves a half-written file
under the final name.

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
import glob
import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping

import xarray as xr

from .errors import InputDataError, SSTFillError

__all__ = ["OutputError", "open_inputs", "write_atomic", "output_format", "is_zarr_store", "expand_inputs"]

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


def _open_one(path: str, chunks: Any) -> xr.Dataset:
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
        ds = _open_one(files[0], {} if is_zarr_store(files[0]) else "auto")
    elif all(not is_zarr_store(f) for f in files):
        try:
            ds = xr.open_mfdataset(files, combine="by_coords", chunks="auto", **_COMBINE)
        except Exception as err:  # noqa: BLE001
            for f in files:  # name the unreadable file, if that is the problem
                _open_one(f, {}).close()
            raise InputDataError(
                f"Cannot combine the {len(files)} input files ({files[0]!r} ... {files[-1]!r}) by their coordinates "
                f"({type(err).__name__}: {str(err)[:300]}). They must share a grid and differ along one dimension such as time."
            ) from err
    else:
        parts = [_open_one(f, {}) for f in files]
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


def write_atomic(ds: xr.Dataset, target: str | os.PathLike, overwrite: bool = False, *, progress: bool = False) -> Path:
    """Write ``ds`` to ``target`` (``.nc`` netCDF or ``.zarr`` store) atomically.

    The data are written (and dask-computed) into a temporary sibling ``.<name>.tmp-<pid>``
    in the same directory, then renamed to ``target`` once complete. On any error, or
    Ctrl-C, the temporary is removed and nothing is left under ``target`` (an existing
    target replaced with ``overwrite=True`` is kept until the new one is complete).

    Parameters
    ----------
    ds : Dataset
        What to write; dask-backed variables are computed during the write.
    target : path
        Output path; its suffix picks the format.
    overwrite : bool
        Replace an existing target. Without it an existing target raises :class:`OutputError`.
    progress : bool
        Show a dask progress bar while computing (local schedulers).

    Returns
    -------
    pathlib.Path of the written target.
    """
    target = Path(os.path.expanduser(os.fspath(target)).rstrip("/\\"))
    fmt = output_format(target)
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise OutputError(f"Output {str(target)!r} exists already. Pass --overwrite (overwrite=True) to replace it, or choose another name.")
    parent = target.parent
    created: list[Path] = []
    probe = parent
    while not probe.exists():
        created.append(probe)
        probe = probe.parent
    tmp = parent / f".{target.name}.tmp-{os.getpid()}"
    old = parent / f".{target.name}.old-{os.getpid()}"
    try:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"Cannot create the output directory {str(parent)!r} ({err}).") from err
        _remove(tmp)
        data = _clean_encodings(ds, fmt)
        bar = contextlib.nullcontext()
        if progress:
            from dask.diagnostics import ProgressBar

            bar = ProgressBar(dt=0.5, out=sys.stderr)
        with bar, warnings.catch_warnings():
            # zarr 3 warns that consolidated metadata is not in its spec; xarray writes it for speed
            warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part", category=UserWarning)
            try:
                if fmt == "netcdf":
                    data.to_netcdf(tmp)
                else:
                    data.to_zarr(tmp, mode="w")
            except PermissionError as err:
                raise OutputError(f"Cannot write {str(target)!r}: permission denied in {str(parent)!r} ({err}).") from err
        # rename into place; an existing target is moved aside first (a zarr store is a
        # directory, which os.replace cannot replace) and deleted only once the new one is in
        if target.exists() or target.is_symlink():
            _remove(old)
            os.replace(target, old)
            try:
                os.replace(tmp, target)
            except BaseException:
                os.replace(old, target)
                raise
            _remove(old)
        else:
            os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        for d in created:  # directories made for this output, now empty
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    return target
