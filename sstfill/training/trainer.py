"""The training loop: fresh holes every epoch, early stopping on validation, checkpoints.

:func:`fit` runs these steps in order: :func:`start_run` (optimisers, hole bank, resume),
then for each epoch :func:`train_epoch`, :func:`end_epoch` (validation, learning-rate
schedule, early-stopping count), a checkpoint and :func:`should_stop`; after the last,
:func:`keep_final_weights` (the average of the last epochs, or the best) and
:func:`score_test`. The losses are in :mod:`sstfill.training.losses`, the hole bank in
:mod:`sstfill.training.banks`, the checkpoint file in :mod:`sstfill.training.checkpoints`.
"""

from __future__ import annotations

import dataclasses
import copy
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sstfill.errors import InputDataError
from sstfill.models.inpainter import Inpainter
from sstfill.models.networks import ModelConfig
from sstfill.training.banks import HoleBank, batch_indices, flip_rotate, to_device, validation_holes
from sstfill.training.checkpoints import RunState, load_checkpoint, save_checkpoint
from sstfill.training.losses import adversarial_loss, evaluate_tiles, losses, split_samples
from sstfill.training.uncertainty import fit_tile_error_model
from sstfill.training.settings import TrainSettings
from sstfill.training.tiles import LibraryDrawer, draw_holes
from sstfill.training.windows import draw_window_holes, tiles_as_windows

__all__ = ["TrainSettings", "TrainingRun", "new_model", "grow_inputs", "uses_context", "fit", "start_run", "train_epoch", "end_epoch", "should_stop", "keep_final_weights", "score_test"]

#: Share of neighbouring steps hidden whole in training, so a model also fills series with
#: missing days and single images (where every neighbour is empty).
NEIGHBOUR_DROPOUT = 0.3
#: What a run keeps its best weights by (``TrainSettings.select_on``): the key in :func:`evaluate_tiles`'s scores.
SELECT_ON = {"loss": "loss", "rmse": "rmse_hidden"}
#: Adapting (``keep_start``): an epoch replaces the starting weights only when its hidden-pixel
#: squared errors, summed per validation window, beat the start's by more than this many
#: standard errors of that gain (paired over the windows; :func:`beats_start`). 0: any lower
#: total. 2.0 was tried (2026-12-03, ``benchmarks/adapt.py``): it kept the starting weights in
#: every run, the 3-7 % gains that 0 gives on held-out days (MUR Southern California, ERSST
#: with the default model) included, at 3 epochs a minute on 2 cores; so 0 stays.
BEATS_START_Z = 0.0
#: ``history`` key of the starting weights' errors per validation window (while a run lasts;
#: checkpoints keep it, the finished model's history does not).
START_WINDOWS = "start_val_se_windows"
#: What ``model.history`` records for every epoch, in this order.
HISTORY_KEYS = ("epoch", "train_loss", "train_rec", "adv_g", "adv_d", "val_loss", "val_rmse_hidden", "val_rmse_field_units", "seconds", "tiles_per_second")


def beats_start(start_se: Any, candidate_se: Any, z: float = BEATS_START_Z) -> bool:
    """Whether a candidate's validation errors are lower than the starting weights' by more than noise.

    ``start_se`` and ``candidate_se`` are the sums of squared hidden-pixel errors of each
    validation window (the same windows and holes, in order). The total gain
    ``sum(start - candidate)`` must exceed ``z`` standard errors of that sum (``sqrt(n)``
    times the standard deviation of the per-window gains), so that a few windows that
    happen to fill better do not replace weights that fill the rest as well.

    Examples
    --------
    >>> start = np.full(40, 1.0)
    >>> beats_start(start, 0.95 * start, z=2.0)   # 5 % better on every window
    True
    >>> lucky = start.copy(); lucky[0] = 0.2      # one window much better, the rest slightly worse
    >>> lucky[1:] += 0.015
    >>> beats_start(start, lucky, z=2.0), beats_start(start, lucky, z=0.0)
    (False, True)
    """
    gain = np.asarray(start_se, dtype="float64") - np.asarray(candidate_se, dtype="float64")
    if gain.size < 2:
        return bool(gain.sum() > 0)
    return bool(gain.sum() > z * math.sqrt(gain.size) * gain.std(ddof=1))


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``module``'s weights on the CPU (the best weights so far)."""
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def new_model(preset: str = "default", base: Inpainter | None = None, seed: int = 0, **config) -> Inpainter:
    """The network a run starts from: a copy of ``base``, or a fresh ``preset`` with ``config`` overrides.

    Seeds torch with ``seed`` first: the initial weights are part of a reproducible run.
    ``config`` with a ``base`` may add input channels (context, neighbouring steps): see
    :func:`grow_inputs`.

    Examples
    --------
    >>> a, b = new_model("fast", seed=1), new_model("fast", seed=1)
    >>> all(bool((p == q).all()) for p, q in zip(a.generator.parameters(), b.generator.parameters()))
    True
    """
    unknown = sorted(set(config) - {f.name for f in dataclasses.fields(ModelConfig)})
    if unknown:  # ModelConfig's own TypeError names one, without saying what would do
        raise TypeError(f"train() got settings that are not model settings: {', '.join(unknown)}. "
                        f"Keyword settings are fields of ModelConfig: {', '.join(f.name for f in dataclasses.fields(ModelConfig))}.")
    torch.manual_seed(seed)
    if base is not None and config:
        return grow_inputs(base, ModelConfig(**{**base.config.to_dict(), **config}))
    return base.copy() if base is not None else Inpainter.from_preset(preset, **config)


def grow_inputs(base: Inpainter, config: ModelConfig) -> Inpainter:
    """A model of ``config`` with ``base``'s weights; input channels ``base`` lacks start at zero weight.

    So the new model fills exactly like ``base`` until trained, and training learns what
    the new inputs (a context window, neighbouring steps) add. ``config`` may differ from
    ``base.config`` only in its inputs, context and time offsets, and loss settings.

    Examples
    --------
    >>> base = Inpainter.from_preset("fast")
    >>> cfg = ModelConfig(**{**base.config.to_dict(), "inputs": base.config.inputs + ("neighbours",), "time_offsets": (-1.0,)})
    >>> grow_inputs(base, cfg).config.channels
    5
    """
    model = Inpainter(config, preset=base.preset, history=copy.deepcopy(base.history))
    old, new = base.generator.state_dict(), model.generator.state_dict()
    first = "encoders.0.0.weight"
    missing = [c for c in base.config.inputs if c not in config.inputs]
    if missing:
        raise ValueError(f"the new configuration drops inputs {missing} of the base model")
    for key, value in old.items():
        if key == first:
            grown = torch.zeros_like(new[key])
            position = {name: i for i, name in enumerate(_channel_names(config))}
            for i, name in enumerate(_channel_names(base.config)):
                grown[:, position[name]] = value[:, i]
            new[key] = grown
        elif new[key].shape != value.shape:
            raise ValueError(f"the new configuration changes the network's layer {key} ({tuple(value.shape)} -> {tuple(new[key].shape)}); only inputs can be added")
        else:
            new[key] = value
    model.generator.load_state_dict(new)
    return model.to(base.device, precision=base.precision)


def _channel_names(config: ModelConfig) -> list[str]:
    """The generator's input channels one by one (``neighbours`` expanded per offset)."""
    names: list[str] = []
    for name in config.inputs:
        if name == "neighbours":
            names += [f"neighbour{t:+g}" for t in config.time_offsets] + [f"neighbour_mask{t:+g}" for t in config.time_offsets]
        else:
            names.append(name)
    return names


@dataclass
class TrainingRun:
    """One call of :func:`fit`: the model, its optimisers and data, and where the run stands."""

    model: Inpainter
    settings: TrainSettings
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    bank: HoleBank
    truth: torch.Tensor | None  # the training tiles, on the training device (plain tiles)
    val_tiles: Any
    val_holes: np.ndarray
    history: dict[str, list]
    best: float = math.inf  # the best validation loss so far
    bad_epochs: int = 0  # epochs since it last improved
    best_state: dict[str, torch.Tensor] | None = None  # the generator's weights at the best epoch
    start: int = 0  # the first epoch to run
    recent: list[dict[str, torch.Tensor]] = field(default_factory=list)  # the last epochs' weights, for averaging
    samples: Any = None  # samples cut per batch: with context (a WindowBank or an array (N, 1 + S, W, W)), or a streamed bank of plain tiles

    def __len__(self) -> int:
        return len(self.truth) if self.truth is not None else len(self.samples)

    def state(self) -> RunState:
        """What a checkpoint keeps beside the weights and optimisers."""
        return RunState(self.history, self.best, self.bad_epochs, self.best_state, self.scheduler.state_dict())


def uses_context(model: Inpainter) -> bool:
    """Whether ``model`` learns from samples with context (a margin or neighbouring steps)."""
    return bool(model.config.context_margin or model.config.time_offsets)


def as_samples(model: Inpainter, tiles: Any) -> Any:
    """What a run draws batches from: plain tiles as they are, or samples with context.

    A model with context takes a :class:`~sstfill.training.windows.WindowBank` or an
    array (N, 1 + S, W, W) as they are; plain tiles (N, T, T) become samples whose
    context is unknown (:func:`~sstfill.training.windows.tiles_as_windows`).
    """
    if not uses_context(model) or hasattr(tiles, "gather") or np.ndim(tiles) == 4:
        return tiles
    return tiles_as_windows(np.asarray(tiles), model.config.context_margin, len(model.config.time_offsets))


def check_tiles(model: Inpainter, train_tiles: Any, val_tiles: Any, validated_by_filling: bool = False) -> None:
    """Raise :class:`InputDataError` unless both sets hold tiles (or windows) of the model's size.

    ``validated_by_filling`` (``settings.fill_validation``): the validation set may be empty,
    since filling decides (a short archive whose validation band holds no window observed enough).
    """
    if len(train_tiles) == 0 or (len(val_tiles) == 0 and not validated_by_filling):
        raise InputDataError(f"Training needs tiles in both training ({len(train_tiles)}) and validation ({len(val_tiles)}) sets: use more data, a smaller min_valid, or other split fractions.")
    size = model.config.window if uses_context(model) else model.config.tile_size
    if train_tiles.shape[-1] != size:
        what = "windows" if uses_context(model) else "tiles"
        raise InputDataError(f"Training {what} are {train_tiles.shape[-1]} px but the model takes {size} px {what} (tile_size {model.config.tile_size}, context_margin {model.config.context_margin}).")


def _hole_drawer(model: Inpainter, library: np.ndarray | None = None, window_holes: bool = True):
    base = draw_window_holes if uses_context(model) and window_holes else draw_holes
    return base if library is None else LibraryDrawer(library, base)


def start_run(model: Inpainter, train_tiles: Any, val_tiles: Any, settings: TrainSettings, device: str | None, resume: str | Path | None) -> TrainingRun:
    """Move ``model`` to ``device``, make the optimisers, hole bank and validation holes; resume from a checkpoint."""
    tile = model.config.window if uses_context(model) else model.config.tile_size
    torch.manual_seed(settings.seed)
    model.to(device)
    dev = model.device
    disc = model.discriminator
    opt_g = torch.optim.Adam(model.generator.parameters(), lr=settings.lr)
    opt_d = torch.optim.Adam(disc.parameters(), lr=settings.lr_discriminator, betas=(0.5, 0.999)) if disc is not None else None
    saved = None
    if resume is not None:
        saved = load_checkpoint(resume, model, opt_g, opt_d)
        model.to(dev)
    draw = _hole_drawer(model, settings.hole_library, settings.window_holes)
    val_holes = validation_holes(len(val_tiles), tile, settings, draw)
    bank = HoleBank(min(settings.hole_bank, max(256, 2 * len(train_tiles))), tile, settings, dev, np.random.default_rng([settings.seed, 2]), draw)
    per_batch = uses_context(model) or hasattr(train_tiles, "gather")  # samples cut per batch (with context, or streamed from an archive)
    truth = None if per_batch else to_device(train_tiles.astype("float32", copy=False), dev)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_g, factor=0.5, patience=2)
    run = TrainingRun(model, settings, opt_g, opt_d, scheduler, bank, truth, val_tiles, val_holes, history={k: [] for k in HISTORY_KEYS}, samples=train_tiles if per_batch else None)
    if saved is not None:
        run.history, run.best, run.bad_epochs, run.best_state = saved.history, saved.best, saved.bad_epochs, saved.best_state
        run.start = run.history["epoch"][-1] + 1
        scheduler.load_state_dict(saved.scheduler)
        bank.replay(run.start)  # the bank as it was at the end of the checkpointed epoch
    elif settings.keep_start:  # adapting: the starting weights are the ones to beat
        start = evaluate_tiles(model, val_tiles, val_holes)
        run.best, windows = _selection_score(run, start)
        run.best_state = _snapshot(model.generator)
        run.history["start_val_loss"] = [start["loss"]]
        run.history["start_val_rmse_hidden"] = [start["rmse_hidden"]]
        run.history["start_val_rmse_field_units"] = [start["rmse_hidden_field"]]
        if settings.fill_validation is not None:
            run.history["start_val_fill_rmse"] = [run.best]
        run.history[START_WINDOWS] = windows.tolist()
        run.history["best_epoch"] = [-1]  # -1: the starting weights
    return run


def train_step(run: TrainingRun, idx: np.ndarray, rng: np.random.Generator, augment_gen: torch.Generator, adversary_gen: torch.Generator | None) -> dict[str, float]:
    """One optimiser step (discriminator first, then generator) on the training tiles ``idx``; the batch's losses."""
    model, settings, disc = run.model, run.settings, run.model.discriminator
    cfg = model.config
    if run.truth is not None:
        t = run.truth[torch.from_numpy(idx).to(model.device)]
    else:
        samples = run.samples
        t = to_device(samples.gather(idx) if hasattr(samples, "gather") else np.asarray(samples[idx], dtype="float32"), model.device)
    if settings.augment:
        t = flip_rotate(t, augment_gen)
    h = run.bank.sample(len(idx), rng)
    nh = None
    if t.dim() == 4 and t.shape[1] > 1:  # real-cloud holes on the neighbouring steps too; some steps missing
        m, size = cfg.context_margin, cfg.tile_size
        s_n = t.shape[1] - 1
        nh = run.bank.sample(len(idx) * s_n, rng)[:, m : m + size, m : m + size].reshape(len(idx), s_n, size, size)
        dropped = torch.from_numpy(rng.random((len(idx), s_n)) < NEIGHBOUR_DROPOUT).to(model.device)
        nh = nh | dropped[:, :, None, None]
    target, neighbours = split_samples(model, t, nh)
    out = losses(model, target, h, neighbours)
    step = {"adv_g": 0.0, "adv_d": 0.0}
    if disc is not None:
        disc.train()
        d_loss = adversarial_loss(disc, cfg.discriminator, out["real"], out["fake"].detach(), out["holes"], False, adversary_gen)
        run.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        run.opt_d.step()
        g_adv = adversarial_loss(disc, cfg.discriminator, out["real"], out["fake"], out["holes"], True, adversary_gen)
        step["adv_d"], step["adv_g"] = d_loss.item(), g_adv.item()
        a = cfg.adversarial_weight
        loss = (1 - a) * out["rec"] + a * g_adv
    else:
        loss = out["rec"]
    run.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    if settings.clip_grad:
        torch.nn.utils.clip_grad_norm_(model.generator.parameters(), settings.clip_grad)
    run.opt_g.step()
    step["loss"], step["rec"] = loss.item(), out["rec"].item()
    return step


def train_epoch(run: TrainingRun, epoch: int) -> dict[str, float]:
    """Train one epoch; its mean losses per tile (``train_loss``, ``train_rec``, ``adv_g``, ``adv_d``), ``seconds`` and ``tiles_per_second``.

    Every random draw is seeded by ``(settings.seed, epoch)``, so an epoch gives the same
    result whether the run started at epoch 0 or resumed just before it. With a time budget
    (``settings.max_seconds``) the epoch stops after the batch that spends it.
    """
    settings, dev = run.settings, run.model.device
    rng = np.random.default_rng([settings.seed, epoch])
    adversary_gen = torch.Generator(device=dev).manual_seed(settings.seed * 100_003 + epoch) if run.model.discriminator is not None else None
    torch.manual_seed(settings.seed * 100_003 + epoch)
    run.model.generator.train()
    sums = {"loss": 0.0, "rec": 0.0, "adv_g": 0.0, "adv_d": 0.0}
    pooled = getattr(run.samples, "epoch_batches", None)  # samples streamed from an archive: batches pool by pool
    batches = (pooled or partial(batch_indices, len(run)))(settings.batch_size, rng, settings.steps_per_epoch)
    left = None if settings.max_seconds is None else settings.max_seconds - sum(run.history["seconds"])  # of the time budget
    t0 = time.perf_counter()
    seen = 0
    if epoch > 0:
        run.bank.refresh(epoch)
    augment_gen = torch.Generator().manual_seed(settings.seed * 7919 + epoch)
    for idx in batches:
        step = train_step(run, idx, rng, augment_gen, adversary_gen)
        for key in sums:
            sums[key] += step[key] * len(idx)
        seen += len(idx)
        if left is not None and time.perf_counter() - t0 > left:  # an epoch over a whole archive can take many times the budget
            break
    seconds = time.perf_counter() - t0
    return {"train_loss": sums["loss"] / seen, "train_rec": sums["rec"] / seen, "adv_g": sums["adv_g"] / seen, "adv_d": sums["adv_d"] / seen, "seconds": seconds, "tiles_per_second": seen / seconds}


def end_epoch(run: TrainingRun, epoch: int, trained: dict[str, float]) -> dict[str, float]:
    """Validate after ``epoch``, step the schedule, record the history, keep the best weights; the validation scores."""
    generator = run.model.generator
    if run.settings.average_last > 1:
        run.recent = (run.recent + [{k: v.detach().clone() for k, v in generator.state_dict().items()}])[-run.settings.average_last :]
    val = evaluate_tiles(run.model, run.val_tiles, run.val_holes)
    score, windows = _selection_score(run, val)
    run.scheduler.step(val["loss"] if len(run.val_tiles) else score)  # no validation tiles: the fill's score
    record = {"epoch": epoch, **trained, "val_loss": val["loss"], "val_rmse_hidden": val["rmse_hidden"], "val_rmse_field_units": val["rmse_hidden_field"]}
    for key in HISTORY_KEYS:
        run.history.setdefault(key, []).append(record[key])  # setdefault: checkpoints of older versions lack newer keys
    if run.settings.fill_validation is not None:
        run.history.setdefault("val_fill_rmse", []).append(score)
        val["fill_rmse"] = score
    if score < run.best - 1e-7 and _beats_start_if_adapting(run, windows):
        run.best, run.bad_epochs = score, 0
        run.best_state = _snapshot(generator)
        run.history["best_epoch"] = [epoch]
    else:
        run.bad_epochs += 1
    return val


def _selection_score(run: TrainingRun, val: dict[str, Any]) -> tuple[float, np.ndarray]:
    """What the best weights are chosen by, and the per-window (or per-step) errors :func:`beats_start` compares.

    The tiles' validation scores, or, with ``settings.fill_validation``, the RMSE of the
    validation part filled whole (its hidden pixels' squared errors summed per step).
    """
    validate = run.settings.fill_validation
    if validate is None:
        return val[SELECT_ON[run.settings.select_on]], np.asarray(val["se_windows"])
    se, n = validate(run.model)
    return float(np.sqrt(np.sum(se) / max(float(np.sum(n)), 1.0))), np.asarray(se, dtype="float64")


def _beats_start_if_adapting(run: TrainingRun, windows: np.ndarray) -> bool:
    """True unless the run adapts a model (its start's errors recorded) and ``windows`` do not beat them (:func:`beats_start`)."""
    start = run.history.get(START_WINDOWS)  # recorded only when adapting (``keep_start``)
    return not start or beats_start(start, windows)


def should_stop(run: TrainingRun) -> bool:
    """Early stopping: ``patience`` epochs without improvement, or the time budget spent."""
    if run.bad_epochs >= run.settings.patience:
        return True
    return run.settings.max_seconds is not None and sum(run.history["seconds"]) > run.settings.max_seconds


def keep_final_weights(run: TrainingRun) -> None:
    """Leave the model with the average of the last ``average_last`` epochs if it validates better than the best epoch, else the best epoch's weights."""
    best_state = run.best_state
    if run.settings.average_last > 1 and len(run.recent) > 1:
        averaged = {k: torch.stack([s[k].float() for s in run.recent]).mean(0).to(run.recent[0][k].dtype) for k in run.recent[0]}
        run.model.generator.load_state_dict(averaged)
        avg_val = evaluate_tiles(run.model, run.val_tiles, run.val_holes)
        run.history["averaged_val_loss"] = [avg_val["loss"]]
        avg_score, avg_windows = _selection_score(run, avg_val)
        if avg_score < run.best and _beats_start_if_adapting(run, avg_windows):
            best_state = None  # the average is better: keep it
            run.history["best_epoch"] = ["averaged"]
    if best_state is not None:
        run.model.generator.load_state_dict(best_state)
    run.history.pop(START_WINDOWS, None)  # the checkpoints keep it; the model's history need not
    run.model.history = run.history


def score_test(run: TrainingRun, test_tiles: np.ndarray) -> None:
    """Score the final model once on ``test_tiles`` with holes of their own (``history["test_loss"]``, ``["test_rmse_hidden"]``)."""
    s = run.settings
    size = run.model.config.window if uses_context(run.model) else run.model.config.tile_size
    holes = validation_holes(len(test_tiles), size, TrainSettings(seed=s.seed + 1, holes=s.holes, hole_fraction=s.hole_fraction), _hole_drawer(run.model, s.hole_library, s.window_holes))
    test = evaluate_tiles(run.model, test_tiles, holes)
    run.history["test_loss"] = [test["loss"]]
    run.history["test_rmse_hidden"] = [test["rmse_hidden"]]


def fit(
    model: Inpainter,
    train_tiles: np.ndarray,
    val_tiles: np.ndarray,
    settings: TrainSettings | None = None,
    *,
    test_tiles: np.ndarray | None = None,
    device: str | None = "auto",
    checkpoint: str | Path | None = None,
    resume: str | Path | None = None,
    progress: bool = True,
) -> Inpainter:
    """Train ``model`` on tile banks; early stopping on validation; returns the best model.

    At the end its error model is fitted on the validation tiles' hidden pixels
    (:func:`sstfill.training.uncertainty.fit_tile_error_model`), so its fills come with a
    ``<var>_error`` learnt from its own errors.

    Parameters
    ----------
    model : Inpainter
        Fresh (or pre-trained) model; trained in place and returned.
    train_tiles, val_tiles : float32 arrays (N, T, T), or samples with context
        Truth tiles, NaN where unknown. Holes are drawn afresh every epoch for training and
        fixed (seeded) for validation. A model with a context margin or time offsets takes
        samples (N, 1 + S, W, W) or a :class:`~sstfill.training.windows.WindowBank` (the
        window around each tile, then its neighbouring steps); given plain tiles, it
        learns without context. A model without context also takes a
        :class:`~sstfill.training.windows.StreamedWindowBank` of its tiles (``margin`` 0)
        as ``train_tiles``: an archive larger than memory, read as batches need it.
    settings : TrainSettings
    test_tiles : array, optional
        Scored once at the end (``history["test_rmse_hidden"]``).
    device : "auto", "cpu" or "cuda"
    checkpoint : path, optional
        Written after every epoch (weights, discriminator, optimisers, history).
    resume : path, optional
        A checkpoint to continue from.
    progress : bool
        Show a progress bar with, after each epoch, the training and validation losses and
        the validation RMSE on hidden pixels, both in the field's units
        (``val_rmse_field_units``) and in normalised units (``val_rmse_norm``, 1 = a tile's
        standard deviation, as ``history["val_rmse_hidden"]`` records it).
    """
    settings = settings or TrainSettings()
    train_tiles, val_tiles = as_samples(model, train_tiles), as_samples(model, val_tiles)
    if test_tiles is not None:
        test_tiles = as_samples(model, test_tiles)
    check_tiles(model, train_tiles, val_tiles, validated_by_filling=settings.fill_validation is not None)
    run = start_run(model, train_tiles, val_tiles, settings, device, resume)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=settings.epochs, initial=run.start, desc="training", unit="epoch")
    last = run.start if run.start > 0 and should_stop(run) else settings.epochs  # resumed after it had stopped (patience, budget): nothing more
    for epoch in range(run.start, last):
        trained = train_epoch(run, epoch)
        val = end_epoch(run, epoch, trained)
        if bar is not None:
            # the validation RMSE on hidden pixels in the field's units (K for SST in kelvin) and,
            # as the history records it, in normalised units (1 = a tile's standard deviation)
            extra = {}
            if settings.max_seconds is not None:  # a time budget: what is left of it
                left = max(0.0, settings.max_seconds - sum(run.history["seconds"]))
                extra["time_left"] = f"{int(left // 60)}:{int(left % 60):02d}"
            if "fill_rmse" in val:  # validation by filling: the RMSE of the hidden pixels, field units
                extra["val_fill_rmse"] = f"{val['fill_rmse']:.3f}"
            bar.set_postfix(
                train_loss=f"{trained['train_loss']:.4f}",
                val_loss=f"{val['loss']:.4f}",
                val_rmse_field_units=f"{val['rmse_hidden_field']:.3f}",
                val_rmse_norm=f"{val['rmse_hidden']:.3f}",
                **extra,
            )
            bar.update(1)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, run.opt_g, run.opt_d, run.state())
        if should_stop(run):
            break
    if bar is not None:
        bar.close()
    keep_final_weights(run)
    if test_tiles is not None and len(test_tiles):
        score_test(run, test_tiles)
    model.generator.eval()
    # the error of its fills, learnt on the validation tiles' hidden pixels (kept if none fits)
    model.fitted_error_model = fit_tile_error_model(model, run.val_tiles, run.val_holes) or model.fitted_error_model
    return model
