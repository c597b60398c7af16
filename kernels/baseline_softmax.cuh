#pragma once

/// @file
/// @brief The kernels of the library-calls baseline (include/gatrec/cuda/library_attention.cuh):
/// everything cuSPARSE cannot express, each a separate pass over memory, as an unfused
/// implementation would run it. Per-edge arrays are head-major (H, E) so that each head's values
/// form one CSR value array.
///
/// Memory traffic: the GATv2 logit kernel reads z_j, t_i (4C B each) per edge and head and writes
/// the logit; the segment softmax reads and writes each logit three times (max, sum, normalise);
/// the softmax backward reads alpha and dalpha twice and writes delta.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "gatrec/core/types.hpp"
#include "gatrec/nn/activation.hpp"
#include "gatrec/nn/online_softmax.hpp"
#include "warp_fragments.cuh"

namespace gatrec::cuda::kernels {

inline constexpr int baseline_block_threads = 256;
inline constexpr int baseline_block_warps = baseline_block_threads / 32;

/// SDDMM operands for the GAT score of head h: A (N, 2) row-major with rows (d_i, 1) and B (2, N)
/// row-major with rows (1...1) and (s_j), so (A B)_ij = d_i + s_j.
__global__ void gat_sddmm_operands_kernel(const float* __restrict__ score_src, const float* __restrict__ score_dst,
                                          std::int64_t n, int heads, int h, float* __restrict__ a,
                                          float* __restrict__ b) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    a[2 * i] = score_dst[i * heads + h];
    a[2 * i + 1] = 1.f;
    b[i] = 1.f;
    b[n + i] = score_src[i * heads + h];
  }
}

/// GATv2 logits, one warp per edge, every head: l[h, e] = <a_h, LReLU(z_j + t_i + r_e W_e)_h>.
__global__ void __launch_bounds__(baseline_block_threads)
    gatv2_edge_logits_kernel(const float* __restrict__ z, const float* __restrict__ z_dst,
                             const float* __restrict__ att, const float* __restrict__ weight_edge,
                             const float* __restrict__ features, int feature_stride, int edge_dim,
                             const index_t* __restrict__ sources, const index_t* __restrict__ destinations,
                             offset_t num_edges, int heads, int width, float slope, float* __restrict__ logits) {
  const int lane = threadIdx.x & 31;
  const std::int64_t HC = static_cast<std::int64_t>(heads) * width;
  for (offset_t e = static_cast<offset_t>(blockIdx.x) * baseline_block_warps + (threadIdx.x >> 5); e < num_edges;
       e += static_cast<offset_t>(gridDim.x) * baseline_block_warps) {
    const float* zj = z + sources[e] * HC;
    const float* ti = z_dst + destinations[e] * HC;
    const float* r = features + e * feature_stride;
    for (int h = 0; h < heads; ++h) {
      float s = 0.f;
      for (int c = lane; c < width; c += 32) {
        const std::int64_t col = static_cast<std::int64_t>(h) * width + c;
        float v = zj[col] + ti[col];
        for (int k = 0; k < edge_dim; ++k) v += r[k] * weight_edge[k * HC + col];
        s += att[col] * ::gatrec::leaky_relu(v, slope);
      }
      s = warp_sum(s);
      if (lane == 0) logits[h * num_edges + e] = s;
    }
  }
}

/// Segment softmax of head-major values, one warp per (node, head), three passes over the node's
/// edges. GAT (`gat_scores`): the values hold s_j + d_i; the edge term sum_k r_k M[k, h] is added
/// and LeakyReLU applied in the first pass (and written back). The values become alpha.
__global__ void __launch_bounds__(baseline_block_threads)
    segment_softmax_kernel(const std::int32_t* __restrict__ offsets, float* __restrict__ values, index_t n,
                           std::int64_t num_edges, int heads, bool gat_scores, const float* __restrict__ m,
                           const float* __restrict__ features, int feature_stride, int edge_dim, float slope) {
  const int lane = threadIdx.x & 31;
  for (std::int64_t item = static_cast<std::int64_t>(blockIdx.x) * baseline_block_warps + (threadIdx.x >> 5);
       item < static_cast<std::int64_t>(n) * heads; item += static_cast<std::int64_t>(gridDim.x) * baseline_block_warps) {
    const index_t i = static_cast<index_t>(item / heads);
    const int h = static_cast<int>(item % heads);
    float* v = values + h * num_edges;
    const std::int32_t first = offsets[i], last = offsets[i + 1];
    float mx = ::gatrec::detail::negative_infinity<float>();
    for (std::int32_t e = first + lane; e < last; e += 32) {
      float l = v[e];
      if (gat_scores) {
        for (int k = 0; k < edge_dim; ++k) l += features[static_cast<std::int64_t>(e) * feature_stride + k] * m[k * heads + h];
        l = ::gatrec::leaky_relu(l, slope);
        v[e] = l;
      }
      mx = fmaxf(mx, l);
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(full_warp_mask, mx, off));
    float sum = 0.f;
    for (std::int32_t e = first + lane; e < last; e += 32) sum += ::gatrec::detail::exp_of(v[e] - mx);
    sum = warp_sum(sum);
    const float inv = 1.f / sum;
    for (std::int32_t e = first + lane; e < last; e += 32) v[e] = ::gatrec::detail::exp_of(v[e] - mx) * inv;
  }
}

/// GAT softmax and LeakyReLU backward, one warp per (node, head): delta_e = alpha_e (dalpha_e -
/// sum_f alpha_f dalpha_f) LReLU'(u_e), u_e = s_j + d_i + sum_k r_k M[k, h] recomputed. `grad`
/// holds dalpha on entry and delta on exit (head-major).
__global__ void __launch_bounds__(baseline_block_threads)
    gat_softmax_backward_kernel(const std::int32_t* __restrict__ offsets, const std::int32_t* __restrict__ sources,
                                const float* __restrict__ alpha, float* __restrict__ grad,
                                const float* __restrict__ score_src, const float* __restrict__ score_dst,
                                const float* __restrict__ m, const float* __restrict__ features, int feature_stride,
                                int edge_dim, index_t n, std::int64_t num_edges, int heads, float slope) {
  const int lane = threadIdx.x & 31;
  for (std::int64_t item = static_cast<std::int64_t>(blockIdx.x) * baseline_block_warps + (threadIdx.x >> 5);
       item < static_cast<std::int64_t>(n) * heads; item += static_cast<std::int64_t>(gridDim.x) * baseline_block_warps) {
    const index_t i = static_cast<index_t>(item / heads);
    const int h = static_cast<int>(item % heads);
    const float* a = alpha + h * num_edges;
    float* g = grad + h * num_edges;
    const std::int32_t first = offsets[i], last = offsets[i + 1];
    float dot = 0.f;
    for (std::int32_t e = first + lane; e < last; e += 32) dot += a[e] * g[e];
    dot = warp_sum(dot);
    const float d_i = score_dst[static_cast<std::int64_t>(i) * heads + h];
    for (std::int32_t e = first + lane; e < last; e += 32) {
      float u = score_src[static_cast<std::int64_t>(sources[e]) * heads + h] + d_i;
      for (int k = 0; k < edge_dim; ++k) u += features[static_cast<std::int64_t>(e) * feature_stride + k] * m[k * heads + h];
      g[e] = a[e] * (g[e] - dot) * ::gatrec::leaky_relu_grad(u, slope);
    }
  }
}

/// dz[j, hC + c] += ds[h, j] a_src[h, c] + dd[h, j] a_dst[h, c] (score gradients head-major).
__global__ void gat_score_grads_into_messages_kernel(float* __restrict__ dz, const float* __restrict__ ds,
                                                     const float* __restrict__ dd, const float* __restrict__ att_src,
                                                     const float* __restrict__ att_dst, std::int64_t n, int heads,
                                                     int width) {
  const std::int64_t HC = static_cast<std::int64_t>(heads) * width, total = n * HC;
  for (std::int64_t k = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t j = k / HC;
    const int hc = static_cast<int>(k % HC), h = hc / width;
    dz[k] += ds[h * n + j] * att_src[hc] + dd[h * n + j] * att_dst[hc];
  }
}

}  // namespace gatrec::cuda::kernels
