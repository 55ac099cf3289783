"""Quick-look figures on the grids and outputs users have: a longitude across the seam, curvilinear
swaths, the Dataset that ``ds.inpaint.fill`` returns, and pixels left beyond the fill's reach."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import sstfill  # noqa: E402,F401
import sstfill.plot as splot  # noqa: E402
from sstfill.testing import synthetic_sst  # noqa: E402


def panels(fig) -> list:
    return [a for a in fig.axes if a.get_label() != "<colorbar>"]


def legend(ax) -> dict[str, float]:
    """Flag meaning -> share (%) from a flag panel's legend."""
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    return {t.split(" (")[0]: float(t.split(" (")[1].rstrip("%)")) for t in texts}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def beyond():
    """A field with a wide gap that a fill with a 4-pixel reach leaves partly beyond_reach."""
    sst = synthetic_sst(64, 96, seed=2)
    land = sst.isnull()
    gappy = sst.where(~((sst.lat > 30.8) & (sst.lat < 32.4) & (sst.lon > -124.4) & (sst.lon < -122.4)))
    ds = gappy.to_dataset().inpaint.fill(model="laplace", land=land, max_distance="4 px")
    assert (ds["sst_fill_flag"] == 4).sum() > 100 and (ds["sst_fill_flag"] == 1).sum() > 100
    return sst, gappy, land, ds


@pytest.mark.parametrize("lon0, expected_ticks", [(350.0, {355.0: "355", 365.0: "5"}), (170.0, {175.0: "175", 185.0: "-175"})])
def test_longitude_across_the_seam_is_drawn_in_degrees(lon0, expected_ticks):
    # 0-360 longitudes across Greenwich (350..357.5, 0..37.5) and -180..180 ones across the dateline
    sst = synthetic_sst(64, 96, seed=2)
    lon = lon0 + 0.5 * np.arange(96)
    lon = lon % 360.0 if lon0 > 180 else (lon + 180.0) % 360.0 - 180.0
    da = sst.assign_coords(lon=("lon", lon, sst.lon.attrs))
    assert not (np.all(np.diff(lon) > 0))  # the coordinate jumps at the seam
    gappy, _ = da.inpaint.add_holes("clouds", fraction=0.3, seed=0, land=da.isnull())
    filled = gappy.inpaint.fill(model="laplace", land=da.isnull())
    for fig in (splot.quicklook(gappy, filled), splot.flag_map(filled["sst_fill_flag"])):
        ax = panels(fig)[0]
        assert ax.get_xlabel() == "longitude (°E)"
        assert ax.get_aspect() != "auto"  # degrees on both axes: the latitude's aspect ratio
        left, right, _, _ = ax.images[0].get_extent()
        assert left == pytest.approx(lon0 - 0.25) and right == pytest.approx(lon0 + 47.75)
        # the columns stay in their order, west to east
        shown = np.asarray(ax.images[0].get_array(), dtype=float)
        assert shown.shape == da.shape
        formatter = ax.xaxis.get_major_formatter()
        assert {v: formatter(v, 0) for v in expected_ticks} == expected_ticks


@pytest.mark.parametrize("north_first", [True, False])
def test_curvilinear_grid_is_drawn_north_up(north_first):
    # an L2 swath with 2-D latitude/longitude: index axes, but north at the top either way
    sst = synthetic_sst(64, 96, seed=2)
    if north_first:
        sst = sst.isel(lat=slice(None, None, -1))
    lat2d, lon2d = np.meshgrid(sst.lat.values, sst.lon.values, indexing="ij")
    da = xr.DataArray(sst.values, dims=("row", "col"), name="sst", attrs=sst.attrs).assign_coords(
        lat=(("row", "col"), lat2d, {"standard_name": "latitude", "units": "degrees_north"}),
        lon=(("row", "col"), lon2d, {"standard_name": "longitude", "units": "degrees_east"}),
    )
    filled = da.inpaint.fill(model="laplace", land=da.isnull())
    for fig in (splot.quicklook(da, filled), splot.flag_map(filled["sst_fill_flag"])):
        ax = panels(fig)[0]
        assert ax.get_ylabel() == "row (index)"
        # get_ylim() is (bottom, top) as drawn; the image spans rows -0.5 .. 63.5
        row_at_top = int(np.clip(round(ax.get_ylim()[1]), 0, 63))
        assert lat2d[row_at_top, 0] == lat2d.max()  # north up
        col_at_right = int(np.clip(round(ax.get_xlim()[1]), 0, 95))
        assert lon2d[0, col_at_right] == lon2d.max()  # east right
    shown = np.asarray(panels(splot.quicklook(da, filled))[0].images[0].get_array(), dtype=float)
    assert np.allclose(shown, da.values - 273.15, equal_nan=True)  # the data as they are, the axis turned


def test_flag_map_of_a_fill_dataset(beyond):
    _, _, _, ds = beyond
    shares = legend(splot.flag_map(ds).axes[0])
    assert shares == legend(splot.flag_map(ds["sst_fill_flag"]).axes[0])
    assert shares["beyond reach"] > 0
    with pytest.raises(TypeError, match="flag_map takes a flag variable.*sst_fill_flag"):
        splot.flag_map(ds[["sst"]])


def test_quicklook_of_a_fill_dataset_keeps_its_flag_and_error(beyond):
    sst, gappy, land, ds = beyond
    fig = splot.quicklook(gappy, ds)
    axes = panels(fig)
    assert len(axes) == 4 and axes[3].get_title().startswith("standard error of the fill")
    shares = legend(axes[2])
    assert shares == legend(splot.flag_map(ds["sst_fill_flag"]).axes[0])
    assert shares["land"] == pytest.approx(100 * float(land.mean()), abs=0.06)
    assert shares["beyond reach"] == pytest.approx(100 * float((ds["sst_fill_flag"] == 4).mean()), abs=0.06)
    with pytest.raises(TypeError, match="gappy is a Dataset"):
        splot.quicklook(gappy.to_dataset(), ds)


def test_error_map_says_unfilled_pixels_are_grey(beyond):
    sst, gappy, _, ds = beyond
    filled = ds["sst"].assign_coords(sst_fill_flag=ds["sst_fill_flag"], sst_error=ds["sst_error"])  # as da.inpaint.fill gives it
    axes = panels(splot.quicklook(gappy, filled, truth=sst))
    error_map = next(a for a in axes if a.get_title().startswith("error where the input was missing"))
    assert "not filled" in error_map.get_title()  # beyond_reach pixels are grey there, not scored
    scatter = next(a for a in axes if a.get_title().startswith("RMSE"))
    n_filled = int((ds["sst_fill_flag"] == 1).sum())
    assert f"({n_filled:,} pixels missing from the input and filled)" in scatter.get_title()


def test_training_curves_of_one_epoch():
    # a first, one-epoch run (as examples/train_own_region.py --epochs 1): the epoch axis has whole epochs only
    history = {"epoch": [0], "train_loss": [0.11], "val_loss": [0.02], "val_rmse_hidden": [0.19], "test_rmse_hidden": [0.32]}
    fig = splot.training_curves(history)
    assert fig._suptitle.get_text().startswith("training history: 1 epoch, best epoch 1")
    for ax in panels(fig):
        fig.draw_without_rendering()
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks == [1.0]


def test_quicklook_shows_the_step_of_the_input(mur):
    # the input at its second day, the fill and the truth as whole series: all three at that day
    land = mur.isnull().all("time")
    gappy, _ = mur.inpaint.add_holes("clouds", fraction=0.3, seed=0, land=land)
    filled = gappy.inpaint.fill(model="laplace", land=land)
    fig = splot.quicklook(gappy.isel(time=1), filled, truth=mur)
    assert fig._suptitle.get_text().endswith("\ntime = 2021-01-10 09:00")
    axes = panels(fig)
    for ax, series in ((axes[1], filled), (axes[3], mur)):
        shown = np.asarray(ax.images[0].get_array(), dtype=float)
        assert np.allclose(shown, series.isel(time=1).values - 273.15, equal_nan=True)
    n_filled = int((filled["analysed_sst_fill_flag"].isel(time=1) == 1).sum())
    assert axes[1].get_title() == f"filled: {n_filled:,} pixels"
    assert "time = 2021-01-10 09:00" in splot.flag_map(filled["analysed_sst_fill_flag"].isel(time=1)).axes[0].get_title()
    with pytest.raises(ValueError, match="filled has no time = 2021-01-10 09:00"):
        splot.quicklook(gappy.isel(time=1), filled.isel(time=[0]))
