#pragma once

/// @file
/// @brief EASE's scores as a score_prior for an embedding model, optionally cross-fitted so that
/// the training loss sees out-of-sample item-item scores.
///
/// Why cross-fitting: B is fitted to reconstruct X itself, so on training pairs EASE's scores are
/// in-sample and separate positives from negatives far better than on unseen pairs. A residual model
/// trained against them learns almost nothing (the loss is already low) and then meets weaker EASE
/// scores at ranking time. With `folds` > 1 the users are split into groups (u mod folds); the loss
/// scores of a group come from a B fitted without that group's rows (each user's own items are
/// still the input), as in stacking. Ranking always uses the B fitted on every training rating.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "gatrec/baselines/ease.hpp"
#include "gatrec/baselines/interaction_matrix.hpp"
#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/models/score_prior.hpp"

namespace gatrec {

/// An EASE prior with weight `weight`.
/// @param folds 1: the loss sees the ranking scores (in-sample on training pairs); k > 1: the loss
///        sees the scores of k EASE fits, each without one group of users (costs k extra fits)
/// @throw logic_error when folds < 1 or folds exceeds the number of users, or as ease_scorer
inline std::unique_ptr<score_prior> make_ease_prior(index_t num_users, index_t num_items, const rating_table& train,
                                                    const ease_options& options, double weight, int folds = 1) {
  GATREC_EXPECTS(folds >= 1 && folds <= num_users,
                 "cross-fitting folds must be in [1, number of users], got " + std::to_string(folds));
  const ease_scorer full(num_users, num_items, train, options);
  auto prior = std::make_unique<score_prior>(full, weight);
  if (folds == 1) return prior;

  const interaction_matrix& x = full.interactions();
  matrix<float> loss_scores(num_users, num_items);
  for (int g = 0; g < folds; ++g) {
    rating_table others;
    others.reserve(train.size());
    for (std::size_t r = 0; r < train.size(); ++r)
      if (train.user[r] % folds != g) others.push_back(train.user[r], train.item[r], train.rating[r]);
    const interaction_matrix xo(num_users, num_items, others, options.min_rating, options.centering);
    const matrix<float> b = ease_weights(item_gram_matrix(xo, options.lambda)).cast<float>();
    parallel_for<index_t>(0, num_users, [&](index_t u) {
      if (u % folds != g) return;
      auto row = loss_scores.row(u);
      row.setZero();
      const item_span items = x.items_of(u);
      const float* values = x.values_of(u);
      for (offset_t k = 0; k < items.size(); ++k) row += values[k] * b.row(items.data[k]);
    }, index_t(16));
  }
  prior->set_loss_scores(std::move(loss_scores));
  return prior;
}

}  // namespace gatrec
