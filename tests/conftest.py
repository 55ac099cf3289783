from __future__ import annotations

import dask
import pytest
import xarray as xr

import sstfill  # noqa: F401  (registers .inpaint)
from sstfill.testing import synthetic_sst


class _NoCompute:
    """A dask scheduler that fails if anything is computed: proves laziness."""

    def __call__(self, dsk, keys, **kwargs):
        raise AssertionError("something was computed eagerly")


@pytest.fixture
def no_compute():
    with dask.config.set(scheduler=_NoCompute()):
        yield


@pytest.fixture(scope="session")
def sst_series() -> xr.DataArray:
    """Realistic synthetic SST, 8 days, 150 x 170 (not multiples of 64), with land."""
    return synthetic_sst(150, 170, nt=8, seed=3)


@pytest.fixture(scope="session")
def mur() -> xr.DataArray:
    """The bundled real MUR L4 crop: two consecutive days (2021-01-09 and -10) of the Southern California Bight; land is NaN on both."""
    from importlib import resources

    path = resources.files("sstfill") / "data" / "sample_mur_socal.nc"
    with resources.as_file(path) as file, xr.open_dataset(file) as ds:
        da = ds["analysed_sst"].load()
    assert da.sizes["time"] == 2
    return da


@pytest.fixture(scope="session")
def sst_image() -> xr.DataArray:
    return synthetic_sst(100, 140, seed=5)
