#pragma once

/// @file
/// @brief gatrec::cuda::launch_kernel, the one place where kernels are launched.
///
/// Every launch goes through this function rather than a `<<<...>>>` at the call site, so that the
/// tests' CPU emulator of the CUDA runtime (tests/emulation) can run the very same host code and
/// kernels on a machine without a GPU: under nvcc this is the triple-chevron launch; compiled by a
/// host compiler against the emulator's headers it hands the kernel to the emulator.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

namespace gatrec::cuda {

/// Grid, block, dynamic shared memory and stream of one launch.
struct launch_shape {
  dim3 grid;
  dim3 block;
  std::size_t shared_bytes = 0;
  cudaStream_t stream = nullptr;
};

/// Launches `kernel(args...)` with `shape`; check the result with GATREC_CUDA_CHECK_LAST().
template <class... Params, class... Args>
void launch_kernel(void (*kernel)(Params...), const launch_shape& shape, Args&&... args) {
#if defined(__CUDACC__)
  kernel<<<shape.grid, shape.block, shape.shared_bytes, shape.stream>>>(std::forward<Args>(args)...);
#else
  ::cuda_emulation::launch(kernel, shape.grid, shape.block, shape.shared_bytes, shape.stream,
                           std::forward<Args>(args)...);
#endif
}

}  // namespace gatrec::cuda
