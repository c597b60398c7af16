#!/usr/bin/env bash
# Builds gatrec (CUDA targets too when nvcc is found) and runs every test with CTest.
# Usage: scripts/run_tests.sh [build-dir]     (GATREC_DATA points at the MovieLens data; see README)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"

"$root/scripts/install_deps.sh"
# nvcc is often installed outside PATH; CMake finds it through CUDACXX.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDACXX=/usr/local/cuda/bin/nvcc; fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${GATREC_DATA:+-DGATREC_TEST_DATA_DIR="$GATREC_DATA"}
cmake --build "$build" -j "${GATREC_JOBS:-2}"
# Idle OpenMP threads sleep instead of spinning: CTest runs two test programs at once on two cores.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
ctest --test-dir "$build" --output-on-failure -j "${GATREC_JOBS:-2}"
