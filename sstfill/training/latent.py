"""Training a latent-space inpainter: a DCGAN on whole tiles, then its fills' error model.

:func:`train_latent` is what ``ds.inpaint.train(method="latent")`` runs (and
``examples/train_latent_model.py`` on the real data). The generator learns to produce
whole tiles (no holes in training: the search for z does the filling), the discriminator
to tell them from real ones, with the DCGAN recipe: Adam (lr 2e-4, beta1 0.5), the
non-saturating loss, one-sided label smoothing (real labels 0.9), and a random rotation
and flip of every batch. Tiles with a few missing pixels are completed by a harmonic fill
first (a DCGAN needs whole tiles); tiles with more missing are not used.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from sstfill.errors import InputDataError
from sstfill.models.harmonic import harmonic_fill
from sstfill.models.inpainter import resolve_device
from sstfill.models.latent import LatentConfig, LatentInpainter
from sstfill.models.networks import normalise_tiles
from sstfill.training.banks import flip_rotate
from sstfill.training.uncertainty import fit_tile_error_model

__all__ = ["train_latent", "whole_tiles", "hidden_rmse", "MAX_MISSING", "MIN_TILES", "ERROR_FIT_TILES"]

#: Largest share of missing pixels a training tile may have (completed by a harmonic fill).
MAX_MISSING = 0.05
#: Fewest whole tiles a DCGAN is trained on.
MIN_TILES = 32
#: Validation tiles filled (with the z-search) to fit the error model and score the model.
ERROR_FIT_TILES = 96


def _observed_enough(observed: np.ndarray, max_missing: float = MAX_MISSING) -> np.ndarray:
    """Which tiles (bool (N, T, T) of observed pixels) have at most ``max_missing`` of their pixels missing."""
    return observed.mean(axis=(-2, -1)) >= 1 - max_missing


def whole_tiles(tiles: np.ndarray, config: LatentConfig, max_missing: float = MAX_MISSING) -> np.ndarray:
    """Tiles (N, T, T) in the generator's units (tanh range), from tiles with at most ``max_missing`` gaps.

    Each tile is normalised by its own mean and standard deviation (as filling does), its few
    gaps completed by a harmonic fill, divided by ``config.value_scale`` and clipped to [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> t = np.random.default_rng(0).normal(290, 1, (3, 64, 64)).astype("float32"); t[0, :10] = np.nan
    >>> whole_tiles(t, LatentConfig()).shape  # the first tile has 16 % gaps: left out
    (2, 64, 64)
    """
    tiles = np.asarray(tiles, dtype="float32")
    observed = np.isfinite(tiles)
    keep = _observed_enough(observed, max_missing)
    if not keep.any():
        return np.empty((0, *tiles.shape[1:]), "float32")
    v, m = torch.from_numpy(tiles[keep]), torch.from_numpy(observed[keep])
    norm, _, _ = normalise_tiles(v, m, config.std_floor)
    with torch.no_grad():
        whole = harmonic_fill(norm, m, 4, tolerance=1e-4)
    return (whole / config.value_scale).clamp(-1, 1).numpy()


def hidden_rmse(model: LatentInpainter, tiles: np.ndarray, holes: np.ndarray) -> float:
    """RMSE (field units) of ``model``'s fills of ``tiles`` with ``holes`` hidden, on the hidden pixels that have a truth."""
    hidden = holes & np.isfinite(tiles)
    values = np.where(holes, np.nan, tiles).astype("float32")
    filled = model.predict_tiles(values, np.isfinite(values))
    d = filled[hidden].astype("float64") - tiles[hidden]
    return float(np.sqrt(np.mean(d**2))) if d.size else float("nan")


def _gan_step(model: LatentInpainter, real: torch.Tensor, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, gen: torch.Generator) -> tuple[float, float]:
    g, d, c = model.generator, model.discriminator, model.config
    n = len(real)
    z = (torch.rand(n, c.z_dim, generator=gen) * 2 - 1).to(real.device)
    fake = g(z)
    bce = nn.functional.binary_cross_entropy_with_logits
    opt_d.zero_grad(set_to_none=True)
    loss_d = bce(d(real), torch.full((n,), 0.9, device=real.device)) + bce(d(fake.detach()), torch.zeros(n, device=real.device))
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    loss_g = bce(d(fake), torch.ones(n, device=real.device))
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.detach().item()


def train_latent(
    train_tiles: np.ndarray,
    val_tiles: np.ndarray,
    val_holes: np.ndarray | None = None,
    *,
    config: LatentConfig | None = None,
    epochs: int = 30,
    steps_per_epoch: int | None = None,
    batch_size: int = 64,
    lr: float = 2e-4,
    max_seconds: float | None = None,
    device: str = "auto",
    seed: int = 0,
    progress: bool = False,
    log: Any = None,
) -> LatentInpainter:
    """Train a DCGAN on ``train_tiles`` and return it as a :class:`~sstfill.models.latent.LatentInpainter`.

    Parameters
    ----------
    train_tiles, val_tiles : array (N, T, T)
        Truth tiles, NaN where not observed (see :func:`whole_tiles` for which are used).
        Each batch is completed as :func:`whole_tiles` does when it is drawn. ``train_tiles``
        may also be a bank of tiles read per batch (an archive larger than memory:
        :class:`~sstfill.training.windows.StreamedWindowBank` with no margin), every one of
        them observed at least ``1 - MAX_MISSING``; an epoch then goes pool by pool (its
        ``epoch_batches``).
    val_holes : bool array (M, T, T), optional
        Hidden pixels of the first validation tiles: after training, those tiles are filled
        with the z-search, scored (``history["val_rmse"]``, field units) and the
        model's error model is fitted on them. None skips both.
    config : LatentConfig
        Architecture and search settings.
    epochs, steps_per_epoch, batch_size, lr : training length and optimiser
        ``steps_per_epoch`` None: one pass over the whole training tiles.
    max_seconds : float, optional
        Stop after the batch in which training passes this (``history["steps"]``: the
        batches each epoch trained).
    device : "auto", "cpu" or "cuda"
    seed : int
        Makes CPU training reproducible.
    progress : bool
        Print a line per epoch.
    log : callable, optional
        Where those lines go (default ``print``).

    Examples
    --------
    >>> import sstfill.testing
    >>> tiles = sstfill.testing.synthetic_sst(128, 128, nt=4).values.reshape(-1, 64, 64)[:16]
    >>> cfg = LatentConfig(widths=(16, 8, 8, 4), z_dim=8, steps=2)
    >>> model = train_latent(tiles, tiles, config=cfg, epochs=1, steps_per_epoch=2, batch_size=8)  # doctest: +SKIP
    """
    config = config or LatentConfig()
    log = log or print
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    on = resolve_device(device)
    streamed = hasattr(train_tiles, "epoch_batches")
    if streamed:  # every sample observed at least 1 - MAX_MISSING already (the bank's min_valid)
        n_train = len(train_tiles)
    else:
        tiles = np.asarray(train_tiles, dtype="float32")
        kept = np.flatnonzero(_observed_enough(np.isfinite(tiles)))  # rows, not a copy of the tiles
        n_train = len(kept)
    if n_train < MIN_TILES:
        raise InputDataError(
            f"Only {n_train} training tiles are {100 * (1 - MAX_MISSING):.0f} % observed; a latent (DCGAN) model needs at least {MIN_TILES} "
            "whole tiles. Train on more time steps or a larger region with fewer clouds, or use the default method."
        )
    model = LatentInpainter(config).to(on)
    for p in (*model.generator.parameters(), *model.discriminator.parameters()):
        p.requires_grad_(True)
    model.generator.train()
    model.discriminator.train()
    opt_g = torch.optim.Adam(model.generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    steps = steps_per_epoch or max(1, n_train // batch_size)
    size = min(batch_size, n_train)

    def batches() -> Iterator[torch.Tensor]:
        """An epoch's batches, drawn with replacement, as whole tiles (N, 1, T, T) in the generator's units.

        Completed batch by batch: all at once, the normalised copies and the harmonic fill's
        levels of every tile took about ten times the tiles' memory (a peak of 8.9 GB for
        0.85 GB of tiles).
        """
        if streamed:  # pool by pool, each batch read from the steps held
            draws = (train_tiles.gather(np.asarray(rows))[:, 0] for rows in train_tiles.epoch_batches(size, rng, steps))
        else:
            draws = (tiles[kept[rng.integers(0, n_train, size)]] for _ in range(steps))
        for drawn in draws:
            yield torch.from_numpy(whole_tiles(drawn, config, max_missing=1.0)).unsqueeze(1)  # none left out: observed enough

    history: dict[str, list] = {"epoch": [], "d_loss": [], "g_loss": [], "seconds": [], "steps": []}
    start = time.perf_counter()

    def out_of_time() -> bool:
        return max_seconds is not None and time.perf_counter() - start > max_seconds

    for epoch in range(epochs):
        t0 = time.perf_counter()
        d_sum = g_sum = 0.0
        done = 0
        for batch in batches():
            real = flip_rotate(batch, gen).to(on)
            d_loss, g_loss = _gan_step(model, real, opt_g, opt_d, gen)
            d_sum, g_sum, done = d_sum + d_loss, g_sum + g_loss, done + 1
            if out_of_time():  # an epoch of a large archive can take many times the budget: stop within it
                break
        history["epoch"].append(epoch + 1)
        history["d_loss"].append(d_sum / done)
        history["g_loss"].append(g_sum / done)
        history["seconds"].append(time.perf_counter() - t0)
        history["steps"].append(done)
        if progress:
            log(f"epoch {epoch + 1}: D loss {d_sum / done:.3f}, G loss {g_sum / done:.3f} ({history['seconds'][-1]:.1f} s)")
        if out_of_time():
            break
    model.generator.eval()
    model.discriminator.eval()
    history["tiles"] = [int(n_train), int(len(val_tiles))]
    model.history = history
    if val_holes is not None and len(val_tiles):
        n = min(len(val_tiles), len(val_holes), ERROR_FIT_TILES)
        tiles_v, holes_v = np.asarray(val_tiles[:n], "float32"), np.asarray(val_holes[:n], bool)
        history["val_rmse"] = [hidden_rmse(model, tiles_v, holes_v)]
        model.fitted_error_model = fit_tile_error_model(model, tiles_v, holes_v)
    return model
