"""``sstfill info``: list the bundled models, describe one model file, or describe a fill's output."""

from __future__ import annotations

import argparse
from pathlib import Path

from sstfill.cli.common import adaptation_scores, bundled_file, cli_message, history_lines, say
from sstfill.errors import CLIError, ModelFileError

__all__ = ["cmd_info", "list_bundled_models", "saved_with", "adaptation_rows", "describe_output"]


def saved_with(config: dict) -> str:
    """Which sstfill saved a model file, honestly: files saved from a source checkout may not know."""
    from sstfill.models.files import UNKNOWN_VERSION

    version = config.get("sstfill_version")
    if not version:
        return "saved by an sstfill that did not record its version"
    if version == UNKNOWN_VERSION:
        return "saved with an sstfill source checkout of unknown version"
    return f"saved with sstfill {version}"


def adaptation_rows(adapted_on: dict) -> list[tuple[str, str]]:
    """``sstfill info`` rows for what a model was adapted on (its ``adapted_on`` record), in a fixed order.

    Examples
    --------
    >>> rows = adaptation_rows({"init": "default", "variable": "sst", "units": "kelvin", "sizes": {"time": 6, "lat": 128, "lon": 128},
    ...                         "time_span": ["2021-01-01T00:00:00", "2021-01-06T00:00:00"], "own_cloud_masks": 142})
    >>> for key, value in rows:
    ...     print(f"{key}: {value}")
    adapted from: default
    variable: 'sst' (kelvin)
    time span: 2021-01-01T00:00:00 to 2021-01-06T00:00:00
    sizes: time 6 x lat 128 x lon 128
    own cloud masks: 142 windows of the data's own gaps
    """
    a = adapted_on
    rows: list[tuple[str, str]] = [("adapted from", str(a.get("init", "unknown")))]
    if a.get("variable") is not None:
        rows.append(("variable", repr(a["variable"]) + (f" ({a['units']})" if a.get("units") else "")))
    span = a.get("time_span")
    if span:
        rows.append(("time span", f"{span[0]} to {span[-1]}"))
    if a.get("sizes"):
        rows.append(("sizes", " x ".join(f"{d} {n}" for d, n in a["sizes"].items())))
    if a.get("tiles"):
        rows.append(("tiles", f"train/validation/test: {'/'.join(map(str, a['tiles']))}" + (f" ({a['split']})" if a.get("split") else "")))
    if "own_cloud_masks" in a:
        masks = a["own_cloud_masks"]
        rows.append(("own cloud masks", "not used" if masks is None else f"{masks} windows of the data's own gaps" if masks else "none found in the data: synthetic holes only"))
    if a.get("climatology"):
        rows.append(("climatology", f"trained {a['climatology']}"))
    if a.get("time_step_days") not in (None, 1.0):
        rows.append(("neighbouring steps", f"counted in steps of {a['time_step_days']:g} days (the series' typical step)"))
    settings = a.get("settings") or {}
    if settings:
        rows.append(("settings", "; ".join(f"{k} {_setting(v)}" for k, v in settings.items())))
    if a.get("source"):
        rows.append(("source", str(a["source"])))
    return rows


def _setting(value: object) -> str:
    """One adaptation setting for people: lists joined by commas, numbers short."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(_setting, value)) if all(isinstance(v, str) for v in value) else "-".join(map(_setting, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def list_bundled_models() -> int:
    """``sstfill info`` without a model: the bundled models, what each is for, and how to see more."""
    from sstfill.models.files import load_arrays
    from sstfill.models.store import BUNDLED_MODEL_USES, BUNDLED_MODELS

    say("Bundled models (use one with --model NAME, or model=\"NAME\" in Python):")
    for name, file_name in BUNDLED_MODELS.items():
        path = bundled_file(file_name)
        use = BUNDLED_MODEL_USES.get(name, "")
        if not path.is_file():
            say(f"  {name:<9}{file_name}: missing from this installation of sstfill (reinstall sstfill)")
            continue
        _, config = load_arrays(path)
        say(f"  {name:<9}{file_name}, {path.stat().st_size / 2**20:.2f} MiB, preset {config.get('preset')!r}")
        if use:
            say(f"  {'':<9}{use}")
        for line in history_lines(config.get("history") or {}):
            say(f"  {'':<9}{line}")
    say("Details of one (architecture, training history, the command that trained it): sstfill info NAME, or sstfill info PATH for a model file.")
    say("Scores in the field's units on held-out MUR and SLSTR data: the benchmarks page of the documentation (docs/benchmarks.md).")
    return 0


def _last_fill(history: str) -> str | None:
    """When and by what a variable was last filled, from its ``history`` (newest line first), e.g. "2026-12-07T18:43:39Z by sstfill 0.1.0: ..."."""
    for line in str(history).splitlines():
        stamp, sep, what = line.partition(": cloud gaps filled by ")
        if sep:
            return f"{stamp} by {what}"
    return None


def describe_output(path: Path, kind: str = "it is a netCDF file or zarr store") -> int:
    """``sstfill info`` for a fill's output (netCDF or zarr): each filled variable, what filled it, its pixels and their error.

    The counts and the error's quantiles are streamed through dask, as ``sstfill fill``
    prints them after writing: an output larger than memory is described too.
    """
    from sstfill.cli.common import error_quantiles, flag_counts, format_count
    from sstfill.xr.cf import output_names
    from sstfill.xr.fields import earlier_fill_flag
    from sstfill.xr.io import open_input

    with open_input(str(path), {}) as ds:
        filled = [(str(name), dict(ds[name].sizes), ds[name].attrs.get("units"), _last_fill(ds[name].attrs.get("history", "")), output_names(name)[1] in ds.data_vars)
                  for name in ds.data_vars if earlier_fill_flag(ds[name], ds) is not None]
    if not filled:
        raise CLIError(f"{str(path)!r} is not an sstfill model file ({kind}) and holds no variable filled by sstfill (none has a <name>_fill_flag): "
                       "sstfill info describes model files and sstfill's fill outputs.")
    rows: list[tuple[str, str]] = [("output", str(path))]
    for name, sizes, units, how, has_error in filled:
        flag_name, error_name = output_names(name)
        unit = f" {units}" if units else ""
        rows.append(("variable", f"{name!r}" + (f" ({units})" if units else "") + ", " + " x ".join(f"{d} {n}" for d, n in sizes.items())))
        rows.append(("filled", how or "by sstfill (its history does not say when or with which model)"))
        counts = flag_counts(path, flag_name)
        if counts:
            total = sum(counts.values()) or 1
            rows.append(("pixels", ", ".join(f"{k} {format_count(v)} ({v / total:.1%})" for k, v in counts.items()) + f" (in {flag_name})"))
        sigma = error_quantiles(path, error_name, flag_name) if has_error else None
        if sigma:
            rows.append(("error", f"1 sigma of the filled values: median {sigma[0.5]:.3g}{unit}, 95th percentile {sigma[0.95]:.3g}{unit} (in {error_name})"))
        elif not has_error:
            rows.append(("error", "not written (filled with error=False or --no-error)"))
    say_rows(rows)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Run ``sstfill info [MODEL | OUTPUT]``: list the bundled models, describe one as a table, or describe a fill's output."""
    from sstfill.models.files import data_file_kind, load_arrays, resolve_model_file
    from sstfill.models.inpainter import Inpainter
    from sstfill.models.store import BUNDLED_MODELS

    if args.model is None:
        return list_bundled_models()
    kind = None if args.model in BUNDLED_MODELS else data_file_kind(Path(args.model).expanduser())
    if kind is not None:
        return describe_output(Path(args.model).expanduser(), kind)
    if args.model in BUNDLED_MODELS:
        path = bundled_file(BUNDLED_MODELS[args.model])
        if not path.is_file():
            raise CLIError(f"The bundled {args.model!r} model is missing from this installation of sstfill: reinstall sstfill.")
    else:
        try:
            path = resolve_model_file(args.model)
        except ModelFileError as err:
            raise CLIError(f"{cli_message(err, 'info')} Run 'sstfill info' with no MODEL to list the bundled models ({', '.join(BUNDLED_MODELS)}).") from err
    _, config = load_arrays(path)  # also checks the file before the model is built
    if config.get("kind") == "latent":
        return describe_latent(path, config)
    model = Inpainter.load(path)
    c = model.config
    n_params = sum(p.numel() for p in model.generator.parameters())
    size = path.stat().st_size
    rows = [
        ("model file", f"{path} ({size / 2**20:.2f} MiB)"),
        ("format", f"{config.get('format')}, {saved_with(config)}"),
        ("preset", str(config.get("preset"))),
        ("tile size", f"{c.tile_size} x {c.tile_size} pixels"),
        ("widths", f"{list(c.widths)} ({len(c.widths)} levels, {c.convs_per_level} convolution(s) per level)"),
        ("inputs", ", ".join(c.inputs) + (" (predicts a correction to the first guess)" if c.residual else "")),
        ("discriminator", f"{c.discriminator} (adversarial weight {c.adversarial_weight:g})" if c.discriminator and c.adversarial_weight else "none (plain autoencoder)"),
        ("parameters", f"{n_params:,} (generator)"),
    ]
    if c.context_margin:
        seen = [what for what, used in (("a coarse view of it", c.sees_wide_view), ("the first guess on all of it", c.guess_on_window)) if used]
        rows.append(("window", f"{c.window} x {c.window} pixels around each tile" + (f": {' and '.join(seen)}" if seen else "")))
    h = config.get("history") or {}
    if h.get("val_loss"):
        seconds = sum(h.get("seconds") or [])
        rows.append(("training", f"{len(h['val_loss'])} epoch(s), {seconds:.0f} s of training"))
        for line in history_lines(h):
            rows.append(("", line))
        if h.get("tiles") and not (config.get("adapted_on") or {}).get("tiles"):  # else a row of its own below
            rows.append(("", f"tiles train/validation/test: {'/'.join(map(str, h['tiles']))} ({h.get('split', '')})"))
        scores = adaptation_scores(h, (config.get("adapted_on") or {}).get("units"))
        if scores:
            rows.append(("", f"adapted: {scores}"))
    else:
        rows.append(("training", "no history recorded (untrained or saved without history)"))
    rows.append(error_model_row(model))
    adapted_on = config.get("adapted_on")
    if adapted_on:
        rows += adaptation_rows(adapted_on)
    training = config.get("training") or {}
    if training.get("command"):
        rows.append(("command", str(training["command"])))
    labels = {"inputs": "training data", "variable": "variable", "device": "device", "seconds": "training time", "init": "started from"}
    for key, value in training.items():
        if key == "command" or (adapted_on and key in ("init", "variable")):  # shown with what it was adapted on
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        elif key == "seconds":
            value = f"{value} s"
        rows.append((labels.get(key, str(key).replace("_", " ")), str(value)))
    for change in config.get("changes") or []:  # settings changed after training (examples/configure_model.py)
        rows.append(("changed", f"{change.get('date')}: {change.get('set')} ({change.get('command')})"))
    say_rows(rows)
    return 0


def error_model_row(model) -> tuple[str, str]:
    """The ``error model`` row of a model's table: what its own was fitted on, or the fallback."""
    em = model.fitted_error_model
    if em is not None:
        from sstfill.kernels.uncertainty import FEATURES, FEATURES_V1

        before = "the distance hinges" if tuple(em.features) == FEATURES_V1 else "the products with the distance"
        older = "" if tuple(em.features) == FEATURES else f"; saved before {before} (features: {', '.join(em.features)})"
        series = "" if em.series_scale == 1.0 else f" ({em.scale * em.series_scale:.4g} where neighbouring steps were seen)"
        cap = "" if em.guess_cap <= 0 else f", at most {em.guess_cap:g} x the day-to-day change's spread"
        guess = "" if em.guess_ratio == 1.0 and not cap else f"; blended with the neighbouring days' guess: x {em.guess_ratio:g}{cap} where the guess weighs all"
        return ("error model", f"fitted on {em.fitted_on}; calibration scale {em.scale:g}{series}{guess}{older}")
    return ("error model", "none saved: fills use the harmonic fill's error model (sstfill.kernels.uncertainty.FALLBACK_ERROR_MODEL)")


def say_rows(rows: list[tuple[str, str]]) -> None:
    """Print ``(key, value)`` rows as a two-column table."""
    width = max(len(k) for k, _ in rows) + 2
    for key, value in rows:
        say(f"{key:<{width}}{value}")


def describe_latent(path: Path, config: dict) -> int:
    """``sstfill info`` for a latent-space (DCGAN) model file."""
    from sstfill.models.store import load_model

    model = load_model(path)
    c = model.config
    n_g = sum(p.numel() for p in model.generator.parameters())
    n_d = sum(p.numel() for p in model.discriminator.parameters())
    rows = [
        ("model file", f"{path} ({path.stat().st_size / 2**20:.2f} MiB)"),
        ("format", f"{config.get('format')}, {saved_with(config)}"),
        ("kind", "latent-space inpainting (DCGAN generator + discriminator, search for z)"),
        ("tile size", f"{c.tile_size} x {c.tile_size} pixels"),
        ("latent", f"z in [-1, 1]^{c.z_dim}; generator widths {list(c.widths)}"),
        ("search", f"{c.steps} Adam steps (lr {c.search_lr:g}) x {c.restarts} restarts, prior weight {c.prior_weight:g}, {c.blend} blending"),
        ("parameters", f"{n_g:,} (generator), {n_d:,} (discriminator)"),
    ]
    for line in history_lines(config.get("history") or {}):
        rows.append(("training", line))
    rows.append(error_model_row(model))
    training = config.get("training") or {}
    if training.get("command"):
        rows.append(("command", str(training["command"])))
    say_rows(rows)
    return 0
