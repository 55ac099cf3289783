"""The ``sstfill`` command: ``demo``, ``fill``, ``train`` and ``info``.

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
nothing is written when a run fails.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Sequence

from sstfill.errors import ModelFileError, SSTFillError

__all__ = ["main", "build_parser", "CLIError"]

PROG = "sstfill"

#: bundled samples the demo can use: file, label
DEMO_SAMPLES = {
    "mur": ("sample_mur_socal.nc", "MUR L4 foundation SST, Southern California Bight"),
    "slstr": ("sample_slstr_nw_med.nc", "Sentinel-3 SLSTR L2 skin SST, NW Mediterranean"),
}
LAND_RGB = (0.72, 0.72, 0.72)
NODATA_RGB = (0.88, 0.88, 0.9)
OBSERVED_RGB = (0.95, 0.95, 0.95)
_KELVIN_UNITS = ("k", "kelvin", "kelvins", "degk", "deg_k", "degrees_kelvin")


class CLIError(SSTFillError):
    """A problem with what was asked on the command line."""


# -- small helpers ------------------------------------------------------------------------
def _say(*parts: Any) -> None:
    print(*parts, flush=True)


def _parse_chunks(text: str | None) -> dict[str, int] | None:
    """``"time=1,lat=512,lon=512"`` -> ``{"time": 1, "lat": 512, "lon": 512}``."""
    if not text:
        return None
    out: dict[str, int] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        try:
            size = int(value)
        except ValueError:
            size = 0
        if not sep or not name or (size <= 0 and value != "-1"):
            raise CLIError(f"--chunks {text!r}: give DIM=SIZE pairs separated by commas, e.g. --chunks time=1,lat=512,lon=512 (SIZE -1 for a whole dimension).")
        out[name] = size
    return out


def _bundled(name: str) -> Path:
    from importlib import resources

    return Path(str(resources.files("sstfill") / "data" / name))


def _in_celsius(values, units: str | None):
    """Values in degC (kelvin input converted), and whether they are in degC at all."""
    u = (units or "").strip().lower().replace(" ", "_")
    if u in _KELVIN_UNITS:
        return values - 273.15, True
    return values, u in ("c", "celsius", "degc", "deg_c", "degree_c", "degrees_c", "degree_celsius", "degrees_celsius")


def _resolve_cli_model(model: str | None, device: str | None = None, precision: str | None = None):
    """The model once, up front (so a bad path fails before anything is written)."""
    from sstfill.models.store import resolve_model

    try:
        return resolve_model(model, device, precision)
    except ModelFileError as err:
        if model is None:
            raise CLIError(
                "The bundled default model is missing from this installation of sstfill: reinstall sstfill, "
                "or pass --model laplace (classical harmonic fill) or --model PATH.npz (a model you trained)."
            ) from err
        raise


def _fmt_count(n: int) -> str:
    return f"{n:,}"


# -- demo ---------------------------------------------------------------------------------
def _biharmonic(gappy, land) -> Any:
    """scikit-image's biharmonic inpainting of the NaNs (land set back to NaN); None without skimage."""
    import numpy as np

    try:
        from skimage.restoration import inpaint_biharmonic
    except ImportError:
        return None
    values = np.asarray(gappy, dtype="float64")
    missing = ~np.isfinite(values)
    mean = float(np.nanmean(values))
    out = inpaint_biharmonic(np.where(missing, 0.0, values - mean), missing) + mean
    out[land] = np.nan
    return out.astype("float32")


def _map_geometry(lat, lon):
    import numpy as np

    lat = np.asarray(lat, dtype="float64")
    lon = np.asarray(lon, dtype="float64")
    dy = abs(lat[-1] - lat[0]) / max(len(lat) - 1, 1)
    dx = abs(lon[-1] - lon[0]) / max(len(lon) - 1, 1)
    extent = [lon.min() - dx / 2, lon.max() + dx / 2, lat.min() - dy / 2, lat.max() + dy / 2]
    origin = "lower" if lat[-1] >= lat[0] else "upper"
    aspect = 1.0 / max(math.cos(math.radians(float(lat.mean()))), 0.1)
    return extent, origin, aspect


def _demo_figure(path: Path, *, truth, gappy, filled, hidden, land, lat, lon, units_c: bool, title: str, rows: list[tuple[str, dict]], sample_note: str) -> None:
    """The demo's six-panel figure (five plots and a score table)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    unit = "°C" if units_c else ""
    extent, origin, aspect = _map_geometry(lat, lon)
    ocean = np.isfinite(truth)
    lo, hi = np.nanpercentile(truth[ocean], [0.5, 99.5])
    pad = 0.02 * (hi - lo)
    vmin, vmax = lo - pad, hi + pad
    err = np.where(hidden, filled - truth, np.nan)
    e = err[np.isfinite(err)]
    emax = float(np.nanpercentile(np.abs(e), 99)) if e.size else 1.0
    emax = max(emax, 1e-3)

    land_rgba = np.zeros(truth.shape + (4,))
    land_rgba[land] = LAND_RGB + (1.0,)
    nodata = ~np.isfinite(truth) & ~land & ~hidden  # e.g. outside a satellite swath
    nodata_rgba = np.zeros(truth.shape + (4,))
    nodata_rgba[nodata] = NODATA_RGB + (1.0,)

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10.5, "axes.titleweight": "bold"})
    fig = plt.figure(figsize=(14, 10), layout="constrained")
    gs = fig.add_gridspec(2, 3)
    axes = [fig.add_subplot(gs[i, j]) for i in range(2) for j in range(3)]
    a_in, a_truth, a_fill, a_err, a_sc, a_txt = axes
    imkw = dict(extent=extent, origin=origin, aspect=aspect, interpolation="nearest")
    outline = dict(levels=[0.5], colors="k", linewidths=0.4, alpha=0.5, extent=extent, origin=origin)

    def decorate(ax, label, show_nodata=True):
        ax.imshow(land_rgba, **imkw)
        if show_nodata and nodata.any():
            ax.imshow(nodata_rgba, **imkw)
        ax.set_title(label)
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
        ax.set_facecolor("white")

    sst_kw = dict(cmap="RdYlBu_r", vmin=vmin, vmax=vmax, **imkw)
    im = a_in.imshow(gappy, **sst_kw)
    decorate(a_in, f"input with gaps ({np.mean(hidden[ocean]):.0%} of the ocean hidden)")
    a_truth.imshow(truth, **sst_kw)
    decorate(a_truth, "truth")
    a_fill.imshow(filled, **sst_kw)
    a_fill.contour(np.where(hidden, 1.0, 0.0), **outline)
    decorate(a_fill, "filled (outline: gaps)")
    cb = fig.colorbar(im, ax=[a_in, a_truth, a_fill], location="bottom", shrink=0.45, aspect=40, pad=0.02, extend="both")
    cb.set_label(f"sea-surface temperature ({unit})" if unit else "value")

    observed_rgba = np.zeros(truth.shape + (4,))
    observed_rgba[ocean & ~hidden] = OBSERVED_RGB + (1.0,)
    a_err.imshow(observed_rgba, **imkw)
    ie = a_err.imshow(err, cmap="RdBu_r", vmin=-emax, vmax=emax, **imkw)
    a_err.contour(np.where(hidden, 1.0, 0.0), **outline)
    rmse = float(np.sqrt(np.mean(e**2))) if e.size else float("nan")
    decorate(a_err, "error in the gaps: filled − truth", show_nodata=False)
    cb2 = fig.colorbar(ie, ax=a_err, location="bottom", shrink=0.8, aspect=25, pad=0.02, extend="both")
    cb2.set_label(f"error ({unit})" if unit else "error")

    t = truth[hidden]
    f = filled[hidden]
    ok = np.isfinite(t) & np.isfinite(f)
    t, f = t[ok], f[ok]
    if t.size:
        a_sc.scatter(t, f, s=2, alpha=0.2, color="#1f5f95", edgecolors="none", rasterized=True)
        lim = [min(t.min(), f.min()), max(t.max(), f.max())]
        span = lim[1] - lim[0] or 1.0
        lim = [lim[0] - 0.03 * span, lim[1] + 0.03 * span]
        a_sc.plot(lim, lim, color="k", lw=1, ls="--", label="1:1")
        a_sc.set_xlim(lim)
        a_sc.set_ylim(lim)
        r = float(np.corrcoef(t, f)[0, 1]) if t.size > 1 else float("nan")
        stats = f"n = {_fmt_count(t.size)} pixels\nRMSE = {rmse:.3f} {unit}\nbias = {np.mean(f - t):+.3f} {unit}\nr = {r:.3f}"
        a_sc.text(0.04, 0.96, stats, transform=a_sc.transAxes, va="top", ha="left", fontsize=9, bbox=dict(boxstyle="round", fc="white", ec="0.8"))
        a_sc.legend(loc="lower right", frameon=False)
    a_sc.set_aspect("equal", adjustable="box")
    a_sc.grid(True, lw=0.4, alpha=0.5)
    a_sc.set_title("filled vs truth in the gaps")
    a_sc.set_xlabel(f"truth ({unit})" if unit else "truth")
    a_sc.set_ylabel(f"filled ({unit})" if unit else "filled")

    a_txt.axis("off")
    lines = [f"{'method':<28}{'RMSE':>7}{'MAE':>7}{'bias':>8}", "─" * 50]
    for label, s in rows:
        lines.append(f"{label:<28}{s['rmse']:>7.3f}{s['mae']:>7.3f}{s['bias']:>+8.3f}")
    a_txt.text(0.0, 0.97, f"Scores in the gaps ({unit or 'field units'})", fontweight="bold", fontsize=10.5, va="top", transform=a_txt.transAxes)
    a_txt.text(0.0, 0.88, "\n".join(lines), family="monospace", fontsize=9, va="top", transform=a_txt.transAxes, linespacing=1.5)
    legend = [(LAND_RGB, "land"), ((1.0, 1.0, 1.0), "gap (cloud)")]
    if nodata.any():
        legend.append((NODATA_RGB, "no data"))
    legend.append((OBSERVED_RGB, "observed (error map)"))
    for i, (colour, text) in enumerate(legend):
        x, y = 0.45 * (i % 2), 0.56 - 0.06 * (i // 2)
        a_txt.add_patch(plt.Rectangle((x, y - 0.02), 0.04, 0.04, transform=a_txt.transAxes, fc=colour, ec="0.45", lw=0.6))
        a_txt.text(x + 0.06, y, text, transform=a_txt.transAxes, va="center", fontsize=9)
    a_txt.text(0.0, 0.41, sample_note, fontsize=8.5, va="top", transform=a_txt.transAxes, color="0.25", linespacing=1.55)

    fig.suptitle(title, fontsize=12, fontweight="bold")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_demo(args: argparse.Namespace) -> int:
    import numpy as np
    import xarray as xr

    import sstfill  # noqa: F401  (registers .inpaint)

    from sstfill._version import __version__
    from sstfill.models.store import BUNDLED_MODELS, DEFAULT_MODEL
    from sstfill.xr.io import check_output, write_atomic
    from sstfill.evaluation.metrics import scores

    t_start = time.perf_counter()
    out_dir = Path(args.out).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"--out {str(out_dir)!r} is a file; give a directory for the demo's outputs.")
    check_output(out_dir / "demo_filled.nc", overwrite=True)  # an unwritable --out fails before the fill
    file_name, label = DEMO_SAMPLES[args.sample]
    sample = _bundled(file_name)
    if not sample.is_file():
        raise CLIError(f"The bundled sample {file_name} is missing from this installation of sstfill: reinstall sstfill.")

    # the model first: a bad --model fails before any work
    if args.model is not None:
        model = _resolve_cli_model(args.model)
        name = str(args.model).lower()
        if name in ("laplace", "harmonic"):
            model_label = "sstfill laplace"
        elif name in BUNDLED_MODELS:
            model_label = f"sstfill {name} model"
        else:
            model_label = f"sstfill model {Path(args.model).name}"
    elif _bundled(DEFAULT_MODEL).is_file():
        model = _resolve_cli_model(None)
        model_label = "sstfill default model"
    else:
        _say(f"note: the bundled default model ({DEFAULT_MODEL}) is not in this installation; using the classical 'laplace' filler instead.")
        model = _resolve_cli_model("laplace")
        model_label = "sstfill laplace (fallback)"
    is_laplace = model.__class__.__name__ == "LaplaceFiller"

    with xr.open_dataset(sample) as ds:
        ds = ds.load()
    var = next(v for v in ds.data_vars if ds[v].ndim >= 2)
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
    flag_name = f"{var}_fill_flag"

    truth_c, units_c = _in_celsius(truth_da.values.astype("float64"), truth_da.attrs.get("units"))
    gappy_c, _ = _in_celsius(gappy_da.values.astype("float64"), truth_da.attrs.get("units"))
    filled_c, _ = _in_celsius(filled_da.values.astype("float64"), truth_da.attrs.get("units"))
    hidden = hidden_da.values.astype(bool)
    flag = filled_da[flag_name].values
    land_px = flag == 2
    unit = "degC" if units_c else (truth_da.attrs.get("units") or "field units")

    rows: list[tuple[str, dict]] = [(model_label, scores(filled_c, truth_c, hidden))]
    peers_note = []
    bih = _biharmonic(gappy_c, land_px)
    if bih is not None:
        rows.append(("biharmonic (scikit-image)", scores(bih, truth_c, hidden)))
    else:
        peers_note.append("scikit-image is not installed: biharmonic peer skipped (pip install scikit-image)")
    if not is_laplace:
        lap = gappy_da.inpaint.fill("laplace", land=land)
        lap_c, _ = _in_celsius(lap.values.astype("float64"), truth_da.attrs.get("units"))
        rows.append(("sstfill laplace", scores(lap_c, truth_c, hidden)))

    # outputs: netCDF (filled field, its flag, the hidden pixels) and the figure
    out = filled_da.reset_coords(flag_name)
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

    lat_name, lon_name = filled_da.inpaint.grid.dims
    lat = filled_da[lat_name].values
    lon = filled_da[lon_name].values
    n_hidden = int(hidden.sum())
    n_ocean = int(np.isfinite(truth_c).sum())
    title = f"sstfill demo · {label} · {when} · {n_hidden / max(n_ocean, 1):.0%} of the ocean hidden (seed {args.seed})"
    desc = getattr(model, "description", str(model))
    sample_note = "\n".join(
        textwrap.wrap(f"Filled with: {model_label} ({desc}).", 78)
        + textwrap.wrap(f"Gaps: real cloud shapes (kind 'clouds', fraction 0.4, seed {args.seed}) hiding {_fmt_count(n_hidden)} observed pixels.", 78)
        + [f"Data: bundled {file_name} (held out of training)."]
    )
    no_truth = ~np.isfinite(truth_c) & ~hidden & np.isfinite(filled_c)
    if no_truth.any():  # e.g. SLSTR outside the swath: filled (extrapolated) in the file, not shown
        sample_note += "\n" + "\n".join(textwrap.wrap(f"{_fmt_count(int(no_truth.sum()))} pixels without truth (outside the swath) are filled in demo_filled.nc but not shown here.", 78))
    png_path = out_dir / "demo.png"
    tmp_png = out_dir / f".demo.png.tmp-{os.getpid()}.png"
    try:
        _demo_figure(tmp_png, truth=truth_c, gappy=gappy_c, filled=np.where(no_truth, np.nan, filled_c), hidden=hidden, land=land_px, lat=lat, lon=lon, units_c=units_c, title=title, rows=rows, sample_note=sample_note)
        os.replace(tmp_png, png_path)
    except BaseException:
        tmp_png.unlink(missing_ok=True)
        raise

    base = rows[0][1]["rmse"]
    _say(f"sstfill demo: {label}, {when} ({truth_c.shape[0]} x {truth_c.shape[1]} pixels, bundled {file_name})")
    _say(f"hidden: {_fmt_count(n_hidden)} observed ocean pixels ({n_hidden / max(n_ocean, 1):.1%} of the ocean) under real cloud shapes, seed {args.seed}")
    _say(f"model: {desc}")
    _say("")
    _say(f"RMSE on the hidden pixels ({unit}); ratio = RMSE / RMSE of {rows[0][0]}")
    _say(f"  {'method':<30}{'RMSE':>8}{'MAE':>8}{'bias':>9}{'ratio':>8}")
    for name, s in rows:
        ratio = s["rmse"] / base if base > 0 else float("nan")
        _say(f"  {name:<30}{s['rmse']:>8.3f}{s['mae']:>8.3f}{s['bias']:>+9.3f}{ratio:>8.2f}")
    for note in peers_note:
        _say(f"  ({note})")
    _say("")
    _say(f"wrote {nc_path}  (variables {var}, {flag_name}, {var}_hidden)")
    _say(f"wrote {png_path}")
    _say(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0


# -- fill ---------------------------------------------------------------------------------
def _flag_counts(path: Path, flag_name: str) -> dict[str, int] | None:
    """Pixels per fill flag of a written output (streamed through dask: little memory)."""
    import dask

    from sstfill.xr.cf import FILL_FLAGS
    from sstfill.xr.io import open_input

    try:
        with open_input(str(path), {}) as ds:
            if flag_name not in ds:
                return None
            flag = ds[flag_name]
            counts = dask.compute(*[(flag == value).sum().data for value in FILL_FLAGS], scheduler="threads")
    except Exception:  # noqa: BLE001  (a summary only)
        return None
    return {FILL_FLAGS[v]: int(c) for v, c in zip(FILL_FLAGS, counts)}


def cmd_fill(args: argparse.Namespace) -> int:
    import sstfill  # noqa: F401

    from sstfill.xr.io import check_output, open_inputs, output_format, write_atomic

    if len(args.paths) < 2:
        raise CLIError("fill needs at least one INPUT and an OUTPUT: sstfill fill INPUT... OUTPUT.nc|OUTPUT.zarr")
    inputs, output = args.paths[:-1], args.paths[-1]
    output_format(output)  # a name without .nc/.zarr fails now
    target = Path(output).expanduser()
    if (target.exists() or target.is_symlink()) and not args.overwrite:
        raise CLIError(f"Output {output!r} exists already. Pass --overwrite to replace it, or choose another name.")
    check_output(target, overwrite=args.overwrite)  # a directory that takes no new file fails now, not after the fill
    chunks = _parse_chunks(args.chunks)
    ds = open_inputs(inputs, chunks=chunks)
    if args.var is not None and args.var not in ds.data_vars:
        raise CLIError(f"--var {args.var!r} is not in the inputs; their data variables are {sorted(map(str, ds.data_vars))}.")
    for p in inputs:
        if Path(p).expanduser().resolve() == target.resolve() and target.suffix.lower() == ".zarr":
            raise CLIError(f"Output {output!r} is also an input: write the filled store under another name.")
    model = _resolve_cli_model(args.model, args.device, args.precision)
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
        before = set(ds.data_vars)
        out = ds.inpaint.fill(args.var, model=model, device=args.device, precision=args.precision)
        flag_name = next(v for v in out.data_vars if v not in before and str(v).endswith("_fill_flag"))
        var = str(flag_name)[: -len("_fill_flag")]
        field = ds[var]
        n_chunks = getattr(field.data, "npartitions", 1)
        sizes = " x ".join(f"{d} {n}" for d, n in field.sizes.items())
        _say(f"filling {var!r} ({sizes}; {n_chunks} dask chunk{'s' if n_chunks != 1 else ''}) with {getattr(model, 'description', model)}")
        if client is not None:
            _say(f"on the dask cluster at {args.scheduler} (dashboard: {client.dashboard_link})")
        written = write_atomic(out, target, overwrite=args.overwrite, progress=not args.no_progress and client is None)
        seconds = time.perf_counter() - t0
    finally:
        if client is not None:
            client.close()
    counts = _flag_counts(written, flag_name)
    _say(f"wrote {written} in {seconds:.1f} s")
    if counts:
        total = sum(counts.values()) or 1
        _say("pixels: " + ", ".join(f"{k} {_fmt_count(v)} ({v / total:.1%})" for k, v in counts.items()))
        if counts.get("not_filled"):
            _say(f"note: {_fmt_count(counts['not_filled'])} pixels could not be filled (too little data nearby); they stay NaN with {flag_name} = 3")
    return 0


# -- train --------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    import sstfill  # noqa: F401

    from sstfill.xr.io import expand_inputs, open_inputs
    from sstfill.kernels.holes import HOLE_KINDS
    from sstfill.models.networks import PRESETS

    from sstfill.models.store import resolve_model_file

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
    ds = open_inputs(args.inputs, chunks=_parse_chunks(args.chunks))
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
    from sstfill.xr.fields import pick_variable

    t0 = time.perf_counter()
    model = ds.inpaint.train(args.var, **kwargs)
    seconds = time.perf_counter() - t0
    var = pick_variable(ds, args.var).name
    argv = args._argv if getattr(args, "_argv", None) is not None else sys.argv[1:]
    training = {
        "command": "sstfill " + shlex.join(argv),
        "inputs": files,
        "variable": var,
        "device": str(model.device),
        "seconds": round(seconds, 1),
    }
    saved = model.save(out, extra_config={"training": training})
    h = model.history
    _say(f"trained a {args.preset!r} model on {var!r} in {seconds:.1f} s on {model.device}")
    if h.get("tiles"):
        _say(f"tiles train/validation/test: {'/'.join(map(str, h['tiles']))} ({h.get('split', '')})")
    for line in _history_lines(h):
        _say(line)
    _say(f"wrote {saved}")
    return 0


#: How scores in a training history are labelled: each tile is standardised by its observed pixels.
NORMALISED_UNITS = "(normalised units: 1 = the tile's standard deviation)"


def _history_lines(h: dict) -> list[str]:
    """The validation and test scores of a training history, one line each, for people."""
    import numpy as np

    lines = []
    val = h.get("val_loss") or []
    if val:
        best = int(np.nanargmin(val))
        epochs = h.get("epoch") or list(range(len(val)))
        rm = h.get("val_rmse_hidden") or []
        rm_text = f", hidden-pixel RMSE {rm[best]:.4f} {NORMALISED_UNITS}" if len(rm) > best else ""
        lines.append(f"validation: best loss {val[best]:.4f} at epoch {int(epochs[best]) + 1} of {len(val)}{rm_text}")
    if h.get("test_loss"):
        rm = h.get("test_rmse_hidden") or [float("nan")]
        lines.append(f"test: loss {h['test_loss'][-1]:.4f}, hidden-pixel RMSE {rm[-1]:.4f} {NORMALISED_UNITS}")
    return lines


# -- info ---------------------------------------------------------------------------------
def _saved_with(config: dict) -> str:
    """Which sstfill saved a model file, honestly: files saved from a source checkout may not know."""
    from sstfill.models.store import UNKNOWN_VERSION

    version = config.get("sstfill_version")
    if not version:
        return "saved by an sstfill that did not record its version"
    if version == UNKNOWN_VERSION:
        return "saved with an sstfill source checkout of unknown version"
    return f"saved with sstfill {version}"


def _list_bundled_models() -> int:
    """``sstfill info`` without a model: the bundled models, what each is for, and how to see more."""
    from sstfill.models.store import BUNDLED_MODEL_USES, BUNDLED_MODELS, load_arrays

    _say("Bundled models (use one with --model NAME, or model=\"NAME\" in Python):")
    for name, file_name in BUNDLED_MODELS.items():
        path = _bundled(file_name)
        use = BUNDLED_MODEL_USES.get(name, "")
        if not path.is_file():
            _say(f"  {name:<9}{file_name}: missing from this installation of sstfill (reinstall sstfill)")
            continue
        _, config = load_arrays(path)
        _say(f"  {name:<9}{file_name}, {path.stat().st_size / 2**20:.2f} MiB, preset {config.get('preset')!r}")
        if use:
            _say(f"  {'':<9}{use}")
        for line in _history_lines(config.get("history") or {}):
            _say(f"  {'':<9}{line}")
    _say("Details of one (architecture, training history, the command that trained it): sstfill info NAME, or sstfill info PATH for a model file.")
    _say("Scores in the field's units on held-out MUR and SLSTR data: the benchmarks page of the documentation (docs/benchmarks.md).")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from sstfill.models.store import BUNDLED_MODELS, load_arrays, resolve_model_file
    from sstfill.models.inpainter import Inpainter

    if args.model is None:
        return _list_bundled_models()
    if args.model in BUNDLED_MODELS:
        path = _bundled(BUNDLED_MODELS[args.model])
        if not path.is_file():
            raise CLIError(f"The bundled {args.model!r} model is missing from this installation of sstfill: reinstall sstfill.")
    else:
        try:
            path = resolve_model_file(args.model)
        except ModelFileError as err:
            raise CLIError(f"{err} Run 'sstfill info' with no MODEL to list the bundled models ({', '.join(BUNDLED_MODELS)}).") from err
    arrays, config = load_arrays(path)
    model = Inpainter.load(path)
    c = model.config
    n_params = sum(p.numel() for p in model.generator.parameters())
    size = path.stat().st_size
    rows = [
        ("model file", f"{path} ({size / 2**20:.2f} MiB)"),
        ("format", f"{config.get('format')}, {_saved_with(config)}"),
        ("preset", str(config.get("preset"))),
        ("tile size", f"{c.tile_size} x {c.tile_size} pixels"),
        ("widths", f"{list(c.widths)} ({len(c.widths)} levels, {c.convs_per_level} convolution(s) per level)"),
        ("inputs", ", ".join(c.inputs) + (" (predicts a correction to the first guess)" if c.residual else "")),
        ("discriminator", f"{c.discriminator} (adversarial weight {c.adversarial_weight:g})" if c.discriminator and c.adversarial_weight else "none (plain autoencoder)"),
        ("parameters", f"{n_params:,} (generator)"),
    ]
    h = config.get("history") or {}
    if h.get("val_loss"):
        seconds = sum(h.get("seconds") or [])
        rows.append(("training", f"{len(h['val_loss'])} epoch(s), {seconds:.0f} s of training"))
        for line in _history_lines(h):
            rows.append(("", line))
        if h.get("tiles"):
            rows.append(("", f"tiles train/validation/test: {'/'.join(map(str, h['tiles']))} ({h.get('split', '')})"))
    else:
        rows.append(("training", "no history recorded (untrained or saved without history)"))
    training = config.get("training") or {}
    if training.get("command"):
        rows.append(("command", str(training["command"])))
    labels = {"inputs": "training data", "variable": "variable", "device": "device", "seconds": "training time"}
    for key, value in training.items():
        if key == "command":
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        elif key == "seconds":
            value = f"{value} s"
        rows.append((labels.get(key, str(key).replace("_", " ")), str(value)))
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        _say(f"{key:<{width}}{value}")
    return 0


# -- parser -------------------------------------------------------------------------------
class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
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
                       description="Fill cloud gaps lazily (dask) and write the filled variable and its <var>_fill_flag atomically: "
                       "nothing appears under OUTPUT unless the whole run succeeds.")
    p.add_argument("paths", nargs="+", metavar="INPUT... OUTPUT", help="netCDF files, quoted glob patterns ('data/*.nc') or zarr stores, then the output (.nc or .zarr)")
    p.add_argument("--var", default=None, help="variable to fill (default: the only floating-point field)")
    p.add_argument("--model", default=None, help="model file (.npz), 'fast' (the bundled fast model) or 'laplace' (default: the bundled default model)")
    p.add_argument("--chunks", default=None, help="dask chunks, e.g. time=1,lat=512,lon=512 (default: automatic, one time step per chunk)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto", help="where a neural model runs (default: %(default)s)")
    p.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default="auto",
                   help="what a neural model computes in; auto: bfloat16 on GPUs and CPUs with native bfloat16, else float32 (default: %(default)s)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask.distributed scheduler to run on, e.g. tcp://10.0.0.5:8786 (workers must see the inputs and the output directory)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fill)

    p = sub.add_parser("train", help="train a model on your own data", formatter_class=_Formatter,
                       description="Train an adversarial convolutional autoencoder on tiles of INPUT and save it to --out, exactly as named (an .npz archive).")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="netCDF files, quoted glob patterns or zarr stores")
    p.add_argument("--out", required=True, metavar="MODEL.npz", help="the model file to write, exactly as named (an .npz archive whatever the name)")
    p.add_argument("--var", default=None, help="variable to train on (default: the only floating-point field)")
    p.add_argument("--epochs", type=int, default=30, help="at most this many epochs (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=32, help="tiles per training step (default: %(default)s)")
    p.add_argument("--preset", default="default", help="architecture: report, fast, default or large (default: %(default)s)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto", help="auto: CUDA when available (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="makes CPU training reproducible (default: %(default)s)")
    p.add_argument("--patience", type=int, default=5, help="epochs without validation improvement before stopping (default: %(default)s)")
    p.add_argument("--holes", default=None, help="comma-separated hole kinds (default: clouds,squares,squares6,square10,random_field)")
    p.add_argument("--checkpoint", default=None, metavar="PATH", help="save a resumable checkpoint after every epoch")
    p.add_argument("--resume", default=None, metavar="PATH", help="continue from a checkpoint")
    p.add_argument("--max-tiles", type=int, default=None, metavar="N", help="at most N tiles per set")
    p.add_argument("--steps-per-epoch", type=int, default=None, metavar="N", help="batches per epoch (default: one pass over the tiles)")
    p.add_argument("--max-minutes", type=float, default=None, metavar="M", help="stop after the epoch in which training passes M minutes")
    p.add_argument("--chunks", default=None, help="dask chunks for reading, e.g. time=1")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("info", help="list the bundled models, or describe one or a model file", formatter_class=_Formatter,
                       description="Without MODEL: list the bundled models (file, size, preset, what each is for, validation score). "
                       "With MODEL: print its architecture, the sstfill version that saved it, its training history and command.")
    p.add_argument("model", metavar="MODEL", nargs="?", default=None, help="a model file, or 'default' or 'fast' (the bundled models); omit it to list the bundled models")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sstfill`` command; returns the exit status (0 ok, 2 error, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args._argv = argv
    try:
        return int(args.func(args) or 0)
    except SSTFillError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr, flush=True)
        return 2
    except OSError as err:  # the file system refused something (a figure, a directory): one line, not a traceback
        where = f" ({err.filename!r})" if getattr(err, "filename", None) else ""
        print(f"{PROG}: error: {err.strerror or err}{where}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no output was written", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
