#pragma once

/// @file
/// @brief The binary user-item matrix X that item-based baselines (EASE, ItemKNN) are fitted on,
/// held sparse in both orientations.
///
/// X[u, i] = 1 when user u has a training rating of item i (at or above a threshold, if one is
/// set). The rows (items of a user) are what scoring walks: score(u) = X[u, :] · W touches only the
/// user's items. The columns (users of an item) are what the item-item statistics walk: row i of
/// XᵀX sums the rows of the users of i. Both are sorted, so every loop over them visits entries in
/// a fixed order and results never depend on the thread count.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/eval/user_item_sets.hpp"

namespace gatrec {

/// A binary (num_users x num_items) interaction matrix as sorted user rows and sorted item columns.
class interaction_matrix {
 public:
  interaction_matrix() = default;

  /// Builds X from ratings by index; a (user, item) pair rated several times is one entry.
  /// @param num_users number of rows; every rating's user must be below it
  /// @param num_items number of columns; every rating's item must be below it
  /// @param ratings training ratings
  /// @param min_rating keep only ratings >= min_rating (4 for "liked" on a 1-5 scale);
  ///        std::nullopt keeps every rating
  /// @throw logic_error when a rating names a user or item outside the given counts
  interaction_matrix(index_t num_users, index_t num_items, const rating_table& ratings,
                     std::optional<float> min_rating = std::nullopt)
      : rows_(num_users, num_items, ratings, min_rating) {
    // Transpose by counting sort over the user rows: visiting users in ascending order leaves every
    // item's column sorted without a further sort.
    const std::size_t ni = static_cast<std::size_t>(num_items);
    col_offsets_.assign(ni + 1, 0);
    for (index_t i : rows_.items()) ++col_offsets_[static_cast<std::size_t>(i) + 1];
    for (std::size_t i = 0; i < ni; ++i) col_offsets_[i + 1] += col_offsets_[i];
    col_users_.resize(rows_.items().size());
    std::vector<offset_t> cursor(col_offsets_.begin(), col_offsets_.end() - 1);
    for (index_t u = 0; u < num_users; ++u)
      for (index_t i : rows_.items_of(u))
        col_users_[static_cast<std::size_t>(cursor[static_cast<std::size_t>(i)]++)] = u;
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
  /// Number of users of item i: the column's squared norm, since X is binary.
  offset_t item_degree(index_t i) const {
    return col_offsets_[static_cast<std::size_t>(i) + 1] - col_offsets_[static_cast<std::size_t>(i)];
  }
  /// Number of items of user u.
  offset_t user_degree(index_t u) const { return rows_.count(u); }

  /// The rows as per-user sets (the form eval/top_k takes for masking).
  const user_item_sets& rows() const { return rows_; }

 private:
  user_item_sets rows_;
  std::vector<offset_t> col_offsets_{0};  // (num_items + 1)
  std::vector<index_t> col_users_;        // (nnz) users of each item, column by column
};

}  // namespace gatrec
