"""Which variable of a dataset to fill, and whether it can be filled."""

from __future__ import annotations

import numpy as np
import xarray as xr

from sstfill.errors import InputDataError
from sstfill.xr.cf import output_names

__all__ = ["pick_variable", "check_field", "fillable_variables", "earlier_fill_flag", "without_earlier_fill"]


def fillable_variables(ds: xr.Dataset) -> list:
    """The data variables sstfill could fill: floating point, 2-D or more, not flag variables, not an earlier fill's ``<var>_error``."""
    ours = {output_names(n)[1] for n in ds.data_vars}
    return [v for v in ds.data_vars if ds[v].dtype.kind == "f" and ds[v].ndim >= 2 and "flag_meanings" not in ds[v].attrs and str(v) not in ours]


def pick_variable(ds: xr.Dataset, var: str | None = None) -> xr.DataArray:
    """``ds[var]``, or the one fillable variable of ``ds`` when ``var`` is None.

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
        raise InputDataError(f"Which variable? In this dataset {found}.", fix="Say which variable to use: ds.inpaint.fill(var=...).", argument="var")
    return ds[candidates[0]]


def check_field(da: xr.DataArray) -> None:
    """Raise :class:`InputDataError` if ``da`` cannot be filled: integer (packed), not float, or all missing."""
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
    if not hasattr(da.data, "dask") and not np.isfinite(da.values).any():
        raise InputDataError(
            f"Variable {name!r} is missing everywhere (all NaN): there is nothing to fill from. "
            "Check the variable, the time step, or the file's _FillValue."
        )


def earlier_fill_flag(da: xr.DataArray, dataset: xr.Dataset | None = None) -> xr.DataArray | None:
    """The ``<name>_fill_flag`` of an earlier sstfill fill of ``da`` (a coordinate of ``da``, or a variable of ``dataset``); None if it has none."""
    name = output_names(da.name)[0]
    flag = da.coords[name] if name in da.coords else dataset[name] if dataset is not None and name in dataset.variables else None
    return flag if flag is not None and "filled" in str(flag.attrs.get("flag_meanings", "")).split() else None


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

