"""``sstfill`` command-line trust: what it refuses to overwrite, and the spelling of its hints."""

from __future__ import annotations

import os
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


def test_overwrite_still_replaces_an_earlier_output_and_files_of_other_grids_or_steps(tmp_path, monthly_files, monkeypatch):
    """The check is narrow: an sstfill output, a file of another grid and one input's own step are replaced as before."""
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
    assert main(["fill", third, "same_month.nc", "--overwrite", "--model", "laplace", "--no-progress"]) == 0
    for name in ("crop.nc", "same_month.nc"):
        with xr.open_dataset(tmp_path / name) as out:
            assert "sst_fill_flag" in out and out.sizes["lat"] == 64
    assert sorted(os.listdir(tmp_path)) == sorted(["crop.nc", "out.nc", "same_month.nc", *(p.name for p in monthly_files)])
