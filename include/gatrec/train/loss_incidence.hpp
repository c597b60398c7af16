#pragma once

/// @file
/// @brief For every embedding row, the hybrid-loss terms that touch it, in the order
/// gatrec::hybrid_loss adds them: how the device loss sums each gradient row in a fixed order,
/// one warp per row, with no floating-point atomics (kernels/hybrid_loss.cuh).
///
/// hybrid_loss adds, for t = 0, 1, ...: the BPR term of triple t to rows u, i, j; then, for
/// p = 0, 1, ...: the cosine term of pair p to rows u and i. A row's entries here follow that
/// order, so a row summed entry by entry adds the same products in the same order as the CPU.

#include <cstdint>
#include <string>
#include <vector>

#include "gatrec/core/config.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/train/training_pairs.hpp"

namespace gatrec {

/// How a loss term touches a row.
enum class loss_role : std::uint32_t {
  bpr_user = 0,      ///< row u of triple t: += c_t (h_i - h_j)
  bpr_positive = 1,  ///< row i of triple t: += c_t h_u
  bpr_negative = 2,  ///< row j of triple t: -= c_t h_u
  cosine_user = 3,   ///< row u of pair p: += cross_p h_i + user_p h_u
  cosine_item = 4,   ///< row i of pair p: += cross_p h_u + item_p h_i
};

/// An entry packs the term's index (triple t or pair p) and the role: (index << 3) | role.
GATREC_HOST_DEVICE std::int64_t loss_entry(std::int64_t index, loss_role role) {
  return (index << 3) | static_cast<std::int64_t>(role);
}
GATREC_HOST_DEVICE loss_role loss_entry_role(std::int64_t entry) { return static_cast<loss_role>(entry & 7); }
GATREC_HOST_DEVICE std::int64_t loss_entry_index(std::int64_t entry) { return entry >> 3; }

/// Row-major lists: row r's entries are entries[offsets[r] .. offsets[r + 1]).
struct loss_incidence {
  std::vector<offset_t> offsets;
  std::vector<std::int64_t> entries;

  /// Checks what build() relies on: groups of pairs_per_positive triples, every row in range.
  /// @throw logic_error naming the triple and its row otherwise
  static void check(const training_triples& triples, index_t num_users, index_t num_rows, int pairs_per_positive) {
    GATREC_EXPECTS(pairs_per_positive >= 1, "pairs_per_positive must be at least 1");
    GATREC_EXPECTS(triples.size() % static_cast<std::size_t>(pairs_per_positive) == 0,
                   "triple count is not a multiple of pairs_per_positive");
    auto check_row = [&](index_t r, const char* what, std::size_t t) {
      if (r < 0 || r >= num_rows)
        detail::throw_logic_error("loss_incidence", std::string(what) + " of triple " + std::to_string(t) +
                                                        " is row " + std::to_string(r) + ", outside [0, " +
                                                        std::to_string(num_rows) + ")");
    };
    for (std::size_t t = 0; t < triples.size(); ++t) {
      check_row(triples.user[t], "user", t);
      check_row(num_users + triples.positive[t], "positive item", t);
      check_row(num_users + triples.negative[t], "negative item", t);
    }
  }

  /// @param num_rows users + items (the embedding rows)
  /// @param with_cosine whether the cosine term is on (its weight is not 0)
  /// @throw logic_error when check() fails
  static loss_incidence build(const training_triples& triples, index_t num_users, index_t num_rows,
                              int pairs_per_positive, bool with_cosine) {
    check(triples, num_users, num_rows, pairs_per_positive);
    const std::size_t t_count = triples.size();
    const std::size_t p_count = t_count / static_cast<std::size_t>(pairs_per_positive);
    auto row_of = [](index_t r) { return static_cast<std::size_t>(r); };
    loss_incidence inc;
    inc.offsets.assign(static_cast<std::size_t>(num_rows) + 1, 0);
    // Counting sort: count, prefix-sum, then fill in hybrid_loss's order.
    auto visit = [&](auto&& add) {
      for (std::size_t t = 0; t < t_count; ++t) {
        add(row_of(triples.user[t]), loss_entry(static_cast<std::int64_t>(t), loss_role::bpr_user));
        add(row_of(num_users + triples.positive[t]),
            loss_entry(static_cast<std::int64_t>(t), loss_role::bpr_positive));
        add(row_of(num_users + triples.negative[t]),
            loss_entry(static_cast<std::int64_t>(t), loss_role::bpr_negative));
      }
      if (!with_cosine) return;
      for (std::size_t p = 0; p < p_count; ++p) {
        const std::size_t t = p * static_cast<std::size_t>(pairs_per_positive);
        add(row_of(triples.user[t]), loss_entry(static_cast<std::int64_t>(p), loss_role::cosine_user));
        add(row_of(num_users + triples.positive[t]),
            loss_entry(static_cast<std::int64_t>(p), loss_role::cosine_item));
      }
    };
    visit([&](std::size_t r, std::int64_t) { ++inc.offsets[r + 1]; });
    for (std::size_t r = 0; r < static_cast<std::size_t>(num_rows); ++r) inc.offsets[r + 1] += inc.offsets[r];
    inc.entries.resize(static_cast<std::size_t>(inc.offsets.back()));
    std::vector<offset_t> cursor(inc.offsets.begin(), inc.offsets.end() - 1);
    visit([&](std::size_t r, std::int64_t e) { inc.entries[static_cast<std::size_t>(cursor[r]++)] = e; });
    return inc;
  }
};

}  // namespace gatrec
