"""A dask progress bar that counts the fill tasks (the ``sstfill fill`` bar).

Examples
--------
>>> FillProgressBar.is_fill_task(("_fill_dask_block-1a2b", 0, 0, 0))
True
>>> FillProgressBar.is_fill_task(("open_dataset-9f8e", 0))
False
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

from dask.diagnostics import ProgressBar

__all__ = ["FillProgressBar", "FILL_TASK_NAMES"]

#: names of the dask tasks that do the filling (see :mod:`sstfill.xr.dispatch`)
FILL_TASK_NAMES = ("_fill_dask_block", "_fill_beyond_tiles_task", "_blend_blocks")


def _key_name(key: Any) -> str:
    return str(key[0] if isinstance(key, tuple) and key else key)


class FillProgressBar(ProgressBar):
    """A dask progress bar whose percentage is the share of the *fill* tasks done.

    dask's own :class:`~dask.diagnostics.ProgressBar` counts all tasks; in a fill the many
    cheap ones (reads, rechunks, halos) finish first and the expensive fill tasks last, so
    it jumps to about 40 % and then stalls. This one counts only the fill tasks (keys named
    after :data:`FILL_TASK_NAMES`), and all tasks in a computation without any.

    Parameters
    ----------
    out : file, optional
        Where the bar is drawn (default: standard error).
    dt : float
        Seconds between redraws.
    """

    def __init__(self, out: Any = None, dt: float = 0.5, **kwargs: Any) -> None:
        super().__init__(out=sys.stderr if out is None else out, dt=dt, **kwargs)
        self.fill_total = 0
        self.fill_done = 0

    @staticmethod
    def is_fill_task(key: Any) -> bool:
        """Whether the dask task ``key`` runs a fill kernel."""
        name = _key_name(key)
        return any(fill in name for fill in FILL_TASK_NAMES)

    def _start_state(self, dsk: Mapping, state: Mapping) -> None:
        self.fill_total = sum(1 for key in dsk if self.is_fill_task(key))
        self.fill_done = 0

    def _posttask(self, key: Any, result: Any, dsk: Mapping, state: Mapping, worker_id: Any) -> None:
        if self.is_fill_task(key):
            self.fill_done += 1

    def fraction(self) -> float | None:
        """Share of the fill tasks done, or None when this computation fills nothing."""
        return self.fill_done / self.fill_total if self.fill_total else None

    def _update_bar(self, elapsed: float) -> None:
        frac = self.fraction()
        if frac is None:
            super()._update_bar(elapsed)
        elif frac < 1:
            self._draw_bar(frac, elapsed)

