"""The accuracy benchmark's case sets beyond the standard held-out windows (issue 14).

Each set is a list of :class:`Unit`: one input that every method fills once (a 2-D window
or a ``(time, y, x)`` window stack), and the scored :class:`~benchmarks.cases.Case` rows cut
from it (``case.set`` names the set, ``case.tags`` its groups). Everything is held-out
data of ``benchmarks/split.py`` under held-out real clouds, deterministic given ``seed``.

* ``mur_series``: the standard MUR case windows with *every* day of their series passed in
  (socal 10 days at 0.01 deg, Arabian Sea 6 days at 0.1 deg), transplanted clouds on every
  day (``load_heldout_stacks``). Scored on the held-out days only, on exactly the standard
  MUR cases' hidden pixels; a model that uses neighbouring days gets them, a per-image peer
  fills each held-out day alone (the same input as the standard case), DINEOF (and DINCAE)
  fill the whole region stack.
* ``large_clouds``: 256 px windows on the MUR held-out days (stride 128, < 30 % land) and
  192 px SLSTR windows in the held-out swath (the swath is narrower than 256 px there;
  <= 10 % land, <= 5 % outside the swath, >= 50 % observed, no overlap; three clouds
  each) under a held-out
  128 px cloud mask *upscaled 2x* (each mask pixel covers 2 x 2 px), so clouds are twice as
  wide as in the library. The mask must hide 60-90 % of the window's ocean (SLSTR: of its
  observed pixels) and reach >= 32 px from its nearest visible pixel (a cloud wider than a
  64 px tile). Two rows per window: ``all`` hidden pixels, and the ``core``: hidden pixels
  whose centred 64 x 64 box is > 60 % missing (hidden or an existing gap; ocean only).
* ``large_clouds_series``: the MUR windows of ``large_clouds`` with *every* day of their
  series passed in (a ``(time, 256, 256)`` window stack: the large cloud on its held-out day,
  the series' transplanted clouds on the other days, as ``mur_series`` has them), scored
  on the same hidden pixels (``all`` and ``core``): a daily L3/L4 series under a cloud
  wider than a tile, the case a user of a series meets. Per-image peers fill the scored day
  alone (the same input as ``large_clouds``); DINEOF and DINCAE fill the window stack.
* ``swath_edge``: 256 px SLSTR windows across the real swath edge (the boundary of
  ``split.swath_mask``, the convex hull of the observations) in the held-out rows; the
  observed pixels within ``SWATH_BAND`` px inside the edge are hidden, so a method has to
  reach out from the swath interior. One row per band of distance to the nearest
  remaining observation (``DIST_BINS``).

Run ``python benchmarks/accuracy_extra.py`` for a summary of the sets.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO))

from benchmarks import split
from benchmarks.cases import KELVIN, MUR_MAX_LAND, Case, _allowed, _library, _mur_build, _rng, _shared

__all__ = [
    "DIST_BINS",
    "LARGE_WINDOW",
    "SETS",
    "SWATH_BAND",
    "Unit",
    "distance_bins",
    "large_cloud_series_units",
    "large_cloud_units",
    "local_cover",
    "series_units",
    "swath_edge_units",
]

SETS = ("mur_series", "large_clouds", "swath_edge", "large_clouds_series")
LARGE_WINDOW = 256
LARGE_UPSCALE = 2
LARGE_FRACTION = (0.60, 0.90)
LARGE_MIN_DEPTH = 32  # px from the nearest visible pixel: the cloud is wider than a 64 px tile
CORE_TILE = 64
CORE_COVER = 0.60
LARGE_SLSTR_WINDOW = 192  # the held-out swath parts are narrower than 256 px
LARGE_SLSTR_MIN_OBSERVED = 0.50
LARGE_SLSTR_MAX_LAND = 0.10
LARGE_SLSTR_MAX_OUTSIDE = 0.05
LARGE_SLSTR_MASKS = 3  # clouds per SLSTR window (the held-out swath has few such windows)
SWATH_WINDOW = 256
SWATH_BAND = 48  # px inside the swath edge whose observations are hidden
SWATH_MIN_BAND = 1000  # hidden px a swath-edge window needs
DIST_BINS = ((0, 8), (8, 16), (16, 32), (32, 64))


@dataclass
class Unit:
    """One input every method fills once, and the case rows scored on it.

    ``observed_input``/``truth`` are ``(y, x)`` or ``(time, y, x)``; for a stack,
    ``time`` holds the datetime64 steps and each case's ``tags["t"]`` its step.
    ``stack_ref`` tells how a time-series peer (DINEOF, DINCAE) gets this input from the
    region stack: ``{"stack", "rows", "cols"}`` plus ``"t"`` for a 2-D window that
    replaces the window on that day of the stack (None: no series, the peer is n/a).
    """

    name: str
    set: str
    source: str
    region: str
    observed_input: np.ndarray
    truth: np.ndarray
    land: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    time: np.ndarray | None = None
    cases: list = field(default_factory=list)
    stack_ref: dict | None = None

    @property
    def steps(self) -> list[int]:
        """The time steps of the stack that are scored (``[]`` for a 2-D window)."""
        return sorted({c.tags["t"] for c in self.cases}) if self.time is not None else []


def local_cover(hidden: np.ndarray, land: np.ndarray, size: int = CORE_TILE) -> np.ndarray:
    """Fraction of the ocean pixels hidden in the ``size`` x ``size`` box centred on each pixel.

    >>> h = np.zeros((128, 128), bool); h[:, :80] = True
    >>> c = local_cover(h, np.zeros_like(h))
    >>> bool(c[64, 10] == 1.0), round(float(c[64, 80]), 2)
    (True, 0.5)
    """
    ocean = (~land).astype(np.float64)
    num = ndimage.uniform_filter((hidden & ~land).astype(np.float64), size, mode="reflect")
    den = ndimage.uniform_filter(ocean, size, mode="reflect")
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)


def distance_bins(observed: np.ndarray, hidden: np.ndarray, bins=DIST_BINS) -> dict[str, np.ndarray]:
    """``hidden`` split by distance (px) to the nearest ``observed`` pixel: ``{"0-8": mask, ...}``.

    A bin is ``lo < d <= hi``; the last bin takes every larger distance too.

    >>> obs = np.zeros((1, 40), bool); obs[0, 0] = True
    >>> {k: int(v.sum()) for k, v in distance_bins(obs, ~obs).items()}
    {'0-8': 8, '8-16': 8, '16-32': 16, '32-64': 7}
    """
    d = ndimage.distance_transform_edt(~observed)
    out = {}
    for i, (lo, hi) in enumerate(bins):
        sel = hidden & (d > lo) & ((d <= hi) if i < len(bins) - 1 else True)
        out[f"{lo}-{hi}"] = sel
    return out


# ----------------------------------------------------------------------------- series


def series_units(shared, window: int = 128, seed: int = 0, built=None) -> list[Unit]:
    """The standard MUR case windows as ``(time, y, x)`` stacks of their whole series."""
    cases, stacks, _ = built if built is not None else _mur_build(_shared(shared), window, seed)
    units: dict[tuple, Unit] = {}
    for c in cases:
        si = c.stack_index
        st = stacks[si["stack"]]
        (r0, r1), (c0, c1) = si["rows"], si["cols"]
        key = (si["stack"], r0, c0)
        if key not in units:
            units[key] = Unit(
                name=f"series_{si['stack']}_r{r0}_c{c0}",
                set="mur_series",
                source=c.source,
                region=c.region,
                observed_input=st.observed_input[:, r0:r1, c0:c1].copy(),
                truth=st.truth[:, r0:r1, c0:c1].copy(),
                land=st.land[r0:r1, c0:c1].copy(),
                lat=c.lat,
                lon=c.lon,
                time=np.asarray(st.time),
                stack_ref={"stack": si["stack"], "rows": (r0, r1), "cols": (c0, c1)},
            )
        u = units[key]
        if not np.array_equal(u.observed_input[si["t"]], c.observed_input, equal_nan=True):
            raise RuntimeError(f"series window of {c.name} differs from the standard case's input")
        u.cases.append(
            replace(
                c,
                name=f"series_{c.name}",
                set="mur_series",
                tags={"t": si["t"], "days": len(st.time), "standard_case": c.name},
            )
        )
    return list(units.values())


# ----------------------------------------------------------------------------- large clouds


def _pick_large(eligible: np.ndarray, rng, used: set, exclude=None, fraction=LARGE_FRACTION):
    """A held-out 128 px mask upscaled ``LARGE_UPSCALE`` x that hides ``fraction`` of ``eligible``."""
    masks, origin, scenes = _library("cloud_masks_heldout_128.npz")
    h, w = eligible.shape
    denom = max(int(eligible.sum()), 1)
    one = np.ones((LARGE_UPSCALE, LARGE_UPSCALE), bool)
    for i in rng.permutation(_allowed(origin, scenes, masks.shape[1], exclude)):
        if i in used:
            continue
        up = np.kron(masks[i], one)[:h, :w]
        if up.shape != (h, w):
            continue
        hid = up & eligible
        if not fraction[0] <= hid.sum() / denom < fraction[1]:
            continue
        if ndimage.distance_transform_edt(hid).max() < LARGE_MIN_DEPTH:
            continue
        used.add(i)
        return (up, f"heldout_128[{i}] x{LARGE_UPSCALE} {scenes[origin[i][0]]} r{origin[i][1]} c{origin[i][2]}")
    return None, None


def _large_case(name, source, region, day, truth, land, hid, lat, lon, r0, c0, info, part, extra=None) -> Case:
    ocean = max(int((~land).sum()), 1)
    obs = truth.copy()
    obs[hid] = np.nan
    cover = local_cover(~np.isfinite(obs) & ~land, land)
    core = hid & (cover > CORE_COVER)
    tags = {
        "part": part,
        "core_fraction": float(core.sum() / max(hid.sum(), 1)),
        "max_depth_px": float(ndimage.distance_transform_edt(hid).max()),
    } | (extra or {})
    scored = hid if part == "all" else core
    return Case(
        name=f"{name}_{part}",
        source=source,
        region=region,
        time=day,
        truth=truth,
        land=land,
        hidden=scored,
        observed_input=obs,
        cloud_fraction=float(hid.sum() / ocean),
        lat=lat,
        lon=lon,
        row0=r0,
        col0=c0,
        target_bin=LARGE_FRACTION,
        gap_fraction=float((~np.isfinite(obs) & ~land).sum() / ocean),
        mask_info=info,
        set="large_clouds",
        tags=tags,
    )


@lru_cache(maxsize=4)
def _slstr_scene(shared: str, fname: str) -> dict:
    import xarray as xr

    s = split
    with xr.open_dataset(Path(shared) / fname) as ds:
        sst = ds[s.SLSTR_VAR].isel(time=0).values.astype(np.float32) - np.float32(KELVIN)
        lat, lon = ds["lat"].values, ds["lon"].values
        day = str(np.datetime_as_string(ds["time"].values[0], unit="D"))
    valid = np.isfinite(sst)
    lo = s.ne_atl_split_row(sst.shape[0]) if fname == s.SLSTR_NE_ATL_FILE else 0
    return {
        "sst": sst,
        "lat": lat,
        "lon": lon,
        "day": day,
        "valid": valid,
        "land": s.land_mask(lat, lon),
        "inside": s.swath_mask(valid),
        "first_row": lo,
    }


def _slstr_files():
    return [("slstr_ne_atl", split.SLSTR_NE_ATL_FILE), ("slstr_nw_med", split.SLSTR_NW_MED_FILE)]


def _greedy(score: np.ndarray, rr, cc, shape, size: int) -> list[tuple[int, int]]:
    """Non-overlapping windows, best ``score`` first (score <= 0: not a candidate)."""
    taken = np.zeros(shape, bool)
    out = []
    for k in np.argsort(-score, axis=None, kind="stable"):
        i, j = np.unravel_index(k, score.shape)
        if score[i, j] <= 0:
            break
        blk = (slice(rr[i], rr[i] + size), slice(cc[j], cc[j] + size))
        if taken[blk].any():
            continue
        taken[blk] = True
        out.append((int(rr[i]), int(cc[j])))
    return sorted(out)


def slstr_large_windows(sc: dict, size: int, rows: tuple[int, int]) -> list[tuple[int, int]]:
    """Origins of the non-overlapping ``size`` px windows of an SLSTR scene (:func:`_slstr_scene`) within ``rows`` [start, stop)
    that a large cloud may go on: <= 10 % land, <= 5 % outside the swath, >= 50 % observed; the most observed first."""
    nl, rr, cc = split.window_sums(sc["land"], size, 16)
    no, _, _ = split.window_sums(~sc["inside"], size, 16)
    nv, _, _ = split.window_sums(sc["valid"] & ~sc["land"], size, 16)
    ok = (nl <= LARGE_SLSTR_MAX_LAND * size * size) & (no <= LARGE_SLSTR_MAX_OUTSIDE * size * size)
    ok &= (nv >= LARGE_SLSTR_MIN_OBSERVED * size * size) & (rr[:, None] >= rows[0]) & (rr[:, None] + size <= rows[1])
    return _greedy(np.where(ok, nv, 0), rr, cc, sc["sst"].shape, size)


def large_cloud_units(
    shared, window: int = 128, seed: int = 0, built=None, size: int = LARGE_WINDOW, slstr_size: int = LARGE_SLSTR_WINDOW
) -> list[Unit]:
    """Held-out windows (MUR held-out days: ``size`` px; SLSTR held-out swath: ``slstr_size`` px)
    under 2x upscaled clouds; ``built`` is ``cases._mur_build``'s result when at hand."""
    shared = _shared(shared)
    _, stacks, _ = built if built is not None else _mur_build(shared, window, seed)
    units, used = [], set()
    for rid, (region, st) in enumerate(stacks.items()):
        _, ny, nx = st.truth.shape
        for t in st.heldout_steps:
            day = str(np.datetime_as_string(st.time[t], unit="D"))
            for r0 in range(0, ny - size + 1, size // 2):
                for c0 in range(0, nx - size + 1, size // 2):
                    blk = (slice(r0, r0 + size), slice(c0, c0 + size))
                    land = st.land[blk].copy()
                    if land.mean() >= MUR_MAX_LAND:
                        continue
                    up, info = _pick_large(~land, _rng(seed, 300 + rid, t, r0, c0), used)
                    if up is None:
                        continue
                    hid = up & ~land
                    truth = st.truth[t][blk].copy()
                    name = f"large_{region}_day{int(day[-2:])}_r{r0}_c{c0}"
                    u = Unit(
                        name=name,
                        set="large_clouds",
                        source="mur_l4",
                        region=region,
                        observed_input=np.where(hid, np.nan, truth).astype(np.float32),
                        truth=truth,
                        land=land,
                        lat=st.lat[blk[0]].copy(),
                        lon=st.lon[blk[1]].copy(),
                        stack_ref={"stack": region, "t": t, "rows": (r0, r0 + size), "cols": (c0, c0 + size)},
                    )
                    u.cases = [
                        _large_case(name, "mur_l4", region, day, truth, land, hid, u.lat, u.lon, r0, c0, info, part)
                        for part in ("all", "core")
                    ]
                    units.append(u)
    for rid, (region, fname) in enumerate(_slstr_files()):
        sc = _slstr_scene(str(shared), fname)
        size = slstr_size
        for r0, c0 in slstr_large_windows(sc, size, rows=(sc["first_row"], sc["sst"].shape[0])):
            blk = (slice(r0, r0 + size), slice(c0, c0 + size))
            land = sc["land"][blk].copy()
            truth = np.where(land, np.nan, sc["sst"][blk]).astype(np.float32)
            obs_px = np.isfinite(truth)
            for k in range(LARGE_SLSTR_MASKS):
                up, info = _pick_large(
                    obs_px, _rng(seed, 400 + rid, r0, c0, k), used, exclude=(fname, r0, c0, size, size)
                )
                if up is None:
                    continue
                hid = up & obs_px
                name = f"large_{region}_r{r0}_c{c0}_m{k}"
                u = Unit(
                    name=name,
                    set="large_clouds",
                    source="slstr_l2",
                    region=region,
                    observed_input=np.where(hid, np.nan, truth).astype(np.float32),
                    truth=truth,
                    land=land,
                    lat=sc["lat"][blk[0]].copy(),
                    lon=sc["lon"][blk[1]].copy(),
                )
                u.cases = [
                    _large_case(name, "slstr_l2", region, sc["day"], truth, land, hid, u.lat, u.lon, r0, c0, info, part)
                    for part in ("all", "core")
                ]
                units.append(u)
    return units


def large_cloud_series_units(shared, window: int = 128, seed: int = 0, built=None, large: list[Unit] | None = None) -> list[Unit]:
    """The MUR units of :func:`large_cloud_units` as ``(time, y, x)`` stacks of their whole series.

    Each stack is the window on every day of the region stack (its transplanted clouds), the
    held-out day replaced by the large-cloud input; its cases are the large-cloud unit's
    (``all`` and ``core``), tagged with their step. ``large`` is that function's result when
    at hand.
    """
    shared = _shared(shared)
    built = built if built is not None else _mur_build(shared, window, seed)
    _, stacks, _ = built
    units = []
    for u in large if large is not None else large_cloud_units(shared, window, seed, built):
        if u.source != "mur_l4" or not u.stack_ref:
            continue
        st = stacks[u.stack_ref["stack"]]
        t = u.stack_ref["t"]
        (r0, r1), (c0, c1) = u.stack_ref["rows"], u.stack_ref["cols"]
        observed = st.observed_input[:, r0:r1, c0:c1].copy()
        observed[t] = u.observed_input
        truth = st.truth[:, r0:r1, c0:c1].copy()
        if not np.array_equal(truth[t], u.truth, equal_nan=True):
            raise RuntimeError(f"series window of {u.name} differs from the large-cloud unit's truth")
        name = f"series_{u.name}"
        units.append(
            Unit(
                name=name,
                set="large_clouds_series",
                source=u.source,
                region=u.region,
                observed_input=observed,
                truth=truth,
                land=u.land.copy(),
                lat=u.lat,
                lon=u.lon,
                time=np.asarray(st.time),
                cases=[replace(c, name=f"series_{c.name}", set="large_clouds_series", tags=c.tags | {"t": t, "days": len(st.time)}) for c in u.cases],
                stack_ref={"stack": u.stack_ref["stack"], "rows": (r0, r1), "cols": (c0, c1)},
            )
        )
    return units


# ----------------------------------------------------------------------------- swath edge


def swath_edge_units(shared, band: int = SWATH_BAND, size: int = SWATH_WINDOW) -> list[Unit]:
    """SLSTR held-out windows across the swath edge, the observed band inside the edge hidden."""
    shared = _shared(shared)
    units = []
    for region, fname in _slstr_files():
        sc = _slstr_scene(str(shared), fname)
        sst, land, inside, valid = sc["sst"], sc["land"], sc["inside"], sc["valid"]
        ny, nx = sst.shape
        if ny < size or nx < size:
            continue
        depth = ndimage.distance_transform_edt(inside)  # px to the nearest pixel outside the swath
        rows = np.arange(ny)[:, None] >= sc["first_row"]
        band_px = inside & (depth <= band) & valid & ~land & rows
        nb, rr, cc = split.window_sums(band_px, size, 16)
        nl, _, _ = split.window_sums(land, size, 16)
        no, _, _ = split.window_sums(~inside, size, 16)
        ok = (
            (nb >= SWATH_MIN_BAND)
            & (nl < MUR_MAX_LAND * size * size)
            & (no >= 0.1 * size * size)
            & (rr[:, None] >= sc["first_row"])
        )
        for r0, c0 in _greedy(np.where(ok, nb, 0), rr, cc, sst.shape, size):
            blk = (slice(r0, r0 + size), slice(c0, c0 + size))
            wl = land[blk].copy()
            truth = np.where(wl, np.nan, sst[blk]).astype(np.float32)
            hid = band_px[blk].copy()
            obs = truth.copy()
            obs[hid] = np.nan
            ocean = max(int((~wl).sum()), 1)
            name = f"swath_{region}_r{r0}_c{c0}"
            u = Unit(
                name=name,
                set="swath_edge",
                source="slstr_l2",
                region=region,
                observed_input=obs,
                truth=truth,
                land=wl,
                lat=sc["lat"][blk[0]].copy(),
                lon=sc["lon"][blk[1]].copy(),
            )
            for lab, sel in distance_bins(np.isfinite(obs) & ~wl, hid).items():
                if not sel.any():
                    continue
                u.cases.append(
                    Case(
                        name=f"{name}_d{lab}",
                        source="slstr_l2",
                        region=region,
                        time=sc["day"],
                        truth=truth,
                        land=wl,
                        hidden=sel,
                        observed_input=obs,
                        cloud_fraction=float(hid.sum() / ocean),
                        lat=u.lat,
                        lon=u.lon,
                        row0=r0,
                        col0=c0,
                        target_bin=(0.0, 1.0),
                        gap_fraction=float((~np.isfinite(obs) & ~wl).sum() / ocean),
                        mask_info=f"observed pixels <= {band} px inside the swath edge",
                        set="swath_edge",
                        tags={"dist": lab, "band_px": band, "outside_swath_fraction": float((~inside[blk]).mean())},
                    )
                )
            units.append(u)
    return units
