"""Seam score: a lattice of steps scores high, fields without one score about 1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sstfill.evaluation.seams import gradient_by_phase, seam_score, seam_scores

DATA = Path(__file__).resolve().parents[1] / "sstfill" / "data"


def _real_slstr() -> np.ndarray:
    """The bundled held-out SLSTR crop (degC), NaN where not observed."""
    with xr.open_dataset(DATA / "sample_slstr_nw_med.nc") as ds:
        return (
            ds["sea_surface_skin_temperature"].isel(time=0).values.astype("float64")
            - 273.15
        )


def _smooth(shape=(480, 480), seed=0) -> np.ndarray:
    """A smooth random field: white noise blurred over ~2 px (no lattice)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.normal(size=shape), 2, mode="wrap") * 5


def test_a_step_every_48_pixels_scores_high_at_48_and_on_its_axis_only():
    field = _smooth()
    stepped = (
        field + 1.0 * (np.arange(480) // 48)[None, :]
    )  # a step at every tile border along x
    every = np.ones(field.shape, bool)
    scores = seam_scores(stepped, every)
    assert scores["x48"] > 2.0
    assert scores["y48"] < 1.1  # no step along y
    assert seam_scores(field, every)["max"] < 1.1
    # the step sits between pixels 47 and 48: phase 47
    mean, count = gradient_by_phase(stepped, every, 48, axis=-1)
    assert int(np.argmax(mean)) == 47 and count.sum() == 480 * 479


def test_offset_places_the_lattice_of_a_crop():
    field = _smooth() + 1.0 * (np.arange(480) // 48)[None, :]
    crop = field[:, 10:]  # crop index 0 is global index 10
    mean, _ = gradient_by_phase(crop, np.ones(crop.shape, bool), 48, axis=1, offset=10)
    assert int(np.argmax(mean)) == 47
    assert seam_score(
        crop, np.ones(crop.shape, bool), 48, axis=1, offset=10
    ) == pytest.approx(seam_score(crop, np.ones(crop.shape, bool), 48, axis=1))


def test_only_differences_between_two_selected_pixels_count():
    field = _smooth() + 1.0 * (np.arange(480) // 48)[None, :]
    pixels = np.ones(field.shape, bool)
    pixels[:, 48::48] = (
        False  # the pixel after each step is not selected: the steps go unseen
    )
    assert seam_score(field, pixels, 48, axis=-1) < 1.1
    nan_field = np.where(pixels, field, np.nan)  # the same through NaN
    assert seam_score(nan_field, np.ones(field.shape, bool), 48, axis=-1) < 1.1


def test_smooth_field_scores_about_one():
    scores = seam_scores(_smooth(seed=1), np.ones((480, 480), bool))
    assert set(scores) == {"y32", "x32", "y48", "x48", "y64", "x64", "max"}
    assert 1.0 <= scores["max"] < 1.1


def test_real_observed_pixels_score_near_one_and_a_real_seam_shows():
    sst = _real_slstr()
    observed = np.isfinite(sst)
    assert observed.mean() > 0.3
    scores = seam_scores(sst, observed)
    # a 256-pixel crop has only 4-8 positions per phase: sampling noise up to ~1.3
    assert scores["max"] < 1.35
    # a 0.1 K step at every 48-pixel border (mean |difference| of neighbours: 0.07 K) stands out
    stepped = sst + 0.1 * (np.arange(sst.shape[1]) // 48)[None, :]
    assert seam_score(stepped, observed, 48, axis=-1) > 1.3 * scores["x48"]


def test_empty_selection_and_bad_stride():
    field = _smooth((64, 64))
    assert np.isnan(seam_score(field, np.zeros(field.shape, bool), 48, axis=-1))
    with pytest.raises(ValueError, match="stride"):
        seam_score(field, np.ones(field.shape, bool), 1, axis=-1)


def test_too_few_pixels_give_no_score():
    field = _smooth() + 1.0 * (np.arange(480) // 48)[None, :]
    few = np.zeros(field.shape, bool)
    few[:1, :] = True  # one row: a single difference per position along x
    assert np.isnan(seam_score(field, few, 48, axis=-1))
    assert seam_score(field, few, 48, axis=-1, min_count=1) > 2.0


def test_the_benchmarks_lattice_scores_fill_a_real_grid(mur):
    # benchmarks/seams.py moves the tile lattice by padding the scene; the padded grid must
    # stay a real one (its coordinates continued, not pixel numbers, which fill() refuses)
    from benchmarks.seams import lattice_scores

    gappy, _ = mur.isel(time=1).inpaint.add_holes(kind="clouds", fraction=0.4, seed=2)
    land = mur.isel(time=1).isnull()
    scores = lattice_scores(gappy.rename("sst"), land, (32, 48), (0, 16), model="laplace")
    assert set(scores) >= {"y32", "x32", "y48", "x48", "max"}
    # no tiles: measured 1.14 on this 192 x 256 crop, whose few positions per phase are noisy (see above)
    assert all(np.isfinite(v) for v in scores.values()) and 1.0 <= scores["max"] < 1.35


def test_the_benchmarks_series_only_run_keeps_the_scenes_rows(tmp_path, monkeypatch):
    # benchmarks/seams.py --series-only reruns the daily series' rows into an earlier whole run's
    # seams.json: the scenes' rows stay as measured, and the page says which run gave which rows
    import json

    import benchmarks.seams as bench

    scene = {"y32": 1.05, "x32": 1.04, "y48": 1.06, "x48": 1.12, "y64": 1.07, "x64": 1.05, "max": 1.12}
    whole = {"command": "python benchmarks/seams.py --out X", "environment": {"git": {"commit": "aaaaaaaaaaaa"}}, "torch_threads": 2,
             "timestamp": "2026-12-07T00:00:00+00:00", "strides": [32, 48, 64], "chunks": 0, "fraction_floor": 0.05, "crop": None, "model": "default",
             "rows": [{"scene": "slstr_l2_norwegian_sea.nc", "variant": "default", "shape": [9, 9], "origin": [0, 0],
                       "numpy": {"seconds": 1.0, "output_tiles_per_s": 135.0, "filled_pixels": 5, "filled": scene, "observed": scene}}],
             "series": [], "series_shifts": [0, 16]}
    (tmp_path / "seams.json").write_text(json.dumps(whole))
    fresh = [{"stack": "mur_socal", "shape": [10, 401, 601], "model": "auto", "lattice": scene | {"max": 1.061}, "observed": scene, "seconds": 1.0}]
    monkeypatch.setattr(bench, "series_rows", lambda shared, models, shifts: fresh)
    assert bench.main(["--out", str(tmp_path), "--series-only", "--shifts", "0,16,32", "--series-models", "auto"]) == 0
    record = json.loads((tmp_path / "seams.json").read_text())
    assert record["rows"] == whole["rows"] and record["series"] == fresh and record["series_shifts"] == [0, 16, 32]
    page = (tmp_path / "seams.md").read_text()
    assert "| norwegian_sea | default | filled | 1.050" in page and "| mur_socal | 10x401x601 | auto |" in page and "1.061" in page
    assert "at commit aaaaaaaaaa" in page and "--series-only" in page.split("## Daily series")[1]
    with pytest.raises(SystemExit, match="needs --out"):
        bench.main(["--series-only"])
