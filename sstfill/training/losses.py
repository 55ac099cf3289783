"""The generator's reconstruction loss, the adversarial losses, and the loss on a tile set (torch).

The loss is the SST report's weighted reconstruction (hidden pixels, a band of observed
pixels around the holes, the rest) joined to an adversarial term as in the context encoder:
``L = (1 - a) * L_rec + a * L_adv`` with ``a = 0.001`` by default.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sstfill.models.inpainter import Inpainter
from sstfill.training.banks import to_device

__all__ = ["ring_mask", "losses", "split_samples", "adversarial_loss", "neighbour_holes", "evaluate_tiles", "scoring_batch", "CPU_SCORING_BATCH"]


def ring_mask(holes: torch.Tensor, width: int) -> torch.Tensor:
    """Pixels within ``width`` pixels of a hole (Chebyshev distance), the holes excluded.

    Examples
    --------
    >>> holes = torch.zeros(1, 5, 5, dtype=torch.bool)
    >>> holes[0, 2, 2] = True
    >>> int(ring_mask(holes, 1).sum())
    8
    """
    if width <= 0:
        return torch.zeros_like(holes)
    grown = F.max_pool2d(holes.float().unsqueeze(1), 2 * width + 1, stride=1, padding=width).squeeze(1) > 0
    return grown & ~holes


def losses(model: Inpainter, truth: torch.Tensor, holes: torch.Tensor, neighbours: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Reconstruction pieces of one batch (normalised units).

    ``truth`` is NaN where nothing is known; ``holes`` marks the pixels hidden from the
    model. For a model with a context margin both are windows (N, W, W) around the tiles
    (only the tiles are scored); ``neighbours`` (N, S, T, T), NaN where hidden or unknown,
    are the tiles at the neighbouring steps. Returns the weighted loss ``rec`` (and its
    numerator ``weighted_se`` and denominator ``weight_sum``, to pool batches), the
    hidden-pixel MSE ``mse_hidden``, the sum of the hidden pixels' squared errors in the
    field's units ``se_hidden_field`` (each tile's normalised errors times its standard
    deviation, as filling undoes the normalisation), ``se_hidden_each`` (each sample's sum of
    its hidden pixels' squared normalised errors, (N,)), and the tensors the adversary needs.
    """
    cfg = model.config
    valid = torch.isfinite(truth)
    observed = valid & ~holes
    inputs = torch.where(observed, truth, torch.full_like(truth, float("nan")))
    # mixed precision on GPUs (as in filling); float32 on CPUs, where training is reproducible
    pred, mean, std = model.forward_tiles(inputs, observed, torch.bfloat16 if truth.device.type == "cuda" else torch.float32, neighbours=neighbours)
    m, t = cfg.context_margin, cfg.tile_size
    if m:  # only the tiles are scored
        truth, valid, holes, observed = (x[..., m : m + t, m : m + t] for x in (truth, valid, holes, observed))
    hidden = valid & holes
    target = torch.where(valid, (truth - mean) / std, torch.zeros_like(truth))
    ring = ring_mask(holes, cfg.ring_width) & observed
    weight = cfg.hole_weight * hidden + cfg.ring_weight * ring + cfg.observed_weight * (observed & ~ring)
    sq = (pred - target) ** 2
    weighted_se, weight_sum = (weight * sq).sum(), weight.sum()
    rec = weighted_se / weight_sum.clamp_min(1e-6)
    mse_hidden = (sq * hidden).sum() / hidden.sum().clamp_min(1)
    # the same errors in the field's units: filling returns pred * std + mean
    se_hidden_field = (sq.detach() * std.detach().float() ** 2 * hidden).sum()
    se_hidden_each = (sq.detach() * hidden).sum(dim=(-2, -1))
    fake = torch.where(observed, target, pred) * valid  # composite: only the holes are generated
    real = target * valid
    return {"rec": rec, "weighted_se": weighted_se.detach(), "weight_sum": weight_sum.detach(), "mse_hidden": mse_hidden, "se_hidden_field": se_hidden_field, "se_hidden_each": se_hidden_each, "fake": fake.unsqueeze(1), "real": real.unsqueeze(1), "holes": hidden.unsqueeze(1)}


def split_samples(model: Inpainter, samples: torch.Tensor, neighbour_holes: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Samples (N, 1 + S, W, W) -> the target windows (N, W, W) and the neighbouring tiles (N, S, T, T).

    ``neighbour_holes`` (N, S, T, T) are hidden in the neighbours (real clouds on every
    day); plain tiles (N, T, T) come back as they are, with no neighbours.
    """
    if samples.dim() == 3:
        return samples, None
    cfg = model.config
    m, t = cfg.context_margin, cfg.tile_size
    target = samples[:, 0]
    if samples.shape[1] == 1 or not cfg.time_offsets:
        return target, None
    nb = samples[:, 1:, m : m + t, m : m + t]
    if neighbour_holes is not None:
        nb = torch.where(neighbour_holes, torch.full_like(nb, float("nan")), nb)
    return target, nb


def adversarial_loss(
    disc: torch.nn.Module,
    kind: str,
    real: torch.Tensor,
    fake: torch.Tensor,
    holes: torch.Tensor,
    for_generator: bool,
    rng: torch.Generator | None = None,
) -> torch.Tensor:
    """Binary cross-entropy of the discriminator (or of the generator fooling it).

    ``kind`` is the model's ``config.discriminator``: ``"pair"`` asks which of two
    images (the real and the composite, in a random order drawn from ``rng``) is real;
    the others score each image with its hole mask.
    """
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


def neighbour_holes(model: Inpainter, holes: np.ndarray, rows: np.ndarray, steps: int) -> np.ndarray | None:
    """The fixed holes of the ``steps`` neighbouring tiles of samples ``rows`` (N, S, T, T): the next samples' holes.

    Real clouds on every day: sample ``i``'s neighbours get the holes of samples ``i + 1 ...``,
    cropped to the tile. None without neighbours.
    """
    if steps <= 0:
        return None
    m, t = model.config.context_margin, model.config.tile_size
    later = holes[(rows[:, None] + 1 + np.arange(steps)[None]) % len(holes)]
    return np.ascontiguousarray(later[..., m : m + t, m : m + t])


#: Samples per batch when scoring a model on a CPU. The network's activations grow with the
#: batch and its speed does not: scoring 512 samples took 209 MB and 4.2 s for the default
#: model at 32 a batch, 1161 MB and 4.5 s at 256; the context model 272 MB and 10.9 s at 32,
#: 453 MB and 11.2 s at 64, 141 MB and 13.6 s at 16; the fast model 95 MB at 32, 584 MB at 256.
CPU_SCORING_BATCH = 32


def scoring_batch(model: Any) -> int:
    """Samples per batch when scoring ``model``: :data:`CPU_SCORING_BATCH` on a CPU, else its ``preferred_batch``, at most 256.

    Scores do not depend on it (they are pooled over every pixel of the set); memory does.
    """
    device = getattr(model, "device", None)
    if getattr(device, "type", device) != "cuda":
        return CPU_SCORING_BATCH
    return max(1, min(256, getattr(model, "preferred_batch", 256)))


def evaluate_tiles(model: Inpainter, tiles: Any, holes: np.ndarray, batch: int | None = None) -> dict[str, Any]:
    """Weighted loss and hidden-pixel RMSE of ``model`` on fixed holes.

    The loss is pooled over every pixel of the set (the same whatever the scoring batch).

    ``tiles`` are truth tiles (N, T, T), or samples with context (an array (N, 1 + S, W, W)
    or a :class:`~sstfill.training.windows.WindowBank`); the neighbours then get the holes
    of the next sample (fixed, like real clouds on every day). ``rmse_hidden`` is in
    normalised units (1 = a tile's standard deviation), as recorded in the training history;
    ``rmse_hidden_field`` is the same RMSE in the field's units; ``se_windows`` holds each
    tile's (or sample's) sum of squared normalised errors of its hidden pixels, in order
    (float64 (N,)), for paired comparisons of two models on the same holes.
    """
    model.generator.eval()
    batch = batch or scoring_batch(model)
    weighted_se, weight_sum, sq, sq_field, count = 0.0, 0.0, 0.0, 0.0, 0
    each: list[np.ndarray] = []
    cfg = model.config
    m, t_size = cfg.context_margin, cfg.tile_size
    with torch.inference_mode():
        for i in range(0, len(tiles), batch):
            rows = np.arange(i, min(i + batch, len(tiles)))
            part = tiles.gather(rows) if hasattr(tiles, "gather") else tiles[rows]
            t = to_device(part, model.device)
            h = to_device(holes[rows], model.device)
            later = neighbour_holes(model, holes, rows, t.shape[1] - 1 if t.dim() == 4 else 0)
            nh = None if later is None else to_device(later, model.device)
            target, nb = split_samples(model, t, nh)
            out = losses(model, target, h, nb)
            scored = torch.isfinite(target) & h
            if m:
                scored = scored[..., m : m + t_size, m : m + t_size]
            n_hidden = int(scored.sum())
            weighted_se += float(out["weighted_se"])
            weight_sum += float(out["weight_sum"])
            sq += float(out["mse_hidden"]) * n_hidden
            sq_field += float(out["se_hidden_field"])
            each.append(out["se_hidden_each"].double().cpu().numpy())
            count += n_hidden
    if not len(tiles):  # nothing to score: no number, rather than a perfect one
        return {"loss": math.nan, "rmse_hidden": math.nan, "rmse_hidden_field": math.nan, "se_windows": np.zeros(0)}
    return {"loss": weighted_se / max(weight_sum, 1e-6), "rmse_hidden": math.sqrt(sq / max(count, 1)), "rmse_hidden_field": math.sqrt(sq_field / max(count, 1)),
            "se_windows": np.concatenate(each)}
