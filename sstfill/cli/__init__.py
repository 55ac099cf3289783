"""The ``sstfill`` command: ``demo``, ``fill``, ``train``, ``info`` and ``quality``.

Examples
--------
Run the demo on the bundled real MUR sample (writes ``./sstfill-demo``)::

    sstfill demo

Fill a month of daily files into one zarr store, lazily, with a progress bar::

    sstfill fill 'data/mur_2021-01-*.nc' filled.zarr --var analysed_sst

Train a model on your own data and look at it::

    sstfill train 'data/*.nc' --out my_model.npz --epochs 30
    sstfill info my_model.npz

Errors sstfill raises on purpose (missing files, unknown variables, corrupt models,
existing outputs) are printed as one line, ``sstfill: error: ...``, with exit status 2;
nothing is written when a run fails. Ctrl-C (exit status 130) and SIGTERM (143: ``timeout``,
``kill``, a batch scheduler's cancel) stop a run the same way: temporaries removed, an
existing output kept.

One module per command: :mod:`~sstfill.cli.demo`, :mod:`~sstfill.cli.fill`,
:mod:`~sstfill.cli.train`, :mod:`~sstfill.cli.info`, :mod:`~sstfill.cli.quality`; what they share is in
:mod:`~sstfill.cli.common`. This module builds the parser and runs a command.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from sstfill.cli.common import cli_message
from sstfill.cli.demo import DEMO_SAMPLES, cmd_demo
from sstfill.cli.fill import cmd_fill
from sstfill.cli.info import cmd_info
from sstfill.cli.quality import cmd_quality
from sstfill.cli.train import cmd_train
from sstfill.errors import CLIError, SSTFillError

__all__ = ["main", "build_parser", "CLIError"]

PROG = "sstfill"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written (line breaks kept)."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``sstfill`` and its commands; each command's ``func`` runs it."""
    from sstfill._version import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fill cloud gaps in satellite sea-surface temperature with a neural tile model.",
        epilog="Run 'sstfill demo' to see it on a real MUR sample; 'sstfill COMMAND -h' for each command's options.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"sstfill {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("demo", help="fill synthetic clouds on a bundled real SST sample; write a figure and scores", formatter_class=_Formatter,
                       description="Hide 40% of a bundled real SST image under real cloud shapes, fill the gaps with the default model, "
                       "compare with biharmonic and Laplace fills, and write OUT/demo_filled.nc and OUT/demo.png.")
    p.add_argument("--out", default="sstfill-demo", help="directory for demo_filled.nc and demo.png (default: %(default)s)")
    p.add_argument("--sample", choices=sorted(DEMO_SAMPLES), default="mur", help="bundled sample: MUR L4 (Southern California) or SLSTR L2 (NW Mediterranean)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic clouds (default: %(default)s)")
    p.add_argument("--model", default=None, help="model file (.npz), 'fast' (the bundled fast model) or 'laplace' instead of the bundled default model")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("fill", help="fill the gaps of netCDF/zarr inputs into a new netCDF or zarr output", formatter_class=_Formatter,
                       usage="%(prog)s INPUT [INPUT ...] OUTPUT [options]",
                       description="Fill cloud gaps lazily (dask) and write the filled variable, its <var>_fill_flag and <var>_error atomically: "
                       "nothing appears under OUTPUT unless the whole run succeeds.")
    p.add_argument("paths", nargs="+", metavar="INPUT... OUTPUT", help="netCDF files, quoted glob patterns ('data/*.nc') or zarr stores, then the output (.nc or .zarr)")
    p.add_argument("--var", default=None, help="variable to fill (default: the only floating-point field)")
    p.add_argument("--model", default=None, help="model file (.npz), a bundled model ('default', 'fast', 'context', 'latent') or 'laplace' "
                   "(default: 'context' on a series of daily maps, 'default' on single images and other series)")
    p.add_argument("--chunks", default=None, help="dask chunks, e.g. time=1,lat=512,lon=512 (default: automatic, one time step per chunk or the steps a file stores together)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto", help="where a neural model runs (default: %(default)s)")
    p.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default="auto",
                   help="what a neural model computes in; auto: bfloat16 on GPUs and CPUs with native bfloat16, else float32 (default: %(default)s)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask.distributed scheduler to run on, e.g. tcp://10.0.0.5:8786 (workers must see the inputs and the output directory)")
    p.add_argument("--max-distance", default="auto", metavar="DIST", help="fill gaps only this far from the observations, e.g. '50 km' or '30 px'; "
                   "'auto' is the measured default, 'none' fills every gap however far (default: %(default)s)")
    p.add_argument("--no-error", action="store_true", help="do not write <var>_error (the standard error of each filled value): a little faster")
    p.add_argument("--no-persistence", action="store_true", help="on a series, fill each step from the model alone (by default each filled pixel "
                   "is blended with the neighbouring days' observations, the more the farther it lies from its own day's data)")
    p.add_argument("--no-stitch", action="store_true", help="blend the tiles plainly instead of stitching them (faster, 1.2x for the "
                   "default model on a CPU, but their disagreements can show as steps on the tile lattice)")
    p.add_argument("--climatology", choices=["auto", "monthly", "none"], default="auto",
                   help="fill the anomalies from the inputs' own monthly climatology and add it back; auto: monthly maps in which every "
                   "calendar month occurs in at least 3 years (default: %(default)s)")
    p.add_argument("--adapt", type=float, default=None, metavar="MINUTES", help="first adapt --model to the inputs for MINUTES minutes "
                   "(fine-tune a copy on their own observed pixels and cloud masks, as sstfill train --init does), then fill with it")
    p.add_argument("--save-model", default=None, metavar="PATH", help="with --adapt: also write the adapted model to PATH (after the output is written)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fill)

    p = sub.add_parser("train", help="train a model on your own data, or adapt a bundled one to it (--init)", formatter_class=_Formatter,
                       description="Train an adversarial convolutional autoencoder on tiles of INPUT and save it to --out, exactly as named (an .npz archive).\n"
                       "With --init, adapt a copy of that model instead: fine-tune it on INPUT's observed pixels hidden under INPUT's own clouds "
                       "(from other days and places) for --max-minutes; its starting weights are kept unless an epoch beats them on validation.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="netCDF files, quoted glob patterns or zarr stores")
    p.add_argument("-o", "--out", required=True, metavar="MODEL.npz", help="the model file to write, exactly as named (an .npz archive whatever the name)")
    p.add_argument("--var", default=None, help="variable to train on (default: the only floating-point field)")
    p.add_argument("--method", choices=["autoencoder", "latent"], default="autoencoder",
                   help="autoencoder (default): the adversarial autoencoder; latent: latent-space inpainting with a DCGAN (slow fills; see the benchmarks)")
    p.add_argument("--init", default=None, metavar="MODEL", help="adapt this model to INPUT instead of training a fresh one: auto (context on a series, default on an image), "
                   "default, fast, context or a model file (not with --preset)")
    p.add_argument("--epochs", type=int, default=None, help="at most this many epochs (default: 30; 1000 with --init, so that --max-minutes decides)")
    p.add_argument("--batch-size", type=int, default=32, help="tiles per training step (default: %(default)s)")
    p.add_argument("--preset", default=None, help="architecture of a fresh model: report, fast, default, large or context (default: default)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto", help="auto: CUDA when available (default: %(default)s)")
    p.add_argument("--seed", type=_whole_number, default=0, help="makes CPU training reproducible (default: %(default)s)")
    p.add_argument("--patience", type=int, default=None, help="epochs without validation improvement before stopping (default: 5; with --init none: --max-minutes decides)")
    p.add_argument("--holes", default=None, help="comma-separated hole kinds, own_clouds for INPUT's own gaps "
                   "(default: clouds,squares,squares6,square10,random_field; own_clouds,clouds with --init)")
    p.add_argument("--checkpoint", default=None, metavar="PATH", help="save a resumable checkpoint after every epoch")
    p.add_argument("--resume", default=None, metavar="PATH", help="continue from a checkpoint")
    p.add_argument("--max-tiles", type=int, default=None, metavar="N", help="at most N tiles per set")
    p.add_argument("--steps-per-epoch", type=int, default=None, metavar="N", help="batches per epoch (default: one pass over the tiles; 16 with --init)")
    p.add_argument("--climatology", choices=["auto", "monthly", "none"], default="auto",
                   help="train on the anomalies from the inputs' own monthly climatology, as sstfill fill fills them; auto: monthly maps in which "
                   "every calendar month occurs in at least 3 years (default: %(default)s)")
    p.add_argument("--max-minutes", type=float, default=None, metavar="M", help="time budget: stop after the batch that passes M minutes, that epoch then validated (default: none; 10 with --init)")
    p.add_argument("--chunks", default=None, help="dask chunks for reading, e.g. time=1")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("info", help="list the bundled models, or describe one, a model file or a fill's output", formatter_class=_Formatter,
                       description="Without MODEL: list the bundled models (file, size, preset, what each is for, validation score). "
                       "With MODEL: print its architecture, the sstfill version that saved it, its training history and command. "
                       "With a fill's output (netCDF or zarr): each filled variable, the model that filled it and when, "
                       "its pixels by flag and the median and 95th percentile of its error.")
    p.add_argument("model", metavar="MODEL", nargs="?", default=None,
                   help="a model file, or a bundled model: default, fast, context or latent; or an output of sstfill fill; omit it to list the bundled models")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("quality", help="compare a fill or generated field with a reference: SSIM, Frechet distance, birthday test", formatter_class=_Formatter,
                       description="Cut both fields into 64x64 tiles at the same places and steps (kept where both are at least half observed) "
                       "and print the SSIM of the candidate against the reference, the Frechet distance between their feature statistics "
                       "(sstfill's shipped SST encoder) and the birthday test for near-duplicates (sstfill.evaluation.quality).")
    p.add_argument("reference", metavar="REFERENCE", help="netCDF file or zarr store with the reference field (e.g. the truth)")
    p.add_argument("candidate", metavar="CANDIDATE", help="netCDF file or zarr store with the field to judge, on the same grid and steps (kelvin and degrees Celsius are converted)")
    p.add_argument("--var", default=None, help="variable of REFERENCE (default: the only floating-point field)")
    p.add_argument("--candidate-var", default=None, help="variable of CANDIDATE (default: the same name as REFERENCE's)")
    p.add_argument("--max-tiles", type=int, default=2000, metavar="N", help="compare at most N tiles (default: %(default)s)")
    p.add_argument("--plot", default=None, metavar="PNG", help="also draw the candidate's closest pairs of tiles")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --plot file (never an input or a directory)")
    p.set_defaults(func=cmd_quality)
    return parser


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: str | None = None) -> None:
    """A warning as the command says it: one line like its errors, without Python's file and source line."""
    kind = "" if category is UserWarning else f"({category.__name__}) "
    print(f"{PROG}: warning: {kind}{message}", file=sys.stderr if file is None else file, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sstfill`` command; returns the exit status (0 ok, 2 error, 130 interrupted, 143 terminated by SIGTERM)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # what `sstfill train` records as the command that trained a model
    with warnings.catch_warnings(), _terminate_as_interrupt():  # both restored on return: main() may run inside a user's Python
        warnings.showwarning = _one_line_warning
        return _run(args)


def _whole_number(text: str) -> int:
    """``--seed``: a whole number of at least 0 (numpy's seeding refused -1 with a traceback)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"give a whole number of at least 0, not {text!r}")
    return value


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, ``kill``, SLURM's ``scancel``, ``docker stop``), raised as the interrupt every command cleans up after."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM stops it as Ctrl-C does: temporaries removed, an existing output kept, one line said.

    Without it the process died where it stood and left a partial temporary output behind.
    Later SIGTERMs are ignored while it cleans up. Only in the main thread (where Python
    runs signal handlers); elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the cleanup is not cut short by a second one
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except SSTFillError as err:  # a library error's fix as this command says it: --var NAME, not var=...
        print(f"{PROG}: error: {cli_message(err, args.command)}", file=sys.stderr, flush=True)
        return 2
    except OSError as err:  # the file system refused something (a figure, a directory): one line, not a traceback
        where = f" ({err.filename!r})" if getattr(err, "filename", None) else ""
        print(f"{PROG}: error: {err.strerror or err}{where}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt as err:
        how = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted"
        print(f"{PROG}: {how}; no output was written{getattr(err, 'sstfill_note', '')}", file=sys.stderr, flush=True)
        return 128 + signal.SIGTERM if isinstance(err, Terminated) else 130
