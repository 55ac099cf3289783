"""The accuracy benchmark's extra case sets (``benchmarks/cases_extra.py``) and their scoring.

Built on a small stand-in of the shared data folder made from the bundled real crops:
the MUR socal sample's two held-out days repeated into a 10-day and a 6-day series (the
split's held-out steps are the last two), and the SLSTR NW Mediterranean sample (256 x 256,
with a real swath edge) under the scene's file name.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from benchmarks import split
from benchmarks.accuracy_extra import run_extra
from benchmarks.accuracy_run import Run
from benchmarks.accuracy_scores import aggregate, best_peer_ratios, case_groups
from benchmarks.cases import _mur_build
from benchmarks.cases_extra import (
    CORE_COVER,
    LARGE_FRACTION,
    LARGE_MIN_DEPTH,
    distance_bins,
    large_cloud_series_units,
    large_cloud_units,
    local_cover,
    series_units,
    swath_edge_units,
)
from benchmarks.harness import parse_model_spec
from benchmarks.render_accuracy import targets_lines, to_markdown

DATA = split.REPO / "sstfill" / "data"


def _series(src: xr.Dataset, days: int, start: str) -> xr.Dataset:
    sst = src[split.MUR_VAR].values
    stack = np.stack([sst[(k - days) % 2] for k in range(days)])  # the real held-out days 9, 10 last
    times = np.arange(np.datetime64(start), np.datetime64(start) + np.timedelta64(days, "D"))
    return xr.Dataset(
        {split.MUR_VAR: (("time", "lat", "lon"), stack)},
        coords={"time": times.astype("datetime64[ns]"), "lat": src.lat.values, "lon": src.lon.values},
    )


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    d = tmp_path_factory.mktemp("shared")
    with xr.open_dataset(DATA / "sample_mur_socal.nc") as mur:
        _series(mur, 10, "2021-01-01").to_netcdf(d / split.MUR_SOCAL_FILE)
        _series(mur, 6, "2023-08-01").to_netcdf(d / split.MUR_ARABIAN_FILE)
    with xr.open_dataset(DATA / "sample_slstr_nw_med.nc") as s:
        s.load().to_netcdf(d / split.SLSTR_NW_MED_FILE)
    with xr.open_dataset(DATA / "sample_slstr_ne_atl_south.nc") as s:
        s.load().to_netcdf(d / split.SLSTR_NE_ATL_FILE)
    return d


@pytest.fixture(scope="module")
def built(shared):
    return _mur_build(shared, 128, 0)


def test_series_units_carry_every_day_with_clouds(shared, built):
    units = series_units(shared, 128, 0, built)
    standard = {c.name: c for c in built[0]}
    assert units and {u.region for u in units} == {"mur_socal", "mur_arabian"}
    for u in units:
        nt = 10 if u.region == "mur_socal" else 6
        assert u.observed_input.shape == (nt, 128, 128)
        assert u.time.dtype.kind == "M" and len(u.time) == nt
        ocean = ~u.land
        hidden = ocean & np.isnan(u.observed_input) & np.isfinite(u.truth)
        assert hidden.any(axis=(1, 2)).all()  # clouds on every day
        held = set(split.MUR_SOCAL_HELDOUT_STEPS if u.region == "mur_socal" else split.MUR_ARABIAN_HELDOUT_STEPS)
        assert set(u.steps) <= held and u.steps
        for c in u.cases:
            t = c.tags["t"]
            same = standard[c.tags["standard_case"]]
            np.testing.assert_array_equal(c.hidden, same.hidden)  # the same pixels as the standard case
            np.testing.assert_array_equal(u.observed_input[t], same.observed_input)
            assert c.set == "mur_series"


def test_large_clouds_are_large(shared, built):
    units = large_cloud_units(shared, 128, 0, built, size=128, slstr_size=128)
    assert {u.source for u in units} == {"mur_l4", "slstr_l2"}
    for u in units:
        allc, core = u.cases
        assert allc.tags["part"] == "all" and core.tags["part"] == "core"
        hid = allc.hidden
        assert not (core.hidden & ~hid).any()
        if u.source == "mur_l4":
            assert LARGE_FRACTION[0] <= allc.cloud_fraction < LARGE_FRACTION[1]
        assert ndimage.distance_transform_edt(hid).max() >= LARGE_MIN_DEPTH
        missing = np.isnan(u.observed_input) & ~u.land
        assert (local_cover(missing, u.land)[core.hidden] > CORE_COVER).all()
        # the input hides exactly the scored pixels of 'all', and keeps every other observation
        np.testing.assert_array_equal(np.isnan(u.observed_input) & np.isfinite(u.truth), hid)


def test_large_clouds_on_their_series_hide_the_same_pixels_on_their_day(shared, built):
    large = [u for u in large_cloud_units(shared, 128, 0, built, size=128, slstr_size=128) if u.source == "mur_l4"]
    units = large_cloud_series_units(shared, 128, 0, built, large)
    assert len(units) == len(large) > 0
    stacks = built[1]
    for u, single in zip(units, large):
        st = stacks[u.stack_ref["stack"]]
        t = single.stack_ref["t"]
        assert u.set == "large_clouds_series" and u.observed_input.shape == (len(st.time), 128, 128)
        np.testing.assert_array_equal(u.observed_input[t], single.observed_input)  # the large cloud on its day
        (r0, r1), (c0, c1) = u.stack_ref["rows"], u.stack_ref["cols"]
        others = [k for k in range(len(st.time)) if k != t]
        np.testing.assert_array_equal(u.observed_input[others], st.observed_input[others, r0:r1, c0:c1])  # the series' own clouds
        for c, s in zip(u.cases, single.cases):
            assert c.tags["t"] == t and c.tags["part"] == s.tags["part"] and c.set == "large_clouds_series"
            np.testing.assert_array_equal(c.hidden, s.hidden)
            assert np.isnan(u.observed_input[t][c.hidden]).all()


def test_swath_edge_band_and_distance_bins(shared):
    units = swath_edge_units(shared, band=24, size=128)
    assert units
    for u in units:
        hid = np.zeros(u.truth.shape, bool)
        for c in u.cases:
            assert not (hid & c.hidden).any()  # distance bins do not overlap
            hid |= c.hidden
        np.testing.assert_array_equal(np.isnan(u.observed_input) & np.isfinite(u.truth), hid)
        assert u.cases[0].tags["outside_swath_fraction"] >= 0.1
        # every hidden pixel is reached from the remaining observations only across the band
        d = ndimage.distance_transform_edt(~(np.isfinite(u.observed_input) & ~u.land))
        lo = {c.tags["dist"]: c for c in u.cases}
        for lab, c in lo.items():
            a, b = (float(x) for x in lab.split("-"))
            assert (d[c.hidden] > a).all()
            if b < 64:  # the last bin takes every larger distance
                assert (d[c.hidden] <= b).all()


def test_distance_bins_partition():
    obs = np.zeros((50, 50), bool)
    obs[:, 0] = True
    parts = distance_bins(obs, ~obs)
    total = sum(p.astype(int) for p in parts.values())
    np.testing.assert_array_equal(total, (~obs).astype(int))
    assert parts["0-8"][:, 1:9].all() and not parts["0-8"][:, 9:].any()


def test_run_extra_scores_groups_and_targets(shared):
    spec = parse_model_spec("laplace", reserved=("laplace", "telea"))
    methods = [spec.label, "laplace", "telea"]
    run = Run(
        cases=[],
        methods=methods,
        kinds={spec.label: "model", "laplace": "peer", "telea": "peer"},
        filled={},
        rows=[],
        seconds=dict.fromkeys(methods, 0.0),
    )
    run_extra(
        run,
        shared,
        [spec],
        {spec.label: spec.fill_argument()},
        sets=("mur_series", "swath_edge"),
        skip=("dineof", "dincae", "biharmonic"),
        log=lambda *a: None,
    )
    groups = aggregate(run)
    assert {"mur_series", "mur_series|region:mur_socal", "swath_edge"} <= set(groups)
    assert groups["mur_series"][spec.label]["cases"] == len(case_groups(run.rows)["mur_series"])
    for g in ("mur_series", "swath_edge"):
        for m in methods:
            assert groups[g][m]["observed_changed"] == 0  # no method changes an observed pixel
            assert groups[g][m]["rmse_pooled"] < 5.0
    ratios = best_peer_ratios(run, groups)
    result = {
        "methods": {m: {"kind": run.kinds[m], "description": ""} for m in methods},
        "ratios": ratios,
        "groups": groups,
        "cases": run.rows,
        "extra_sets": ["mur_series", "swath_edge"],
        "command": "x",
        "timestamp": "t",
        "window": 128,
        "seed": 0,
    }
    lines = "\n".join(targets_lines(result))
    assert "| mur_series |" in lines and ("met" in lines) and "<= 0.85" in lines and "<= 0.7" in lines
    assert "swath_edge 0-8 px" in to_markdown(result)


def test_a_peer_that_cannot_run_is_carried_case_by_case_from_an_earlier_run(shared, tmp_path):
    import json

    from benchmarks.accuracy import carry_peers

    spec = parse_model_spec("laplace", reserved=("laplace", "telea"))
    methods = [spec.label, "laplace", "telea"]

    def run_once(skip):
        run = Run(cases=[], methods=methods, kinds={spec.label: "model", "laplace": "peer", "telea": "peer"}, filled={}, rows=[],
                  seconds=dict.fromkeys(methods, 0.0))
        run_extra(run, shared, [spec], {spec.label: spec.fill_argument()}, sets=("swath_edge",), skip=("dineof", "dincae", "biharmonic") + skip,
                  log=lambda *a: None)
        return run

    earlier = run_once(())
    path = tmp_path / "accuracy.json"
    path.write_text(json.dumps({"timestamp": "earlier", "git_commit": "abc1234", "cases": earlier.rows}))
    now = run_once(("telea",))  # telea cannot run here
    assert all(r["methods"]["telea"]["n_filled"] is None for r in now.rows)
    now.rows[0]["hidden_pixels"] += 1  # not the same case any more: not carried
    carried = carry_peers(now, path, log=lambda *a: None)
    assert carried == {"telea": {"file": str(path), "timestamp": "earlier", "git_commit": "abc1234", "cases": len(now.rows) - 1}}
    assert now.rows[0]["methods"]["telea"]["n_filled"] is None
    for old, new in zip(earlier.rows[1:], now.rows[1:]):
        assert new["methods"]["telea"]["sse"] == old["methods"]["telea"]["sse"] and new["methods"]["telea"]["rmse_common"] is None
    groups = aggregate(now)
    assert groups["swath_edge"]["telea"]["cases"] == len(now.rows) - 1 and groups["swath_edge"]["telea"]["rmse_common_pooled"] is None
    ratios = best_peer_ratios(now, groups)
    assert ratios["swath_edge"][spec.label]["cases_counted"] == len(now.rows)  # the carried peer does not void the common-pixel count
