#pragma once

/// @file
/// @brief Block-wide reductions whose order of additions is fixed by the thread layout (never by
/// the schedule), so that loss totals and gradient norms give the same bits on every run.

#include <math.h>

namespace gatrec::cuda::kernels {

/// Threads of the one-block reduction kernels.
inline constexpr int fixed_order_sum_threads = 1024;

/// op-reduction of every thread's `value` over the block, returned to every thread; the tree
/// (strides Threads/2, Threads/4, ... 1) fixes the order of the operations. Call from all Threads
/// threads of the block (a power of two); the block may call it again right after.
template <int Threads, class T, class Op>
__device__ __forceinline__ T block_reduce_in_fixed_order(T value, Op op) {
  __shared__ T partial[Threads];
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int half = Threads / 2; half > 0; half >>= 1) {
    if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] = op(partial[threadIdx.x], partial[threadIdx.x + half]);
    __syncthreads();
  }
  const T result = partial[0];
  __syncthreads();  // everyone has read it before a next call overwrites it
  return result;
}

template <int Threads>
__device__ __forceinline__ double block_sum_in_fixed_order(double value) {
  return block_reduce_in_fixed_order<Threads>(value, [](double a, double b) { return a + b; });
}

template <int Threads>
__device__ __forceinline__ float block_max(float value) {
  return block_reduce_in_fixed_order<Threads>(value, [](float a, float b) { return fmaxf(a, b); });
}

}  // namespace gatrec::cuda::kernels
