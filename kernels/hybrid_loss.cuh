#pragma once

/// @file
/// @brief The hybrid loss (BPR + cosine) on the device: coefficients per triple and per positive
/// pair (one warp each), the gradient gathered row by row through the loss incidence (one warp per
/// row, no atomics), and the loss sums reduced in a fixed order. Same formulas as
/// gatrec::hybrid_loss (train/hybrid_loss_terms.hpp) and, per row, the same order of additions
/// (train/loss_incidence.hpp), so the gradient matches the CPU's up to the rounding of the dot
/// products and of fused multiply-adds.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/cuda/error.cuh"
#include "gatrec/train/hybrid_loss_terms.hpp"
#include "gatrec/train/loss_incidence.hpp"
#include "fixed_order_sum.cuh"
#include "warp_fragments.cuh"

namespace gatrec::cuda {

namespace kernels {

inline constexpr int loss_block_threads = 256;
inline constexpr int loss_block_warps = loss_block_threads / 32;

/// <a, b> over `width` floats, lanes over columns, summed across the warp in a fixed order.
__device__ __forceinline__ float warp_row_dot(const float* __restrict__ a, const float* __restrict__ b, int width) {
  float s = 0.f;
  for (int c = static_cast<int>(threadIdx.x & 31); c < width; c += 32) s += a[c] * b[c];
  return warp_sum(s);
}

/// Triple t: x = <h_u, h_i> - <h_u, h_j> (+ prior difference), value and coefficient of its BPR term.
__global__ void __launch_bounds__(loss_block_threads)
    bpr_coefficients_kernel(const float* __restrict__ h, int width, index_t num_users, std::int64_t num_triples,
                            const index_t* __restrict__ user, const index_t* __restrict__ positive,
                            const index_t* __restrict__ negative, double scale, double* __restrict__ value,
                            double* __restrict__ coefficient) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  for (std::int64_t t = static_cast<std::int64_t>(blockIdx.x) * loss_block_warps + (threadIdx.x >> 5);
       t < num_triples; t += static_cast<std::int64_t>(gridDim.x) * loss_block_warps) {
    const float* hu = h + static_cast<std::int64_t>(user[t]) * width;
    const float pos = warp_row_dot(hu, h + static_cast<std::int64_t>(num_users + positive[t]) * width, width);
    const float neg = warp_row_dot(hu, h + static_cast<std::int64_t>(num_users + negative[t]) * width, width);
    if (lane == 0) {
      const bpr_term term = bpr_term_of(static_cast<double>(pos) - static_cast<double>(neg), scale);
      value[t] = term.value;
      coefficient[t] = term.coefficient;
    }
  }
}

/// Pair p (the first triple of each group of pairs_per_positive): its cosine and coefficients,
/// stored as [value, cross, user, item] per pair.
__global__ void __launch_bounds__(loss_block_threads)
    cosine_coefficients_kernel(const float* __restrict__ h, int width, index_t num_users, std::int64_t num_pairs,
                               int pairs_per_positive, const index_t* __restrict__ user,
                               const index_t* __restrict__ positive, double scale, double* __restrict__ terms) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  for (std::int64_t p = static_cast<std::int64_t>(blockIdx.x) * loss_block_warps + (threadIdx.x >> 5); p < num_pairs;
       p += static_cast<std::int64_t>(gridDim.x) * loss_block_warps) {
    const std::int64_t t = p * pairs_per_positive;
    const float* hu = h + static_cast<std::int64_t>(user[t]) * width;
    const float* hi = h + static_cast<std::int64_t>(num_users + positive[t]) * width;
    const float dot = warp_row_dot(hu, hi, width);
    const float uu = warp_row_dot(hu, hu, width);
    const float ii = warp_row_dot(hi, hi, width);
    if (lane == 0) {
      const cosine_term term = cosine_term_of(static_cast<double>(dot), static_cast<double>(sqrtf(uu)),
                                              static_cast<double>(sqrtf(ii)), scale);
      terms[4 * p + 0] = term.value;
      terms[4 * p + 1] = term.cross;
      terms[4 * p + 2] = term.user;
      terms[4 * p + 3] = term.item;
    }
  }
}

/// Row r of dL/dh: the sum over its incidence entries, in their order (overwrites the row).
__global__ void __launch_bounds__(loss_block_threads)
    gather_loss_gradient_kernel(const float* __restrict__ h, int width, index_t num_users, index_t num_rows,
                                const offset_t* __restrict__ offsets, const std::int64_t* __restrict__ entries,
                                const index_t* __restrict__ user, const index_t* __restrict__ positive,
                                const index_t* __restrict__ negative, int pairs_per_positive,
                                const double* __restrict__ bpr_coefficient, const double* __restrict__ cosine_terms,
                                float* __restrict__ grad) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  for (index_t r = static_cast<index_t>(blockIdx.x) * loss_block_warps + static_cast<index_t>(threadIdx.x >> 5);
       r < num_rows; r += static_cast<index_t>(gridDim.x) * loss_block_warps) {
    float* g = grad + static_cast<std::int64_t>(r) * width;
    const float* hr = h + static_cast<std::int64_t>(r) * width;
    for (int c = lane; c < width; c += 32) g[c] = 0.f;
    for (offset_t k = offsets[r]; k < offsets[r + 1]; ++k) {
      const std::int64_t e = entries[k];
      const std::int64_t idx = loss_entry_index(e);
      const loss_role role = loss_entry_role(e);
      if (role == loss_role::bpr_user || role == loss_role::bpr_positive || role == loss_role::bpr_negative) {
        const float coef = static_cast<float>(bpr_coefficient[idx]);
        const float* hi = h + static_cast<std::int64_t>(num_users + positive[idx]) * width;
        const float* hj = h + static_cast<std::int64_t>(num_users + negative[idx]) * width;
        const float* hu = h + static_cast<std::int64_t>(user[idx]) * width;
        for (int c = lane; c < width; c += 32) {
          if (role == loss_role::bpr_user)
            g[c] += coef * (hi[c] - hj[c]);
          else if (role == loss_role::bpr_positive)
            g[c] += coef * hu[c];
          else
            g[c] -= coef * hu[c];
        }
      } else {
        const std::int64_t t = idx * pairs_per_positive;
        const float cross = static_cast<float>(cosine_terms[4 * idx + 1]);
        const float own = static_cast<float>(cosine_terms[4 * idx + (role == loss_role::cosine_user ? 2 : 3)]);
        // The other row of the pair: the item for the user's entry, the user for the item's.
        const index_t other = role == loss_role::cosine_user ? num_users + positive[t] : user[t];
        const float* ho = h + static_cast<std::int64_t>(other) * width;
        for (int c = lane; c < width; c += 32) g[c] += cross * ho[c] + own * hr[c];
      }
    }
  }
}

/// The loss incidence's entries in loss_incidence::build's order, keyed by row: for every triple
/// t its (u, bpr_user), (i, bpr_positive), (j, bpr_negative), then for every pair p its
/// (u, cosine_user), (i, cosine_item). A stable sort by key then lists each row's entries in that
/// order, which is the order hybrid_loss adds them.
__global__ void emit_loss_entries_kernel(const index_t* __restrict__ user, const index_t* __restrict__ positive,
                                         const index_t* __restrict__ negative, std::int64_t num_triples,
                                         std::int64_t num_pairs, int pairs_per_positive, index_t num_users,
                                         index_t* __restrict__ rows, std::int64_t* __restrict__ entries) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t t = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; t < num_triples;
       t += stride) {
    rows[3 * t] = user[t];
    entries[3 * t] = loss_entry(t, loss_role::bpr_user);
    rows[3 * t + 1] = num_users + positive[t];
    entries[3 * t + 1] = loss_entry(t, loss_role::bpr_positive);
    rows[3 * t + 2] = num_users + negative[t];
    entries[3 * t + 2] = loss_entry(t, loss_role::bpr_negative);
  }
  index_t* pair_rows = rows + 3 * num_triples;
  std::int64_t* pair_entries = entries + 3 * num_triples;
  for (std::int64_t p = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; p < num_pairs; p += stride) {
    const std::int64_t t = p * pairs_per_positive;
    pair_rows[2 * p] = user[t];
    pair_entries[2 * p] = loss_entry(p, loss_role::cosine_user);
    pair_rows[2 * p + 1] = num_users + positive[t];
    pair_entries[2 * p + 1] = loss_entry(p, loss_role::cosine_item);
  }
}

/// offsets[r] = the first position of row r in the sorted rows (r = 0 .. num_rows): a binary
/// search per row.
__global__ void row_offsets_kernel(const index_t* __restrict__ sorted_rows, std::int64_t count, index_t num_rows,
                                   offset_t* __restrict__ offsets) {
  for (std::int64_t r = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; r <= num_rows;
       r += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    std::int64_t lo = 0, hi = count;
    while (lo < hi) {
      const std::int64_t mid = (lo + hi) / 2;
      if (sorted_rows[mid] < r)
        lo = mid + 1;
      else
        hi = mid;
    }
    offsets[r] = lo;
  }
}

/// *out = sum of values[stride * k + field] over k < count, one block, in a fixed order.
__global__ void __launch_bounds__(fixed_order_sum_threads)
    sum_in_fixed_order_kernel(const double* __restrict__ values, std::int64_t count, int stride, int field,
                              double* __restrict__ out) {
  double s = 0.0;
  for (std::int64_t k = threadIdx.x; k < count; k += fixed_order_sum_threads) s += values[k * stride + field];
  const double total = block_sum_in_fixed_order<fixed_order_sum_threads>(s);
  if (threadIdx.x == 0) *out = total;
}

}  // namespace kernels

/// Blocks for the warp-per-triple, -pair and -row loss kernels.
inline unsigned loss_grid_size(std::int64_t n) { return warp_per_item_grid_size(n, kernels::loss_block_warps); }

}  // namespace gatrec::cuda
