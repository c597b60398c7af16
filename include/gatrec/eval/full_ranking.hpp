#pragma once

/// @file
/// @brief The standard full-ranking protocol: every item a user did not interact with in training is
/// a candidate, and metrics are averaged over the users with at least one relevant test item.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/eval/metric_table.hpp"
#include "gatrec/eval/metrics.hpp"
#include "gatrec/eval/ranked_lists.hpp"
#include "gatrec/eval/user_item_sets.hpp"

namespace gatrec {

/// Options of evaluate_full_ranking.
struct full_ranking_options {
  /// Cut-offs; each must be between 1 and the width of the lists.
  std::vector<int> ks{10, 20};
  /// A test item is relevant when its rating is >= this value. 4 suits explicit 1-5 star data;
  /// std::nullopt makes every test item relevant (implicit feedback).
  std::optional<float> relevance_threshold = 4.0f;
};

/// Evaluates ranked lists under the standard full-ranking protocol.
///
/// R_u = the test items of user u (with a rating >= the threshold, if one is set). Users with R_u
/// empty are skipped; every mean below runs over the remaining users, U_eval, whose number is
/// metric_table::num_users. For each cut-off K, with hits counted among the first K ranks of u's list:
/// - "recall@K"    = hits / |R_u|
/// - "precision@K" = hits / K (a list shorter than K counts its empty slots as misses)
/// - "ndcg@K"      = DCG@K / IDCG, DCG = sum over hits at rank r of 1 / log2(r + 1), IDCG the same sum
///                   over ranks 1..min(|R_u|, K)
/// - "hit@K"       = 1 when hits > 0
/// - "mrr@K"       = 1 / rank of the first hit within K, else 0
/// - "map@K"       = (sum over hits at rank r of hits-so-far / r) / min(|R_u|, K)
/// - "coverage@K"  = |union of the top-K lists of U_eval| / num_items (a catalogue figure; its user
///                   count is |U_eval|)
/// - "novelty@K"   = mean over U_eval with a non-empty list of the mean over u's top-K items of
///                   -log2(pop(i) / num_users), pop(i) = number of training users of item i; an item
///                   nobody had in training counts as pop = 1, the rarest observable
/// @param lists (num_users, >= max K) ranked lists with training items already excluded (top_k)
/// @param test test ratings by index
/// @param train each user's training items: gives num_users, num_items and the popularity
/// @param options cut-offs and relevance threshold
/// @throw logic_error on a bad cut-off or mismatched sizes
inline metric_table evaluate_full_ranking(const ranked_lists& lists, const rating_table& test,
                                          const user_item_sets& train,
                                          const full_ranking_options& options = full_ranking_options()) {
  const index_t num_users = train.num_users();
  const index_t num_items = train.num_items();
  GATREC_EXPECTS(lists.num_users == num_users, "lists have " + std::to_string(lists.num_users) +
                                                   " users, training sets " + std::to_string(num_users));
  GATREC_EXPECTS(!options.ks.empty(), "no cut-off given");
  for (int k : options.ks)
    GATREC_EXPECTS(k >= 1 && k <= lists.k, "cut-off " + std::to_string(k) + " outside [1, " +
                                               std::to_string(lists.k) + "] (the width of the lists)");
  const int max_k = *std::max_element(options.ks.begin(), options.ks.end());
  const user_item_sets relevant(num_users, num_items, test, options.relevance_threshold);

  // Self-information of every item, from its training popularity.
  const std::vector<index_t> popularity = train.item_counts();
  std::vector<double> self_information(static_cast<std::size_t>(num_items));
  for (std::size_t i = 0; i < self_information.size(); ++i)
    self_information[i] = -std::log2(static_cast<double>(std::max<index_t>(popularity[i], 1)) /
                                     static_cast<double>(std::max<index_t>(num_users, 1)));

  // Per-user values in parallel, then sums in user order: the result does not depend on threads.
  enum { recall, precision, ndcg, hit, mrr, map, novelty, per_k };
  const std::size_t nk = options.ks.size();
  std::vector<double> values(static_cast<std::size_t>(num_users) * nk * per_k, 0.0);
  parallel_for<index_t>(0, num_users, [&](index_t u) {
    const item_span r = relevant.items_of(u);
    if (r.empty()) return;
    const list_view list = lists.list(u);
    const hit_flags hits = mark_hits(list, r, max_k);
    for (std::size_t j = 0; j < nk; ++j) {
      const int k = options.ks[j];
      double* v = values.data() + (static_cast<std::size_t>(u) * nk + j) * per_k;
      v[recall] = recall_at(hits, k, r.size());
      v[precision] = precision_at(hits, k);
      v[ndcg] = ndcg_at(hits, k, r.size());
      v[hit] = hit_at(hits, k);
      v[mrr] = reciprocal_rank_at(hits, k);
      v[map] = average_precision_at(hits, k, r.size());
      const int n = std::min(k, list.size());
      double info = 0.0;
      for (int p = 0; p < n; ++p) info += self_information[static_cast<std::size_t>(list[p])];
      v[novelty] = n > 0 ? info / n : 0.0;
    }
  });

  metric_table table;
  for (index_t u = 0; u < num_users; ++u) table.num_users += relevant.count(u) > 0;
  for (std::size_t j = 0; j < nk; ++j) {
    const int k = options.ks[j];
    double sum[per_k] = {};
    index_t with_list = 0;
    std::vector<std::uint8_t> covered(static_cast<std::size_t>(num_items), 0);
    for (index_t u = 0; u < num_users; ++u) {
      if (relevant.count(u) == 0) continue;
      const double* v = values.data() + (static_cast<std::size_t>(u) * nk + j) * per_k;
      for (int m = 0; m < per_k; ++m) sum[m] += v[m];
      const list_view list = lists.list(u);
      const int n = std::min(k, list.size());
      with_list += n > 0;
      for (int p = 0; p < n; ++p) covered[static_cast<std::size_t>(list[p])] = 1;
    }
    const index_t users = table.num_users;
    auto mean = [](double s, index_t n) { return n > 0 ? s / n : 0.0; };
    table.set(metric_name("recall", k), mean(sum[recall], users), users);
    table.set(metric_name("precision", k), mean(sum[precision], users), users);
    table.set(metric_name("ndcg", k), mean(sum[ndcg], users), users);
    table.set(metric_name("hit", k), mean(sum[hit], users), users);
    table.set(metric_name("mrr", k), mean(sum[mrr], users), users);
    table.set(metric_name("map", k), mean(sum[map], users), users);
    const auto distinct = std::count(covered.begin(), covered.end(), std::uint8_t{1});
    table.set(metric_name("coverage", k), num_items > 0 ? static_cast<double>(distinct) / num_items : 0.0, users);
    table.set(metric_name("novelty", k), mean(sum[novelty], with_list), with_list);
  }
  return table;
}

}  // namespace gatrec
