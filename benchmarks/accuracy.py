"""Accuracy benchmark on the held-out cases: sstfill models against the classical peers.

Every method fills the same input of every held-out case (``benchmarks/cases.py``: real
observed pixels hidden under transplanted real clouds) and is scored on the hidden pixels
only (RMSE, MAE, bias in degC). sstfill models go through the accessor, as users call it::

    da.inpaint.fill(model, land=land_da)

the peers are called directly (``benchmarks/peers.py``): biharmonic, laplace (direct
solve), telea; DINEOF runs once per MUR time series (``load_heldout_stacks``) and is
scored per case window on the held-out day (it has no time series for SLSTR: 'n/a').

Hidden pixels a method leaves NaN are never dropped silently: each method's coverage is
reported, its RMSE is over the pixels it filled, and a second RMSE over the pixels that
*every* method filled ("common pixels") gives the like-for-like comparison.

Outputs in ``--out``: ``accuracy.json``, ``accuracy.md``, ``spectra.png``,
``example_case.png``. The markdown is printed to stdout as well. ``--from-json
PATH/accuracy.json`` re-renders ``accuracy.md`` and ``spectra.png`` without measuring.

Models are given as ``--model LABEL=SPEC[@precision]`` (``benchmarks/harness.py``): SPEC is
``default``, ``fast``, ``laplace`` or a saved model file. The pieces: ``accuracy_run.py``
(filling), ``accuracy_scores.py`` (scoring), ``render_accuracy.py`` (JSON to markdown and
figures), ``harness.py`` (run record, model specs, JSON), ``targets.py`` (the target).

Example::

    python benchmarks/accuracy.py --shared ../shared/data --model default \
        --model no_adversary=runs/x.npz --out docs/benchmarks/accuracy
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `benchmarks` and `sstfill` importable
    sys.path.insert(0, str(REPO))

from benchmarks.accuracy_run import (  # noqa: E402
    Run, fill_with_model, heldout_mur_tiles, radial_spectrum, report_protocol, run_cases, spectra,
)
from benchmarks.accuracy_extra import run_extra  # noqa: E402
from benchmarks.accuracy_scores import PEER_NAMES, REPORT_HOLES, aggregate, best_peer_ratios, score  # noqa: E402
from benchmarks.cases_extra import SETS  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    MODEL_SPEC_HELP, ModelSpec, command_line, environment, git_state, jsonable, log_to_stderr, parse_model_spec,
    utc_timestamp, write_json,
)
from benchmarks.render_accuracy import plot_example, plot_spectra, to_markdown  # noqa: E402

__all__ = [
    "PEER_NAMES",
    "REPORT_HOLES",
    "ModelSpec",
    "Run",
    "parse_model_spec",
    "resolve_models",
    "fill_with_model",
    "score",
    "run_cases",
    "aggregate",
    "best_peer_ratios",
    "radial_spectrum",
    "spectra",
    "report_protocol",
    "heldout_mur_tiles",
    "to_markdown",
    "plot_spectra",
    "plot_example",
    "main",
]

PEER_DESCRIPTIONS = {
    "biharmonic": "biharmonic inpainting (peers.fill_biharmonic)",
    "laplace": "Laplace / harmonic interpolation, direct sparse solve (peers.fill_laplace)",
    "telea": "Telea fast marching, OpenCV (peers.fill_telea)",
    "dineof": "DINEOF on each MUR time series (region stacks; the window stacks of large_clouds_series), scored on held-out days (peers.dineof)",
    "dincae": "DINCAE on each MUR series window stack, mur_series and large_clouds_series only (benchmarks/dincae_peer.py; n/a when missing)",
}


def resolve_models(texts: list[str], log=print) -> tuple[list[ModelSpec], dict[str, Any], dict[str, str], list[dict]]:
    """Load the models named on the command line once; skip (with a message) missing ones.

    Returns the specs, what goes to ``fill(model=...)`` per label, a description per label,
    and the skipped models. A label that is also a peer name gets the prefix ``sstfill-``
    (``--model laplace`` is sstfill's tile filler, ``sstfill-laplace``, beside the peer).
    """
    models, arguments, descriptions, skipped = [], {}, {}, []
    for text in texts:
        spec = parse_model_spec(text, reserved=PEER_NAMES)
        if spec.label in arguments or any(s["label"] == spec.label for s in skipped):
            raise ValueError(f"model label {spec.label!r} given twice")
        reason = spec.missing()
        if reason:
            msg = f"model {spec.label!r}: {reason}; skipped"
            log(msg)
            skipped.append({"label": spec.label, "spec": spec.spec, "reason": msg})
            continue
        argument = spec.fill_argument()
        if spec.precision:
            descriptions[spec.label] = f"{argument.description}, {spec.precision}"
        else:
            descriptions[spec.label] = getattr(argument, "description", None) or spec.tile_model().description
        models.append(spec)
        arguments[spec.label] = argument
    return models, arguments, descriptions, skipped


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default=None, help="shared data folder (default ../shared/data next to the repo)")
    ap.add_argument("--model", action="append", default=[], metavar="[LABEL=]SPEC[@PRECISION]",
                    help="sstfill model, " + MODEL_SPEC_HELP + " ('default' is the bundled default model, by name)")
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="output folder (default docs/benchmarks/accuracy; with --from-json: "
                    "the JSON's folder)")
    ap.add_argument("--peers-from", default=None, metavar="JSON",
                    help="an earlier run's accuracy.json: the per-case scores of peers that cannot run here (DINCAE without its "
                         "environment) are carried from it, case by case (same name and hidden pixels); n/a on common pixels")
    ap.add_argument("--skip", default="", help="comma-separated methods to skip, e.g. dineof,telea")
    ap.add_argument("--groups", default=",".join(SETS), metavar="SETS",
                    help=f"comma-separated extra case sets beside the standard held-out cases (default all: "
                    f"{','.join(SETS)}; 'none': the standard cases only)")
    ap.add_argument("--report-protocol", action=argparse.BooleanOptionalAction, default=True,
                    help="also run the SST report's protocol on held-out MUR tiles (default on)")
    ap.add_argument("--large-dineof", action="store_true",
                    help="also run DINEOF on each MUR large-cloud window (about 50-70 s of CPU each, 16 windows)")
    ap.add_argument("--from-json", default=None, metavar="PATH",
                    help="only re-render accuracy.md and spectra.png from an accuracy.json (into its folder, or --out)")
    return ap


def render_from_json(path: str, out: str | None) -> dict:
    """Re-render ``accuracy.md`` and ``spectra.png`` from a saved ``accuracy.json`` (no measuring)."""
    src = Path(path)
    result = json.loads(src.read_text(encoding="utf-8"))
    out_dir = Path(out) if out else src.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    if result.get("spectra"):
        plot_spectra(result["spectra"], out_dir / "spectra.png", list(result["methods"]))
    (out_dir / "accuracy.md").write_text(to_markdown(result) + "\n")
    if out_dir.resolve() != src.parent.resolve():
        shutil.copy(src, out_dir / "accuracy.json")
    print(f"re-rendered {out_dir / 'accuracy.md'} from {src}")
    return result


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    a = build_parser().parse_args(argv)
    if a.from_json:
        return render_from_json(a.from_json, a.out)
    log = log_to_stderr
    t_start = time.perf_counter()
    skip = [s.strip() for s in a.skip.split(",") if s.strip()]
    labels = {parse_model_spec(m, reserved=PEER_NAMES).label for m in a.model}
    unknown = [s for s in skip if s not in PEER_NAMES and s not in labels]
    if unknown:
        raise SystemExit(f"--skip: unknown method(s) {unknown}; peers are {list(PEER_NAMES)}")
    sets = [] if a.groups.strip() == "none" else [s.strip() for s in a.groups.split(",") if s.strip()]
    if any(s not in SETS for s in sets):
        raise SystemExit(f"--groups: unknown set(s) {[s for s in sets if s not in SETS]}; choose from {list(SETS)}")
    models, arguments, descriptions, skipped = resolve_models(a.model, log=log)
    if not models:
        log("[accuracy] no sstfill model to benchmark: peers only")
    out = Path(a.out or "docs/benchmarks/accuracy")
    out.mkdir(parents=True, exist_ok=True)

    run = run_cases(a.shared, models, a.window, a.seed, skip=skip, log=log,
                    model_arguments={k: v for k, v in arguments.items() if k not in skip})
    if sets:
        run_extra(run, a.shared, models, {k: v for k, v in arguments.items() if k not in skip}, a.window, a.seed,
                  sets=sets, skip=skip, log=log, large_dineof=a.large_dineof)
    carried = carry_peers(run, a.peers_from, log) if a.peers_from else {}
    groups = aggregate(run)
    ratios = best_peer_ratios(run, groups)
    log("[accuracy] spectra and figures ...")
    sp = spectra(run)
    plot_spectra(sp, out / "spectra.png", run.methods)
    rows_by_name = {r["name"]: r for r in run.rows}
    examples = plot_example(run, out / "example_case.png", rows_by_name)

    rp_rows, rp_seconds = None, None
    if a.report_protocol:
        log("[accuracy] report protocol on held-out MUR tiles ...")
        t0 = time.perf_counter()
        rp = report_protocol({m.label: arguments[m.label] for m in models if m.label not in skip}, a.shared, seed=0,
                             window=a.window)
        rp_seconds = time.perf_counter() - t0
        rp_rows = rp.reset_index().to_dict(orient="records")

    git = git_state()
    env = environment("cpu")
    descriptions |= PEER_DESCRIPTIONS
    specs = {m.label: m.spec for m in models}
    result = {
        "command": command_line("accuracy.py", argv),
        "argv": argv,
        "timestamp": utc_timestamp(),
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "sstfill_version": env["versions"]["sstfill"],
        "python": env["python"],
        "environment": env,
        "shared": str(a.shared),
        "window": a.window,
        "seed": a.seed,
        "methods": {m: {"kind": run.kinds[m], "description": descriptions.get(m, ""), "spec": specs.get(m),
                        "seconds": run.seconds[m]} for m in run.methods},
        "skipped_models": skipped,
        "skipped_methods": skip,
        "carried_peers": carried,
        "extra_sets": sets,
        "extra_seconds": run.extra_seconds,
        "groups": groups,
        "ratios": ratios,
        "spectra": sp,
        "example_cases": examples,
        "dineof": run.dineof_info,
        "report_protocol": rp_rows,
        "report_protocol_seconds": rp_seconds,
        "errors": run.errors,
        "cases": run.rows,
    }
    result["total_seconds"] = time.perf_counter() - t_start
    result = jsonable(result)
    md = to_markdown(result)
    write_json(out / "accuracy.json", result)
    (out / "accuracy.md").write_text(md + "\n")
    print(md)
    log(f"[accuracy] wrote {out}/accuracy.json, accuracy.md, spectra.png, example_case.png "
        f"in {result['total_seconds']:.0f} s")
    return result



def carry_peers(run, path, log=print) -> dict:
    """Peers that did not run here (no fill on any case) take their per-case scores from an earlier run's JSON.

    Case by case, where the name and the number of hidden pixels match (the same pixels:
    the cases are built from the same data and seed). Their scores on their own filled
    pixels are carried as they were; the pixels they filled are not known, so they have no
    common-pixel score and the common pixels of the others leave them out. Returns, per
    carried peer, where its scores came from: the run that measured them, also when the
    earlier run had carried them itself.
    """
    earlier = json.loads(Path(path).read_text(encoding="utf-8"))
    by_name = {r["name"]: r for r in earlier["cases"]}
    carried = {}
    for m in run.methods:
        if run.kinds[m] != "peer" or any(r["methods"][m]["n_filled"] is not None for r in run.rows):
            continue
        n = 0
        for r in run.rows:
            old = by_name.get(r["name"])
            entry = old["methods"].get(m) if old else None
            if not entry or entry.get("n_filled") is None or old["hidden_pixels"] != r["hidden_pixels"]:
                continue
            common = {"n_common": 0, "sse_common": 0.0, "rmse_common": None}
            r["methods"][m] = {k: v for k, v in entry.items() if k not in common} | common
            n += 1
        if n:
            measured = earlier.get("carried_peers", {}).get(m) or {"file": str(path), "timestamp": earlier.get("timestamp"),
                                                                  "git_commit": earlier.get("git_commit")}
            carried[m] = measured | {"cases": n}
            log(f"[accuracy] {m}: {n} cases carried from {path} (measured {measured.get('timestamp')})")
    return carried

if __name__ == "__main__":
    main()
