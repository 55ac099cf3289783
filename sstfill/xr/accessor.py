"""The ``.inpaint`` accessor on DataArray and Dataset: validate, call the kernels, wrap.

No maths lives here: grids come from :mod:`sstfill.xr.grid`, land from
:mod:`sstfill.xr.land`, synthetic holes from :mod:`sstfill.xr.samples`, the fill from
:mod:`sstfill.xr.filling`, metadata from :mod:`sstfill.xr.cf`. The accessors keep no
state besides the wrapped object; what both do (a mask, a fill) is one module-level
function that takes the dataset to search for land explicitly.
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
import xarray as xr

from sstfill.errors import InputDataError
from sstfill.models.store import resolve_model
from sstfill.kernels.holes import check_hole_request
from sstfill.xr import cf
from sstfill.xr.filling import fill_field
from sstfill.xr.fields import check_field, pick_variable
from sstfill.xr.grid import SpatialGrid, find_grid
from sstfill.xr.land import observation_mask
from sstfill.xr.samples import add_holes

__all__ = ["DataArrayInpaint", "DatasetInpaint"]


class _Base:
    def __init__(self, obj: Any) -> None:
        self._obj = obj


@xr.register_dataarray_accessor("inpaint")
class DataArrayInpaint(_Base):
    """Gap filling of one gridded field: ``da.inpaint.fill()``, ``.mask()``, ``.add_holes()``.

    Examples
    --------
    >>> import sstfill, sstfill.testing
    >>> sst = sstfill.testing.synthetic_sst(64, 80)
    >>> gappy, hidden = sst.inpaint.add_holes("squares", fraction=0.2, seed=1)
    >>> filled = gappy.inpaint.fill(model="laplace")
    >>> bool(filled.notnull().sum() == sst.notnull().sum())
    True
    """

    @property
    def grid(self) -> SpatialGrid:
        """The spatial grid sstfill found (dims, kind, periodicity)."""
        return find_grid(self._obj)

    def mask(self, land: Any = "auto") -> xr.DataArray:
        """Flags per pixel: 0 observed, 1 cloud (missing or non-finite, not land), 2 land.

        Parameters
        ----------
        land : "auto", None, str or DataArray
            Where land comes from; see :func:`sstfill.xr.land.find_land`.

        Returns
        -------
        DataArray of int8 with CF ``flag_values``/``flag_meanings``.
        """
        return observation_mask(self._obj, land, None)

    def add_holes(
        self,
        kind: str = "clouds",
        fraction: float = 0.3,
        seed: int = 0,
        *,
        land: Any = "auto",
        tile: int = 64,
    ) -> tuple[xr.DataArray, xr.DataArray]:
        """Hide observed ocean pixels under synthetic gaps.

        Parameters
        ----------
        kind : {"clouds", "random_field", "square10", "squares6", "squares"}
            Real cloud shapes, a random-field cloud generator, or the report's three sets.
        fraction : float
            Share of each image the holes cover, strictly between 0 and 1 (ignored by
            ``square10``); holes fall on land and gaps too, so about this share of the
            observed sea pixels is hidden.
        seed : int
            A whole number >= 0; each 2-D image gets its own generator seeded by
            ``(seed, image index)``: the same holes whatever the chunking, other holes at each step.
        land : see :meth:`mask`
        tile : int
            Cell size for ``square10`` and ``clouds``.

        Returns
        -------
        gappy : DataArray
            The field with the hidden pixels set to NaN.
        hidden : DataArray of bool
            True where an observed ocean pixel was hidden (dims and coords of the field, lazy
            on dask). Never hidden: land, pixels already missing (NaN, +-inf) and a swath's
            pixels without latitude/longitude, which the fill leaves missing.
        """
        return add_holes(self._obj, None, kind, fraction, seed, land=land, tile=tile)

    def fill(
        self,
        model: Any = None,
        *,
        land: Any = "auto",
        tile: int | None = None,
        overlap: int = 16,
        stitch: bool = True,
        batch_size: int | None = None,
        min_observed: float = 0.0,
        fallback: bool = True,
        device: str | None = "auto",
        precision: str | None = None,
        max_distance: Any = "auto",
        error: bool = True,
        climatology: Any = "auto",
        persistence: bool = True,
    ) -> xr.DataArray:
        """Fill cloud gaps; observed pixels are returned bit for bit and land stays NaN.

        Lazy on dask-backed input: nothing is computed until asked.

        Parameters
        ----------
        model : None, "auto", "default", "fast", "context", "latent", "laplace", path or model object
            None or "auto": the bundled ``context`` model on daily series (the more accurate
            there), ``default`` otherwise (:func:`sstfill.xr.series.auto_model_name`); a bundled
            model's name (``sstfill info`` says what each is for); "laplace": the harmonic fill.
        land : "auto", None, str or DataArray
            Where land comes from; see :func:`sstfill.xr.land.find_land`.
        tile : int, optional
            Tile size (default: the model's).
        overlap : int
            Pixels shared by neighbouring tiles, blended with a tapered window (see the tiling guide).
        stitch : bool
            Stitch the tiles in the gradient domain (the default): where neighbouring tiles
            disagree, the difference is spread over the whole gap instead of stepping on the
            tile lattice (:mod:`sstfill.kernels.stitching`); False: their plain weighted
            blend. Images over 4096 x 4096 pixels get the plain blend.
        batch_size : int, optional
            Tiles per model call; default: the model's ``preferred_batch`` (on a CPU 256, or
            fewer for wide context windows: 64 for the ``context`` model; 8192 on a GPU,
            where concurrent chunks are also batched together).
        min_observed : float
            Tiles with no more observed data than this fraction (in their context window, for
            a model with one) are not used; the others are blended with weights proportional
            to their observed fraction, at least 0.05 (so one tile outweighs a neighbour by at
            most 20 to 1).
        fallback : bool
            Gaps the tiles leave (clouds wider than a tile; gaps beyond a model's ``tile_reach``,
            :data:`sstfill.models.inpainter.TILE_REACH`, from its image's data) get a harmonic
            fill about the image's large-scale trend (:mod:`sstfill.kernels.trend`); with
            ``fallback=False`` they stay NaN, flagged ``not_filled``.
        device : {"auto", "cpu", "cuda"}, optional
            Where a neural model runs: "auto" (the default) is the GPU when CUDA is
            available, else the CPU; None leaves a model object where it is.
        precision : {"auto", "float32", "bfloat16"}, optional
            What a neural model computes in. "auto" (the default) is bfloat16 on GPUs and on
            CPUs with native bfloat16 (AVX512-BF16/AMX), 2-3x faster than float32 there and
            within about 0.01 K of it; "float32" for results that do not depend on the CPU.
        max_distance : "auto", None, float or str
            How far from the observations gaps are filled; gaps farther away stay NaN and
            are flagged ``beyond_reach`` (an L2 swath is not extended across the globe).
            "auto" (the default) is the reach measured on held-out data
            (:data:`sstfill.xr.reach.AUTO_REACH_KM` km, or
            :data:`~sstfill.xr.reach.AUTO_REACH_PX` pixels on coarser grids); a number is
            km; a string gives units ("50 km", "30 px"); None fills every gap, however far.
            See :mod:`sstfill.xr.reach`.
        error : bool
            Also return the standard error of each filled value, as a ``<name>_error``
            coordinate (field units, NaN where nothing was filled; see
            :mod:`sstfill.kernels.uncertainty` and the CF guide); ``error=False`` skips it.
        climatology : "auto", "monthly", None or DataArray
            Fill the anomalies from a monthly climatology and add it back: "auto" (the
            default) for monthly maps in which every calendar month occurs in at least 3 years
            (the series' own climatology, from its observed pixels); "monthly" on any series
            with dates; None never; or a climatology with a ``month`` dimension. See
            :mod:`sstfill.xr.climatology`.
        persistence : bool
            On a series, blend each filled pixel with the guess from the neighbouring days'
            observations (within 2 days; where none of those saw it, 3 to 5 days away), the
            more the farther it lies from its own day's data
            (equal weights 32 km away; :mod:`sstfill.kernels.persistence`); ``False`` fills each
            step from the model alone. Single images and monthly maps are not changed.

        Returns
        -------
        DataArray
            The filled field with CF attributes, a ``<name>_fill_flag`` coordinate
            (0 observed, 1 filled, 2 land, 3 not filled, 4 beyond reach) and, unless
            ``error=False``, a ``<name>_error`` coordinate. Non-finite input values (+-inf)
            are treated as missing: they are filled and flagged 1, never returned as observed.
        """
        options = dict(tile=tile, overlap=overlap, stitch=stitch, batch_size=batch_size, min_observed=min_observed, fallback=fallback, error=error, climatology=climatology,
                       persistence=persistence)
        return fill_field(self._obj, model, land=land, device=device, precision=precision, max_distance=max_distance, **options)

    def evaluate(
        self,
        model: Any = None,
        *,
        holes: Sequence[str] = ("square10", "squares6", "squares"),
        fraction: float = 0.25,
        seed: int = 0,
        min_valid: float = 0.95,
        max_tiles: int | None = 2000,
    ) -> pd.DataFrame:
        """The SST report's evaluation: hide pixels of real 64x64 tiles, fill, score.

        Tiles are cut from the field on a non-overlapping lattice (those at least
        ``min_valid`` observed); for each hole set the model fills them and the table gives
        RMSE over the whole tile and over the hidden pixels, in per-tile normalised units and
        in the field's units (degC for SST in kelvin or degC), MAE, bias and SSIM.

        Parameters
        ----------
        model : None, "fast", "laplace", path or model
        holes : kind or kinds of :func:`sstfill.kernels.holes.make_holes`
        fraction : float
            Cover of the many-holes sets.
        seed : int

        Returns
        -------
        pandas.DataFrame, one row per hole set, with the report's own RMSE beside ours.
        """
        from sstfill.evaluation.protocols import evaluate_tiles_table
        from sstfill.training.tiles import cut_tiles_by_index
        from sstfill.xr.samples import images_of

        da = self._obj
        check_field(da)
        holes = (holes,) if isinstance(holes, str) else tuple(holes)
        for kind in holes:  # before any tile is cut or filled, naming the variable
            check_hole_request(kind, fraction, seed=seed, name=da.name)
        model = resolve_model(model)
        tile = getattr(model, "tile_size", None) or 64
        tiles = cut_tiles_by_index(images_of(da, self.grid.dims), tile, tile, min_valid, max_tiles, seed)
        if len(tiles) == 0:
            raise InputDataError(f"Variable {da.name!r} has no {tile}x{tile} tile that is {min_valid:.0%} observed; lower min_valid.")
        return evaluate_tiles_table(model, tiles, holes, fraction, seed)

    def plot(self, filled: xr.DataArray, truth: xr.DataArray | None = None, **kwargs: Any):
        """Quick-look figure of this field (with gaps) and its fill; see :func:`sstfill.plot.quicklook`.

        Examples
        --------
        >>> fig = gappy.inpaint.plot(gappy.inpaint.fill(), truth=sst)  # doctest: +SKIP
        """
        from sstfill.plot import quicklook

        return quicklook(self._obj, filled, truth, **kwargs)

    def train(self, **kwargs: Any):
        """Train a model on this field; see :meth:`DatasetInpaint.train`."""
        da = self._obj
        name = da.name if da.name is not None else "field"
        return da.to_dataset(name=name).inpaint.train(var=name, **kwargs)


@xr.register_dataset_accessor("inpaint")
class DatasetInpaint(_Base):
    """Gap filling of a variable of a Dataset: ``ds.inpaint.fill(var="sst")``.

    Examples
    --------
    >>> import sstfill, sstfill.testing
    >>> ds = sstfill.testing.synthetic_sst(64, 80).to_dataset()
    >>> out = ds.inpaint.fill(var="sst", model="laplace")
    >>> sorted(out.data_vars)
    ['sst', 'sst_error', 'sst_fill_flag']
    """

    def _var(self, var: str | None) -> xr.DataArray:
        return pick_variable(self._obj, var)

    def mask(self, var: str | None = None, land: Any = "auto") -> xr.DataArray:
        """Observation mask of ``var``: see :meth:`DataArrayInpaint.mask`."""
        return observation_mask(self._var(var), land, self._obj)

    def add_holes(self, var: str | None = None, **kwargs: Any) -> xr.Dataset:
        """The dataset with ``var`` holed and a boolean ``<var>_hidden`` variable added.

        Keyword arguments are those of :meth:`DataArrayInpaint.add_holes`; land is looked for
        among the dataset's variables too (``land="lsmask"`` names one).
        """
        da = self._var(var)
        gappy, hidden = add_holes(da, self._obj, **kwargs)
        return self._obj.assign({da.name: gappy, f"{da.name}_hidden": hidden})

    def fill(self, var: str | None = None, model: Any = None, **kwargs: Any) -> xr.Dataset:
        """The dataset with ``var`` filled, a ``<var>_fill_flag`` flag variable and a ``<var>_error`` variable added.

        Keyword arguments are those of :meth:`DataArrayInpaint.fill`; land is looked for
        among the dataset's variables too.
        """
        da = self._var(var)
        filled = fill_field(da, model, self._obj, **kwargs)
        outputs = cf.output_names(da.name)
        ours = [n for n in outputs if n in filled.coords]
        out = self._obj.drop_vars([n for n in outputs if n in self._obj.variables])  # an earlier fill's, never left stale
        out[da.name] = filled.drop_vars(ours)
        for n in ours:
            out[n] = filled[n].variable
        out.attrs = cf.add_history(out.attrs, f"sstfill: gaps of {da.name!r} filled")
        return out

    def train(
        self,
        var: str | None = None,
        *,
        method: str = "autoencoder",
        init: Any = None,
        max_minutes: float | None = None,
        holes: str | Sequence[str] | None = None,
        hole_fraction: tuple[float, float] = (0.1, 0.7),
        epochs: int = 30,
        batch_size: int = 32,
        patience: int | None = None,
        split: Sequence[float] | None = None,
        split_by: str | None = None,
        device: str = "auto",
        seed: int = 0,
        preset: str | None = None,
        model: Any = None,
        stride: int = 32,
        min_valid: float | None = None,
        max_tiles: int | None = None,
        steps_per_epoch: int | None = None,
        max_seconds: float | None = None,
        lr: float | None = None,
        checkpoint: str | None = None,
        resume: str | None = None,
        progress: bool = True,
        climatology: Any = "auto",
        **config: Any,
    ):
        """Train an adversarial autoencoder on ``var``, or adapt one to it; returns the trained :class:`~sstfill.Inpainter`.

        Tiles are cut by index (``stride`` apart, at least ``min_valid`` observed) and split
        so none leaks between the sets: by blocks of time when there is a time axis,
        otherwise by bands of rows. Holes are drawn afresh every epoch; validation holes are
        fixed; training stops early after ``patience`` epochs without improvement and the
        best weights are kept.

        With ``init`` a copy of that model is fine-tuned on the dataset's own observed
        pixels (DINEOF's and DINCAE's convention: hide observed pixels under the dataset's
        own clouds of other days and places, learn to restore them), for ``max_minutes``;
        the original model is left unchanged and the result records what it was adapted on
        (``model.adapted_on``, saved with it).

        Parameters
        ----------
        var : str, optional
            The variable (needed when the dataset has several).
        method : {"autoencoder", "latent"}
            "latent": a DCGAN on the whole tiles that fills by searching its latent space
            (:mod:`sstfill.models.latent`, guide "Latent-space inpainting"), trained afresh
            in one run: it refuses ``init``, ``model``, ``preset``, ``patience`` and
            checkpoints, and ``**config`` sets :class:`~sstfill.models.latent.LatentConfig` fields.
        init : "auto", "default", "fast", "context", path or Inpainter, optional
            Adapt a copy of this model instead of training a fresh ``preset`` one ("auto":
            context on a series, default on an image: :func:`~sstfill.xr.series.auto_init_name`). Changes
            the defaults: ``holes=("own_clouds", "clouds")``, ``lr=1e-4``,
            ``min_valid=0.5``, ``steps_per_epoch=16`` (validated often within a budget of
            minutes), ``split``/``split_by`` below; no adversary (the reconstruction alone);
            the weights kept fill the validation part best (:mod:`sstfill.xr.validation`),
            the starting ones included (``model.history["best_epoch"]``: -1 for them);
            with a time budget the budget decides when to stop, else ``patience=3``.
        max_minutes : float, optional
            Time budget in minutes (``max_seconds`` in minutes; the smaller wins), more
            than 0: 0, a negative number or NaN is refused.
        holes : str or sequence of str
            Kinds of synthetic holes (see :func:`sstfill.kernels.holes.make_holes`), and
            ``"own_clouds"``: windows of the dataset's own gaps, from other days and places
            (:func:`sstfill.training.tiles.cut_cloud_masks`; where it has none, the other kinds
            only, with a warning). Default: five synthetic kinds, ``("own_clouds", "clouds")`` with ``init``.
        hole_fraction : (float, float)
            Range of the fraction of each tile hidden.
        epochs, batch_size : int
            Training length, tiles per step.
        patience : int, optional
            Epochs without improvement before stopping; default 5 (with ``init``: 3, none under a time budget).
        split : (train, validation, test) fractions
            Default ``(0.65, 0.15, 0.2)``; ``(0.75, 0.25, 0.0)`` with ``init`` (no test set:
            the benchmarks measure an adapted model on its own cases).
        split_by : {"auto", "space"}, optional
            "auto" splits a series by blocks of time (one image by bands of rows); "space" by
            bands of rows, every step in every set. Default: "space" with ``init`` (every
            day of the archive, the ones being filled included, teaches the model), else "auto".
        device : "auto", "cpu" or "cuda"
        seed : int
            Makes CPU training reproducible.
        preset : str, optional
            Architecture preset of a fresh model, :data:`sstfill.models.networks.PRESETS`
            (default ``"default"``); refused with ``init`` or ``model``, whose architecture
            is kept. ``**config`` overrides
            any :class:`~sstfill.models.networks.ModelConfig` field (e.g. ``discriminator="pair"``,
            ``adversarial_weight=0``).
        model : Inpainter, optional
            Start from a copy of this model (fine-tuning) with the settings of a fresh run;
            ``init`` is the same with the adaptation defaults. The model passed in is left
            unchanged.
        steps_per_epoch : int, optional
            Batches per epoch (default: one pass over the training tiles).
        max_seconds : float, optional
            Stop after the batch in which the training time passes this (a time budget
            on a laptop; that epoch is validated as usual); the best weights so far are returned.
        checkpoint : path, optional
            Saved after every epoch; ``resume=`` takes it back. An existing file there must
            be an sstfill model file (an earlier checkpoint): any other is refused, not replaced.
        progress : bool
            Progress bar with the losses.
        climatology : "auto", "monthly", None or DataArray
            Train on the anomalies from a monthly climatology, as :meth:`DataArrayInpaint.fill`
            fills them (same rule and default): a model adapted to a multi-year series learns
            the fields it will be given.

        Returns
        -------
        Inpainter or LatentInpainter
            With ``model.history`` (losses per epoch, test score) for plotting.

        Examples
        --------
        >>> import sstfill, sstfill.testing
        >>> ds = sstfill.testing.synthetic_sst(128, 128, nt=6).to_dataset()
        >>> model = ds.inpaint.train("sst", epochs=1, preset="fast", progress=False)
        >>> len(model.history["val_loss"])
        1
        """
        from sstfill.xr.training import train_model

        options = dict(locals())
        for name in ("self", "var", "config", "train_model"):
            options.pop(name)
        return train_model(pick_variable(self._obj, var, action="train"), self._obj, **options, **config)
