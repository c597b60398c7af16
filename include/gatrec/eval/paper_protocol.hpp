#pragma once

/// @file
/// @brief The paper's "rated-only" protocol (PAPER.md, "Evaluation protocols"): a ranked list is
/// first reduced to the items the user rated in the test set, then scored.
///
/// Dropping every recommended item without a test rating means a model is judged only on how it
/// orders the few items the user happened to rate, most of which (56% of the ratings in ML-100K u1.test) are
/// relevant. Precision, NDCG and MAP are inflated by it: a most-popular ranker already reaches
/// P@10 = 0.692. Recall is unaffected (the filter never removes a hit), so recall@K equals the
/// full-ranking figure on the same lists. Use it to compare with the paper; use full_ranking.hpp
/// to compare with the rest of the literature.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/eval/metric_table.hpp"
#include "gatrec/eval/metrics.hpp"
#include "gatrec/eval/ranked_lists.hpp"
#include "gatrec/eval/user_item_sets.hpp"

namespace gatrec {

/// Options of evaluate_rated_only.
struct rated_only_options {
  /// Cut-offs; each must be between 1 and the width of the lists. The paper uses 10 and 20.
  std::vector<int> ks{10, 20};
  /// A test item is relevant when its rating is >= this value (4 in the paper).
  float relevance_threshold = 4.0f;
};

/// The users with fewer than `max_ratings` training ratings (ratings counted, not distinct items),
/// ascending: the paper's cold-start subset (max_ratings = 10; 6 users on ML-100K u1).
/// @param train training ratings by index
/// @param num_users size of the user index space; every rating's user must be below it
/// @param max_ratings exclusive bound on a user's number of training ratings
/// @throw logic_error when a rating's user is out of range
inline std::vector<index_t> cold_start_users(const rating_table& train, index_t num_users, offset_t max_ratings = 10) {
  GATREC_EXPECTS(num_users >= 0, "negative user count");
  std::vector<offset_t> count(static_cast<std::size_t>(num_users), 0);
  for (std::size_t r = 0; r < train.size(); ++r) {
    const index_t u = train.user[r];
    GATREC_EXPECTS(u >= 0 && u < num_users, "rating " + std::to_string(r) + " has user index " + std::to_string(u) +
                                                " outside [0, " + std::to_string(num_users) + ")");
    ++count[static_cast<std::size_t>(u)];
  }
  std::vector<index_t> users;
  for (index_t u = 0; u < num_users; ++u)
    if (count[static_cast<std::size_t>(u)] < max_ratings) users.push_back(u);
  return users;
}

namespace detail {

inline metric_table rated_only(const ranked_lists& lists, const rating_table& test,
                               const std::vector<std::uint8_t>& selected, const rated_only_options& options) {
  const index_t num_users = lists.num_users;
  GATREC_EXPECTS(!options.ks.empty(), "no cut-off given");
  for (int k : options.ks)
    GATREC_EXPECTS(k >= 1 && k <= lists.k, "cut-off " + std::to_string(k) + " outside [1, " +
                                               std::to_string(lists.k) + "] (the width of the lists)");
  for (std::size_t r = 0; r < test.size(); ++r)
    GATREC_EXPECTS(test.user[r] >= 0 && test.user[r] < num_users,
                   "test rating " + std::to_string(r) + " has user index " + std::to_string(test.user[r]) +
                       " outside the lists' [0, " + std::to_string(num_users) + ")");
  // Only membership matters, so the item space is whatever the test set and the lists reach.
  index_t num_items = 0;
  for (index_t i : test.item) num_items = std::max(num_items, i + 1);
  for (index_t i : lists.items) num_items = std::max(num_items, i + 1);
  const user_item_sets rated(num_users, num_items, test);
  const user_item_sets relevant(num_users, num_items, test, options.relevance_threshold);

  metric_table table;
  for (index_t u = 0; u < num_users; ++u)
    table.num_users += selected[static_cast<std::size_t>(u)] && rated.count(u) > 0;

  for (int k : options.ks) {
    double precision = 0, recall = 0, ndcg = 0, map = 0;
    index_t n_precision = 0, n_recall = 0, n_ndcg = 0, n_map = 0;
    hit_flags hits;
    for (index_t u = 0; u < num_users; ++u) {
      if (!selected[static_cast<std::size_t>(u)]) continue;
      const item_span t = rated.items_of(u), r = relevant.items_of(u);
      // L: the first k items of the list that have a test rating, in their original order.
      hits.clear();
      for (index_t i : lists.list(u).first(k))
        if (t.contains(i)) hits.push_back(r.contains(i) ? 1 : 0);
      const int len = static_cast<int>(hits.size());
      const int h = count_hits(hits, k);
      if (len > 0) {
        precision += static_cast<double>(h) / len;
        ++n_precision;
      }
      if (!r.empty()) {
        recall += recall_at(hits, k, r.size());
        ++n_recall;
      }
      if (len > 0 && !r.empty()) {
        ndcg += ndcg_at(hits, k, r.size());  // IDCG over min(|R_u|, k), not over |L|
        ++n_ndcg;
      }
      if (h > 0) {
        map += precision_sum_at(hits, k) / static_cast<double>(r.size());  // divided by |R_u|
        ++n_map;
      }
    }
    auto mean = [](double s, index_t n) { return n > 0 ? s / n : 0.0; };
    table.set(metric_name("precision", k), mean(precision, n_precision), n_precision);
    table.set(metric_name("recall", k), mean(recall, n_recall), n_recall);
    table.set(metric_name("ndcg", k), mean(ndcg, n_ndcg), n_ndcg);
    table.set(metric_name("map", k), mean(map, n_map), n_map);
  }
  return table;
}

}  // namespace detail

/// Evaluates ranked lists under the paper's rated-only protocol, over every user.
///
/// T_u = u's test items (any rating), R_u = those rated >= the threshold, L = the first K items of
/// u's list that are in T_u, in list order, hits = |L ∩ R_u|. Then, each mean over its own users:
/// - "precision@K" = hits / |L|, over users with L non-empty
/// - "recall@K"    = hits / |R_u|, over users with R_u non-empty
/// - "ndcg@K"      = DCG(L) / IDCG, DCG = sum over hits at position p of L of 1 / log2(p + 1), IDCG =
///                   sum for p = 1..min(|R_u|, K) of 1 / log2(p + 1), over users with L and R_u
///                   non-empty
/// - "map@K"       = (sum over hits at position p of L of hits-so-far / p) / |R_u|, over users with
///                   at least one hit
/// Each entry's user count says how many users its mean ran over; metric_table::num_users is the
/// number of users with a test rating.
/// @param lists (num_users, >= max K) ranked lists, training items excluded (the paper uses top-50)
/// @param test every test rating by index (not only the relevant ones: the filter needs them all)
/// @param options cut-offs and relevance threshold
/// @throw logic_error on a bad cut-off or a test user outside the lists
inline metric_table evaluate_rated_only(const ranked_lists& lists, const rating_table& test,
                                        const rated_only_options& options = rated_only_options()) {
  return detail::rated_only(lists, test, std::vector<std::uint8_t>(static_cast<std::size_t>(lists.num_users), 1),
                            options);
}

/// The rated-only protocol restricted to a subset of users (for example cold_start_users()): every
/// mean runs only over the listed users, with the same per-metric conditions.
/// @param users user indices; order and repetitions do not matter
/// @throw logic_error on a bad cut-off, a user outside the lists, or a test user outside the lists
inline metric_table evaluate_rated_only(const ranked_lists& lists, const rating_table& test,
                                        const std::vector<index_t>& users,
                                        const rated_only_options& options = rated_only_options()) {
  std::vector<std::uint8_t> selected(static_cast<std::size_t>(lists.num_users), 0);
  for (index_t u : users) {
    GATREC_EXPECTS(u >= 0 && u < lists.num_users,
                   "user " + std::to_string(u) + " outside [0, " + std::to_string(lists.num_users) + ")");
    selected[static_cast<std::size_t>(u)] = 1;
  }
  return detail::rated_only(lists, test, selected, options);
}

}  // namespace gatrec
