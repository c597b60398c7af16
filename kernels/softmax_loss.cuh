#pragma once

/// @file
/// @brief The full-softmax loss (gatrec::softmax_loss, docs/math.md 5b) per user row on the device:
/// from the logits s_u (already divided by the temperature) to the loss of the row and dL/ds_u,
/// one block per user. The steps and their arithmetic follow the CPU's row loop: the row maximum,
/// the log-sum-exp (summed in a fixed order), the positives' and the rated-only term's sums in the
/// CPU's serial order (thread 0: these lists are short), then the gradient row written element
/// by element with the CPU's casts; the positives' corrections are applied by one thread because a
/// liked item may be listed twice.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "gatrec/core/types.hpp"
#include "fixed_order_sum.cuh"

namespace gatrec::cuda::kernels {

inline constexpr int softmax_block_threads = 256;

/// Block b, user u = first_user + b: logits[b * num_items ..] -> grad_logits[b * num_items ..] and
/// user_loss[u] (the logits hold a block of users starting at first_user).
/// positive_offsets/positives: each user's liked items; rated_offsets/rated_items (null when the
/// rated-only term is off): each user's training items. scale = weight / (number of positives).
__global__ void __launch_bounds__(softmax_block_threads)
    softmax_rows_kernel(const float* __restrict__ logits, float* __restrict__ grad_logits, index_t num_items,
                        index_t first_user, const offset_t* __restrict__ positive_offsets,
                        const index_t* __restrict__ positives, const offset_t* __restrict__ rated_offsets,
                        const index_t* __restrict__ rated_items, double scale, double rated_weight, float inv_t,
                        double* __restrict__ user_loss) {
  const index_t u = first_user + static_cast<index_t>(blockIdx.x);
  const int tid = static_cast<int>(threadIdx.x);
  const float* s = logits + static_cast<std::int64_t>(blockIdx.x) * num_items;
  float* g = grad_logits + static_cast<std::int64_t>(blockIdx.x) * num_items;
  const offset_t first = positive_offsets[u], last = positive_offsets[u + 1];
  const double count = static_cast<double>(last - first);
  if (count == 0) {  // the same for the whole block
    for (index_t i = tid; i < num_items; i += softmax_block_threads) g[i] = 0.f;
    if (tid == 0) user_loss[u] = 0.0;
    return;
  }
  float m = -INFINITY;
  for (index_t i = tid; i < num_items; i += softmax_block_threads) m = fmaxf(m, s[i]);
  m = block_max<softmax_block_threads>(m);
  double partial = 0.0;
  for (index_t i = tid; i < num_items; i += softmax_block_threads) partial += exp(static_cast<double>(s[i] - m));
  const double lse = static_cast<double>(m) + log(block_sum_in_fixed_order<softmax_block_threads>(partial));

  const double rated_scale = scale * rated_weight;
  const offset_t r_first = rated_offsets != nullptr ? rated_offsets[u] : 0;
  const offset_t r_last = rated_offsets != nullptr ? rated_offsets[u + 1] : 0;
  const bool rated_term = r_last - r_first > last - first;  // some rated item is not liked
  __shared__ double lse_rated;
  if (tid == 0) {
    double loss = 0.0;
    for (offset_t k = first; k < last; ++k) loss += lse - static_cast<double>(s[positives[k]]);
    if (rated_term) {
      double mr = -INFINITY, sr = 0.0;
      for (offset_t k = r_first; k < r_last; ++k) mr = fmax(mr, static_cast<double>(s[rated_items[k]]));
      for (offset_t k = r_first; k < r_last; ++k) sr += exp(static_cast<double>(s[rated_items[k]]) - mr);
      lse_rated = mr + log(sr);
      double loss_r = 0.0;
      for (offset_t k = first; k < last; ++k) loss_r += lse_rated - static_cast<double>(s[positives[k]]);
      loss += rated_weight * loss_r;
    }
    user_loss[u] = loss;
  }
  __syncthreads();  // lse_rated
  for (index_t i = tid; i < num_items; i += softmax_block_threads)
    g[i] = static_cast<float>(scale * count * exp(static_cast<double>(s[i]) - lse));
  __syncthreads();
  if (tid == 0)
    for (offset_t k = first; k < last; ++k) g[positives[k]] -= static_cast<float>(scale);
  __syncthreads();
  if (rated_term) {
    // Rated items are distinct within a row, so each is one thread's.
    for (offset_t k = r_first + tid; k < r_last; k += softmax_block_threads) {
      const index_t j = rated_items[k];
      g[j] += static_cast<float>(rated_scale * count * exp(static_cast<double>(s[j]) - lse_rated));
    }
    __syncthreads();
    if (tid == 0)
      for (offset_t k = first; k < last; ++k) g[positives[k]] -= static_cast<float>(rated_scale);
    __syncthreads();
  }
  for (index_t i = tid; i < num_items; i += softmax_block_threads) g[i] *= inv_t;
}

}  // namespace gatrec::cuda::kernels
