#pragma once

/// @file
/// @brief The one thing every recommender offers the evaluator: scores for a block of users.

#include <algorithm>
#include <string>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/types.hpp"

namespace gatrec {

/// Produces relevance scores (higher is better) for every item, a block of users at a time.
/// Implementations must be safe to call concurrently from several threads for different blocks.
class scorer {
 public:
  virtual ~scorer() = default;
  virtual index_t num_users() const = 0;
  virtual index_t num_items() const = 0;
  /// Fills out (count, num_items) with the scores of users [first_user, first_user + count).
  virtual void score_block(index_t first_user, index_t count, matrix<float>& out) const = 0;
};

/// Scores as dot products of user and item embeddings (views; the matrices must outlive the scorer).
class dot_product_scorer final : public scorer {
 public:
  dot_product_scorer(const matrix<float>& users, const matrix<float>& items) : users_(users), items_(items) {}
  index_t num_users() const override { return static_cast<index_t>(users_.rows()); }
  index_t num_items() const override { return static_cast<index_t>(items_.rows()); }
  /// Scores in tiles of 32 users aligned on multiples of 32: Eigen computes a product with at most
  /// 32 rows on one thread with fixed blocking, so a user's scores never depend on the block it
  /// was asked in or on the thread count.
  void score_block(index_t first_user, index_t count, matrix<float>& out) const override {
    constexpr index_t tile = 32;
    for (index_t u = first_user; u < first_user + count;) {
      const index_t end = std::min(first_user + count, (u / tile + 1) * tile);
      out.middleRows(u - first_user, end - u).noalias() = users_.middleRows(u, end - u) * items_.transpose();
      u = end;
    }
  }

 private:
  const matrix<float>& users_;
  const matrix<float>& items_;
};

}  // namespace gatrec
