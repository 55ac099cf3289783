"""The split in ``benchmarks/split.py`` is the one ``examples/make_bundled_data.py`` cut the bundled data with."""

from __future__ import annotations

import importlib.util
import inspect

import numpy as np
import pytest

from benchmarks import split
from benchmarks.harness import REPO

SCRIPT = REPO / "examples" / "make_bundled_data.py"
HELPERS = ("ne_atl_split_row", "land_mask", "swath_mask", "window_sums")


@pytest.fixture(scope="module")
def script():
    if not SCRIPT.exists():
        pytest.skip("source tree not available")
    spec = importlib.util.spec_from_file_location("make_bundled_data_for_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", split.SPLIT_CONSTANTS)
def test_constants_agree(script, name):
    assert getattr(split, name) == getattr(script, name)


@pytest.mark.parametrize("name", HELPERS)
def test_helpers_agree(script, name):
    assert inspect.getsource(getattr(split, name)) == inspect.getsource(getattr(script, name))


def test_window_sums_counts():
    sums, rows, cols = split.window_sums(np.ones((6, 8), bool), 4, 2)
    assert sums.tolist() == [[16, 16, 16]] * 2 and rows.tolist() == [0, 2] and cols.tolist() == [0, 2, 4]
