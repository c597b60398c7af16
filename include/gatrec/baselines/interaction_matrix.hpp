#pragma once

/// @file
/// @brief The user-item matrix X that item-based baselines (EASE, ItemKNN) are fitted on, held
/// sparse in both orientations.
///
/// X[u, i] = 1 when user u has a training rating of item i (at or above a threshold, if one is
/// set). With a rating_centering, X[u, i] = rating − center instead: positive for items the user
/// rated above the center, negative below, so an item-item model fitted on it learns which items
/// are liked *among rated ones*, not only which are consumed together.
///
/// The rows (items of a user) are what scoring walks: score(u) = X[u, :] · W touches only the
/// user's items. The columns (users of an item) are what the item-item statistics walk: row i of
/// XᵀX sums the rows of the users of i. Both are sorted, so every loop over them visits entries in
/// a fixed order and results never depend on the thread count.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/eval/user_item_sets.hpp"

namespace gatrec {

/// Entries X[u, i] = rating − center instead of 1.
struct rating_centering {
  /// The value subtracted from every kept rating; std::nullopt subtracts each user's mean kept
  /// rating (so each user's row sums to zero).
  std::optional<float> center;
};

/// A (num_users x num_items) interaction matrix as sorted user rows and sorted item columns; binary
/// unless built with a rating_centering.
class interaction_matrix {
 public:
  interaction_matrix() = default;

  /// Builds X from ratings by index; a (user, item) pair rated several times is one entry (its
  /// value, when centered, comes from the last of those ratings in table order).
  /// @param num_users number of rows; every rating's user must be below it
  /// @param num_items number of columns; every rating's item must be below it
  /// @param ratings training ratings
  /// @param min_rating keep only ratings >= min_rating (4 for "liked" on a 1-5 scale);
  ///        std::nullopt keeps every rating
  /// @param centering std::nullopt: binary X; otherwise X[u, i] = rating − center
  /// @throw logic_error when a rating names a user or item outside the given counts, or a kept
  ///        rating is NaN or infinite while centering
  interaction_matrix(index_t num_users, index_t num_items, const rating_table& ratings,
                     std::optional<float> min_rating = std::nullopt,
                     std::optional<rating_centering> centering = std::nullopt)
      : rows_(num_users, num_items, ratings, min_rating) {
    row_values_.assign(rows_.items().size(), 1.0f);
    if (centering) center_values(ratings, min_rating, *centering);
    // Transpose by counting sort over the user rows: visiting users in ascending order leaves every
    // item's column sorted without a further sort.
    const std::size_t ni = static_cast<std::size_t>(num_items);
    col_offsets_.assign(ni + 1, 0);
    for (index_t i : rows_.items()) ++col_offsets_[static_cast<std::size_t>(i) + 1];
    for (std::size_t i = 0; i < ni; ++i) col_offsets_[i + 1] += col_offsets_[i];
    col_users_.resize(rows_.items().size());
    col_values_.resize(rows_.items().size());
    std::vector<offset_t> cursor(col_offsets_.begin(), col_offsets_.end() - 1);
    for (index_t u = 0; u < num_users; ++u) {
      const item_span items = rows_.items_of(u);
      const float* values = values_of(u);
      for (offset_t k = 0; k < items.size(); ++k) {
        const auto at = static_cast<std::size_t>(cursor[static_cast<std::size_t>(items.data[k])]++);
        col_users_[at] = u;
        col_values_[at] = values[k];
      }
    }
  }

  /// Number of users (rows).
  index_t num_users() const { return rows_.num_users(); }
  /// Number of items (columns).
  index_t num_items() const { return rows_.num_items(); }
  /// Number of non-zero entries.
  offset_t nnz() const { return rows_.num_pairs(); }

  /// The items of user u (row u), sorted ascending.
  item_span items_of(index_t u) const { return rows_.items_of(u); }
  /// The users of item i (column i), sorted ascending. (An item_span is any sorted index span.)
  item_span users_of(index_t i) const {
    const offset_t first = col_offsets_[static_cast<std::size_t>(i)];
    return item_span{col_users_.data() + first, col_offsets_[static_cast<std::size_t>(i) + 1] - first};
  }
  /// The values X[u, i] of user u's items, in the order of items_of(u) (all 1 when binary).
  const float* values_of(index_t u) const {
    return row_values_.data() + rows_.offsets()[static_cast<std::size_t>(u)];
  }
  /// The values X[u, i] of item i's users, in the order of users_of(i).
  const float* column_values(index_t i) const {
    return col_values_.data() + col_offsets_[static_cast<std::size_t>(i)];
  }
  /// True unless built with a rating_centering.
  bool binary() const { return binary_; }

  /// Number of users of item i (the column's squared norm when X is binary).
  offset_t item_degree(index_t i) const {
    return col_offsets_[static_cast<std::size_t>(i) + 1] - col_offsets_[static_cast<std::size_t>(i)];
  }
  /// Number of items of user u.
  offset_t user_degree(index_t u) const { return rows_.count(u); }

  /// The rows as per-user sets (the form eval/top_k takes for masking).
  const user_item_sets& rows() const { return rows_; }

 private:
  // Replaces the ones of row_values_ by rating − center.
  void center_values(const rating_table& ratings, std::optional<float> min_rating, const rating_centering& c) {
    binary_ = false;
    for (std::size_t r = 0; r < ratings.size(); ++r) {
      if (min_rating && !(ratings.rating[r] >= *min_rating)) continue;
      GATREC_EXPECTS(std::isfinite(ratings.rating[r]),
                     "rating " + std::to_string(r) + " is NaN or infinite; X cannot be centered on it");
      const item_span items = rows_.items_of(ratings.user[r]);
      const auto k = std::lower_bound(items.begin(), items.end(), ratings.item[r]) - items.begin();
      row_values_[static_cast<std::size_t>(rows_.offsets()[static_cast<std::size_t>(ratings.user[r])] + k)] =
          ratings.rating[r];
    }
    for (index_t u = 0; u < rows_.num_users(); ++u) {
      const auto first = row_values_.begin() + static_cast<std::ptrdiff_t>(rows_.offsets()[static_cast<std::size_t>(u)]);
      const auto last = first + static_cast<std::ptrdiff_t>(rows_.count(u));
      if (first == last) continue;
      const float center = c.center ? *c.center
                                    : static_cast<float>(std::accumulate(first, last, 0.0) / static_cast<double>(last - first));
      for (auto v = first; v != last; ++v) *v -= center;
    }
  }

  user_item_sets rows_;
  std::vector<float> row_values_;         // (nnz) X[u, i] in the order of rows_.items()
  std::vector<offset_t> col_offsets_{0};  // (num_items + 1)
  std::vector<index_t> col_users_;        // (nnz) users of each item, column by column
  std::vector<float> col_values_;         // (nnz) X[u, i] in the order of col_users_
  bool binary_ = true;
};

}  // namespace gatrec
