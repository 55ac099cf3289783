#!/usr/bin/env bash
# Build the separate DINCAE benchmark environment (never a dependency of sstfill).
#
# Usage:  benchmarks/dincae/setup_env.sh [ENV_DIR]
#   ENV_DIR   where the venv goes (default: benchmarks/.dincae-env, git-ignored)
#   PYTHON    the interpreter to build it from (default: python3.11; TensorFlow 2.15
#             has wheels for CPython 3.9-3.11 only)
#
# Rebuild from scratch:  rm -rf benchmarks/.dincae-env && benchmarks/dincae/setup_env.sh
# Point the peer at another env:  export SSTFILL_DINCAE_PYTHON=/path/to/env/bin/python
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_DIR="${1:-$HERE/../.dincae-env}"
PYTHON="${PYTHON:-python3.11}"

"$PYTHON" -c 'import sys; assert sys.version_info[:2] in ((3, 9), (3, 10), (3, 11)), \
    f"tensorflow-cpu 2.15.1 needs CPython 3.9-3.11, got {sys.version}"'

"$PYTHON" -m venv "$ENV_DIR"
# The pins: dincae 1.1.0 declares tensorflow==1.15.2 (no wheel for Python >= 3.8), so it is
# installed without its dependencies, which are installed explicitly: TF 2.15 runs its
# TF1-style graph code through tf.compat.v1 with the shim in run_dincae.py; TF 2.15 is built
# against numpy 1.x; netCDF4 is what dincae reads and writes. PIP_CONSTRAINT is cleared and
# --constraint /dev/null given so that no global constraint file can pull in other pins.
PIP_CONSTRAINT="" "$ENV_DIR/bin/python" -m pip install --constraint /dev/null \
    "tensorflow-cpu==2.15.1" "numpy<2" "netCDF4>=1.4.2"
PIP_CONSTRAINT="" "$ENV_DIR/bin/python" -m pip install --constraint /dev/null --no-deps "dincae==1.1.0"
"$ENV_DIR/bin/python" -m pip freeze > "$ENV_DIR/freeze.txt"
"$ENV_DIR/bin/python" -c 'import DINCAE, tensorflow as tf, numpy, netCDF4; print("DINCAE env ok: tensorflow", tf.__version__, "numpy", numpy.__version__)'
echo "python: $ENV_DIR/bin/python"
