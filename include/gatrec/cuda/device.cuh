#pragma once

/// @file
/// @brief Device discovery: lets tests and programs fall back to the CPU when no GPU is present.

#include <cuda_runtime_api.h>

namespace gatrec::cuda {

/// Number of usable CUDA devices; 0 when there is no driver or no device (never throws).
inline int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" status
    return 0;
  }
  return n;
}

/// True when at least one CUDA device can be used.
inline bool has_device() noexcept { return device_count() > 0; }

}  // namespace gatrec::cuda
