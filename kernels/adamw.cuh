#pragma once

/// @file
/// @brief AdamW on device parameters: one element-wise pass per parameter tensor (value, gradient
/// and both moments read once, value and moments written once), arithmetic in
/// train/adamw_update.hpp, shared with its CPU check. Global gradient norm for clipping: per-tensor
/// sums of squares reduced in a fixed order.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "elementwise.cuh"
#include "fixed_order_sum.cuh"
#include "gatrec/core/error.hpp"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/train/adamw_update.hpp"

namespace gatrec::cuda {

namespace kernels {

__global__ void adamw_kernel(float* __restrict__ value, const float* __restrict__ grad, float* __restrict__ m,
                             float* __restrict__ v, std::size_t n, adamw_step_constants c, bool decay,
                             float grad_scale) {
  for (std::size_t k = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    float x = value[k], mk = m[k], vk = v[k];
    adamw_update(x, grad[k] * grad_scale, mk, vk, c, decay);
    value[k] = x;
    m[k] = mk;
    v[k] = vk;
  }
}

/// out = sum of x[k]^2 in double, one block: strided runs per thread, then the fixed-order tree.
__global__ void __launch_bounds__(fixed_order_sum_threads)
    sum_of_squares_kernel(const float* __restrict__ x, std::size_t n, double* __restrict__ out) {
  double s = 0.0;
  for (std::size_t k = threadIdx.x; k < n; k += fixed_order_sum_threads)
    s += static_cast<double>(x[k]) * static_cast<double>(x[k]);
  const double total = block_sum_in_fixed_order<fixed_order_sum_threads>(s);
  if (threadIdx.x == 0) *out = total;
}

}  // namespace kernels

/// One AdamW update of n elements; the gradient is multiplied by grad_scale first (clipping).
inline void launch_adamw(float* value, const float* grad, float* m, float* v, std::size_t n,
                         const adamw_step_constants& c, bool decay, float grad_scale, cudaStream_t stream = nullptr) {
  if (n == 0) return;
  launch_kernel(kernels::adamw_kernel, {elementwise_grid_size(n), elementwise_block_size, 0, stream}, value, grad, m, v,
                n, c, decay, grad_scale);
  GATREC_CUDA_CHECK_LAST();
}

/// *out (device) = sum of squares of n device floats.
inline void launch_sum_of_squares(const float* x, std::size_t n, double* out, cudaStream_t stream = nullptr) {
  launch_kernel(kernels::sum_of_squares_kernel, {1, kernels::fixed_order_sum_threads, 0, stream}, x, n, out);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
