#!/usr/bin/env bash
# Run on the build machine (no GPU needed) before a device session. The device image has CUDA,
# CMake and PyTorch but perhaps not Eigen, GoogleTest or Google Benchmark, and cannot download:
# this copies Eigen's headers and Google Benchmark from this machine's packages and builds
# GoogleTest from its distributed sources into .device-deps/prefix (git-ignored through
# .git/info/exclude, about 12 MB), which benchmarks/device/run.sh puts first on CMAKE_PREFIX_PATH.
# Then call the device tool with carry: [".device-deps"].
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
deps="$root/.device-deps"
prefix="$deps/prefix"
arch_lib=/usr/lib/x86_64-linux-gnu

need() { [ -e "$1" ] || { echo "prepare_deps: $1 is missing (apt-get install $2)" >&2; exit 1; }; }
need /usr/include/eigen3/Eigen/Core libeigen3-dev
need /usr/share/eigen3/cmake/Eigen3Config.cmake libeigen3-dev
need /usr/include/benchmark/benchmark.h libbenchmark-dev
need "$arch_lib/cmake/benchmark/benchmarkConfig.cmake" libbenchmark-dev
need /usr/src/googletest/CMakeLists.txt googletest

# Keep the folder out of git (and so out of the tree the device tool sends unless carried).
gitdir="$(cd "$root" && git rev-parse --git-common-dir 2>/dev/null || true)"
if [ -n "$gitdir" ]; then
  case "$gitdir" in /*) ;; *) gitdir="$root/$gitdir" ;; esac
  mkdir -p "$gitdir/info"
  grep -qsx '/.device-deps/' "$gitdir/info/exclude" || echo '/.device-deps/' >> "$gitdir/info/exclude"
fi

rm -rf "$deps"
mkdir -p "$prefix/include/eigen3" "$prefix/share/eigen3" "$prefix/lib/x86_64-linux-gnu/cmake"
cp -r /usr/include/eigen3/Eigen "$prefix/include/eigen3/"
cp -r /usr/share/eigen3/cmake "$prefix/share/eigen3/"
cp -r /usr/include/benchmark "$prefix/include/"
cp -a "$arch_lib"/libbenchmark.so* "$arch_lib"/libbenchmark_main.a "$prefix/lib/x86_64-linux-gnu/"
cp -r "$arch_lib/cmake/benchmark" "$prefix/lib/x86_64-linux-gnu/cmake/"

build="$deps/googletest-build"
cmake -S /usr/src/googletest -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_POSITION_INDEPENDENT_CODE=ON >/dev/null
cmake --build "$build" -j "${GATREC_JOBS:-2}" >/dev/null
cmake --install "$build" >/dev/null
rm -rf "$build"
# MovieLens 100K fold u1 for the --device cuda training run (run.sh skips it when absent). The
# folder is git-ignored; nothing derived from the data is ever committed.
data_root="${GATREC_DATA:-$root/../shared/data}"
if [ -f "$data_root/ml-100k/u1.base" ]; then
  mkdir -p "$deps/data/ml-100k"
  for f in u.data u.genre u.item u.user u1.base u1.test; do cp "$data_root/ml-100k/$f" "$deps/data/ml-100k/"; done
else
  echo "prepare_deps: no ML-100K under $data_root (set GATREC_DATA); run.sh will skip the training run" >&2
fi
echo "prepare_deps: $(du -sh "$deps" | cut -f1) in $deps; pass carry: [\".device-deps\"] to the device tool"
