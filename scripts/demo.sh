#!/usr/bin/env bash
# The README's demo: builds distmf (Release; a compiler warning does not stop it), generates a
# synthetic data set with known low-rank structure, and trains on it with ALS on 2 MPI ranks
# (configs/demo.ini).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/mpi-env.sh
cmake --preset release >/dev/null
cmake --build --preset release --target distmf
mkdir -p demo
build/src/distmf generate --users 20000 --items 5000 --ratings 2000000 --rank 8 --noise 0.5 \
    --seed 1 --out demo/ratings.tsv
mpirun -np 2 build/src/distmf train --config configs/demo.ini
build/src/distmf inspect demo/model.h5
echo "demo: model in demo/model.h5, metrics in demo/metrics.jsonl"
# Debian's python3-matplotlib is for /usr/bin/python3; python3 on PATH may be another (pyenv).
python=python3
python3 -c 'import matplotlib' 2>/dev/null || python=/usr/bin/python3
echo "      (plot them: $python scripts/plot_metrics.py demo/metrics.jsonl demo/metrics.png)"
