"""``sstfill demo``: hide real cloud shapes on a bundled real SST image, fill them, score and draw.

Writes ``OUT/demo_filled.nc`` (the fill, its flag, its standard error and the hidden pixels) and
``OUT/demo.png`` (:func:`sstfill.plot.demo.demo_figure`), each atomically (an earlier demo's files
are replaced, a directory under their names never is), and prints the scores
of the model, scikit-image's biharmonic inpainting and sstfill's Laplace fill on the hidden
pixels, and the share of the hidden pixels whose error is within 1 and 2 standard errors.
"""

from __future__ import annotations

import argparse
import textwrap
import time
from pathlib import Path
from typing import Any

from sstfill.cli.common import bundled_file, format_count, resolve_cli_model, say
from sstfill.errors import CLIError

__all__ = ["DEMO_SAMPLES", "cmd_demo", "biharmonic"]

#: bundled samples the demo can use: file, label
DEMO_SAMPLES = {
    "mur": ("sample_mur_socal.nc", "MUR L4 foundation SST, Southern California Bight"),
    "slstr": ("sample_slstr_nw_med.nc", "Sentinel-3 SLSTR L2 skin SST, NW Mediterranean"),
}


def biharmonic(gappy, land) -> Any:
    """scikit-image's biharmonic inpainting of the NaNs (land set back to NaN); None without skimage."""
    import numpy as np

    try:
        from skimage.restoration import inpaint_biharmonic
    except ImportError:  # scikit-image is optional (the dev and bench extras)
        return None
    values = np.asarray(gappy, dtype="float64")
    missing = ~np.isfinite(values)
    mean = float(np.nanmean(values))
    out = inpaint_biharmonic(np.where(missing, 0.0, values - mean), missing) + mean
    out[land] = np.nan
    return out.astype("float32")


def _model_and_label(model_arg: str | None):
    """The demo's model (a bad ``--model`` fails before any work) and its label in the table."""
    from sstfill.models.store import BUNDLED_MODELS, DEFAULT_MODEL

    if model_arg is not None:
        model = resolve_cli_model(model_arg)
        name = str(model_arg).lower()
        if name in ("laplace", "harmonic"):
            return model, "sstfill laplace"
        if name in BUNDLED_MODELS:
            return model, f"sstfill {name} model"
        return model, f"sstfill model {Path(model_arg).name}"
    if bundled_file(DEFAULT_MODEL).is_file():
        return resolve_cli_model(None), "sstfill default model"
    say(f"note: the bundled default model ({DEFAULT_MODEL}) is not in this installation; using the classical 'laplace' filler instead.")
    return resolve_cli_model("laplace"), "sstfill laplace (fallback)"


def cmd_demo(args: argparse.Namespace) -> int:
    """Run ``sstfill demo`` (flags ``--out``, ``--sample``, ``--seed``, ``--model``)."""
    import matplotlib

    matplotlib.use("Agg", force=True)  # the demo writes a file; it never needs a display
    import matplotlib.pyplot as plt
    import numpy as np
    import xarray as xr

    from sstfill._version import __version__
    from sstfill.atomic import replace_refusal, write_atomically
    from sstfill.evaluation.metrics import scores
    from sstfill.models.harmonic import LaplaceFiller
    from sstfill.plot.demo import GAUSSIAN_WITHIN, demo_figure, within_sigma
    from sstfill.plot.units import shown_in_celsius, to_celsius
    from sstfill.xr.cf import output_names
    from sstfill.xr.fields import pick_variable
    from sstfill.xr.io import check_output, write_atomic

    t_start = time.perf_counter()
    out_dir = Path(args.out).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"--out {str(out_dir)!r} is a file; give a directory for the demo's outputs.")
    for name in ("demo_filled.nc", "demo.png"):  # earlier demo files are replaced; a directory under their names never is
        if replace_refusal(out_dir / name, directory=False) is not None:
            raise CLIError(f"--out {str(out_dir)!r}: {str(out_dir / name)!r} is a directory, which the demo does not replace with its {name}. "
                           "Give another --out, or remove it yourself if you mean to replace it.")
    check_output(out_dir / "demo_filled.nc", overwrite=True)  # an unwritable --out fails before the fill
    file_name, label = DEMO_SAMPLES[args.sample]
    sample = bundled_file(file_name)
    if not sample.is_file():
        raise CLIError(f"The bundled sample {file_name} is missing from this installation of sstfill: reinstall sstfill.")

    model, model_label = _model_and_label(args.model)
    is_laplace = isinstance(model, LaplaceFiller)

    with xr.open_dataset(sample) as ds:
        ds = ds.load()
    var = pick_variable(ds).name
    da = ds[var]
    time_dim = "time" if "time" in da.dims else None
    if time_dim is not None and args.sample == "mur":
        # an L4 analysis is complete over the ocean: what is missing on every day is land
        land = da.isnull().all(time_dim)
    else:
        land = "auto"
    truth_da = da.isel({time_dim: 0}) if time_dim is not None else da
    when = str(np.datetime_as_string(truth_da[time_dim].values, unit="D")) if time_dim is not None else ""

    gappy_da, hidden_da = truth_da.inpaint.add_holes("clouds", fraction=0.4, seed=args.seed, land=land)
    filled_da = gappy_da.inpaint.fill(model, land=land)
    flag_name, error_name = output_names(var)

    units = truth_da.attrs.get("units")
    truth_c = to_celsius(truth_da.values.astype("float64"), units)
    gappy_c = to_celsius(gappy_da.values.astype("float64"), units)
    filled_c = to_celsius(filled_da.values.astype("float64"), units)
    hidden = hidden_da.values.astype(bool)
    land_px = filled_da[flag_name].values == 2
    unit = "degC" if shown_in_celsius(units) else (units or "field units")
    error = filled_da[error_name] if error_name in filled_da.coords else None  # a spread: kelvin and degC alike
    coverage = within_sigma(filled_c, truth_c, error.values, hidden) if error is not None else None

    rows: list[tuple[str, dict]] = [(model_label, scores(filled_c, truth_c, hidden))]
    peers_note = []
    bih = biharmonic(gappy_c, land_px)
    if bih is not None:
        rows.append(("biharmonic (scikit-image)", scores(bih, truth_c, hidden)))
    else:
        peers_note.append("scikit-image is not installed: biharmonic peer skipped (pip install scikit-image)")
    if not is_laplace:
        lap = gappy_da.inpaint.fill("laplace", land=land)
        rows.append(("sstfill laplace", scores(to_celsius(lap.values.astype("float64"), units), truth_c, hidden)))

    # outputs: netCDF (filled field, its flag, the hidden pixels) and the figure
    out = filled_da.reset_coords([n for n in (flag_name, error_name) if n in filled_da.coords])
    out[f"{var}_hidden"] = hidden_da.astype("int8").assign_attrs(
        long_name=f"pixels of {var} hidden by the demo's synthetic clouds (1 = hidden)", flag_values=np.array([0, 1], "int8"), flag_meanings="kept hidden"
    )
    out[f"{var}_hidden"].encoding = {"dtype": "int8"}
    out.attrs = {
        "title": f"sstfill demo: {label}, {when}, gaps filled",
        "source": f"sstfill {__version__} demo on the bundled sample {file_name}; clouds: real SLSTR cloud shapes (seed {args.seed})",
        "Conventions": "CF-1.8",
        "history": out[var].attrs.get("history", ""),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    nc_path = write_atomic(out, out_dir / "demo_filled.nc", overwrite=True)

    n_hidden = int(hidden.sum())
    n_ocean = int(np.isfinite(truth_c).sum())
    title = f"sstfill demo · {label} · {when} · {n_hidden / max(n_ocean, 1):.0%} of the ocean hidden (seed {args.seed})"
    desc = getattr(model, "description", str(model))
    sample_note = "\n".join(
        textwrap.wrap(f"Filled with: {model_label} ({desc}).", 78)
        + textwrap.wrap(f"Gaps: real cloud shapes (kind 'clouds', fraction 0.4, seed {args.seed}) hiding {format_count(n_hidden)} observed pixels.", 78)
        + [f"Data: bundled {file_name} (held out of training)."]
    )
    no_truth = ~np.isfinite(truth_c) & ~hidden & np.isfinite(filled_c)
    if no_truth.any():  # e.g. SLSTR outside the swath: filled (extrapolated) in the file, shaded "no data" in the figure
        sample_note += "\n" + "\n".join(textwrap.wrap(f"{format_count(int(no_truth.sum()))} pixels without truth (outside the swath) are filled in demo_filled.nc but not shown here.", 78))
    fig = demo_figure(truth_da, gappy_da, filled_da, hidden=hidden_da, land=filled_da[flag_name] == 2, scores=rows, title=title, note=sample_note, error=error)
    try:
        png_path = write_atomically(out_dir / "demo.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110), overwrite=True)
    finally:
        plt.close(fig)

    base = rows[0][1]["rmse"]
    say(f"sstfill demo: {label}, {when} ({truth_c.shape[0]} x {truth_c.shape[1]} pixels, bundled {file_name})")
    say(f"hidden: {format_count(n_hidden)} observed ocean pixels ({n_hidden / max(n_ocean, 1):.1%} of the ocean) under real cloud shapes, seed {args.seed}")
    say(f"model: {desc}")
    say("")
    say(f"RMSE on the hidden pixels ({unit}); ratio = RMSE / RMSE of {rows[0][0]}")
    say(f"  {'method':<30}{'RMSE':>8}{'MAE':>8}{'bias':>9}{'ratio':>8}")
    for name, s in rows:
        ratio = s["rmse"] / base if base > 0 else float("nan")
        say(f"  {name:<30}{s['rmse']:>8.3f}{s['mae']:>8.3f}{s['bias']:>+9.3f}{ratio:>8.2f}")
    for note in peers_note:
        say(f"  ({note})")
    if coverage is not None:
        say("")
        say(f"standard error of the {rows[0][0]} ({error_name}): hidden pixels with |filled - truth| within 1 and 2 sigma")
        say("  " + ", ".join(f"within {k:g} sigma: {100 * v:.0f} % (Gaussian: {100 * GAUSSIAN_WITHIN[k]:.0f} %)" for k, v in coverage.items()))
    say("")
    written_vars = ", ".join([var, flag_name] + ([error_name] if error is not None else []) + [f"{var}_hidden"])
    say(f"wrote {nc_path}  (variables {written_vars})")
    say(f"wrote {png_path}")
    say(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0
