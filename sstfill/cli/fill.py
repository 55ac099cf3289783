"""``sstfill fill``: fill netCDF/zarr inputs lazily into a new netCDF file or zarr store, atomically (``--adapt``: adapt the model to them first)."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from sstfill.atomic import check_target
from sstfill.cli.common import (adaptation_scores, check_written_files, climatology_arg, error_quantiles, flag_counts, format_count, parse_chunks,
                                resolve_cli_model, resolve_init, say)
from sstfill.errors import CLIError

__all__ = ["cmd_fill", "max_distance_arg"]


def max_distance_arg(text: str) -> str | float | None:
    """``--max-distance`` as ``fill`` takes it ("none" is None), checked now rather than after the inputs are read.

    Examples
    --------
    >>> max_distance_arg("none"), max_distance_arg("50 km")
    (None, '50 km')
    """
    from sstfill.xr.reach import parse_max_distance

    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = text
    try:
        parse_max_distance(value)
    except ValueError as err:
        raise CLIError(f"--max-distance {text!r}: {err} (on the command line: 'auto', 'none', '50 km', '30 px').") from err
    return text if isinstance(value, str) else value


def _looks_like_another_input(target: Path, field: Any) -> bool:
    """Whether the existing ``target`` looks like one more input file, not an output.

    It does when it opens as a dataset holding ``field``'s variable on ``field``'s grid and
    is no sstfill output (no ``<var>_fill_flag``, no sstfill fill in the variable's history):
    e.g. the last of the files a shell glob expanded to, with no output named. That it holds
    other times than the inputs is not asked: granules without a time axis, or two products
    of one day, are inputs as well. Opened lazily: only its coordinates are read.
    """
    import numpy as np

    from sstfill.errors import SSTFillError
    from sstfill.xr.fields import earlier_fill_flag
    from sstfill.xr.grid import find_grid
    from sstfill.xr.io import open_input

    var = str(field.name)
    try:
        with open_input(str(target), {}) as ds:
            if var not in ds.data_vars or earlier_fill_flag(ds[var], ds) is not None or "filled by sstfill" in str(ds[var].attrs.get("history", "")):
                return False
            other = ds[var]
            grid = find_grid(field).dims
            for dim in grid:
                if other.sizes.get(dim) != field.sizes[dim]:
                    return False
                if dim in field.indexes and dim in other.indexes:
                    a, b = field.indexes[dim], other.indexes[dim]
                    if not (a.equals(b) or (a.dtype.kind in "iuf" and b.dtype.kind in "iuf" and np.allclose(a, b))):
                        return False
            return True
    except SSTFillError:  # unreadable, or no grid: not one of the inputs
        return False


def cmd_fill(args: argparse.Namespace) -> int:
    """Run ``sstfill fill INPUT... OUTPUT``: check everything, fill lazily, write atomically, summarise."""
    from sstfill.xr.climatology import NOTE as CLIMATOLOGY_NOTE
    from sstfill.models.files import is_model_file
    from sstfill.xr.fields import check_field, pick_variable
    from sstfill.xr.io import check_output, expand_inputs, open_inputs, output_format, write_atomic
    from sstfill.xr.series import wants_auto

    if len(args.paths) < 2:
        raise CLIError("fill needs at least one INPUT and an OUTPUT: sstfill fill INPUT... OUTPUT.nc|OUTPUT.zarr")
    inputs, output = args.paths[:-1], args.paths[-1]
    output_format(output)  # a name without .nc/.zarr fails now
    target = Path(output).expanduser()
    check_output(target, overwrite=True)  # a place that takes no new file fails now; an existing output is looked at once the inputs are open
    adapt_minutes = getattr(args, "adapt", None)
    save_model = getattr(args, "save_model", None)
    init = None
    if adapt_minutes is not None:
        if not adapt_minutes > 0:
            raise CLIError(f"--adapt {adapt_minutes:g}: give the minutes to spend adapting the model, more than 0 (e.g. --adapt 10), or drop --adapt.")
        init = resolve_init(args.model or "auto", "--model")  # --adapt needs a neural model; "auto" is chosen once the data is open
    if save_model is not None:
        if adapt_minutes is None:
            raise CLIError("--save-model writes the adapted model: give --adapt MINUTES too (to keep a model trained on your data, use sstfill train).")
        model_path = Path(save_model).expanduser()
        if model_path.is_dir():
            raise CLIError(f"--save-model {save_model!r} is a directory; give the model file's name, e.g. --save-model {str(model_path / 'adapted.npz')!r}.")
        if model_path.exists() and not args.overwrite and is_model_file(model_path):  # any other file: never replaced (check_written_files)
            raise CLIError(f"Model file {save_model!r} exists already. Pass --overwrite to replace it, or choose another name.")
        check_target(model_path, overwrite=True)  # a place that takes no file fails now, not after the fill
    files = expand_inputs(inputs)  # once: globs are expanded for the check, the open and the saved model's record
    # never an input (a forgotten output name after a glob), nor the adapted model over an input, the output or a file that is no model
    check_written_files({"OUTPUT": target, "--save-model": save_model}, files, args.overwrite)
    chunks = parse_chunks(args.chunks)
    ds = open_inputs(files, chunks=chunks)
    if args.var is not None and args.var not in ds.data_vars:
        raise CLIError(f"--var {args.var!r} is not in the inputs; their data variables are {sorted(map(str, ds.data_vars))}.")
    max_distance = max_distance_arg(getattr(args, "max_distance", "auto"))
    climatology = climatology_arg(getattr(args, "climatology", "auto"))
    chosen = args.model
    field = pick_variable(ds, args.var)  # the variable the fill takes
    check_field(field, read_lazy=True)  # all missing: said now, not after an empty output is written
    var = str(field.name)
    existing = target.exists() or target.is_symlink()
    if existing and _looks_like_another_input(target, field):  # e.g. day*.nc expanded by the shell, no output named
        raise CLIError(
            f"Output {output!r} looks like another input file (it holds {var!r} on the inputs' grid and is no sstfill output): not replaced, "
            "even with --overwrite. If the shell expanded a glob and no output was named, quote the glob so that sstfill expands it "
            f"and name an output file (sstfill fill 'day*.nc' filled.nc); or delete {output!r} first if you really mean to replace it."
        )
    if existing and not args.overwrite:
        raise CLIError(f"Output {output!r} exists already. Pass --overwrite to replace it, or choose another name.")
    if wants_auto(args.model):  # the bundled model fill() would choose for this variable
        from sstfill.xr.grid import find_grid
        from sstfill.xr.series import auto_init_name, auto_model_name

        dims = find_grid(field).dims
        chosen = auto_model_name(field, dims)
        if init == "auto":  # the one that adapts best: context on any series
            init = resolve_init(auto_init_name(field, dims), "--model")
    minutes = 0.0
    if init is None:
        model = resolve_cli_model(chosen, args.device, args.precision)
    else:
        t0 = time.perf_counter()
        model = ds.inpaint.train(args.var, init=init, max_minutes=adapt_minutes, device=args.device, progress=not args.no_progress, climatology=climatology)
        minutes = (time.perf_counter() - t0) / 60
        adapted_var = model.adapted_on["variable"]
        scores = adaptation_scores(model.history, ds[adapted_var].attrs.get("units"))
        name = init if wants_auto(args.model) or init == args.model.lower() else args.model  # a bundled name, or the path as given
        say(f"adapted {name!r} on {adapted_var!r} for {minutes:.1f} min" + (f": {scores}" if scores else ""))
    client = None
    if args.scheduler:
        try:
            from dask.distributed import Client
        except ImportError as err:
            raise CLIError("--scheduler needs dask.distributed: pip install distributed") from err
        try:
            client = Client(args.scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as err:
            raise CLIError(f"Cannot connect to the dask scheduler at {args.scheduler!r} ({type(err).__name__}: {err}). Start one with `dask scheduler` or drop --scheduler.") from err
    try:
        t0 = time.perf_counter()
        # the model is on --device already (resolved or adapted there): moving it again warned twice without CUDA
        out = ds.inpaint.fill(args.var, model=model, device=None, precision=args.precision, max_distance=max_distance, error=not getattr(args, "no_error", False),
                              climatology=climatology, persistence=not getattr(args, "no_persistence", False),
                              stitch=not getattr(args, "no_stitch", False))
        n_chunks = getattr(field.data, "npartitions", 1)
        sizes = " x ".join(f"{d} {n}" for d, n in field.sizes.items())
        what = getattr(model, "description", model)
        say(f"filling {var!r} ({sizes}; {n_chunks} dask chunk{'s' if n_chunks != 1 else ''}) with {'the adapted model: ' if init else ''}{what}")
        if CLIMATOLOGY_NOTE in str(out[var].attrs.get("comment", "")):
            say("  as anomalies from the inputs' own monthly climatology (--climatology none to fill the field as it is)")
        if client is not None:
            say(f"on the dask cluster at {args.scheduler} (dashboard: {client.dashboard_link})")
        written = write_atomic(out, target, overwrite=args.overwrite, progress=not args.no_progress and client is None)
        seconds = time.perf_counter() - t0
    finally:
        if client is not None:
            client.close()
    try:
        return _summary(args, model, written, out, field, seconds, files, init, minutes)
    except KeyboardInterrupt:  # the output is complete: say so, not that nothing was written
        print(f"sstfill: interrupted after writing {written}" + (" (the adapted model was not saved)" if save_model is not None else ""), file=sys.stderr, flush=True)
        return 130


def _summary(args: argparse.Namespace, model: Any, written: Path, out: Any, field: Any, seconds: float, files: list, init: Any, minutes: float) -> int:
    """After the output is written: save the adapted model (``--save-model``) and print what was filled."""
    from sstfill.xr.cf import output_names

    var = str(field.name)
    flag_name, error_name = output_names(var)
    save_model = getattr(args, "save_model", None)
    if save_model is not None:  # after the output: a failed run writes nothing
        saved = model.save(Path(save_model).expanduser(), extra_config={"training": {"command": "sstfill " + shlex.join(getattr(args, "argv", None) or sys.argv[1:]),
                                                                                     "inputs": files, "variable": var, "init": init,
                                                                                     "device": str(model.device), "seconds": round(60 * minutes, 1)}},
                           overwrite=args.overwrite)
    counts = flag_counts(written, flag_name)
    sigma = error_quantiles(written, error_name, flag_name) if error_name in out.data_vars else None
    say(f"wrote {written} in {seconds:.1f} s")
    if save_model is not None:
        say(f"wrote the adapted model to {saved} (sstfill info {shlex.quote(str(saved))} describes it)")
    if counts:
        total = sum(counts.values()) or 1
        say("pixels: " + ", ".join(f"{k} {format_count(v)} ({v / total:.1%})" for k, v in counts.items()))
        if counts.get("not_filled"):
            say(f"note: {format_count(counts['not_filled'])} pixels could not be filled (too little data nearby, or no latitude/longitude); they stay NaN with {flag_name} = 3")
        if counts.get("beyond_reach"):
            say(
                f"note: {format_count(counts['beyond_reach'])} pixels lie beyond the reach of the data (--max-distance {args.max_distance}); "
                f"they stay NaN with {flag_name} = 4 (--max-distance none fills them)"
            )
    if sigma:
        units = field.attrs.get("units")
        unit = f" {units}" if units else ""
        say(f"error of filled values (1 sigma): median {sigma[0.5]:.3g}{unit}, 95th percentile {sigma[0.95]:.3g}{unit} (in {error_name})")
    return 0
