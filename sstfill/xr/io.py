"""Open inputs lazily and write outputs atomically (what the ``sstfill`` command uses).

One place to import the reading and writing functions from: :func:`open_inputs` (in
:mod:`sstfill.xr.inputs`) takes netCDF files, glob patterns of (daily) files or zarr stores
and returns one lazy, dask-backed Dataset; :func:`write_atomic` (in :mod:`sstfill.xr.outputs`,
on :func:`sstfill.atomic.write_atomically`) writes a Dataset, computing it while writing, so
that a failed, interrupted or concurrent run never leaves a half-written file under the
final name; :class:`FillProgressBar` (in :mod:`sstfill.xr.progress`) shows the fill's progress.

Examples
--------
>>> import os, tempfile, sstfill.testing
>>> d = tempfile.mkdtemp()
>>> ds = sstfill.testing.synthetic_sst(32, 48, nt=2).to_dataset()
>>> write_atomic(ds, os.path.join(d, "sst.nc")).name
'sst.nc'
>>> sorted(open_inputs([os.path.join(d, "*.nc")]).data_vars)
['sst']
"""

from __future__ import annotations

from sstfill.atomic import clean_stale_temporaries
from sstfill.errors import OutputError
from sstfill.xr.inputs import expand_inputs, is_zarr_store, open_input, open_inputs
from sstfill.xr.outputs import check_output, output_format, write_atomic
from sstfill.xr.progress import FillProgressBar

__all__ = [
    "OutputError",
    "open_inputs",
    "open_input",
    "write_atomic",
    "check_output",
    "clean_stale_temporaries",
    "FillProgressBar",
    "output_format",
    "is_zarr_store",
    "expand_inputs",
]
