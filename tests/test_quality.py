"""Sample-quality checks (sstfill.evaluation.quality): SSIM per tile, Fréchet distance on the
shipped SST encoder, and the birthday-paradox duplicate test, on the bundled real crops."""

from __future__ import annotations

import json
import sys
import zipfile
from importlib import resources

import numpy as np
import pytest
import xarray as xr
from scipy.ndimage import gaussian_filter

from sstfill.evaluation import metrics, quality
from sstfill.evaluation.quality import (
    ENCODER_VERSION,
    birthday_test,
    encode_tiles,
    frechet_distance,
    frechet_distance_from_features,
    load_encoder,
    pairwise_mse,
    ssim_tiles,
)
from sstfill.testing import synthetic_sst
from sstfill.training.tiles import cut_tiles_by_index

DATA = resources.files("sstfill") / "data"


def _crop(name: str, var: str) -> np.ndarray:
    with resources.as_file(DATA / name) as path, xr.open_dataset(path) as ds:
        return ds[var].values.astype("float32")


@pytest.fixture(scope="module")
def crops() -> dict[str, np.ndarray]:
    """The bundled held-out real crops: MUR L4 (2 days) and two SLSTR L2 scenes (NaN: land, cloud, swath edge)."""
    return {
        "mur": _crop("sample_mur_socal.nc", "analysed_sst"),
        "med": _crop("sample_slstr_nw_med.nc", "sea_surface_skin_temperature"),
        "atl": _crop("sample_slstr_ne_atl_south.nc", "sea_surface_skin_temperature"),
    }


def _shuffled_tiles(crops: dict, stride: int) -> np.ndarray:
    """Real 64x64 tiles ``stride`` apart from all three crops, shuffled."""
    tiles = np.concatenate([
        cut_tiles_by_index(crops["mur"], 64, stride, min_valid=0.9),
        cut_tiles_by_index(crops["med"], 64, stride, min_valid=0.9),
        cut_tiles_by_index(crops["atl"], 64, stride, min_valid=0.6),
    ])
    return tiles[np.random.default_rng(0).permutation(len(tiles))]


@pytest.fixture(scope="module")
def real_tiles(crops) -> np.ndarray:
    """292 real 64x64 tiles (stride 16) from all three crops, shuffled."""
    return _shuffled_tiles(crops, 16)


@pytest.fixture(scope="module")
def dense_tiles(crops) -> np.ndarray:
    """1079 real 64x64 tiles (stride 8) from all three crops, shuffled: enough for stable Fréchet distances."""
    return _shuffled_tiles(crops, 8)


@pytest.fixture(scope="module")
def distinct_tiles(crops) -> np.ndarray:
    """70 distinct real tiles: one MUR day and both SLSTR crops, windows overlapping by half at most."""
    return np.concatenate([cut_tiles_by_index(img, 64, 32, min_valid=0.6) for img in (crops["mur"][:1], crops["med"], crops["atl"])])


def blur(tiles: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of each tile, gaps left out (normalised convolution) and kept as NaN."""
    valid = np.isfinite(tiles)
    filled = gaussian_filter(np.where(valid, tiles, 0.0).astype("float64"), (0, sigma, sigma))
    weight = gaussian_filter(valid.astype("float64"), (0, sigma, sigma))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, filled / weight, np.nan)


# --------------------------------------------------------------------------- SSIM


def test_ssim_matches_scikit_image_on_gap_free_tiles(crops):
    skimage_metrics = pytest.importorskip("skimage.metrics")
    truth = np.concatenate([cut_tiles_by_index(crops["mur"], 64, 32, min_valid=1.0)[:6], synthetic_sst(64, 128, land=False).values.reshape(64, 2, 64).transpose(1, 0, 2)])
    rng = np.random.default_rng(1)
    pred = blur(truth, 1.5) + 0.05 * rng.standard_normal(truth.shape)
    ours = ssim_tiles(pred, truth)
    fixed = ssim_tiles(pred, truth, data_range=3.0)
    for i in range(len(truth)):
        a, b = pred[i].astype("float64"), truth[i].astype("float64")
        expected = skimage_metrics.structural_similarity(a, b, win_size=7, gaussian_weights=False, data_range=float(b.max() - b.min()))
        assert ours[i] == pytest.approx(expected, abs=1e-9)
        assert metrics.ssim(a, b) == pytest.approx(expected, abs=1e-9)
        assert fixed[i] == pytest.approx(skimage_metrics.structural_similarity(a, b, win_size=7, gaussian_weights=False, data_range=3.0), abs=1e-9)
        # sstfill's scipy map (used when scikit-image is missing) is scikit-image's map
        _, full = skimage_metrics.structural_similarity(a, b, win_size=7, gaussian_weights=False, data_range=3.0, full=True)
        np.testing.assert_allclose(metrics.ssim_map(a, b, 3.0, 7), full, atol=1e-9)
    assert 0.3 < ours.min() and ours.max() < 0.999  # blurred and noisy: clearly below 1


def test_ssim_identical_is_one_and_gaps_are_left_out(real_tiles, monkeypatch):
    tiles = real_tiles[:20]
    assert np.isnan(tiles).any()
    np.testing.assert_allclose(ssim_tiles(tiles, tiles), 1.0, atol=1e-12)
    # errors hidden where the truth has a gap do not count; errors where it is observed do
    gaps = np.isnan(tiles)
    pred = np.where(gaps, 400.0, tiles)
    np.testing.assert_allclose(ssim_tiles(pred, tiles), 1.0, atol=1e-12)
    noisy = tiles + 0.3 * np.random.default_rng(0).standard_normal(tiles.shape)
    scores = ssim_tiles(noisy, tiles)
    assert np.all(np.isfinite(scores)) and scores.max() < 0.95
    # the same numbers as metrics.ssim tile by tile (scikit-image's map there, scipy's here)
    np.testing.assert_allclose(scores, [metrics.ssim(noisy[i], tiles[i]) for i in range(len(tiles))], atol=1e-12)
    empty = np.full((1, 64, 64), np.nan)
    assert np.isnan(ssim_tiles(empty, empty)[0])
    # without scikit-image, sstfill's own map gives the same numbers
    monkeypatch.setitem(sys.modules, "skimage.metrics", None)
    assert quality._ssim_map_function() is metrics.ssim_map
    np.testing.assert_allclose(ssim_tiles(noisy, tiles), scores, atol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        ssim_tiles(tiles[:2], tiles[:3])


def test_ssim_falls_with_smoothing(real_tiles):
    tiles = real_tiles[:40]
    mild, heavy = ssim_tiles(blur(tiles, 1.0), tiles), ssim_tiles(blur(tiles, 4.0), tiles)
    assert np.nanmean(heavy) < np.nanmean(mild) < 1.0
    assert np.mean(heavy < mild) > 0.9


# --------------------------------------------------------------------------- the encoder


def test_shipped_encoder_file_version_and_record():
    path = DATA / "quality_encoder_v1.npz"
    assert path.is_file() and path.stat().st_size < 1e6
    with resources.as_file(path) as file:
        with np.load(file, allow_pickle=False) as npz:  # plain arrays only
            assert not any(npz[k].dtype.hasobject for k in npz.files)
        assert not any(name.endswith(".pkl") for name in zipfile.ZipFile(file).namelist())
    enc = load_encoder("v1")
    assert enc.version == ENCODER_VERSION == "sst-encoder/1" and enc.n_features == 33
    assert enc.config["features"]["n_components"] == 32 and enc.config["features"]["explained_variance"] > 0.8
    training = enc.config["training"]
    assert training["command"].startswith("python examples/train_quality_encoder.py")
    assert sum(v["train"] for v in training["tiles"].values()) > 5000
    assert 0 < training["final_val_loss"] < 0.5 and training["tiles_seen"] > 10_000
    json.dumps(enc.config)
    assert load_encoder() is enc  # read once
    with pytest.raises(ValueError, match="v1"):
        load_encoder("v0")


def test_features_are_deterministic_and_see_the_amplitude(real_tiles):
    tiles = real_tiles[:64]
    first = encode_tiles(tiles)
    assert first.shape == (64, 33) and np.isfinite(first).all()
    np.testing.assert_array_equal(first, encode_tiles(tiles))
    np.testing.assert_allclose(first, encode_tiles(tiles, batch=7), atol=1e-5)
    # an offset changes nothing; doubling the amplitude moves only the last feature, by log10(2)
    mean = np.nanmean(tiles, axis=(1, 2), keepdims=True)
    doubled = encode_tiles(mean + 2 * (tiles - mean) + 3.0)
    np.testing.assert_allclose(doubled[:, :-1], first[:, :-1], atol=1e-4)
    np.testing.assert_allclose((doubled[:, -1] - first[:, -1]) * load_encoder().amplitude_scale, np.log10(2), atol=1e-6)
    # held-out real tiles land near the training distribution (features centred there, unit mean variance)
    assert np.abs(first.mean(axis=0)).max() < 3 and 0.2 < first.var(axis=0).mean() < 5
    with pytest.raises(ValueError, match="no finite pixel"):
        encode_tiles(np.full((2, 64, 64), np.nan))
    with pytest.raises(ValueError, match="64x64"):
        encode_tiles(np.zeros((2, 32, 32)))


# --------------------------------------------------------------------------- Fréchet distance


def test_frechet_distance_closed_form():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)) @ rng.normal(size=(8, 8))
    x -= x.mean(axis=0)
    trace = np.trace(np.cov(x, rowvar=False))
    assert frechet_distance_from_features(x, x) < 1e-9 * trace
    # x centred, y = 2 x + 1: |1|**2 d + tr(C) + tr(4 C) - 2 tr(2 C) = d + tr(C), for any C
    assert frechet_distance_from_features(x, 2 * x + 1) == pytest.approx(8 + trace, rel=1e-8)
    with pytest.raises(ValueError, match="more samples than features"):
        frechet_distance_from_features(x[:8], x)


def test_frechet_distance_identical_halves_and_smoothed(dense_tiles, crops):
    a, b = dense_tiles[0::2], dense_tiles[1::2]  # 540 and 539 tiles
    assert frechet_distance(a[:150], a[:150]) < 1e-6 * np.trace(np.cov(encode_tiles(a[:150]), rowvar=False))
    features = encode_tiles(a)
    halves = frechet_distance_from_features(features, encode_tiles(b))
    mild, heavy = (frechet_distance_from_features(features, encode_tiles(blur(b, sigma))) for sigma in (1.0, 4.0))
    assert halves < mild < heavy
    assert heavy > 4 * halves  # measured: halves 1.5, sigma 1: 2.6, sigma 3: 7.1
    # another product is further still: MUR L4 (a smooth analysis) on consecutive days, against SLSTR L2 (skin SST, noisy)
    day9, day10 = (cut_tiles_by_index(crops["mur"][[t]], 64, 16, min_valid=0.9) for t in (0, 1))
    slstr = np.concatenate([cut_tiles_by_index(crops[k], 64, 16, min_valid=0.6) for k in ("med", "atl")])
    day9_features = encode_tiles(day9)
    between_days = frechet_distance_from_features(day9_features, encode_tiles(day10))
    assert frechet_distance_from_features(day9_features, encode_tiles(slstr)) > 5 * between_days  # measured: 59 and 4.5
    with pytest.raises(ValueError, match="more samples than features"):
        frechet_distance(a[:30], b[:30])


# --------------------------------------------------------------------------- birthday test


def test_pairwise_mse_matches_direct_computation(real_tiles):
    tiles = real_tiles[:12].astype("float64")
    assert np.isnan(tiles).any()
    for normalise in (True, False):
        got = pairwise_mse(tiles, normalise=normalise)
        for i in range(len(tiles)):
            for j in range(len(tiles)):
                if i == j:
                    assert got[i, j] == np.inf
                    continue
                common = np.isfinite(tiles[i]) & np.isfinite(tiles[j])  # both tiles' statistics over the common pixels
                ti, tj = tiles[i][common] - tiles[i][common].mean(), tiles[j][common] - tiles[j][common].mean()
                if normalise:
                    ti, tj = ti / max(ti.std(), 0.01), tj / max(tj.std(), 0.01)
                assert got[i, j] == pytest.approx(np.mean((ti - tj) ** 2), rel=1e-9, abs=1e-12)


def test_birthday_test_flags_copies_not_distinct_real_tiles(distinct_tiles):
    real = distinct_tiles
    result = birthday_test(real)
    assert not result.has_duplicates and result.support_is_lower_bound
    assert result.sample_size == 70 and result.support_estimate == 4900
    assert result.mse.min() > 0.2 and np.all(np.diff(result.mse) >= 0)  # distinct real tiles: correlation below 0.9
    assert not birthday_test(real, normalise=False).has_duplicates
    # three copies: warmer, with sensor-like noise, or with a cloud
    rng = np.random.default_rng(0)
    copies = np.stack([real[5] + 0.7, real[20] + 0.03 * rng.standard_normal((64, 64)), np.where(np.arange(64)[:, None] < 20, np.nan, real[40])])
    stack = np.concatenate([real, copies])
    result = birthday_test(stack, n_pairs=10)
    assert result.n_duplicates == 3 and result.has_duplicates and not result.support_is_lower_bound
    assert sorted(map(tuple, result.pairs[:3].tolist())) == [(5, 70), (20, 71), (40, 72)]
    assert result.support_estimate == 73**2 and "3 near-duplicate" in result.summary()
    # a threshold from distinct real tiles: half their closest pair, and the copies are below it
    with pytest.warns(UserWarning, match="at least as large as the sample"):  # 70 reference tiles for 73 samples
        derived = birthday_test(stack, reference=real)
    assert derived.threshold_source == "reference" and derived.threshold == pytest.approx(0.5 * pairwise_mse(real).min())
    assert derived.n_duplicates == 3
    assert birthday_test(stack, threshold=1e-10).n_duplicates == 2  # the warmer and the clouded copies are exact


def test_birthday_test_scales_to_thousands_of_tiles():
    tiles = np.random.default_rng(0).normal(size=(1000, 64, 64)).astype("float32")
    tiles[934] = tiles[17]
    result = birthday_test(tiles, n_pairs=5)
    assert result.pairs[0].tolist() == [17, 934] and result.mse[0] == 0 and result.n_duplicates == 1


def test_plot_closest_pairs(distinct_tiles, tmp_path):
    import matplotlib.pyplot as plt

    from sstfill.plot.quality import plot_closest_pairs

    stack = np.concatenate([distinct_tiles, distinct_tiles[[3]] + 0.2])
    result = birthday_test(stack)
    before = plt.get_fignums()
    fig = plot_closest_pairs(stack, result, n=5)
    assert plt.get_fignums() == before  # not registered with pyplot
    assert len(fig.axes) == 11  # 5 pairs x 2 tiles + colour bar
    titles = [ax.get_title() for ax in fig.axes[:5]]
    assert titles[0].startswith("#3 & #70") and "duplicate" in titles[0] and "duplicate" not in titles[1]
    assert "support about S**2" in fig._suptitle.get_text()
    fig.savefig(tmp_path / "pairs.png")
    assert (tmp_path / "pairs.png").stat().st_size > 5000
    with pytest.raises(ValueError, match="the test ran on"):
        plot_closest_pairs(stack[:10], result)


def test_cli_quality_compares_a_field_with_itself_a_blur_and_copies(tmp_path, capsys):
    """``sstfill quality``: the same field scores SSIM 1 and FD 0; a blurred one less and more; a field of copies has near-duplicates."""
    import re

    import xarray as xr
    from scipy.ndimage import gaussian_filter

    from sstfill.cli import main
    from sstfill.testing import synthetic_sst

    truth = synthetic_sst(256, 256, nt=3, land=False, seed=6)
    truth.to_dataset().to_netcdf(tmp_path / "truth.nc")
    blurred = truth.copy(data=gaussian_filter(truth.values, sigma=(0, 3, 3)))
    blurred.to_dataset().to_netcdf(tmp_path / "blurred.nc")
    tile = truth.values[0, :64, :64]
    copies = truth.copy(data=np.tile(tile, (3, 4, 4)))
    copies.to_dataset().to_netcdf(tmp_path / "copies.nc")

    def run(*args: str) -> str:
        assert main(["quality", *args]) == 0
        return capsys.readouterr().out

    same = run(str(tmp_path / "truth.nc"), str(tmp_path / "truth.nc"))
    assert "tiles compared: 48 of 64x64" in same and "SSIM: mean 1.0000" in same
    assert float(re.search(r"Frechet distance \(sst-encoder/1 features\): ([\d.e+-]+)", same)[1]) < 1e-6
    blur = run(str(tmp_path / "truth.nc"), str(tmp_path / "blurred.nc"), "--plot", str(tmp_path / "pairs.png"))
    assert float(re.search(r"SSIM: mean ([\d.]+)", blur)[1]) < 0.99
    assert float(re.search(r"Frechet distance \(sst-encoder/1 features\): ([\d.]+)", blur)[1]) > 0.1
    assert (tmp_path / "pairs.png").stat().st_size > 0
    dup = run(str(tmp_path / "truth.nc"), str(tmp_path / "copies.nc"))
    line = next(x for x in dup.splitlines() if x.startswith("birthday test on the candidate"))
    assert re.search(r"(\d+) near-duplicate pair", line) and int(re.search(r"(\d+) near-duplicate pair", line)[1]) >= 1, line
    assert main(["quality", str(tmp_path / "truth.nc"), str(tmp_path / "truth.nc"), "--max-tiles", "1"]) == 2
    xr.Dataset({"sst": truth.isel(lat=slice(0, 128))}).to_netcdf(tmp_path / "small.nc")
    assert main(["quality", str(tmp_path / "truth.nc"), str(tmp_path / "small.nc")]) == 2
    assert "not on one grid" in capsys.readouterr().err


def test_cli_quality_converts_kelvin_and_celsius_and_refuses_other_steps_or_places(tmp_path, capsys):
    """A candidate in degC against a reference in kelvin is the same field (SSIM 1, not ~0.1); other days, another grid or other units are refused."""
    import re

    import pandas as pd

    from sstfill.cli import main
    from sstfill.testing import synthetic_sst

    truth = synthetic_sst(128, 128, nt=2, land=False, seed=6)
    truth.to_dataset().to_netcdf(tmp_path / "kelvin.nc")
    celsius = (truth - 273.15).rename(truth.name)
    celsius.attrs = dict(truth.attrs, units="degC")
    celsius.to_dataset().to_netcdf(tmp_path / "celsius.nc")
    assert main(["quality", str(tmp_path / "kelvin.nc"), str(tmp_path / "celsius.nc")]) == 0
    assert float(re.search(r"SSIM: mean ([\d.]+)", capsys.readouterr().out)[1]) > 0.9999
    other = {
        "days.nc": (truth.assign_coords(time=truth.time + pd.Timedelta("30D")), "other 'time' coordinates"),
        "east.nc": (truth.assign_coords(lon=truth.lon + 10), "other 'lon' coordinates"),
        "flipped.nc": (truth.isel(lat=slice(None, None, -1)), "other 'lat' coordinates"),
        "metres.nc": (truth.assign_attrs(units="m"), "convert one of them first"),
    }
    for name, (field, message) in other.items():
        field.to_dataset().to_netcdf(tmp_path / name)
        assert main(["quality", str(tmp_path / "kelvin.nc"), str(tmp_path / name)]) == 2, name
        assert message in capsys.readouterr().err, name
