"""Quick-look figures (matplotlib, Agg backend): panels, units, land, N-D input, training curves; seams, swaths, fill Datasets, reach."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import sstfill  # noqa: E402,F401
import sstfill.plot as splot  # noqa: E402
from sstfill.testing import synthetic_sst  # noqa: E402


def panels(fig: Figure) -> list:
    """Axes of a figure that are not colourbars."""
    return [a for a in fig.axes if a.get_label() != "<colorbar>"]


def colourbar_labels(fig: Figure) -> list[str]:
    return [a.get_ylabel() for a in fig.axes if a.get_label() == "<colorbar>"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def case():
    sst = synthetic_sst(64, 96, seed=2)
    land = sst.isnull()  # a single synthetic image: tell sstfill where its land is
    gappy, hidden = sst.inpaint.add_holes("clouds", fraction=0.3, seed=0, land=land)
    filled = gappy.inpaint.fill(model="laplace", land=land)
    return sst, gappy, hidden, filled


def test_quicklook_without_truth(case):
    sst, gappy, _, filled = case
    fig = splot.quicklook(gappy, filled)
    assert isinstance(fig, Figure)
    assert len(panels(fig)) == 4  # and the standard error fill() attached
    assert [a.get_xlabel() for a in panels(fig)] == ["longitude (°E)"] * 4
    assert panels(fig)[0].get_ylabel() == "latitude (°N)"
    assert panels(fig)[2].get_legend() is not None


def test_quicklook_with_truth(case):
    sst, gappy, hidden, filled = case
    fig = splot.quicklook(gappy, filled, truth=sst, title="case")
    axes = panels(fig)
    assert len(axes) == 7  # and the standard error fill() attached
    assert "RMSE" in axes[5].get_title() and "bias" in axes[5].get_title()
    assert f"({int(hidden.sum()):,} pixels" in axes[5].get_title()
    # the error map is centred on 0 with symmetric limits
    err = axes[4].images[-2] if len(axes[4].images) > 2 else axes[4].images[-1]
    lo, hi = err.get_clim()
    assert lo == pytest.approx(-hi) and hi > 0
    assert fig._suptitle.get_text() == "case"


def test_kelvin_is_shown_in_celsius(case):
    sst, gappy, _, filled = case
    fig = splot.quicklook(gappy, filled, truth=sst)
    shown = np.asarray(panels(fig)[3].images[0].get_array(), dtype=float)
    assert np.nanmax(shown) < 40 and np.nanmin(shown) > -5  # ~290 K -> ~17 degC
    assert np.nanmean(shown) == pytest.approx(float(sst.mean()) - 273.15, abs=1e-3)
    assert any("°C" in label for label in colourbar_labels(fig))
    lo, hi = panels(fig)[0].images[0].get_clim()
    assert 0 < lo < hi < 40


def test_other_units_are_not_converted(case):
    sst, gappy, _, filled = case
    chl = [x.assign_attrs(units="mg m-3", standard_name="mass_concentration_of_chlorophyll") for x in (gappy, filled)]
    fig = splot.quicklook(*chl)
    shown = np.asarray(panels(fig)[1].images[0].get_array(), dtype=float)
    assert np.nanmean(shown) == pytest.approx(float(filled.mean()), abs=1e-3)
    assert any("mg m-3" in label for label in colourbar_labels(fig))


def test_shared_colour_limits(case):
    sst, gappy, _, filled = case
    fig = splot.quicklook(gappy, filled, truth=sst)
    axes = panels(fig)
    limits = {axes[i].images[0].get_clim() for i in (0, 1, 3)}
    assert len(limits) == 1
    values = np.concatenate([sst.values[np.isfinite(sst.values)], filled.values[np.isfinite(filled.values)]]) - 273.15
    assert limits.pop() == pytest.approx(tuple(np.percentile(values, [2, 98])))


def test_land_is_grey(case):
    sst, gappy, _, filled = case
    fig = splot.quicklook(gappy, filled)
    land_layer = panels(fig)[1].images[-1]
    land = ~np.ma.getmaskarray(land_layer.get_array())
    assert land.sum() == int(sst.isnull().sum()) > 0  # the synthetic coastline and island
    assert land_layer.get_cmap().colors == [splot.LAND_COLOUR]


def test_flag_computed_without_flag_coordinate(case):
    sst, gappy, hidden, filled = case
    bare = filled.drop_vars("sst_fill_flag")
    fig = splot.quicklook(gappy, bare, land=sst.isnull())
    legend = [t.get_text() for t in panels(fig)[2].get_legend().get_texts()]
    assert [t.split(" (")[0] for t in legend] == ["observed", "filled", "land", "not filled", "beyond reach"]
    share = int(hidden.sum()) / sst.size
    assert legend[1] == f"filled ({share:.1%})"


def test_time_series_shows_first_step_and_says_so():
    sst = synthetic_sst(64, 80, nt=3, seed=1)
    gappy, _ = sst.inpaint.add_holes("squares", fraction=0.2, seed=0)
    filled = gappy.inpaint.fill(model="laplace", land=sst.isnull().all("time"))
    fig = splot.quicklook(gappy, filled, truth=sst)
    assert "time = 2021-01-01 (first of 3)" in fig._suptitle.get_text()
    shown = np.asarray(panels(fig)[3].images[0].get_array(), dtype=float)
    assert np.nanmean(shown) == pytest.approx(float(sst.isel(time=0).mean()) - 273.15, abs=1e-3)


def test_descending_latitude_is_drawn_north_up():
    lat = np.linspace(50, 45, 40)
    da = xr.DataArray(
        np.repeat(lat[:, None], 50, axis=1).astype("float32"),
        dims=("lat", "lon"),
        coords={"lat": lat, "lon": np.linspace(-5, 0, 50)},
        name="sst",
        attrs={"units": "degC"},
    )
    gappy = da.where(da.lon < -1)
    fig = splot.quicklook(gappy, da, truth=da)
    image = panels(fig)[3].images[0]
    arr = np.asarray(image.get_array())
    assert image.origin == "lower" and arr[0, 0] == pytest.approx(45) and arr[-1, 0] == pytest.approx(50)
    assert image.get_extent()[2] < image.get_extent()[3]


def test_index_axes_without_coordinates(case):
    sst, gappy, _, filled = case
    bare = [x.drop_vars(list(x.coords)) for x in (gappy, filled)]
    fig = splot.quicklook(*bare)
    assert panels(fig)[0].get_xlabel() == "lon (index)"
    assert panels(fig)[0].get_ylabel() == "lat (index)"


def test_no_missing_truth_pixels(case):
    sst, gappy, _, filled = case
    fig = splot.quicklook(sst, sst.fillna(0), truth=sst, land=sst.isnull())
    assert "no missing pixel" in panels(fig)[5].get_title()


def test_user_axes_and_errors(case):
    sst, gappy, _, filled = case
    fig, axes = plt.subplots(1, 3)
    assert splot.quicklook(gappy, filled, ax=axes) is fig
    with pytest.raises(ValueError, match="6 Axes"):
        splot.quicklook(gappy, filled, truth=sst, ax=axes)
    with pytest.raises(TypeError, match="DataArray"):
        splot.quicklook(gappy.to_dataset(), filled)


def test_standard_error_panel(case):
    sst, gappy, _, filled = case
    sigma = filled["sst_error"].values
    title = "standard error of the fill (1 sigma)"
    for fig in (splot.quicklook(gappy, filled), splot.quicklook(gappy, filled, truth=sst)):
        axes = panels(fig)
        assert axes[-1].get_title().startswith(title)
        assert [a.get_title().startswith(title) for a in axes].count(True) == 1
        assert "error (1 sigma, °C)" in colourbar_labels(fig)  # a spread in kelvin is one in degC
        shown = [im for im in axes[-1].images if im.get_cmap().name == "magma"]
        assert len(shown) == 1
        values = np.ma.filled(np.ma.asarray(shown[0].get_array(), dtype=float), np.nan)
        np.testing.assert_array_equal(np.isfinite(values), np.isfinite(sigma))  # NaN where nothing was filled
        np.testing.assert_allclose(np.nanmedian(values), np.nanmedian(sigma), rtol=1e-6)  # not shifted by 273.15
        assert shown[0].get_clim() == pytest.approx((0.0, np.nanpercentile(sigma, 99)))
    for fig, n in ((splot.quicklook(gappy, filled, show_error=False), 3), (splot.quicklook(gappy, filled, truth=sst, show_error=False), 6)):
        assert len(panels(fig)) == n and not any(a.get_title().startswith(title) for a in panels(fig))
        assert not any(label.startswith("error (1 sigma") for label in colourbar_labels(fig))


def test_no_standard_error_panel_without_the_error(case):
    sst, gappy, _, filled = case
    for bare in (filled.drop_vars("sst_error"), gappy.inpaint.fill(model="laplace", land=sst.isnull(), error=False)):
        assert "sst_error" not in bare.coords
        fig = splot.quicklook(gappy, bare, truth=sst)
        assert len(panels(fig)) == 6
        assert not any("standard error" in a.get_title() for a in panels(fig))


def test_standard_error_in_user_axes(case):
    sst, gappy, _, filled = case
    fig, axes = plt.subplots(1, 4)
    assert splot.quicklook(gappy, filled, ax=axes) is fig
    assert axes[3].get_title().startswith("standard error of the fill")
    fig, axes = plt.subplots(2, 3)  # no room for it: left out
    splot.quicklook(gappy, filled, truth=sst, ax=axes)
    assert not any("standard error" in a.get_title() for a in axes.ravel())
    with pytest.raises(ValueError, match="6 Axes, or 7"):
        splot.quicklook(gappy, filled, truth=sst, ax=plt.subplots(1, 5)[1])


def test_flag_map(case):
    _, gappy, _, filled = case
    fig = splot.flag_map(filled["sst_fill_flag"])
    assert isinstance(fig, Figure) and len(panels(fig)) == 1
    texts = [t.get_text().split(" (")[0] for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["observed", "filled", "land", "not filled", "beyond reach"]
    mask_fig = splot.flag_map(gappy.inpaint.mask())
    assert [t.get_text().split(" (")[0] for t in mask_fig.axes[0].get_legend().get_texts()] == ["observed", "cloud", "land"]
    _, ax = plt.subplots()
    assert splot.flag_map(filled["sst_fill_flag"], ax=ax) is ax.figure
    with pytest.raises(ValueError, match="flag_meanings"):
        splot.flag_map(filled)


HISTORY = {
    "epoch": [0, 1, 2, 3],
    "train_loss": [0.9, 0.5, 0.4, 0.35],
    "val_loss": [0.8, 0.5, 0.45, 0.6],
    "val_rmse_hidden": [0.7, 0.5, 0.48, 0.55],
    "adv_g": [0.0] * 4,
    "adv_d": [0.0] * 4,
}


def test_training_curves():
    fig = splot.training_curves(HISTORY)
    axes = panels(fig)
    assert len(axes) == 2
    assert axes[0].get_yscale() == "log"
    assert any("best epoch (3)" == t.get_text() for t in axes[0].get_legend().get_texts())
    adversarial = {**HISTORY, "adv_g": [0.7, 0.69, 0.71, 0.7], "adv_d": [0.69, 0.68, 0.66, 0.65], "test_rmse_hidden": [0.47]}
    axes = panels(splot.training_curves(adversarial))
    assert len(axes) == 3
    assert any("test" in t.get_text() for t in axes[1].get_legend().get_texts())
    with pytest.raises(ValueError, match="history"):
        splot.training_curves({})


def test_training_curves_mark_the_epoch_the_trainer_kept():
    """An adapted model's history says which weights were kept: an epoch, or the starting ones (none marked)."""
    chose_second = {**HISTORY, "best_epoch": [1]}  # not the lowest validation loss: the trainer's own choice
    legend = [t.get_text() for t in panels(splot.training_curves(chose_second))[0].get_legend().get_texts()]
    assert "best epoch (2)" in legend and "best epoch (3)" not in legend
    fig = splot.training_curves({**HISTORY, "best_epoch": [-1]})
    legend = [t.get_text() for t in panels(fig)[0].get_legend().get_texts()]
    assert not any(t.startswith("best epoch") for t in legend)
    assert "kept the starting weights" in fig._suptitle.get_text()


def test_training_curves_from_a_trained_model():
    class Model:
        history = HISTORY

    assert len(panels(splot.training_curves(Model()))) == 2


def test_dask_backed_series():
    sst = synthetic_sst(80, 96, nt=2, seed=4).chunk({"time": 1, "lat": 40})
    land = sst.isnull().all("time").compute()
    gappy, _ = sst.inpaint.add_holes("squares", fraction=0.2, seed=0, land=land)
    filled = gappy.inpaint.fill(model="laplace", land=land)
    assert hasattr(filled.data, "dask")
    fig = splot.quicklook(gappy, filled, truth=sst)
    assert len(panels(fig)) == 7 and "first of 2" in fig._suptitle.get_text()
    assert "RMSE" in panels(fig)[5].get_title()


# -- the grids and outputs users have: a longitude across the seam, curvilinear swaths, the Dataset
# -- that ds.inpaint.fill returns, pixels left beyond the fill's reach


def legend(ax) -> dict[str, float]:
    """Flag meaning -> share (%) from a flag panel's legend."""
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    return {t.split(" (")[0]: float(t.split(" (")[1].rstrip("%)")) for t in texts}


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
