"""Training: tile banks cut by index, fresh holes every epoch, losses, the loop.

The generator learns to reconstruct hidden pixels of real tiles. Its loss is the SST
report's weighted reconstruction (hidden pixels, a band of observed pixels around the holes,
the rest) joined to an adversarial term as in the context encoder:
``L = (1 - a) * L_rec + a * L_adv`` with ``a = 0.001`` by default.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sstfill.models.store import arrays_to_optimizer, arrays_to_state, load_arrays, optimizer_to_arrays, state_to_arrays
from sstfill.errors import InputDataError
from sstfill.models.inpainter import Inpainter
from sstfill.training.tiles import draw_holes
from sstfill.models.networks import ModelConfig

__all__ = ["HoleBank", "losses", "fit", "TrainSettings"]


def _ring(holes: torch.Tensor, width: int) -> torch.Tensor:
    if width <= 0:
        return torch.zeros_like(holes)
    grown = F.max_pool2d(holes.float().unsqueeze(1), 2 * width + 1, stride=1, padding=width).squeeze(1) > 0
    return grown & ~holes


def losses(model: Inpainter, truth: torch.Tensor, holes: torch.Tensor) -> dict[str, torch.Tensor]:
    """Reconstruction pieces of one batch (normalised units).

    ``truth`` is NaN where nothing is known; ``holes`` marks the pixels hidden from the
    model. Returns the weighted loss ``rec``, the hidden-pixel MSE ``mse_hidden``, the sum
    of the hidden pixels' squared errors in the field's units ``se_hidden_field`` (each
    tile's normalised errors times its standard deviation, as filling undoes the
    normalisation), and the tensors the adversary needs.
    """
    cfg = model.config
    valid = torch.isfinite(truth)
    observed = valid & ~holes
    hidden = valid & holes
    inputs = torch.where(observed, truth, torch.full_like(truth, float("nan")))
    # mixed precision on GPUs (as in filling); float32 on CPUs, where training is reproducible
    pred, mean, std = model.forward_tiles(inputs, observed, torch.bfloat16 if truth.device.type == "cuda" else torch.float32)
    target = torch.where(valid, (truth - mean) / std, torch.zeros_like(truth))
    ring = _ring(holes, cfg.ring_width) & observed
    weight = cfg.hole_weight * hidden + cfg.ring_weight * ring + cfg.observed_weight * (observed & ~ring)
    sq = (pred - target) ** 2
    rec = (weight * sq).sum() / weight.sum().clamp_min(1e-6)
    mse_hidden = (sq * hidden).sum() / hidden.sum().clamp_min(1)
    # the same errors in the field's units: filling returns pred * std + mean
    se_hidden_field = (sq.detach() * std.detach().float() ** 2 * hidden).sum()
    fake = torch.where(observed, target, pred) * valid  # composite: only the holes are generated
    real = target * valid
    return {"rec": rec, "mse_hidden": mse_hidden, "se_hidden_field": se_hidden_field, "fake": fake.unsqueeze(1), "real": real.unsqueeze(1), "holes": hidden.unsqueeze(1)}


def _adversarial(disc, kind: str, real: torch.Tensor, fake: torch.Tensor, holes: torch.Tensor, for_generator: bool, rng: torch.Generator | None = None) -> torch.Tensor:
    """Binary cross-entropy of the discriminator (or of the generator fooling it)."""
    bce = F.binary_cross_entropy_with_logits
    if kind == "pair":
        # which of the two is real? label 1 when the second image is the real one
        order = torch.rand(real.shape[0], device=real.device, generator=rng) < 0.5
        o = order[:, None, None, None]
        first, second = torch.where(o, fake, real), torch.where(o, real, fake)
        logits = disc(first, second)
        target = order.float()
        return bce(logits, 1 - target) if for_generator else bce(logits, target)
    logit_fake = disc(fake, holes)
    if for_generator:
        return bce(logit_fake, torch.ones_like(logit_fake))
    logit_real = disc(real, holes)
    return 0.5 * (bce(logit_real, torch.ones_like(logit_real)) + bce(logit_fake, torch.zeros_like(logit_fake)))


@dataclass
class TrainSettings:
    """Settings of :func:`fit` (see ``DatasetInpaint.train`` for their meaning)."""

    epochs: int = 30
    batch_size: int = 32
    patience: int = 5
    lr: float = 1e-3
    lr_discriminator: float = 2e-4
    holes: tuple[str, ...] = ("clouds", "squares", "squares6", "square10", "random_field")
    hole_fraction: tuple[float, float] = (0.1, 0.7)
    augment: bool = True
    seed: int = 0
    steps_per_epoch: int | None = None
    average_last: int = 1
    max_seconds: float | None = None
    hole_bank: int = 8192
    refresh: float = 1.0
    clip_grad: float = 1.0


def _batches(n: int, batch: int, rng: np.random.Generator, steps: int | None) -> list[np.ndarray]:
    if steps is None:
        order = rng.permutation(n)
        return [order[i : i + batch] for i in range(0, n, batch)]
    return [rng.integers(0, n, size=batch) for _ in range(steps)]


def _flip_rotate(x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """One random rotation by k*90 degrees and an optional flip for the whole batch (N, H, W)."""
    k, flip = torch.randint(0, 8, (1,), generator=gen).item() % 4, torch.randint(0, 2, (1,), generator=gen).item()
    x = torch.rot90(x, k, dims=(1, 2))
    return torch.flip(x, dims=(2,)) if flip else x


class HoleBank:
    """Hole masks kept on the training device; a share is redrawn every epoch.

    Drawing real-cloud and square holes tile by tile in Python is slower than a GPU step,
    so masks are drawn into a bank, sampled at random with a random rotation and flip per
    batch, and ``refresh`` of the bank is drawn afresh at the start of every epoch.
    """

    def __init__(self, size: int, tile: int, settings: TrainSettings, device: torch.device, rng: np.random.Generator) -> None:
        self.settings, self.tile, self.device = settings, tile, device
        self.masks = _to_device(draw_holes(size, tile, settings.holes, settings.hole_fraction, rng), device)

    def refresh(self, epoch: int) -> None:
        """Redraw a share of the bank for ``epoch`` (a function of the seed and epoch only)."""
        rng = np.random.default_rng([self.settings.seed, epoch, 7])
        n = int(len(self.masks) * self.settings.refresh)
        if n:
            idx = torch.from_numpy(rng.choice(len(self.masks), n, replace=False)).to(self.device)
            self.masks[idx] = _to_device(draw_holes(n, self.tile, self.settings.holes, self.settings.hole_fraction, rng), self.device)

    def sample(self, n: int, rng: np.random.Generator) -> torch.Tensor:
        idx = torch.from_numpy(rng.integers(0, len(self.masks), n)).to(self.device)
        return _flip_rotate(self.masks[idx])


def _to_device(x: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x))
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t


def validation_holes(n: int, tile: int, settings: TrainSettings) -> np.ndarray:
    """The fixed (seeded) holes used for validation, so epochs are comparable."""
    return draw_holes(n, tile, settings.holes, settings.hole_fraction, np.random.default_rng([settings.seed, 10**6]))


def evaluate_tiles(model: Inpainter, tiles: np.ndarray, holes: np.ndarray, batch: int = 256) -> dict[str, float]:
    """Weighted loss and hidden-pixel RMSE of ``model`` on fixed holes.

    ``rmse_hidden`` is in normalised units (1 = a tile's standard deviation), as recorded in
    the training history; ``rmse_hidden_field`` is the same RMSE in the field's units.
    """
    model.generator.eval()
    rec, sq, sq_field, count = 0.0, 0.0, 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(tiles), batch):
            t = _to_device(tiles[i : i + batch], model.device)
            h = _to_device(holes[i : i + batch], model.device)
            out = losses(model, t, h)
            n_hidden = int((torch.isfinite(t) & h).sum())
            rec += float(out["rec"]) * len(t)
            sq += float(out["mse_hidden"]) * n_hidden
            sq_field += float(out["se_hidden_field"])
            count += n_hidden
    return {"loss": rec / max(len(tiles), 1), "rmse_hidden": math.sqrt(sq / max(count, 1)), "rmse_hidden_field": math.sqrt(sq_field / max(count, 1))}


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

    Parameters
    ----------
    model : Inpainter
        Fresh (or pre-trained) model; trained in place and returned.
    train_tiles, val_tiles : float32 arrays (N, T, T)
        Truth tiles, NaN where unknown. Holes are drawn afresh every epoch for training and
        fixed (seeded) for validation.
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
    cfg: ModelConfig = model.config
    if len(train_tiles) == 0 or len(val_tiles) == 0:
        raise InputDataError(f"Training needs tiles in both training ({len(train_tiles)}) and validation ({len(val_tiles)}) sets: use more data, a smaller min_valid, or other split fractions.")
    tile = cfg.tile_size
    if train_tiles.shape[-1] != tile:
        raise InputDataError(f"Tiles are {train_tiles.shape[-1]} px but the model's tile_size is {tile}.")
    torch.manual_seed(settings.seed)
    model.to(device)
    dev = model.device
    disc = model.discriminator
    opt_g = torch.optim.Adam(model.generator.parameters(), lr=settings.lr)
    opt_d = torch.optim.Adam(disc.parameters(), lr=settings.lr_discriminator, betas=(0.5, 0.999)) if disc is not None else None
    history: dict[str, list] = {k: [] for k in ("epoch", "train_loss", "train_rec", "adv_g", "adv_d", "val_loss", "val_rmse_hidden", "seconds", "tiles_per_second")}
    best, best_state, bad, start = math.inf, None, 0, 0
    if resume is not None:
        arrays, meta = load_arrays(resume)
        model.generator.load_state_dict(arrays_to_state("generator", arrays))
        arrays_to_optimizer("optimizer_g", arrays, meta["optimizer_g"], opt_g)
        if disc is not None and "optimizer_d" in meta:
            disc.load_state_dict(arrays_to_state("discriminator", arrays))
            arrays_to_optimizer("optimizer_d", arrays, meta["optimizer_d"], opt_d)
        history = meta["history"]
        best, bad, start = meta["best"], meta["bad_epochs"], history["epoch"][-1] + 1
        best_state = arrays_to_state("best", arrays) or None
        model.to(dev)
    val_holes = validation_holes(len(val_tiles), tile, settings)
    bank = HoleBank(min(settings.hole_bank, max(256, 2 * len(train_tiles))), tile, settings, dev, np.random.default_rng([settings.seed, 2]))
    truth_bank = _to_device(train_tiles.astype("float32", copy=False), dev)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_g, factor=0.5, patience=2)
    if resume is not None:
        scheduler.load_state_dict(meta["scheduler"])
        replay = range(max(1, start - 1), start) if settings.refresh >= 1 else range(1, start)
        for past in replay:  # the bank as it was at the end of the checkpointed epoch
            bank.refresh(past)
    recent: list[dict[str, torch.Tensor]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=settings.epochs, initial=start, desc="training", unit="epoch")
    a = cfg.adversarial_weight if disc is not None else 0.0
    for epoch in range(start, settings.epochs):
        rng = np.random.default_rng([settings.seed, epoch])
        gen = torch.Generator(device=dev).manual_seed(settings.seed * 100_003 + epoch) if disc is not None else None
        torch.manual_seed(settings.seed * 100_003 + epoch)
        model.generator.train()
        sums = {"loss": 0.0, "rec": 0.0, "adv_g": 0.0, "adv_d": 0.0}
        batches = _batches(len(train_tiles), settings.batch_size, rng, settings.steps_per_epoch)
        t0 = time.perf_counter()
        seen = 0
        if epoch > 0:
            bank.refresh(epoch)
        cpu_gen = torch.Generator().manual_seed(settings.seed * 7919 + epoch)
        for idx in batches:
            t = truth_bank[torch.from_numpy(idx).to(dev)]
            if settings.augment:
                t = _flip_rotate(t, cpu_gen)
            h = bank.sample(len(idx), rng)
            out = losses(model, t, h)
            if disc is not None:
                disc.train()
                d_loss = _adversarial(disc, cfg.discriminator, out["real"], out["fake"].detach(), out["holes"], False, gen)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                g_adv = _adversarial(disc, cfg.discriminator, out["real"], out["fake"], out["holes"], True, gen)
                sums["adv_d"] += d_loss.item() * len(idx)
                sums["adv_g"] += g_adv.item() * len(idx)
                loss = (1 - a) * out["rec"] + a * g_adv
            else:
                loss = out["rec"]
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            if settings.clip_grad:
                torch.nn.utils.clip_grad_norm_(model.generator.parameters(), settings.clip_grad)
            opt_g.step()
            sums["loss"] += loss.item() * len(idx)
            sums["rec"] += out["rec"].item() * len(idx)
            seen += len(idx)
        seconds = time.perf_counter() - t0
        if settings.average_last > 1:
            recent = (recent + [{k: v.detach().clone() for k, v in model.generator.state_dict().items()}])[-settings.average_last :]
        val = evaluate_tiles(model, val_tiles, val_holes)
        scheduler.step(val["loss"])
        for key, value in (
            ("epoch", epoch),
            ("train_loss", sums["loss"] / seen),
            ("train_rec", sums["rec"] / seen),
            ("adv_g", sums["adv_g"] / seen),
            ("adv_d", sums["adv_d"] / seen),
            ("val_loss", val["loss"]),
            ("val_rmse_hidden", val["rmse_hidden"]),
            ("seconds", seconds),
            ("tiles_per_second", seen / seconds),
        ):
            history[key].append(value)
        if val["loss"] < best - 1e-7:
            best, bad = val["loss"], 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.generator.state_dict().items()}
        else:
            bad += 1
        if bar is not None:
            # the validation RMSE on hidden pixels in the field's units (K for SST in kelvin) and,
            # as the history records it, in normalised units (1 = a tile's standard deviation)
            bar.set_postfix(
                train_loss=f"{sums['loss'] / seen:.4f}",
                val_loss=f"{val['loss']:.4f}",
                val_rmse_field_units=f"{val['rmse_hidden_field']:.3f}",
                val_rmse_norm=f"{val['rmse_hidden']:.3f}",
            )
            bar.update(1)
        if checkpoint is not None:
            arrays = state_to_arrays("best", best_state) if best_state is not None else {}
            meta: dict[str, Any] = {"history": history, "best": best, "bad_epochs": bad, "scheduler": scheduler.state_dict()}
            opt_arrays, meta["optimizer_g"] = optimizer_to_arrays("optimizer_g", opt_g)
            arrays.update(opt_arrays)
            if disc is not None:
                arrays.update(state_to_arrays("discriminator", disc.state_dict()))
                d_arrays, meta["optimizer_d"] = optimizer_to_arrays("optimizer_d", opt_d)
                arrays.update(d_arrays)
            model.history = history
            model.save(checkpoint, extra_arrays=arrays, extra_config=meta)
        if bad >= settings.patience:
            break
        if settings.max_seconds is not None and sum(history["seconds"]) > settings.max_seconds:
            break
    if bar is not None:
        bar.close()
    if settings.average_last > 1 and len(recent) > 1:
        averaged = {k: torch.stack([s[k].float() for s in recent]).mean(0).to(recent[0][k].dtype) for k in recent[0]}
        model.generator.load_state_dict(averaged)
        avg_val = evaluate_tiles(model, val_tiles, val_holes)
        history["averaged_val_loss"] = [avg_val["loss"]]
        if avg_val["loss"] < best:
            best_state = None  # the average is better: keep it
    if best_state is not None:
        model.generator.load_state_dict(best_state)
    model.history = history
    if test_tiles is not None and len(test_tiles):
        test = evaluate_tiles(model, test_tiles, validation_holes(len(test_tiles), tile, TrainSettings(seed=settings.seed + 1, holes=settings.holes, hole_fraction=settings.hole_fraction)))
        history["test_loss"] = [test["loss"]]
        history["test_rmse_hidden"] = [test["rmse_hidden"]]
    model.generator.eval()
    return model
