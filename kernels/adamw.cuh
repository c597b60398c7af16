#pragma once

/// @file
/// @brief AdamW on device parameters: one launch for every parameter tensor (value, gradient and
/// both moments read once, value and moments written once; blocks take chunks of the tensors from
/// a device table, so a model of 31 tensors costs one launch, not 31), arithmetic in
/// train/adamw_update.hpp, shared with its CPU check. Global gradient norm for clipping: per-tensor
/// sums of squares reduced in a fixed order, and the clipping factor, all on the device, so a step
/// that clips does not wait for the host.

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "elementwise.cuh"
#include "fixed_order_sum.cuh"
#include "gatrec/core/error.hpp"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/train/adamw_update.hpp"

namespace gatrec::cuda {

/// One tensor of a multi-tensor AdamW step: n elements of value, gradient and both moments.
struct adamw_tensor {
  float* value = nullptr;
  const float* grad = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  std::size_t n = 0;
  bool decay = true;  ///< the parameter's weight-decay flag
};

/// A block's share of a step: elements [begin, end) of tensors[tensor].
struct adamw_chunk {
  int tensor = 0;
  std::size_t begin = 0, end = 0;
};

/// Elements a block updates (its chunk), so a large tensor spreads over many blocks and a bias of
/// a few elements takes one.
inline constexpr std::size_t adamw_chunk_elements = 2048;

namespace kernels {

/// The update of every tensor in one launch, a chunk a block; the gradient is first multiplied by
/// *grad_scale (the clipping factor, computed on the device) when grad_scale is not null. Each
/// element sees exactly what a per-tensor pass would do (train/adamw_update.hpp).
__global__ void adamw_multi_tensor_kernel(const adamw_tensor* __restrict__ tensors,
                                          const adamw_chunk* __restrict__ chunks, adamw_step_constants c,
                                          bool decays, const float* __restrict__ grad_scale) {
  const adamw_chunk ch = chunks[blockIdx.x];
  const adamw_tensor t = tensors[ch.tensor];
  const float scale = grad_scale != nullptr ? *grad_scale : 1.0f;
  const bool decay = decays && t.decay;
  for (std::size_t k = ch.begin + threadIdx.x; k < ch.end; k += blockDim.x) {
    float x = t.value[k], mk = t.m[k], vk = t.v[k];
    adamw_update(x, t.grad[k] * scale, mk, vk, c, decay);
    t.value[k] = x;
    t.m[k] = mk;
    t.v[k] = vk;
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

/// The chunks of a multi-tensor step over tensors of these sizes, in tensor order (empty tensors
/// take none).
inline std::vector<adamw_chunk> adamw_chunks(const std::vector<std::size_t>& sizes) {
  std::vector<adamw_chunk> chunks;
  for (std::size_t b = 0; b < sizes.size(); ++b)
    for (std::size_t begin = 0; begin < sizes[b]; begin += adamw_chunk_elements)
      chunks.push_back({static_cast<int>(b), begin, std::min(sizes[b], begin + adamw_chunk_elements)});
  return chunks;
}

/// One AdamW update of every tensor (device tables of `num_chunks` chunks over `tensors`); the
/// gradients are multiplied by *grad_scale (device) first when grad_scale is not null (clipping).
inline void launch_adamw(const adamw_tensor* tensors, const adamw_chunk* chunks, std::size_t num_chunks,
                         const adamw_step_constants& c, bool decays, const float* grad_scale,
                         cudaStream_t stream = nullptr) {
  if (num_chunks == 0) return;
  GATREC_EXPECTS(num_chunks <= 0x7fffffffu, "too many AdamW chunks for one grid");
  const launch_shape shape{static_cast<unsigned>(num_chunks), elementwise_block_size, 0, stream};
  launch_kernel(kernels::adamw_multi_tensor_kernel, shape, tensors, chunks, c, decays, grad_scale);
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
