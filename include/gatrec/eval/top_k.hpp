#pragma once

/// @file
/// @brief Each user's k best-scored items, training items masked out, computed block by block of
/// users so that the full (num_users x num_items) score matrix never exists at once.
///
/// Determinism: the lists depend only on the inputs, never on the block size or the thread count.
/// Two things make that hold. (1) Ties are broken by the lower item index, a total order. (2) In
/// the embedding path, the dot products come from Eigen products over fixed tiles of
/// `score_tile_rows` users aligned on multiples of that size. Eigen's GEMM takes different
/// micro-kernels for the rows that do not fill a register panel, so the same user's scores can differ
/// in the last bit depending on where the user sits in the product; with fixed, aligned tiles every
/// user always sits in the same place. Eigen also splits a large product across OpenMP threads,
/// which would move rows between micro-kernels again; it never does so for a destination whose
/// compile-time row bound is at most 32, which is how the tile type is declared.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/eval/ranked_lists.hpp"
#include "gatrec/eval/user_item_sets.hpp"
#include "gatrec/models/scorer.hpp"

namespace gatrec {

/// Users per Eigen product in top_k and dot_scores. Eigen never parallelises a product into a
/// destination with at most 32 rows at compile time, so each tile is computed by one thread.
inline constexpr index_t score_tile_rows = 32;

/// Options for the top-k functions.
struct top_k_options {
  /// Users scored and ranked together by one thread; rounded up to a multiple of score_tile_rows.
  /// Larger blocks amortise the product better; each block holds block_users x num_items floats.
  index_t block_users = 256;
};

namespace detail {

/// One candidate: its score and item index.
struct scored_item {
  float score;
  index_t item;
};

/// The ranking order: higher score first, ties to the lower item index. A strict total order as long
/// as no score is NaN, which is what makes the lists independent of the selection algorithm.
inline bool ranks_before(const scored_item& a, const scored_item& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

/// Writes the best k of one user's scores into out[0..k), skipping the sorted `masked` items, and
/// pads with ranked_lists::none. `pool` is scratch reused across calls.
///
/// Candidates gather in a pool; when it holds 2k, nth_element keeps the best k and the k-th best
/// becomes the bar every later item must beat. After the first few hundred items almost every item
/// fails that one comparison, so a row costs about one comparison per item plus a few partitions
/// of 2k entries (several times cheaper than a heap update for each improvement).
/// @throw logic_error when a candidate's score is NaN (it has no place in a ranking)
inline void select_top_k(const float* scores, index_t num_items, item_span masked, int k, index_t user,
                         index_t* out, std::vector<scored_item>& pool, const char* caller) {
  pool.clear();
  const std::size_t keep = static_cast<std::size_t>(k);
  bool have_bar = false;
  scored_item bar{0.0f, 0};  // the k-th best so far, once the pool has been cut once
  auto cut_to_best_k = [&] {
    std::nth_element(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(keep - 1), pool.end(), ranks_before);
    pool.resize(keep);
    bar = pool.back();
    have_bar = true;
  };
  const index_t* m = masked.begin();
  const index_t* const m_end = masked.end();
  for (index_t i = 0; i < num_items; ++i) {
    // Both sequences are sorted, so masking is a merge, not a lookup per item.
    if (m != m_end && *m == i) {
      ++m;
      continue;
    }
    const scored_item c{scores[i], i};
    if (std::isnan(c.score))
      detail::throw_logic_error(caller, "score of user " + std::to_string(user) + " for item " +
                                            std::to_string(i) + " is NaN");
    if (have_bar && !ranks_before(c, bar)) continue;
    pool.push_back(c);
    if (pool.size() == 2 * keep) cut_to_best_k();
  }
  if (pool.size() > keep) cut_to_best_k();
  std::sort(pool.begin(), pool.end(), ranks_before);
  const std::size_t n = pool.size();
  for (std::size_t p = 0; p < n; ++p) out[p] = pool[p].item;
  std::fill(out + n, out + k, ranked_lists::none);
}

/// Row-major tile whose compile-time row bound keeps Eigen's product single-threaded.
using score_tile = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor, score_tile_rows, Eigen::Dynamic>;

/// Writes the dot-product scores of users [first_user, first_user + count) into `out` (count rows of
/// items.rows() floats, row stride items.rows()). first_user must be a multiple of score_tile_rows.
inline void tiled_dot_scores(const Eigen::Ref<const matrix<float>>& users, const Eigen::Ref<const matrix<float>>& items,
                             index_t first_user, index_t count, float* out) {
  const Eigen::Index num_items = items.rows();
  for (index_t t = 0; t < count; t += score_tile_rows) {
    const index_t rows = std::min(score_tile_rows, count - t);
    Eigen::Map<score_tile> tile(out + static_cast<std::ptrdiff_t>(t) * num_items, rows, num_items);
    tile.noalias() = users.middleRows(first_user + t, rows) * items.transpose();
  }
}

/// Slot of the calling thread in per-thread scratch. When the loop runs inside an enclosing parallel
/// region, gatrec::parallel_for runs it serially on the calling thread, so one slot serves it all.
inline int scratch_slot(bool nested) {
#if GATREC_HAS_OPENMP
  return nested ? 0 : omp_get_thread_num();
#else
  (void)nested;
  return 0;
#endif
}

inline bool in_parallel_region() {
#if GATREC_HAS_OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

/// The shared driver: splits users into blocks, lets `fill(first, count, slot)` return a pointer to
/// that block's scores (row stride `stride`), and ranks every row. Exceptions cannot leave an OpenMP
/// region, so each block catches its own and the one of the lowest block is rethrown afterwards.
template <class FillBlock>
ranked_lists run_top_k(const char* caller, index_t num_users, index_t num_items, int k,
                       const user_item_sets& exclude, const top_k_options& options, FillBlock&& fill,
                       Eigen::Index stride) {
  if (k < 1) throw_logic_error(caller, "k must be at least 1, got " + std::to_string(k));
  if (num_users < 0 || num_items < 0) throw_logic_error(caller, "negative user or item count");
  if (options.block_users < 1) throw_logic_error(caller, "block_users must be at least 1");
  const bool masked = exclude.num_users() > 0;
  if (masked && (exclude.num_users() != num_users || exclude.num_items() != num_items))
    throw_logic_error(caller, "mask covers " + std::to_string(exclude.num_users()) + " users x " +
                                  std::to_string(exclude.num_items()) + " items, scores " +
                                  std::to_string(num_users) + " x " + std::to_string(num_items));
  ranked_lists result(num_users, k);
  if (num_users == 0) return result;

  const index_t block =
      (std::min(options.block_users, num_users) + score_tile_rows - 1) / score_tile_rows * score_tile_rows;
  const index_t num_blocks = (num_users + block - 1) / block;
  const bool nested = in_parallel_region();
  const std::size_t slots = static_cast<std::size_t>(nested ? 1 : std::max(1, max_threads()));
  std::vector<std::vector<scored_item>> pools(slots);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(num_blocks));

  parallel_for<index_t>(
      0, num_blocks,
      [&](index_t b) {
        try {
          const int slot = scratch_slot(nested);
          // A team is never larger than omp_get_max_threads() was before it started; if a runtime
          // ever broke that, sharing a scratch slot would be a silent race, so fail loudly.
          if (static_cast<std::size_t>(slot) >= slots) throw_logic_error(caller, "thread slot out of range");
          const index_t first = b * block;
          const index_t count = std::min(block, num_users - first);
          const float* scores = fill(first, count, slot);
          auto& scratch = pools[static_cast<std::size_t>(slot)];
          for (index_t r = 0; r < count; ++r) {
            const index_t u = first + r;
            select_top_k(scores + static_cast<std::ptrdiff_t>(r) * stride, num_items,
                         masked ? exclude.items_of(u) : item_span{}, k, u, result.row(u), scratch, caller);
          }
        } catch (...) {
          errors[static_cast<std::size_t>(b)] = std::current_exception();
        }
      },
      1);
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return result;
}

}  // namespace detail

/// The dot-product scores `users * items^T`, bit for bit the values top_k ranks by.
/// @param users (num_users, d) user embeddings
/// @param items (num_items, d) item embeddings
/// @return (num_users, num_items) scores
/// @throw logic_error when the embedding widths differ
inline matrix<float> dot_scores(const Eigen::Ref<const matrix<float>>& users, const Eigen::Ref<const matrix<float>>& items) {
  GATREC_EXPECTS(users.cols() == items.cols(), "user embeddings have " + std::to_string(users.cols()) +
                                                   " columns, item embeddings " + std::to_string(items.cols()));
  matrix<float> scores(users.rows(), items.rows());
  const index_t num_users = static_cast<index_t>(users.rows());
  const index_t tiles = (num_users + score_tile_rows - 1) / score_tile_rows;
  parallel_for<index_t>(
      0, tiles,
      [&](index_t t) {
        const index_t first = t * score_tile_rows;
        detail::tiled_dot_scores(users, items, first, std::min(score_tile_rows, num_users - first),
                                 scores.data() + static_cast<std::ptrdiff_t>(first) * scores.cols());
      },
      1);
  return scores;
}

/// Each user's k items of highest dot-product score `<users_u, items_i>`, best first.
///
/// Scores are computed block_users at a time (an Eigen product per tile of 32 users), ranked per row
/// by select_top_k, and blocks run in parallel with gatrec::parallel_for.
/// @param users (num_users, d) user embeddings
/// @param items (num_items, d) item embeddings
/// @param k list width; users with fewer than k candidates get shorter lists, padded with
///          ranked_lists::none
/// @param exclude items never recommended to a user (its training items); a default-constructed
///          user_item_sets masks nothing
/// @param options block size
/// @return (num_users, k) lists; ties go to the lower item index
/// @throw logic_error on mismatched shapes, k < 1, or a NaN score
inline ranked_lists top_k(const Eigen::Ref<const matrix<float>>& users, const Eigen::Ref<const matrix<float>>& items,
                          int k, const user_item_sets& exclude = user_item_sets(),
                          const top_k_options& options = top_k_options()) {
  if (users.cols() != items.cols())
    detail::throw_logic_error("top_k", "user embeddings have " + std::to_string(users.cols()) +
                                           " columns, item embeddings " + std::to_string(items.cols()));
  const index_t num_items = static_cast<index_t>(items.rows());
  // One score buffer per thread, reused across that thread's blocks: fresh pages per block would
  // cost page faults comparable to the product itself.
  std::vector<matrix<float>> buffers(static_cast<std::size_t>(detail::in_parallel_region() ? 1 : std::max(1, max_threads())));
  auto fill = [&](index_t first, index_t count, int slot) -> const float* {
    auto& buf = buffers[static_cast<std::size_t>(slot)];
    // Rows beyond `count` are left over from a larger block and ignored.
    if (buf.rows() < count || buf.cols() != num_items) buf.resize(count, num_items);
    detail::tiled_dot_scores(users, items, first, count, buf.data());
    return buf.data();
  };
  return detail::run_top_k("top_k", static_cast<index_t>(users.rows()), num_items, k, exclude, options, fill,
                           num_items);
}

/// Each user's k best items from a precomputed dense score matrix (row u = user u's scores).
/// @param scores (num_users, num_items) scores; any outer stride
/// @param k list width (see top_k)
/// @param exclude items never recommended to a user; default: none
/// @param options block size (rows ranked per parallel task)
/// @throw logic_error on mismatched shapes, k < 1, or a NaN score
inline ranked_lists top_k_from_scores(const Eigen::Ref<const matrix<float>>& scores, int k,
                                      const user_item_sets& exclude = user_item_sets(),
                                      const top_k_options& options = top_k_options()) {
  auto fill = [&](index_t first, index_t, int) -> const float* {
    return scores.data() + static_cast<std::ptrdiff_t>(first) * scores.outerStride();
  };
  return detail::run_top_k("top_k_from_scores", static_cast<index_t>(scores.rows()),
                           static_cast<index_t>(scores.cols()), k, exclude, options, fill, scores.outerStride());
}

/// Each user's k best items, with scores produced a block of users at a time by a callback: any
/// model whose scores are not a plain dot product (an MLP head, a re-ranker, a popularity prior).
/// @tparam Scorer callable as `void(index_t first_user, index_t count, matrix<float>& scores)`; it
///         must fill the (count, num_items) matrix it is given without resizing it. It is called
///         concurrently from several threads on disjoint blocks, so it must not mutate shared state.
/// @param num_users number of users
/// @param num_items size of the catalogue
/// @param k list width (see top_k)
/// @param score_block the callback
/// @param exclude items never recommended to a user; default: none
/// @param options block size: blocks start at multiples of the rounded block_users
/// @throw logic_error on bad sizes, a callback that resized its matrix, or a NaN score; an exception
///        thrown by the callback is rethrown (the one of the lowest block)
template <class Scorer>
ranked_lists top_k_from_scorer(index_t num_users, index_t num_items, int k, Scorer&& score_block,
                               const user_item_sets& exclude = user_item_sets(),
                               const top_k_options& options = top_k_options()) {
  std::vector<matrix<float>> buffers(static_cast<std::size_t>(detail::in_parallel_region() ? 1 : std::max(1, max_threads())));
  auto fill = [&](index_t first, index_t count, int slot) -> const float* {
    auto& buf = buffers[static_cast<std::size_t>(slot)];
    if (buf.rows() != count || buf.cols() != num_items) buf.resize(count, num_items);
    score_block(first, count, buf);
    if (buf.rows() != count || buf.cols() != num_items)
      detail::throw_logic_error("top_k_from_scorer", "the scorer resized its (" + std::to_string(count) + ", " +
                                                         std::to_string(num_items) + ") score block");
    return buf.data();
  };
  return detail::run_top_k("top_k_from_scorer", num_users, num_items, k, exclude, options, fill, num_items);
}

/// Each user's k best items under a model's scores (any gatrec::scorer).
/// @param model the scorer; score_block is called concurrently on disjoint blocks
/// @param k list width (see top_k)
/// @param exclude items never recommended to a user; default: none
/// @param options block size
/// @throw logic_error as top_k_from_scorer
inline ranked_lists top_k(const scorer& model, int k, const user_item_sets& exclude = user_item_sets(),
                          const top_k_options& options = top_k_options()) {
  return top_k_from_scorer(
      model.num_users(), model.num_items(), k,
      [&model](index_t first, index_t count, matrix<float>& out) { model.score_block(first, count, out); }, exclude,
      options);
}

}  // namespace gatrec
