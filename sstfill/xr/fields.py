"""Which variable of a dataset to fill, and whether it can be filled."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from sstfill.errors import InputDataError
from sstfill.xr.cf import output_names

__all__ = ["pick_variable", "check_field", "check_decoded", "check_known_chunks", "has_observation", "fillable_variables", "earlier_fill_flag", "without_earlier_fill"]


def fillable_variables(ds: xr.Dataset) -> list:
    """The data variables sstfill could fill: floating point, 2-D or more, not flag variables, not an earlier fill's ``<var>_error``, not CF cell bounds (named by a ``bounds`` attribute)."""
    not_fields = {output_names(n)[1] for n in ds.data_vars}
    not_fields |= {str(bounds) for var in ds.variables.values() if (bounds := var.attrs.get("bounds") or var.encoding.get("bounds"))}
    return [v for v in ds.data_vars if ds[v].dtype.kind == "f" and ds[v].ndim >= 2 and "flag_meanings" not in ds[v].attrs and str(v) not in not_fields]


def pick_variable(ds: xr.Dataset, var: str | None = None, action: str = "fill") -> xr.DataArray:
    """``ds[var]``, or the one fillable variable of ``ds`` when ``var`` is None (``action``: the accessor method the error's fix names).

    Raises
    ------
    InputDataError
        If ``var`` is not in ``ds``, or ``var`` is None and ``ds`` has no or several
        fillable variables (:func:`fillable_variables`).

    Examples
    --------
    >>> import sstfill.testing
    >>> pick_variable(sstfill.testing.synthetic_sst(64, 64).to_dataset()).name
    'sst'
    """
    if var is not None:
        if var not in ds.data_vars:
            raise InputDataError(f"Variable {var!r} is not in the dataset; its data variables are {sorted(map(str, ds.data_vars))}.")
        return ds[var]
    candidates = fillable_variables(ds)
    if len(candidates) != 1:
        found = f"sstfill could fill any of {sorted(map(str, candidates))}" if candidates else f"none of {sorted(map(str, ds.data_vars))} can be filled (floating point, 2-D or more)"
        raise InputDataError(f"Which variable? In this dataset {found}.", fix=f"Say which variable to use: ds.inpaint.{action}(var=...).", argument="var")
    return ds[candidates[0]]


def has_observation(data: Any) -> bool:
    """Whether ``data`` (numpy or dask) holds a finite value; a dask array is read a few chunks at a time, until one does.

    Examples
    --------
    >>> import dask.array
    >>> has_observation(dask.array.full((4, 4), np.nan, chunks=2)), has_observation(np.array([np.nan, 1.0]))
    (False, True)
    """
    if not hasattr(data, "dask"):
        return bool(np.isfinite(data).any())
    import dask
    import dask.array

    blocks, batch = data.blocks.ravel(), 2
    while blocks:
        if any(dask.compute(*[dask.array.isfinite(b).any() for b in blocks[:batch]])):
            return True
        blocks, batch = blocks[batch:], min(2 * batch, 64)
    return False


#: Attributes xarray's decoding moves to ``.encoding``, and the value of each that changes nothing (NaN: any fill value does).
_DECODED_AWAY = {"_FillValue": np.nan, "missing_value": np.nan, "scale_factor": 1.0, "add_offset": 0.0}


def check_decoded(da: xr.DataArray) -> None:
    """Raise :class:`InputDataError` if ``da`` is not a decoded floating-point field: integer (packed), not float, or a float that still carries its fill value or packing in its attributes (xarray moves them to ``.encoding`` when it decodes).

    Examples
    --------
    >>> sst = xr.DataArray(np.array([[290.0, -32768.0]]), dims=("y", "x"), name="sst", attrs={"_FillValue": -32768})
    >>> try:
    ...     check_decoded(sst)
    ... except InputDataError as err:
    ...     print(err.fix)
    Open the file with xarray's decoding on (xr.open_dataset(path), mask_and_scale=True, the default), or decode it first: xr.decode_cf(ds).
    """
    name = da.name or "<unnamed>"
    kind = da.dtype.kind
    if kind in "iu":
        raise InputDataError(
            f"Variable {name!r} has integer dtype {da.dtype}: sstfill fills floating-point fields only.",
            fix="It looks packed or undecoded: open the file with xr.open_dataset(path) (mask_and_scale=True, the default) "
            "or convert with da.astype('float32') after masking its fill value.",
            argument="var",
        )
    if kind not in "f":
        raise InputDataError(f"Variable {name!r} has dtype {da.dtype}; sstfill fills floating-point fields only.")
    undecoded = [k for k, no_op in _DECODED_AWAY.items() if _is_number(da.attrs.get(k)) and not np.all(np.asarray(da.attrs[k], dtype="float64") == no_op)]
    if undecoded:  # in .attrs, not .encoding: the values are still raw
        raise InputDataError(
            f"Variable {name!r} still carries {undecoded[0]} = {np.ravel(da.attrs[undecoded[0]])[0]!r} in its attributes: it was not "
            "decoded, so its fill values would be taken for data (and a packed field for physical values).",
            fix="Open the file with xarray's decoding on (xr.open_dataset(path), mask_and_scale=True, the default), "
            "or decode it first: xr.decode_cf(ds).",
            argument="var",
        )


def check_field(da: xr.DataArray, read_lazy: bool = False) -> None:
    """Raise :class:`InputDataError` if ``da`` cannot be filled: not a decoded float field (:func:`check_decoded`), or all missing.

    Whether a lazy (dask) field is all missing is known only by reading it: with
    ``read_lazy`` it is read until a finite value is found (the command line does, before
    it fills and writes); without, a lazy field is not read here.
    """
    check_known_chunks(da)
    check_decoded(da)
    name = da.name or "<unnamed>"
    if (read_lazy or not hasattr(da.data, "dask")) and not has_observation(da.data):
        raise InputDataError(
            f"Variable {name!r} is missing everywhere (all NaN): there is nothing to fill from. "
            "Check the variable, the time step, or the file's _FillValue."
        )


def _is_number(value: Any) -> bool:
    """Whether an attribute is a finite number (or numbers): a NaN fill value marks nothing that is not already missing."""
    try:
        values = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        return False
    return values.size > 0 and bool(np.isfinite(values).any())


def check_known_chunks(da: xr.DataArray) -> None:
    """Raise :class:`InputDataError` if ``da`` is a dask array whose chunk sizes are unknown (NaN, e.g. after boolean indexing).

    Tiles, halos and land masks are cut by position, so every chunk's size must be known
    (dask said "cannot convert float NaN to integer" from deep inside the fill).

    Examples
    --------
    >>> import dask.array as dsa
    >>> data = dsa.ones((4, 3, 3), chunks=2)
    >>> try:
    ...     check_known_chunks(xr.DataArray(data[data[:, 0, 0] > 0], dims=("time", "y", "x"), name="sst"))
    ... except InputDataError as err:
    ...     print(err.fix)
    Compute them first: da = da.copy(data=da.data.compute_chunk_sizes()).
    """
    unknown = [d for d, sizes in zip(da.dims, da.chunks or ()) if np.isnan(sizes).any()]  # None: a numpy field
    if unknown:
        raise InputDataError(
            f"Variable {da.name or '<unnamed>'!r} is a dask array with unknown chunk sizes along {unknown[0]!r} (boolean indexing leaves "
            "them unknown): sstfill cuts tiles by position.",
            fix="Compute them first: da = da.copy(data=da.data.compute_chunk_sizes()).",
        )


def earlier_fill_flag(da: xr.DataArray, dataset: xr.Dataset | None = None) -> xr.DataArray | None:
    """The ``<name>_fill_flag`` of an earlier sstfill fill of ``da`` (a coordinate of ``da``, or a variable of ``dataset``); None if it has none."""
    name = output_names(da.name)[0]
    flag = da.coords[name] if name in da.coords else dataset[name] if dataset is not None and name in dataset.variables else None
    return flag if flag is not None and _is_fill_flag(flag) else None


def _is_fill_flag(var: xr.DataArray) -> bool:
    """Whether ``var`` is a fill's flag variable (:data:`sstfill.xr.cf.FILL_FLAGS`: a meaning "filled")."""
    return "filled" in str(var.attrs.get("flag_meanings", "")).split()


def _is_earlier_output(var: xr.DataArray, kind: str, field: str) -> bool:
    """Whether ``var`` (named as the ``kind`` "flag" or "error" of a fill of ``field``) was written by sstfill."""
    if kind == "flag":
        return _is_fill_flag(var)
    return str(var.attrs.get("long_name", "")) == f"standard error of the filled values of {field}" or "sstfill" in str(var.attrs.get("comment", ""))


def _check_outputs_are_ours(da: xr.DataArray, dataset: xr.Dataset | None) -> None:
    """Raise if a variable named as a fill's flag or error is there and is not an earlier sstfill fill's: it would be replaced."""
    field = "field" if da.name is None else str(da.name)
    for kind, name in zip(("flag", "error"), output_names(da.name)):
        found = [v for v in (da.coords.get(name), dataset.variables.get(name) if dataset is not None else None) if v is not None]
        if any(not _is_earlier_output(v, kind, field) for v in found):
            raise InputDataError(
                f"Variable {name!r} is already in the data and was not written by sstfill: filling {field!r} writes its "
                f"{'gap-filling flag' if kind == 'flag' else 'standard error'} under that name and would replace it.",
                fix=f"Keep it under another name, e.g. ds = ds.rename_vars({{{name!r}: {name + '_product'!r}}}), or drop it "
                f"(ds.drop_vars({name!r})) if you do not need it, then fill.",
                argument="outputs",
            )


def without_earlier_fill(da: xr.DataArray, dataset: xr.Dataset | None = None) -> xr.DataArray:
    """``da`` as it was before an earlier sstfill fill: the pixels it filled missing again, its flag and error dropped.

    The earlier fill's ``<name>_fill_flag`` (a coordinate of ``da``, or a variable of
    ``dataset``) says which pixels it made up (flag ``filled``); filling again fills them
    anew, and flags them ``filled``, not ``observed``. Lazy with dask; attributes and
    encoding (a packing) kept.

    Examples
    --------
    >>> sst = xr.DataArray([[15.0, 16.0], [17.0, 18.0]], dims=("lat", "lon"), name="sst")
    >>> flag = xr.DataArray([[0, 1], [0, 0]], dims=("lat", "lon"), attrs={"flag_meanings": "observed filled land not_filled beyond_reach"})
    >>> without_earlier_fill(sst.assign_coords(sst_fill_flag=flag)).values.tolist()
    [[15.0, nan], [17.0, 18.0]]
    """
    _check_outputs_are_ours(da, dataset)
    flag = earlier_fill_flag(da, dataset)
    out = da.drop_vars([n for n in output_names(da.name) if n in da.coords])
    if flag is None:
        return out
    meanings = str(flag.attrs["flag_meanings"]).split()
    values = flag.attrs.get("flag_values")
    filled_code = (list(range(len(meanings))) if values is None else np.atleast_1d(values).tolist())[meanings.index("filled")]
    undone = out.where(flag.variable != filled_code)
    undone.encoding = dict(out.encoding)
    return undone

