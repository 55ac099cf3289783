#!/usr/bin/env bash
# The GPU run that trained the bundled default model and its ablations, side by side on one
# GPU (each process gets the same time budget). Run from the repository root, after
#   python examples/train_default_model.py --export-images .gpu_data/images.npz
# OUT is where model files and logs go.
set -u
OUT=${OUT:-runs}
MIN=${MIN:-7}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
common="--images .gpu_data/images.npz --epochs 200 --steps-per-epoch 200 --batch-size 128 --patience 10 --max-minutes $MIN --device cuda --no-progress"
run() { name=$1; shift; python3 examples/train_default_model.py $common --out "$OUT/$name.npz" "$@" > "$OUT/$name.log" 2>&1 & }
run default --preset default
run no_adversary --preset default --set adversarial_weight=0
run no_border --preset default --set ring_weight=0.05
run large --preset large
run fast --preset fast
run report --preset report
wait
tail -n 3 "$OUT"/*.log
