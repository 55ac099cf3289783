"""Training from a DataArray: cut its tiles, its own cloud masks, train or adapt, record what on.

:meth:`sstfill.xr.accessor.DatasetInpaint.train` is the front end (its docstring says what
every option does); this is its body.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import xarray as xr

from sstfill.errors import InputDataError, ModelFileError, ModelMismatchError, OutputError
from sstfill.models.files import is_model_file
from sstfill.models.inpainter import Inpainter
from sstfill.models.latent import LatentConfig
from sstfill.models.store import resolve_model
from sstfill.training.latent import MAX_MISSING, train_latent
from sstfill.training.settings import check_budget, check_options
from sstfill.training.tiles import OWN_CLOUDS, draw_holes
from sstfill.training.trainer import TrainSettings, fit, new_model
from sstfill.xr.climatology import monthly_climatology
from sstfill.xr.fields import check_field
from sstfill.xr.grid import find_grid
from sstfill.xr.samples import MAX_ADAPTING_VALIDATION_SAMPLES, MAX_VALIDATION_SAMPLES, ROWS_SPLIT, own_cloud_masks, tiles_from_dataarray
from sstfill.xr.series import COARSE_STEP_DAYS, auto_init_name, typical_step_days, wants_auto
from sstfill.xr.validation import fill_validation

__all__ = ["train_model", "METHODS"]

#: What ``train(method=...)`` accepts: the adversarial autoencoder, or latent-space
#: inpainting with a DCGAN (:mod:`sstfill.models.latent`).
METHODS = ("autoencoder", "latent")


def train_model(
    da: xr.DataArray,
    dataset: xr.Dataset,
    *,
    method: str,
    init: Any,
    max_minutes: float | None,
    holes: str | Sequence[str] | None,
    hole_fraction: tuple[float, float],
    epochs: int,
    batch_size: int,
    patience: int | None,
    split: Sequence[float] | None,
    split_by: str | None,
    device: str,
    seed: int,
    preset: str | None,
    model: Any,
    stride: int,
    min_valid: float | None,
    max_tiles: int | None,
    steps_per_epoch: int | None,
    max_seconds: float | None,
    lr: float | None,
    checkpoint: str | None,
    resume: str | None,
    progress: bool,
    climatology: Any,
    **config: Any,
):
    """Train (or, with ``init``, adapt) a model on ``da``; see :meth:`~sstfill.xr.accessor.DatasetInpaint.train`.

    Every option is required here: their defaults and meaning live in one place, the accessor.
    """

    check_budget(max_minutes, max_seconds)  # before the data is read: a NaN budget trained without end
    check_options(epochs=epochs, batch_size=batch_size, patience=patience, steps_per_epoch=steps_per_epoch, stride=stride, max_tiles=max_tiles,
                  hole_fraction=hole_fraction, split=split, min_valid=min_valid, lr=lr, split_by=split_by, seed=seed, holes=holes)
    if checkpoint is not None and Path(checkpoint).expanduser().is_file() and not is_model_file(Path(checkpoint).expanduser()):
        raise OutputError(f"checkpoint={str(checkpoint)!r} exists and is not an sstfill model file: it would be replaced after the first epoch.",
                          fix="Name a new file, or an earlier checkpoint of this run, for checkpoint=.", argument="checkpoint")
    check_field(da)
    grid = find_grid(da)
    work = da.transpose(*[d for d in da.dims if d not in grid.dims], *grid.dims)
    clim = monthly_climatology(work, grid.dims, climatology, periodic_x=grid.periodic)
    if clim is not None:  # what fill() will give the model: the anomalies from the series' monthly climatology
        da = clim.anomalies(work).rename(da.name)
        da.attrs = dict(work.attrs)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "latent":
        unused = {"init": init, "model": model, "preset": preset, "patience": patience, "checkpoint": checkpoint, "resume": resume}
        given = [k for k, v in unused.items() if v is not None]
        if given:
            raise TypeError(f"train(method='latent') does not take {', '.join(given)}: a latent (DCGAN) model is trained from scratch, in one run.")
        if max_minutes is not None:
            max_seconds = 60 * max_minutes if max_seconds is None else min(max_seconds, 60 * max_minutes)
        return _train_latent(da, grid.dims, holes=holes, hole_fraction=hole_fraction, epochs=epochs, batch_size=batch_size, split=split,
                             split_by=split_by, device=device, seed=seed, stride=stride, max_tiles=max_tiles, steps_per_epoch=steps_per_epoch,
                             max_seconds=max_seconds, lr=lr, progress=progress, config=config)
    if init is not None and wants_auto(init):  # the bundled model that adapts best to this field
        init = auto_init_name(work, grid.dims)
    adapting = init is not None
    if preset is not None and (adapting or model is not None):  # it would be ignored: the model's own architecture is kept
        given = "init" if adapting else "model"
        raise TypeError(f"train() takes {given}= or preset=, not both: {given}= keeps that model's architecture. "
                        f"Drop preset={preset!r} to start from that model, or drop {given}= to train a fresh {preset!r} model.")
    preset = preset if preset is not None else "default"
    if adapting:
        if model is not None:
            raise TypeError("train() takes init= or model=, not both (init= adapts a copy of a model to this dataset).")
        try:
            model = resolve_model(init, device=None)
        except ModelFileError as err:  # its fix spoke of fill's model=None, which is not what init= wants
            raise ModelFileError(f"The model to adapt, {init!r}: {err.problem}", fix="Pass init='auto', 'default', 'fast', 'context', an existing model file or an Inpainter.",
                                 argument="init") from err
        if not isinstance(model, Inpainter):
            raise ModelMismatchError(f"Model {init!r} is not an autoencoder that can be adapted.", argument="init",
                                     fix="Pass init='default', 'fast', 'context', a model file or an Inpainter (a latent model is trained afresh with method='latent').")
    holes = holes if holes is not None else ((OWN_CLOUDS, "clouds") if adapting else ("clouds", "squares", "squares6", "square10", "random_field"))
    holes = (holes,) if isinstance(holes, str) else tuple(holes)
    lr = lr if lr is not None else (1e-4 if adapting else 1e-3)
    min_valid = min_valid if min_valid is not None else (0.5 if adapting else 0.8)
    split = tuple(split) if split is not None else ((0.75, 0.25, 0.0) if adapting else (0.65, 0.15, 0.2))
    split_by = split_by or ("space" if adapting else "auto")
    if patience is None:  # an explicit patience is kept, whatever its value
        patience = 5 if not adapting else 3 if max_seconds is None and max_minutes is None else 10**6  # a budget: it decides; the best weights are kept
    if adapting and steps_per_epoch is None:
        steps_per_epoch = 16
    if max_minutes is not None:
        max_seconds = 60 * max_minutes if max_seconds is None else min(max_seconds, 60 * max_minutes)
    net = new_model(preset, base=model, seed=seed, **config)  # seeded: the initial weights are part of a reproducible run
    step = typical_step_days(da, grid.dims) if net.config.time_offsets and "time_step_days" not in config else None
    if step is not None:  # a coarser series than daily: the neighbours are its adjacent steps; else days, as bundled
        net.config.time_step_days = round(step, 3) if step >= COARSE_STEP_DAYS else 1.0
    if adapting and not config:  # fine-tuning: the reconstruction alone (a fresh adversary's first steps only add noise)
        net.config.adversarial_weight = 0.0
        net.discriminator = None
    tile = net.config.tile_size
    cut = dict(split=split, tile=tile, stride=stride, min_valid=min_valid, max_tiles=max_tiles, seed=seed, context=net.config,
               max_validation=MAX_ADAPTING_VALIDATION_SAMPLES if adapting else MAX_VALIDATION_SAMPLES)
    try:
        train, val, test, how = tiles_from_dataarray(da, grid.dims, by=split_by, **cut)
    except InputDataError:
        if not (adapting and split_by == "space"):
            raise
        train = val = ()
    if adapting and split_by == "space" and (not len(train) or not len(val)):
        # a band of rows too small (or all land) for a tile or context window: split by time instead
        train, val, test, how = tiles_from_dataarray(da, grid.dims, by="auto", **cut)
    library, own_masks = None, None
    if OWN_CLOUDS in holes:
        size = net.config.window if (net.config.context_margin or net.config.time_offsets) else tile
        if size > min(da.sizes[d] for d in grid.dims):  # images smaller than a window: tile-sized masks, tiled into windows when drawn
            size = tile
        library = own_cloud_masks(da, grid.dims, size=size, fraction=tuple(hole_fraction), seed=seed)
        own_masks = len(library)
        if not own_masks:
            none = f"Variable {da.name!r} has no gaps covering {hole_fraction[0]:.0%}-{hole_fraction[1]:.0%} of a {size}x{size} window to use as 'own_clouds' holes"
            others = tuple(h for h in holes if h != OWN_CLOUDS)
            if not others:
                raise InputDataError(f"{none}.", fix="Pass holes=('clouds',) or a wider hole_fraction.", argument="holes")
            warnings.warn(f"{none} (land, or gaps too small or too wide): it learns under {', '.join(map(repr, others))} holes only.", UserWarning, stacklevel=3)
            holes, library = others, None
    settings = TrainSettings(
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        lr=lr,
        holes=holes,
        hole_fraction=tuple(hole_fraction),
        seed=seed,
        steps_per_epoch=steps_per_epoch,
        max_seconds=max_seconds,
        hole_library=library,
        keep_start=adapting,
        select_on="rmse" if adapting else "loss",
        fill_validation=fill_validation(da, grid.dims, split=split, by_rows=how.startswith(ROWS_SPLIT), context_rows=tile, seed=seed) if adapting else None,
    )
    net = fit(net, train, val, settings, test_tiles=test if len(test) else None, device=device, checkpoint=checkpoint, resume=resume, progress=progress)
    net.history["split"] = how
    net.history["tiles"] = [len(train), len(val), len(test)]
    if settings.fill_validation is not None:
        net.history["fill_validation"] = settings.fill_validation.description
    if adapting:
        net.adapted_on = _adaptation_record(da, dataset, init, settings, how, [len(train), len(val), len(test)], own_masks, net.config)
        if clim is not None:
            net.adapted_on["climatology"] = clim.note
        if settings.fill_validation is not None:
            net.adapted_on["validation"] = settings.fill_validation.description
    return net


def _train_latent(da: xr.DataArray, spatial: tuple[str, str], *, holes: Any, hole_fraction: tuple[float, float], epochs: int, batch_size: int,
                  split: Sequence[float] | None, split_by: str | None, device: str, seed: int, stride: int, max_tiles: int | None,
                  steps_per_epoch: int | None, max_seconds: float | None, lr: float | None, progress: bool, config: dict) -> Any:
    """``train(method="latent")``: a DCGAN on the field's whole tiles; validation tiles with fixed holes fit its error model."""

    cfg = LatentConfig(**config)
    split = tuple(split) if split is not None else (0.8, 0.2, 0.0)
    train, val, _, how = tiles_from_dataarray(da, spatial, split=split, tile=cfg.tile_size, stride=stride, min_valid=1 - MAX_MISSING,
                                              max_tiles=max_tiles, seed=seed, by=split_by or "auto")
    kinds = (holes,) if isinstance(holes, str) else tuple(holes or ("clouds", "squares"))
    val_holes = draw_holes(len(val), cfg.tile_size, kinds, tuple(hole_fraction), np.random.default_rng(seed + 1)) if len(val) else None
    model = train_latent(train, val, val_holes, config=cfg, epochs=epochs, steps_per_epoch=steps_per_epoch,
                         batch_size=batch_size, lr=lr if lr is not None else 2e-4, max_seconds=max_seconds, device=device, seed=seed,
                         progress=progress)
    model.history["split"] = how
    return model


def _adaptation_record(da: xr.DataArray, ds: xr.Dataset, init: Any, settings: Any, split: str, tiles: list[int], own_masks: int | None, config: Any) -> dict:
    """What a model was adapted on, for its JSON and ``sstfill info``."""
    from sstfill.xr.series import find_time_dim, time_coordinate

    record: dict[str, Any] = {
        "init": init if isinstance(init, str) else (getattr(init, "_path", None) or getattr(init, "preset", None) or "a model object"),
        "variable": str(da.name),
        "sizes": {str(k): int(v) for k, v in da.sizes.items()},
        "split": split,
        "tiles": tiles,
        "own_cloud_masks": own_masks,
        "settings": {"holes": list(settings.holes), "hole_fraction": list(settings.hole_fraction), "lr": settings.lr, "max_seconds": settings.max_seconds,
                     "patience": settings.patience, "seed": settings.seed},
    }
    if config.time_offsets:  # the neighbours it learnt on: offsets in steps of this many days
        record["time_step_days"] = config.time_step_days
    if da.attrs.get("units"):  # the validation RMSE in the history is in these
        record["units"] = str(da.attrs["units"])
    source = da.encoding.get("source") or ds.encoding.get("source")
    if source:
        record["source"] = str(source)
    time_dim = find_time_dim(da, find_grid(da).dims)
    if time_dim is not None and da.sizes[time_dim]:
        dates = time_coordinate(da, time_dim)  # dates also from numbers with CF units (decode_times=False)
        t = (da[time_dim] if dates is None else dates).values  # first and last in time, whatever the order of the steps
        record["time_span"] = [str(t.min())[:19], str(t.max())[:19]]
    return record
