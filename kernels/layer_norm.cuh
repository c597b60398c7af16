#pragma once

/// @file
/// @brief The tail of an encoder block on the device: LayerNorm, LeakyReLU and the residual add
/// in one pass per row, and its backward (docs/math.md sections 3 and 4).
///
/// One warp per row, lanes over the columns. Forward reads the attention output a (and the
/// residual) once and writes h (in place of a, in a block with LayerNorm) and the normalised row
/// x_hat. Backward reads dh and x_hat, recomputes the pre-activation n = gamma x_hat + beta for
/// LReLU' (the CPU block keeps n; the device keeps one (N, width) array less per block) and writes
/// dL/da; a column-tiled kernel sums the gamma and beta gradients from dh and x_hat in a fixed
/// order, with no (N, width) array.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/nn/activation.hpp"
#include "warp_fragments.cuh"

namespace gatrec::cuda {

namespace kernels {

inline constexpr int norm_block_threads = 256;
inline constexpr int norm_block_warps = norm_block_threads / 32;

/// The normalised pre-activation from x_hat: one expression for the forward and the backward, so
/// that both round it alike and LReLU' sees the sign the forward saw.
__device__ __forceinline__ float normalized_pre_activation(float x_hat, float gamma, float beta) {
  return x_hat * gamma + beta;
}

/// h = LReLU(n) + residual + residual_bias with n = LayerNorm(a) = x_hat gamma + beta (or n = a
/// without the norm). n is not stored: the backward takes it from x_hat, or from a itself. h may
/// be a (each lane reads its elements of a row before it writes them), so a block needs no
/// buffer for the attention output.
__global__ void __launch_bounds__(norm_block_threads)
    norm_activation_forward_kernel(const float* a, const float* __restrict__ gamma, const float* __restrict__ beta,
                                   const float* __restrict__ residual, const float* __restrict__ residual_bias,
                                   float* h, float* __restrict__ x_hat, float* __restrict__ inv_std, std::int64_t rows,
                                   int width, bool normalize, float eps, float slope) {
  const int lane = threadIdx.x & 31;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * norm_block_warps + (threadIdx.x >> 5); r < rows;
       r += static_cast<std::int64_t>(gridDim.x) * norm_block_warps) {
    const float* ar = a + r * width;
    float mean = 0.f, inv = 1.f;
    if (normalize) {
      float s = 0.f;
      for (int c = lane; c < width; c += 32) s += ar[c];
      mean = warp_sum(s) / static_cast<float>(width);
      float v = 0.f;
      for (int c = lane; c < width; c += 32) {
        const float d = ar[c] - mean;
        v += d * d;
      }
      const float var = warp_sum(v) / static_cast<float>(width);
      inv = 1.f / sqrtf(var + eps);
      if (lane == 0) inv_std[r] = inv;
    }
    for (int c = lane; c < width; c += 32) {
      float n = ar[c];
      if (normalize) {
        const float xh = (ar[c] - mean) * inv;
        x_hat[r * width + c] = xh;
        n = normalized_pre_activation(xh, gamma[c], beta[c]);
      }
      float out = ::gatrec::leaky_relu(n, slope);
      if (residual != nullptr) out += residual[r * width + c];
      if (residual_bias != nullptr) out += residual_bias[c];
      h[r * width + c] = out;
    }
  }
}

/// From dh: g = dh LReLU'(n), then da = inv_std (g gamma - mean(g gamma) - x_hat mean(g gamma
/// x_hat)), or da = g without the norm (n = a: `pre` is the forward's input). g is recomputed in
/// the second sweep rather than stored: the same bits, and no (N, width) array.
__global__ void __launch_bounds__(norm_block_threads)
    norm_activation_backward_kernel(const float* __restrict__ dh, const float* __restrict__ pre,
                                    const float* __restrict__ x_hat, const float* __restrict__ inv_std,
                                    const float* __restrict__ gamma, const float* __restrict__ beta,
                                    float* __restrict__ da, std::int64_t rows, int width, bool normalize, float slope) {
  const int lane = threadIdx.x & 31;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * norm_block_warps + (threadIdx.x >> 5); r < rows;
       r += static_cast<std::int64_t>(gridDim.x) * norm_block_warps) {
    const std::int64_t base = r * width;
    if (!normalize) {
      for (int c = lane; c < width; c += 32)
        da[base + c] = dh[base + c] * ::gatrec::leaky_relu_grad(pre[base + c], slope);
      continue;
    }
    auto scaled_grad = [&](int c) {  // g gamma
      const float n = normalized_pre_activation(x_hat[base + c], gamma[c], beta[c]);
      return dh[base + c] * ::gatrec::leaky_relu_grad(n, slope) * gamma[c];
    };
    float sg = 0.f, sgx = 0.f;
    for (int c = lane; c < width; c += 32) {
      const float gg = scaled_grad(c);
      sg += gg;
      sgx += gg * x_hat[base + c];
    }
    const float mean_g = warp_sum(sg) / static_cast<float>(width);
    const float mean_gx = warp_sum(sgx) / static_cast<float>(width);
    const float inv = inv_std[r];
    for (int c = lane; c < width; c += 32) da[base + c] = (scaled_grad(c) - mean_g - x_hat[base + c] * mean_gx) * inv;
  }
}

/// Rows per block of the affine-gradient partials, and the block's shape: 32 columns by 8 rows.
inline constexpr int affine_grad_rows_per_block = 512;
inline constexpr int affine_grad_row_lanes = 8;

/// Column sums of g = dh LReLU'(n) and of g x_hat over one block of rows (partials of the beta and
/// gamma gradients; blockIdx.y picks the rows, blockIdx.x 32 columns): written to
/// partial_g / partial_gx at row blockIdx.y, each in a fixed order (rows in steps of 8 per thread,
/// then the 8 row lanes in order). Reading dh and x_hat again is half the traffic of writing g and
/// g x_hat as (N, width) arrays and summing those.
__global__ void __launch_bounds__(32 * affine_grad_row_lanes)
    norm_affine_grad_partials_kernel(const float* __restrict__ dh, const float* __restrict__ x_hat,
                                     const float* __restrict__ gamma, const float* __restrict__ beta,
                                     float* __restrict__ partial_g, float* __restrict__ partial_gx, std::int64_t rows,
                                     int width, float slope) {
  const int c = static_cast<int>(blockIdx.x) * 32 + static_cast<int>(threadIdx.x);
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.y) * affine_grad_rows_per_block;
  const std::int64_t last = first + affine_grad_rows_per_block < rows ? first + affine_grad_rows_per_block : rows;
  float sg = 0.f, sgx = 0.f;
  if (c < width) {
    const float gm = gamma[c], bt = beta[c];
    for (std::int64_t r = first + threadIdx.y; r < last; r += affine_grad_row_lanes) {
      const float xh = x_hat[r * width + c];
      const float g = dh[r * width + c] * ::gatrec::leaky_relu_grad(normalized_pre_activation(xh, gm, bt), slope);
      sg += g;
      sgx += g * xh;
    }
  }
  __shared__ float lane_g[affine_grad_row_lanes][32], lane_gx[affine_grad_row_lanes][32];
  lane_g[threadIdx.y][threadIdx.x] = sg;
  lane_gx[threadIdx.y][threadIdx.x] = sgx;
  __syncthreads();
  if (threadIdx.y == 0 && c < width) {
    float tg = 0.f, tgx = 0.f;
    for (int y = 0; y < affine_grad_row_lanes; ++y) {
      tg += lane_g[y][threadIdx.x];
      tgx += lane_gx[y][threadIdx.x];
    }
    partial_g[static_cast<std::int64_t>(blockIdx.y) * width + c] = tg;
    partial_gx[static_cast<std::int64_t>(blockIdx.y) * width + c] = tgx;
  }
}

/// d_beta[c] += sum_b partial_g[b, c] and d_gamma[c] += sum_b partial_gx[b, c], blocks in order.
__global__ void add_affine_grad_partials_kernel(const float* __restrict__ partial_g,
                                                const float* __restrict__ partial_gx, std::int64_t blocks, int width,
                                                float* __restrict__ d_gamma, float* __restrict__ d_beta) {
  for (int c = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); c < width;
       c += static_cast<int>(gridDim.x * blockDim.x)) {
    float tg = 0.f, tgx = 0.f;
    for (std::int64_t b = 0; b < blocks; ++b) {
      tg += partial_g[b * width + c];
      tgx += partial_gx[b * width + c];
    }
    d_beta[c] += tg;
    d_gamma[c] += tgx;
  }
}

}  // namespace kernels

/// Blocks for the warp-per-row kernels.
inline unsigned norm_grid_size(std::int64_t rows) { return warp_per_item_grid_size(rows, kernels::norm_block_warps); }

/// h = LReLU(LayerNorm(a)) + residual + residual_bias (both may be null: a projected residual's
/// bias comes in here and its product is added to h by cuBLAS afterwards; without `normalize`,
/// gamma, beta, x_hat and inv_std may be null and n = a). h may equal a; residual may not alias h.
inline void norm_activation_forward(const float* a, const float* gamma, const float* beta, const float* residual,
                                    const float* residual_bias, float* h, float* x_hat, float* inv_std,
                                    std::int64_t rows, int width, bool normalize, float eps, float slope,
                                    cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(rows >= 0 && width > 0, "bad shape");
  if (rows == 0) return;
  GATREC_EXPECTS(a && h, "null device pointer");
  GATREC_EXPECTS(residual != h, "the residual may not be the output");
  GATREC_EXPECTS(!normalize || (gamma && beta && x_hat && inv_std), "LayerNorm needs gamma, beta, x_hat, inv_std");
  launch_kernel(kernels::norm_activation_forward_kernel, {norm_grid_size(rows), kernels::norm_block_threads, 0, stream},
                a, gamma, beta, residual, residual_bias, h, x_hat, inv_std, rows, width, normalize, eps, slope);
  GATREC_CUDA_CHECK_LAST();
}

/// da from dh (see the kernel). With `normalize`, the forward's x_hat, inv_std, gamma and beta give
/// the pre-activation (`pre` may be null); without, `pre` is the forward's input a (the others may
/// be null).
inline void norm_activation_backward(const float* dh, const float* pre, const float* x_hat, const float* inv_std,
                                     const float* gamma, const float* beta, float* da, std::int64_t rows, int width,
                                     bool normalize, float slope, cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(rows >= 0 && width > 0, "bad shape");
  if (rows == 0) return;
  GATREC_EXPECTS(dh && da && (normalize || pre), "null device pointer");
  GATREC_EXPECTS(!normalize || (x_hat && inv_std && gamma && beta), "LayerNorm backward buffers missing");
  launch_kernel(kernels::norm_activation_backward_kernel,
                {norm_grid_size(rows), kernels::norm_block_threads, 0, stream}, dh, pre, x_hat, inv_std, gamma, beta,
                da, rows, width, normalize, slope);
  GATREC_CUDA_CHECK_LAST();
}

/// Floats of the workspace norm_affine_backward needs for `rows` rows of `width`.
inline std::int64_t norm_affine_partial_size(std::int64_t rows, int width) {
  const std::int64_t blocks = (rows + kernels::affine_grad_rows_per_block - 1) / kernels::affine_grad_rows_per_block;
  return 2 * blocks * width;
}

/// The LayerNorm's parameter gradients: d_beta += sum_r g and d_gamma += sum_r g x_hat, g = dh
/// LReLU'(x_hat gamma + beta), summed in a fixed order (per block of 512 rows, then the blocks)
/// through `partials` (norm_affine_partial_size floats), so every run gives the same bits.
inline void norm_affine_backward(const float* dh, const float* x_hat, const float* gamma, const float* beta,
                                 float* partials, float* d_gamma, float* d_beta, std::int64_t rows, int width,
                                 float slope, cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(rows >= 0 && width > 0, "bad shape");
  if (rows == 0) return;
  GATREC_EXPECTS(dh && x_hat && gamma && beta && partials && d_gamma && d_beta, "null device pointer");
  const std::int64_t blocks = norm_affine_partial_size(rows, width) / (2 * width);
  GATREC_EXPECTS(blocks <= 65535, "too many rows for the LayerNorm gradient's grid");
  float* partial_g = partials;
  float* partial_gx = partials + blocks * width;
  const dim3 grid(static_cast<unsigned>((width + 31) / 32), static_cast<unsigned>(blocks));
  launch_kernel(kernels::norm_affine_grad_partials_kernel, {grid, dim3(32, kernels::affine_grad_row_lanes), 0, stream},
                dh, x_hat, gamma, beta, partial_g, partial_gx, rows, width, slope);
  GATREC_CUDA_CHECK_LAST();
  launch_kernel(kernels::add_affine_grad_partials_kernel,
                {static_cast<unsigned>((width + 255) / 256), 256, 0, stream}, partial_g, partial_gx, blocks, width,
                d_gamma, d_beta);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
