#!/usr/bin/env bash
# The GPU tests on the CPU emulation of CUDA (tests/emulation) under AddressSanitizer: a memcheck
# without a GPU. Device allocations are exactly their size, so a kernel that reads or writes one
# element past a buffer, or past a __shared__ array, fails here with the line that did it.
# Usage: scripts/emulated_memcheck.sh [build-dir]      (about 16 minutes on two cores, building included)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-memcheck}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGATREC_ENABLE_CUDA=OFF -DGATREC_BUILD_BENCHMARKS=OFF \
  -DGATREC_GROUPED_TESTS=OFF -DCMAKE_CXX_FLAGS="-fsanitize=address -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address" >/dev/null
programs=(emulated_test_cuda_{smoke,kernels,top_k,training,model,recommender,attention} emulated_test_block_scheduler)
cmake --build "$build" -j "${GATREC_JOBS:-2}" --target "${programs[@]}"
# Fiber stacks are not the thread's stack: ASan's fake stacks for use-after-return cannot follow them.
export ASAN_OPTIONS="detect_stack_use_after_return=0:${ASAN_OPTIONS:-}"
status=0
for p in "${programs[@]}"; do
  start=$(date +%s)
  if "$build/tests/$p" --gtest_brief=1 >"$build/memcheck_$p.log" 2>&1; then
    echo "memcheck: $p passed ($(( $(date +%s) - start )) s)"
  else
    status=1
    echo "memcheck: $p FAILED, see $build/memcheck_$p.log"
    grep -m1 -A12 "ERROR: AddressSanitizer" "$build/memcheck_$p.log" || tail -n 20 "$build/memcheck_$p.log"
  fi
done
exit $status
