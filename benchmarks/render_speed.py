"""Renderer of the speed benchmark: the JSON result to ``speed.md`` and ``speed_scaling.png``.

Needs only the JSON (``speed.json``, old ones too): ``speed.py --from-json`` re-renders the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.harness import fmt

__all__ = ["num", "plot_scaling", "to_markdown"]


def num(x: Any, spec: str = ".2f") -> str:
    """A number of the speed page ("-" for a missing one)."""
    return fmt(x, spec, missing="-")


def plot_scaling(scaling: dict, path: Path) -> None:
    """Time per megapixel and memory against the area (section 3), one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    styles = {"laplace": ("tab:blue", "-"), "default": ("tab:red", "-")}
    for label in dict.fromkeys(r["model"] for r in scaling["rows"]):
        colour, ls = styles.get(label, ("tab:orange", "--"))
        rows = [r for r in scaling["rows"] if r["model"] == label]
        x = [r["area_x"] for r in rows]
        short = label.replace("MALLOC_MMAP_THRESHOLD_=65536", "fixed mmap threshold")
        axes[0].plot(x, [r["time_per_mp_vs_1x"] for r in rows], "o" + ls, color=colour, label=short)
        axes[1].plot(x, [r["fill_peak_mb"] for r in rows], "o" + ls, color=colour, label=f"{short}: peak")
        axes[1].plot(x, [r["rss_before_fill_mb"] for r in rows], ":", color=colour, alpha=0.6, label=f"{short}: before")
        axes[2].plot(x, [r["working_mb"] for r in rows], "o" + ls, color=colour, label=short)
    axes[0].axhline(1.0, color="grey", lw=0.8)
    axes[0].set(title="time per megapixel, relative to 1x", xlabel="field area (x smallest)", ylabel="ratio (1 = linear)")
    axes[1].set(title="resident memory (MB)", xlabel="field area (x smallest)", ylabel="MB")
    axes[2].set(title="memory used by the fill (peak - before, MB)", xlabel="field area (x smallest)", ylabel="MB")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks([r["area_x"] for r in rows], [f"{r['area_x']:g}x\n{r['size']}^2" for r in rows])
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)



def to_markdown(res: dict[str, Any]) -> str:
    """The speed page from the JSON result (the notes are in ``res["notes"]``)."""
    env, thr, fil, sca = res["environment"], res.get("throughput"), res.get("file"), res.get("scaling")
    out = ["# Speed and scaling on CPU", ""]
    if res["quick"]:
        out += ["**Quick smoke run (`--quick`): small sizes, the numbers mean little.**", ""]
    out += [
        f"Measured in one run of `benchmarks/speed.py` on {env['cpu_count']} CPU cores"
        + (f", neural models on {res.get('device')} ({env.get('gpu')}) " if res.get("device", "cpu") != "cpu" else " ")
        + f"(torch {env['versions']['torch']}, {env['torch_threads_at_start']} torch threads at start; dask "
        f"{env['versions']['dask']}, threaded scheduler with {env['dask_num_workers']} workers), "
        f"in {res['runtime_s'] / 60:.1f} minutes:",
        "",
        "```bash",
        res["command"],
        "```",
        "",
        "Absolute times depend on the machine and on what else runs on it (the load average is "
        "recorded in `speed.json`; this machine is shared), so the tables give rates and **ratios "
        "within the run**. Rates are *output* tiles per second: the field's area / 4096 per second, "
        "so the tile overlap (and the halos of dask chunks) are part of the cost. All raw times, "
        "CPU times and versions are in `speed.json` next to this page.",
        "",
        f"Sizes: section 1 a {res['sizes']['field']}^2 field and a {' x '.join(map(str, res['sizes']['dineof']))} stack for "
        f"DINEOF; section 2 a {' x '.join(map(str, res['sizes']['file']))} store; section 3 fields of "
        f"{', '.join(f'{n}^2' for n in res['sizes']['scaling'])}; dask chunks of {res['sizes']['chunk']} x {res['sizes']['chunk']}."
        + (" The store of section 2 has 4 time steps rather than 8 to keep the full run under 8 minutes on a loaded 2-core machine." if not res["quick"] else ""),
        "",
    ]
    if thr:
        out += [
            "## 1. Fill throughput",
            "",
            f"Field: {thr['field']}. sstfill models run as users call them, "
            f"`da.inpaint.fill(model, land=land)`, on numpy input and on dask input (chunks "
            f"{thr['chunks']}, `.compute()`); the peers of `benchmarks/peers.py` take numpy arrays. "
            f"Best of {thr['repeats']} round-robin run(s). DINEOF needs a time series: it runs once on "
            f"a {thr['dineof_stack']} (input 'stack'), and the default model and biharmonic run on that stack too "
            "(each step as an image), so the 'stack' rows compare the three on one field. "
            "\"time vs default\" is each method's time per pixel divided by the default model's "
            "as shipped (torch's default thread count) on the same input (numpy for the peers, "
            "the stack for DINEOF); below 1 is faster. The next column divides by the default model run with 1 "
            "torch thread instead (see the notes below for why both are given). \"torch threads\" "
            "is what `torch.get_num_threads()` returned inside the model calls.",
            "",
            "| method | input | output tiles/s | megapixels/s | time vs default | time vs default with 1 torch thread | model tiles per output tile | dask time vs numpy | CPU use (cores) | torch threads |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in thr["rows"]:
            name = r["method"] + (f" ({r['field']})" if r["method"].startswith("DINEOF") else "")
            out.append(
                f"| {name} | {r['input']} | {num(r['output_tiles_per_s'], '.0f')} | {num(r['megapixels_per_s'], '.3f')} | "
                f"{num(r['time_vs_default'])} | {num(r.get('time_vs_default_1_thread'))} | {num(r.get('model_tiles_per_output_tile'))} | {num(r.get('dask_time_vs_numpy'))} | "
                f"{num(r['cpu_over_wall'], '.1f')} | {', '.join(map(str, r.get('torch_threads') or [])) or '-'} |"
            )
        out.append("")
        if "fast_skipped" in res:
            out += [f"The `fast` preset was not measured: {res['fast_skipped']}.", ""]
    con = res.get("contention")
    if con:
        out += [
            "### 1b. The same fill under CPU contention",
            "",
            f"The field of section 1 filled again while {con['busy_processes']} busy-looping processes (one per core) "
            f"compete for the CPU: a shared machine, or "
            "dask worker processes that already use every core. One run each.",
            "",
            "| model | input | torch threads | output tiles/s | time vs 1 torch thread | CPU use (cores) |",
            "|---|---|---|---|---|---|",
        ]
        for r in con["rows"]:
            out.append(
                f"| {r['model']} | {r['input']} | {r['torch_threads']} | {num(r['output_tiles_per_s'], '.0f')} | "
                f"{num(r['time_vs_1_thread'])} | {num(r['cpu_s'] / r['wall_s'], '.1f')} |"
            )
        out.append("")
    if fil:
        out += [
            "## 2. Whole file: fill vs I/O",
            "",
            f"Store: {fil['store']} ({fil['input_bytes'] / 2**20:.0f} MiB on disk). Each step reads "
            "the store with `xr.open_zarr` and writes a new zarr store; (b) fills `sst` with "
            "`Dataset.inpaint.fill(var='sst')` (land from the store's CF mask variable) and writes "
            "the result and its flag variable with `sstfill.xr.io.write_atomic`.",
            "",
            "| step | time vs (a) | megapixels/s | model tiles per output tile | CPU use (cores) |",
            "|---|---|---|---|---|",
        ]
        for r in fil["rows"]:
            out.append(
                f"| {r['step']} | {num(r['time_vs_copy'])} | {num(r['megapixels_per_s'], '.3f')} | "
                f"{num(r.get('model_tiles_per_output_tile'))} | {num(r['cpu_over_wall'], '.1f')} |"
            )
        c = fil["flag_counts_default"]
        out += [
            "",
            f"**(b)/(a) = {fil['ratio_fill_default_vs_copy']:.1f}** with the default model, "
            f"{num(fil.get('ratio_fill_fast_vs_copy'), '.1f')} with the fast model, "
            f"{fil['ratio_fill_laplace_vs_copy']:.1f} with the Laplace filler and "
            f"{num(fil.get('ratio_fill_zero_cost_vs_copy'), '.1f')} with a tile model that costs nothing "
            "(each gap gets its tile's observed mean): the last is sstfill's own cost around the model "
            "(cutting and blending tiles, fallback, flags, dask, writing two variables), the floor for any model on this machine.",
            f"The default model's output has {c['filled']:,} filled, {c['observed']:,} observed, "
            f"{c['land']:,} land and {c['not_filled']:,} not-filled pixels.",
            "",
        ]
    if sca:
        out += [
            "## 3. Scaling with the field size",
            "",
            f"{sca['fields']}. {sca['memory']}. \"time per MP vs 1x\" is the time per megapixel "
            "relative to the smallest field: 1.0 means the time grows linearly with the area.",
            "",
            "| model | field | area | chunks | time per MP vs 1x | CPU time per MP vs 1x | output tiles/s | RSS before fill (MB) | peak RSS during fill (MB) | peak vs 1x | fill's own memory (MB) | its ratio to 1x | CPU use (cores) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in sca["rows"]:
            out.append(
                f"| {r['model']} | {r['size']}^2 | {r['area_x']:g}x | {r['chunks']} | {num(r['time_per_mp_vs_1x'])} | {num(r['cpu_per_mp_vs_1x'])} | "
                f"{num(r['output_tiles_per_s'], '.0f')} | {num(r['rss_before_fill_mb'], '.0f')} | {num(r['fill_peak_mb'], '.0f')} | {num(r['peak_rss_vs_1x'])} | "
                f"{num(r['working_mb'], '.0f')} | {num(r['working_mb_vs_1x'])} | {num(r['cpu_s'] / r['wall_s'], '.1f')} |"
            )
        out += ["", "![scaling](speed_scaling.png)", ""]
    if res.get("notes"):
        out += ["## What the numbers say", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(out)
