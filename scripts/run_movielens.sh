#!/usr/bin/env bash
# The main job: builds gatrec-movielens, trains and evaluates on MovieLens 100K fold u1 under both
# protocols, and prints the metrics table (JSON and the top-50 lists go to out/).
# Extra arguments are passed to gatrec-movielens (see `gatrec-movielens --help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GATREC_BUILD:-$root/build}"

"$root/scripts/install_deps.sh"
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDACXX=/usr/local/cuda/bin/nvcc; fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "${GATREC_JOBS:-2}" --target gatrec-movielens

mkdir -p "$root/out"
"$build/examples/gatrec-movielens" --dataset ml-100k --fold u1 --protocol both \
  --model "${GATREC_MODELS:-gatv2,lightgcn,mf,ease,pop}" \
  --json "$root/out/ml100k_u1.json" --recommendations "$root/out/ml100k_u1_top50.csv" \
  --history "$root/out/ml100k_u1_history.csv" "$@"
