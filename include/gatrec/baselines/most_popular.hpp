#pragma once

/// @file
/// @brief The non-personalised baseline: every user gets the items ranked by training popularity.
///
/// The score of an item is its number of training ratings (optionally only those at or above a
/// threshold). Equal counts need no special handling: top_k breaks ties by the lower item index,
/// which on MovieLens is the lower movie id, as in the paper's "most popular" row.

#include <optional>
#include <string>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/models/scorer.hpp"

namespace gatrec {

/// Ranks items by their number of training ratings, the same list for every user.
class most_popular_scorer final : public scorer {
 public:
  /// Counts the training ratings of every item.
  /// @param num_users size of the user index space
  /// @param num_items size of the catalogue; every rating's item must be below it
  /// @param train training ratings by index; a pair rated twice counts twice (it is two ratings)
  /// @param min_rating count only ratings >= min_rating (4: "liked"); std::nullopt counts all, which
  ///        is the paper's "most popular" (P@10 = 0.6919 rated-only on ML-100K u1)
  /// @throw logic_error when a rating's user or item is out of range
  most_popular_scorer(index_t num_users, index_t num_items, const rating_table& train,
                      std::optional<float> min_rating = std::nullopt)
      : num_users_(num_users), counts_(num_items > 0 ? num_items : 0) {
    GATREC_EXPECTS(num_users >= 0 && num_items >= 0, "negative user or item count");
    counts_.setZero();
    for (std::size_t r = 0; r < train.size(); ++r) {
      const index_t u = train.user[r], i = train.item[r];
      if (u < 0 || u >= num_users || i < 0 || i >= num_items)
        detail::throw_logic_error(__func__, "rating " + std::to_string(r) + " (user " + std::to_string(u) + ", item " +
                                                std::to_string(i) + ") outside " + std::to_string(num_users) +
                                                " users x " + std::to_string(num_items) + " items");
      if (!min_rating || train.rating[r] >= *min_rating) counts_(i) += 1.0f;
    }
  }

  index_t num_users() const override { return num_users_; }
  index_t num_items() const override { return static_cast<index_t>(counts_.size()); }

  /// Every row is the count vector.
  void score_block(index_t first_user, index_t count, matrix<float>& out) const override {
    GATREC_EXPECTS(first_user >= 0 && count >= 0 && first_user + count <= num_users_,
                   "users [" + std::to_string(first_user) + ", " + std::to_string(first_user + count) +
                       ") outside [0, " + std::to_string(num_users_) + ")");
    if (out.rows() != count || out.cols() != num_items()) out.resize(count, num_items());
    out.rowwise() = counts_.transpose();
  }

  /// (num_items) training popularity of each item. Float, the scores' type: counts are exact up to
  /// 2^24 ratings per item.
  const vector<float>& counts() const { return counts_; }

 private:
  index_t num_users_;
  vector<float> counts_;
};

}  // namespace gatrec
