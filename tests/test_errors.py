"""Bad input gets a clear error naming the variable and the fix."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sstfill.errors import GridError, InputDataError, ModelMismatchError, SSTFillError


def test_no_lat_lon(sst_image):
    da = xr.DataArray(sst_image.values, dims=("a", "b"), name="sst")
    with pytest.raises(GridError, match="'sst'.*standard_name"):
        da.inpaint.fill(model="laplace")


def test_integer_dtype(sst_image):
    with pytest.raises(InputDataError, match="'sst'.*integer dtype int16.*open_dataset"):
        sst_image.fillna(0).astype("int16").inpaint.fill(model="laplace")


def test_non_numeric(sst_image):
    with pytest.raises(InputDataError, match="'sst'.*floating-point"):
        sst_image.astype(str).inpaint.fill(model="laplace")


def test_all_missing(sst_image):
    with pytest.raises(InputDataError, match="'sst' is missing everywhere"):
        (sst_image * np.nan).inpaint.fill(model="laplace")


def test_unknown_and_ambiguous_variable(sst_image):
    ds = sst_image.to_dataset()
    with pytest.raises(InputDataError, match="'sea_temp' is not in the dataset.*\\['sst'\\]"):
        ds.inpaint.fill("sea_temp", model="laplace")
    ds["sst2"] = ds.sst + 1
    with pytest.raises(InputDataError, match="Say which variable.*var="):
        ds.inpaint.fill(model="laplace")


def test_tile_mismatch(sst_image):
    class Fixed64:
        tile_size = 64
        description = "fixed"

        def predict_tiles(self, values, observed):
            return values

    with pytest.raises(ModelMismatchError, match="'sst'.*tile=32.*64x64.*tile=64"):
        sst_image.inpaint.fill(model=Fixed64(), tile=32)


def test_not_a_model(sst_image):
    with pytest.raises(ModelMismatchError, match="cannot fill tiles"):
        sst_image.inpaint.fill(model=42)


def test_errors_share_a_base_class():
    for err in (GridError, InputDataError, ModelMismatchError):
        assert issubclass(err, SSTFillError) and issubclass(err, ValueError)


def test_an_unknown_device_is_named_with_the_choices(sst_image):
    with pytest.raises(ValueError, match="device='tpu' is not a torch device: use 'auto', 'cpu', 'cuda'"):
        sst_image.inpaint.fill(model="fast", device="tpu")
