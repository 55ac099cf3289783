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

from sstfill._version import __version__  # the source's own version, installed or not

from sstfill.xr import accessor as _accessor  # noqa: E402,F401  (registers .inpaint)
from sstfill.models.store import load_model  # noqa: E402
from sstfill.models.harmonic import LaplaceFiller  # noqa: E402
from sstfill.models.inpainter import Inpainter  # noqa: E402
from sstfill.errors import CLIError, GridError, InputDataError, ModelFileError, ModelMismatchError, OutputError, SSTFillError  # noqa: E402
from sstfill.kernels.tiling import TilePlan  # noqa: E402

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
    "OutputError",
    "CLIError",
]
