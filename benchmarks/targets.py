"""The targets the issues set for sstfill, in one table, and how a measured value meets one.

Each target is a measured quantity, a comparison and a limit; the renderers of the
accuracy and speed pages quote them from here (never a number written into their prose).

Examples
--------
>>> TARGETS["default_output_tiles_per_s"].met(619)
True
>>> TARGETS["accuracy_ratio_vs_best_peer"].met(0.941)
False
>>> TARGETS["whole_file_vs_copy"].describe()
'whole file: open -> fill -> write, time relative to reading and writing the same store <= 3'
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

__all__ = ["Target", "TARGETS", "targets_table"]


@dataclass(frozen=True)
class Target:
    """``quantity`` must be ``comparison`` (``"<="`` or ``">="``) ``limit``; ``page`` measures it."""

    quantity: str
    comparison: str
    limit: float
    page: str  # "accuracy" or "speed"
    measured_by: str

    def met(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target (None when there is no value)."""
        if value is None:
            return None
        return {"<=": operator.le, ">=": operator.ge}[self.comparison](value, self.limit)

    def describe(self) -> str:
        return f"{self.quantity} {self.comparison} {self.limit:g}"


TARGETS: dict[str, Target] = {
    "accuracy_ratio_vs_best_peer": Target(
        "pooled RMSE of the default model / that of the best peer, on the pixels every method filled, in every "
        "held-out group (at least 15 % lower)", "<=", 0.85, "accuracy",
        "benchmarks/accuracy.py, ratios[group][model].rmse_common_pooled.ratio"),
    "accuracy_ratio_vs_best_peer_stretch": Target(
        "the same ratio, stretch goal (at least 30 % lower)", "<=", 0.70, "accuracy",
        "benchmarks/accuracy.py, ratios[group][model].rmse_common_pooled.ratio"),
    "default_output_tiles_per_s": Target(
        "default model on CPU, output tiles/s (best of numpy, dask, 1 torch thread)", ">=", 300, "speed",
        "benchmarks/speed.py section 1"),
    "fast_output_tiles_per_s": Target(
        "fast model on CPU, output tiles/s (best of numpy, dask, 1 torch thread)", ">=", 1000, "speed",
        "benchmarks/speed.py section 1"),
    "default_vs_biharmonic_speed": Target(
        "default model's speed / scikit-image biharmonic's, same field", ">=", 2, "speed",
        "benchmarks/speed.py section 1"),
    "whole_file_vs_copy": Target(
        "whole file: open -> fill -> write, time relative to reading and writing the same store", "<=", 3, "speed",
        "benchmarks/speed.py section 2"),
    "peak_memory_16x_vs_1x": Target(
        "default model's peak memory at 16x the area / at 1x", "<=", 1.5, "speed",
        "benchmarks/speed.py section 3"),
}


def targets_table() -> list[str]:
    """The targets as markdown table lines."""
    from benchmarks.harness import md_table

    return md_table(["target", "quantity", "limit", "measured by"],
                    [[name, t.quantity, f"{t.comparison} {t.limit:g}", t.measured_by] for name, t in TARGETS.items()])
