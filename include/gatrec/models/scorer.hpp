#pragma once

/// @file
/// @brief The one thing every recommender offers the evaluator: scores for a block of users.

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
  void score_block(index_t first_user, index_t count, matrix<float>& out) const override {
    out.noalias() = users_.middleRows(first_user, count) * items_.transpose();
  }

 private:
  const matrix<float>& users_;
  const matrix<float>& items_;
};

}  // namespace gatrec
