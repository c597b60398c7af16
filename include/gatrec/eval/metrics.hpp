#pragma once

/// @file
/// @brief Per-user ranking metrics with binary relevance, as functions of one user's hit flags.
///
/// Every metric is a function of the flags `hits[p]` (1 when the item at rank p + 1 is relevant), of
/// the cut-off k and, for the recall-like ones, of |R_u|, the user's number of relevant items. Both
/// protocols (full_ranking.hpp and paper_protocol.hpp) build the flags their own way and share these
/// formulas, so they differ only where their definitions differ. Only the first min(k, hits.size())
/// flags are read. A user with |R_u| = 0 gets 0 from the normalised metrics; protocols skip such
/// users before averaging.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gatrec/core/types.hpp"
#include "gatrec/eval/ranked_lists.hpp"
#include "gatrec/eval/user_item_sets.hpp"

namespace gatrec {

/// Relevance flags of the leading positions of one ranked list: hits[p] != 0 when rank p + 1 is a hit.
using hit_flags = std::vector<std::uint8_t>;

/// The hit flags of the first min(k, list.size()) items of `list` against the sorted `relevant`.
inline hit_flags mark_hits(list_view list, item_span relevant, int k) {
  const int n = std::max(0, std::min(k, list.size()));
  hit_flags hits(static_cast<std::size_t>(n));
  for (int p = 0; p < n; ++p) hits[static_cast<std::size_t>(p)] = relevant.contains(list[p]) ? 1 : 0;
  return hits;
}

namespace detail {
inline int flags_within(const hit_flags& hits, int k) {
  return std::max(0, std::min(k, static_cast<int>(hits.size())));
}
}  // namespace detail

/// Number of hits among the first k ranks.
inline int count_hits(const hit_flags& hits, int k) {
  const int n = detail::flags_within(hits, k);
  int c = 0;
  for (int p = 0; p < n; ++p) c += hits[static_cast<std::size_t>(p)] != 0;
  return c;
}

/// Precision@k = hits / k. The divisor is k even when the list is shorter (fewer than k candidates):
/// a slot left empty is a slot that recommended nothing relevant.
inline double precision_at(const hit_flags& hits, int k) {
  return k > 0 ? static_cast<double>(count_hits(hits, k)) / k : 0.0;
}

/// Recall@k = hits / |R_u|.
inline double recall_at(const hit_flags& hits, int k, offset_t num_relevant) {
  return num_relevant > 0 ? static_cast<double>(count_hits(hits, k)) / static_cast<double>(num_relevant) : 0.0;
}

/// Hit@k: 1 when at least one of the first k ranks is relevant.
inline double hit_at(const hit_flags& hits, int k) { return count_hits(hits, k) > 0 ? 1.0 : 0.0; }

/// Reciprocal rank within k: 1 / (rank of the first hit), 0 without a hit in the first k ranks.
inline double reciprocal_rank_at(const hit_flags& hits, int k) {
  const int n = detail::flags_within(hits, k);
  for (int p = 0; p < n; ++p)
    if (hits[static_cast<std::size_t>(p)]) return 1.0 / (p + 1);
  return 0.0;
}

/// The gain discount of 1-based rank r: 1 / log2(r + 1).
inline double rank_discount(int rank) { return 1.0 / std::log2(static_cast<double>(rank) + 1.0); }

/// DCG@k = sum over hits at 1-based rank r <= k of 1 / log2(r + 1).
inline double dcg_at(const hit_flags& hits, int k) {
  const int n = detail::flags_within(hits, k);
  double dcg = 0.0;
  for (int p = 0; p < n; ++p)
    if (hits[static_cast<std::size_t>(p)]) dcg += rank_discount(p + 1);
  return dcg;
}

/// DCG of an ideal list that starts with m hits: sum for r = 1..m of 1 / log2(r + 1).
inline double ideal_dcg(offset_t m) {
  double idcg = 0.0;
  for (offset_t r = 1; r <= m; ++r) idcg += rank_discount(static_cast<int>(r));
  return idcg;
}

/// NDCG@k = DCG@k / IDCG, with IDCG over min(|R_u|, k) leading hits: the best any list of k items
/// could do for this user.
inline double ndcg_at(const hit_flags& hits, int k, offset_t num_relevant) {
  const double idcg = ideal_dcg(std::min<offset_t>(num_relevant, k));
  return idcg > 0.0 ? dcg_at(hits, k) / idcg : 0.0;
}

/// Sum over hits at 1-based rank r <= k of (hits among ranks 1..r) / r: the numerator of average
/// precision, left unnormalised because the protocols divide it differently.
inline double precision_sum_at(const hit_flags& hits, int k) {
  const int n = detail::flags_within(hits, k);
  double sum = 0.0;
  int so_far = 0;
  for (int p = 0; p < n; ++p)
    if (hits[static_cast<std::size_t>(p)]) sum += static_cast<double>(++so_far) / (p + 1);
  return sum;
}

/// AP@k = precision_sum_at / min(|R_u|, k). Normalising by min(|R_u|, k) rather than |R_u| makes a
/// perfect top-k list score 1 even for a user with more than k relevant items (the convention of
/// RecBole and of most recent papers; the rated-only protocol divides by |R_u| instead).
inline double average_precision_at(const hit_flags& hits, int k, offset_t num_relevant) {
  const offset_t denom = std::min<offset_t>(num_relevant, k);
  return denom > 0 ? precision_sum_at(hits, k) / static_cast<double>(denom) : 0.0;
}

}  // namespace gatrec
