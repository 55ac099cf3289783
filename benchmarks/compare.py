#!/usr/bin/env python
"""Compare two benchmark JSON results number by number (e.g. before and after a refactoring).

Walks both JSON trees and reports every leaf that differs, is missing on one side or has
another type. Keys that change from run to run by nature (timestamps, seconds, git state,
the command, the environment) are ignored; ``--ignore`` adds more (a key name matches at
any depth). Numbers must be equal unless ``--rtol`` allows a relative difference.
Exit status 0 when nothing differs, 1 otherwise.

    python benchmarks/compare.py /tmp/before/accuracy.json /tmp/after/accuracy.json

Examples
--------
>>> compare({"a": 1.0, "seconds": 3}, {"a": 1.0, "seconds": 4})
[]
>>> compare({"g": {"rmse": 0.2731}}, {"g": {"rmse": 0.2732}})
[('g.rmse', 0.2731, 0.2732)]
>>> compare({"x": [1, 2]}, {"x": [1, 2], "y": 0})
[('y', '<missing>', 0)]
>>> compare({"complete": True, "n": 0}, {"complete": 1, "n": False})  # another type: a flag is no count
[('complete', True, 1), ('n', 0, False)]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

# keys whose values differ between runs by nature: times, dates, git state, command, machine
VOLATILE = frozenset({
    "timestamp", "date", "git_commit", "git_dirty", "git", "command", "argv", "environment", "seconds",
    "total_seconds", "report_protocol_seconds", "runtime_s", "sstfill_version", "python", "out",
})
MISSING = "<missing>"


def _volatile(key: str, ignore: frozenset[str]) -> bool:
    return key in ignore or key.endswith("_seconds") or key.endswith("_s")


def compare(before: Any, after: Any, *, ignore: frozenset[str] = VOLATILE, rtol: float = 0.0,
            path: str = "") -> list[tuple[str, Any, Any]]:
    """``[(path, before, after)]`` for every leaf that differs (keys in ``ignore`` skipped)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in list(before) + [k for k in after if k not in before]:
            if _volatile(key, ignore):
                continue
            sub = f"{path}.{key}" if path else str(key)
            if key not in after or key not in before:
                out.append((sub, before.get(key, MISSING), after.get(key, MISSING)))
            else:
                out += compare(before[key], after[key], ignore=ignore, rtol=rtol, path=sub)
        return out
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [(f"{path}[len]", len(before), len(after))]
        out = []
        for i, (b, a) in enumerate(zip(before, after)):
            out += compare(b, a, ignore=ignore, rtol=rtol, path=f"{path}[{i}]")
        return out
    if isinstance(before, bool) != isinstance(after, bool):  # True == 1 in Python, but a flag is no count
        return [(path, before, after)]
    numbers = (int, float)
    if isinstance(before, numbers) and isinstance(after, numbers) and not isinstance(before, bool):
        if before == after or (rtol and math.isclose(before, after, rel_tol=rtol)):
            return []
        return [(path, before, after)]
    return [] if before == after else [(path, before, after)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--ignore", action="append", default=[], help="another key to ignore (repeatable)")
    p.add_argument("--rtol", type=float, default=0.0, help="relative tolerance for numbers (default: exact)")
    p.add_argument("--show", type=int, default=50, help="print at most this many differences")
    args = p.parse_args(argv)
    before = json.loads(Path(args.before).read_text(encoding="utf-8"))
    after = json.loads(Path(args.after).read_text(encoding="utf-8"))
    diffs = compare(before, after, ignore=VOLATILE | set(args.ignore), rtol=args.rtol)
    for path, b, a in diffs[: args.show]:
        print(f"{path}: {b!r} -> {a!r}")
    if len(diffs) > args.show:
        print(f"... and {len(diffs) - args.show} more")
    print(f"{len(diffs)} difference(s) between {args.before} and {args.after}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
