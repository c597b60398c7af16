#pragma once

/// @file
/// @brief CUDA's device-side vocabulary for a host compiler: qualifiers, threadIdx and friends,
/// barriers, warp shuffles, atomics and the bit and math intrinsics the kernels use.
///
/// Shared memory becomes `static` storage: blocks run one after another, so one copy per
/// declaration is what a block sees. Atomics are plain read-modify-writes: emulated threads never
/// run at the same time.

#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "cuda_emulation/block_scheduler.hpp"
#include "cuda_emulation/vector_types.hpp"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __shared__ static
#define __constant__ static
#define __launch_bounds__(...)

namespace cuda_emulation {
inline uint3 current_block_index;
inline dim3 current_block_dim;
inline dim3 current_grid_dim;
}  // namespace cuda_emulation

#define threadIdx (::cuda_emulation::current_thread_index)
#define blockIdx (::cuda_emulation::current_block_index)
#define blockDim (::cuda_emulation::current_block_dim)
#define gridDim (::cuda_emulation::current_grid_dim)
inline constexpr int warpSize = 32;

inline void __syncthreads() { ::cuda_emulation::scheduler().sync_threads(); }

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::cuda_emulation::scheduler().exchange(mask, 0, ::cuda_emulation::scheduler().current_thread() % 32, "__syncwarp");
}

namespace cuda_emulation {
template <class T>
std::uint64_t to_bits(T v) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffles move at most 8 bytes");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <class T>
T from_bits(std::uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}
inline int lane_id() { return scheduler().current_thread() % 32; }

/// A vector load or store of `bytes` (8 or 16) at `p` in device code: the GPU requires natural
/// alignment and stops the kernel otherwise (cudaErrorMisalignedAddress); so does this. Kernels
/// call it through load_vector/store_vector (kernels/warp_fragments.cuh).
inline void expect_vector_aligned(const void* p, std::size_t bytes, const char* what) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  if (address % bytes == 0) return;
  char why[200];
  std::snprintf(why, sizeof why,
                "misaligned address: a %zu-byte %s at %p, %zu bytes past a %zu-byte boundary "
                "(cudaErrorMisalignedAddress on a GPU)",
                bytes, what, p, static_cast<std::size_t>(address % bytes), bytes);
  scheduler().fail(why);
}

// The lane a shuffle reads, within segments of `width` lanes.
inline int segment_lane(int lane, int offset_in_segment, int width) { return (lane & ~(width - 1)) + (offset_in_segment & (width - 1)); }
}  // namespace cuda_emulation

template <class T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32) {
  using namespace ::cuda_emulation;
  const int src = segment_lane(lane_id(), src_lane, width);
  return from_bits<T>(scheduler().exchange(mask, to_bits(v), src, "__shfl_sync"));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  using namespace ::cuda_emulation;
  const int lane = lane_id();
  const int src = segment_lane(lane, (lane ^ lane_mask) & (width - 1), width);
  return from_bits<T>(scheduler().exchange(mask, to_bits(v), src, "__shfl_xor_sync"));
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  using namespace ::cuda_emulation;
  const int lane = lane_id();
  const int in_segment = lane & (width - 1);
  const int src = in_segment + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  return from_bits<T>(scheduler().exchange(mask, to_bits(v), src, "__shfl_down_sync"));
}

template <class T>
T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}
template <class T>
T atomicMin(T* address, T value) {
  const T old = *address;
  if (value < old) *address = value;
  return old;
}
template <class T>
T atomicMax(T* address, T value) {
  const T old = *address;
  if (value > old) *address = value;
  return old;
}

inline unsigned __float_as_uint(float f) { return ::cuda_emulation::from_bits<unsigned>(::cuda_emulation::to_bits(f)); }
inline float __uint_as_float(unsigned u) { return ::cuda_emulation::from_bits<float>(::cuda_emulation::to_bits(u)); }
inline int __float_as_int(float f) { return ::cuda_emulation::from_bits<int>(::cuda_emulation::to_bits(f)); }
inline float __int_as_float(int i) { return ::cuda_emulation::from_bits<float>(::cuda_emulation::to_bits(i)); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(unsigned x) { return x == 0 ? 32 : __builtin_clz(x); }
inline int __ffs(unsigned x) { return __builtin_ffs(static_cast<int>(x)); }
template <class T>
T __ldg(const T* p) {
  return *p;
}

// CUDA declares these in the global namespace for device code.
using std::isfinite;
using std::isinf;
using std::isnan;

inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
