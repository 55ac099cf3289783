"""Open netCDF files, glob patterns of (daily) files and zarr stores as one lazy Dataset.

Examples
--------
>>> import os, tempfile, sstfill.testing
>>> d = tempfile.mkdtemp()
>>> sstfill.testing.synthetic_sst(32, 48, nt=2).to_dataset().to_netcdf(os.path.join(d, "sst.nc"))
>>> ds = open_inputs([os.path.join(d, "*.nc")])
>>> sorted(ds.data_vars), hasattr(ds["sst"].data, "dask")
(['sst'], True)
"""

from __future__ import annotations

import glob
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import xarray as xr

from sstfill.errors import InputDataError, SSTFillError

__all__ = ["open_inputs", "open_input", "expand_inputs", "is_zarr_store"]

_GLOB_CHARS = set("*?[")


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


def _times_as_numbers_if_undecodable(open_: Callable[..., xr.Dataset]) -> xr.Dataset:
    """``open_()``, or ``open_(decode_times=False)`` when xarray cannot decode the dates (IRI's calendar ``"360"``).

    The numbers keep their units and calendar: :func:`sstfill.xr.series.time_coordinate`
    reads them as dates.
    """
    try:
        return open_()
    except ValueError as err:
        if "decode time units" not in str(err):
            raise
        return open_(decode_times=False)


def open_input(path: str, chunks: Any) -> xr.Dataset:
    """Open one netCDF file or zarr store lazily with dask ``chunks``.

    A time coordinate that xarray cannot decode (``"months since"`` in a calendar named
    ``"360"``, as the IRI Data Library writes them) is read as its numbers with their units:
    :func:`sstfill.xr.series.time_coordinate` reads them as dates.

    Raises
    ------
    InputDataError
        The file cannot be read, naming it and the cause.
    """
    try:
        if is_zarr_store(path):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part", category=UserWarning)
                return xr.open_zarr(path, chunks=chunks)
        return _times_as_numbers_if_undecodable(lambda **kw: xr.open_dataset(path, chunks=chunks, **kw))
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


def _check_nothing_dropped(files: list[str], ds: xr.Dataset, sizes: list[dict]) -> None:
    """Raise if combining ``files`` (of ``sizes``, one dict each) into ``ds`` dropped data: along each dim, the files either all have its size or add up to it.

    xarray's ``compat="override"`` (which keeps the combine from reading every file's
    coordinates) would otherwise take one file's grid and silently cut the others to it.
    """
    for dim, total in ds.sizes.items():
        each = [s.get(dim, 1) for s in sizes]
        if all(n == total for n in each) or sum(each) == total:
            continue
        raise InputDataError(
            f"Cannot combine the {len(files)} input files ({files[0]!r} ... {files[-1]!r}): their {dim!r} sizes "
            f"{sorted(set(each))} neither match nor add up to the combined {total}. They must share a grid and differ "
            "along one dimension such as time; fill files of different grids one by one."
        )


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
        chunk for netCDF inputs (or the steps stored together in one storage chunk), and
        the storage chunks of zarr stores.

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
    netcdf = not any(is_zarr_store(f) for f in files)
    if netcdf:
        # netCDF is opened in its final chunks (one time step each by default): a rechunked
        # array would cost the land search its own reads (see sstfill.xr.land.never_observed)
        with open_input(files[0], None) as probe:
            sizes = dict(probe.sizes)
            # steps stored together are read together (splitting them would decompress each many times)
            stored = [v.encoding.get("preferred_chunks", {}).get("time") for v in probe.data_vars.values() if "time" in v.dims]
            stored_time_chunk = max([int(c) for c in stored if c] or [1])
            if user_chunks is not None:  # checked here, once, with the names of the dims
                user_chunks = _check_chunks(probe, user_chunks)
        netcdf_chunks = {d: "auto" for d in sizes}
        if user_chunks is None and "time" in sizes and (sizes["time"] > 1 or len(files) > 1):
            netcdf_chunks["time"] = stored_time_chunk
        if len(files) == 1:
            netcdf_chunks.update(user_chunks or {})
    sizes: list[dict] = []  # each file's, as it is opened (read once, not reopened for the check)

    def remember_sizes(one: xr.Dataset) -> xr.Dataset:
        sizes.append(dict(one.sizes))
        return one

    if len(files) == 1:
        ds = open_input(files[0], netcdf_chunks if netcdf else {})
    elif netcdf:
        try:
            def open_all(**kw: Any) -> xr.Dataset:
                sizes.clear()  # a second try opens every file again
                return xr.open_mfdataset(files, combine="by_coords", chunks=netcdf_chunks, preprocess=remember_sizes, **_COMBINE, **kw)

            ds = _times_as_numbers_if_undecodable(open_all)
        except Exception as err:  # noqa: BLE001
            for f in files:  # name the unreadable file, if that is the problem
                open_input(f, {}).close()
            raise InputDataError(
                f"Cannot combine the {len(files)} input files ({files[0]!r} ... {files[-1]!r}) by their coordinates "
                f"({type(err).__name__}: {str(err)[:300]}). They must share a grid and differ along one dimension such as time."
            ) from err
    else:
        parts = [remember_sizes(open_input(f, {})) for f in files]
        try:
            ds = xr.combine_by_coords(parts, **_COMBINE)
        except Exception as err:  # noqa: BLE001
            raise InputDataError(f"Cannot combine the inputs {files} by their coordinates ({type(err).__name__}: {str(err)[:300]}).") from err
    if len(files) > 1:
        _check_nothing_dropped(files, ds, sizes)
    if user_chunks is not None and not (netcdf and len(files) == 1):  # several files: their chunks, then the user's
        ds = ds.chunk(user_chunks if netcdf else _check_chunks(ds, user_chunks))
    return ds

