"""``run_cli``: the ``sstfill`` command as the test files run it (imported by them; tests/ is on their path)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, cwd: Path, process: bool = False) -> subprocess.CompletedProcess:
    """``sstfill ARGS`` run from ``cwd``: through :func:`sstfill.cli.main` in this process (as the console script
    calls it, without the 2-3 s of a new interpreter importing torch), or with ``process=True`` as
    ``python -m sstfill.cli`` in a subprocess."""
    argv = [str(a) for a in args]
    if process:
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
        return subprocess.run([sys.executable, "-m", "sstfill.cli", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    from sstfill.cli import main

    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as stop:  # argparse: --help, a bad option
                code = stop.code if isinstance(stop.code, int) else 2
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["sstfill", *argv], code, out.getvalue(), err.getvalue())
