# Sourced by run.sh (on the GPU machine) and prebuild.sh (on the build machine): what a device run
# builds, with which options, and the fingerprint that ties prebuilt executables to their sources.
# shellcheck shell=bash disable=SC2034  # the variables are read by the scripts that source this file

# Every executable the device run uses.
device_targets=(test_cuda_smoke test_cuda_attention test_cuda_model test_cuda_recommender test_cuda_kernels
  test_cuda_top_k test_cuda_training test_cuda_math_emulation test_eval_rank_key test_cuda_training_emulation
  bench_gat_cuda gatrec-movielens)

# Hopper machine code only (HOPPER.md: without a named target the driver JIT-compiles PTX and the
# program uses none of sm_90's instructions); no LLM clients, no install rules, no emulated twins; one
# program per test file (the run names them, and Ninja builds them side by side on 16 cores).
device_cmake_options=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DGATREC_ENABLE_CUDA=ON
  -DGATREC_BUILD_TESTS=ON -DGATREC_BUILD_BENCHMARKS=ON -DGATREC_BUILD_EXAMPLES=ON -DGATREC_ENABLE_LLM=OFF
  -DGATREC_INSTALL=OFF -DGATREC_EMULATED_CUDA_TESTS=OFF -DGATREC_GROUPED_TESTS=OFF)

# device_generator_args: sets device_generator to Ninja where it is installed (it builds the targets
# side by side; CMake's Makefiles build the targets named on one command line one after another, as
# their top-level Makefile is .NOTPARALLEL), else to Unix Makefiles.
device_generator_args() {
  if command -v ninja >/dev/null; then
    device_generator=(-G Ninja)
  else
    device_generator=(-G "Unix Makefiles")
  fi
}

# Where an executable lives inside a CMake build tree (and inside the prebuilt archive).
device_target_path() {
  case "$1" in
    bench_*) echo "benchmarks/$1" ;;
    gatrec-movielens) echo "examples/$1" ;;
    *) echo "tests/$1" ;;
  esac
}

# The test programs among device_targets, space-separated (run.sh exports them to a child shell).
device_test_programs() {
  local t
  for t in "${device_targets[@]}"; do
    case "$(device_target_path "$t")" in tests/*) printf '%s ' "$t" ;; esac
  done
}

# device_executable_starts DIR TARGET: the executable under DIR starts and lists what it would run
# (so the loader found every library; no GPU needed).
device_executable_starts() {
  local exe
  exe="$1/$(device_target_path "$2")"
  case "$2" in
    bench_*) "$exe" --benchmark_list_tests=true ;;
    gatrec-movielens) "$exe" --help ;;
    *) "$exe" --gtest_list_tests ;;
  esac >/dev/null 2>&1
}

# source_fingerprint ROOT: one sha256 over every file the executables are compiled from (C++, CUDA,
# CMake; tests' data fixtures and Python scripts excluded), by path, so that prebuilt executables are
# used only for exactly the sources that travelled with them.
source_fingerprint() {
  (
    cd "$1" || exit 1
    find CMakeLists.txt cmake include kernels tests benchmarks examples -type f \
      \( -name '*.hpp' -o -name '*.h' -o -name '*.cuh' -o -name '*.cu' -o -name '*.cpp' -o -name '*.in' \
      -o -name 'CMakeLists.txt' -o -name '*.cmake' \) -not -path '*/fixtures/*' -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
  )
}
