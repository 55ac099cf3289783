"""The shared harness of the benchmark scripts.

One home for what every script in ``benchmarks/`` needs:

* the **run record** written with the numbers: the command line, the git commit and
  whether the tree had uncommitted changes, the environment (python, platform, CPU count,
  versions of torch, numpy, dask and the rest, the device the models ran on);
* **timing**: one timed call (wall and CPU seconds), the best of several runs, and
  round-robin repeats over several jobs (so the load of other processes on a shared
  machine falls on all of them alike);
* **one model spec** for every script, ``LABEL=SPEC[@precision]``: SPEC is ``default``,
  ``fast`` (the bundled models), ``laplace`` (sstfill's classical tile filler) or the path
  of a saved model; ``@float32`` / ``@bfloat16`` / ``@auto`` sets the compute precision;
  without ``LABEL=`` the label is the model's name (or the file's stem);
* **JSON out** (numpy values and non-finite floats made JSON-ready), markdown formatters
  and the error sums that scores are made of.

Examples
--------
>>> parse_model_spec("fp32=default@float32")
ModelSpec(label='fp32', source='default', precision='float32')
>>> parse_model_spec("runs/x.npz").label
'x'
>>> fmt(None), fmt(0.27284), fmt(3.0, ".1f", missing="-")
('n/a', '0.273', '3.0')
>>> md_table(["a", "b"], [[1, 2]])
['| a | b |', '|---|---|', '| 1 | 2 |']
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import import_module, resources
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from sstfill.models.store import BUNDLED_MODELS

REPO = Path(__file__).resolve().parents[1]

# (name in the record, module to import) for the versions of the run record
VERSIONED = (("sstfill", "sstfill"), ("torch", "torch"), ("numpy", "numpy"), ("scipy", "scipy"), ("dask", "dask"),
             ("xarray", "xarray"), ("zarr", "zarr"), ("scikit-image", "skimage"), ("opencv", "cv2"))
PRECISIONS = ("auto", "float32", "bfloat16")


# ----------------------------------------------------------------------------- run record


def command_line(script: str, argv: Iterable[str]) -> str:
    """The command as a user types it: ``python benchmarks/<script> <quoted argv>``."""
    return " ".join(shlex.quote(s) for s in ["python", f"benchmarks/{script}", *argv])


def git_state() -> dict[str, Any]:
    """``{"commit", "dirty", "dirty_files"}`` of the repository (None where git is not available)."""

    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
        except Exception:  # noqa: BLE001  (no git: not an error for a benchmark)
            return None

    commit, status = git("rev-parse", "HEAD"), git("status", "--porcelain")
    files = [line[3:] for line in status.splitlines()] if status is not None else None
    return {"commit": (commit or "").strip() or None, "dirty": bool(files) if files is not None else None,
            "dirty_files": files}


def versions() -> dict[str, str | None]:
    """Versions of the packages that the numbers depend on (None: not installed)."""
    out: dict[str, str | None] = {}
    for name, module in VERSIONED:
        try:
            out[name] = str(import_module(module).__version__)
        except ImportError:
            out[name] = None
    return out


def torch_threads() -> int:
    """torch's intra-op thread count in this thread."""
    import torch

    return int(torch.get_num_threads())


def environment(device: str | None = "cpu") -> dict[str, Any]:
    """Python, platform, cores, torch threads, dask workers, versions and git state of this run."""
    import dask
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "device": device,
        "torch_threads_at_start": torch_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch_interop_threads": torch.get_num_interop_threads(),
        "dask_scheduler": "threads (dask.config scheduler='threads'; pool of cpu_count workers)",
        "dask_num_workers": dask.config.get("num_workers", None) or os.cpu_count(),
        "versions": versions(),
        "git": git_state(),
    }


def utc_timestamp() -> str:
    """Now, UTC, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (how busy a shared machine was)."""
    return [round(x, 2) for x in os.getloadavg()]


# ----------------------------------------------------------------------------- timing


def timed(fn: Callable[[], Any]) -> dict[str, float]:
    """Wall and CPU seconds of one call (CPU time of this process, all threads)."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


def best_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the shortest wall time (the one least disturbed by other processes)."""
    return min(runs, key=lambda t: t["wall_s"])


def best_of(fn: Callable[[], Any], repeats: int) -> dict[str, Any]:
    """:func:`timed` ``repeats`` times; the best run, with all runs under ``"runs"``."""
    runs = [timed(fn) for _ in range(repeats)]
    return {**best_run(runs), "runs": runs}


def round_robin(jobs: Mapping[str, Callable[[], Any]], repeats: int, *, before: Callable[[str], None] | None = None,
                after: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Time every job once per round, ``repeats`` rounds: ``{name: [timing per round]}``.

    ``before(name)`` runs untimed before each call; ``after(name, timing)`` may add to the
    timing (counts, logs). Taking turns spreads other processes' load over all jobs alike.
    """
    times: dict[str, list[dict[str, Any]]] = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, fn in jobs.items():
            if before is not None:
                before(name)
            t = timed(fn)
            if after is not None:
                after(name, t)
            times[name].append(t)
    return times


# ----------------------------------------------------------------------------- model specs


@dataclass(frozen=True)
class ModelSpec:
    """One ``LABEL=SPEC[@precision]`` of a command line (see :func:`parse_model_spec`)."""

    label: str
    source: str  # "default", "fast", "laplace" or a path
    precision: str | None = None  # None: the model's own (sstfill's "auto")

    @property
    def spec(self) -> str:
        """SPEC[@precision] as written (without the label)."""
        return f"{self.source}@{self.precision}" if self.precision else self.source

    @property
    def bundled(self) -> str | None:
        """The name of the bundled model, or None."""
        return self.source.lower() if self.source.lower() in BUNDLED_MODELS else None

    @property
    def is_laplace(self) -> bool:
        return self.source.lower() == "laplace"

    def missing(self) -> str | None:
        """Why the model cannot be loaded (a bundled model or file that does not exist), else None."""
        if self.bundled:
            if not (resources.files("sstfill") / "data" / BUNDLED_MODELS[self.bundled]).is_file():
                return f"the bundled {self.bundled} model (sstfill/data/{BUNDLED_MODELS[self.bundled]}) does not exist"
        elif not self.is_laplace and not Path(self.source).is_file():
            return f"file {self.source} does not exist"
        return None

    def fill_argument(self) -> Any:
        """What a user passes as ``fill(model=...)``: a bundled model's name, or a loaded model.

        ``"default"`` by name: ``fill(model=None)`` would choose the context model on a daily series.
        """
        import sstfill
        from sstfill.models.store import resolve_model

        if self.precision:
            if self.bundled:
                return resolve_model(self.bundled, "cpu", self.precision)
            return sstfill.load_model(self.source, precision=self.precision)
        if self.bundled:
            return self.bundled
        if self.is_laplace:
            return "laplace"
        return sstfill.load_model(Path(self.source))

    def tile_model(self, device: str | None = None, precision: str | None = None) -> Any:
        """The model object (with ``predict_tiles``), on ``device`` and in ``precision`` (else the spec's)."""
        from sstfill.models.store import resolve_model

        return resolve_model(self.bundled or self.source, device=device, precision=precision or self.precision)


def parse_model_spec(text: str, reserved: Iterable[str] = ()) -> ModelSpec:
    """``LABEL=SPEC[@precision]``, ``SPEC[@precision]`` -> :class:`ModelSpec`.

    SPEC is ``default``, ``fast``, ``laplace`` or a path; without a label the label is
    SPEC for a named model and the file's stem for a path. A label in ``reserved`` (the
    name of a peer method) gets the prefix ``sstfill-``.
    """
    label, sep, spec = text.partition("=")
    if not sep:
        label, spec = "", label
    label, spec = label.strip(), spec.strip()
    source, at, precision = spec.rpartition("@")
    if not at or precision not in PRECISIONS:
        source, precision = spec, ""
    if not label and source:
        label = source.lower() if source.lower() in (*BUNDLED_MODELS, "laplace") else Path(source).stem
    if not label or not source:
        raise ValueError(f"cannot read model {text!r}: use LABEL=SPEC[@precision] with SPEC 'default', 'fast', "
                         "'laplace' or a path")
    if precision and source.lower() == "laplace":
        raise ValueError(f"model {text!r}: the laplace filler has no precision")
    if label in set(reserved):
        label = f"sstfill-{label}"
    return ModelSpec(label, source, precision or None)


MODEL_SPEC_HELP = ("LABEL=SPEC[@precision]: SPEC is 'default', 'fast' (bundled), 'laplace' or a model file; "
                   "precision float32, bfloat16 or auto; repeatable")


# ----------------------------------------------------------------------------- JSON and formatting


def jsonable(x: Any) -> Any:
    """``x`` with numpy values made plain and non-finite floats made None (JSON null)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    return x


def write_json(path: str | os.PathLike, result: Any) -> None:
    """``result`` as indented JSON (:func:`jsonable`; anything else JSON lacks as its ``str``)."""
    Path(path).write_text(json.dumps(jsonable(result), indent=1, default=str), encoding="utf-8")


def fmt(x: Any, spec: str = ".3f", missing: str = "n/a") -> str:
    """``x`` formatted with ``spec``; ``missing`` for None or a non-finite float."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return missing
    return format(x, spec)


def percent(fraction: float) -> str:
    """A fraction as a percentage with one decimal ("<0.1 %" for tiny non-zero ones)."""
    return "<0.1 %" if 0 < fraction < 0.001 else f"{100 * fraction:.1f} %"


def md_table(header: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    """A markdown table as lines."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    return out


def error_sums(filled: np.ndarray, truth: np.ndarray, where: np.ndarray) -> dict[str, Any]:
    """Errors (float64) of ``filled`` against ``truth`` on the pixels of ``where`` that are filled.

    Returns ``n`` (pixels scored), ``sse``, ``sae``, ``se`` (sums of squared, absolute and
    signed errors) and ``rmse``, ``mae``, ``bias`` (None when nothing was filled): sums
    pool over cases, ``sqrt(sum sse / sum n)`` is the pooled RMSE.
    """
    f = np.asarray(filled, dtype=np.float64)
    ok = np.isfinite(f) & where
    err = f[ok] - truth[ok].astype(np.float64)
    n = int(ok.sum())
    return {
        "n": n,
        "rmse": float(np.sqrt(np.mean(err**2))) if n else None,
        "mae": float(np.mean(np.abs(err))) if n else None,
        "bias": float(np.mean(err)) if n else None,
        "sse": float(np.sum(err**2)),
        "sae": float(np.sum(np.abs(err))),
        "se": float(np.sum(err)),
    }


def log_to_stderr(*parts: Any) -> None:
    """Progress messages go to stderr (stdout carries the markdown)."""
    print(*parts, file=sys.stderr, flush=True)
