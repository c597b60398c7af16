#!/usr/bin/env bash
# The build that benchmarks/device/run.sh and prebuild.sh configure (benchmarks/device/common.sh:
# device_cmake_options) has every executable the device run names (device_targets). CI builds the
# tests grouped, the device run one program a test file: without this check, a renamed target or
# option would first show on the GPU machine, as a build step that fails there.
# usage: test_device_targets.sh REPOSITORY_ROOT      (exit 77: skipped without nvcc)
set -euo pipefail
src="$(cd "${1:?usage: test_device_targets.sh REPOSITORY_ROOT}" && pwd)"
# shellcheck source=benchmarks/device/common.sh
source "$src/benchmarks/device/common.sh"
if [ -z "${CUDACXX:-}" ] && ! command -v nvcc >/dev/null; then
  if [ -x /usr/local/cuda/bin/nvcc ]; then export CUDACXX=/usr/local/cuda/bin/nvcc; else
    echo "SKIP: no nvcc, so the device run's CUDA targets cannot be configured here"
    exit 77
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! cmake -S "$src" -B "$work/build" -G "Unix Makefiles" "${device_cmake_options[@]}" >"$work/configure.log" 2>&1; then
  echo "FAIL: configuring with the device run's options failed:"
  tail -n 30 "$work/configure.log"
  exit 1
fi
targets="$(cmake --build "$work/build" --target help)"
missing=0
for t in "${device_targets[@]}"; do
  if grep -qx "\.\.\. $t" <<<"$targets"; then
    echo "ok: $t"
  else
    echo "FAIL: $t is not a target of the device run's build"
    missing=$((missing + 1))
  fi
done
[ "$missing" -eq 0 ] || { echo "$missing of ${#device_targets[@]} executables missing"; exit 1; }
echo "all ${#device_targets[@]} executables the device run names are targets of its build"
