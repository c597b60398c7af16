#pragma once

/// @file
/// @brief Thread-count control and a deterministic parallel loop.
///
/// Parallel loops in gatrec give each output row to exactly one thread, so results do not depend on
/// the number of threads. Reductions across rows go through fixed-size blocks summed in order
/// (see `blocked_sum`), never through per-thread partial sums.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gatrec/core/config.hpp"

#if GATREC_HAS_OPENMP
#include <omp.h>
#endif

namespace gatrec {

/// Number of threads parallel loops use.
inline int max_threads() {
#if GATREC_HAS_OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Sets the number of threads for gatrec's loops (and Eigen's products, which use OpenMP too).
inline void set_num_threads(int n) {
#if GATREC_HAS_OPENMP
  omp_set_num_threads(std::max(1, n));
#else
  (void)n;
#endif
}

/// Calls `body(i)` for every i in [begin, end), in parallel when OpenMP is available. `body` must
/// write only state owned by index i. Dynamic scheduling in chunks copes with power-law degrees.
template <class Index, class Body>
void parallel_for(Index begin, Index end, Body&& body, Index chunk = 64) {
#if GATREC_HAS_OPENMP
  const std::int64_t n = static_cast<std::int64_t>(end) - static_cast<std::int64_t>(begin);
  if (n <= chunk || omp_in_parallel()) {
    for (Index i = begin; i < end; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(dynamic, chunk)
  for (Index i = begin; i < end; ++i) body(i);
#else
  (void)chunk;
  for (Index i = begin; i < end; ++i) body(i);
#endif
}

/// Rows per block for deterministic reductions: fixed, so the summation order never depends on
/// the thread count.
inline constexpr std::int64_t reduction_block_rows = 256;

/// Number of fixed reduction blocks that cover `rows` rows.
inline std::int64_t reduction_block_count(std::int64_t rows) {
  return (rows + reduction_block_rows - 1) / reduction_block_rows;
}

/// Deterministic parallel reduction over rows: rows are cut into fixed blocks of
/// `reduction_block_rows`; `body(row, partial)` adds row's contribution into its block's `width`
/// partial sums (and may write state owned by `row`); the partials are then added into `out` in
/// block order. The result is bit-identical for any thread count.
template <class Scalar, class Body>
void blocked_reduce(std::int64_t rows, std::size_t width, Scalar* out, Body&& body) {
  const std::int64_t blocks = reduction_block_count(rows);
  std::vector<Scalar> partial(static_cast<std::size_t>(blocks) * width, Scalar(0));
  parallel_for<std::int64_t>(0, blocks, [&](std::int64_t b) {
    Scalar* acc = partial.data() + static_cast<std::size_t>(b) * width;
    const std::int64_t last = std::min(rows, (b + 1) * reduction_block_rows);
    for (std::int64_t r = b * reduction_block_rows; r < last; ++r) body(r, acc);
  }, std::int64_t(1));
  for (std::int64_t b = 0; b < blocks; ++b)
    for (std::size_t k = 0; k < width; ++k) out[k] += partial[static_cast<std::size_t>(b) * width + k];
}

}  // namespace gatrec
