"""``sstfill`` command-line trust: what it refuses to overwrite, and the spelling of its hints."""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sstfill.cli import main


@pytest.fixture
def monthly_files(tmp_path) -> list[Path]:
    """Three monthly files of the bundled real ERSST v5 Pacific crop (land is NaN), as a user keeps a series."""
    paths = []
    with resources.as_file(resources.files("sstfill") / "data" / "sample_ersst_pacific.nc") as src, xr.open_dataset(src) as ds:
        for i in range(3):
            path = tmp_path / f"sst_2010-{i + 1:02d}.nc"
            ds.isel(time=[i]).to_netcdf(path)
            paths.append(path)
    return paths


def test_a_glob_expanded_by_the_shell_without_an_output_never_replaces_an_input(tmp_path, monthly_files, monkeypatch, capsys):
    """``sstfill fill sst_2010-*.nc --overwrite``: the last file would be the output; it is refused, naming it and the fix."""
    monkeypatch.chdir(tmp_path)
    before = {p.name: p.read_bytes() for p in monthly_files}
    for files in (monthly_files, monthly_files[:2]):  # a glob of three files, and of two (one input: another month)
        assert main(["fill", *map(str, files), "--overwrite", "--model", "laplace", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("sstfill: error:") and len(err.strip().splitlines()) == 1, err
        assert f"Output {str(files[-1])!r} looks like another input file" in err and "even with --overwrite" in err
        assert "quote the glob" in err and f"delete {str(files[-1])!r} first" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing replaced, nothing left behind


def test_a_glob_of_granules_or_of_one_day_never_replaces_its_last_file(tmp_path, monthly_files, monkeypatch, capsys):
    """Files without a time axis (L2 granules), or two products of the same day: with one input and no other
    times to tell them apart, the last file was taken for the output and replaced with --overwrite."""
    monkeypatch.chdir(tmp_path)
    with xr.open_dataset(monthly_files[0]) as ds:
        ds.isel(time=0, drop=True).to_netcdf(tmp_path / "gran1.nc")
        ds.isel(time=0, drop=True).assign(sst=ds["sst"].isel(time=0, drop=True) + 0.1).to_netcdf(tmp_path / "gran2.nc")
        ds.assign(sst=ds["sst"] + 0.1).to_netcdf(tmp_path / "other_product_same_month.nc")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for files in (["gran1.nc", "gran2.nc"], [monthly_files[0].name, "other_product_same_month.nc"]):
        for overwrite in ([], ["--overwrite"]):
            assert main(["fill", *files, *overwrite, "--model", "laplace", "--no-progress"]) == 2
            err = capsys.readouterr().err
            assert f"Output {files[-1]!r} looks like another input file" in err and "even with --overwrite" in err, err
            assert "Pass --overwrite" not in err  # it is not advised for an input
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_overwrite_still_replaces_an_earlier_output_and_files_of_other_grids_or_steps(tmp_path, monthly_files, monkeypatch):
    """The check is narrow: an sstfill output and a file of another grid are replaced as before; a file of the same
    variable on the same grid that no sstfill fill wrote (e.g. the input's own month filled by another tool) is not."""
    monkeypatch.chdir(tmp_path)
    first, second, third = map(str, monthly_files)
    assert main(["fill", first, second, "out.nc", "--model", "laplace", "--no-progress"]) == 0
    assert main(["fill", first, second, third, "out.nc", "--overwrite", "--model", "laplace", "--no-progress"]) == 0  # an earlier output
    with xr.open_dataset(tmp_path / "out.nc") as out, xr.open_dataset(third) as src:
        assert out.sizes["time"] == 3 and "sst_fill_flag" in out
        observed = np.isfinite(src["sst"].values[0])
        np.testing.assert_array_equal(out["sst"].values[2][observed], src["sst"].values[0][observed])
    with xr.open_dataset(third) as src:
        src.isel(lat=slice(0, 32)).to_netcdf(tmp_path / "crop.nc")  # the same variable on another grid
        src.to_netcdf(tmp_path / "same_month.nc")  # the one input's own month (e.g. filled by another tool)
    assert main(["fill", first, second, "crop.nc", "--overwrite", "--model", "laplace", "--no-progress"]) == 0
    with xr.open_dataset(tmp_path / "crop.nc") as out:
        assert "sst_fill_flag" in out and out.sizes["lat"] == 64
    kept = (tmp_path / "same_month.nc").read_bytes()
    assert main(["fill", third, "same_month.nc", "--overwrite", "--model", "laplace", "--no-progress"]) == 2
    assert (tmp_path / "same_month.nc").read_bytes() == kept
    assert sorted(os.listdir(tmp_path)) == sorted(["crop.nc", "out.nc", "same_month.nc", *(p.name for p in monthly_files)])


def _bundled(name: str) -> xr.Dataset:
    with resources.as_file(resources.files("sstfill") / "data" / name) as path, xr.open_dataset(path) as ds:
        return ds.load()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Bundled real samples, written as a user's files would be, each with the trait that calls for a fix."""
    d = tmp_path_factory.mktemp("inputs")
    l2 = _bundled("sample_slstr_nw_med.nc")
    sst = l2["sea_surface_skin_temperature"]
    l2.assign(sses_standard_deviation=(0.3 + 0 * sst).astype("float32")).to_netcdf(d / "l2_with_sses.nc")  # two fillable variables, as in L2P files
    l2.assign(quality_level=(5 * sst.notnull()).astype("int8")).to_netcdf(d / "l2_with_quality.nc")
    mur = _bundled("sample_mur_socal.nc")
    mur.to_netcdf(d / "mur.nc")  # two days of 192 rows: too few to adapt on
    own = (0.4 + 0 * mur["analysed_sst"]).astype("float32").assign_attrs(long_name="the product's own analysis error", units="kelvin")
    mur.assign(analysed_sst_error=own).to_netcdf(d / "mur_own_error.nc")
    (mur + np.nan).assign_attrs(mur.attrs).to_netcdf(d / "mur_all_missing.nc")  # e.g. a wrong _FillValue: opened lazily, it was filled into an empty output  # named as sstfill names its error, not written by it
    mur.isel(time=0).drop_vars("time").to_netcdf(d / "mur_no_time.nc")
    pixels = mur["analysed_sst"].rename(lat="y", lon="x").assign_coords(y=np.arange(192.0), x=np.arange(256.0))
    pixels.attrs["grid_mapping"] = "crs"  # projected x/y in no known unit: no distances (and the file has no 'crs': a warning says so)
    pixels.to_dataset().to_netcdf(d / "pixels.nc")
    _bundled("sample_ersst_pacific.nc").to_netcdf(d / "ersst.nc")  # gaps are land only: no clouds of its own
    return d


def _cli_error(args: list[str], capsys) -> str:
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("sstfill: warning: ") for line in lines[:-1]), lines  # a warning before it: one line too
    err = lines[-1] + "\n"
    assert err.startswith("sstfill: error:") and "Traceback" not in err, err
    said = "\n".join(lines)
    assert "ds.inpaint" not in said and "model.save" not in said and not re.search(r"\b[a-z_]+=", said), said  # no Python spelling
    return err


def test_the_variable_to_use_is_asked_for_as_an_option(tmp_path, inputs, monkeypatch, capsys):
    """Two fillable variables: each command asks for --var, the Python API for var=; nothing is written."""
    from sstfill.errors import InputDataError

    monkeypatch.chdir(tmp_path)
    two = str(inputs / "l2_with_sses.nc")
    for args in (["fill", two, "out.nc", "--model", "laplace"], ["train", two, "-o", "m.npz", "--init", "fast"], ["quality", two, two]):
        err = _cli_error(args, capsys)
        assert "['sea_surface_skin_temperature', 'sses_standard_deviation']" in err and err.rstrip().endswith("with --var NAME."), err
    err = _cli_error(["fill", str(inputs / "l2_with_quality.nc"), "out.nc", "--var", "quality_level", "--model", "laplace"], capsys)
    assert "'quality_level' has integer dtype int8" in err and "with --var NAME" in err
    with xr.open_dataset(two) as ds, pytest.raises(InputDataError, match=r"Say which variable to use: ds\.inpaint\.fill\(var=\.\.\.\)\.$"):
        ds.inpaint.fill(model="laplace")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "args, expect",
    [
        (["fill", "mur_no_time.nc", "out.nc", "--climatology", "monthly"], "no monthly climatology. Drop --climatology monthly"),
        (["fill", "pixels.nc", "out.nc", "--max-distance", "50 km"], "needs a grid with distances (lat/lon, or x/y in m or km). Give it in pixels instead, e.g. --max-distance '30 px'."),
        (["fill", "mur.nc", "out.nc", "--model", "no_such_model.npz"], "'no_such_model.npz' does not exist. Train one with sstfill train INPUT... -o MODEL.npz, or drop --model"),
        (["info", "no_such_model.npz"], "does not exist. Train one with sstfill train INPUT... -o MODEL.npz. Run 'sstfill info'"),
        (["train", "mur.nc", "--resume", "no_such_run.npz", "-o", "m.npz"], "--resume 'no_such_run.npz': Model file 'no_such_run.npz' does not exist."),
        (["train", "ersst.nc", "--preset", "fast", "--resume", "FAST", "-o", "m.npz", "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "4"],
         "is a model file, not a training checkpoint: it holds no optimiser state to resume from. --resume takes the file a run wrote with --checkpoint; "
         "to go on training this model, give it as --init instead"),
        (["train", "mur.nc", "--init", "NETCDF", "-o", "m.npz"], "The model to adapt, "),
        (["fill", "mur.nc", "out.nc", "--adapt", "1", "--save-model", "ersst.nc"], "ersst.nc' exists and is not an sstfill model file: not replaced, even with --overwrite"),
        (["train", "mur.nc", "--init", "LATENT", "-o", "m.npz"], "is not an autoencoder that can be adapted. Give --init auto, default, fast, context or an autoencoder's model file"),
        (["fill", "mur.nc", "out.nc", "--model", "LATENT", "--adapt", "1"], "is not an autoencoder that can be adapted. With --adapt, give --model auto"),
        (["train", "ersst.nc", "--init", "fast", "--holes", "own_clouds", "-o", "m.npz"], "to use as 'own_clouds' holes. Pass --holes clouds"),
        (["fill", "mur_own_error.nc", "out.nc", "--model", "laplace"], "'analysed_sst_error' is already in the data and was not written by sstfill: filling 'analysed_sst' writes its standard error under that name and would replace it. Rename it in the input first"),
        (["fill", "mur_all_missing.nc", "out.nc", "--model", "laplace"], "Variable 'analysed_sst' is missing everywhere (all NaN): there is nothing to fill from."),
        (["train", "mur.nc", "--init", "fast", "-o", "m.npz"], "has 2 time steps (a split by time needs 3 or more) of 192 rows: too few to split by bands of rows into 2 sets of at least 64 rows each. Train on several time steps (3 or more), or a larger region."),
    ],
    ids=["climatology", "max-distance-km", "missing-model", "info-missing-model", "resume", "resume-a-model", "init-netcdf", "save-model-over-data", "init-latent", "adapt-latent", "holes", "own-error", "all-missing", "split"],
)
def test_library_errors_say_their_fix_as_options(tmp_path, inputs, args, expect, monkeypatch, capsys):
    """Errors raised by the library under a command: its options, not the Python call that fixes them (before: e.g. max_distance='30 px', a traceback)."""
    monkeypatch.chdir(tmp_path)
    named = {name: str(resources.files("sstfill") / "data" / f"{name.lower()}_model.npz") for name in ("LATENT", "FAST")} | {"NETCDF": str(inputs / "mur.nc")}
    args = [named[a] if a in named else str(inputs / a) if (inputs / a).is_file() else a for a in args]
    err = _cli_error([*args, "--no-progress"] if args[0] in ("fill", "train") else args, capsys)
    assert expect in err, err
    assert os.listdir(tmp_path) == []


def test_an_explicit_patience_is_kept_when_adapting(tmp_path, monkeypatch, capsys):
    """--patience 5 (and train(patience=5)) with --init is 5: it was taken for the default and swapped for 3, or for none under a budget."""
    import sstfill.xr.training as training
    from sstfill.errors import SSTFillError

    seen = []

    def stop(*args, **kwargs):  # the run's settings, then no training
        seen.append(args[3].patience if len(args) > 3 else "latent")
        raise SSTFillError("captured")

    monkeypatch.setattr(training, "fit", stop)
    monkeypatch.setattr(training, "_train_latent", stop)
    monkeypatch.chdir(tmp_path)
    _bundled("sample_ersst_pacific.nc").to_netcdf("ersst.nc")  # 48 real months; its gaps are land only, hence --holes clouds
    runs = {"init 5": ["--init", "fast", "--patience", "5"], "init": ["--init", "fast"], "fresh": ["--preset", "fast"], "fresh 2": ["--preset", "fast", "--patience", "2"]}
    for args in runs.values():
        assert main(["train", "ersst.nc", "-o", "m.npz", "--holes", "clouds", "--climatology", "none", "--no-progress", *args]) == 2
        assert "captured" in capsys.readouterr().err
    assert dict(zip(runs, seen)) == {"init 5": 5, "init": 10**6, "fresh": 5, "fresh 2": 2}  # without --patience, with --init: --max-minutes decides
    assert main(["train", "ersst.nc", "-o", "m.npz", "--method", "latent", "--patience", "4"]) == 2  # ignored before: now refused, as --init is
    assert "--method latent does not take --patience" in capsys.readouterr().err and len(seen) == 4
    with xr.open_dataset("ersst.nc") as ds:
        for kwargs, expect in ((dict(patience=5), 5), (dict(patience=5, max_minutes=1), 5), ({}, 3), (dict(max_minutes=1), 10**6)):
            with pytest.raises(SSTFillError, match="captured"):
                ds.inpaint.train(init="fast", holes="clouds", climatology=None, progress=False, **kwargs)
            assert seen[-1] == expect, kwargs
    assert sorted(os.listdir(tmp_path)) == ["ersst.nc"]


def test_warnings_under_a_command_are_one_line_like_its_errors(tmp_path, monkeypatch, capsys):
    """A model saved by sstfill 0.1.0 as m.npz, asked for as m: the command warns in one line, without Python's file and source line."""
    import warnings

    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.npz").write_bytes((resources.files("sstfill") / "data" / "fast_model.npz").read_bytes())
    before = warnings.showwarning
    assert main(["info", "m"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("sstfill: warning: Model file 'm' does not exist; reading") and len(err.strip().splitlines()) == 1, err
    assert "UserWarning" not in err and "warnings.warn" not in err
    assert warnings.showwarning is before  # a user's Python keeps its own warnings after main()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="the fallback to the CPU is what is tested")
def test_asking_for_cuda_without_it_warns_once(tmp_path, monthly_files, capsys):
    """``--device cuda`` on a machine without CUDA: one warning that it runs on the CPU (it was given twice), and the fill."""
    assert main(["fill", str(monthly_files[0]), str(tmp_path / "out.nc"), "--device", "cuda", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.count("CUDA was requested but is not available") == 1, err
    assert (tmp_path / "out.nc").is_file()


@pytest.fixture(scope="module")
def cloudy_series(tmp_path_factory) -> Path:
    """16 days of the bundled real MUR crop under the bundled cloud shapes: a fill that lasts seconds."""
    import pandas as pd

    mur = _bundled("sample_mur_socal.nc")
    days = xr.concat([mur.isel(time=[k % mur.sizes["time"]]) for k in range(16)], "time")
    days = days.assign_coords(time=pd.date_range("2021-01-01", periods=16, freq="D"))
    gappy, _ = days["analysed_sst"].inpaint.add_holes("clouds", fraction=0.4, seed=0)
    path = tmp_path_factory.mktemp("series") / "in.nc"
    days.assign(analysed_sst=gappy).to_netcdf(path)
    return path


def test_sigterm_stops_a_fill_as_ctrl_c_does(tmp_path, cloudy_series):
    """SIGTERM (timeout, scancel, docker stop) killed the process where it stood: a partial temporary stayed
    beside the output. Now it cleans up as after Ctrl-C, says so in one line and exits 143; the earlier output is kept."""
    import signal
    import subprocess
    import sys
    import time

    with xr.open_dataset(cloudy_series) as series:
        earlier = series.isel(time=slice(0, 2)).load().inpaint.fill(model="laplace")
    earlier.to_zarr(tmp_path / "out.zarr")
    command = [sys.executable, "-m", "sstfill.cli", "fill", str(cloudy_series), "out.zarr", "--overwrite", "--chunks", "time=1", "--no-progress"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=dict(os.environ, PYTHONWARNINGS="ignore"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # said just before the fill is computed and written (8 s on 2 cores)
    assert line.startswith("filling 'analysed_sst'"), line + proc.stderr.read()
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    err = proc.stderr.read()
    assert err == "sstfill: terminated (SIGTERM); no output was written\n", err
    assert os.listdir(tmp_path) == ["out.zarr"]  # no temporary left beside it
    with xr.open_dataset(tmp_path / "out.zarr", engine="zarr") as after:
        xr.testing.assert_identical(after.load(), earlier)


def test_a_reader_that_stops_reading_does_not_fail_the_fill(tmp_path):
    """``sstfill fill ... | head -1``: the output was written, then the run said 'error: Broken pipe' and exited 2."""
    import subprocess
    import sys

    source = resources.files("sstfill") / "data" / "sample_slstr_nw_med.nc"
    command = [sys.executable, "-m", "sstfill.cli", "fill", str(source), "out.nc", "--model", "laplace", "--no-progress"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=dict(os.environ, PYTHONWARNINGS="ignore"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("filling ")  # what `head -1` reads; then it closes the pipe
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert proc.stderr.read() == ""
    with xr.open_dataset(tmp_path / "out.nc") as out, xr.open_dataset(source) as src:
        var = "sea_surface_skin_temperature"
        assert int((out[f"{var}_fill_flag"] == 1).sum()) > 1000 and np.isfinite(out[f"{var}_error"]).any()
        observed = src[var].notnull().values
        np.testing.assert_array_equal(out[var].values[observed], src[var].values[observed])
