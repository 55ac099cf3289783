"""Synthetic holes, the observation mask and scoring, as a user judges a fill on real bundled data."""

from __future__ import annotations

import warnings
from importlib import resources

import numpy as np
import pytest
import xarray as xr

import sstfill  # noqa: F401  (registers .inpaint)
from sstfill.errors import InputDataError
from sstfill.evaluation.metrics import scores

DATA = resources.files("sstfill") / "data"


def _open(name: str) -> xr.DataArray:
    with resources.as_file(DATA / name) as path, xr.open_dataset(path) as ds:
        return ds[next(iter(ds.data_vars))].load()


@pytest.fixture(scope="module")
def slstr() -> xr.DataArray:
    """A real SLSTR L2 scene of the NW Mediterranean (kelvin): clouds, land and the swath's edge."""
    return _open("sample_slstr_nw_med.nc").isel(time=0)


@pytest.mark.parametrize(
    "kwargs, argument",
    [(dict(fraction=0), "fraction"), (dict(fraction=1.0), "fraction"), (dict(fraction=-0.2), "fraction"), (dict(fraction=float("nan")), "fraction"),
     (dict(kind="cloud"), "kind"), (dict(seed=None), "seed"), (dict(seed=-1), "seed"), (dict(tile=0), "tile")],
)
def test_bad_hole_arguments_are_refused_at_once_on_a_lazy_field(kwargs, argument, no_compute):
    mur = _open("sample_mur_socal.nc").chunk(time=1)
    with pytest.raises(InputDataError) as err:  # at the call, not when the holes are computed
        mur.inpaint.add_holes(**kwargs)
    assert "'analysed_sst'" in str(err.value) and err.value.argument == argument and err.value.fix


def test_dataset_add_holes_takes_a_named_land_variable_of_the_dataset(slstr):
    ds = slstr.to_dataset()
    ds["lsmask"] = slstr.inpaint.mask() == 2  # a plain boolean data variable, True = land
    out = ds.inpaint.add_holes("sea_surface_skin_temperature", kind="clouds", land="lsmask", seed=1)
    hidden = out["sea_surface_skin_temperature_hidden"]
    assert 0.2 < float(hidden.sum() / slstr.notnull().sum()) < 0.4
    assert not (hidden & ds["lsmask"]).any()


def test_dataset_add_holes_finds_a_cf_land_mask_variable():
    # an L4 analysis with values over land too (as some model outputs have), land described by a CF variable
    mur = _open("sample_mur_socal.nc").isel(time=0)
    land = mur.isnull()
    ds = mur.fillna(285.0).to_dataset()
    ds["lsm"] = land.astype("int8").assign_attrs(standard_name="land_binary_mask")
    out = ds.inpaint.add_holes("analysed_sst", kind="squares", fraction=0.4, seed=0)
    assert out["analysed_sst_hidden"].sum() > 0.3 * (~land).sum()
    assert not (out["analysed_sst_hidden"] & land).any()


def test_dataset_add_holes_locates_a_projected_grid_by_its_grid_mapping_variable():
    # Mercator x/y over the Gulf of Lion, the CRS a data variable (xarray's default decoding); values over land too
    x, y = np.arange(500e3, 800e3, 4e3), np.arange(5.4e6, 5.2e6, -4e3)
    crs = dict(grid_mapping_name="mercator", longitude_of_projection_origin=0.0, standard_parallel=0.0, false_easting=0.0, false_northing=0.0,
               semi_major_axis=6378137.0, inverse_flattening=298.257223563)
    ds = xr.Dataset(
        {"sst": (("y", "x"), np.full((y.size, x.size), 290.0, "float32"), {"grid_mapping": "crs", "units": "K"}), "crs": ((), 0, crs)},
        coords={"x": ("x", x, {"standard_name": "projection_x_coordinate", "units": "m"}),
                "y": ("y", y, {"standard_name": "projection_y_coordinate", "units": "m"})},
    )
    land = ds.assign(sst=ds["sst"].where(False)).inpaint.mask("sst") == 2  # land of the same grid, as the mask sees it
    assert 0.2 < float(land.mean()) < 0.6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "cannot be put on the Earth" warning
        out = ds.inpaint.add_holes("sst", kind="squares", fraction=0.5, seed=0)
    assert not (out["sst_hidden"] & land).any() and out["sst_hidden"].sum() > 0
    assert "crs" not in out["sst_hidden"].coords


def test_pixels_without_geolocation_are_never_hidden(slstr):
    # the real scene on a curvilinear grid whose first 20 columns have no latitude/longitude (beyond a swath's edge)
    lat, lon = np.meshgrid(slstr["lat"].values, slstr["lon"].values, indexing="ij")
    lat[:, :20] = lon[:, :20] = np.nan
    swath = xr.DataArray(slstr.values, dims=("y", "x"), coords={"lat": (("y", "x"), lat), "lon": (("y", "x"), lon)},
                         name="sst", attrs=slstr.attrs)
    swath[:, :20] = slstr.values[:, 20:40]  # observed values there (an observed value is kept, a gap never filled)
    gappy, hidden = swath.inpaint.add_holes("clouds", fraction=0.3, seed=0)
    assert not hidden[:, :20].any() and hidden.any()
    filled = gappy.inpaint.fill(model="laplace")
    s = scores(filled, swath, hidden)
    assert s["skipped"] == 0 and s["n"] == int(hidden.sum())


def test_scores_match_dataarrays_by_dims_and_count_what_they_skip(slstr):
    gappy, hidden = slstr.inpaint.add_holes("clouds", fraction=0.3, seed=2)
    filled = gappy.inpaint.fill(model="laplace")
    plain = scores(filled, slstr, hidden)
    assert plain["n"] == int(hidden.sum()) and plain["skipped"] == 0 and 0.05 < plain["rmse"] < 1.0  # kelvin
    assert scores(filled.transpose("lon", "lat"), slstr, hidden) == plain  # matched by name, not by position
    assert scores(filled, slstr, hidden.transpose("lon", "lat")) == plain
    left = filled.where(~(hidden & (filled.lat > 42.5)))  # hidden pixels a fill left missing
    s = scores(left, slstr, hidden)
    assert s["skipped"] == int((hidden & (filled.lat > 42.5)).sum()) > 0 and s["n"] + s["skipped"] == plain["n"]


def test_mask_refuses_a_packed_field_instead_of_calling_it_observed(slstr, tmp_path):
    ds = slstr.to_dataset()
    ds["sea_surface_skin_temperature"].encoding.update(dtype="int16", scale_factor=0.01, add_offset=273.15, _FillValue=-32768)
    ds.to_netcdf(tmp_path / "packed.nc")
    with xr.open_dataset(tmp_path / "packed.nc", mask_and_scale=False) as raw:
        with pytest.raises(InputDataError, match="sea_surface_skin_temperature.*mask_and_scale"):
            raw["sea_surface_skin_temperature"].inpaint.mask()
        with pytest.raises(InputDataError, match="integer dtype"):
            raw.inpaint.mask("sea_surface_skin_temperature")


def test_evaluate_takes_one_hole_kind_and_names_the_variable_in_its_errors():
    mur = _open("sample_mur_socal.nc")
    table = mur.inpaint.evaluate("laplace", holes="clouds", fraction=0.3)
    assert table.index.tolist() == ["clouds"] and table["hidden_pixels"].iloc[0] > 0
    assert 0.01 < table["rmse_hidden_units"].iloc[0] < 1.0  # kelvin: the real MUR field under real cloud shapes
    with pytest.raises(InputDataError, match="'analysed_sst'") as err:
        mur.inpaint.evaluate("laplace", fraction=0.0)
    assert err.value.argument == "fraction"
