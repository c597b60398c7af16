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

/// c += a^T * b (a reduction over the rows of a and b). The output is cut into fixed 64 x 64 tiles,
/// each computed by one serial Eigen product over all rows: no partial sums to allocate or add, and
/// the same summation order for any thread count.
template <class Scalar>
void accumulate_transposed_product(const matrix<Scalar>& a, const matrix<Scalar>& b, matrix<Scalar>& c) {
  GATREC_EXPECTS(a.rows() == b.rows(), "row counts differ");
  GATREC_EXPECTS(c.rows() == a.cols() && c.cols() == b.cols(), "accumulator has the wrong shape");
  if (a.rows() == 0) return;
  constexpr Eigen::Index tile = 64;
  const Eigen::Index row_tiles = (c.rows() + tile - 1) / tile, col_tiles = (c.cols() + tile - 1) / tile;
  const std::int64_t tiles = static_cast<std::int64_t>(row_tiles * col_tiles);
#if GATREC_HAS_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
  for (std::int64_t t = 0; t < tiles; ++t) {
    const Eigen::Index r0 = (t / col_tiles) * tile, c0 = (t % col_tiles) * tile;
    const Eigen::Index rm = std::min(tile, c.rows() - r0), cm = std::min(tile, c.cols() - c0);
    c.block(r0, c0, rm, cm).noalias() += a.middleCols(r0, rm).transpose() * b.middleCols(c0, cm);
  }
}

}  // namespace gatrec
