"""Scoring helpers of the benchmarks checked against independent computations (``benchmarks/``)."""

from __future__ import annotations

from benchmarks.compare import compare


def test_compare_reports_a_flag_that_became_a_count():
    """``True == 1`` in Python: a flag turned into a count (or back) is another type, and reported."""
    before = {"truth_complete": True, "cases": 0, "rmse": 0.25}
    after = {"truth_complete": 1, "cases": False, "rmse": 0.25}
    assert compare(before, after) == [("truth_complete", True, 1), ("cases", 0, False)]
    assert compare({"a": 1, "b": 2.0}, {"a": 1.0, "b": 2}) == []  # equal numbers stay equal
