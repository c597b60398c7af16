#pragma once

/// @file
/// @brief EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): a dense
/// item-item weight matrix B fitted in closed form, scores = X · B.
///
/// With X the binary (users x items) training matrix, B minimises ||X − X B||² + λ ||B||² subject to
/// diag(B) = 0. Its closed form, from the paper:
///
///     G = XᵀX + λI,   P = G⁻¹,   B = I − P · diagMat(1 / diag(P))
///
/// i.e. B_ij = −P_ij / P_jj for i ≠ j and B_jj = 0. The model is dense in the catalogue: G and P are
/// (items x items) doubles and fitting costs O(items³), which is seconds at MovieLens-1M's 3,706
/// items and out of reach at the 60-90K items of ML-25M/32M, so large catalogues are refused.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <Eigen/Cholesky>

#include "gatrec/baselines/interaction_matrix.hpp"
#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/models/scorer.hpp"

namespace gatrec {

/// Options of ease_scorer.
struct ease_options {
  /// L2 weight λ on B (added to the diagonal of XᵀX). 500 is the value tuned on ML-100K u1 with
  /// liked-only X (FINDINGS.md); must be positive, which makes XᵀX + λI positive definite.
  double lambda = 500.0;
  /// X[u, i] = 1 for training ratings >= this value; std::nullopt uses every training rating.
  /// "Liked only" (4) is worth about +0.09 P@10 on ML-100K (FINDINGS.md).
  std::optional<float> min_rating = 4.0f;
  /// std::nullopt: binary X. Otherwise X[u, i] = rating − center for every kept rating (set
  /// min_rating to std::nullopt to keep them all): B then learns which items are rated *high*
  /// together, a rating-aware item-item model (see rating_ease_weight in the CLI, docs/math.md).
  std::optional<rating_centering> centering = std::nullopt;
  /// Largest catalogue accepted: fitting holds two (items x items) double matrices and one float
  /// matrix (20 bytes per entry: 8 GB at 20,000 items) and costs O(items³).
  index_t max_items = 20000;
};

namespace detail {

/// Columns per block when inverting G. Fixed, so that the blocking inside Eigen's triangular solves
/// and products, and hence the rounding, never depends on the thread count.
inline constexpr Eigen::Index ease_solve_block = 128;

}  // namespace detail

/// The item-item Gram matrix XᵀX plus `diagonal` on the diagonal. For a binary X, G_ij = number
/// of users with both i and j (G_ii = users of i), exactly; otherwise G_ij = Σ_u X_ui X_uj.
///
/// Computed from the sparse data: row i of G is the sum of the rows X[u, :] of the users u of item
/// i, which costs Σ_u |X_u|² additions instead of the users·items² of a dense product. Only the
/// upper triangle (j >= i) is accumulated, and then mirrored. Each row is written by one thread in a
/// fixed order (binary counts are integers, exact in double), so the result is the same for any
/// thread count.
/// @param x interactions
/// @param diagonal added to every diagonal entry (λ for EASE)
/// @return (num_items, num_items) symmetric matrix
inline matrix<double> item_gram_matrix(const interaction_matrix& x, double diagonal = 0.0) {
  const index_t n = x.num_items();
  matrix<double> g = matrix<double>::Zero(n, n);
  parallel_for<index_t>(
      0, n,
      [&](index_t i) {
        double* row = g.row(i).data();
        const item_span users = x.users_of(i);
        const float* column = x.column_values(i);
        for (offset_t k = 0; k < users.size(); ++k) {
          const index_t u = users.data[k];
          const double xi = column[k];
          const item_span items = x.items_of(u);
          const float* values = x.values_of(u);
          // The user's items are sorted: the upper triangle starts at item i itself.
          for (auto j = std::lower_bound(items.begin(), items.end(), i) - items.begin(); j < items.size(); ++j)
            row[items.data[j]] += xi * static_cast<double>(values[j]);
        }
        row[i] += diagonal;
      },
      index_t(16));
  parallel_for<index_t>(
      1, n,
      [&](index_t i) {
        for (index_t j = 0; j < i; ++j) g(i, j) = g(j, i);
      },
      index_t(64));
  return g;
}

/// EASE's weights from G = XᵀX + λI (λ already on the diagonal), in double.
///
/// P = G⁻¹ is formed as LAPACK's potri does, from the Cholesky factor G = L Lᵀ (Eigen::LLT, in
/// place): W = L⁻¹, then P = Wᵀ W. That costs n³ flops in all (n³/3 each), against 5n³/3 for solving
/// G P = I column by column. The last two steps run in parallel over fixed blocks of columns:
/// - W's block [c0, c0 + m) solves L W = I on the trailing rows only (W is lower triangular);
/// - P's block (i, j), i <= j, is W[r >= c_j, block i]ᵀ W[r >= c_j, block j] (rows above c_j of
///   block j are zero), mirrored into block (j, i).
/// Block sizes are fixed and Eigen runs each block product on one thread (it never splits a product
/// inside an active parallel region), so B is bit-identical for any thread count.
/// @param gram (n, n) symmetric positive definite G; consumed (its storage is reused)
/// @return (n, n) B with B_ij = −P_ij / P_jj off the diagonal and a zero diagonal
/// @throw logic_error when G is not square, or not numerically positive definite
inline matrix<double> ease_weights(matrix<double> gram) {
  GATREC_EXPECTS(gram.rows() == gram.cols(), "G must be square, got " + std::to_string(gram.rows()) + " x " +
                                                 std::to_string(gram.cols()));
  const Eigen::Index n = gram.rows();
  // Every matrix here is symmetric or only its column-major view is used, so row-major storage is
  // read as column-major without copies.
  Eigen::Map<Eigen::MatrixXd> g(gram.data(), n, n);
  {
    Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(g);
    GATREC_EXPECTS(llt.info() == Eigen::Success,
                   "XᵀX + λI is not numerically positive definite (is λ positive and finite?)");
  }
  matrix<double> out(n, n);  // holds W, then B
  Eigen::Map<Eigen::MatrixXd> w(out.data(), n, n);
  const Eigen::Index bs = detail::ease_solve_block;
  const std::int64_t blocks = static_cast<std::int64_t>((n + bs - 1) / bs);
  auto first = [&](std::int64_t b) { return static_cast<Eigen::Index>(b) * bs; };
  auto width = [&](std::int64_t b) { return std::min(bs, n - first(b)); };

  // W = L⁻¹. Forward substitution from an identity block leaves exact zeros above the diagonal, so
  // only rows >= c0 are written and later read.
#if GATREC_HAS_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
  for (std::int64_t b = 0; b < blocks; ++b) {
    const Eigen::Index c0 = first(b), m = width(b);
    auto trailing = w.block(c0, c0, n - c0, m);
    trailing.setZero();
    trailing.topRows(m).setIdentity();
    g.bottomRightCorner(n - c0, n - c0).triangularView<Eigen::Lower>().solveInPlace(trailing);
  }

  // P = Wᵀ W into G's storage (L is no longer needed), upper block pairs in parallel.
  const std::int64_t pairs = blocks * (blocks + 1) / 2;
#if GATREC_HAS_OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
  for (std::int64_t t = 0; t < pairs; ++t) {
    // Unrank t into (bi, bj), bi <= bj, row by row of the upper triangle.
    std::int64_t bi = 0, rest = t;
    while (rest >= blocks - bi) rest -= blocks - bi++;
    const std::int64_t bj = bi + rest;
    const Eigen::Index ci = first(bi), mi = width(bi), cj = first(bj), mj = width(bj);
    g.block(ci, cj, mi, mj).noalias() = w.block(cj, ci, n - cj, mi).transpose() * w.block(cj, cj, n - cj, mj);
    if (bi != bj) g.block(cj, ci, mj, mi) = g.block(ci, cj, mi, mj).transpose();
  }

  // B_ij = −P_ij / P_jj, into W's storage (row-major now: P is symmetric, so its rows are read
  // contiguously from the column-major view).
  const vector<double> inv_diag = g.diagonal().cwiseInverse();
  parallel_for<Eigen::Index>(
      0, n,
      [&](Eigen::Index i) {
        out.row(i) = -g.col(i).transpose().cwiseProduct(inv_diag.transpose());
        out(i, i) = 0.0;
      },
      Eigen::Index(64));
  return out;
}

/// EASE as a scorer: fitted once at construction, scores = X[u, :] · B.
class ease_scorer final : public scorer {
 public:
  /// Fits B on the training ratings.
  /// @param num_users size of the user index space
  /// @param num_items size of the catalogue
  /// @param train training ratings by index
  /// @param options λ, which ratings make X, catalogue limit
  /// @throw logic_error when num_items exceeds options.max_items, λ is not positive, or a rating is
  ///        out of range
  ease_scorer(index_t num_users, index_t num_items, const rating_table& train,
              const ease_options& options = ease_options())
      : options_(options) {
    GATREC_EXPECTS(num_items <= options.max_items,
                   "EASE is dense in the catalogue: " + std::to_string(num_items) + " items would need " +
                       std::to_string(static_cast<double>(num_items) * num_items * 20.0 / 1e9) +
                       " GB and O(items³) time; the limit is ease_options::max_items = " +
                       std::to_string(options.max_items) + " (raise it, or use item_knn_scorer)");
    GATREC_EXPECTS(options.lambda > 0.0 && std::isfinite(options.lambda),
                   "lambda must be positive and finite, got " + std::to_string(options.lambda));
    x_ = interaction_matrix(num_users, num_items, train, options.min_rating, options.centering);
    weights_ = ease_weights(item_gram_matrix(x_, options.lambda)).cast<float>();
  }

  index_t num_users() const override { return x_.num_users(); }
  index_t num_items() const override { return x_.num_items(); }

  /// Scores of users [first_user, first_user + count): the sum of the rows of B of each user's
  /// items weighted by X[u, i], added in ascending item order (a sparse-times-dense product; X is
  /// a few % dense).
  /// @throw logic_error when the range leaves [0, num_users)
  void score_block(index_t first_user, index_t count, matrix<float>& out) const override {
    GATREC_EXPECTS(first_user >= 0 && count >= 0 && first_user + count <= num_users(),
                   "users [" + std::to_string(first_user) + ", " + std::to_string(first_user + count) +
                       ") outside [0, " + std::to_string(num_users()) + ")");
    if (out.rows() != count || out.cols() != num_items()) out.resize(count, num_items());
    out.setZero();
    for (index_t r = 0; r < count; ++r) {
      const item_span items = x_.items_of(first_user + r);
      const float* values = x_.values_of(first_user + r);
      for (offset_t k = 0; k < items.size(); ++k) out.row(r) += values[k] * weights_.row(items.data[k]);
    }
  }

  /// (num_items, num_items) B, stored as float after a double-precision fit.
  const matrix<float>& weights() const { return weights_; }
  /// The X B was fitted on (and scores are computed from).
  const interaction_matrix& interactions() const { return x_; }
  const ease_options& options() const { return options_; }

 private:
  ease_options options_;
  interaction_matrix x_;
  matrix<float> weights_;
};

}  // namespace gatrec
