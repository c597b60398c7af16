#pragma once

/// @file
/// @brief Row-major products and reductions through cuBLAS (which is column-major).
///
/// A row-major (r x c) matrix with leading dimension ld is, read column-major, its (c x r)
/// transpose with the same ld. So row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T:
/// one cublasSgemm with the operands swapped and the same transpose flags.

#include <cublas_v2.h>

#include <cstdint>
#include <limits>
#include <string>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/library_handles.cuh"

#include "dense.cuh"

namespace gatrec::cuda {

namespace detail {
inline int blas_int(std::int64_t v, const char* what) {
  GATREC_EXPECTS(v >= 0 && v <= std::numeric_limits<int>::max(),
                 std::string(what) + " = " + std::to_string(v) + " does not fit cuBLAS's int");
  return static_cast<int>(v);
}
}  // namespace detail

/// Row-major C (m x n, ldc) = alpha op(A) op(B) + beta C, with op(A) (m x k) and op(B) (k x n);
/// lda, ldb are the row strides of A and B as stored.
inline void gemm_row_major(cublas_handle& h, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                           std::int64_t k, float alpha, const float* a, std::int64_t lda, const float* b,
                           std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  GATREC_CUBLAS_TRY(cublasSgemm(h.get(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                detail::blas_int(n, "n"), detail::blas_int(m, "m"), detail::blas_int(k, "k"), &alpha,
                                b, detail::blas_int(ldb, "ldb"), a, detail::blas_int(lda, "lda"), &beta, c,
                                detail::blas_int(ldc, "ldc")));
}

/// c = a b (+ c when accumulate). c is resized unless accumulating.
inline void matmul(cublas_handle& h, const device_matrix& a, const device_matrix& b, device_matrix& c,
                   bool accumulate = false) {
  GATREC_EXPECTS(a.cols() == b.rows(), "inner dimensions differ");
  if (accumulate)
    expect_shape(c, a.rows(), b.cols(), "accumulator");
  else
    c.resize(a.rows(), b.cols());
  gemm_row_major(h, false, false, a.rows(), b.cols(), a.cols(), 1.f, a.data(), a.cols(), b.data(), b.cols(),
                 accumulate ? 1.f : 0.f, c.data(), c.cols());
}

/// c += a^T b (a reduction over rows; how weight gradients accumulate).
inline void accumulate_at_b(cublas_handle& h, const device_matrix& a, const device_matrix& b, device_matrix& c) {
  GATREC_EXPECTS(a.rows() == b.rows(), "row counts differ");
  expect_shape(c, a.cols(), b.cols(), "accumulator");
  gemm_row_major(h, true, false, a.cols(), b.cols(), a.rows(), 1.f, a.data(), a.cols(), b.data(), b.cols(), 1.f,
                 c.data(), c.cols());
}

/// c += a b^T (how input gradients accumulate: dX += dZ W^T).
inline void accumulate_a_bt(cublas_handle& h, const device_matrix& a, const device_matrix& b, device_matrix& c) {
  GATREC_EXPECTS(a.cols() == b.cols(), "inner dimensions differ");
  expect_shape(c, a.rows(), b.rows(), "accumulator");
  gemm_row_major(h, false, true, a.rows(), b.rows(), a.cols(), 1.f, a.data(), a.cols(), b.data(), b.cols(), 1.f,
                 c.data(), c.cols());
}

/// out[c] += sum over rows r < rows of w[r * w_stride] a[r * lda + c], c < cols: a weighted sum of
/// rows (w = ones gives column sums). cublasSgemv on the column-major view of a.
inline void accumulate_weighted_row_sum(cublas_handle& h, const float* a, std::int64_t rows, std::int64_t cols,
                                        std::int64_t lda, const float* w, std::int64_t w_stride, float* out) {
  if (rows == 0 || cols == 0) return;
  const float one = 1.f;
  GATREC_CUBLAS_TRY(cublasSgemv(h.get(), CUBLAS_OP_N, detail::blas_int(cols, "cols"), detail::blas_int(rows, "rows"),
                                &one, a, detail::blas_int(lda, "lda"), w, detail::blas_int(w_stride, "w_stride"), &one,
                                out, 1));
}

/// A device vector of ones, grown on demand (for column sums through gemv).
class ones_vector {
 public:
  /// A pointer to at least n ones.
  const float* get(std::int64_t n, cudaStream_t stream = nullptr) {
    if (static_cast<std::int64_t>(buffer_.size()) < n) {
      buffer_.resize(static_cast<std::size_t>(n));
      fill(buffer_.data(), n, 1.f, stream);
    }
    return buffer_.data();
  }

 private:
  device_buffer<float> buffer_;
};

/// out[c] += sum_r a[r, c] for a row-major device matrix.
inline void accumulate_column_sums(cublas_handle& h, ones_vector& ones, const device_matrix& a, float* out,
                                   cudaStream_t stream = nullptr) {
  accumulate_weighted_row_sum(h, a.data(), a.rows(), a.cols(), a.cols(), ones.get(a.rows(), stream), 1, out);
}

}  // namespace gatrec::cuda
