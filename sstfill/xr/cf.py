"""CF metadata of sstfill's outputs: attributes, history, flag variables, encodings."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "FILL_FLAGS",
    "output_names",
    "MASK_FLAGS",
    "FILL_FLAG_COMMENT",
    "MASK_FLAG_COMMENT",
    "flag_variable",
    "add_history",
    "filled_attrs",
    "error_variable",
    "clean_encoding",
    "drop_unwritable_encoding",
    "WRITER_ENCODING_KEYS",
    "keeps_packing",
    "stored_dtype",
    "unpack_valid_range",
]

#: flag value -> meaning of the companion ``<var>_fill_flag`` variable
FILL_FLAGS = {0: "observed", 1: "filled", 2: "land", 3: "not_filled", 4: "beyond_reach"}
#: what each flag of :data:`FILL_FLAGS` means, written as the flag variable's ``comment``
FILL_FLAG_COMMENT = (
    "observed: input value returned bit for bit; filled: missing in the input (NaN, or +-inf, "
    "which is treated as missing) and filled; land: never filled, NaN; not_filled: missing and "
    "left NaN (no data within reach of a tile or the fallback, or no position: NaN latitude or longitude); beyond_reach: missing and left NaN "
    "because it lies farther from every observation than the fill's max_distance (extrapolation)"
)
#: flag value -> meaning of :meth:`DataArray.inpaint.mask`
MASK_FLAGS = {0: "observed", 1: "cloud", 2: "land"}
#: what each flag of :data:`MASK_FLAGS` means, written as the mask variable's ``comment``
MASK_FLAG_COMMENT = "observed: finite input value; cloud: missing (NaN, or +-inf, which is treated as missing) and not land; land: missing and land"

#: netCDF compression settings a filled field keeps from its source
_COMPRESSION_KEYS = ("zlib", "complevel", "shuffle", "compression")
#: CF attributes naming other variables that xarray reads into the encoding (``decode_coords="all"``)
#: and writes back as attributes
_GRID_ENCODING_KEYS = ("grid_mapping",)
_COMMON_WRITER_KEYS = ("dtype", "_FillValue", "missing_value", "scale_factor", "add_offset", "units", "calendar", "_Unsigned") + _GRID_ENCODING_KEYS
#: encoding keys each writer understands (the rest, e.g. a netCDF source's chunksizes
#: written to zarr or stale zarr chunks after re-chunking, make the writers fail)
WRITER_ENCODING_KEYS = {"zarr": _COMMON_WRITER_KEYS, "netcdf": _COMMON_WRITER_KEYS + _COMPRESSION_KEYS + ("fletcher32",)}


def output_names(name: Any) -> tuple[str, str]:
    """The flag and error variables a fill of the variable ``name`` adds (None: ``field``).

    Examples
    --------
    >>> output_names("sst")
    ('sst_fill_flag', 'sst_error')
    """
    name = "field" if name is None else name
    return f"{name}_fill_flag", f"{name}_error"


def _grid_attrs(parent: xr.DataArray) -> dict[str, Any]:
    """The field's ``grid_mapping`` and ``coordinates`` attributes, which a variable on its grid carries too (CF)."""
    return {key: parent.attrs[key] for key in ("grid_mapping", "coordinates") if parent.attrs.get(key)}


def _grid_encoding(parent: xr.DataArray) -> dict[str, Any]:
    """The field's ``grid_mapping`` where xarray keeps it (``decode_coords="all"``: in the encoding, not the attributes)."""
    return {key: parent.encoding[key] for key in _GRID_ENCODING_KEYS if parent.encoding.get(key) and not parent.attrs.get(key)}


def flag_variable(codes: xr.DataArray, flags: dict[int, str], long_name: str, parent: xr.DataArray, comment: str | None = None) -> xr.DataArray:
    """Wrap int8 codes as a CF flag variable describing ``parent`` (``comment``: what the flags mean)."""
    attrs = {
        "long_name": long_name,
        "flag_values": np.array(list(flags), dtype="int8"),
        "flag_meanings": " ".join(flags.values()),
    }
    if comment:
        attrs["comment"] = comment
    std = parent.attrs.get("standard_name")
    if std:
        attrs["standard_name"] = f"{std} status_flag"
    attrs.update(_grid_attrs(parent))
    # xr.where drops the attributes of the coordinates (units, standard_name, axis): the parent's are put back
    out = codes.astype("int8").assign_coords({k: parent.coords[k] for k in codes.coords if k in parent.coords})
    out.attrs = attrs
    out.encoding = {"dtype": "int8", "_FillValue": None, **_grid_encoding(parent)}
    return out


def fill_flag(work: xr.DataArray, filled: xr.DataArray, land: xr.DataArray | None, beyond: xr.DataArray | None, source: xr.DataArray) -> xr.DataArray:
    """The ``<name>_fill_flag`` of a fill (:data:`FILL_FLAGS`), in ``source``'s dims.

    ``work`` is the input (+-inf is not data: such pixels are filled like NaN gaps, and
    flagged so), ``filled`` the fill, ``land`` and ``beyond`` (beyond the reach) bool masks.
    """
    name = source.name if source.name is not None else "field"
    observed = np.isfinite(work)
    codes = xr.where(observed, 0, xr.where(filled.notnull(), 1, 3))
    if land is not None:
        codes = xr.where(~observed & land, 2, codes)
    if beyond is not None:
        codes = xr.where(beyond, 4, codes)
    flag = flag_variable(codes.transpose(*work.dims), FILL_FLAGS, f"gap-filling status of {name}", source, FILL_FLAG_COMMENT)
    return flag.transpose(*source.dims)


def add_history(attrs: dict[str, Any], line: str) -> dict[str, Any]:
    """Return a copy of ``attrs`` with ``line`` (time-stamped) prepended to ``history``."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = dict(attrs)
    old = str(out.get("history", "")).strip()
    out["history"] = f"{stamp}: {line}" + (f"\n{old}" if old else "")
    return out


def filled_attrs(source: xr.DataArray, description: str, flag_name: str, error_name: str | None = None, replaced: tuple[str, ...] = ()) -> dict[str, Any]:
    """Attributes of a filled field: the source's, plus history, comment and ancillaries.

    ``replaced``: ancillary variables of an earlier fill that this one does not make again
    (its error variable, refilled with ``error=False``); they leave the list.
    """
    from sstfill._version import __version__

    attrs = dict(source.attrs)
    # valid_* of packed data are in packed units: they stay so while the output keeps the
    # packing (see clean_encoding), and are converted when it is written unpacked
    scale = source.encoding.get("scale_factor")
    offset = source.encoding.get("add_offset")
    if (scale is not None or offset is not None) and not keeps_packing(source.encoding):
        attrs = unpack_valid_range(attrs, source.encoding, clean_encoding(source.encoding, source.dtype)["dtype"])
    attrs.pop("missing_value", None)
    attrs.pop("_FillValue", None)
    method = f"sstfill {__version__}: {description}"
    attrs = add_history(attrs, f"cloud gaps filled by {method}")
    note = f"Cloud gaps filled by {method}; see {flag_name} for which pixels were observed or filled"
    note += f" and {error_name} for the standard error of each filled value." if error_name else "."
    earlier = str(attrs.get("comment", "")).rstrip()
    attrs["comment"] = f"{earlier}{'' if earlier.endswith(('.', '!', '?')) else '.'} {note}" if earlier else note  # a sentence of its own
    ours = [flag_name] + ([error_name] if error_name else [])
    ancillary = str(attrs.get("ancillary_variables", "")).split()
    attrs["ancillary_variables"] = " ".join([a for a in ancillary if a not in ours and a not in replaced] + ours)
    return attrs


def error_variable(sigma: xr.DataArray, source: xr.DataArray, fitted_on: str) -> xr.DataArray:
    """Wrap the standard error of the filled values as a CF variable describing ``source``.

    Units are the field's; ``standard_name`` is the field's with the CF modifier
    ``standard_error``; NaN where nothing was filled (observed pixels, land, gaps left
    missing). Written as float32 with NaN as fill value, compressed like the field.
    """
    name = source.name if source.name is not None else "field"
    attrs: dict[str, Any] = {
        "long_name": f"standard error of the filled values of {name}",
        "comment": (
            "Standard deviation of the error of each filled value (Gaussian), from sstfill's error model "
            "(distance to the nearest observation, local variability, gradient and observed fraction), "
            f"fitted on held-out real clouds: {fitted_on or 'see the sstfill documentation'}. "
            "NaN where the value was observed or not filled."
        ),
    }
    if source.attrs.get("units") is not None:
        attrs["units"] = source.attrs["units"]
    std = source.attrs.get("standard_name")
    if std:
        attrs["standard_name"] = f"{std} standard_error"
    attrs.update(_grid_attrs(source))
    out = sigma.astype("float32")
    out.attrs = attrs
    enc = {k: v for k, v in source.encoding.items() if k in _COMPRESSION_KEYS}
    out.encoding = {**enc, **_grid_encoding(source), "dtype": np.dtype("float32"), "_FillValue": np.float32(np.nan)}
    return out


def stored_dtype(encoding: dict[str, Any]) -> np.dtype:
    """The integer dtype a packed variable's values are read as: its on-disk dtype, or its unsigned/signed twin (CF's ``_Unsigned``).

    >>> stored_dtype({"dtype": "int8", "_Unsigned": "true"})
    dtype('uint8')
    """
    disk = np.dtype(encoding["dtype"])
    unsigned = str(encoding.get("_Unsigned", "")).lower()
    if disk.kind == "i" and unsigned == "true":
        return np.dtype(f"u{disk.itemsize}")
    if disk.kind == "u" and unsigned == "false":
        return np.dtype(f"i{disk.itemsize}")
    return disk


def unpack_valid_range(attrs: dict[str, Any], encoding: dict[str, Any], dtype: Any = "float64") -> dict[str, Any]:
    """A copy of ``attrs`` with ``valid_min``/``valid_max``/``valid_range`` from the packing of ``encoding`` to physical units.

    Unpacked as xarray unpacks the data (read as :func:`stored_dtype`, then ``*=
    scale_factor``, ``+= add_offset``), in the float ``dtype`` the field is written in: a
    pixel stored at an end of the packed range lies at that end of the unpacked one, not a
    rounding error beyond it.

    Examples
    --------
    >>> packing = {"dtype": "int16", "scale_factor": np.float32(0.01), "add_offset": np.float32(273.15)}
    >>> attrs = unpack_valid_range({"valid_min": np.int16(-300)}, packing, "float32")
    >>> attrs["valid_min"].dtype, attrs["valid_min"] == np.float32(-300) * np.float32(0.01) + np.float32(273.15)
    (dtype('float32'), np.True_)
    """
    out = dict(attrs)
    disk = encoding.get("dtype")
    integers = disk is not None and np.dtype(disk).kind in "iu"
    for key in ("valid_min", "valid_max", "valid_range"):
        if key in out:
            raw = np.asarray(out[key])
            if integers and raw.dtype.kind in "iu":
                raw = raw.astype(disk).view(stored_dtype(encoding))
            value = raw.astype(dtype)
            for name, apply in (("scale_factor", np.multiply), ("add_offset", np.add)):
                if encoding.get(name) is not None:
                    apply(value, np.asarray(encoding[name]).item(), out=value)
            out[key] = value[()]
    return out


def keeps_packing(encoding: dict[str, Any]) -> bool:
    """Whether a field read with ``encoding`` is written back packed (its on-disk dtype is an integer)."""
    dtype = encoding.get("dtype")
    return dtype is not None and np.dtype(dtype).kind in "iu"


def clean_encoding(encoding: dict[str, Any], dtype: np.dtype) -> dict[str, Any]:
    """Encoding for a filled output written from a source ``encoding``.

    The input's on-disk encoding is kept: an integer dtype with its packing
    (``scale_factor``, ``add_offset``, ``_FillValue``, ``_Unsigned``), so an int16-packed
    input gives an int16-packed output whose observed pixels re-encode to the same
    integers; a float dtype (float32 on disk, float64 in memory: float32) with its
    ``_FillValue``. Packing without a fill value gets one (the dtype's most negative, or for
    unsigned the largest, value) so land and unfilled gaps can be stored.
    :func:`sstfill.xr.io.write_atomic` checks that the filled values fit the packing and
    writes the field unpacked, saying so in its ``history``, when they do not. Without
    an on-disk dtype the output is ``dtype`` with NaN as fill value. A conflicting
    ``missing_value`` and stale storage chunking are dropped, so ``to_netcdf`` and
    ``to_zarr`` both work; a ``grid_mapping`` (where ``decode_coords="all"`` reads it) is kept.
    """
    out = {k: v for k, v in encoding.items() if k in _COMPRESSION_KEYS + _GRID_ENCODING_KEYS}
    disk = encoding.get("dtype")
    if keeps_packing(encoding):
        disk = np.dtype(disk)
        out["dtype"] = disk
        for key in ("scale_factor", "add_offset", "_Unsigned"):
            if encoding.get(key) is not None:
                out[key] = encoding[key]
        fill = encoding.get("_FillValue")
        if fill is None:
            fill = encoding.get("missing_value")
        if fill is None:
            fill = np.iinfo(disk).min if disk.kind == "i" else np.iinfo(disk).max
        out["_FillValue"] = np.asarray(fill).astype(disk)[()] if np.ndim(fill) == 0 else np.asarray(fill).astype(disk)[0]
        return out
    if disk is not None and np.dtype(disk).kind == "f":
        dtype = np.dtype(disk)
    out["dtype"] = np.dtype(dtype)
    fill = encoding.get("_FillValue")
    out["_FillValue"] = np.array(np.nan if fill is None else fill, dtype=out["dtype"])[()]
    return out


def drop_unwritable_encoding(ds: xr.Dataset, fmt: str) -> xr.Dataset:
    """A shallow copy of ``ds`` whose variables keep only encoding keys the ``fmt`` writer understands.

    The last step before writing ``"netcdf"`` or ``"zarr"`` (see :data:`WRITER_ENCODING_KEYS`);
    :func:`clean_encoding` has already chosen a filled field's encoding from its source's.
    netCDF has no 16-bit float: a float16 variable (from a zarr store) is written as
    float32, which holds every float16 value exactly. Dates read from ``"months since"`` or
    ``"years since"`` (cftime's 360-day calendar reads them; xarray writes no such units) are
    written in days since the same date.

    Examples
    --------
    >>> ds = xr.Dataset({"sst": ("x", [1.0])})
    >>> ds["sst"].encoding = {"dtype": "int16", "chunksizes": (1,), "zlib": True}
    >>> drop_unwritable_encoding(ds, "zarr")["sst"].encoding
    {'dtype': 'int16'}
    """
    keep = WRITER_ENCODING_KEYS[fmt]
    ds = ds.copy(deep=False)
    for var in ds.variables.values():
        var.encoding = {k: v for k, v in var.encoding.items() if k in keep}
        unit, since, reference = str(var.encoding.get("units", "")).partition(" since ")
        if since and unit.strip().lower().rstrip("s") in ("month", "year") and (var.dtype.kind == "M" or var.dtype == object):
            var.encoding["units"] = f"days since {reference.strip()}"
            var.encoding["dtype"] = np.dtype("float64")  # a date stamped within a day
        if fmt == "netcdf" and np.dtype(var.encoding.get("dtype", var.dtype)) == np.float16:
            var.encoding["dtype"] = np.dtype("float32")
            if var.encoding.get("_FillValue") is not None:
                var.encoding["_FillValue"] = np.float32(var.encoding["_FillValue"])
    return ds
