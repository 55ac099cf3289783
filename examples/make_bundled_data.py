#!/usr/bin/env python
"""Build the small real-data files shipped inside the package (``sstfill/data/``).

The package must install, test and run its demo without the large shared data
folder, so this script cuts small, real pieces out of it:

* ``cloud_masks_train.npz`` / ``cloud_masks_heldout.npz``: libraries of real
  64x64 cloud shapes (True = cloud) cut from Sentinel-3 SLSTR L2 scenes;
* ``cloud_masks_heldout_128.npz``: 128x128 held-out cloud shapes for the
  larger evaluation windows;
* ``sample_mur_socal.nc``: a crop of MUR L4 SST on the held-out days;
* ``sample_slstr_nw_med.nc``: a crop of the held-out NW Mediterranean SLSTR scene;
* ``sample_slstr_ne_atl_south.nc``: a crop of the held-out southern NE Atlantic
  rows, which (unlike the nearly cloud-free NW Med scene) has real clouds.

Usage (from the repository root)::

    python examples/make_bundled_data.py --shared ../shared/data

The train / held-out split is fixed; it lives in ``benchmarks/split.py``, which the
benchmarks and ``examples/train_default_model.py`` read too.

How a cloud mask is cut
-----------------------
An SLSTR L2 pixel is missing when it is cloud, low quality (QL < 4), land or
outside the swath. Masks are only cut from windows that

1. contain no land (``global_land_mask.globe.is_land`` on the pixel grid), and
2. lie entirely inside the swath.

"Inside the swath" is the convex hull of the scene's observed pixels, after
dropping clear patches smaller than ``MIN_CLEAR_PATCH`` pixels (8-connected) so
that a few stray pixels cannot stretch it. A stricter rule (inside only where a
row *and* a column have observed pixels on both sides) leaves just 9 held-out
64x64 windows and 1 held-out 128x128 window, because the held-out southern NE
Atlantic is mostly cloud up to the swath edge; the hull still excludes missing
area beyond the outermost observed pixels. Inside such windows every missing
pixel is taken as cloud (or low quality, which is fine for a gap mask).

Windows are taken on a regular stride, kept if the cloud fraction is in
[CF_MIN, CF_MAX], and spread over fractions by capping the number per 0.1-wide
fraction bin (random, seeded subsample within a bin).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "sstfill" / "data"
if str(REPO) not in sys.path:  # run as a script from a source checkout: make `benchmarks` importable
    sys.path.insert(0, str(REPO))

# the fixed train / held-out split and the scene helpers: one home, shared with the benchmarks
# and examples/train_default_model.py (do not change the split: the bundled models depend on it)
from benchmarks.split import (  # noqa: E402
    DEFAULT_SHARED,
    MIN_CLEAR_PATCH,
    MUR_SOCAL_FILE,
    MUR_SOCAL_HELDOUT_STEPS,
    MUR_VAR,
    SLSTR_NE_ATL_FILE,
    SLSTR_NORWEGIAN_FILE,
    SLSTR_NW_MED_FILE,
    SLSTR_VAR,
    land_mask,
    ne_atl_split_row,
    shared_folder,
    swath_mask,
    window_sums,
)

# ---------------------------------------------------------------------------
# Mask-library settings
# ---------------------------------------------------------------------------
SEED = 0
CF_MIN, CF_MAX = 0.05, 0.95
CF_BIN_EDGES = np.round(np.arange(CF_MIN, CF_MAX + 1e-9, 0.1), 2)  # 9 bins 0.05..0.95
TRAIN_TILE, TRAIN_STRIDE, TRAIN_CAP_PER_BIN = 64, 32, 200
HELDOUT_TILE, HELDOUT_STRIDE, HELDOUT_CAP_PER_BIN = 64, 16, 60
HELDOUT128_TILE, HELDOUT128_STRIDE, HELDOUT128_CAP_PER_BIN = 128, 16, 40
HELDOUT128_MIN_COUNT = 60  # write the 128 library only if at least this many

# ---------------------------------------------------------------------------
# Sample crops (index ranges into the source arrays, chosen once by looking at
# land / cloud fractions; see the README in sstfill/data)
# ---------------------------------------------------------------------------
# MUR socal, held-out days: 192 x 256 px, Southern California Bight coast (~20 % land)
MUR_SAMPLE_ROWS = slice(160, 352)
MUR_SAMPLE_COLS = slice(256, 512)
# NW Med, 256 x 256: Provence and Cote d'Azur coast at the top, swath edge on the right
NW_MED_SAMPLE_ROWS = slice(48, 304)
NW_MED_SAMPLE_COLS = slice(0, 256)
# NE Atl held-out rows, 256 x 256 south-west of Brittany: real clouds, ~5 % land
NE_ATL_SAMPLE_ROWS = slice(1786, 2042)
NE_ATL_SAMPLE_COLS = slice(2144, 2400)

MUR_ATTRIBUTION = (
    "MUR L4 v4.1 global foundation SST, JPL MUR MEaSUREs Project, distributed by "
    "NASA JPL PO.DAAC (https://podaac.jpl.nasa.gov/MEaSUREs-MUR); free and open data. "
    "Cite: JPL MUR MEaSUREs Project. 2015. GHRSST Level 4 MUR Global Foundation Sea "
    "Surface Temperature Analysis (v4.1). PO.DAAC, CA, USA. doi:10.5067/GHGMR-4FJ04"
)
SLSTR_ATTRIBUTION = (
    "Contains modified Copernicus Sentinel-3 SLSTR data (SL_2_WST), as preprocessed "
    "in EUMETSAT's public sea-surface-temperature-applications training material (MIT licence)"
)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def load_slstr(path: Path):
    ds = xr.open_dataset(path)
    sst = ds[SLSTR_VAR].isel(time=0).values.astype(np.float32)
    lat = ds["lat"].values
    lon = ds["lon"].values
    return ds, sst, lat, lon


def scene_windows(valid, land, inside, size, stride, row_range):
    """(row0, col0, cloud_fraction) of clean windows with rows inside row_range."""
    n = size * size
    nland, r, c = window_sums(land, size, stride)
    nout, _, _ = window_sums(~inside, size, stride)
    nvalid, _, _ = window_sums(valid, size, stride)
    out = []
    lo, hi = row_range
    for i, r0 in enumerate(r):
        if r0 < lo or r0 + size > hi:
            continue
        for j, c0 in enumerate(c):
            if nland[i, j] or nout[i, j]:
                continue
            cf = 1.0 - nvalid[i, j] / n
            if CF_MIN <= cf <= CF_MAX:
                out.append((int(r0), int(c0), float(cf)))
    return out


def spread(cands, cap, rng):
    """Keep at most `cap` candidates per 0.1 cloud-fraction bin (seeded), stable order."""
    cf = np.array([x[-1] for x in cands])
    bins = np.clip(np.digitize(cf, CF_BIN_EDGES) - 1, 0, len(CF_BIN_EDGES) - 2)
    keep = []
    for b in range(len(CF_BIN_EDGES) - 1):
        idx = np.flatnonzero(bins == b)
        if idx.size > cap:
            idx = np.sort(rng.choice(idx, cap, replace=False))
        keep.extend(idx.tolist())
    return [cands[i] for i in sorted(keep)]


def save_masks(path: Path, masks: np.ndarray, origin: np.ndarray, scenes, source: str, meta: dict):
    n, h, w = masks.shape
    packed = np.packbits(masks.reshape(n, h * w), axis=1)
    cf = masks.reshape(n, -1).mean(1).astype(np.float32)
    np.savez_compressed(
        path,
        packed=packed,
        shape=np.array([n, h, w], np.int64),
        cloud_fraction=cf,
        source=np.array(source),
        scenes=np.array(scenes),
        origin=origin.astype(np.int32),
        **{k: np.array(v) for k, v in meta.items()},
    )


SCENE_MISSING_IN_SWATH: dict = {}  # filled by build_mask_libraries, used in the README


def build_mask_libraries(shared: Path, out_dir: Path) -> dict:
    rng = np.random.default_rng(SEED)
    scenes = [SLSTR_NE_ATL_FILE, SLSTR_NORWEGIAN_FILE, SLSTR_NW_MED_FILE]
    prepared = {}
    for k, name in enumerate(scenes):
        _, sst, lat, lon = load_slstr(shared / name)
        valid = np.isfinite(sst)
        land = land_mask(lat, lon)
        inside = swath_mask(valid)
        ny = sst.shape[0]
        if name == SLSTR_NE_ATL_FILE:
            split = ne_atl_split_row(ny)
            parts = {"train": (0, split), "heldout": (split, ny)}
        elif name == SLSTR_NORWEGIAN_FILE:
            parts = {"train": (0, ny)}
        else:
            parts = {"heldout": (0, ny)}
        prepared[name] = (k, valid, land, inside, parts)
        nonland_in = inside & ~land
        missing_in = float((nonland_in & ~valid).sum() / max(nonland_in.sum(), 1))
        SCENE_MISSING_IN_SWATH[name] = missing_in
        print(
            f"{name}: {sst.shape}, observed {valid.mean():.3f}, land {land.mean():.3f}, "
            f"missing inside swath (non-land) {missing_in:.3f}"
        )

    libs = {
        "train": ("train", TRAIN_TILE, TRAIN_STRIDE, TRAIN_CAP_PER_BIN, "cloud_masks_train.npz"),
        "heldout": ("heldout", HELDOUT_TILE, HELDOUT_STRIDE, HELDOUT_CAP_PER_BIN, "cloud_masks_heldout.npz"),
        "heldout_128": (
            "heldout", HELDOUT128_TILE, HELDOUT128_STRIDE, HELDOUT128_CAP_PER_BIN, "cloud_masks_heldout_128.npz"),
    }
    summary = {}
    for key, (part, size, stride, cap, fname) in libs.items():
        cands = []
        for name, (k, valid, land, inside, parts) in prepared.items():
            if part not in parts:
                continue
            for r0, c0, cf in scene_windows(valid, land, inside, size, stride, parts[part]):
                cands.append((k, r0, c0, cf))
        n_all = len(cands)
        cands = spread(cands, cap, rng)
        if key == "heldout_128" and len(cands) < HELDOUT128_MIN_COUNT:
            print(f"{fname}: only {len(cands)} masks (< {HELDOUT128_MIN_COUNT}), not written")
            (out_dir / fname).unlink(missing_ok=True)
            continue
        masks = np.stack([~prepared[scenes[k]][1][r0 : r0 + size, c0 : c0 + size] for k, r0, c0, _ in cands])
        origin = np.array([(k, r0, c0) for k, r0, c0, _ in cands])
        used = sorted({scenes[k] for k, *_ in cands})
        source = (
            f"Real cloud masks (True = cloud) of {size}x{size} px cut from Sentinel-3 SLSTR L2 WST "
            f"scenes ({', '.join(used)}; {part} part of the sstfill split), windows on a {stride}-px "
            f"stride, land-free, inside the swath, cloud fraction {CF_MIN}-{CF_MAX}. "
            + SLSTR_ATTRIBUTION
            + ". Made by examples/make_bundled_data.py."
        )
        meta = {
            "split": part,
            "stride": stride,
            "layout": "masks = np.unpackbits(packed, axis=1)[:, :h*w].reshape(shape).astype(bool); "
            "origin = (scene index into scenes, row0, col0) in the source array, north up",
        }
        save_masks(out_dir / fname, masks, origin, scenes, source, meta)
        cf = masks.reshape(len(masks), -1).mean(1)
        hist = np.histogram(cf, bins=CF_BIN_EDGES)[0]
        per_scene = {scenes[k]: int(sum(1 for x in cands if x[0] == k)) for k in range(len(scenes))}
        summary[fname] = dict(n=len(masks), candidates=n_all, hist=hist.tolist(), per_scene=per_scene,
                              size=(out_dir / fname).stat().st_size)
        print(f"{fname}: {len(masks)} masks (of {n_all} candidates), per scene {per_scene}")
        print(f"   cloud-fraction histogram, bins {CF_BIN_EDGES.tolist()}: {hist.tolist()}")
    return summary


# ---------------------------------------------------------------------------
# Sample crops
# ---------------------------------------------------------------------------
ENC = {"zlib": True, "complevel": 6, "shuffle": True, "dtype": "float32", "_FillValue": np.float32(np.nan)}


def _describe(name, da, land):
    v = da.values
    lat, lon = da["lat"].values, da["lon"].values
    miss = ~np.isfinite(v)
    print(
        f"{name}: shape {v.shape}, lat {lat.min():.4f}..{lat.max():.4f}, lon {lon.min():.4f}..{lon.max():.4f}, "
        f"land {land.mean():.3f}, missing non-land {(miss & ~land).mean():.3f}"
    )


def write_mur_sample(shared: Path, out_dir: Path):
    ds = xr.open_dataset(shared / MUR_SOCAL_FILE)
    sub = ds[[MUR_VAR]].isel(time=list(MUR_SOCAL_HELDOUT_STEPS), lat=MUR_SAMPLE_ROWS, lon=MUR_SAMPLE_COLS).load()
    da = sub[MUR_VAR].astype(np.float32)
    keep = ("long_name", "standard_name", "units", "comment", "source")
    da.attrs = {k: ds[MUR_VAR].attrs[k] for k in keep if k in ds[MUR_VAR].attrs}
    da.attrs.update(units="kelvin", standard_name="sea_surface_foundation_temperature",
                    long_name="analysed sea surface temperature")
    sub[MUR_VAR] = da
    for c in ("lat", "lon", "time"):
        sub[c].attrs = {k: v for k, v in ds[c].attrs.items() if k != "_FillValue"}
    land = np.isnan(da.values).all(0)
    sub.attrs = {
        "Conventions": "CF-1.8",
        "title": "MUR L4 SST, Southern California Bight crop (sstfill sample, held-out days)",
        "summary": "Real crop of the daily MUR L4 v4.1 foundation SST analysis (0.01 deg), "
        "2021-01-09 and 2021-01-10, the days held out from sstfill training. Land is NaN.",
        "institution": "Jet Propulsion Laboratory (data); crop made by the sstfill project",
        "source": ds.attrs.get("source", "MUR L4 v4.1"),
        "processing_level": "L4",
        "references": "http://podaac.jpl.nasa.gov/Multi-scale_Ultra-high_Resolution_MUR-SST",
        "acknowledgement": MUR_ATTRIBUTION,
        "license": "Free and open (NASA Earth science data policy); cite the JPL MUR MEaSUREs Project.",
        "history": f"subset by sstfill examples/make_bundled_data.py from {MUR_SOCAL_FILE}: "
        f"time steps {list(MUR_SOCAL_HELDOUT_STEPS)}, lat index {MUR_SAMPLE_ROWS.start}:{MUR_SAMPLE_ROWS.stop}, "
        f"lon index {MUR_SAMPLE_COLS.start}:{MUR_SAMPLE_COLS.stop}; float32, zlib",
        "sstfill_split": "heldout",
    }
    path = out_dir / "sample_mur_socal.nc"
    enc = {MUR_VAR: ENC, "lat": {"_FillValue": None}, "lon": {"_FillValue": None}}
    sub.to_netcdf(path, encoding=enc)
    _describe(path.name, da, np.broadcast_to(land, da.shape))
    return dict(path=path, land=float(land.mean()), lat=(float(sub.lat.min()), float(sub.lat.max())),
                lon=(float(sub.lon.min()), float(sub.lon.max())), shape=da.shape)


def write_slstr_sample(shared: Path, out_dir: Path, fname, rows, cols, out_name, title, summary, part_note):
    ds = xr.open_dataset(shared / fname)
    full_valid = np.isfinite(ds[SLSTR_VAR].isel(time=0).values)
    inside_full = swath_mask(full_valid)
    sub = ds[[SLSTR_VAR]].isel(lat=rows, lon=cols).load()
    da = sub[SLSTR_VAR].astype(np.float32)
    da.attrs = {
        "long_name": "SLSTR skin SST, quality level >= 4 (others set missing)",
        "standard_name": "sea_surface_skin_temperature",
        "units": "kelvin",
    }
    da.encoding = {}
    sub[SLSTR_VAR] = da
    sub["lat"].attrs = {"standard_name": "latitude", "units": "degrees_north"}
    sub["lon"].attrs = {"standard_name": "longitude", "units": "degrees_east"}
    land = land_mask(sub.lat.values, sub.lon.values)
    inside = inside_full[rows, cols]
    v = da.values[0]
    miss = ~np.isfinite(v)
    stats = dict(
        land=float(land.mean()),
        observed=float((~miss).mean()),
        outside_swath=float((~inside & ~land).mean()),
        cloud_in_swath=float((miss & inside & ~land).sum() / max((inside & ~land).sum(), 1)),
    )
    sub.attrs = {
        "Conventions": "CF-1.8",
        "title": title,
        "summary": summary + " Missing pixels are cloud, low quality (QL < 4), land or outside the swath; "
        "a land mask is not included (use global_land_mask).",
        "source": "Copernicus Sentinel-3 SLSTR SL_2_WST, gridded to about 0.01 degree",
        "institution": "EUMETSAT / Copernicus (data); crop made by the sstfill project",
        "acknowledgement": SLSTR_ATTRIBUTION,
        "license": "Copernicus Sentinel data terms (free, full and open); "
        "preprocessing from EUMETSAT training material, MIT licence",
        "history": f"subset by sstfill examples/make_bundled_data.py from {fname}: lat index "
        f"{rows.start}:{rows.stop}, lon index {cols.start}:{cols.stop}; float32, zlib",
        "sstfill_split": part_note,
        "land_fraction": stats["land"],
        "observed_fraction": stats["observed"],
        "outside_swath_fraction": stats["outside_swath"],
        "missing_inside_swath_fraction": stats["cloud_in_swath"],
    }
    path = out_dir / out_name
    enc = {SLSTR_VAR: ENC, "lat": {"_FillValue": None}, "lon": {"_FillValue": None}, "time": {"dtype": "int64"}}
    sub.to_netcdf(path, encoding=enc)
    lat, lon = sub.lat.values, sub.lon.values
    print(f"{out_name}: shape {da.shape}, lat {lat.min():.4f}..{lat.max():.4f}, lon {lon.min():.4f}..{lon.max():.4f}, "
          + ", ".join(f"{k} {x:.3f}" for k, x in stats.items()))
    return dict(path=path, shape=da.shape, lat=(float(lat.min()), float(lat.max())),
                lon=(float(lon.min()), float(lon.max())), **stats)


README_TEMPLATE = """# Bundled real data (`sstfill/data/`)

Small real crops shipped with the package so that installing, testing and running the demo
never needs the large shared data folder. Everything here is made by

```
python examples/make_bundled_data.py --shared ../shared/data
```

(run from the repository root; `--shared` defaults to `../shared/data` relative to the repo root).

## Train / held-out split

| source | train | held out |
|---|---|---|
| MUR L4 socal (`mur_l4_socal_2021-01.nc`) | days 1-8 (2021-01-01..08) | days 9-10 (2021-01-09, 2021-01-10) |
| MUR L4 Arabian Sea 0.1 deg (`mur_l4_arabian_sea_2023-08_0.1deg.nc`) | first 4 steps | last 2 steps |
| SLSTR L2 NE Atlantic (`slstr_l2_ne_atl.nc`) | rows with index < ceil(0.75 nlat) | southern rows, index >= ceil(0.75 nlat) (row {split_row} on, lat <= {split_lat:.3f} N) |
| SLSTR L2 Norwegian Sea | whole scene | - |
| SLSTR L2 NW Mediterranean (`slstr_l2_nw_med.nc`) | - | whole scene |

## Files

{file_table}

### Cloud-mask libraries (`cloud_masks_*.npz`)

Real cloud shapes (True = cloud), north up, cut from windows that contain no land
(`global_land_mask`) and lie entirely inside the swath (convex hull of the scene's observed
pixels, clear patches < {min_patch} px ignored); every missing pixel in such a window is cloud or
low quality. Windows on a regular stride, kept if the cloud fraction is in [{cf_min}, {cf_max}],
at most a fixed number per 0.1-wide fraction bin (seeded subsample) to spread the fractions.
Train masks come only from train scenes/rows, held-out masks only from held-out rows/scenes.
Missing fraction of in-swath sea pixels per scene: {scene_missing}. The NW Mediterranean scene
is almost cloud-free, so in practice every held-out mask comes from the southern NE Atlantic
rows, and the held-out 128x128 masks are mostly very cloudy (few below 50 %); for low cloud
fractions on 128x128 windows `benchmarks/cases.py` tiles 2x2 held-out 64x64 masks.

Keys: `packed` (uint8, `np.packbits(masks.reshape(n, h*w), axis=1)`), `shape` (`[n, h, w]`),
`cloud_fraction` (float32 per mask), `source` (text with attribution), `scenes` (source file
names), `origin` (`n x 3`: scene index, row0, col0 in the source array), `split`, `stride`, `layout`.

```python
d = np.load(path)
masks = np.unpackbits(d["packed"], axis=1)[:, : d["shape"][1] * d["shape"][2]].reshape(d["shape"]).astype(bool)
```

| library | masks | stride | cloud-fraction counts per bin {bins} |
|---|---|---|---|
{mask_table}

### Sample crops

{sample_table}

Fractions are of the crop's pixels: `land` (MUR: NaN on every day; SLSTR: `global_land_mask`),
`observed` (finite), `outside_swath` (sea outside the swath hull), `cloud_in_swath` (missing
fraction of the in-swath sea pixels: cloud or low quality). The MUR crop shows the mainland
coast of the Southern California Bight (MUR carries SST over the Channel Islands, so only the mainland is land); the
NW Med crop has the Provence and Cote d'Azur coast at the top and the swath edge on the right and almost
no cloud (real L2 truth to hide under transplanted clouds); the NE Atlantic crop, from the
held-out southern rows south-west of Brittany, has real clouds. Arrays keep the source
orientation (MUR latitude ascending, SLSTR latitude descending).

## Sources, licences, attribution

* **MUR**: JPL MUR MEaSUREs Project, GHRSST Level 4 MUR Global Foundation SST Analysis v4.1,
  distributed by NASA JPL PO.DAAC; free and open data. Please cite the JPL MUR MEaSUREs Project
  (doi:10.5067/GHGMR-4FJ04).
* **SLSTR**: contains modified Copernicus Sentinel-3 SLSTR data (SL_2_WST), as preprocessed in
  EUMETSAT's public sea-surface-temperature-applications training material (MIT licence).
  Copernicus Sentinel data are free, full and open.
"""


def write_readme(out_dir: Path, masks: dict, samples: dict, split_row: int, split_lat: float):
    rows = []
    for f in sorted(out_dir.iterdir()):
        if f.name == "README.md" or f.name.startswith("."):
            continue
        rows.append(f"| `{f.name}` | {f.stat().st_size / 1024:.0f} KiB |")
    file_table = "| file | size |\n|---|---|\n" + "\n".join(rows)
    strides = {"cloud_masks_train.npz": TRAIN_STRIDE, "cloud_masks_heldout.npz": HELDOUT_STRIDE,
               "cloud_masks_heldout_128.npz": HELDOUT128_STRIDE}
    def scenes_used(v):
        return ", ".join(f"{s}: {c}" for s, c in v["per_scene"].items() if c)

    mask_table = "\n".join(
        f"| `{k}` | {v['n']} ({scenes_used(v)}) | {strides[k]} | {v['hist']} |" for k, v in masks.items()
    )
    srows = ["| file | content | shape | lat | lon | fractions |", "|---|---|---|---|---|---|"]
    for name, s in samples.items():
        fr = ", ".join(f"{k} {s[k]:.2f}" for k in ("land", "observed", "outside_swath", "cloud_in_swath") if k in s)
        srows.append(f"| `{name}` | {s['what']} | {tuple(s['shape'])} | {s['lat'][0]:.3f}..{s['lat'][1]:.3f} | "
                     f"{s['lon'][0]:.3f}..{s['lon'][1]:.3f} | {fr} |")
    text = README_TEMPLATE.format(
        split_row=split_row, split_lat=split_lat, file_table=file_table, min_patch=MIN_CLEAR_PATCH,
        cf_min=CF_MIN, cf_max=CF_MAX, bins=CF_BIN_EDGES.tolist(), mask_table=mask_table,
        scene_missing=", ".join(f"{k} {100 * v:.1f} %" for k, v in SCENE_MISSING_IN_SWATH.items()),
        sample_table="\n".join(srows),
    )
    (out_dir / "README.md").write_text(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=shared_folder, default=str(DEFAULT_SHARED), help="shared data folder (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: %(default)s)")
    args = ap.parse_args(argv)
    shared, out_dir = args.shared.resolve(), args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    masks = build_mask_libraries(shared, out_dir)

    samples = {}
    s = write_mur_sample(shared, out_dir)
    s["what"] = "MUR L4 `analysed_sst` (K), 2021-01-09..10 (held out); land NaN"
    samples["sample_mur_socal.nc"] = s
    s = write_slstr_sample(
        shared, out_dir, SLSTR_NW_MED_FILE, NW_MED_SAMPLE_ROWS, NW_MED_SAMPLE_COLS, "sample_slstr_nw_med.nc",
        "Sentinel-3 SLSTR L2 skin SST, NW Mediterranean crop, 2024-05-10 (sstfill sample, held out)",
        "Real crop of the held-out NW Mediterranean SLSTR scene: clear ocean with eddies, the Provence and Cote d'Azur "
        "coast at the top and the swath edge on the right; the scene is nearly cloud-free, so it "
        "is real L2 truth onto which held-out cloud masks can be transplanted.",
        "heldout",
    )
    s["what"] = "SLSTR L2 skin SST (K), 2024-05-10, held out; nearly cloud-free, coast + swath edge"
    samples["sample_slstr_nw_med.nc"] = s
    s = write_slstr_sample(
        shared, out_dir, SLSTR_NE_ATL_FILE, NE_ATL_SAMPLE_ROWS, NE_ATL_SAMPLE_COLS, "sample_slstr_ne_atl_south.nc",
        "Sentinel-3 SLSTR L2 skin SST, NE Atlantic crop south-west of Brittany, 2023-04-20 (sstfill sample, held out)",
        "Real crop of the held-out southern rows of the NE Atlantic SLSTR scene, with real clouds.",
        "heldout",
    )
    s["what"] = "SLSTR L2 skin SST (K), 2023-04-20, held-out rows; real clouds"
    samples["sample_slstr_ne_atl_south.nc"] = s

    ds = xr.open_dataset(shared / SLSTR_NE_ATL_FILE)
    split_row = ne_atl_split_row(ds.sizes["lat"])
    write_readme(out_dir, masks, samples, split_row, float(ds["lat"].values[split_row]))

    total = 0
    for f in sorted(out_dir.iterdir()):
        total += f.stat().st_size
        print(f"{f.name:34s} {f.stat().st_size / 1024:8.1f} KiB")
    print(f"{'total':34s} {total / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()
