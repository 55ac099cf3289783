"""The speed page's commentary: plain statements computed from the numbers, against ``benchmarks/targets.py``."""

from __future__ import annotations

from typing import Any

from benchmarks.render_speed import num
from benchmarks.targets import TARGETS

__all__ = ["findings"]


def findings(res: dict[str, Any]) -> list[str]:
    """Plain statements computed from the numbers (the page's commentary)."""
    notes: list[str] = []
    default_target, fast_target = TARGETS["default_output_tiles_per_s"], TARGETS["fast_output_tiles_per_s"]
    bih_target, file_target = TARGETS["default_vs_biharmonic_speed"], TARGETS["whole_file_vs_copy"]
    cores = res["environment"]["cpu_count"]
    thr, fil, sca = res.get("throughput"), res.get("file"), res.get("scaling")
    loads = [x for part in (thr, fil, sca) if part for x in (part["load_avg_before"][0], part["load_avg_after"][0])]
    if loads and max(loads) > cores:
        notes.append(
            f"**The machine was shared**: the 1-minute load average was {min(loads):.1f}-{max(loads):.1f} on {cores} cores "
            "during the run, and single-threaded methods got well under one core (column \"CPU use\"). "
            "Absolute rates here are therefore low and noisy (the same fill varied by up to 2-3x between runs); "
            "the ratios within a section, measured round-robin, are the numbers to use."
        )
    if thr:
        by = {(r["method"], r["input"]): r for r in thr["rows"]}
        d_np, d_dk = by.get(("sstfill default", "numpy")), by.get(("sstfill default", "dask"))
        d_1 = by.get(("sstfill default, 1 torch thread", "numpy"))
        if d_np and d_dk:
            best = max((r for r in (d_np, d_dk, d_1) if r), key=lambda r: r["output_tiles_per_s"])
            notes.append(
                f"The default model fills {d_np['output_tiles_per_s']:.0f} output tiles/s on numpy input as shipped, "
                + (f"{d_1['output_tiles_per_s']:.0f} with 1 torch thread, " if d_1 else "")
                + f"and {d_dk['output_tiles_per_s']:.0f} on dask input; on this real scene it runs "
                f"{d_np['model_tiles_per_output_tile']:.2f} model tiles per output tile (tiles without gaps are "
                "skipped, tiles with no observation are left to the harmonic fallback). At best "
                f"{best['output_tiles_per_s']:.0f} output tiles/s: the CPU target of {default_target.limit:g} is "
                + ("met." if default_target.met(best["output_tiles_per_s"]) else f"not met (x{default_target.limit / best['output_tiles_per_s']:.1f} short).")
            )
        fast = by.get(("sstfill fast", "numpy"))
        if fast and d_np:
            fast_best = max((r for r in (fast, by.get(("sstfill fast", "dask")), by.get(("sstfill fast, 1 torch thread", "numpy"))) if r), key=lambda r: r["output_tiles_per_s"])
            notes.append(
                f"The `fast` preset fills {fast_best['output_tiles_per_s']:.0f} output tiles/s at best "
                f"({d_np['best_wall_s'] / fast['best_wall_s']:.1f}x the default model's speed on numpy input): "
                + (
                    f"the {fast_target.limit:g} target is met."
                    if fast_target.met(fast_best["output_tiles_per_s"])
                    else f"the {fast_target.limit:g} target is not met (x{fast_target.limit / fast_best['output_tiles_per_s']:.2f} short)."
                )
                + " Its accuracy cost is in the presets guide (docs/guide/presets.md: its RMSE beside the default model's on the same pixels)."
            )
        bih = by.get(("biharmonic (scikit-image)", "numpy"))
        if bih and d_np:
            ratio = d_np["output_tiles_per_s"] / bih["output_tiles_per_s"]
            notes.append(
                f"The default model is {ratio:.0f}x as fast as scikit-image's biharmonic fill in the same run "
                + (f"(target: at least {bih_target.limit:g}x, met)." if bih_target.met(ratio) else f"(target: at least {bih_target.limit:g}x, **not met**).")
            )
        slow = []
        for label in ("default", "fast", "laplace"):
            a, b = by.get((f"sstfill {label}", "numpy")), by.get((f"sstfill {label}, 1 torch thread", "numpy"))
            if a and b and a["best_wall_s"] > 1.3 * b["best_wall_s"]:
                slow.append(f"{label} {a['best_wall_s'] / b['best_wall_s']:.1f}x")
        if slow:
            notes.append(
                f"**torch's default of {res['environment']['torch_threads_at_start']} intra-op threads made the numpy-input fill slower than 1 thread** "
                f"({', '.join(slow)} the time), and its CPU time rose too: the fill is thousands of small tensor operations "
                "(SOR sweeps and convolutions on 64 x 64 tiles), each ending at a barrier that waits for a thread "
                "the OS has descheduled when other processes compete for the cores. The dask path, where sstfill "
                "sets 1 torch thread per task, does not suffer from it. Whether 2 threads beat 1 on an idle machine "
                "was not measured here (this machine was never idle)."
            )
        peers = [r for r in thr["rows"] if r["input"] == "numpy" and not r["method"].startswith("sstfill")]
        if peers and d_1:
            parts = []
            for r in peers:
                x = r.get("time_vs_default_1_thread")
                if x:
                    parts.append(f"{r['method'].split(' (')[0]} {x:.2f}")
            notes.append("Peers' time per pixel relative to the default model with 1 torch thread (numpy input): " + "; ".join(parts) + ".")
        stack_rows = {r["method"].split(" (")[0]: r for r in thr["rows"] if r["input"] == "stack"}
        if "DINEOF" in stack_rows and "sstfill default" in stack_rows:
            notes.append(
                f"On DINEOF's own stack ({stack_rows['DINEOF']['field']}) DINEOF takes {stack_rows['DINEOF']['time_vs_default']:.1f}x the default model's time"
                + (f" and biharmonic {stack_rows['biharmonic']['time_vs_default']:.0f}x" if "biharmonic" in stack_rows else "")
                + " (the default model as shipped, torch's default threads)."
            )
        for r in thr["rows"]:
            n = by.get((r["method"], "numpy"))
            if r["input"] == "dask" and n and r.get("model_tiles_per_output_tile") and n.get("model_tiles_per_output_tile"):
                extra = r["model_tiles_per_output_tile"] / n["model_tiles_per_output_tile"] - 1
                if extra > 0.03:
                    notes.append(
                        f"{r['method']}: with {thr['chunks']} chunks, {extra:.0%} more model tiles run than on numpy input "
                        "(tiles that straddle a chunk border run once per chunk): the price of chunk-independent results."
                    )
                    break
    con = res.get("contention")
    if con:
        parts = []
        for label in dict.fromkeys(r["model"] for r in con["rows"]):
            multi = [r for r in con["rows"] if r["model"] == label and r["input"] == "numpy" and r["torch_threads"] > 1]
            dk = [r for r in con["rows"] if r["model"] == label and r["input"] == "dask"]
            if multi:
                parts.append(
                    f"{label}: {multi[0]['torch_threads']} torch threads take {multi[0]['time_vs_1_thread']:.1f}x the time of 1"
                    + (f", dask input {dk[0]['time_vs_1_thread']:.1f}x" if dk else "")
                )
        if parts:
            losers = [r["model"] for r in con["rows"] if r["torch_threads"] > 1 and r["input"] == "numpy" and r["time_vs_1_thread"] > 1.3]
            notes.append(
                "Under CPU contention (section 1b) "
                + "; ".join(parts)
                + (
                    f". **For {' and '.join(losers)}, torch's default thread count turns from a gain on a quiet machine into a "
                    "loss on a busy one**: the fill is thousands of small tensor operations (SOR sweeps on 64 x 64 tiles), "
                    "each ending at a barrier that waits for a thread the OS has descheduled (the network's larger "
                    "convolutions likely amortise it better). On numpy input sstfill leaves torch's default; on dask input it sets 1 "
                    "torch thread per task, which holds up under contention."
                    if losers
                    else "."
                )
            )
    if fil:
        zero = fil.get("ratio_fill_zero_cost_vs_copy")
        notes.append(
            f"Whole file: open -> fill -> write takes {fil['ratio_fill_default_vs_copy']:.0f}x the time of "
            f"reading and writing the same store with the default model ({num(fil.get('ratio_fill_fast_vs_copy'), '.1f')}x with the fast model, "
            f"{fil['ratio_fill_laplace_vs_copy']:.1f}x with the Laplace filler): I/O is not the bottleneck, the model is"
            + (
                f"; with a model that costs nothing it is {zero:.1f}x, so on this machine the {file_target.limit:g}x target is "
                + ("out of reach for any model: sstfill's own work around the model already takes that." if zero >= file_target.limit else "reachable only with a much faster model (a GPU).")
                if zero is not None
                else "."
            )
        )
    if sca:
        for label in dict.fromkeys(r["model"] for r in sca["rows"]):
            rows = [r for r in sca["rows"] if r["model"] == label]
            if len(rows) < 2:
                continue
            t = ", ".join(f"{r['time_per_mp_vs_1x']:.2f}" for r in rows)
            c = ", ".join(f"{r['cpu_per_mp_vs_1x']:.2f}" for r in rows)
            w = ", ".join(f"{r['fill_peak_mb']:.0f}" for r in rows)
            own = ", ".join(f"{r['working_mb']:.0f}" for r in rows)
            areas = ", ".join(f"{r['area_x']:g}x" for r in rows)
            fit = sca["linear_fit"][label]
            notes.append(
                f"Scaling, {label}: time per megapixel relative to 1x = {t} (CPU time: {c}) at {areas}: "
                + ("no worse than linear. " if max(r["time_per_mp_vs_1x"] for r in rows) <= 1.1 else "worse than linear. ")
                + f"A straight-line fit (time = fixed + cost per megapixel) puts {fit['fixed_share_at_1x']:.0%} of the 1x time "
                f"and {fit['fixed_share_at_largest']:.0%} of the {rows[-1]['area_x']:g}x time in a fixed cost (opening the store, "
                "building and tokenising the graph, first calls into torch, writing metadata), which is why small fields "
                "cost more per pixel. "
                + (
                    f"The 1x field is one chunk, so only one task runs at a time; CPU use was {rows[0]['cpu_s'] / rows[0]['wall_s']:.1f} "
                    f"cores at 1x and {rows[-1]['cpu_s'] / rows[-1]['wall_s']:.1f} at {rows[-1]['area_x']:g}x."
                    if rows[0]["n_chunks"] == 1
                    else ""
                )
            )
            grow = rows[-1]["working_mb"] / rows[1]["working_mb"] if rows[1]["working_mb"] > 0 else None
            notes.append(
                f"Memory, {label}: peak RSS during the fill {w} MB, of which the fill's own {own} MB. "
                + (
                    f"From 1x (one chunk, one task) to 4x (two tasks at once) the fill's memory rises x{rows[1]['working_mb'] / rows[0]['working_mb']:.1f}; "
                    f"from 4x to 16x, where the number of tasks in flight is the same, x{grow:.2f}"
                    + (" (flat)." if grow is not None and grow < 1.15 else " (**not flat**).")
                    if rows[0]["working_mb"] > 0 and grow
                    else ""
                )
            )
        plain = [r for r in sca["rows"] if r["model"] == "default"]
        fixed = [r for r in sca["rows"] if r["model"].startswith("default, MALLOC")]
        if plain and fixed and len(plain) == len(fixed) and len(plain) >= 3:
            fixed_own = ", ".join(f"{r['working_mb']:.0f}" for r in fixed)
            g_plain = plain[-1]["working_mb"] - plain[1]["working_mb"]
            g_fixed = fixed[-1]["working_mb"] - fixed[1]["working_mb"]
            share = 1 - g_fixed / g_plain if g_plain > 0 else None
            notes.append(
                "With `MALLOC_MMAP_THRESHOLD_=65536` (glibc hands big freed blocks back to the OS instead of keeping them "
                f"in its heap) the default model's peak RSS at {plain[-1]['area_x']:g}x is {fixed[-1]['fill_peak_mb']:.0f} MB instead of "
                f"{plain[-1]['fill_peak_mb']:.0f} MB, and the fill's own memory is {fixed_own} MB. From {plain[1]['area_x']:g}x to "
                f"{plain[-1]['area_x']:g}x it grows by {g_plain:.0f} MB with glibc's defaults and by {g_fixed:.0f} MB with the fixed threshold"
                + (
                    f": about {share:.0%} of the growth is memory the allocator keeps after the tile batches and activations "
                    "of earlier chunks are freed, not live data"
                    if share is not None and share > 0.2
                    else ": the allocator does not explain it"
                )
                + (f"; the remaining {g_fixed:.0f} MB was not tracked down in this run." if g_fixed > 50 else ".")
            )
    return notes
