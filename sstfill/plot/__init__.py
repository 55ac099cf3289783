"""Quick-look figures: the input, the fill, its standard error, its flags, the error, and training curves.

Import it yourself (``import sstfill.plot``); matplotlib is only needed here. The figures
follow the SST report's figures 10-15: input with gaps, filled field, where it was filled,
and, when the truth is known, the error map and a scatter of filled against true values on
the pixels that were missing from the input. A fill that carries its standard error
(``<name>_error``, from ``fill(error=True)``) gets a map of it beside the fill.

SST in kelvin is shown in degrees Celsius. Land is grey, gaps are white. Fields with more
than two dimensions are shown at the first index of every other dimension.

The modules: :mod:`~sstfill.plot.figures` (``quicklook``, ``flag_map``),
:mod:`~sstfill.plot.history` (``training_curves``), :mod:`~sstfill.plot.demo` (the figure of
``sstfill demo``), :mod:`~sstfill.plot.maps` (the map layer they share) and
:mod:`~sstfill.plot.units` (kelvin to degrees Celsius); :mod:`~sstfill.plot.quality`
(``plot_closest_pairs``: the closest pairs of a birthday test).
"""

from __future__ import annotations

from sstfill.plot.figures import FLAG_COLOURS, flag_map, quicklook  # noqa: F401  (FLAG_COLOURS re-exported)
from sstfill.plot.history import training_curves
from sstfill.plot.maps import LAND_COLOUR, UNSCORED_COLOUR  # noqa: F401  (the map colours, re-exported)
from sstfill.plot.quality import plot_closest_pairs

__all__ = ["quicklook", "flag_map", "training_curves", "plot_closest_pairs"]
