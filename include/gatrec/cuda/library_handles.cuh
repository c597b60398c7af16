#pragma once

/// @file
/// @brief RAII owners of a cuBLAS and a cuSPARSE handle (created once, bound to a stream per call,
/// destroyed without throwing).

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusparse.h>

#include <utility>

#include "gatrec/cuda/error.cuh"

namespace gatrec::cuda {

/// A cuBLAS handle. Default math mode (strict FP32, no TF32) and no atomics, so products are
/// bit-identical run to run on one device.
class cublas_handle {
 public:
  /// @throw cuda_error when cuBLAS cannot be initialised (no device, no memory)
  cublas_handle() {
    GATREC_CUBLAS_TRY(cublasCreate(&handle_));
    GATREC_CUBLAS_TRY(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));
    GATREC_CUBLAS_TRY(cublasSetAtomicsMode(handle_, CUBLAS_ATOMICS_NOT_ALLOWED));
  }
  cublas_handle(const cublas_handle&) = delete;
  cublas_handle& operator=(const cublas_handle&) = delete;
  cublas_handle(cublas_handle&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
  cublas_handle& operator=(cublas_handle&& o) noexcept {
    if (this != &o) {
      release();
      handle_ = std::exchange(o.handle_, nullptr);
    }
    return *this;
  }
  ~cublas_handle() { release(); }

  cublasHandle_t get() const noexcept { return handle_; }
  /// Routes the following calls to `stream`.
  void set_stream(cudaStream_t stream) { GATREC_CUBLAS_TRY(cublasSetStream(handle_, stream)); }

 private:
  void release() noexcept {
    if (handle_ != nullptr) GATREC_CUDA_ASSERT_NOTHROW(cublasDestroy(handle_));
    handle_ = nullptr;
  }
  cublasHandle_t handle_ = nullptr;
};

/// A cuSPARSE handle.
class cusparse_handle {
 public:
  /// @throw cuda_error when cuSPARSE cannot be initialised
  cusparse_handle() { GATREC_CUSPARSE_TRY(cusparseCreate(&handle_)); }
  cusparse_handle(const cusparse_handle&) = delete;
  cusparse_handle& operator=(const cusparse_handle&) = delete;
  cusparse_handle(cusparse_handle&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)) {}
  cusparse_handle& operator=(cusparse_handle&& o) noexcept {
    if (this != &o) {
      release();
      handle_ = std::exchange(o.handle_, nullptr);
    }
    return *this;
  }
  ~cusparse_handle() { release(); }

  cusparseHandle_t get() const noexcept { return handle_; }
  void set_stream(cudaStream_t stream) { GATREC_CUSPARSE_TRY(cusparseSetStream(handle_, stream)); }

 private:
  void release() noexcept {
    if (handle_ != nullptr) GATREC_CUDA_ASSERT_NOTHROW(cusparseDestroy(handle_));
    handle_ = nullptr;
  }
  cusparseHandle_t handle_ = nullptr;
};

}  // namespace gatrec::cuda
