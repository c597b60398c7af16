#pragma once

/// @file
/// @brief Element-wise kernels (LeakyReLU forward and backward) and their launchers.
///
/// Memory traffic: one read and one write per element (backward: two reads, one write); these are
/// bandwidth-bound and use a grid-stride loop so any size launches a bounded grid.

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/nn/activation.hpp"

namespace gatrec::cuda {

namespace kernels {

template <class Scalar>
__global__ void leaky_relu_forward(const Scalar* __restrict__ x, Scalar* __restrict__ y, std::size_t n,
                                   Scalar slope) {
  for (std::size_t k = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    y[k] = ::gatrec::leaky_relu(x[k], slope);
}

template <class Scalar>
__global__ void leaky_relu_backward(const Scalar* __restrict__ x, const Scalar* __restrict__ dy,
                                    Scalar* __restrict__ dx, std::size_t n, Scalar slope) {
  for (std::size_t k = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<std::size_t>(gridDim.x) * blockDim.x)
    dx[k] = dy[k] * ::gatrec::leaky_relu_grad(x[k], slope);
}

}  // namespace kernels

/// Threads per block for element-wise kernels.
inline constexpr int elementwise_block_size = 256;

/// Grid size for a grid-stride loop over n elements: enough blocks to fill the device, no more.
inline int elementwise_grid_size(std::size_t n) {
  const std::size_t blocks = (n + elementwise_block_size - 1) / elementwise_block_size;
  return static_cast<int>(std::min<std::size_t>(std::max<std::size_t>(blocks, 1), 65535));
}

/// y = LeakyReLU(x) on n device elements.
template <class Scalar>
void leaky_relu_forward(const Scalar* x, Scalar* y, std::size_t n, Scalar slope, cudaStream_t stream = nullptr) {
  if (n == 0) return;
  GATREC_EXPECTS(x != nullptr && y != nullptr, "null device pointer");
  launch_kernel(kernels::leaky_relu_forward<Scalar>, {elementwise_grid_size(n), elementwise_block_size, 0, stream}, x,
                y, n, slope);
  GATREC_CUDA_CHECK_LAST();
}

/// dx = dy * LeakyReLU'(x) on n device elements.
template <class Scalar>
void leaky_relu_backward(const Scalar* x, const Scalar* dy, Scalar* dx, std::size_t n, Scalar slope,
                         cudaStream_t stream = nullptr) {
  if (n == 0) return;
  GATREC_EXPECTS(x != nullptr && dy != nullptr && dx != nullptr, "null device pointer");
  launch_kernel(kernels::leaky_relu_backward<Scalar>, {elementwise_grid_size(n), elementwise_block_size, 0, stream}, x,
                dy, dx, n, slope);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
