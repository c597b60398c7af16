#!/usr/bin/env bash
# Run on the build machine (nvcc, no GPU needed) after prepare_deps.sh: builds the device run's
# executables for sm_90 here and packs them into .device-deps/prebuilt.tar.xz (about 6.5 MB), with
# the fingerprint of the sources they were built from. run.sh then uses them instead of building,
# which leaves the GPU machine's minutes to the tests and benchmarks, and falls back to its own
# build when the fingerprint differs or an executable does not load there.
#
# The host code targets x86-64-v3 (AVX2, FMA) instead of -march=native: the GPU machine's processor
# is not this one. run.sh checks that it has AVX2 and FMA before using the archive.
#
# usage: bash benchmarks/device/prebuild.sh     (GATREC_JOBS: 2; GATREC_PREBUILD_DIR: the build tree,
#        build-device-prebuild, kept so that a rebuild after an edit is incremental)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=benchmarks/device/common.sh
source "$root/benchmarks/device/common.sh"
deps="$root/.device-deps"
build="${GATREC_PREBUILD_DIR:-$root/build-device-prebuild}"
jobs="${GATREC_JOBS:-2}"
nvcc_path="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"

[ -d "$deps/prefix" ] || { echo "prebuild: run benchmarks/device/prepare_deps.sh first" >&2; exit 1; }
[ -x "$nvcc_path" ] || { echo "prebuild: no nvcc (set CUDACXX)" >&2; exit 1; }

fingerprint="$(source_fingerprint "$root")"
portable=-march=x86-64-v3
device_generator_args
cmake -S "$root" -B "$build" "${device_generator[@]}" "${device_cmake_options[@]}" -DCMAKE_CUDA_COMPILER="$nvcc_path" \
  -DGATREC_NATIVE_ARCH=OFF -DCMAKE_CXX_FLAGS="$portable" -DCMAKE_CUDA_FLAGS="-Xcompiler=$portable" >/dev/null
cmake --build "$build" -j "$jobs" --target "${device_targets[@]}"
[ "$(source_fingerprint "$root")" = "$fingerprint" ] ||
  { echo "prebuild: the sources changed during the build; run it again" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
for t in "${device_targets[@]}"; do
  rel="$(device_target_path "$t")"
  mkdir -p "$stage/$(dirname "$rel")"
  strip -o "$stage/$rel" "$build/$rel"
done
# What run.sh will ask of them there, asked here first (the carried Google Benchmark library too).
export LD_LIBRARY_PATH="$deps/prefix/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
for t in "${device_targets[@]}"; do
  device_executable_starts "$stage" "$t" || { echo "prebuild: $t does not start here" >&2; exit 1; }
done
echo "$fingerprint" > "$stage/SOURCES.sha256"
nvcc_version="$("$nvcc_path" --version | tail -n 1)"
echo "built $(date -u +%FT%TZ) on $(uname -n) by $nvcc_version, host code $portable" > "$stage/BUILT"
tar -C "$stage" -cf - . | xz -T "$jobs" -6 > "$deps/prebuilt.tar.xz"
echo "prebuild: $(du -h "$deps/prebuilt.tar.xz" | cut -f1) in $deps/prebuilt.tar.xz for sources $fingerprint"
