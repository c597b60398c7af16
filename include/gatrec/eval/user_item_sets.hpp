#pragma once

/// @file
/// @brief Each user's set of items as sorted CSR rows: the training items that top-k masks out, and
/// the test or relevant items that metrics look up.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"

namespace gatrec {

/// A read-only view of one user's items, sorted ascending, without duplicates.
struct item_span {
  const index_t* data = nullptr;
  offset_t length = 0;

  const index_t* begin() const { return data; }
  const index_t* end() const { return data + length; }
  offset_t size() const { return length; }
  bool empty() const { return length == 0; }

  /// True when item i is in the set (binary search).
  bool contains(index_t i) const { return std::binary_search(begin(), end(), i); }
};

/// For every user, the sorted set of items the user has in a rating table, optionally only those
/// rated at or above a threshold.
///
/// Sorted rows make both uses cheap: top-k walks a user's row alongside the catalogue to skip
/// training items without a hash lookup, and metrics test membership by binary search. A
/// default-constructed object has no users; top-k reads that as "mask nothing".
class user_item_sets {
 public:
  user_item_sets() = default;

  /// Builds the sets from ratings by index. A pair that occurs several times is kept once; with a
  /// threshold it is kept when any of its ratings reaches the threshold.
  /// @param num_users number of users (rows); every rating's user must be below it
  /// @param num_items size of the catalogue; every rating's item must be below it
  /// @param ratings the ratings
  /// @param min_rating keep only ratings >= min_rating; std::nullopt keeps every rating
  /// @throw logic_error when a rating names a user or item outside the given counts
  user_item_sets(index_t num_users, index_t num_items, const rating_table& ratings,
                 std::optional<float> min_rating = std::nullopt)
      : num_users_(num_users), num_items_(num_items), content_id_(next_content_id()) {
    GATREC_EXPECTS(num_users >= 0 && num_items >= 0, "negative user or item count");
    GATREC_EXPECTS(ratings.item.size() == ratings.user.size() && ratings.rating.size() == ratings.user.size(),
                   "rating table columns have different lengths");
    const std::size_t n = ratings.size();
    auto kept = [&](std::size_t r) { return !min_rating || ratings.rating[r] >= *min_rating; };
    for (std::size_t r = 0; r < n; ++r) {
      const index_t u = ratings.user[r], i = ratings.item[r];
      if (u < 0 || u >= num_users)
        detail::throw_logic_error(__func__, "rating " + std::to_string(r) + " has user index " + std::to_string(u) +
                                                " outside [0, " + std::to_string(num_users) + ")");
      if (i < 0 || i >= num_items)
        detail::throw_logic_error(__func__, "rating " + std::to_string(r) + " has item index " + std::to_string(i) +
                                                " outside [0, " + std::to_string(num_items) + ")");
    }
    // Counting sort by user, then sort and deduplicate each row.
    std::vector<offset_t> counts(static_cast<std::size_t>(num_users) + 1, 0);
    for (std::size_t r = 0; r < n; ++r)
      if (kept(r)) ++counts[static_cast<std::size_t>(ratings.user[r]) + 1];
    for (std::size_t u = 0; u < static_cast<std::size_t>(num_users); ++u) counts[u + 1] += counts[u];
    std::vector<index_t> flat(static_cast<std::size_t>(counts.back()));
    std::vector<offset_t> cursor(counts.begin(), counts.end() - 1);
    for (std::size_t r = 0; r < n; ++r)
      if (kept(r)) flat[static_cast<std::size_t>(cursor[static_cast<std::size_t>(ratings.user[r])]++)] = ratings.item[r];

    offsets_.assign(static_cast<std::size_t>(num_users) + 1, 0);
    items_.reserve(flat.size());
    for (std::size_t u = 0; u < static_cast<std::size_t>(num_users); ++u) {
      auto first = flat.begin() + static_cast<std::ptrdiff_t>(counts[u]);
      auto last = flat.begin() + static_cast<std::ptrdiff_t>(counts[u + 1]);
      std::sort(first, last);
      items_.insert(items_.end(), first, std::unique(first, last));
      offsets_[u + 1] = static_cast<offset_t>(items_.size());
    }
  }

  /// Number of users (rows); 0 for a default-constructed object.
  index_t num_users() const { return num_users_; }
  /// Size of the catalogue the item indices refer to.
  index_t num_items() const { return num_items_; }
  /// Total number of (user, item) pairs.
  offset_t num_pairs() const { return static_cast<offset_t>(items_.size()); }

  /// User u's items, sorted ascending.
  item_span items_of(index_t u) const {
    const offset_t first = offsets_[static_cast<std::size_t>(u)];
    return item_span{items_.data() + first, offsets_[static_cast<std::size_t>(u) + 1] - first};
  }
  /// Number of items of user u.
  offset_t count(index_t u) const {
    return offsets_[static_cast<std::size_t>(u) + 1] - offsets_[static_cast<std::size_t>(u)];
  }
  /// True when user u has item i.
  bool contains(index_t u, index_t i) const { return items_of(u).contains(i); }

  /// (num_users + 1) row offsets into items().
  const std::vector<offset_t>& offsets() const { return offsets_; }
  /// All rows concatenated.
  const std::vector<index_t>& items() const { return items_; }

  /// Names this content: equal ids mean equal sets (a copy keeps its original's id, and the sets
  /// never change after construction), so a cache of them (a device copy of the mask) can be
  /// checked in O(1). Different ids may still hold equal sets.
  std::uint64_t content_id() const { return content_id_; }

  /// For every item, the number of users that have it (its popularity among these sets).
  std::vector<index_t> item_counts() const {
    std::vector<index_t> c(static_cast<std::size_t>(num_items_), 0);
    for (index_t i : items_) ++c[static_cast<std::size_t>(i)];
    return c;
  }

 private:
  static std::uint64_t next_content_id() {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  index_t num_users_ = 0;
  index_t num_items_ = 0;
  std::vector<offset_t> offsets_{0};
  std::vector<index_t> items_;
  std::uint64_t content_id_ = 0;  ///< 0: the empty default-constructed sets
};

}  // namespace gatrec
