"""The documentation: the API page matches the docstrings, and the site builds strictly."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _gen_api():
    spec = importlib.util.spec_from_file_location("_sstfill_gen_api", DOCS / "gen_api.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_api_page_is_up_to_date():
    expected = _gen_api().render()
    current = (DOCS / "api.md").read_text(encoding="utf-8")
    assert current == expected, "docs/api.md is out of date: run `python docs/gen_api.py` and commit the result"


def test_api_page_names_what_users_call():
    text = _gen_api().render()
    for name in (
        "DataArray.inpaint.fill",
        "DataArray.inpaint.add_holes",
        "Dataset.inpaint.train",
        "sstfill.Inpainter",
        "sstfill.load_model",
        "sstfill.LaplaceFiller",
        "sstfill.TilePlan",
        "sstfill.kernels.holes.make_holes",
        "sstfill.xr.land.find_land",
        "sstfill.plot.quicklook",
        "sstfill.evaluation.metrics.rmse",
        "sstfill.ModelFileError",
    ):
        assert f"{{ #{name} }}" in text, name
    assert "DataArrayInpaint.fill" not in text  # internal class names are not shown as headings


def test_docs_images_exist():
    """Every image a page shows is in docs/images (made by docs/make_figures.py)."""
    import re

    missing = []
    for page in DOCS.rglob("*.md"):
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).resolve().is_file():
                missing.append(f"{page.relative_to(DOCS)} -> {target}")
    assert not missing


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    project = ROOT
    if not (DOCS / "benchmarks.md").exists():
        # the benchmarks page is written separately; build a copy with a stand-in so the
        # rest of the site is still checked
        project = tmp_path / "project"
        shutil.copytree(DOCS, project / "docs")
        shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
        (project / "docs" / "benchmarks.md").write_text("# Benchmarks\n\nTo be written.\n", encoding="utf-8")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "--site-dir", str(site)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (site / "index.html").is_file()
    assert (site / "api" / "index.html").is_file()
    assert (site / "images" / "quicklook_mur_socal.png").is_file()
    assert not list(site.rglob("*.py")), "scripts under docs/ must not be published"
