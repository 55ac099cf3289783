"""Training checkpoints: a model file that also holds what resuming needs.

A checkpoint is an ordinary model file (:mod:`sstfill.models.files`: ``.npz`` plus JSON
config, loadable with :func:`sstfill.load_model`) with, beside the generator:

- ``best/<name>``: the best generator weights so far (absent before the first improvement);
- ``discriminator/<name>``: the discriminator's weights, when the model has one;
- ``optimizer_g``, ``optimizer_d``: each optimiser's ``state_dict`` written by
  :func:`torch.save` into bytes (a uint8 array) and read back with
  ``torch.load(..., weights_only=True)``, which rebuilds plain tensors and containers only
  and never runs code from the file;
- in the config: ``history``, ``best`` (validation loss), ``bad_epochs`` and ``scheduler``.

Checkpoints written before optimiser states were torch bytes (one array per state tensor,
``optimizer_g/<param id>/<key>``, and ``param_groups`` in the config) are still read.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sstfill.errors import ModelFileError, ModelMismatchError
from sstfill.models.files import arrays_to_state, load_arrays, resolve_model_file, state_to_arrays
from sstfill.models.inpainter import Inpainter
from sstfill.models.networks import ModelConfig

__all__ = ["RunState", "save_checkpoint", "load_checkpoint", "optimizer_to_array", "array_to_optimizer_state", "legacy_optimizer_state"]


@dataclass
class RunState:
    """Where a run stands after an epoch, beside the weights and optimisers."""

    history: dict[str, list]
    best: float = math.inf
    bad_epochs: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    scheduler: dict[str, Any] = field(default_factory=dict)


def optimizer_to_array(optimizer: torch.optim.Optimizer) -> np.ndarray:
    """``optimizer.state_dict()`` as the bytes of :func:`torch.save`, in a uint8 array."""
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)


def array_to_optimizer_state(array: np.ndarray) -> dict[str, Any]:
    """Inverse of :func:`optimizer_to_array`: plain tensors and containers only (``weights_only=True``), on the CPU."""
    return torch.load(io.BytesIO(np.ascontiguousarray(array).tobytes()), map_location="cpu", weights_only=True)


def legacy_optimizer_state(prefix: str, arrays: dict[str, np.ndarray], config: dict[str, Any]) -> dict[str, Any]:
    """An optimiser ``state_dict`` from the older layout: arrays ``prefix/<param id>/<key>``, ``config[prefix]["param_groups"]``."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    start = f"{prefix}/"
    for key, value in arrays.items():
        if key.startswith(start):
            param, name = key[len(start) :].split("/", 1)
            state.setdefault(int(param), {})[name] = torch.from_numpy(np.array(value))
    return {"state": state, "param_groups": config[prefix]["param_groups"]}


def _optimizer_state(name: str, arrays: dict[str, np.ndarray], config: dict[str, Any]) -> dict[str, Any] | None:
    if name in arrays:
        return array_to_optimizer_state(arrays[name])
    if isinstance(config.get(name), dict):
        return legacy_optimizer_state(name, arrays, config)
    return None


def save_checkpoint(path: str | os.PathLike, model: Inpainter, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer | None, run: RunState) -> Path:
    """Write ``model`` (with ``run.history``), its discriminator, both optimisers and ``run`` to ``path``."""
    arrays = state_to_arrays("best", run.best_state) if run.best_state is not None else {}
    arrays["optimizer_g"] = optimizer_to_array(opt_g)
    if model.discriminator is not None and opt_d is not None:
        arrays.update(state_to_arrays("discriminator", model.discriminator.state_dict()))
        arrays["optimizer_d"] = optimizer_to_array(opt_d)
    config = {"history": run.history, "best": run.best, "bad_epochs": run.bad_epochs, "scheduler": run.scheduler}
    model.history = run.history
    return model.save(path, extra_arrays=arrays, extra_config=config)


def load_checkpoint(path: str | os.PathLike, model: Inpainter, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer | None) -> RunState:
    """Load the weights and optimiser states of the checkpoint at ``path`` into ``model``, ``opt_g``, ``opt_d``; return the rest.

    The discriminator and ``opt_d`` are loaded when the model has a discriminator and the
    checkpoint holds its optimiser. Nothing is loaded unless the file is a checkpoint
    (:class:`ModelFileError` for a plain model file) of a model with ``model``'s
    configuration (:class:`ModelMismatchError`, naming what differs).
    """
    path = resolve_model_file(path)
    arrays, config = load_arrays(path)
    _check_resumable(path, arrays, config, model)
    try:
        model.generator.load_state_dict(arrays_to_state("generator", arrays))
        opt_g.load_state_dict(_optimizer_state("optimizer_g", arrays, config))
        disc_state = _optimizer_state("optimizer_d", arrays, config)
        if model.discriminator is not None and opt_d is not None and disc_state is not None:
            model.discriminator.load_state_dict(arrays_to_state("discriminator", arrays))
            opt_d.load_state_dict(disc_state)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ModelFileError(f"Checkpoint {str(path)!r} is damaged: its weights or optimiser states do not fit the model it describes ({type(err).__name__}: {str(err)[:300]}).", fix="Start afresh without resume=.", argument="resume") from err
    best_state = arrays_to_state("best", arrays) or None
    return RunState(history=config["history"], best=config["best"], bad_epochs=config["bad_epochs"], best_state=best_state, scheduler=config["scheduler"])


def _check_resumable(path: Path, arrays: dict[str, np.ndarray], config: dict[str, Any], model: Inpainter) -> None:
    """Raise unless ``path`` is a training checkpoint of a model configured as ``model``."""
    run_keys = ("history", "best", "bad_epochs", "scheduler")
    has_optimizer = "optimizer_g" in arrays or isinstance(config.get("optimizer_g"), dict)
    if not has_optimizer or any(key not in config for key in run_keys):
        raise ModelFileError(
            f"{str(path)!r} is a model file, not a training checkpoint: it holds no optimiser state to resume from.",
            fix="resume= takes the file a run wrote with checkpoint=...; to go on training this model, pass it as init= instead (it is adapted from its weights).",
            argument="resume_model",
        )
    try:
        saved = ModelConfig.from_dict(config["model"])
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ModelFileError(f"Checkpoint {str(path)!r} has an unreadable model configuration ({type(err).__name__}: {err}).", fix="Start afresh without resume=.", argument="resume") from err
    if saved != model.config:
        ours = model.config.to_dict()
        diff = [f"{key} {value!r} (checkpoint) vs {ours[key]!r} (this run)" for key, value in saved.to_dict().items() if value != ours[key]]
        preset = f" (preset={config['preset']!r})" if config.get("preset") else ""
        raise ModelMismatchError(
            f"Checkpoint {str(path)!r} was written by a run of another model{preset}: {'; '.join(diff)}. "
            "Resume with the preset and settings it was written with, or start afresh without resume=."
        )
