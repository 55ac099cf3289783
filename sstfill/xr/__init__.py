"""The xarray/dask layer: grids, land, CF metadata, numpy-or-dask dispatch, the accessors and file I/O."""
