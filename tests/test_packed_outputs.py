"""What the written output holds for packed inputs with CF range conventions (GHRSST-style int16 with valid_min/valid_max)."""

from __future__ import annotations

import warnings
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

import sstfill
from sstfill.xr import io as sio

SLSTR = Path(sstfill.__file__).parent / "data" / "sample_slstr_ne_atl_south.nc"
VAR = "sea_surface_temperature"


def _ghrsst_file(path: Path, *, fill: int = -32768, offset: float = 273.15, edges: bool = False) -> Path:
    """The bundled SLSTR sample stored as GHRSST L3 stores SST: int16, scale 0.01, valid_min -300, valid_max 4500 (270.15-318.15 K).

    Beside it a ``quality_level`` byte and an ``_Unsigned`` scaled byte, whose valid range the
    input breaks. ``edges``: observed pixels at both ends of the valid range and one outside it.
    """
    with xr.open_dataset(SLSTR) as src:
        src = src.load()
    sst = src["sea_surface_skin_temperature"].values
    observed = np.isfinite(sst)
    raw = np.where(observed, np.round((sst.astype("float64") - offset) / 0.01), fill).astype("i2")
    at = np.argwhere(observed)
    if edges:
        for k, value in enumerate((-300, 4500, -700)):  # -700: 266.15 K, which CF readers read as missing
            raw[tuple(at[1000 * (k + 1)])] = value
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", 1)
        for dim in ("lat", "lon"):
            nc.createDimension(dim, src.sizes[dim])
            coord = nc.createVariable(dim, "f4", (dim,))
            coord[:] = src[dim].values
            coord.standard_name, coord.units = {"lat": ("latitude", "degrees_north"), "lon": ("longitude", "degrees_east")}[dim]
        var = nc.createVariable(VAR, "i2", ("time", "lat", "lon"), fill_value=np.int16(fill), zlib=True)
        var.set_auto_maskandscale(False)
        var.scale_factor, var.add_offset = np.float32(0.01), np.float32(offset)
        var.valid_min, var.valid_max = np.int16(-300), np.int16(4500)
        var.units, var.standard_name = "kelvin", "sea_surface_skin_temperature"
        var[:] = raw
        quality = nc.createVariable("quality_level", "i1", ("time", "lat", "lon"), fill_value=np.int8(-128))
        quality.set_auto_maskandscale(False)
        quality.valid_min, quality.valid_max = np.int8(0), np.int8(5)
        quality.flag_values, quality.flag_meanings = np.arange(6, dtype="i1"), "no_data bad_data worst_quality low_quality acceptable_quality best_quality"
        quality[:] = np.where(observed, 5, 0).astype("i1")
        quality[0, 0, :10] = 7  # outside its valid range in the input: left so
        wind = nc.createVariable("wind_speed", "i1", ("time", "lat", "lon"), fill_value=np.int8(-128))
        wind.set_auto_maskandscale(False)
        wind._Unsigned, wind.scale_factor, wind.add_offset, wind.units = "true", np.float32(0.2), np.float32(0.0), "m s-1"
        wind[:] = np.random.default_rng(0).integers(-127, 127, raw.shape).astype("i1")
    return path


class _Constant:
    """A tile model filling every gap with one value."""

    tile_size = 64

    def __init__(self, value: float) -> None:
        self.value, self.description = value, f"constant {value} K (test)"

    def predict_tiles(self, values, observed):
        return np.full(values.shape, self.value, dtype="float32")


def _open(path: Path, **kwargs) -> xr.Dataset:
    return xr.open_zarr(path, **kwargs) if str(path).endswith(".zarr") else xr.open_dataset(path, **kwargs)


@pytest.mark.parametrize("suffix,lazy", [(".nc", False), (".nc", True), (".zarr", True)])
def test_filled_values_outside_the_valid_range_are_not_hidden_from_cf_readers(tmp_path, suffix, lazy):
    """320 K fits the int16 packing but not valid_max (318.15 K): CF readers read such pixels as missing."""
    source = _ghrsst_file(tmp_path / "l3.nc")
    ds = xr.open_dataset(source, chunks={} if lazy else None)
    filled = ds.inpaint.fill(VAR, model=_Constant(320.0), persistence=False, stitch=False)
    with pytest.warns(UserWarning, match=f"{VAR}: valid_min/valid_max of the input dropped \\(valid_min -300, valid_max 4500\\)"):
        target = sio.write_atomic(filled, tmp_path / f"out{suffix}")
    with _open(target) as out, _open(target, mask_and_scale=False) as raw, xr.open_dataset(source, mask_and_scale=False) as raw_in:
        flag = out[f"{VAR}_fill_flag"].values
        assert (flag == 1).sum() > 30000
        assert "valid_min" not in out[VAR].attrs and "valid_max" not in out[VAR].attrs
        assert "valid_min/valid_max of the input dropped" in out[VAR].attrs["history"].splitlines()[0]
        assert out[VAR].values[flag == 1].max() > 319.0  # not clipped to 318.15
        assert raw[VAR].dtype == np.int16  # still packed: 320 K fits the integers
        np.testing.assert_array_equal(raw[VAR].values[flag == 0], raw_in[VAR].values[flag == 0])
        for name in ("quality_level", "wind_speed"):  # not filled: as they came, their own valid range kept
            np.testing.assert_array_equal(raw[name].values, raw_in[name].values)
            assert out[name].attrs.get("valid_max") == raw_in[name].attrs.get("valid_max")
    if suffix == ".nc":
        with netCDF4.Dataset(target) as nc:  # applies valid_min/valid_max, as CF says
            assert not np.ma.getmaskarray(nc[VAR][:])[flag == 1].any()


def test_a_field_written_unpacked_keeps_a_valid_range_true_of_its_observed_pixels(tmp_path):
    """_FillValue 0 inside the valid range: filled values landing on it force an unpacked write.

    The unpacked valid_min/valid_max are those of the data, in its float32: the observed
    pixels stored at -300 and 4500 stay inside them, and netCDF4 uses them (it ignores, with
    a warning, float64 limits on a float32 variable). An observed pixel outside the valid
    range does not make the range go.
    """
    source = _ghrsst_file(tmp_path / "l3.nc", fill=0, offset=283.15, edges=True)
    ds = xr.open_dataset(source)
    filled = ds.inpaint.fill(VAR, model=_Constant(283.15), persistence=False, stitch=False)  # 283.15 K packs to 0
    with pytest.warns(UserWarning, match="written unpacked as float32") as said:
        target = sio.write_atomic(filled, tmp_path / "out.nc")
    assert not any("dropped" in str(w.message) for w in said)
    with xr.open_dataset(target) as out:
        sst, flag = out[VAR], out[f"{VAR}_fill_flag"].values
        assert sst.encoding["dtype"] == np.float32 and "scale_factor" not in sst.encoding
        low, high = sst.attrs["valid_min"], sst.attrs["valid_max"]
        assert np.asarray(low).dtype == np.float32 and np.asarray(high).dtype == np.float32
        observed = flag == 0
        np.testing.assert_array_equal(sst.values[observed], ds[VAR].values[observed])
        values = sst.values[observed].astype("float64")
        assert (values < float(low)).sum() == 1 and (values > float(high)).sum() == 0  # only the one stored at -700
        assert np.sort(values)[1] == float(low) and values.max() == float(high)  # the pixels stored at -300 and 4500
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # netCDF4 warns when it cannot use valid_min/valid_max
        with netCDF4.Dataset(target) as nc:
            masked = np.ma.getmaskarray(nc[VAR][:])
    assert masked[observed].sum() == 1 and not masked[flag == 1].any()


def test_a_float_field_that_was_not_decoded_is_refused_not_filled_around_its_fill_values(tmp_path):
    """Opened with mask_and_scale=False and cast to float, the -32768 fill pixels were taken for data (kept as observed, fed to the fill)."""
    path = _ghrsst_file(tmp_path / "l3.nc")
    from sstfill.errors import InputDataError

    with xr.open_dataset(path, mask_and_scale=False) as raw:
        undecoded = raw[VAR].astype("float32").load()
    assert undecoded.attrs["_FillValue"] == -32768 and (undecoded.values == -32768).sum() > 1000
    for call in (lambda: undecoded.inpaint.fill("laplace"), lambda: undecoded.inpaint.mask(), lambda: undecoded.inpaint.add_holes("clouds", fraction=0.3, seed=0)):
        with pytest.raises(InputDataError, match=rf"'{VAR}' still carries _FillValue = .*not decoded") as err:
            call()
        assert "mask_and_scale=True" in err.value.fix and "decode_cf" in err.value.fix
    with xr.open_dataset(path) as decoded:  # decoded as xarray decodes by default: filled
        out = decoded[VAR].load().inpaint.fill("laplace")
    assert int((out[f"{VAR}_fill_flag"] == 1).sum()) > 1000
