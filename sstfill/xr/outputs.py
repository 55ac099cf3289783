"""Write a Dataset to netCDF or zarr atomically (what ``sstfill fill`` and the examples use).

:func:`write_atomic` writes a Dataset (computing it while writing) through
:func:`sstfill.atomic.write_atomically`: to a temporary sibling of the target, put in place
only once the write is complete, so a failed, interrupted or concurrent run never leaves a
half-written file under the final name, and of two runs writing one output exactly one wins.
Variables stored packed keep their packing where the values fit it, and filled variables
their valid range where the filled values lie inside it.

Examples
--------
>>> import os, tempfile, sstfill.testing
>>> d = tempfile.mkdtemp()
>>> ds = sstfill.testing.synthetic_sst(32, 48, nt=2).to_dataset()
>>> write_atomic(ds, os.path.join(d, "sst.nc")).name
'sst.nc'
>>> output_format("filled.zarr"), output_format("filled.nc")
('zarr', 'netcdf')
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import threading
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import xarray as xr

from sstfill.atomic import as_target, cannot_write, check_target, write_atomically
from sstfill.errors import OutputError
from sstfill.xr.cf import add_history, drop_unwritable_encoding, keeps_packing, output_names, stored_dtype, unpack_valid_range
from sstfill.xr.progress import FillProgressBar

__all__ = ["write_atomic", "check_output", "output_format"]

_NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5")


def output_format(target: str | os.PathLike) -> str:
    """"netcdf" or "zarr" from the target's name; anything else raises :class:`OutputError`."""
    name = os.fspath(target).rstrip("/\\")
    lower = name.lower()
    if lower.endswith(".zarr"):
        return "zarr"
    if lower.endswith(_NETCDF_SUFFIXES):
        return "netcdf"
    raise OutputError(f"Output {name!r}: cannot tell the format from its name. End it with .nc (netCDF) or .zarr (zarr store).")


def check_output(target: str | os.PathLike, overwrite: bool = False) -> Path:
    """:func:`sstfill.atomic.check_target` for a netCDF file or zarr store, its kind told by the name.

    Raises
    ------
    OutputError
        Naming the path and the cause.
    """
    path = as_target(target)
    return check_target(path, overwrite, directory=output_format(path) == "zarr")


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


# -- packing: keep the input's integer encoding where the values fit it --------------------
class _PackingDoesNotFit(Exception):
    """Raised by a dask task: values of ``name`` do not fit its packing (``unpack``), or filled ones lie outside its valid range (``outside``)."""

    def __init__(self, name: str, unpack: bool = True, outside: bool = False) -> None:
        super().__init__(name)
        self.name, self.unpack, self.outside = name, unpack, outside


def _packing(encoding: Mapping[str, Any]) -> dict[str, Any] | None:
    """The integer packing of an encoding: lowest/highest storable integer, excluded values."""
    if not keeps_packing(encoding):
        return None
    disk = np.dtype(encoding["dtype"])
    stored = stored_dtype(encoding)
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


def _valid_bounds(var: xr.Variable, packed: bool) -> tuple[float, float] | None:
    """The valid range CF readers apply to ``var`` as written (``packed``: in its stored integers); None without one.

    ``valid_range`` wins over ``valid_min``/``valid_max``, as in the netCDF conventions;
    a missing end is unbounded.
    """
    attrs = var.attrs
    if not packed and keeps_packing(var.encoding):  # to be written unpacked: the range in the field's units
        attrs = _unpacked_attrs(var)
    if attrs.get("valid_range") is not None and np.size(attrs["valid_range"]) == 2:
        ends = list(np.ravel(attrs["valid_range"]))
    else:
        ends = [attrs.get("valid_min"), attrs.get("valid_max")]
    if ends == [None, None]:
        return None
    if packed:
        disk, stored = np.dtype(var.encoding["dtype"]), stored_dtype(var.encoding)
        ends = [None if e is None else np.asarray(e).astype(disk).view(stored) for e in ends]
    else:  # compared in the written float dtype, as readers do
        ends = [None if e is None else np.asarray(e).astype(var.dtype) for e in ends]
    return (-np.inf if ends[0] is None else float(ends[0]), np.inf if ends[1] is None else float(ends[1]))


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


def _outside(values: np.ndarray, bounds: tuple[float, float], packing: Mapping[str, Any] | None) -> bool:
    """Whether a value (packed first, with ``packing``) lies outside ``bounds``: CF readers would read it as missing."""
    values = np.asarray(values, "float64")
    values = values[~np.isnan(values)]
    if packing is not None:
        values = np.round((values - packing["offset"]) / packing["scale"])
    return bool(values.size) and bool((values < bounds[0]).any() or (values > bounds[1]).any())


def _problems(values: np.ndarray, flag: np.ndarray | None, packing: Mapping[str, Any] | None, bounds: tuple[Any, Any]) -> tuple[bool, bool]:
    """(values do not fit ``packing``, filled values (``flag`` 1) lie outside the valid range they are written with).

    ``bounds``: the valid range written unpacked and written packed (:func:`_valid_bounds`).
    """
    unpack = packing is not None and not _fits(values, **{k: packing[k] for k in ("lo", "hi", "excluded", "scale", "offset")})
    packed = packing is not None and not unpack
    limits = bounds[packed]
    outside = flag is not None and limits is not None and _outside(np.asarray(values)[np.asarray(flag) == 1], limits, packing if packed else None)
    return unpack, outside


def _check_block(block: np.ndarray, flag: np.ndarray | None = None, *, variable: str, **checks: Any) -> np.ndarray:
    unpack, outside = _problems(block, flag, **checks)
    if unpack or outside:
        raise _PackingDoesNotFit(variable, unpack, outside)
    return block


def _replace(ds: xr.Dataset, name: Any, var: xr.Variable) -> xr.Dataset:
    return ds.assign_coords({name: var}) if name in ds.coords else ds.assign({name: var})


def _fill_flag(ds: xr.Dataset, name: Any, var: xr.Variable) -> xr.Variable | None:
    """The ``<name>_fill_flag`` of a filled variable, in its dims (None for any other variable)."""
    flag = ds.variables.get(output_names(name)[0])
    if flag is None or set(flag.dims) != set(var.dims):
        return None
    return flag.transpose(*var.dims)


def _guard_packing(ds: xr.Dataset, said: list[str]) -> xr.Dataset:
    """Check that values written packed fit their packing, and filled values their valid range: now (numpy) or while computing (dask).

    What is changed for numpy values (written unpacked, valid range dropped) is added to ``said``.
    """
    for name in list(ds.variables):
        var = ds.variables[name]
        if var.dtype.kind != "f" or name in ds.indexes:
            continue
        packing = _packing(var.encoding)
        flag = _fill_flag(ds, name, var)
        # the valid range of a filled variable as written unpacked, and as written packed
        bounds = (None, None) if flag is None else (_valid_bounds(var, False), packing and _valid_bounds(var, True))
        if packing is None and not any(bounds):
            continue
        checks = {"packing": packing, "bounds": bounds}
        if hasattr(var.data, "dask") or hasattr(getattr(flag, "data", None), "dask"):
            import dask.array as dsa

            data = dsa.asarray(var.data)
            flags = None if flag is None else dsa.asarray(flag.data).rechunk(data.chunks)
            checked = dsa.map_blocks(_check_block, data, flags, variable=str(name), **checks, dtype=var.dtype, meta=np.array((), var.dtype))
            new = var.copy(deep=False, data=checked)
            new.encoding = dict(var.encoding)
            ds = _replace(ds, name, new)
            continue
        unpack, outside = _problems(var.values, None if flag is None else flag.values, **checks)
        if unpack:
            ds = _unpack(ds, name, said)
        if outside:
            ds = _drop_valid_range(ds, name, said)
    return ds


def _unpacked_attrs(var: xr.Variable) -> dict[str, Any]:
    """``var``'s attributes with its valid range unpacked, as when it is written unpacked."""
    return unpack_valid_range(var.attrs, var.encoding, var.dtype)


def _unpack(ds: xr.Dataset, name: Any, said: list[str]) -> xr.Dataset:
    """Write variable ``name`` unpacked (its in-memory float dtype), and say so in its history."""
    var = ds.variables[name]
    packing = _packing(var.encoding) or {}
    new = var.copy(deep=False)
    new.encoding = {k: v for k, v in var.encoding.items() if k not in ("scale_factor", "add_offset", "_Unsigned", "missing_value", "_FillValue", "dtype")}
    new.encoding["dtype"] = var.dtype  # float64 decoded values stay float64: observed pixels bit for bit
    new.encoding["_FillValue"] = np.array(np.nan, dtype=var.dtype)[()]
    scale, offset = packing.get("scale", 1.0), packing.get("offset", 0.0)
    what = f"{packing.get('dtype')}, scale_factor {scale:g}, add_offset {offset:g}"
    line = f"{name} written unpacked as {var.dtype}: its values do not fit the packing of the input ({what})"
    new.attrs = add_history(_unpacked_attrs(var), line)
    said.append(line)
    return _replace(ds, name, new)


def _drop_valid_range(ds: xr.Dataset, name: Any, said: list[str]) -> xr.Dataset:
    """Write variable ``name`` without its valid range, which some filled values lie outside, and say so in its history."""
    var = ds.variables[name]
    keys = [k for k in ("valid_range", "valid_min", "valid_max") if k in var.attrs]
    was = ", ".join(f"{k} {np.asarray(var.attrs[k]).tolist()}" for k in keys)
    line = (f"{name}: {'/'.join(keys)} of the input dropped ({was}): filled values lie outside that range, "
            f"which readers applying it (CF) would read as missing; see {output_names(name)[0]}")
    new = var.copy(deep=False)
    new.attrs = add_history({k: v for k, v in var.attrs.items() if k not in keys}, line)
    said.append(line)
    return _replace(ds, name, new)


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
                raise cannot_write(target, target.parent, err) from err
            raise


def write_atomic(ds: xr.Dataset, target: str | os.PathLike, overwrite: bool = False, *, progress: bool = False) -> Path:
    """Write ``ds`` to ``target`` (``.nc`` netCDF or ``.zarr`` store) atomically.

    Before anything is computed, the output directory is checked (a temporary name is
    created and removed there) and temporaries left there by killed runs are removed
    (:func:`sstfill.atomic.clean_stale_temporaries`). The data are then written (and dask-computed) into
    a temporary sibling ``.<name>.tmp-<pid>-<token>@<host>`` and put in place as ``target``
    only once complete, in one atomic step that never replaces an output another run
    created meanwhile (unless ``overwrite``). On any error, or Ctrl-C, the temporary is
    removed and nothing is left under ``target``; an existing target replaced with
    ``overwrite=True`` is kept until the new one is complete, and then deleted.

    Variables stored packed (an integer dtype with ``scale_factor``/``add_offset``, as the
    filled field of a packed input) stay packed when their values fit the packing; when
    they do not, the variable is written unpacked (its float dtype, ``valid_min``/``valid_max``
    unpacked alike). A filled variable whose filled values (``<var>_fill_flag`` 1) lie
    outside its ``valid_range`` or ``valid_min``/``valid_max``, which CF readers would read
    as missing, is written without them. Either is said in the variable's ``history`` and
    warned (``UserWarning``); values are never clipped or wrapped.

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
    target = as_target(target)
    fmt = output_format(target)
    plain = drop_unwritable_encoding(ds, fmt)
    said: list[str] = []  # what was changed to write the values as they are: warned once written
    for _ in range(2 * len(plain.variables) + 1):

        def write(tmp: Path, data: xr.Dataset = plain) -> None:
            _write(_guard_packing(data, said), tmp, fmt, target, progress)

        try:
            written = write_atomically(target, write, overwrite=overwrite)
        except _PackingDoesNotFit as err:  # the temporary is gone; the next round writes to a fresh name
            if err.unpack:
                plain = _unpack(plain, err.name, said)
            if err.outside:
                plain = _drop_valid_range(plain, err.name, said)
            continue
        for line in dict.fromkeys(said):  # a retry makes a numpy variable's change again
            warnings.warn(line, UserWarning, stacklevel=2)
        return written
    raise OutputError(f"Cannot write {str(target)!r}: its packed variables do not fit their packing.")  # pragma: no cover
