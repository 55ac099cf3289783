"""The networks: a U-Net-like generator and three discriminators (torch modules, no I/O).

The generator follows the SST report: an encoder of 3x3 convolutions with 2x2 max-pooling,
a decoder of transposed convolutions, and after each upsampling a concatenation with the
encoder feature map of the same shape. Depth and widths are configurable; the report's
20/15/10 network is the ``"report"`` preset.

Inputs are per-tile normalised: ``(value - mean) / std`` over the tile's observed pixels
(over its whole context window when the tile itself holds fewer than
:data:`MIN_TILE_OBSERVED` of them). Channels are named in :attr:`ModelConfig.inputs`:
``field`` (normalised, gaps zeroed), ``mask`` (1 observed, 0 gap), ``first_guess`` (a
harmonic fill of the normalised tile), and the context beyond the tile:

* ``wide_guess``, ``wide_fraction``: a coarse view of a window ``context_margin`` pixels
  wider than the tile on every side, averaged over ``wide_factor`` x ``wide_factor``
  pixels, filled harmonically at that scale and cropped back to the tile, and the
  observed fraction of each coarse cell: what a tile under a large cloud knows of the
  large-scale structure around it.
* ``neighbours``: the same tile at the neighbouring time steps of ``time_offsets`` (days),
  each in the target tile's normalisation, gaps zeroed, followed by their masks
  (``2 * len(time_offsets)`` channels; empty where the field has no such step).

With ``residual=True`` the network predicts a correction to the first guess.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from sstfill.errors import ModelMismatchError
from sstfill.models.harmonic import harmonic_fill

__all__ = [
    "ModelConfig",
    "PRESETS",
    "KNOWN_INPUTS",
    "Generator",
    "PairDiscriminator",
    "ContextDiscriminator",
    "GlobalLocalDiscriminator",
    "make_discriminator",
    "normalise_tiles",
    "wide_view",
    "build_inputs",
    "MIN_TILE_OBSERVED",
    "CONTEXT_INPUTS",
]

KNOWN_INPUTS = ("field", "mask", "first_guess", "wide_guess", "wide_fraction", "neighbours")
#: A tile with fewer observed pixels than this is normalised over its whole context window.
MIN_TILE_OBSERVED = 64
DISCRIMINATORS = ("pair", "context", "global_local")


@dataclass
class ModelConfig:
    """Everything that defines a model; saved as JSON beside the weights.

    Parameters
    ----------
    tile_size : int
        Tile edge; must be divisible by ``2 ** len(widths)``.
    widths : tuple of int
        Channels at each encoder level (one 2x2 pooling per level).
    convs_per_level : int
        3x3 convolutions per encoder/decoder level.
    inputs : tuple of str
        Input channels, from :data:`KNOWN_INPUTS`.
    residual : bool
        Predict a correction added to the ``first_guess`` channel.
    first_guess_iterations : int
        SOR sweeps per pyramid level of the harmonic first guess.
    std_floor : float
        Smallest per-tile standard deviation used for normalisation (field units).
    window_std_floor : float
        With a context margin: the per-tile standard deviation is at least this fraction of
        the whole window's (over its observed pixels). 0 (models saved before 2026-12-03):
        the tile's own. 1 for the ``context`` preset: a tile whose few observed pixels are
        nearly uniform (sea ice, one side of a front) no longer turns the values hidden
        beyond them into tens of standard deviations.
    discriminator : {"pair", "context", "global_local"} or None
        Adversary used in training (not needed to fill).
    adversarial_weight : float
        Weight of the adversarial term; the reconstruction term gets ``1 - weight``
        (the context-encoder joint loss: 0.999 / 0.001). 0 trains a plain autoencoder.
    hole_weight, ring_weight, observed_weight : float
        Reconstruction weights of hidden pixels, of observed pixels within ``ring_width``
        pixels of a hole (the report's "nearby hole" band), and of other observed pixels.
    ring_width : int
        Width of that band in pixels.
    context_margin : int
        Pixels of context the model sees beyond the tile on every side (for the ``wide_*``
        inputs); a fill hands it windows of ``tile_size + 2 * context_margin`` pixels.
    wide_factor : int
        Averaging factor of the coarse view of that window.
    guess_on_window : bool
        The ``first_guess`` is the harmonic fill of the whole context window, cropped to
        the tile, instead of the tile's own (which has nothing beyond the tile's edge, so
        neighbouring tiles' guesses disagree where they overlap: the tile lattice of
        issue 14). Needs a ``context_margin``.
    time_offsets : tuple of float
        Offsets of the neighbouring time steps the ``neighbours`` input holds, in units of
        ``time_step_days``.
    time_step_days : float
        Days per unit of ``time_offsets``: 1 for the bundled models (offsets in days); a
        model adapted to a coarser series (e.g. monthly) counts in that series' steps.
    """

    tile_size: int = 64
    widths: tuple[int, ...] = (32, 64, 96)
    convs_per_level: int = 2
    inputs: tuple[str, ...] = ("field", "mask", "first_guess")
    residual: bool = True
    first_guess_iterations: int = 8
    std_floor: float = 0.05
    window_std_floor: float = 0.0
    discriminator: str | None = "context"
    adversarial_weight: float = 0.001
    hole_weight: float = 1.0
    ring_weight: float = 0.5
    observed_weight: float = 0.05
    ring_width: int = 3
    context_margin: int = 0
    wide_factor: int = 4
    guess_on_window: bool = False
    time_offsets: tuple[float, ...] = ()
    time_step_days: float = 1.0

    def __post_init__(self) -> None:
        for name, least in (("tile_size", 1), ("convs_per_level", 1), ("first_guess_iterations", 0), ("ring_width", 0), ("context_margin", 0), ("wide_factor", 1)):
            setattr(self, name, whole_number(name, getattr(self, name), least))
        self.widths = channel_widths(self.widths)
        if isinstance(self.inputs, (str, bytes)) or not isinstance(self.inputs, (tuple, list)):
            raise ValueError(f"inputs must be a list of input channel names, got {self.inputs!r}")
        self.inputs = tuple(self.inputs)
        for name in ("std_floor", "window_std_floor", "adversarial_weight", "hole_weight", "ring_weight", "observed_weight"):
            non_negative_number(name, getattr(self, name))
        for name in ("residual", "guess_on_window"):
            if isinstance(getattr(self, name), (str, bytes)) or getattr(self, name) not in (True, False):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
            setattr(self, name, bool(getattr(self, name)))
        self.time_offsets = tuple(float(t) for t in self.time_offsets)
        if ("neighbours" in self.inputs) != bool(self.time_offsets):
            raise ValueError("the 'neighbours' input and time_offsets go together: give both or neither")
        self.time_step_days = float(self.time_step_days)
        if not self.time_step_days > 0:
            raise ValueError(f"time_step_days must be positive, got {self.time_step_days}")
        if any(t == 0 for t in self.time_offsets):
            raise ValueError(f"time_offsets are offsets from the filled step and cannot be 0, got {self.time_offsets}")
        wide = [c for c in self.inputs if c.startswith("wide_")]
        if wide and (self.context_margin <= 0 or (self.tile_size + 2 * self.context_margin) % self.wide_factor):
            raise ValueError(f"inputs {wide} need context_margin > 0 with tile_size + 2 * context_margin divisible by wide_factor ({self.wide_factor})")
        unknown = [c for c in self.inputs if c not in KNOWN_INPUTS]
        if unknown:
            raise ModelMismatchError(f"Unknown input channels {unknown}; sstfill knows {KNOWN_INPUTS}.")
        if self.tile_size % (2 ** len(self.widths)):
            raise ValueError(f"tile_size {self.tile_size} is not divisible by 2**{len(self.widths)} (one pooling per level)")
        if self.guess_on_window and (self.context_margin <= 0 or "first_guess" not in self.inputs):
            raise ValueError("guess_on_window needs the 'first_guess' input and a context_margin > 0")
        if self.residual and "first_guess" not in self.inputs:
            raise ValueError("residual=True needs the 'first_guess' input channel")
        if self.discriminator is not None and self.discriminator not in DISCRIMINATORS:
            raise ValueError(f"discriminator must be one of {DISCRIMINATORS} or None, got {self.discriminator!r}")

    @property
    def window(self) -> int:
        """Edge of the window a fill hands the model: the tile and its context margin."""
        return self.tile_size + 2 * self.context_margin

    @property
    def sees_wide_view(self) -> bool:
        """Whether the network sees a coarse view of its context window (the ``wide_*`` inputs)."""
        return any(name.startswith("wide_") for name in self.inputs)

    @property
    def channels(self) -> int:
        """Input channels of the generator (``neighbours`` counts two per time offset)."""
        return len(self.inputs) + (2 * len(self.time_offsets) - 1 if "neighbours" in self.inputs else 0)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["widths"] = list(self.widths)
        d["inputs"] = list(self.inputs)
        d["time_offsets"] = list(self.time_offsets)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """The configuration a model file saved; unknown keys are an error.

        Files saved by sstfill 0.1.0 carry an ``extra`` dict that nothing ever read: it is
        dropped.
        """
        if not isinstance(d, dict):
            raise ValueError(f"the model configuration must be a JSON object, got {type(d).__name__}")
        d = {k: v for k, v in d.items() if k != "extra"}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown model configuration keys {unknown}")
        return cls(**d)


def non_negative_number(name: str, value: object) -> float:
    """``value`` as a float, a ValueError naming ``name`` unless it is a finite number >= 0 (a model file's setting)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def channel_widths(value: object) -> tuple[int, ...]:
    """A model file's ``widths`` as a tuple of channel counts; a ValueError unless a non-empty list of whole numbers >= 1."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or not value:
        raise ValueError(f"widths must be a non-empty list of channel counts, got {value!r}")
    return tuple(whole_number("widths", w, 1) for w in value)


def whole_number(name: str, value: object, least: int) -> int:
    """``value`` as an int, a ValueError naming ``name`` unless it is a whole number >= ``least`` (a model file's setting)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < least or int(value) != value:
        raise ValueError(f"{name} must be a whole number >= {least}, got {value!r}")
    return int(value)


#: The inputs of a model with context: the tile, its first guess, the coarse view of a
#: window 64 pixels wider on every side, and the tile at neighbouring days.
CONTEXT_INPUTS = ("field", "mask", "first_guess", "wide_guess", "wide_fraction", "neighbours")

#: Named configurations. "report" is the SST report's network (20/15/10 channels, about
#: 15k parameters, no first guess); "fast" trades accuracy for speed; "default" is what the
#: bundled default model uses (tiles alone); "context" the default's network with context (a
#: 192-pixel window and the days -2, -1, +1, +2), the bundled ``model="context"``; "large"
#: for users with a GPU.
PRESETS: dict[str, dict] = {
    "report": dict(widths=(20, 15, 10), convs_per_level=1, inputs=("field", "mask"), residual=False, discriminator="pair"),
    "fast": dict(widths=(16, 32, 48), convs_per_level=1),
    "default": dict(widths=(32, 64, 96), convs_per_level=2),
    "context": dict(widths=(32, 64, 96), convs_per_level=2, inputs=CONTEXT_INPUTS, context_margin=64, time_offsets=(-2.0, -1.0, 1.0, 2.0), window_std_floor=1.0),
    "large": dict(widths=(64, 128, 192, 256), convs_per_level=2),
}


def _conv_block(cin: int, cout: int, n: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, padding_mode="replicate"), nn.LeakyReLU(0.1, inplace=True)]
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """U-Net-like autoencoder with concatenation skips (the report's generator, generalised)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        widths, n = config.widths, config.convs_per_level
        cin = config.channels
        self.encoders = nn.ModuleList()
        for w in widths:
            self.encoders.append(_conv_block(cin, w, n))
            cin = w
        self.bottleneck = _conv_block(widths[-1], widths[-1], n)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        cin = widths[-1]
        for w in reversed(widths):
            self.ups.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.decoders.append(_conv_block(2 * w, w, n))
            cin = w
        self.head = nn.Conv2d(widths[0], 1, 1)
        if config.residual:  # start as the first guess exactly; learn the correction
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for enc in self.encoders:
            x = enc(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)


def _features(cin: int, widths: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for w in widths:
        layers += [nn.Conv2d(cin, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        cin = w
    return nn.Sequential(*layers)


class PairDiscriminator(nn.Module):
    """The report's discriminator: two images in, a logit that the *second* is the real one."""

    def __init__(self, tile: int, widths: tuple[int, ...] = (16, 32, 32, 32)) -> None:
        super().__init__()
        self.features = _features(2, widths)
        flat = widths[-1] * (tile // 2 ** len(widths)) ** 2
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 64), nn.LeakyReLU(0.2), nn.Linear(64, 32), nn.LeakyReLU(0.2), nn.Linear(32, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(torch.cat([first, second], dim=1))).squeeze(1)


class ContextDiscriminator(nn.Module):
    """Context-encoder adversary: one image in, a logit that it is real."""

    def __init__(self, tile: int, widths: tuple[int, ...] = (32, 64, 64, 64)) -> None:
        super().__init__()
        self.features = _features(1, widths)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * (tile // 2 ** len(widths)) ** 2, 1))

    def forward(self, image: torch.Tensor, holes: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(image)).squeeze(1)


class GlobalLocalDiscriminator(nn.Module):
    """Global + local adversary with shared early layers.

    The shared layers see the whole tile; the global path continues on all of it, the
    local path on the feature window centred on the filled region (half the tile wide).
    Their features are concatenated into one logit.
    """

    def __init__(self, tile: int, shared: tuple[int, ...] = (32,), path: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        self.tile = tile
        self.shared = _features(1, shared)
        self.global_path = _features(shared[-1], path)
        self.local_path = _features(shared[-1], path)
        g = tile // 2 ** (len(shared) + len(path))
        loc = max(1, g // 2)
        self.head = nn.Linear(path[-1] * (g * g + loc * loc), 1)

    def forward(self, image: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
        feats = self.shared(image)
        size = feats.shape[-1]
        half = size // 2
        # centre of the holes, in feature pixels
        weight = F.adaptive_avg_pool2d(holes.float(), size).squeeze(1) + 1e-6
        grid = torch.arange(size, device=image.device, dtype=weight.dtype)
        cy = (weight.sum(2) * grid).sum(1) / weight.sum((1, 2))
        cx = (weight.sum(1) * grid).sum(1) / weight.sum((1, 2))
        y0 = (cy - half / 2).round().clamp(0, size - half).long()
        x0 = (cx - half / 2).round().clamp(0, size - half).long()
        rows = (y0[:, None] + torch.arange(half, device=image.device)[None]).clamp(max=size - 1)
        cols = (x0[:, None] + torch.arange(half, device=image.device)[None]).clamp(max=size - 1)
        b = torch.arange(feats.shape[0], device=image.device)[:, None, None]
        local = feats.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
        g = self.global_path(feats).flatten(1)
        loc = self.local_path(local).flatten(1)
        return self.head(torch.cat([g, loc], dim=1)).squeeze(1)


def make_discriminator(config: ModelConfig) -> nn.Module | None:
    """The adversary named in ``config.discriminator`` (None for a plain autoencoder)."""
    if config.discriminator is None or config.adversarial_weight == 0:
        return None
    return {"pair": PairDiscriminator, "context": ContextDiscriminator, "global_local": GlobalLocalDiscriminator}[config.discriminator](config.tile_size)


def normalise_tiles(
    values: torch.Tensor, observed: torch.Tensor, std_floor: float, margin: int = 0, window_std_floor: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-tile mean and std over observed pixels; returns (normalised with gaps 0, mean, std).

    With a ``margin`` the images are windows around their tile: the statistics are those of
    the central tile's observed pixels, or of the whole window's when the tile holds fewer
    than :data:`MIN_TILE_OBSERVED`; the std is then at least ``window_std_floor`` times the
    whole window's (:attr:`ModelConfig.window_std_floor`).

    Examples
    --------
    >>> v = torch.zeros(1, 12, 12); v[0, :, :2] = torch.tensor([-10.0, 10.0]).repeat(12, 1)  # varied context
    >>> obs = torch.ones(1, 12, 12, dtype=torch.bool)  # an 8 x 8 tile (64 observed pixels), margin 2
    >>> round(float(normalise_tiles(v, obs, 0.05, margin=2)[2]), 2)  # the tile is uniform: the floor
    0.05
    >>> round(float(normalise_tiles(v, obs, 0.05, margin=2, window_std_floor=1.0)[2]), 2)  # the window's std
    4.08
    """
    obs = observed.to(values.dtype)
    clean = torch.where(observed, values, torch.zeros((), dtype=values.dtype, device=values.device))
    if not margin:
        count, mean, var = _moments(clean, obs)
    else:  # the tile's moments from its crop; the window's only for the tiles that need them
        crop = (..., slice(margin, -margin), slice(margin, -margin))
        count, mean, var = _moments(clean[crop], obs[crop])
        sparse = (count < MIN_TILE_OBSERVED).reshape(-1)
        if window_std_floor > 0 or bool(sparse.any()):
            _, mean_all, var_all = _moments(clean, obs)
            where = sparse.reshape(count.shape)
            mean, var = torch.where(where, mean_all, mean), torch.where(where, var_all, var)
    std = var.sqrt().clamp_min(std_floor)
    if margin and window_std_floor > 0:
        std = torch.maximum(std, window_std_floor * var_all.sqrt())
    return (clean - mean) / std * obs, mean, std


def _moments(clean: torch.Tensor, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Count, mean and variance (N, 1, 1) over the observed pixels (``obs`` 1) of each image; ``clean`` is 0 elsewhere."""
    count = obs.sum(dim=(-2, -1), keepdim=True)
    n = count.clamp_min(1)
    mean = clean.sum(dim=(-2, -1), keepdim=True) / n
    var = (((clean - mean) * obs) ** 2).sum(dim=(-2, -1), keepdim=True) / n
    return count, mean, var


def wide_view(norm: torch.Tensor, observed: torch.Tensor, config: ModelConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``wide_guess`` and ``wide_fraction`` channels (N, T, T) of normalised windows (N, W, W).

    The window is averaged over ``wide_factor`` x ``wide_factor`` cells (observed pixels
    only), filled harmonically at that scale, brought back to full resolution (bilinear)
    and cropped to the tile; ``wide_fraction`` is each cell's observed fraction, likewise.
    """
    f, m, t = config.wide_factor, config.context_margin, config.tile_size
    obs = observed.to(norm.dtype).unsqueeze(1)
    total = F.avg_pool2d(norm.unsqueeze(1) * obs, f)
    fraction = F.avg_pool2d(obs, f)
    coarse = torch.where(fraction > 0, total / fraction.clamp_min(1e-6), torch.zeros_like(total))
    guess = harmonic_fill(coarse.squeeze(1), (fraction > 0).squeeze(1), config.first_guess_iterations).unsqueeze(1)
    # only the coarse cells the tile's pixels interpolate from (about a ninth of the context
    # model's 192-pixel window): the same values as interpolating the whole window and
    # cropping, bit for bit where the factor is a power of 2 (exact source coordinates)
    first = max(0, math.floor((m + 0.5) / f - 0.5))
    last = min(coarse.shape[-1], math.floor((m + t - 0.5) / f - 0.5) + 2)
    both = F.interpolate(torch.cat([guess, fraction], dim=1)[..., first:last, first:last], scale_factor=f, mode="bilinear", align_corners=False)
    start = m - first * f
    both = both[..., start : start + t, start : start + t]
    return both[:, 0], both[:, 1]


def build_inputs(
    norm: torch.Tensor,
    observed: torch.Tensor,
    config: ModelConfig,
    neighbours: torch.Tensor | None = None,
    neighbours_observed: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Stack the input channels (N, C, T, T) named in ``config.inputs``; also the first guess.

    ``norm`` and ``observed`` are windows (N, W, W) of ``config.window`` pixels around the
    tile; ``neighbours`` (N, S, T, T), normalised like the tile with gaps zeroed, and their
    masks fill the ``neighbours`` channels (all zero, no data, when None).
    """
    m, t = config.context_margin, config.tile_size
    tile_norm, tile_obs = (norm, observed) if not m else (norm[..., m : m + t, m : m + t], observed[..., m : m + t, m : m + t])
    channels, guess, wide = [], None, None
    for name in config.inputs:
        if name == "field":
            channels.append(tile_norm)
        elif name == "mask":
            channels.append(tile_obs.to(norm.dtype))
        elif name == "first_guess":
            if config.guess_on_window:
                guess = harmonic_fill(norm, observed, config.first_guess_iterations)[..., m : m + t, m : m + t]
            else:
                guess = harmonic_fill(tile_norm, tile_obs, config.first_guess_iterations)
            channels.append(guess)
        elif name in ("wide_guess", "wide_fraction"):
            wide = wide if wide is not None else wide_view(norm, observed, config)
            channels.append(wide[0] if name == "wide_guess" else wide[1])
        else:  # neighbours: S value channels, then S masks
            s = len(config.time_offsets)
            if neighbours is None:
                channels.extend([torch.zeros_like(tile_norm)] * (2 * s))
            else:
                channels.extend(neighbours.unbind(1))
                channels.extend(neighbours_observed.to(norm.dtype).unbind(1))
    return torch.stack(channels, dim=1), guess
