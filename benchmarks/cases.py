"""Held-out accuracy cases built from real data (the field's convention).

Take real observed pixels, hide them under a real cloud pattern from another place
or day, fill, and score the RMSE (degC) on the hidden pixels only.

* **MUR L4** (gap-free analysis; land is NaN on every day): held-out days of the
  socal and Arabian Sea series; windows of ``window`` px on a regular grid
  (stride = ``window``, from the array origin) with < 30 % land. Every ocean pixel
  is observed, so ``hidden`` = transplanted cloud over ocean.
* **SLSTR L2** (real, noisy, sharp; real gaps): the held-out southern rows of the
  NE Atlantic scene and the whole NW Mediterranean scene; windows that lie inside the
  swath, contain no land (``global_land_mask``) and are >= 70 % observed, taken
  greedily without overlap. Existing gaps stay gaps (never scored); ``hidden`` = the
  observed pixels that a transplanted cloud covers. Each SLSTR window is used once per
  cloud-fraction bin, because the held-out scenes have few such windows.

Transplanted clouds come from the bundled held-out libraries
(``sstfill/data/cloud_masks_heldout_128.npz`` first, else 2x2 tiles of
``cloud_masks_heldout.npz``), never from the training library; a mask cut from the
same place of the same scene as the truth window is never used on it. Cloud
fractions (hidden / ocean pixels) are spread over the bins 10-30 %, 30-60 % and
60-90 %. Everything is deterministic given ``seed``.

``load_heldout_stacks`` returns the full MUR time series (10 days socal, 6 days
Arabian Sea) with transplanted clouds on every day; on the held-out days, each case
window carries exactly the case's hidden mask, so a DINEOF run on the stack can be
scored per case through ``Case.stack_index`` (and only on held-out days).

The split and the scene helpers come from ``benchmarks/split.py`` (the split the bundled
data were cut with: ``examples/make_bundled_data.py`` imports it from there too).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` and `sstfill` importable
    sys.path.insert(0, str(REPO))

from benchmarks import split  # noqa: E402

KELVIN = 273.15
FRACTION_BINS = ((0.10, 0.30), (0.30, 0.60), (0.60, 0.90))
MUR_MAX_LAND = 0.30
SLSTR_MIN_OBSERVED = 0.70
SLSTR_CANDIDATE_STRIDE = 16
SLSTR_MAX_TOTAL_GAP = 0.95  # existing gaps + hidden, as a fraction of the window


def _data_path(name: str) -> Path:
    p = REPO / "sstfill" / "data" / name
    if p.exists():
        return p
    from importlib.resources import files  # installed package

    return Path(str(files("sstfill") / "data" / name))


@lru_cache(maxsize=4)
def _library(name: str):
    with np.load(_data_path(name)) as d:
        shape = tuple(int(s) for s in d["shape"])
        masks = np.unpackbits(d["packed"], count=int(np.prod(shape))).reshape(shape).astype(bool)
        origin = d["origin"].astype(int)
        scenes = [str(s) for s in d["scenes"]]
    return masks, origin, scenes


@dataclass
class Case:
    name: str
    source: str  # "mur_l4" | "slstr_l2"
    region: str  # "mur_socal" | "mur_arabian" | "slstr_ne_atl" | "slstr_nw_med"
    time: str  # ISO date of the truth field
    truth: np.ndarray  # float32 degC, NaN where not observed or land
    land: np.ndarray  # bool
    hidden: np.ndarray  # bool: real observed ocean pixels hidden by the transplanted cloud
    observed_input: np.ndarray  # truth with hidden set to NaN
    cloud_fraction: float  # hidden / ocean pixels
    lat: np.ndarray
    lon: np.ndarray
    row0: int  # window corner in the source array
    col0: int
    target_bin: tuple  # the cloud-fraction bin this case was drawn for
    gap_fraction: float  # all missing (existing gaps + hidden) / ocean pixels
    mask_info: str  # where the transplanted cloud came from
    stack_index: dict | None = None  # MUR only: where the case sits in load_heldout_stacks()
    set: str = "standard"  # "standard", or a case set of benchmarks/cases_extra.py
    tags: dict = field(default_factory=dict)  # set-specific labels that define its groups

    @property
    def ocean(self) -> np.ndarray:
        return ~self.land

    def rmse(self, filled) -> float:
        """RMSE (degC) of ``filled`` against the truth on the hidden pixels only."""
        d = np.asarray(filled, "float64")[self.hidden] - self.truth[self.hidden].astype("float64")
        return float(np.sqrt(np.mean(d**2)))


@dataclass
class Stack:
    name: str  # "mur_socal" | "mur_arabian"
    file: str
    time: np.ndarray  # datetime64
    lat: np.ndarray
    lon: np.ndarray
    truth: np.ndarray  # (t, y, x) float32 degC, NaN on land
    land: np.ndarray  # (y, x) bool
    hidden: np.ndarray  # (t, y, x) bool, transplanted clouds on every day
    observed_input: np.ndarray  # truth with hidden set to NaN
    heldout_steps: tuple  # time indices that are held out (score only these)
    score_mask: np.ndarray = field(repr=False)  # hidden & held-out day
    case_names: list = field(default_factory=list)


# ----------------------------------------------------------------------------- masks


def _overlaps(a0, a1, b0, b1):
    return a0 < b1 and b0 < a1


def _allowed(origin, scenes, size, exclude):
    """Library rows whose source window does not overlap ``exclude`` = (scene, r0, c0, h, w)."""
    ok = np.ones(len(origin), bool)
    if exclude is not None:
        scene, r0, c0, h, w = exclude
        for i, (k, mr, mc) in enumerate(origin):
            if scenes[k] == scene and _overlaps(mr, mr + size, r0, r0 + h) and _overlaps(mc, mc + size, c0, c0 + w):
                ok[i] = False
    return np.flatnonzero(ok)


def _pick_mask(shape, eligible, target, rng, exclude=None, used=None, tries=4000):
    """A real held-out cloud mask of ``shape`` whose fraction of ``eligible`` pixels is in ``target``.

    Tries the 128 library (cropped if the window is smaller; entries in ``used`` are
    skipped, and the chosen one is added), then 2x2 (or larger) tilings of the 64
    library; falls back to the closest fraction found.
    """
    used = set() if used is None else used
    h, w = shape
    lo, hi = target
    denom = max(int(eligible.sum()), 1)
    best = None

    def frac(m):
        return (m & eligible).sum() / denom

    try:
        m128, o128, s128 = _library("cloud_masks_heldout_128.npz")
    except FileNotFoundError:
        m128 = None
    if m128 is not None and h <= m128.shape[1] and w <= m128.shape[2]:
        for i in rng.permutation(_allowed(o128, s128, m128.shape[1], exclude)):
            if i in used:
                continue
            m = m128[i, :h, :w]
            f = frac(m)
            if lo <= f < hi:
                used.add(i)
                return m.copy(), f"heldout_128[{i}] {s128[o128[i][0]]} r{o128[i][1]} c{o128[i][2]}"
            if best is None or abs(f - (lo + hi) / 2) < best[0]:
                best = (abs(f - (lo + hi) / 2), m.copy(), f"heldout_128[{i}] (closest)")

    m64, o64, s64 = _library("cloud_masks_heldout.npz")
    t = m64.shape[1]
    ny, nx = -(-h // t), -(-w // t)
    pool = _allowed(o64, s64, t, exclude)
    f64 = m64.reshape(len(m64), -1).mean(1)
    for _ in range(tries):
        # draw tiles whose mean fraction is near the target to converge quickly
        centre = rng.uniform(lo, hi)
        p = np.exp(-0.5 * ((f64[pool] - centre) / 0.2) ** 2)
        idx = rng.choice(pool, ny * nx, p=p / p.sum())
        m = np.block([[m64[idx[a * nx + b]] for b in range(nx)] for a in range(ny)])[:h, :w]
        f = frac(m)
        if lo <= f < hi:
            return m, "heldout_64 tiles " + ",".join(str(i) for i in idx)
        if best is None or abs(f - (lo + hi) / 2) < best[0]:
            best = (abs(f - (lo + hi) / 2), m, "heldout_64 tiles (closest) " + ",".join(str(i) for i in idx))
    return best[1], best[2]


def _rng(seed, *keys):
    return np.random.default_rng([int(seed)] + [int(k) for k in keys])


# ----------------------------------------------------------------------------- MUR


def _mur_regions():
    s = split
    return [
        ("mur_socal", 0, s.MUR_SOCAL_FILE, tuple(s.MUR_SOCAL_HELDOUT_STEPS)),
        ("mur_arabian", 1, s.MUR_ARABIAN_FILE, tuple(s.MUR_ARABIAN_HELDOUT_STEPS)),
    ]


def _mur_build(shared: Path, window: int, seed: int):
    """(cases, stacks, used 128-mask ids) for the MUR regions, consistent with each other."""
    s = split
    cases, stacks = [], {}
    k_case = 0
    used = set()  # 128 masks already given to a case: each real cloud is used on one case at most
    for region, rid, fname, held in _mur_regions():
        ds = xr.open_dataset(shared / fname)
        sst = ds[s.MUR_VAR].values.astype(np.float32) - np.float32(KELVIN)
        nt, ny, nx = sst.shape
        land = np.isnan(sst).all(0)
        times = ds["time"].values
        lat, lon = ds["lat"].values, ds["lon"].values
        hidden = np.zeros(sst.shape, bool)
        names = []
        for t in range(nt):
            for r0 in range(0, ny, window):
                for c0 in range(0, nx, window):
                    blk = (slice(r0, r0 + window), slice(c0, c0 + window))
                    bl = land[blk]
                    full = bl.shape == (window, window)
                    is_case = t in held and full and bl.mean() < MUR_MAX_LAND
                    if is_case:
                        target = FRACTION_BINS[k_case % len(FRACTION_BINS)]
                    else:  # background cloud on other days / windows: any bin
                        target = FRACTION_BINS[_rng(seed, 7, rid, t, r0, c0).integers(len(FRACTION_BINS))]
                    if (~bl).sum() == 0:
                        continue
                    m, info = _pick_mask(bl.shape, ~bl, target, _rng(seed, rid, t, r0, c0),
                                         used=used if is_case else set(used))
                    hid = m & ~bl
                    hidden[(t,) + blk] = hid
                    if not is_case:
                        continue
                    k_case += 1
                    truth = sst[(t,) + blk].copy()
                    obs = truth.copy()
                    obs[hid] = np.nan
                    day = str(np.datetime_as_string(times[t], unit="D"))
                    name = f"{region}_day{int(day[-2:])}_r{r0}_c{c0}"
                    names.append(name)
                    cases.append(Case(
                        name=name, source="mur_l4", region=region, time=day, truth=truth, land=bl.copy(),
                        hidden=hid, observed_input=obs, cloud_fraction=float(hid.sum() / (~bl).sum()),
                        lat=lat[blk[0]].copy(), lon=lon[blk[1]].copy(), row0=r0, col0=c0, target_bin=target,
                        gap_fraction=float(hid.sum() / (~bl).sum()), mask_info=info,
                        stack_index={"stack": region, "file": fname, "t": t, "heldout_steps": held,
                                     "rows": (r0, r0 + window), "cols": (c0, c0 + window)},
                    ))
        obs = sst.copy()
        obs[hidden] = np.nan
        score = hidden.copy()
        score[[t for t in range(nt) if t not in held]] = False
        stacks[region] = Stack(name=region, file=fname, time=times, lat=lat, lon=lon, truth=sst, land=land,
                               hidden=hidden, observed_input=obs, heldout_steps=held, score_mask=score,
                               case_names=names)
    return cases, stacks, used


# ----------------------------------------------------------------------------- SLSTR


def _slstr_cases(shared: Path, window: int, seed: int, used: set):
    s = split
    out = []
    regions = [("slstr_ne_atl", s.SLSTR_NE_ATL_FILE), ("slstr_nw_med", s.SLSTR_NW_MED_FILE)]
    for rid, (region, fname) in enumerate(regions):
        ds = xr.open_dataset(shared / fname)
        sst = ds[s.SLSTR_VAR].isel(time=0).values.astype(np.float32) - np.float32(KELVIN)
        lat, lon = ds["lat"].values, ds["lon"].values
        day = str(np.datetime_as_string(ds["time"].values[0], unit="D"))
        valid = np.isfinite(sst)
        land = s.land_mask(lat, lon)
        inside = s.swath_mask(valid)
        ny = sst.shape[0]
        lo = s.ne_atl_split_row(ny) if fname == s.SLSTR_NE_ATL_FILE else 0
        nl, rr, cc = s.window_sums(land, window, SLSTR_CANDIDATE_STRIDE)
        no, _, _ = s.window_sums(~inside, window, SLSTR_CANDIDATE_STRIDE)
        nv, _, _ = s.window_sums(valid, window, SLSTR_CANDIDATE_STRIDE)
        taken = np.zeros(sst.shape, bool)
        windows = []
        for i, r0 in enumerate(rr):
            if r0 < lo:
                continue
            for j, c0 in enumerate(cc):
                if nl[i, j] or no[i, j] or nv[i, j] < SLSTR_MIN_OBSERVED * window * window:
                    continue
                blk = (slice(r0, r0 + window), slice(c0, c0 + window))
                if taken[blk].any():
                    continue
                taken[blk] = True
                windows.append((int(r0), int(c0)))
        for r0, c0 in windows:
            blk = (slice(r0, r0 + window), slice(c0, c0 + window))
            truth = np.where(land[blk], np.nan, sst[blk]).astype(np.float32)
            bl = land[blk].copy()
            obs_px = np.isfinite(truth)
            ocean = max(int((~bl).sum()), 1)
            existing = float((~obs_px & ~bl).sum() / ocean)
            for b, target in enumerate(FRACTION_BINS):
                # hidden / ocean must land in the bin (only observed pixels can be hidden),
                # and existing gaps + hidden must leave some data: total <= SLSTR_MAX_TOTAL_GAP
                hi = min(target[1], SLSTR_MAX_TOTAL_GAP - existing)
                if hi <= target[0]:
                    continue
                scale = obs_px.sum() / ocean
                tgt = (target[0] / scale, hi / scale)
                m, info = _pick_mask(bl.shape, obs_px, tgt, _rng(seed, 100 + rid, r0, c0, b),
                                     exclude=(fname, r0, c0, window, window), used=used)
                hid = m & obs_px
                obs = truth.copy()
                obs[hid] = np.nan
                out.append(Case(
                    name=f"{region}_r{r0}_c{c0}_cf{int(target[0] * 100)}-{int(target[1] * 100)}",
                    source="slstr_l2", region=region, time=day, truth=truth, land=bl, hidden=hid,
                    observed_input=obs, cloud_fraction=float(hid.sum() / ocean), lat=lat[blk[0]].copy(),
                    lon=lon[blk[1]].copy(), row0=r0, col0=c0, target_bin=target,
                    gap_fraction=float((~np.isfinite(obs) & ~bl).sum() / ocean), mask_info=info,
                ))
    return out


# ----------------------------------------------------------------------------- public


def _shared(shared_dir) -> Path:
    p = Path(shared_dir) if shared_dir is not None else Path(split.DEFAULT_SHARED)
    if not p.exists():
        raise FileNotFoundError(f"shared data folder not found: {p}")
    return p


def load_heldout_cases(shared_dir=None, window: int = 128, seed: int = 0) -> list[Case]:
    """Held-out evaluation cases, deterministic order (MUR socal, MUR Arabian, SLSTR NE Atl, SLSTR NW Med).

    ``shared_dir`` defaults to ``../shared/data`` next to the repository.
    """
    shared = _shared(shared_dir)
    mur, _, used = _mur_build(shared, window, seed)
    return mur + _slstr_cases(shared, window, seed, used)


def load_heldout_stacks(shared_dir=None, window: int = 128, seed: int = 0) -> dict[str, Stack]:
    """Per MUR region, the (time, y, x) stack with transplanted clouds on every day.

    Score only ``Stack.score_mask`` (hidden pixels on held-out days), or per case with
    ``case.stack_index`` (same ``window`` and ``seed`` give the same masks as the cases).
    """
    _, stacks, _ = _mur_build(_shared(shared_dir), window, seed)
    return stacks


def summarize(cases: list[Case]) -> str:
    """Number of cases per source and cloud-fraction bin (by the realised fraction)."""
    lines = []
    for src in sorted({c.source for c in cases}):
        row = []
        for lo, hi in FRACTION_BINS:
            n = sum(1 for c in cases if c.source == src and lo <= c.cloud_fraction < hi)
            row.append(f"{int(lo * 100)}-{int(hi * 100)}%: {n}")
        other = sum(1 for c in cases if c.source == src
                    and not any(lo <= c.cloud_fraction < hi for lo, hi in FRACTION_BINS))
        lines.append(f"{src}: " + ", ".join(row) + (f", outside bins: {other}" if other else ""))
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Build and summarise the held-out cases")
    ap.add_argument("--shared", default=None)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cs = load_heldout_cases(a.shared, a.window, a.seed)
    for c in cs:
        print(f"{c.name:40s} {c.source:9s} {c.time} cf={c.cloud_fraction:.3f} gaps={c.gap_fraction:.3f} "
              f"land={c.land.mean():.3f} {c.mask_info[:40]}")
    print(len(cs), "cases")
    print(summarize(cs))
