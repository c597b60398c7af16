#pragma once

/// @file
/// @brief The tail of an encoder block on the device: LayerNorm, LeakyReLU and the residual add
/// in one pass per row, and its backward (docs/math.md sections 3 and 4).
///
/// One warp per row, lanes over the columns. Forward reads the attention output a (and the
/// residual) once and writes h and the normalised row x_hat; backward reads dh and x_hat,
/// recomputes the pre-activation n = gamma x_hat + beta for LReLU' (the CPU block keeps n; the
/// device keeps one (N, width) array less per block), and writes the two per-row products whose
/// column sums are the gamma and beta gradients, and dL/da.

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

/// h = LReLU(n) + residual with n = LayerNorm(a) = x_hat gamma + beta (or n = a without the
/// norm). n is not stored: the backward takes it from x_hat, or from a itself.
__global__ void __launch_bounds__(norm_block_threads)
    norm_activation_forward_kernel(const float* __restrict__ a, const float* __restrict__ gamma,
                                   const float* __restrict__ beta, const float* __restrict__ residual,
                                   float* __restrict__ h, float* __restrict__ x_hat, float* __restrict__ inv_std,
                                   std::int64_t rows, int width, bool normalize, float eps, float slope) {
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
      h[r * width + c] = out;
    }
  }
}

/// From dh: g = dh LReLU'(n) (written to `grad`, and g x_hat to `grad_xhat`, for the gamma and
/// beta gradients), then da = inv_std (g gamma - mean(g gamma) - x_hat mean(g gamma x_hat)), or
/// da = g without the norm (n = a: `pre` is the forward's input).
__global__ void __launch_bounds__(norm_block_threads)
    norm_activation_backward_kernel(const float* __restrict__ dh, const float* __restrict__ pre,
                                    const float* __restrict__ x_hat, const float* __restrict__ inv_std,
                                    const float* __restrict__ gamma, const float* __restrict__ beta,
                                    float* __restrict__ grad, float* __restrict__ grad_xhat, float* __restrict__ da,
                                    std::int64_t rows, int width, bool normalize, float slope) {
  const int lane = threadIdx.x & 31;
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * norm_block_warps + (threadIdx.x >> 5); r < rows;
       r += static_cast<std::int64_t>(gridDim.x) * norm_block_warps) {
    const std::int64_t base = r * width;
    if (!normalize) {
      for (int c = lane; c < width; c += 32) da[base + c] = dh[base + c] * ::gatrec::leaky_relu_grad(pre[base + c], slope);
      continue;
    }
    float sg = 0.f, sgx = 0.f;
    for (int c = lane; c < width; c += 32) {
      const float n = normalized_pre_activation(x_hat[base + c], gamma[c], beta[c]);
      const float g = dh[base + c] * ::gatrec::leaky_relu_grad(n, slope);
      grad[base + c] = g;
      grad_xhat[base + c] = g * x_hat[base + c];
      const float gg = g * gamma[c];
      sg += gg;
      sgx += gg * x_hat[base + c];
    }
    const float mean_g = warp_sum(sg) / static_cast<float>(width);
    const float mean_gx = warp_sum(sgx) / static_cast<float>(width);
    const float inv = inv_std[r];
    for (int c = lane; c < width; c += 32) {
      const float gg = grad[base + c] * gamma[c];
      da[base + c] = (gg - mean_g - x_hat[base + c] * mean_gx) * inv;
    }
  }
}

}  // namespace kernels

/// Blocks for the warp-per-row kernels.
inline unsigned norm_grid_size(std::int64_t rows) { return warp_per_item_grid_size(rows, kernels::norm_block_warps); }

/// h = LReLU(LayerNorm(a)) + residual (residual may be null; without `normalize`, gamma, beta,
/// x_hat and inv_std may be null and n = a).
inline void norm_activation_forward(const float* a, const float* gamma, const float* beta, const float* residual,
                                    float* h, float* x_hat, float* inv_std, std::int64_t rows, int width,
                                    bool normalize, float eps, float slope, cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(rows >= 0 && width > 0, "bad shape");
  if (rows == 0) return;
  GATREC_EXPECTS(a && h, "null device pointer");
  GATREC_EXPECTS(!normalize || (gamma && beta && x_hat && inv_std), "LayerNorm needs gamma, beta, x_hat, inv_std");
  launch_kernel(kernels::norm_activation_forward_kernel, {norm_grid_size(rows), kernels::norm_block_threads, 0, stream},
                a, gamma, beta, residual, h, x_hat, inv_std, rows, width, normalize, eps, slope);
  GATREC_CUDA_CHECK_LAST();
}

/// da from dh (see the kernel); grad and grad_xhat (rows, width) receive the per-row products.
/// With `normalize`, the forward's x_hat, inv_std, gamma and beta give the pre-activation (`pre`
/// may be null); without, `pre` is the forward's input a (the others may be null).
inline void norm_activation_backward(const float* dh, const float* pre, const float* x_hat, const float* inv_std,
                                     const float* gamma, const float* beta, float* grad, float* grad_xhat, float* da,
                                     std::int64_t rows, int width, bool normalize, float slope,
                                     cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(rows >= 0 && width > 0, "bad shape");
  if (rows == 0) return;
  GATREC_EXPECTS(dh && da && (normalize || pre), "null device pointer");
  GATREC_EXPECTS(!normalize || (x_hat && inv_std && gamma && beta && grad && grad_xhat),
                 "LayerNorm backward buffers missing");
  launch_kernel(kernels::norm_activation_backward_kernel,
                {norm_grid_size(rows), kernels::norm_block_threads, 0, stream}, dh, pre, x_hat, inv_std, gamma, beta,
                grad, grad_xhat, da, rows, width, normalize, slope);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
