#pragma once

/// @file
/// @brief A sum over one thread block whose order of additions is fixed by the thread layout
/// (never by the schedule), so that reductions such as loss totals and gradient norms give the
/// same bits on every run.

namespace gatrec::cuda::kernels {

/// Threads of the blocks that call block_sum_in_fixed_order (a power of two).
inline constexpr int fixed_order_sum_threads = 1024;

/// The sum of every thread's `value`, returned to thread 0 (other threads get an unspecified
/// value). Call from every thread of a block of fixed_order_sum_threads threads.
__device__ __forceinline__ double block_sum_in_fixed_order(double value) {
  __shared__ double partial[fixed_order_sum_threads];
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int half = fixed_order_sum_threads / 2; half > 0; half >>= 1) {
    if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  return partial[0];
}

}  // namespace gatrec::cuda::kernels
