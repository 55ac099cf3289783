"""The numpy layer: numpy arrays in, numpy arrays out (no xarray, dask or torch)."""
