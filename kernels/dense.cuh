#pragma once

/// @file
/// @brief Small dense kernels the device layers need around cuBLAS: fill, add a bias to every
/// row, y += x. Bandwidth-bound, grid-stride loops (one read and one write per element).

#include <cuda_runtime_api.h>

#include <cstdint>

#include "gatrec/core/error.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"

namespace gatrec::cuda {

namespace kernels {

__global__ void fill_kernel(float* __restrict__ x, std::int64_t n, float value) {
  for (std::int64_t k = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    x[k] = value;
}

__global__ void fill_uniform_kernel(float* __restrict__ x, std::int64_t n, float low, float high, std::uint64_t seed) {
  for (std::int64_t k = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    x[k] = low + (high - low) * static_cast<float>(::gatrec::uniform01(seed, 0, static_cast<std::uint64_t>(k)));
}

__global__ void add_row_bias_kernel(float* __restrict__ y, const float* __restrict__ bias, std::int64_t rows,
                                    std::int64_t cols) {
  const std::int64_t n = rows * cols;
  for (std::int64_t k = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    y[k] += bias[k % cols];
}

__global__ void add_kernel(const float* __restrict__ x, float* __restrict__ y, std::int64_t n) {
  for (std::int64_t k = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    y[k] += x[k];
}

}  // namespace kernels

/// Threads per block of the dense kernels.
inline constexpr int dense_block_threads = 256;

/// Blocks for a grid-stride loop over n elements (bounded; the loop covers the rest).
inline unsigned dense_grid_size(std::int64_t n) {
  const std::int64_t blocks = (n + dense_block_threads - 1) / dense_block_threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 ? 65535 : blocks));
}

/// x[0..n) = value.
inline void fill(float* x, std::int64_t n, float value, cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(n >= 0, "negative length");
  if (n == 0) return;
  GATREC_EXPECTS(x != nullptr, "null device pointer");
  launch_kernel(kernels::fill_kernel, {dense_grid_size(n), dense_block_threads, 0, stream}, x, n, value);
  GATREC_CUDA_CHECK_LAST();
}

/// x[k] = a uniform draw in [low, high) that depends only on (seed, k) (benchmark inputs, made on
/// the device because drawing 10^8 values on the host takes seconds).
inline void fill_uniform(float* x, std::int64_t n, float low, float high, std::uint64_t seed,
                         cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(n >= 0, "negative length");
  if (n == 0) return;
  GATREC_EXPECTS(x != nullptr, "null device pointer");
  launch_kernel(kernels::fill_uniform_kernel, {dense_grid_size(n), dense_block_threads, 0, stream}, x, n, low, high,
                seed);
  GATREC_CUDA_CHECK_LAST();
}

/// y[r, c] += bias[c] for a (rows, cols) row-major y.
inline void add_row_bias(float* y, const float* bias, std::int64_t rows, std::int64_t cols,
                         cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(rows >= 0 && cols > 0, "bad shape");
  if (rows == 0) return;
  GATREC_EXPECTS(y != nullptr && bias != nullptr, "null device pointer");
  launch_kernel(kernels::add_row_bias_kernel, {dense_grid_size(rows * cols), dense_block_threads, 0, stream}, y, bias,
                rows, cols);
  GATREC_CUDA_CHECK_LAST();
}

/// y += x over n elements.
inline void add(const float* x, float* y, std::int64_t n, cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(n >= 0, "negative length");
  if (n == 0) return;
  GATREC_EXPECTS(x != nullptr && y != nullptr, "null device pointer");
  launch_kernel(kernels::add_kernel, {dense_grid_size(n), dense_block_threads, 0, stream}, x, y, n);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
