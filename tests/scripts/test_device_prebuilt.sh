#!/usr/bin/env bash
# benchmarks/device/run.sh uses the executables that prebuild.sh packed only when they come from
# exactly the sources that travelled with them and all of them are there and start; otherwise it
# builds on the GPU machine. Checked here on a copy of the repository with stand-in executables
# (shell scripts), stopping run.sh right after its choice (GATREC_DEVICE_CHOOSE_ONLY).
# usage: test_device_prebuilt.sh REPOSITORY_ROOT      (exit 77: skipped)
set -euo pipefail
src="$(cd "${1:?usage: test_device_prebuilt.sh REPOSITORY_ROOT}" && pwd)"
for tool in xz tar sha256sum; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
if ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo; then
  echo "SKIP: this processor lacks AVX2/FMA, so run.sh would never take prebuilt executables here"
  exit 77
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
mkdir -p "$repo"
cp -r "$src"/{CMakeLists.txt,cmake,include,kernels,tests,benchmarks,examples} "$repo/"
# shellcheck source=benchmarks/device/common.sh
source "$repo/benchmarks/device/common.sh"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# pack [SMOKE_EXIT] [LEAVE_OUT]: stand-ins for every executable, the fingerprint of the sources now.
pack() {
  local smoke_exit=${1:-0} leave_out=${2:-} stage="$work/stage" t rel
  rm -rf "$stage"
  mkdir -p "$stage" "$repo/.device-deps"
  for t in "${device_targets[@]}"; do
    [ "$t" = "$leave_out" ] && continue
    rel="$(device_target_path "$t")"
    mkdir -p "$stage/$(dirname "$rel")"
    if [ "$t" = test_cuda_smoke ]; then
      printf '#!/bin/sh\nexit %s\n' "$smoke_exit" > "$stage/$rel"
    else
      printf '#!/bin/sh\nexit 0\n' > "$stage/$rel"
    fi
    chmod +x "$stage/$rel"
  done
  source_fingerprint "$repo" > "$stage/SOURCES.sha256"
  echo "stand-ins for a test" > "$stage/BUILT"
  tar -C "$stage" -cf - . | xz > "$repo/.device-deps/prebuilt.tar.xz"
}

# expect CASE CHOICE [MESSAGE]: run.sh's choice ("prebuilt" or "build here") and the reason it gave.
expect() {
  local name=$1 choice=$2 message=${3:-} log before=$failures
  log="$(GATREC_DEVICE_CHOOSE_ONLY=1 OUT="$work/out" bash "$repo/benchmarks/device/run.sh" 2>&1)" ||
    { fail "$name: run.sh exited with an error: $log"; return; }
  grep -q "build choice: $choice" <<<"$log" || fail "$name: expected '$choice', run.sh said: $log"
  [ -z "$message" ] || grep -q -- "$message" <<<"$log" || fail "$name: expected '$message' in: $log"
  [ "$failures" -gt "$before" ] || echo "ok: $name -> $choice"
}

expect "no archive" "build here" "no prebuilt executables"
pack
expect "matching sources" "prebuilt" "using the prebuilt executables"
echo "# a note" >> "$repo/benchmarks/device/summarise.py"
echo "a note" >> "$repo/benchmarks/device/README-not-a-source.md"
expect "a script and a note changed (not compiled)" "prebuilt"
kernel="$(find "$repo/kernels" -name '*.cuh' | LC_ALL=C sort | head -n 1)"
cp "$kernel" "$work/kernel.bak"
echo "// an edit" >> "$kernel"
expect "a kernel changed" "build here" "come from other sources"
cp "$work/kernel.bak" "$kernel"
echo "int unused_function();" > "$repo/tests/cuda/test_cuda_new_file.cu"
expect "a source file added" "build here" "come from other sources"
rm "$repo/tests/cuda/test_cuda_new_file.cu"
expect "the edits undone" "prebuilt"
pack 0 gatrec-movielens
expect "an executable missing" "build here" "prebuilt gatrec-movielens is missing"
pack 1
expect "the smoke test does not start" "build here" "does not start"

if [ "$failures" -gt 0 ]; then
  echo "$failures case(s) failed"
  exit 1
fi
echo "every choice as expected"
