#!/usr/bin/env bash
# The device check of gatrec's CUDA code, in one call on a GPU machine (H100/H200, sm_90):
#   1. configure (-DCMAKE_CUDA_ARCHITECTURES=90) and build the CUDA tests and benchmarks (-j16), or
#      use the executables prebuild.sh built on the build machine (.device-deps/prebuilt.tar.xz) when
#      they were built from exactly these sources and load here
#   2. run the GPU tests and the CPU emulation test
#   2b. gatrec-movielens --device cuda on ML-100K u1 (when .device-deps/data has it), the paper's
#      BPR loss and the README's softmax/cosine command (both device training runs): a full
#      training run with validation stopping each (the "under 10 s" target), and 20 epochs on the
#      GPU and on the CPU for per-epoch ratios
#   3. compute-sanitizer --tool memcheck on small test cases (racecheck on the top-k kernel)
#   4. check that the C++ and Python graph generators agree (checksum)
#   5. the benchmarks (a subset that fits: full ML-25M shape for the attention core, 10% and full
#      for the layer and the paper's stack; the full ranking on the device vs gatrec::top_k;
#      negative sampling on the device vs the host; the full-softmax loss at the ML-25M shape; the
#      forward's gathers alone, cuSPARSE SpMM, at the full shape)
#   6. the PyG peer (benchmarks/peers/pyg_gat_gpu.py: the layers, then the paper's stack) when torch
#      and torch_geometric import
#   7. a summary (benchmarks/device/summarise.py): tables (ours vs the library baseline; ours vs PyG:
#      time, peak memory, ratio; fraction of the measured copy bandwidth) and a verdict on each of
#      issue 6's targets
# Budget: about 8 minutes including the build; every step has a timeout and later steps are
# skipped when time runs short, so the table always prints.
#
# usage (repository root, on the GPU machine):  bash benchmarks/device/run.sh
#   Where the image lacks Eigen, GoogleTest or Google Benchmark, run benchmarks/device/prepare_deps.sh
#   on the build machine first and carry .device-deps. Outputs go to $OUT (the device tool's folder)
#   or ./out-device: run.log (every step), bench.json, pyg.jsonl, summary.txt, targets.json.
# Environment: GATREC_JOBS (16), GATREC_BUDGET_S (470: seconds before optional steps are skipped),
#   GATREC_BENCH_MIN_TIME (0.1), GATREC_DEVICE_CHOOSE_ONLY (set: say whether the prebuilt executables
#   would be used, then stop).
# shellcheck disable=SC2317  # functions run through `step` (indirectly)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# shellcheck source=benchmarks/device/common.sh
source "$root/benchmarks/device/common.sh"
out="${OUT:-$root/out-device}"
mkdir -p "$out"
build="$root/build-device"
jobs="${GATREC_JOBS:-16}"
budget="${GATREC_BUDGET_S:-470}"
min_time="${GATREC_BENCH_MIN_TIME:-0.1}"
log_file="$out/run.log"
steps_file="$(mktemp)"
: > "$log_file"
t0=$(date +%s)

elapsed() { echo $(( $(date +%s) - t0 )); }
say() { printf '[run.sh %4ss] %s\n' "$(elapsed)" "$*" | tee -a "$log_file"; }
record() { printf '%-22s %s\n' "$1" "$2" >> "$steps_file"; }
time_left() { echo $(( budget - $(elapsed) )); }

# step NAME TIMEOUT CMD...: runs CMD with a timeout, output appended to run.log (last lines echoed),
# records ok / FAILED / TIMEOUT; never stops the script.
step() {
  local name=$1 limit=$2
  shift 2
  say "$name (timeout ${limit}s): $*"
  local rc=0
  { echo "===== $name: $*"; } >> "$log_file"
  if declare -F "$1" >/dev/null; then  # a function of this script: run it in a child bash
    timeout --kill-after=10 "$limit" bash -c "$*" > "$out/.step.log" 2>&1 || rc=$?
  else
    timeout --kill-after=10 "$limit" "$@" > "$out/.step.log" 2>&1 || rc=$?
  fi
  cat "$out/.step.log" >> "$log_file"
  tail -n 4 "$out/.step.log" | sed 's/^/      /'
  rm -f "$out/.step.log"
  case $rc in
    0) record "$name" "ok ($(elapsed)s)" ;;
    124 | 137) record "$name" "TIMEOUT after ${limit}s" ;;
    *) record "$name" "FAILED (exit $rc)" ;;
  esac
  return 0
}
ok() { grep -q "^$1 .*ok" "$steps_file"; }

# ------------------------------------------------------------------------------------------------
say "gatrec device run in $root, outputs in $out"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv 2>&1 || echo "nvidia-smi failed"
  command -v nvcc >/dev/null && nvcc --version | tail -n 2 || echo "nvcc not on PATH"
  cmake --version | head -n 1 || true
} 2>&1 | tee -a "$log_file"

export root out build
device_tests="$(device_test_programs)"
export device_tests

if [ -d "$root/.device-deps/prefix" ]; then
  export LD_LIBRARY_PATH="$root/.device-deps/prefix/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  say "using the carried dependencies in .device-deps/prefix"
fi

# The executables prebuild.sh made on the build machine, when they come from exactly these sources
# and every one of them loads and starts here (returns 1, saying why, otherwise).
use_prebuilt() {
  local archive="$root/.device-deps/prebuilt.tar.xz" dir="$root/build-device-prebuilt" want have t exe
  [ -f "$archive" ] || { say "no prebuilt executables (benchmarks/device/prebuild.sh): building here"; return 1; }
  if ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo; then
    say "prebuilt executables need AVX2 and FMA, which this processor lacks: building here"
    return 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  xz -dc "$archive" | tar -C "$dir" -xf - || { say "cannot unpack $archive: building here"; return 1; }
  want="$(cat "$dir/SOURCES.sha256")"
  have="$(source_fingerprint "$root")"
  if [ "$want" != "$have" ]; then
    say "prebuilt executables come from other sources ($want, these are $have): building here"
    return 1
  fi
  for t in "${device_targets[@]}"; do
    exe="$dir/$(device_target_path "$t")"
    [ -x "$exe" ] || { say "prebuilt $t is missing: building here"; return 1; }
    if command -v ldd >/dev/null && ldd "$exe" 2>/dev/null | grep -q "not found"; then
      say "prebuilt $t lacks libraries here: $(ldd "$exe" | grep "not found" | tr -s ' \t\n' ' '); building here"
      return 1
    fi
    device_executable_starts "$dir" "$t" || { say "prebuilt $t does not start here: building here"; return 1; }
  done
  build="$dir"
  say "using the prebuilt executables in $dir ($(cat "$dir/BUILT"))"
}

prebuilt=0
use_prebuilt && prebuilt=1
if [ -n "${GATREC_DEVICE_CHOOSE_ONLY:-}" ]; then  # tests/scripts/test_device_prebuilt.sh stops here
  say "build choice: $([ "$prebuilt" = 1 ] && echo "prebuilt in $build" || echo "build here")"
  exit 0
fi
if [ "$prebuilt" = 1 ]; then
  record configure "skipped (prebuilt)"
  record build "prebuilt ok ($(elapsed)s)"
else
  nvcc_path="$(command -v nvcc || true)"
  [ -z "$nvcc_path" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc_path=/usr/local/cuda/bin/nvcc
  if [ -z "$nvcc_path" ]; then
    say "no nvcc: cannot build"
    exit 2
  fi
  device_generator_args  # Ninja where installed: Makefiles would build the targets one at a time
  keep_going=(-k)
  [ "${device_generator[1]}" = Ninja ] && keep_going=(-k 0)
  prefix_args=()
  [ -d "$root/.device-deps/prefix" ] && prefix_args=(-DCMAKE_PREFIX_PATH="$root/.device-deps/prefix")
  step configure 150 cmake -S "$root" -B "$build" "${device_generator[@]}" "${device_cmake_options[@]}" \
    -DCMAKE_CUDA_COMPILER="$nvcc_path" "${prefix_args[@]}"
  if ! ok configure; then
    say "configure failed: see run.log (missing Eigen/GTest/benchmark? run benchmarks/device/prepare_deps.sh and carry .device-deps)"
    cat "$steps_file"
    exit 1
  fi
  # -k: build every target that compiles even when one does not.
  step build 330 cmake --build "$build" -j "$jobs" --target "${device_targets[@]}" -- "${keep_going[@]}"
fi

# ------------------------------------------------------------------------------------------------
# The test programs side by side (their CPU references take most of their time; the machine has 16
# cores), each into its own log, printed whole in program order; killed with the step on a timeout.
run_tests() {
  local failed=0 t logs="$out/tests" pids=()
  mkdir -p "$logs"
  trap 'kill $(jobs -p) 2>/dev/null' EXIT
  for t in $device_tests; do
    if [ -x "$build/tests/$t" ]; then
      "$build/tests/$t" --gtest_color=no > "$logs/$t.log" 2>&1 &
      pids+=("$!")
    else
      pids+=("")
    fi
  done
  local k=0 verdict
  for t in $device_tests; do
    if [ -z "${pids[$k]}" ]; then
      verdict="NOT BUILT"
      failed=1
    elif wait "${pids[$k]}"; then
      verdict="passed"
    else
      verdict="FAILED (exit $?)"
      failed=1
    fi
    echo "--- $t: $verdict"
    [ -f "$logs/$t.log" ] && cat "$logs/$t.log"
    k=$((k + 1))
  done
  for t in $device_tests; do grep -h -m1 -E '^\[  (PASSED|FAILED) ' "$logs/$t.log" 2>/dev/null | sed "s/^/$t: /"; done
  return "$failed"
}
export -f run_tests
step gpu_tests 200 run_tests

run_sanitizer() {
  command -v compute-sanitizer >/dev/null || { echo "compute-sanitizer not on PATH"; return 3; }
  compute-sanitizer --tool memcheck --error-exitcode 99 "$build/tests/test_cuda_attention" --gtest_color=no \
    --gtest_filter='CudaAttention.SingleNodeAndIsolatedNodes'
  compute-sanitizer --tool memcheck --error-exitcode 99 "$build/tests/test_cuda_kernels" --gtest_color=no \
    --gtest_filter='CudaKernels.FusedForwardForInferenceWithoutTheAggregateBuffer'
  compute-sanitizer --tool memcheck --error-exitcode 99 "$build/tests/test_cuda_top_k" --gtest_color=no \
    --gtest_filter='CudaTopK.SaysWhatIsWrong'
  compute-sanitizer --tool memcheck --error-exitcode 99 "$build/tests/test_cuda_training" --gtest_color=no \
    --gtest_filter='CudaTraining.AdamWMatchesTheCpu'
  # The top-k kernel shares histograms, the selection state and the list through shared memory.
  compute-sanitizer --tool racecheck --error-exitcode 99 "$build/tests/test_cuda_top_k" --gtest_color=no \
    --gtest_filter='CudaTopK.SaysWhatIsWrong'
}
export -f run_sanitizer
if [ "$(time_left)" -gt 200 ]; then
  step memcheck 90 run_sanitizer
else
  record memcheck "skipped (time)"
fi

# ------------------------------------------------------------------------------------------------
# ML-100K u1 on the GPU (device training runs: loss and AdamW on the GPU too), two configurations:
# "paper" (the default BPR + cosine loss on dot products) and "readme" (the README's GAT command:
# the softmax loss on cosine scores). Each: a full run with validation stopping (refit off, so one
# training), then 20 fixed epochs on each device for the per-epoch ratio.
train_ml100k() {
  local cli="$build/examples/gatrec-movielens" data="$root/.device-deps/data"
  local t s config
  for config in paper readme; do
    local common=(--data "$data" --model gatv2)
    [ "$config" = readme ] && common+=(--loss softmax --cosine-scores --temperature 0.2 --cos-weight 0)
    t=$(date +%s.%N)
    "$cli" "${common[@]}" --device cuda --protocol both --json "$out/ml100k_${config}_gpu.json" || return 1
    s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t" "$(date +%s.%N)")
    echo "ml100k $config full run on the GPU: ${s}s wall (data loading, training with validation, evaluation)"
    for dev in cuda cpu; do
      "$cli" "${common[@]}" --device "$dev" --validation-fraction 0 --epochs 20 --protocol full --k 20 \
        --json "$out/ml100k_${config}_20epochs_$dev.json" || return 1
    done
    python3 - "$out" "$config" <<'PY'
import re, sys
out, config = sys.argv[1], sys.argv[2]
def secs(dev):
    text = open(f"{out}/ml100k_{config}_20epochs_{dev}.json").read()
    return float(re.search(r'"train_seconds":([0-9.eE+-]+)', text).group(1))
g, c = secs("cuda"), secs("cpu")
print(f"ml100k {config} 20 epochs, training seconds: gpu {g:.2f}, cpu {c:.2f}, cpu/gpu {c / g:.1f}x")
PY
  done
}
export -f train_ml100k
# Its limit leaves 240 s for the benchmarks and PyG (the target is 10 s a training run; the CPU
# epochs take the rest), so a slow start shortens it instead of skipping it.
if [ -x "$build/examples/gatrec-movielens" ] && [ -f "$root/.device-deps/data/ml-100k/u1.base" ] && [ "$(time_left)" -gt 290 ]; then
  limit=$(( $(time_left) - 240 ))
  [ "$limit" -gt 200 ] && limit=200
  step ml100k_train "$limit" train_ml100k
else
  record ml100k_train "skipped (no data in .device-deps/data, not built or no time)"
fi

# ------------------------------------------------------------------------------------------------
have_torch=0
if python3 -c "import torch, torch_geometric, sys; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; then
  have_torch=1
fi
check_generators() {
  local ours theirs
  ours="$("$build/benchmarks/bench_gat_cuda" --print_graph_checksum=0.01)"
  theirs="$(python3 "$root/benchmarks/peers/pyg_gat_gpu.py" --checksum --scale 0.01)"
  echo "C++:    $ours"
  echo "Python: $theirs"
  python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); sys.exit(0 if a['checksum']==b['checksum'] else 1)" "$ours" "$theirs"
}
export -f check_generators
if [ -x "$build/benchmarks/bench_gat_cuda" ] && python3 -c "import numpy" >/dev/null 2>&1; then
  step generators_agree 60 check_generators
fi

# Benchmarks: the attention core at the full ML-25M shape (heads 1/4/8, widths 16/64, fused and
# library, forward and forward+backward), the core at 10% for H=4 C=64, the layer for the PyG
# configurations at 10% and full, the paper stack at 10% and full, and last (the first cut when
# time runs short) the fused kernels' other unroll choices at the full shape.
bench_filter='^(core_gatv2|core_gat)/scale:2/|^(core_gatv2|core_gat)/scale:1/heads:4/width:64/'
bench_filter+='|^(layer_gatv2|layer_gat)/scale:[12]/heads:4/width:64/|^(layer_gatv2|layer_gat)/scale:[12]/heads:1/width:16/'
bench_filter+='|^paper_stack/scale:[12]|^full_ranking/|^cpu_full_ranking/|^(device|cpu)_sampling/scale:[12]|^softmax_loss/scale:2'
bench_filter+='|^aggregation_floor/scale:2/|^(core_variant_gatv2|core_variant_gat)/scale:2/'
if [ -x "$build/benchmarks/bench_gat_cuda" ] && [ "$(time_left)" -gt 130 ]; then
  limit=$(( $(time_left) - 100 ))  # keep ~100 s for the PyG peer and the summary
  [ "$limit" -gt 240 ] && limit=240
  step benchmarks "$limit" "$build/benchmarks/bench_gat_cuda" --benchmark_filter="$bench_filter" \
    --benchmark_min_time="$min_time" --benchmark_out="$out/bench.json" --benchmark_out_format=json \
    --benchmark_counters_tabular=true
else
  record benchmarks "skipped (not built or no time)"
fi

# PyG: the same layer configurations on the same graphs, then the paper's stack (pyg_stack.py). The full shape with 4 x 64 heads needs
# E x H x C floats per PyG intermediate (51 GB each): expect "oom" there.
: > "$out/pyg.jsonl"
if [ "$have_torch" = 1 ]; then
  for scale in 0.1 1.0; do
    left=$(time_left)
    if [ "$left" -lt 40 ]; then
      record "pyg_scale_$scale" "skipped (time)"
      continue
    fi
    limit=$(( left - 15 ))
    [ "$limit" -gt 100 ] && limit=100
    step "pyg_scale_$scale" "$limit" bash -c "PYTHONUNBUFFERED=1 python3 '$root/benchmarks/peers/pyg_gat_gpu.py' \
      --scale $scale --configs gatv2:4:64,gat:4:64,gatv2:1:16,gat:1:16 --stack --repeats 5 --warmup 1 \
      | tee -a '$out/pyg.jsonl'"
  done
else
  record pyg "skipped (torch / torch_geometric / CUDA not available)"
fi

# ------------------------------------------------------------------------------------------------
{
  echo
  echo "==================== summary ===================="
  if command -v python3 >/dev/null; then
    python3 "$root/benchmarks/device/summarise.py" --bench "$out/bench.json" --pyg "$out/pyg.jsonl" \
      --log "$log_file" --json "$out/targets.json" || echo "(summary script failed)"
  fi
  grep -h "^ml100k " "$log_file" || true
  echo
  echo "steps:"
  sed 's/^/  /' "$steps_file"
  echo "total $(elapsed)s; logs in $out"
} 2>&1 | tee "$out/summary.txt" | tee -a "$log_file"

failed=0
grep -qE "FAILED|TIMEOUT" "$steps_file" && failed=1
rm -f "$steps_file"
exit $failed
