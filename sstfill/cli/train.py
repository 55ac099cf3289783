"""``sstfill train``: train a model on your own files, or adapt a bundled one to them (``--init``), and save it with the command that made it."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from sstfill.atomic import check_target
from sstfill.cli.common import adaptation_scores, check_written_files, cli_message, climatology_arg, history_lines, parse_chunks, resolve_init, say
from sstfill.errors import CLIError, ModelFileError

__all__ = ["cmd_train", "ADAPT_EPOCHS", "ADAPT_MINUTES", "FRESH_EPOCHS"]

#: ``--epochs`` when not given: a fresh model's epochs, and with ``--init`` enough that the
#: time budget (``--max-minutes``, default :data:`ADAPT_MINUTES`) decides when to stop
FRESH_EPOCHS = 30
ADAPT_EPOCHS = 1000
ADAPT_MINUTES = 10.0


def cmd_train(args: argparse.Namespace) -> int:
    """Run ``sstfill train``: check the options, train (or adapt ``--init``), save the model with the command that trained it."""
    from sstfill.kernels.holes import HOLE_KINDS
    from sstfill.training.tiles import OWN_CLOUDS
    from sstfill.models.files import is_model_file, resolve_model_file
    from sstfill.models.networks import PRESETS
    from sstfill.xr.fields import pick_variable
    from sstfill.xr.io import expand_inputs, open_inputs

    out = Path(args.out).expanduser()  # written as given: an .npz archive whatever its name
    if out.is_dir():
        raise CLIError(f"--out {str(out)!r} is a directory; give the model file's name, e.g. --out {str(out / 'model.npz')!r}.")
    if out.exists() and not args.overwrite and is_model_file(out):  # any other file: never replaced (check_written_files, below)
        raise CLIError(f"Model file {str(out)!r} exists already. Pass --overwrite to replace it, or choose another name.")
    if args.checkpoint is not None and Path(args.checkpoint).expanduser().is_dir():
        raise CLIError(f"--checkpoint {args.checkpoint!r} is a directory; give a file name, e.g. --checkpoint {str(Path(args.checkpoint) / 'run.npz')!r}.")
    check_target(out, overwrite=True)  # a place that takes no file fails now, not after the training
    if args.checkpoint is not None:
        check_target(Path(args.checkpoint).expanduser(), overwrite=True)
    adapting = args.init is not None
    latent = args.method == "latent"
    not_latent = (("init", args.init), ("preset", args.preset), ("patience", args.patience), ("checkpoint", args.checkpoint), ("resume", args.resume), ("holes", args.holes))
    given = [f"--{n}" for n, v in not_latent if v is not None and v != ""]
    if latent and given:
        raise CLIError(f"--method latent does not take {', '.join(given)}: a latent (DCGAN) model is trained from scratch, in one run, on whole tiles. Drop them.")
    if adapting and args.preset is not None:
        raise CLIError(
            f"--init {args.init!r} and --preset {args.preset!r} cannot go together: --init adapts that model and keeps its architecture. "
            "Drop --preset to adapt it, or drop --init to train a fresh model of that preset."
        )
    preset = args.preset if args.preset is not None else "default"
    if preset not in PRESETS:
        raise CLIError(f"Unknown --preset {preset!r}; choose one of {sorted(PRESETS)}.")
    kinds = (*HOLE_KINDS, OWN_CLOUDS)
    holes = [h.strip() for h in args.holes.split(",") if h.strip()] if args.holes else None
    if holes is not None:
        unknown = [h for h in holes if h not in kinds]
        if unknown or not holes:
            raise CLIError(f"--holes {args.holes!r}: unknown kind(s) {unknown}; choose from {', '.join(kinds)} (comma-separated).")
    init = resolve_init(args.init) if adapting else None
    epochs = args.epochs if args.epochs is not None else (ADAPT_EPOCHS if adapting else FRESH_EPOCHS)
    max_minutes = args.max_minutes if args.max_minutes is not None or not adapting else ADAPT_MINUTES
    if max_minutes is not None and not max_minutes > 0:  # NaN too: it never ends a run
        raise CLIError(f"--max-minutes must be more than 0 (got {max_minutes:g}).")
    resume = None
    if args.resume is not None:
        try:
            resume = resolve_model_file(args.resume)
        except ModelFileError as err:
            raise CLIError(f"--resume {args.resume!r}: {cli_message(err, 'train')}") from err
    for name, value in (("epochs", epochs), ("batch_size", args.batch_size), ("patience", args.patience), ("max_tiles", args.max_tiles),
                        ("steps_per_epoch", args.steps_per_epoch)):
        if value is not None and value < 1:
            raise CLIError(f"--{name.replace('_', '-')} must be at least 1.")
    files = expand_inputs(args.inputs)
    check_written_files({"--out": out, "--checkpoint": args.checkpoint}, files, args.overwrite)  # never over an input, each other, or a file that is no model
    ds = open_inputs(files, chunks=parse_chunks(args.chunks))
    kwargs: dict[str, Any] = dict(
        epochs=epochs,
        batch_size=args.batch_size,
        device=args.device,
        seed=args.seed,
        max_tiles=args.max_tiles,
        steps_per_epoch=args.steps_per_epoch,
        max_seconds=None if max_minutes is None else 60 * max_minutes,
        checkpoint=args.checkpoint,
        resume=resume,
        progress=not args.no_progress,
        climatology=climatology_arg(args.climatology),
    )
    if args.patience is not None:  # as given; else train()'s default (5, none with --init: the time budget decides)
        kwargs["patience"] = args.patience
    if latent:
        kwargs["method"] = "latent"
        for name in ("checkpoint", "resume"):
            kwargs.pop(name)
    elif adapting:
        kwargs["init"] = init  # the model's own architecture
    else:
        kwargs["preset"] = preset
    if holes is not None:
        kwargs["holes"] = tuple(holes)

    t0 = time.perf_counter()
    try:
        model = ds.inpaint.train(args.var, **kwargs)
    except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM: a checkpoint is not lost work, say how to go on from it
        checkpoint = Path(args.checkpoint).expanduser() if kwargs.get("checkpoint") is not None else None
        if checkpoint is not None and checkpoint.is_file():
            err.sstfill_note = f" (the checkpoint {str(checkpoint)!r} holds the epochs finished: add --resume {shlex.quote(str(checkpoint))} to go on from it)"
        raise
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
    if adapting:
        init = model.adapted_on["init"] if init == "auto" else init  # the bundled model chosen for the data
        training["init"] = init  # adapted, not trained from scratch (model.adapted_on has the details)
    saved = model.save(out, extra_config={"training": training}, overwrite=args.overwrite)
    h = model.history
    if adapting:
        say(f"adapted {init!r} on {var!r} in {seconds:.1f} s on {model.device}")
    elif latent:
        say(f"trained a latent (DCGAN) model on {var!r} in {seconds:.1f} s on {model.device}")
    else:
        say(f"trained a {preset!r} model on {var!r} in {seconds:.1f} s on {model.device}")
    if h.get("tiles"):
        say(f"tiles train/validation/test: {'/'.join(map(str, h['tiles']))} ({h.get('split', '')})")
    for line in history_lines(h):
        say(line)
    scores = adaptation_scores(h, ds[var].attrs.get("units"))
    if scores:
        say(f"adapted: {scores}")
    masks = (getattr(model, "adapted_on", None) or {}).get("own_cloud_masks")
    if masks:
        say(f"own cloud masks: {masks} windows of the data's own gaps (other days and places)")
    elif masks == 0:
        say("own cloud masks: none found in the data (land, or gaps too small or too wide): synthetic holes only")
    say(f"wrote {saved}")
    return 0
