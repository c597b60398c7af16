#pragma once

/// @file
/// @brief The generic cuSPARSE API the library baseline calls (CSR SpMM, SDDMM, SpMV with 32-bit
/// indices and float values), on host memory, with the shape checks cuSPARSE documents.

#include <cstdint>
#include <string>
#include <vector>

#include "cuda_emulation/runtime.hpp"

enum cusparseStatus_t {
  CUSPARSE_STATUS_SUCCESS = 0,
  CUSPARSE_STATUS_NOT_INITIALIZED = 1,
  CUSPARSE_STATUS_ALLOC_FAILED = 2,
  CUSPARSE_STATUS_INVALID_VALUE = 3,
  CUSPARSE_STATUS_ARCH_MISMATCH = 4,
  CUSPARSE_STATUS_EXECUTION_FAILED = 6,
  CUSPARSE_STATUS_INTERNAL_ERROR = 7,
  CUSPARSE_STATUS_NOT_SUPPORTED = 10,
};
enum cusparseOperation_t {
  CUSPARSE_OPERATION_NON_TRANSPOSE = 0,
  CUSPARSE_OPERATION_TRANSPOSE = 1,
  CUSPARSE_OPERATION_CONJUGATE_TRANSPOSE = 2
};
enum cusparseOrder_t { CUSPARSE_ORDER_COL = 1, CUSPARSE_ORDER_ROW = 2 };
enum cusparseIndexType_t { CUSPARSE_INDEX_32I = 2, CUSPARSE_INDEX_64I = 3 };
enum cusparseIndexBase_t { CUSPARSE_INDEX_BASE_ZERO = 0, CUSPARSE_INDEX_BASE_ONE = 1 };
enum cudaDataType { CUDA_R_32F = 0, CUDA_R_64F = 1 };
enum cusparseSpMMAlg_t { CUSPARSE_SPMM_ALG_DEFAULT = 0 };
enum cusparseSDDMMAlg_t { CUSPARSE_SDDMM_ALG_DEFAULT = 0 };
enum cusparseSpMVAlg_t { CUSPARSE_SPMV_ALG_DEFAULT = 0 };

struct cusparseContext {
  cudaStream_t stream = nullptr;
};
using cusparseHandle_t = cusparseContext*;

struct cusparseSpMatDescr {
  std::int64_t rows, cols, nnz;
  const std::int32_t* offsets;
  const std::int32_t* columns;
  float* values;
};
struct cusparseDnMatDescr {
  std::int64_t rows, cols, ld;
  float* values;
  cusparseOrder_t order;
  float& at(std::int64_t i, std::int64_t j) const { return order == CUSPARSE_ORDER_ROW ? values[i * ld + j] : values[j * ld + i]; }
};
struct cusparseDnVecDescr {
  std::int64_t size;
  float* values;
};
using cusparseSpMatDescr_t = cusparseSpMatDescr*;
using cusparseDnMatDescr_t = cusparseDnMatDescr*;
using cusparseDnVecDescr_t = cusparseDnVecDescr*;

inline const char* cusparseGetErrorName(cusparseStatus_t s) {
  switch (s) {
    case CUSPARSE_STATUS_SUCCESS: return "CUSPARSE_STATUS_SUCCESS";
    case CUSPARSE_STATUS_NOT_INITIALIZED: return "CUSPARSE_STATUS_NOT_INITIALIZED";
    case CUSPARSE_STATUS_ALLOC_FAILED: return "CUSPARSE_STATUS_ALLOC_FAILED";
    case CUSPARSE_STATUS_INVALID_VALUE: return "CUSPARSE_STATUS_INVALID_VALUE";
    case CUSPARSE_STATUS_ARCH_MISMATCH: return "CUSPARSE_STATUS_ARCH_MISMATCH";
    case CUSPARSE_STATUS_EXECUTION_FAILED: return "CUSPARSE_STATUS_EXECUTION_FAILED";
    case CUSPARSE_STATUS_INTERNAL_ERROR: return "CUSPARSE_STATUS_INTERNAL_ERROR";
    case CUSPARSE_STATUS_NOT_SUPPORTED: return "CUSPARSE_STATUS_NOT_SUPPORTED";
  }
  return "CUSPARSE_STATUS_UNKNOWN";
}

namespace cuda_emulation {
inline cusparseStatus_t sparse_failure(const std::string& why) {
  report(cudaErrorInvalidValue, why);
  runtime().last_error = cudaSuccess;  // a library status, not a runtime error
  return CUSPARSE_STATUS_INVALID_VALUE;
}
inline bool dense_ok(const cusparseDnMatDescr& m) {
  const std::int64_t inner = m.order == CUSPARSE_ORDER_ROW ? m.cols : m.rows;
  const std::int64_t outer = m.order == CUSPARSE_ORDER_ROW ? m.rows : m.cols;
  if (m.ld < inner) return false;
  return m.rows == 0 || m.cols == 0 || is_device_range(m.values, ((outer - 1) * m.ld + inner) * sizeof(float));
}
// The product op(A) op(B) of two generic-API operands: its sides m x k and k x n; `supported` is
// false for what the emulation leaves out (conjugates, other types), `ok` false when k differs.
struct product_shape {
  bool supported = false, ok = false, ta = false, tb = false;
  std::int64_t m = 0, k = 0, n = 0;
};
inline product_shape shape_of_product(cusparseOperation_t op_a, std::int64_t a_rows, std::int64_t a_cols,
                                      cusparseOperation_t op_b, std::int64_t b_rows, std::int64_t b_cols,
                                      cudaDataType type) {
  product_shape s;
  s.supported = type == CUDA_R_32F && op_a != CUSPARSE_OPERATION_CONJUGATE_TRANSPOSE &&
                op_b != CUSPARSE_OPERATION_CONJUGATE_TRANSPOSE;
  s.ta = op_a == CUSPARSE_OPERATION_TRANSPOSE;
  s.tb = op_b == CUSPARSE_OPERATION_TRANSPOSE;
  s.m = s.ta ? a_cols : a_rows;
  s.k = s.ta ? a_rows : a_cols;
  s.n = s.tb ? b_rows : b_cols;
  s.ok = (s.tb ? b_cols : b_rows) == s.k;
  return s;
}
// Element (i, j) of op(A) for a CSR matrix, by visiting A's rows: calls f(i, j, value).
template <class F>
void for_each_csr(const cusparseSpMatDescr& a, F&& f) {
  for (std::int64_t r = 0; r < a.rows; ++r)
    for (std::int32_t e = a.offsets[r]; e < a.offsets[r + 1]; ++e) f(r, a.columns[e], e);
}
}  // namespace cuda_emulation

inline cusparseStatus_t cusparseCreate(cusparseHandle_t* h) {
  *h = new cusparseContext;
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseDestroy(cusparseHandle_t h) {
  delete h;
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseSetStream(cusparseHandle_t h, cudaStream_t s) {
  if (h == nullptr) return CUSPARSE_STATUS_NOT_INITIALIZED;
  h->stream = s;
  return CUSPARSE_STATUS_SUCCESS;
}

inline cusparseStatus_t cusparseCreateCsr(cusparseSpMatDescr_t* d, std::int64_t rows, std::int64_t cols, std::int64_t nnz,
                                          void* offsets, void* columns, void* values, cusparseIndexType_t offset_type,
                                          cusparseIndexType_t column_type, cusparseIndexBase_t base, cudaDataType type) {
  using namespace cuda_emulation;
  if (offset_type != CUSPARSE_INDEX_32I || column_type != CUSPARSE_INDEX_32I || base != CUSPARSE_INDEX_BASE_ZERO ||
      type != CUDA_R_32F)
    return CUSPARSE_STATUS_NOT_SUPPORTED;
  if (rows < 0 || cols < 0 || nnz < 0) return sparse_failure("cusparseCreateCsr: negative size");
  if (!is_device_range(offsets, (rows + 1) * sizeof(std::int32_t)) ||
      (nnz > 0 && (!is_device_range(columns, nnz * sizeof(std::int32_t)) || !is_device_range(values, nnz * sizeof(float)))))
    return sparse_failure("cusparseCreateCsr: offsets, columns or values are not device memory of their length");
  *d = new cusparseSpMatDescr{rows, cols, nnz, static_cast<const std::int32_t*>(offsets),
                              static_cast<const std::int32_t*>(columns), static_cast<float*>(values)};
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseDestroySpMat(cusparseSpMatDescr_t d) {
  delete d;
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseCreateDnMat(cusparseDnMatDescr_t* d, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                                            void* values, cudaDataType type, cusparseOrder_t order) {
  if (type != CUDA_R_32F) return CUSPARSE_STATUS_NOT_SUPPORTED;
  *d = new cusparseDnMatDescr{rows, cols, ld, static_cast<float*>(values), order};
  if (!cuda_emulation::dense_ok(**d)) {
    delete *d;
    return cuda_emulation::sparse_failure("cusparseCreateDnMat: ld too small or values not device memory of the shape");
  }
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseDestroyDnMat(cusparseDnMatDescr_t d) {
  delete d;
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseCreateDnVec(cusparseDnVecDescr_t* d, std::int64_t size, void* values, cudaDataType type) {
  if (type != CUDA_R_32F) return CUSPARSE_STATUS_NOT_SUPPORTED;
  if (size > 0 && !cuda_emulation::is_device_range(values, size * sizeof(float)))
    return cuda_emulation::sparse_failure("cusparseCreateDnVec: values are not device memory of the size");
  *d = new cusparseDnVecDescr{size, static_cast<float*>(values)};
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseDestroyDnVec(cusparseDnVecDescr_t d) {
  delete d;
  return CUSPARSE_STATUS_SUCCESS;
}

/// C = alpha op(A) op(B) + beta C (A sparse CSR, B and C dense).
inline cusparseStatus_t cusparseSpMM(cusparseHandle_t h, cusparseOperation_t op_a, cusparseOperation_t op_b,
                                     const void* alpha, cusparseSpMatDescr_t a, cusparseDnMatDescr_t b,
                                     const void* beta, cusparseDnMatDescr_t c, cudaDataType type, cusparseSpMMAlg_t,
                                     void*) {
  using namespace cuda_emulation;
  if (h == nullptr) return CUSPARSE_STATUS_NOT_INITIALIZED;
  const product_shape s = shape_of_product(op_a, a->rows, a->cols, op_b, b->rows, b->cols, type);
  if (!s.supported) return CUSPARSE_STATUS_NOT_SUPPORTED;
  if (!s.ok || c->rows != s.m || c->cols != s.n) return sparse_failure("cusparseSpMM: shapes of A, B and C do not agree");
  ++runtime().activity.library_calls;
  const bool ta = s.ta, tb = s.tb;
  const std::int64_t m = s.m, n = s.n;
  const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
  std::vector<double> acc(static_cast<std::size_t>(m * n), 0.0);
  for_each_csr(*a, [&](std::int64_t r, std::int64_t col, std::int32_t e) {
    const std::int64_t i = ta ? col : r, l = ta ? r : col;
    for (std::int64_t j = 0; j < n; ++j) acc[i * n + j] += static_cast<double>(a->values[e]) * (tb ? b->at(j, l) : b->at(l, j));
  });
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      float& cij = c->at(i, j);
      cij = static_cast<float>(al * acc[i * n + j]) + (be == 0.f ? 0.f : be * cij);
    }
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseSpMM_bufferSize(cusparseHandle_t h, cusparseOperation_t, cusparseOperation_t,
                                                const void*, cusparseSpMatDescr_t, cusparseDnMatDescr_t, const void*,
                                                cusparseDnMatDescr_t, cudaDataType, cusparseSpMMAlg_t, std::size_t* size) {
  if (h == nullptr) return CUSPARSE_STATUS_NOT_INITIALIZED;
  *size = 0;
  return CUSPARSE_STATUS_SUCCESS;
}

/// C = alpha (op(A) op(B)) on C's pattern + beta C (A, B dense, C sparse CSR).
inline cusparseStatus_t cusparseSDDMM(cusparseHandle_t h, cusparseOperation_t op_a, cusparseOperation_t op_b,
                                      const void* alpha, cusparseDnMatDescr_t a, cusparseDnMatDescr_t b,
                                      const void* beta, cusparseSpMatDescr_t c, cudaDataType type, cusparseSDDMMAlg_t,
                                      void*) {
  using namespace cuda_emulation;
  if (h == nullptr) return CUSPARSE_STATUS_NOT_INITIALIZED;
  const product_shape s = shape_of_product(op_a, a->rows, a->cols, op_b, b->rows, b->cols, type);
  if (!s.supported) return CUSPARSE_STATUS_NOT_SUPPORTED;
  if (!s.ok || c->rows != s.m || c->cols != s.n) return sparse_failure("cusparseSDDMM: shapes of A, B and C do not agree");
  ++runtime().activity.library_calls;
  const bool ta = s.ta, tb = s.tb;
  const std::int64_t k = s.k;
  const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
  for_each_csr(*c, [&](std::int64_t i, std::int64_t j, std::int32_t e) {
    double s = 0;
    for (std::int64_t l = 0; l < k; ++l)
      s += static_cast<double>(ta ? a->at(l, i) : a->at(i, l)) * (tb ? b->at(j, l) : b->at(l, j));
    c->values[e] = static_cast<float>(al * s) + (be == 0.f ? 0.f : be * c->values[e]);
  });
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseSDDMM_bufferSize(cusparseHandle_t h, cusparseOperation_t, cusparseOperation_t,
                                                 const void*, cusparseDnMatDescr_t, cusparseDnMatDescr_t, const void*,
                                                 cusparseSpMatDescr_t, cudaDataType, cusparseSDDMMAlg_t, std::size_t* size) {
  if (h == nullptr) return CUSPARSE_STATUS_NOT_INITIALIZED;
  *size = 0;
  return CUSPARSE_STATUS_SUCCESS;
}

/// y = alpha op(A) x + beta y (A sparse CSR).
inline cusparseStatus_t cusparseSpMV(cusparseHandle_t h, cusparseOperation_t op_a, const void* alpha,
                                     cusparseSpMatDescr_t a, cusparseDnVecDescr_t x, const void* beta,
                                     cusparseDnVecDescr_t y, cudaDataType type, cusparseSpMVAlg_t, void*) {
  using namespace cuda_emulation;
  if (h == nullptr) return CUSPARSE_STATUS_NOT_INITIALIZED;
  if (type != CUDA_R_32F || op_a == CUSPARSE_OPERATION_CONJUGATE_TRANSPOSE) return CUSPARSE_STATUS_NOT_SUPPORTED;
  const bool ta = op_a == CUSPARSE_OPERATION_TRANSPOSE;
  const std::int64_t m = ta ? a->cols : a->rows, k = ta ? a->rows : a->cols;
  if (x->size != k || y->size != m) return sparse_failure("cusparseSpMV: sizes of A, x and y do not agree");
  const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
  ++runtime().activity.library_calls;
  std::vector<double> acc(static_cast<std::size_t>(m), 0.0);
  for_each_csr(*a, [&](std::int64_t r, std::int64_t col, std::int32_t e) {
    if (ta)
      acc[col] += static_cast<double>(a->values[e]) * x->values[r];
    else
      acc[r] += static_cast<double>(a->values[e]) * x->values[col];
  });
  for (std::int64_t i = 0; i < m; ++i) y->values[i] = static_cast<float>(al * acc[i]) + (be == 0.f ? 0.f : be * y->values[i]);
  return CUSPARSE_STATUS_SUCCESS;
}
inline cusparseStatus_t cusparseSpMV_bufferSize(cusparseHandle_t h, cusparseOperation_t, const void*,
                                                cusparseSpMatDescr_t, cusparseDnVecDescr_t, const void*,
                                                cusparseDnVecDescr_t, cudaDataType, cusparseSpMVAlg_t, std::size_t* size) {
  if (h == nullptr) return CUSPARSE_STATUS_NOT_INITIALIZED;
  *size = 0;
  return CUSPARSE_STATUS_SUCCESS;
}
