#pragma once

/// @file
/// @brief Lane fragments of a row and the warp-level exchanges the fused attention kernels use:
/// loads and stores of one head's columns (float4 where the layout allows), sums over a group of
/// lanes, and the butterfly that merges the groups of a warp. The column layout is
/// `gatrec::fragment_column` (include/gatrec/nn/fused_attention.hpp), the merge is
/// `gatrec::softmax_merge`; tests/unit/test_cuda_math_emulation.cpp replays these exchanges on the
/// CPU lane by lane.
///
/// Every butterfly step combines (lower lane, upper lane) in that order on both sides, so after it
/// both partners hold bit-identical values whatever the compiler contracts into FMAs.

#include <cuda_runtime.h>

#include <cstdint>

#include "gatrec/nn/fused_attention.hpp"
#include "gatrec/nn/online_softmax.hpp"

namespace gatrec::cuda::kernels {

inline constexpr unsigned full_warp_mask = 0xffffffffu;

/// A vector (float2, float4) load or store: the address must be aligned to the vector's size,
/// which the GPU enforces by stopping the kernel and the CPU emulation of CUDA checks. The
/// launchers pick float4 layouts only for 16-byte aligned rows.
template <class V>
__device__ __forceinline__ V load_vector(const V* p) {
#if defined(GATREC_CUDA_EMULATION)
  ::cuda_emulation::expect_vector_aligned(p, sizeof(V), "vector load");
#endif
  return *p;
}

template <class V>
__device__ __forceinline__ void store_vector(V* p, V v) {
#if defined(GATREC_CUDA_EMULATION)
  ::cuda_emulation::expect_vector_aligned(p, sizeof(V), "vector store");
#endif
  *p = v;
}

/// A lane layout as template constants (see gatrec::choose_lane_layout).
template <int Vec, int PerLane, int Group>
struct lane_layout {
  static constexpr int vec = Vec;
  static constexpr int per_lane = PerLane;
  static constexpr int group = Group;
  static constexpr int values = Vec * PerLane;  ///< values per lane
  static constexpr int groups = 32 / Group;     ///< edges a warp handles at once
  static_assert(Vec == 1 || Vec == 4, "vector width 1 or 4");
  static_assert(Group >= 1 && Group <= 32 && (Group & (Group - 1)) == 0, "group: a power of two up to 32");
};

/// This lane's N values of `row` (one head's C columns); padding columns read as 0.
template <class L>
__device__ __forceinline__ void load_fragment(const float* __restrict__ row, int width, int rank,
                                              float (&f)[L::values]) {
#pragma unroll
  for (int k = 0; k < L::per_lane; ++k) {
    const int col = ::gatrec::fragment_column(rank, k, 0, L::group, L::vec);
    if constexpr (L::vec == 4) {
      float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
      if (col < width) v = load_vector(reinterpret_cast<const float4*>(row + col));
      f[4 * k + 0] = v.x;
      f[4 * k + 1] = v.y;
      f[4 * k + 2] = v.z;
      f[4 * k + 3] = v.w;
    } else {
      f[k] = col < width ? row[col] : 0.f;
    }
  }
}

/// Stores this lane's values into `row`, skipping padding columns.
template <class L>
__device__ __forceinline__ void store_fragment(float* __restrict__ row, int width, int rank,
                                               const float (&f)[L::values]) {
#pragma unroll
  for (int k = 0; k < L::per_lane; ++k) {
    const int col = ::gatrec::fragment_column(rank, k, 0, L::group, L::vec);
    if (col >= width) continue;
    if constexpr (L::vec == 4) {
      store_vector(reinterpret_cast<float4*>(row + col),
                   make_float4(f[4 * k], f[4 * k + 1], f[4 * k + 2], f[4 * k + 3]));
    } else {
      row[col] = f[k];
    }
  }
}

template <int N>
__device__ __forceinline__ void zero_fragment(float (&f)[N]) {
#pragma unroll
  for (int n = 0; n < N; ++n) f[n] = 0.f;
}

/// Sum of v over the G lanes of this lane's group; every lane of the group gets the same value.
template <int G>
__device__ __forceinline__ float group_sum(float v) {
#pragma unroll
  for (int off = G / 2; off > 0; off >>= 1) {
    const float o = __shfl_xor_sync(full_warp_mask, v, off);
    v = (threadIdx.x & off) ? o + v : v + o;
  }
  return v;
}

/// Sums a fragment (or a scalar, N = 1) over the groups of the warp: lanes of the same rank in
/// every group end with the same total.
template <int G, int N>
__device__ __forceinline__ void sum_over_groups(float (&f)[N]) {
#pragma unroll
  for (int off = G; off < 32; off <<= 1) {
    const bool upper = threadIdx.x & off;
#pragma unroll
    for (int n = 0; n < N; ++n) {
      const float o = __shfl_xor_sync(full_warp_mask, f[n], off);
      f[n] = upper ? o + f[n] : f[n] + o;
    }
  }
}

template <int G>
__device__ __forceinline__ float sum_over_groups(float v) {
  float f[1] = {v};
  sum_over_groups<G, 1>(f);
  return f[0];
}

/// Merges the online-softmax states and accumulators of the warp's groups (butterfly over the
/// group index); every group ends with the state over all the warp's edges.
template <int G, int N>
__device__ __forceinline__ void merge_over_groups(softmax_state<float>& state, float (&acc)[N]) {
#pragma unroll
  for (int off = G; off < 32; off <<= 1) {
    const bool upper = threadIdx.x & off;
    softmax_state<float> other{__shfl_xor_sync(full_warp_mask, state.max, off),
                               __shfl_xor_sync(full_warp_mask, state.sum, off)};
    float other_acc[N];
#pragma unroll
    for (int n = 0; n < N; ++n) other_acc[n] = __shfl_xor_sync(full_warp_mask, acc[n], off);
    softmax_state<float> lower = upper ? other : state;
    const softmax_state<float> higher = upper ? state : other;
    const softmax_merge_factors<float> f = softmax_merge(lower, higher);
    float merged[N];
    if (upper)
      softmax_combine(other_acc, f.first, acc, f.second, merged);
    else
      softmax_combine(acc, f.first, other_acc, f.second, merged);
#pragma unroll
    for (int n = 0; n < N; ++n) acc[n] = merged[n];
    state = lower;
  }
}

/// Sum of v over the whole warp (lanes over columns), canonical butterfly order.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) {
    const float o = __shfl_xor_sync(full_warp_mask, v, off);
    v = (threadIdx.x & off) ? o + v : v + o;
  }
  return v;
}

}  // namespace gatrec::cuda::kernels

namespace gatrec::cuda {

/// Blocks for a kernel that gives each item (a row, a triple) one warp of a block of
/// warps_per_block warps and loops over the rest: one warp per item up to 65,535 blocks.
inline unsigned warp_per_item_grid_size(std::int64_t items, int warps_per_block) {
  const std::int64_t blocks = (items + warps_per_block - 1) / warps_per_block;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 ? 65535 : blocks));
}

}  // namespace gatrec::cuda
