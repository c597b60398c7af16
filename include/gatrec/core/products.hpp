#pragma once

/// @file
/// @brief Dense matrix products whose results do not depend on the thread count.
///
/// Eigen's multi-threaded GEMM picks its cache blocking from the number of threads, so the order of
/// the sums (and the rounding) changes with it. These helpers cut the rows into fixed blocks and
/// let Eigen run serially inside each block (it does inside an OpenMP parallel region), which keeps
/// every result bit-identical for any thread count while still using all cores.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"

namespace gatrec {

namespace detail {

/// Rows per block for row-parallel products.
inline constexpr Eigen::Index product_block_rows = 256;
/// Rows per block when the product reduces over rows (A^T B): larger, to keep partial sums few.
inline constexpr Eigen::Index reduction_product_block_rows = 2048;

/// Calls body(first_row, row_count) for fixed row blocks, always from inside a parallel region so
/// that Eigen runs serially and with single-thread blocking.
template <class Body>
void for_each_row_block(Eigen::Index rows, Eigen::Index block, Body&& body) {
  const std::int64_t blocks = (rows + block - 1) / block;
#if GATREC_HAS_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
  for (std::int64_t b = 0; b < blocks; ++b) {
    const Eigen::Index first = static_cast<Eigen::Index>(b) * block;
    body(first, std::min(block, rows - first));
  }
}

}  // namespace detail

/// c = a * b, or c += a * b when `accumulate`. c is resized unless accumulating.
template <class Scalar>
void product(const matrix<Scalar>& a, const matrix<Scalar>& b, matrix<Scalar>& c, bool accumulate = false) {
  GATREC_EXPECTS(a.cols() == b.rows(), "inner dimensions differ");
  if (accumulate)
    GATREC_EXPECTS(c.rows() == a.rows() && c.cols() == b.cols(), "accumulator has the wrong shape");
  else
    c.resize(a.rows(), b.cols());
  detail::for_each_row_block(a.rows(), detail::product_block_rows, [&](Eigen::Index r, Eigen::Index m) {
    if (accumulate)
      c.middleRows(r, m).noalias() += a.middleRows(r, m) * b;
    else
      c.middleRows(r, m).noalias() = a.middleRows(r, m) * b;
  });
}

/// c = a * b^T, or c += a * b^T when `accumulate`.
template <class Scalar>
void product_transposed(const matrix<Scalar>& a, const matrix<Scalar>& b, matrix<Scalar>& c, bool accumulate = false) {
  GATREC_EXPECTS(a.cols() == b.cols(), "inner dimensions differ");
  if (accumulate)
    GATREC_EXPECTS(c.rows() == a.rows() && c.cols() == b.rows(), "accumulator has the wrong shape");
  else
    c.resize(a.rows(), b.rows());
  detail::for_each_row_block(a.rows(), detail::product_block_rows, [&](Eigen::Index r, Eigen::Index m) {
    if (accumulate)
      c.middleRows(r, m).noalias() += a.middleRows(r, m) * b.transpose();
    else
      c.middleRows(r, m).noalias() = a.middleRows(r, m) * b.transpose();
  });
}

/// c += a^T * b (a reduction over the rows of a and b): fixed row blocks, partial products added in
/// block order.
template <class Scalar>
void accumulate_transposed_product(const matrix<Scalar>& a, const matrix<Scalar>& b, matrix<Scalar>& c) {
  GATREC_EXPECTS(a.rows() == b.rows(), "row counts differ");
  GATREC_EXPECTS(c.rows() == a.cols() && c.cols() == b.cols(), "accumulator has the wrong shape");
  const Eigen::Index block = detail::reduction_product_block_rows;
  const Eigen::Index blocks = (a.rows() + block - 1) / block;
  if (blocks <= 1) {
    matrix<Scalar> part;
    detail::for_each_row_block(a.rows(), block, [&](Eigen::Index r, Eigen::Index m) {
      part.noalias() = a.middleRows(r, m).transpose() * b.middleRows(r, m);
    });
    if (a.rows() > 0) c += part;
    return;
  }
  std::vector<matrix<Scalar>> parts(static_cast<std::size_t>(blocks));
  detail::for_each_row_block(a.rows(), block, [&](Eigen::Index r, Eigen::Index m) {
    parts[static_cast<std::size_t>(r / block)].noalias() = a.middleRows(r, m).transpose() * b.middleRows(r, m);
  });
  for (const auto& p : parts) c += p;
}

}  // namespace gatrec
