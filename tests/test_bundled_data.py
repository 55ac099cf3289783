"""The small real data files shipped in sstfill/data (made by examples/make_bundled_data.py).

Fast, and never touches the shared data folder.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    try:
        from importlib.resources import as_file, files

        with as_file(files("sstfill") / "data") as p:
            p = Path(p)
            if p.is_dir():
                return p
    except Exception:  # package not importable yet: use the source tree
        pass
    return REPO / "sstfill" / "data"


DATA = _data_dir()
MASK_FILES = ("cloud_masks_train.npz", "cloud_masks_heldout.npz")
SAMPLES = ("sample_mur_socal.nc", "sample_slstr_nw_med.nc", "sample_slstr_ne_atl_south.nc", "sample_ersst_pacific.nc")


def _unpack(path: Path):
    with np.load(path) as d:
        shape = tuple(int(s) for s in d["shape"])
        masks = np.unpackbits(d["packed"], count=int(np.prod(shape))).reshape(shape).astype(bool)
        return masks, {k: d[k] for k in d.files}


@pytest.fixture(scope="module")
def libs():
    out = {name: _unpack(DATA / name) for name in MASK_FILES}
    if (DATA / "cloud_masks_heldout_128.npz").exists():
        out["cloud_masks_heldout_128.npz"] = _unpack(DATA / "cloud_masks_heldout_128.npz")
    return out


def test_files_present_and_small():
    for name in MASK_FILES + SAMPLES + ("README.md",):
        assert (DATA / name).is_file(), name
    models = ("default_model.npz", "fast_model.npz", "context_model.npz", "latent_model.npz")
    data = sum(p.stat().st_size for p in DATA.iterdir() if p.is_file() and p.name not in models)
    assert data < 1.5e6
    assert (DATA / "default_model.npz").stat().st_size < 5e6  # the weights: a few MB at most
    assert (DATA / "context_model.npz").stat().st_size < 5e6
    assert (DATA / "latent_model.npz").stat().st_size < 5e6  # bundled only because it is small (issue 17)
    assert (DATA / "fast_model.npz").stat().st_size < 1e6
    assert sum((DATA / n).stat().st_size for n in MASK_FILES) < 400e3


@pytest.mark.parametrize("name,size,nmin,nmax", [
    ("cloud_masks_train.npz", 64, 500, 2000),
    ("cloud_masks_heldout.npz", 64, 100, 600),
    ("cloud_masks_heldout_128.npz", 128, 60, 1000),
])
def test_mask_library(libs, name, size, nmin, nmax):
    if name not in libs:
        pytest.skip(f"{name} not bundled")
    masks, d = libs[name]
    assert masks.dtype == bool and masks.shape[1:] == (size, size)
    assert nmin <= len(masks) <= nmax
    assert d["packed"].dtype == np.uint8
    # the documented 2-D unpacking gives the same masks as the flat one
    n, h, w = (int(s) for s in d["shape"])
    again = np.unpackbits(d["packed"], axis=1)[:, : h * w].reshape(n, h, w).astype(bool)
    assert np.array_equal(again, masks)
    cf = masks.reshape(len(masks), -1).mean(1)
    assert np.allclose(cf, d["cloud_fraction"], atol=1e-6)
    assert cf.min() >= 0.05 and cf.max() <= 0.95
    # spread over fractions: masks below and above one half
    assert (cf < 0.5).sum() >= 5 and (cf > 0.5).sum() >= 5
    src = str(d["source"])
    assert "Sentinel-3" in src and "SLSTR" in src and "EUMETSAT" in src
    assert d["origin"].shape == (len(masks), 3)


def test_train_and_heldout_masks_differ(libs):
    (train, dt), (held, dh) = libs["cloud_masks_train.npz"], libs["cloud_masks_heldout.npz"]
    assert str(dt["split"]) == "train" and str(dh["split"]) == "heldout"
    tb = {m.tobytes() for m in np.packbits(train.reshape(len(train), -1), axis=1)}
    hb = {m.tobytes() for m in np.packbits(held.reshape(len(held), -1), axis=1)}
    assert not (tb & hb)
    # no held-out scene in the train library, no train-only scene in the held-out ones
    scenes = [str(s) for s in dt["scenes"]]
    used_train = {scenes[k] for k in dt["origin"][:, 0]}
    assert "slstr_l2_nw_med.nc" not in used_train
    for name, (m, d) in libs.items():
        if name == "cloud_masks_train.npz":
            continue
        used = {str(d["scenes"][k]) for k in d["origin"][:, 0]}
        assert "slstr_l2_norwegian_sea.nc" not in used
    # NE Atlantic: train windows end above the first held-out row, held-out ones start on or below it
    k_atl = scenes.index("slstr_l2_ne_atl.nc")
    t_rows = dt["origin"][dt["origin"][:, 0] == k_atl, 1] + train.shape[1]
    h_rows = dh["origin"][dh["origin"][:, 0] == k_atl, 1]
    assert t_rows.max() <= h_rows.min()


def _open(name):
    return xr.open_dataset(DATA / name)


def test_sample_mur_socal():
    with _open("sample_mur_socal.nc") as ds:
        da = ds["analysed_sst"]
        assert da.dims == ("time", "lat", "lon")
        assert da.shape[0] == 2 and 160 <= da.shape[1] <= 224 and 224 <= da.shape[2] <= 288
        assert da.dtype == np.float32
        assert da.encoding.get("zlib")
        assert da.attrs["units"] == "kelvin"
        assert da.attrs["standard_name"] == "sea_surface_foundation_temperature"
        lat, lon = ds["lat"].values, ds["lon"].values
        assert np.all(np.diff(lat) > 0) and np.all(np.diff(lon) > 0)
        assert 31 <= lat.min() and lat.max() <= 35.02 and -123 <= lon.min() and lon.max() <= -117
        assert np.allclose(np.diff(lat), 0.01, atol=1e-4)
        days = [str(t)[:10] for t in ds["time"].values]
        assert days == ["2021-01-09", "2021-01-10"]  # held-out days only
        v = da.values
        land = np.isnan(v).all(0)
        assert np.array_equal(np.isnan(v[0]), np.isnan(v[1]))  # L4: only land is missing
        assert 0.02 < land.mean() < 0.5  # has coastline
        assert 280 < np.nanmin(v) and np.nanmax(v) < 300
        text = " ".join(str(x) for x in ds.attrs.values())
        for word in ("MUR", "MEaSUREs", "PO.DAAC", "subset by sstfill"):
            assert word in text, word


def test_sample_ersst_pacific():
    with _open("sample_ersst_pacific.nc") as ds:
        da = ds["sst"]
        assert da.dims == ("time", "lat", "lon") and da.shape == (48, 64, 70)  # tiles of 64 fit: it can be adapted to
        assert da.attrs["units"] == "degC" and da.encoding.get("zlib")
        months = ds["time"].dt.month.values
        assert (np.bincount(months)[1:] == 4).all()  # every calendar month in 4 years: a climatology is used
        lat, lon = ds["lat"].values, ds["lon"].values
        assert np.allclose(np.abs(np.diff(lat)), 2) and np.allclose(np.diff(lon), 2)
        v = da.values
        land = np.isnan(v).all(0)
        assert np.array_equal(np.isnan(v), np.broadcast_to(land, v.shape))  # an analysis: only land is missing
        assert 0.05 < land.mean() < 0.3
        assert -2.5 < np.nanmin(v) and np.nanmax(v) < 33
        text = " ".join(str(x) for x in ds.attrs.values())
        for word in ("ERSST", "NOAA", "Huang"):
            assert word in text, word


@pytest.mark.parametrize("name,lat_range,lon_range", [
    ("sample_slstr_nw_med.nc", (35.3, 44.1), (5.0, 9.0)),
    ("sample_slstr_ne_atl_south.nc", (42.5, 48.35), (-26.5, 5.8)),  # held-out rows: lat <= 48.344
])
def test_sample_slstr(name, lat_range, lon_range):
    with _open(name) as ds:
        da = ds["sea_surface_skin_temperature"]
        assert da.dims == ("time", "lat", "lon")
        assert da.shape == (1, 256, 256)
        assert da.dtype == np.float32 and da.encoding.get("zlib")
        assert da.attrs["units"] == "kelvin"
        assert da.attrs["standard_name"] == "sea_surface_skin_temperature"
        lat, lon = ds["lat"].values, ds["lon"].values
        assert np.all(np.diff(lat) < 0) and np.all(np.diff(lon) > 0)  # source orientation: north up
        assert lat_range[0] <= lat.min() and lat.max() <= lat_range[1]
        assert lon_range[0] <= lon.min() and lon.max() <= lon_range[1]
        v = da.values[0]
        obs = np.isfinite(v)
        assert 0.2 < obs.mean() < 0.9  # real gaps and real clear ocean
        assert 270 < np.nanmin(v) and np.nanmax(v) < 310
        text = " ".join(str(x) for x in ds.attrs.values())
        for word in ("Copernicus", "Sentinel-3", "SLSTR", "EUMETSAT", "MIT", "subset by sstfill"):
            assert word in text, word
        assert ds.attrs["sstfill_split"] == "heldout"


def test_readme_documents_files_and_command():
    text = (DATA / "README.md").read_text()
    assert "python examples/make_bundled_data.py" in text
    for name in MASK_FILES + SAMPLES:
        assert name in text
    for word in ("PO.DAAC", "MEaSUREs", "Copernicus", "EUMETSAT", "MIT"):
        assert word in text


def test_split_constants():
    """The fixed split the bundled data and models were made with (benchmarks/split.py, its one home)."""
    split = pytest.importorskip("benchmarks.split", reason="source tree not available")
    assert tuple(split.MUR_SOCAL_TRAIN_STEPS) == tuple(range(8))
    assert tuple(split.MUR_SOCAL_HELDOUT_STEPS) == (8, 9)
    assert tuple(split.MUR_ARABIAN_TRAIN_STEPS) == (0, 1, 2, 3)
    assert tuple(split.MUR_ARABIAN_HELDOUT_STEPS) == (4, 5)
    assert split.ne_atl_split_row(2317) == 1738
    assert split.SLSTR_NW_MED_FILE == "slstr_l2_nw_med.nc"


def test_package_loader_reads_libraries(libs):
    """If sstfill.kernels.holes.cloud_library exists, it must read the same masks."""
    try:
        from sstfill.kernels.holes import cloud_library
    except Exception:
        pytest.skip("sstfill.kernels.holes.cloud_library not available")
    for which in ("train", "heldout"):
        masks, fractions = cloud_library(which)
        ref, d = libs[f"cloud_masks_{which}.npz"]
        assert np.array_equal(masks, ref)
        assert np.allclose(fractions, d["cloud_fraction"])
