"""sstfill: fill cloud gaps in satellite SST (and other gridded ocean fields).

``import sstfill`` registers the ``.inpaint`` accessor on xarray DataArrays and Datasets.

Examples
--------
>>> import sstfill, sstfill.testing
>>> sst = sstfill.testing.synthetic_sst(64, 64)
>>> gappy, hidden = sst.inpaint.add_holes("squares", fraction=0.2, seed=0)
>>> filled = gappy.inpaint.fill(model="laplace")
>>> int(filled.sst_fill_flag.isin([1]).sum()) == int(hidden.sum())
True
"""

from __future__ import annotations

from ._version import __version__  # the source's own version, installed or not

from . import accessor as _accessor  # noqa: E402,F401  (registers .inpaint)
from .checkpoint import load_model  # noqa: E402
from .classical import LaplaceFiller  # noqa: E402
from .inpainter import Inpainter  # noqa: E402
from .errors import GridError, InputDataError, ModelFileError, ModelMismatchError, SSTFillError  # noqa: E402
from .tiling import TilePlan  # noqa: E402

__all__ = [
    "__version__",
    "Inpainter",
    "load_model",
    "LaplaceFiller",
    "TilePlan",
    "SSTFillError",
    "GridError",
    "InputDataError",
    "ModelMismatchError",
    "ModelFileError",
]
