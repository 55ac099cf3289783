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
def sst_image() -> xr.DataArray:
    return synthetic_sst(100, 140, seed=5)
