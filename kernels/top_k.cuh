#pragma once

/// @file
/// @brief Each row's k best scores, masked items skipped, by radix selection on rank keys
/// (gatrec/eval/rank_key.hpp): one thread block per row of a score block.
///
/// Per row: (1) the block writes a sentinel over the scores of the row's masked items (the buffer is
/// the ranker's scratch); (2) passes over the row build a histogram of one key digit among the keys
/// still undecided, per warp in shared memory (fewer collisions on the shared atomics), until the
/// selection settles, on average after about two passes for continuous scores; (3) the keys at or
/// above the threshold (at most k of them) are gathered into shared memory, bitonic-sorted and
/// written out as item indices. The row is re-read from global memory on each pass; a row of the
/// ML-25M catalogue (59,047 floats) stays in L2 between passes. Keys order candidates totally, so
/// the lists depend only on the scores, never on the thread schedule: they equal top_k's exactly.

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/eval/rank_key.hpp"

namespace gatrec::cuda {

/// The largest list width the device top-k keeps (its shared-memory list: 8 KiB).
inline constexpr int max_device_top_k = 1024;

namespace kernels {

inline constexpr int top_k_block_threads = 256;
inline constexpr int top_k_block_warps = top_k_block_threads / 32;

/// Bits written over a masked item's score: a negative NaN with every payload bit set, which no
/// arithmetic produces (the GPU's NaNs are the positive canonical 0x7fffffff). Any other NaN is
/// an error.
inline constexpr std::uint32_t masked_score_bits = 0xffffffffu;

/// No NaN seen (the initial value of the NaN-position word).
inline constexpr unsigned long long no_nan_position = ~0ull;

/// The key of row item i, or absent when masked; a NaN records its position (user * items + item,
/// the smallest wins so the report does not depend on the schedule) and counts as absent.
__device__ __forceinline__ rank_key_t candidate_key(const float* row, index_t i, index_t user, index_t num_items,
                                                    unsigned long long* nan_position) {
  const float s = row[i];
  const std::uint32_t bits = __float_as_uint(s);
  if (bits == masked_score_bits) return absent_rank_key;
  if (isnan(s)) {
    atomicMin(nan_position, static_cast<unsigned long long>(user) * static_cast<unsigned long long>(num_items) +
                                static_cast<unsigned long long>(i));
    return absent_rank_key;
  }
  return rank_key(s, i);
}

/// Block r ranks row r of `scores` (row stride ld) for user first_user + r: masks the items
/// mask_items[mask_offsets[user] .. mask_offsets[user + 1]) (no mask when mask_offsets is null) and
/// writes the k best item indices, best first, to lists[r * k ..], padded with -1.
/// list_slots: k rounded up to a power of two (the bitonic sort's width), at most max_device_top_k.
__global__ void __launch_bounds__(top_k_block_threads)
    select_top_k_rows(float* __restrict__ scores, std::int64_t ld, index_t num_items, index_t first_user, int k,
                      int list_slots, const offset_t* __restrict__ mask_offsets,
                      const index_t* __restrict__ mask_items, index_t* __restrict__ lists,
                      unsigned long long* __restrict__ nan_position) {
  __shared__ unsigned histogram[top_k_block_warps][rank_digit_values];
  __shared__ rank_key_t list[max_device_top_k];
  __shared__ radix_selection selection;
  __shared__ int list_size;

  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid >> 5;
  const index_t r = static_cast<index_t>(blockIdx.x);
  const index_t user = first_user + r;
  float* row = scores + static_cast<std::int64_t>(r) * ld;

  if (mask_offsets != nullptr) {
    const offset_t begin = mask_offsets[user], end = mask_offsets[user + 1];
    for (offset_t e = begin + tid; e < end; e += top_k_block_threads)
      row[mask_items[e]] = __uint_as_float(masked_score_bits);
  }
  if (tid == 0) {
    selection = radix_selection::start(k);
    list_size = 0;
  }
  __syncthreads();  // the masked scores and the initial state are visible to the whole block

  for (int pass = 0; pass < rank_key_passes; ++pass) {
    for (int b = tid; b < top_k_block_warps * rank_digit_values; b += top_k_block_threads)
      (&histogram[0][0])[b] = 0u;
    __syncthreads();
    const radix_selection s = selection;
    for (index_t i = tid; i < num_items; i += top_k_block_threads) {
      const rank_key_t key = candidate_key(row, i, user, num_items, nan_position);
      if (key != absent_rank_key && s.undecided(key)) atomicAdd(&histogram[warp][rank_key_digit(key, pass)], 1u);
    }
    __syncthreads();
    for (int d = tid; d < rank_digit_values; d += top_k_block_threads) {
      unsigned sum = 0;
      for (int w = 0; w < top_k_block_warps; ++w) sum += histogram[w][d];
      histogram[0][d] = sum;
    }
    __syncthreads();
    if (tid == 0) selection.step(pass, histogram[0]);
    __syncthreads();
    if (selection.settled) break;  // the same value for every thread: the block leaves together
  }

  const rank_key_t threshold = selection.threshold;
  for (index_t i = tid; i < num_items; i += top_k_block_threads) {
    const rank_key_t key = candidate_key(row, i, user, num_items, nan_position);
    if (key != absent_rank_key && key >= threshold) list[atomicAdd(&list_size, 1)] = key;
  }
  __syncthreads();
  for (int p = list_size + tid; p < list_slots; p += top_k_block_threads) list[p] = absent_rank_key;
  __syncthreads();

  // Bitonic sort of list[0, list_slots), largest key first.
  for (int size = 2; size <= list_slots; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int p = tid; p < list_slots; p += top_k_block_threads) {
        const int q = p ^ stride;
        if (q > p) {
          const bool descending = (p & size) == 0;
          const rank_key_t a = list[p], b = list[q];
          if (descending ? a < b : a > b) {
            list[p] = b;
            list[q] = a;
          }
        }
      }
      __syncthreads();
    }
  }
  index_t* out = lists + static_cast<std::int64_t>(r) * k;
  for (int p = tid; p < k; p += top_k_block_threads)
    out[p] = list[p] == absent_rank_key ? index_t{-1} : rank_key_item(list[p]);
}

}  // namespace kernels

/// The bitonic sort's width for a list of k: the next power of two.
inline int top_k_list_slots(int k) {
  int slots = 1;
  while (slots < k) slots <<= 1;
  return slots;
}

/// Ranks `rows` rows of a device score block (see kernels::select_top_k_rows); the scores of masked
/// items are overwritten. lists: rows * k device indices; nan_position: one device word, set to
/// no_nan_position beforehand.
inline void launch_select_top_k_rows(float* scores, std::int64_t ld, index_t rows, index_t num_items,
                                     index_t first_user, int k, const offset_t* mask_offsets,
                                     const index_t* mask_items, index_t* lists, unsigned long long* nan_position,
                                     cudaStream_t stream = nullptr) {
  if (rows == 0) return;
  GATREC_EXPECTS(k >= 1 && k <= max_device_top_k,
                 "device top-k: k must be in [1, " + std::to_string(max_device_top_k) + "], got " + std::to_string(k));
  launch_kernel(kernels::select_top_k_rows, {static_cast<unsigned>(rows), kernels::top_k_block_threads, 0, stream},
                scores, ld, num_items, first_user, k, top_k_list_slots(k), mask_offsets, mask_items, lists,
                nan_position);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
