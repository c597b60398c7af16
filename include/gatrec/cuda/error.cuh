#pragma once

/// @file
/// @brief cuda_error and the GATREC_*_TRY macros that turn CUDA, cuBLAS and cuSPARSE status codes
/// into exceptions naming the call site and the library's error name.

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusparse.h>

#include <string>

#include "gatrec/core/error.hpp"

namespace gatrec {

/// A CUDA runtime or CUDA library call failed.
class cuda_error : public error {
 public:
  using error::error;
};

namespace cuda::detail {

[[noreturn]] inline void throw_cuda_error(const char* what, const char* name, const char* file, int line) {
  throw cuda_error(std::string(file) + ":" + std::to_string(line) + ": " + what + " failed: " + name);
}

inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

}  // namespace cuda::detail
}  // namespace gatrec

/// Throws gatrec::cuda_error when a CUDA runtime call does not return cudaSuccess.
#define GATREC_CUDA_TRY(call)                                                                       \
  do {                                                                                              \
    const cudaError_t gatrec_status_ = (call);                                                      \
    if (gatrec_status_ != cudaSuccess)                                                              \
      ::gatrec::cuda::detail::throw_cuda_error(#call, cudaGetErrorName(gatrec_status_), __FILE__, __LINE__); \
  } while (0)

/// Checks the last launch (call right after launch_kernel).
#define GATREC_CUDA_CHECK_LAST() GATREC_CUDA_TRY(cudaGetLastError())

/// Throws gatrec::cuda_error when a cuBLAS call fails.
#define GATREC_CUBLAS_TRY(call)                                                                     \
  do {                                                                                              \
    const cublasStatus_t gatrec_status_ = (call);                                                   \
    if (gatrec_status_ != CUBLAS_STATUS_SUCCESS)                                                    \
      ::gatrec::cuda::detail::throw_cuda_error(#call, ::gatrec::cuda::detail::cublas_status_name(gatrec_status_), \
                                               __FILE__, __LINE__);                                 \
  } while (0)

/// Throws gatrec::cuda_error when a cuSPARSE call fails.
#define GATREC_CUSPARSE_TRY(call)                                                                   \
  do {                                                                                              \
    const cusparseStatus_t gatrec_status_ = (call);                                                 \
    if (gatrec_status_ != CUSPARSE_STATUS_SUCCESS)                                                  \
      ::gatrec::cuda::detail::throw_cuda_error(#call, cusparseGetErrorName(gatrec_status_), __FILE__, __LINE__); \
  } while (0)

/// For destructors, which must not throw: ignores the status.
#define GATREC_CUDA_ASSERT_NOTHROW(call) static_cast<void>(call)
