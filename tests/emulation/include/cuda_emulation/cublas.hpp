#pragma once

/// @file
/// @brief cublasSgemm and cublasSgemv on host memory, with cuBLAS's column-major conventions and
/// the argument checks its documentation lists (so a wrong leading dimension fails here too).

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cuda_emulation/runtime.hpp"

enum cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_MAPPING_ERROR = 11,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_INTERNAL_ERROR = 14,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
  CUBLAS_STATUS_LICENSE_ERROR = 16,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 };
enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0, CUBLAS_PEDANTIC_MATH = 2 };
enum cublasAtomicsMode_t { CUBLAS_ATOMICS_NOT_ALLOWED = 0, CUBLAS_ATOMICS_ALLOWED = 1 };

struct cublasContext {
  cudaStream_t stream = nullptr;
};
using cublasHandle_t = cublasContext*;

inline cublasStatus_t cublasCreate(cublasHandle_t* h) {
  *h = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasDestroy(cublasHandle_t h) {
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t) {
  return h == nullptr ? CUBLAS_STATUS_NOT_INITIALIZED : CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetAtomicsMode(cublasHandle_t h, cublasAtomicsMode_t) {
  return h == nullptr ? CUBLAS_STATUS_NOT_INITIALIZED : CUBLAS_STATUS_SUCCESS;
}

namespace cuda_emulation {
// The column-major matrix a cuBLAS operand of `rows` x `cols` (after op) reads: checks it lies in
// device memory. Element (i, j) of op(X) is X[i + j * ld] for N, X[j + i * ld] for T.
inline bool blas_operand_ok(const float* x, cublasOperation_t op, int rows, int cols, int ld) {
  if (rows == 0 || cols == 0) return true;
  const int stored_rows = op == CUBLAS_OP_N ? rows : cols, stored_cols = op == CUBLAS_OP_N ? cols : rows;
  const std::size_t extent = (static_cast<std::size_t>(stored_cols) - 1) * ld + stored_rows;
  return is_device_range(x, extent * sizeof(float));
}
inline float blas_element(const float* x, cublasOperation_t op, int ld, int i, int j) {
  return op == CUBLAS_OP_N ? x[i + static_cast<std::size_t>(j) * ld] : x[j + static_cast<std::size_t>(i) * ld];
}
inline cublasStatus_t blas_failure(const std::string& why) {
  report(cudaErrorInvalidValue, why);
  runtime().last_error = cudaSuccess;  // a library status, not a runtime error
  return CUBLAS_STATUS_INVALID_VALUE;
}
}  // namespace cuda_emulation

/// C (m x n) = alpha op(A) (m x k) op(B) (k x n) + beta C, all column-major, alpha/beta on the host.
inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const float* alpha, const float* a, int lda, const float* b, int ldb,
                                  const float* beta, float* c, int ldc) {
  using namespace cuda_emulation;
  if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (m < 0 || n < 0 || k < 0) return blas_failure("cublasSgemm: negative size");
  if (lda < std::max(1, ta == CUBLAS_OP_N ? m : k)) return blas_failure("cublasSgemm: lda too small");
  if (ldb < std::max(1, tb == CUBLAS_OP_N ? k : n)) return blas_failure("cublasSgemm: ldb too small");
  if (ldc < std::max(1, m)) return blas_failure("cublasSgemm: ldc too small");
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!blas_operand_ok(c, CUBLAS_OP_N, m, n, ldc)) return blas_failure("cublasSgemm: C is not device memory of m x n at ldc");
  const bool use_ab = k > 0 && *alpha != 0.f;
  if (use_ab && !blas_operand_ok(a, ta, m, k, lda)) return blas_failure("cublasSgemm: A is not device memory of its shape");
  if (use_ab && !blas_operand_ok(b, tb, k, n, ldb)) return blas_failure("cublasSgemm: B is not device memory of its shape");
  if (runtime().sticky_error != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
  ++runtime().activity.library_calls;
  std::vector<double> column(static_cast<std::size_t>(m));
  for (int j = 0; j < n; ++j) {
    std::fill(column.begin(), column.end(), 0.0);
    if (use_ab)
      for (int l = 0; l < k; ++l) {
        const double blj = blas_element(b, tb, ldb, l, j);
        if (blj == 0.0) continue;
        for (int i = 0; i < m; ++i) column[i] += blas_element(a, ta, lda, i, l) * blj;
      }
    for (int i = 0; i < m; ++i) {
      float& cij = c[i + static_cast<std::size_t>(j) * ldc];
      const float prior = *beta == 0.f ? 0.f : *beta * cij;  // beta 0: C is not read (may hold NaN)
      cij = static_cast<float>(*alpha * column[i]) + prior;
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}

/// y = alpha op(A) x + beta y; A is m x n column-major.
inline cublasStatus_t cublasSgemv(cublasHandle_t h, cublasOperation_t ta, int m, int n, const float* alpha,
                                  const float* a, int lda, const float* x, int incx, const float* beta, float* y,
                                  int incy) {
  using namespace cuda_emulation;
  if (h == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (m < 0 || n < 0 || lda < std::max(1, m) || incx == 0 || incy == 0)
    return blas_failure("cublasSgemv: bad size, lda or increment");
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (incx < 0 || incy < 0) return blas_failure("cublasSgemv: negative increments are not emulated");
  const int out = ta == CUBLAS_OP_N ? m : n, in = ta == CUBLAS_OP_N ? n : m;
  if (!blas_operand_ok(a, CUBLAS_OP_N, m, n, lda)) return blas_failure("cublasSgemv: A is not device memory of m x n");
  if (!is_device_range(x, ((static_cast<std::size_t>(in) - 1) * incx + 1) * sizeof(float)))
    return blas_failure("cublasSgemv: x is not device memory of its length");
  if (!is_device_range(y, ((static_cast<std::size_t>(out) - 1) * incy + 1) * sizeof(float)))
    return blas_failure("cublasSgemv: y is not device memory of its length");
  ++runtime().activity.library_calls;
  for (int i = 0; i < out; ++i) {
    double s = 0;
    for (int l = 0; l < in; ++l)
      s += static_cast<double>(ta == CUBLAS_OP_N ? a[i + static_cast<std::size_t>(l) * lda]
                                                 : a[l + static_cast<std::size_t>(i) * lda]) *
           x[static_cast<std::size_t>(l) * incx];
    float& yi = y[static_cast<std::size_t>(i) * incy];
    yi = static_cast<float>(*alpha * s) + (*beta == 0.f ? 0.f : *beta * yi);
  }
  return CUBLAS_STATUS_SUCCESS;
}
