"""What training draws from: batches of tile indices, the hole bank, the fixed validation holes (torch)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from sstfill.training.settings import TrainSettings
from sstfill.training.tiles import draw_holes

#: ``draw(n, size, kinds, fraction, rng) -> bool (n, size, size)``: how a bank's masks are drawn.
HoleDrawer = Callable[[int, int, Sequence[str], tuple[float, float], np.random.Generator], np.ndarray]

__all__ = ["to_device", "batch_indices", "flip_rotate", "HoleBank", "unpack_bits", "validation_holes"]


def to_device(x: np.ndarray, device: torch.device) -> torch.Tensor:
    """``x`` as a tensor on ``device`` (through pinned memory on CUDA; shared with ``x`` on the CPU)."""
    t = torch.from_numpy(np.ascontiguousarray(x))
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t


def batch_indices(n: int, batch: int, rng: np.random.Generator, steps: int | None) -> list[np.ndarray]:
    """The batches of one epoch: a shuffled pass over ``n`` tiles, or ``steps`` batches drawn with replacement.

    Examples
    --------
    >>> [len(b) for b in batch_indices(10, 4, np.random.default_rng(0), None)]
    [4, 4, 2]
    """
    if steps is None:
        order = rng.permutation(n)
        return [order[i : i + batch] for i in range(0, n, batch)]
    return [rng.integers(0, n, size=batch) for _ in range(steps)]


def flip_rotate(x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """One random rotation by k*90 degrees and an optional flip for the whole batch (..., H, W)."""
    k, flip = torch.randint(0, 8, (1,), generator=gen).item() % 4, torch.randint(0, 2, (1,), generator=gen).item()
    x = torch.rot90(x, k, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if flip else x


class HoleBank:
    """Hole masks kept on the training device, one bit a pixel; a share is redrawn every epoch.

    Drawing real-cloud and square holes tile by tile in Python is slower than a GPU step,
    so masks are drawn into a bank, sampled at random with a random rotation and flip per
    batch, and ``refresh`` of the bank is drawn afresh at the start of every epoch. They are
    held packed (``np.packbits``, unpacked per batch): 8,192 masks of 192 pixels take 38 MB
    instead of 302 MB as bools.

    Examples
    --------
    >>> from sstfill.training.settings import TrainSettings
    >>> bank = HoleBank(4, 64, TrainSettings(), torch.device("cpu"), np.random.default_rng(0))
    >>> bank.sample(3, np.random.default_rng(1)).shape, bank.packed.dtype
    (torch.Size([3, 64, 64]), torch.uint8)
    """

    def __init__(self, size: int, tile: int, settings: TrainSettings, device: torch.device, rng: np.random.Generator, draw: HoleDrawer = draw_holes) -> None:
        self.settings, self.tile, self.device, self.draw = settings, tile, device, draw
        self.packed = self._pack(draw(size, tile, settings.holes, settings.hole_fraction, rng))

    def __len__(self) -> int:
        return len(self.packed)

    def _pack(self, masks: np.ndarray) -> torch.Tensor:
        return to_device(np.packbits(np.asarray(masks, dtype=bool).reshape(len(masks), -1), axis=1), self.device)

    def refresh(self, epoch: int) -> None:
        """Redraw a share of the bank for ``epoch`` (a function of the seed and epoch only)."""
        rng = np.random.default_rng([self.settings.seed, epoch, 7])
        n = int(len(self) * self.settings.refresh)
        if n:
            idx = torch.from_numpy(rng.choice(len(self), n, replace=False)).to(self.device)
            self.packed[idx] = self._pack(self.draw(n, self.tile, self.settings.holes, self.settings.hole_fraction, rng))

    def replay(self, start: int) -> None:
        """Bring a new bank to where it stood when epoch ``start - 1`` ended (resuming at ``start``).

        With ``refresh >= 1`` every epoch redraws the whole bank, so the last refresh is enough.
        """
        for past in range(max(1, start - 1), start) if self.settings.refresh >= 1 else range(1, start):
            self.refresh(past)

    def sample(self, n: int, rng: np.random.Generator) -> torch.Tensor:
        """``n`` masks (bool (n, tile, tile)) drawn from the bank, turned and flipped together."""
        idx = torch.from_numpy(rng.integers(0, len(self), n)).to(self.device)
        return flip_rotate(unpack_bits(self.packed[idx], self.tile * self.tile).reshape(n, self.tile, self.tile))


def unpack_bits(packed: torch.Tensor, count: int, by_shifts: bool | None = None) -> torch.Tensor:
    """Rows of ``np.packbits`` (uint8 (n, bytes)) as bool (n, count), on their device.

    On a CPU numpy unpacks (2 ms for 160 masks of 192 x 192 pixels, against 9 ms by shifts);
    elsewhere (``by_shifts``, default: not on a CPU) bit shifts on the device.

    Examples
    --------
    >>> bits = np.array([[1, 0, 1, 1, 0, 0, 0, 0, 1, 1]], bool)
    >>> packed = torch.from_numpy(np.packbits(bits, axis=1))
    >>> unpack_bits(packed, 10).int().tolist() == unpack_bits(packed, 10, by_shifts=True).int().tolist() == bits.astype(int).tolist()
    True
    """
    if by_shifts is None:
        by_shifts = packed.device.type != "cpu"
    if not by_shifts:
        return torch.from_numpy(np.unpackbits(packed.numpy(), axis=1, count=count).view(bool))
    order = torch.arange(7, -1, -1, dtype=torch.uint8, device=packed.device)  # np.packbits' order: the first pixel in the highest bit
    return ((packed.unsqueeze(-1) >> order) & 1).reshape(len(packed), -1)[:, :count].bool()


def validation_holes(n: int, tile: int, settings: TrainSettings, draw: HoleDrawer = draw_holes) -> np.ndarray:
    """The fixed (seeded) holes used for validation, so epochs are comparable."""
    return draw(n, tile, settings.holes, settings.hole_fraction, np.random.default_rng([settings.seed, 10**6]))
