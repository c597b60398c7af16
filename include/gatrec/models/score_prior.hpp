#pragma once

/// @file
/// @brief A fixed additive score that a trained embedding model refines: s(u,i) = <h_u, h_i> +
/// w * s0(u, i). With s0 from EASE this is the "item-item term alongside the graph embeddings": the
/// GAT learns what the linear item-item model misses instead of relearning what it already gets.

#include <algorithm>
#include <memory>
#include <utility>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/models/scorer.hpp"

namespace gatrec {

/// Dense prior scores (num_users, num_items) and their weight.
class score_prior {
 public:
  score_prior() = default;

  /// Materialises a scorer's scores (blocks of 256 users, in parallel).
  score_prior(const scorer& s, double weight) : weight_(static_cast<float>(weight)) {
    scores_.resize(s.num_users(), s.num_items());
    const index_t block = 256;
    const index_t blocks = (s.num_users() + block - 1) / block;
    parallel_for<index_t>(0, blocks, [&](index_t b) {
      const index_t first = b * block, count = std::min(block, s.num_users() - first);
      matrix<float> part(count, s.num_items());
      s.score_block(first, count, part);
      scores_.middleRows(first, count) = part;
    }, index_t(1));
    GATREC_EXPECTS(scores_.allFinite(), "prior scores contain NaN or Inf");
  }

  index_t num_users() const { return static_cast<index_t>(scores_.rows()); }
  index_t num_items() const { return static_cast<index_t>(scores_.cols()); }
  float weight() const { return weight_; }
  /// w * s0(u, i): the score used for ranking.
  float operator()(index_t u, index_t i) const { return weight_ * scores_(u, i); }
  const matrix<float>& scores() const { return scores_; }

  /// Replaces the scores the loss sees by out-of-sample ones (see make_ease_prior in baselines/ease_prior.hpp). Without this
  /// the loss and the ranking share `scores()`.
  void set_loss_scores(matrix<float> loss_scores) {
    GATREC_EXPECTS(loss_scores.rows() == scores_.rows() && loss_scores.cols() == scores_.cols(),
                   "loss scores must be shaped like the prior's scores");
    GATREC_EXPECTS(loss_scores.allFinite(), "loss scores contain NaN or Inf");
    loss_scores_ = std::move(loss_scores);
  }
  bool has_loss_scores() const { return loss_scores_.size() != 0; }
  /// w * s0(u, i) as the training loss sees it: the out-of-sample score when one was set.
  float in_loss(index_t u, index_t i) const {
    return weight_ * (has_loss_scores() ? loss_scores_(u, i) : scores_(u, i));
  }

 private:
  matrix<float> scores_;
  matrix<float> loss_scores_;  // empty unless cross-fitted
  float weight_ = 1.0f;
};

/// Scores <users_u, items_i> + prior(u, i), in tiles of 32 users (thread-count independent, like
/// dot_product_scorer). The matrices and the prior must outlive the scorer.
class prior_plus_dot_scorer final : public scorer {
 public:
  prior_plus_dot_scorer(const matrix<float>& users, const matrix<float>& items, const score_prior& prior)
      : dot_(users, items), prior_(prior) {
    GATREC_EXPECTS(prior.num_users() == dot_.num_users() && prior.num_items() == dot_.num_items(),
                   "prior shape differs from the embeddings");
  }
  index_t num_users() const override { return dot_.num_users(); }
  index_t num_items() const override { return dot_.num_items(); }
  void score_block(index_t first_user, index_t count, matrix<float>& out) const override {
    dot_.score_block(first_user, count, out);
    out += prior_.weight() * prior_.scores().middleRows(first_user, count);
  }

 private:
  dot_product_scorer dot_;
  const score_prior& prior_;
};

}  // namespace gatrec
