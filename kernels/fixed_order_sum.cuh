#pragma once

/// @file
/// @brief Block-wide reductions whose order of additions is fixed by the thread layout (never by
/// the schedule), so that loss totals and gradient norms give the same bits on every run.

#include <math.h>

namespace gatrec::cuda::kernels {

/// Threads of the one-block reduction kernels.
inline constexpr int fixed_order_sum_threads = 1024;

/// The sum of every thread's `value`, returned to every thread. Call from all Threads threads of
/// the block (a power of two); the block may call it again right after.
template <int Threads>
__device__ __forceinline__ double block_sum_in_fixed_order(double value) {
  __shared__ double partial[Threads];
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int half = Threads / 2; half > 0; half >>= 1) {
    if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  const double total = partial[0];
  __syncthreads();  // everyone has read it before a next call overwrites it
  return total;
}

/// The maximum of every thread's `value`, returned to every thread (same calling rules).
template <int Threads>
__device__ __forceinline__ float block_max(float value) {
  __shared__ float partial[Threads];
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int half = Threads / 2; half > 0; half >>= 1) {
    if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] = fmaxf(partial[threadIdx.x], partial[threadIdx.x + half]);
    __syncthreads();
  }
  const float result = partial[0];
  __syncthreads();
  return result;
}

}  // namespace gatrec::cuda::kernels
