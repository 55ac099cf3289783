"""The torch layer: networks, the Inpainter, the model store and batching (no xarray or dask)."""
