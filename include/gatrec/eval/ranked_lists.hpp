#pragma once

/// @file
/// @brief Per-user ranked recommendation lists, stored as one dense (num_users x k) table.

#include <cstddef>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"

namespace gatrec {

/// A read-only view of one user's ranked list: item indices, best first.
struct list_view {
  const index_t* data = nullptr;  ///< first item of the list
  int length = 0;                 ///< number of items (the -1 padding excluded)

  const index_t* begin() const { return data; }
  const index_t* end() const { return data + length; }
  int size() const { return length; }
  bool empty() const { return length == 0; }
  index_t operator[](int p) const { return data[p]; }
  /// The first min(n, size()) items: a list cut at rank n.
  list_view first(int n) const { return list_view{data, n < length ? (n > 0 ? n : 0) : length}; }
};

/// Every user's top-k items, best first, as a row-major (num_users x k) table.
///
/// A row holds a user's items in rank order followed by -1 padding: a user with fewer than k
/// candidate items (a small catalogue, a heavy training history, a list read from a file that
/// stops early) simply has a shorter list. Padding is chosen over a separate length array because
/// the table then stays one flat buffer that maps directly onto files and device copies, and a list's
/// length is found by scanning at most k entries. Invariant: valid entries form a prefix of the row
/// and no item appears twice in a row.
struct ranked_lists {
  /// Marks an unused slot after the end of a list.
  static constexpr index_t none = -1;

  int k = 0;                   ///< width of every row: the number of ranks kept
  index_t num_users = 0;       ///< number of rows
  std::vector<index_t> items;  ///< (num_users, k) item indices, row-major, `none` after the end of a list

  ranked_lists() = default;

  /// An all-empty table of `num_users` rows of width `k`.
  /// @throw logic_error when a size is negative
  ranked_lists(index_t users, int width) : k(width), num_users(users) {
    GATREC_EXPECTS(users >= 0, "negative user count " + std::to_string(users));
    GATREC_EXPECTS(width >= 0, "negative list width " + std::to_string(width));
    items.assign(static_cast<std::size_t>(users) * static_cast<std::size_t>(width), none);
  }

  /// Pointer to the k slots of user u's row (writable, for producers of lists).
  index_t* row(index_t u) { return items.data() + static_cast<std::size_t>(u) * static_cast<std::size_t>(k); }
  /// Pointer to the k slots of user u's row.
  const index_t* row(index_t u) const {
    return items.data() + static_cast<std::size_t>(u) * static_cast<std::size_t>(k);
  }

  /// Number of items in user u's list (the position of the first `none`, or k).
  int length(index_t u) const {
    const index_t* r = row(u);
    int n = 0;
    while (n < k && r[n] != none) ++n;
    return n;
  }

  /// User u's list without its padding.
  list_view list(index_t u) const { return list_view{row(u), length(u)}; }

  /// Checks the invariants: sizes agree, items lie in [0, num_items), valid entries form a prefix
  /// and no item repeats within a row.
  /// @throw logic_error naming the first offending user
  void validate(index_t num_items) const {
    GATREC_EXPECTS(k >= 0 && num_users >= 0, "negative sizes");
    GATREC_EXPECTS(items.size() == static_cast<std::size_t>(num_users) * static_cast<std::size_t>(k),
                   "table holds " + std::to_string(items.size()) + " entries, expected " +
                       std::to_string(num_users) + " x " + std::to_string(k));
    std::vector<index_t> seen_in(static_cast<std::size_t>(num_items > 0 ? num_items : 0), none);
    for (index_t u = 0; u < num_users; ++u) {
      const index_t* r = row(u);
      bool ended = false;
      for (int p = 0; p < k; ++p) {
        const index_t i = r[p];
        if (i == none) {
          ended = true;
          continue;
        }
        if (ended)
          detail::throw_logic_error(__func__, "user " + std::to_string(u) + " has an item after the end of its list");
        if (i < 0 || i >= num_items)
          detail::throw_logic_error(__func__, "user " + std::to_string(u) + " has item " + std::to_string(i) +
                                                  " outside [0, " + std::to_string(num_items) + ")");
        if (seen_in[static_cast<std::size_t>(i)] == u)
          detail::throw_logic_error(__func__, "user " + std::to_string(u) + " lists item " + std::to_string(i) + " twice");
        seen_in[static_cast<std::size_t>(i)] = u;
      }
    }
  }
};

}  // namespace gatrec
