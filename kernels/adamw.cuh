#pragma once

/// @file
/// @brief AdamW on device parameters: one element-wise pass per parameter tensor (value, gradient
/// and both moments read once, value and moments written once), arithmetic in
/// train/adamw_update.hpp, shared with its CPU check. Global gradient norm for clipping: per-tensor
/// sums of squares reduced in a fixed order, and the clipping factor, all on the device, so a step
/// that clips does not wait for the host.

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

/// The update; the gradient is first multiplied by *grad_scale (the clipping factor, computed on
/// the device) when grad_scale is not null.
__global__ void adamw_kernel(float* __restrict__ value, const float* __restrict__ grad, float* __restrict__ m,
                             float* __restrict__ v, std::size_t n, adamw_step_constants c, bool decay,
                             const float* __restrict__ grad_scale) {
  const float scale = grad_scale != nullptr ? *grad_scale : 1.0f;
  for (std::size_t k = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    float x = value[k], mk = m[k], vk = v[k];
    adamw_update(x, grad[k] * scale, mk, vk, c, decay);
    value[k] = x;
    m[k] = mk;
    v[k] = vk;
  }
}

/// out[b] = sum of x_b[k]^2 in double for tensor b = blockIdx.x (x[b], n[b]), one block a tensor:
/// strided runs per thread, then the fixed-order tree.
__global__ void __launch_bounds__(fixed_order_sum_threads)
    sum_of_squares_kernel(const float* const* __restrict__ x, const std::size_t* __restrict__ n,
                          double* __restrict__ out) {
  const float* xb = x[blockIdx.x];
  const std::size_t nb = n[blockIdx.x];
  double s = 0.0;
  for (std::size_t k = threadIdx.x; k < nb; k += fixed_order_sum_threads)
    s += static_cast<double>(xb[k]) * static_cast<double>(xb[k]);
  const double total = block_sum_in_fixed_order<fixed_order_sum_threads>(s);
  if (threadIdx.x == 0) out[blockIdx.x] = total;
}

/// The global norm sqrt(sum_b squares[b]) (b in order, as clip_gradient_norm adds) into *norm, and
/// the factor clip_gradient_norm scales by (1 unless the norm exceeds max_norm) into *scale. One
/// thread: a handful of tensors.
__global__ void clip_scale_kernel(const double* __restrict__ squares, int count, double max_norm,
                                  double* __restrict__ norm, float* __restrict__ scale) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  double total = 0.0;
  for (int b = 0; b < count; ++b) total += squares[b];
  const double n = sqrt(total);
  *norm = n;
  *scale = n > max_norm ? static_cast<float>(max_norm / (n + 1e-6)) : 1.0f;
}

}  // namespace kernels

/// One AdamW update of n elements; the gradient is multiplied by *grad_scale (device) first when
/// grad_scale is not null (clipping).
inline void launch_adamw(float* value, const float* grad, float* m, float* v, std::size_t n,
                         const adamw_step_constants& c, bool decay, const float* grad_scale,
                         cudaStream_t stream = nullptr) {
  if (n == 0) return;
  launch_kernel(kernels::adamw_kernel, {elementwise_grid_size(n), elementwise_block_size, 0, stream}, value, grad, m, v,
                n, c, decay, grad_scale);
  GATREC_CUDA_CHECK_LAST();
}

/// out[b] (device) = sum of squares of tensor b (x[b]: n[b] device floats; x and n device arrays),
/// for b < count, in one launch.
inline void launch_sum_of_squares(const float* const* x, const std::size_t* n, int count, double* out,
                                  cudaStream_t stream = nullptr) {
  if (count == 0) return;
  const launch_shape shape{static_cast<unsigned>(count), kernels::fixed_order_sum_threads, 0, stream};
  launch_kernel(kernels::sum_of_squares_kernel, shape, x, n, out);
  GATREC_CUDA_CHECK_LAST();
}

/// *norm = sqrt(sum of squares[0..count)), *scale = the clipping factor for max_norm (device).
inline void launch_clip_scale(const double* squares, int count, double max_norm, double* norm, float* scale,
                              cudaStream_t stream = nullptr) {
  launch_kernel(kernels::clip_scale_kernel, {1, 1, 0, stream}, squares, count, max_norm, norm, scale);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
