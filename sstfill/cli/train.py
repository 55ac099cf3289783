"""``sstfill train``: train a model on your own files and save it, with the command that trained it."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from sstfill.cli.common import history_lines, parse_chunks, say
from sstfill.errors import CLIError, ModelFileError

__all__ = ["cmd_train"]


def cmd_train(args: argparse.Namespace) -> int:
    """Run ``sstfill train``: check the options, train, save the model with the command that trained it."""
    from sstfill.kernels.holes import HOLE_KINDS
    from sstfill.models.files import resolve_model_file
    from sstfill.models.networks import PRESETS
    from sstfill.xr.fields import pick_variable
    from sstfill.xr.io import expand_inputs, open_inputs

    out = Path(args.out).expanduser()  # written as given: an .npz archive whatever its name
    if out.is_dir():
        raise CLIError(f"--out {str(out)!r} is a directory; give the model file's name, e.g. --out {str(out / 'model.npz')!r}.")
    if out.exists() and not args.overwrite:
        raise CLIError(f"Model file {str(out)!r} exists already. Pass --overwrite to replace it, or choose another name.")
    if args.checkpoint is not None and Path(args.checkpoint).expanduser().is_dir():
        raise CLIError(f"--checkpoint {args.checkpoint!r} is a directory; give a file name, e.g. --checkpoint {str(Path(args.checkpoint) / 'run.npz')!r}.")
    if args.preset not in PRESETS:
        raise CLIError(f"Unknown --preset {args.preset!r}; choose one of {sorted(PRESETS)}.")
    holes = [h.strip() for h in args.holes.split(",") if h.strip()] if args.holes else None
    if holes is not None:
        unknown = [h for h in holes if h not in HOLE_KINDS]
        if unknown or not holes:
            raise CLIError(f"--holes {args.holes!r}: unknown kind(s) {unknown}; choose from {', '.join(HOLE_KINDS)} (comma-separated).")
    resume = None
    if args.resume is not None:
        try:
            resume = resolve_model_file(args.resume)
        except ModelFileError as err:
            raise CLIError(f"--resume {args.resume!r}: {err}") from err
    for name in ("epochs", "batch_size", "patience"):
        if getattr(args, name) < 1:
            raise CLIError(f"--{name.replace('_', '-')} must be at least 1.")
    files = expand_inputs(args.inputs)
    ds = open_inputs(args.inputs, chunks=parse_chunks(args.chunks))
    kwargs: dict[str, Any] = dict(
        epochs=args.epochs,
        batch_size=args.batch_size,
        patience=args.patience,
        device=args.device,
        seed=args.seed,
        preset=args.preset,
        max_tiles=args.max_tiles,
        steps_per_epoch=args.steps_per_epoch,
        max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
        checkpoint=args.checkpoint,
        resume=resume,
        progress=not args.no_progress,
    )
    if holes is not None:
        kwargs["holes"] = tuple(holes)

    t0 = time.perf_counter()
    model = ds.inpaint.train(args.var, **kwargs)
    seconds = time.perf_counter() - t0
    var = pick_variable(ds, args.var).name
    argv = args.argv if getattr(args, "argv", None) is not None else sys.argv[1:]  # main() sets args.argv
    training = {
        "command": "sstfill " + shlex.join(argv),
        "inputs": files,
        "variable": var,
        "device": str(model.device),
        "seconds": round(seconds, 1),
    }
    saved = model.save(out, extra_config={"training": training})
    h = model.history
    say(f"trained a {args.preset!r} model on {var!r} in {seconds:.1f} s on {model.device}")
    if h.get("tiles"):
        say(f"tiles train/validation/test: {'/'.join(map(str, h['tiles']))} ({h.get('split', '')})")
    for line in history_lines(h):
        say(line)
    say(f"wrote {saved}")
    return 0
