#pragma once

/// @file
/// @brief Row-wise L2 normalisation y_r = x_r / max(|x_r|, eps) and its backward on the device
/// (gatrec::row_normalize_forward / _backward on the CPU: cosine scores). One warp per row.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "warp_fragments.cuh"

namespace gatrec::cuda {

namespace kernels {

inline constexpr int normalize_block_threads = 256;
inline constexpr int normalize_block_warps = normalize_block_threads / 32;

/// y = x / norm with norm[r] = max(|x_r|, eps) kept for backward.
__global__ void __launch_bounds__(normalize_block_threads)
    row_normalize_forward_kernel(const float* __restrict__ x, float* __restrict__ y, float* __restrict__ norm,
                                 std::int64_t rows, int width, float eps) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * normalize_block_warps + (threadIdx.x >> 5); r < rows;
       r += static_cast<std::int64_t>(gridDim.x) * normalize_block_warps) {
    const float* xr = x + r * width;
    float s = 0.f;
    for (int c = lane; c < width; c += 32) s += xr[c] * xr[c];
    const float len = sqrtf(warp_sum(s));
    const float divisor = len > eps ? len : eps;
    if (lane == 0) norm[r] = divisor;
    for (int c = lane; c < width; c += 32) y[r * width + c] = xr[c] / divisor;
  }
}

/// dx = (dy - (dy . y) y) / norm, or dy / norm for a row that was clamped to eps.
__global__ void __launch_bounds__(normalize_block_threads)
    row_normalize_backward_kernel(const float* __restrict__ y, const float* __restrict__ norm,
                                  const float* __restrict__ dy, float* __restrict__ dx, std::int64_t rows, int width,
                                  float eps) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  for (std::int64_t r = static_cast<std::int64_t>(blockIdx.x) * normalize_block_warps + (threadIdx.x >> 5); r < rows;
       r += static_cast<std::int64_t>(gridDim.x) * normalize_block_warps) {
    const float* yr = y + r * width;
    const float* gr = dy + r * width;
    const float divisor = norm[r];
    if (!(divisor > eps)) {
      for (int c = lane; c < width; c += 32) dx[r * width + c] = gr[c] / divisor;
      continue;
    }
    float s = 0.f;
    for (int c = lane; c < width; c += 32) s += gr[c] * yr[c];
    const float along = warp_sum(s);
    for (int c = lane; c < width; c += 32) dx[r * width + c] = (gr[c] - along * yr[c]) / divisor;
  }
}

}  // namespace kernels

inline unsigned normalize_grid_size(std::int64_t rows) {
  return warp_per_item_grid_size(rows, kernels::normalize_block_warps);
}

/// Row normalisation of a (rows, width) device matrix; norm: rows floats.
inline void row_normalize_forward(const float* x, float* y, float* norm, std::int64_t rows, int width,
                                  float eps = 1e-8f, cudaStream_t stream = nullptr) {
  if (rows == 0) return;
  launch_kernel(kernels::row_normalize_forward_kernel,
                {normalize_grid_size(rows), kernels::normalize_block_threads, 0, stream}, x, y, norm, rows, width, eps);
  GATREC_CUDA_CHECK_LAST();
}

inline void row_normalize_backward(const float* y, const float* norm, const float* dy, float* dx, std::int64_t rows,
                                   int width, float eps = 1e-8f, cudaStream_t stream = nullptr) {
  if (rows == 0) return;
  launch_kernel(kernels::row_normalize_backward_kernel,
                {normalize_grid_size(rows), kernels::normalize_block_threads, 0, stream}, y, norm, dy, dx, rows, width,
                eps);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
