#pragma once

/// @file
/// @brief Are the cited items what the model's score actually rests on? A deletion test: for a
/// recommendation (u, i), remove the edges between u and the k cited items (both directions),
/// recompute the embeddings with the trained model on the edited graph (same parameters: the
/// encoder is inductive), and record how much s(u, i) drops; do the same for k items drawn at
/// random among u's other rated items. Over many pairs, faithful evidence drops the score more than
/// random evidence: reported as the two mean drops, the share of pairs where cited > random, an
/// exact two-sided sign test and a bootstrap interval of the mean paired difference.
///
/// The edited graph is csr_graph::without_edges: exactly the graph the model would have been
/// given had u never rated those items (self-loop features, the mean of a node's ratings, are
/// recomputed). One deletion costs one graph copy, O(E), and one full forward pass.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/explain/attention_rollout.hpp"
#include "gatrec/explain/evidence.hpp"
#include "gatrec/graph/bipartite_graph.hpp"
#include "gatrec/graph/csr_graph.hpp"
#include "gatrec/models/gat_recommender.hpp"

namespace gatrec {

/// Options of the deletion test.
struct faithfulness_options {
  std::size_t k = 2;           ///< items removed per pair (cited, and random)
  std::uint64_t seed = 7;      ///< the random items of pair (u, i) are drawn from (seed, u, i) alone
  evidence_options evidence;   ///< how items are cited (max_items is replaced by k)
};

/// One pair's result.
struct pair_faithfulness {
  index_t user = 0;
  index_t item = 0;
  double score = 0.0;                ///< s(u, i) on the full graph
  std::vector<index_t> cited;        ///< the k cited items, heaviest first
  std::vector<index_t> random;       ///< the k random items
  double cited_score = 0.0;          ///< s(u, i) without u's edges to the cited items
  double random_score = 0.0;         ///< s(u, i) without u's edges to the random items
  /// Rank of i by s(u, .) among the items u has not rated in the model's graph (1 = first), on the
  /// full graph and on the two edited ones: a scale-free view of the same drops.
  index_t rank = 0, cited_rank = 0, random_rank = 0;

  double cited_drop() const { return score - cited_score; }
  double random_drop() const { return score - random_score; }
};

/// The study's figures.
struct faithfulness_summary {
  std::size_t pairs = 0;
  double cited_rank_lost = 0.0;       ///< share of pairs where i falls in rank without the cited items
  double random_rank_lost = 0.0;      ///< same without the random items
  double mean_rank = 0.0, mean_cited_rank = 0.0, mean_random_rank = 0.0;
  double mean_score = 0.0;            ///< mean s(u, i) on the full graph
  double mean_cited_drop = 0.0;
  double mean_random_drop = 0.0;
  double mean_difference = 0.0;       ///< mean of cited_drop - random_drop
  double ci_low = 0.0, ci_high = 0.0; ///< bootstrap percentile interval of mean_difference
  double confidence = 0.95;
  std::size_t cited_greater = 0;      ///< pairs where the cited drop is larger
  std::size_t random_greater = 0;
  std::size_t ties = 0;
  double fraction_cited_greater = 0.0;  ///< cited_greater / pairs
  double sign_test_p = 1.0;           ///< exact two-sided sign test on the non-tied pairs
};

/// Embeddings of a trained recommender on edited copies of its graph (its own context and graph
/// are left untouched).
template <class Scalar>
class edited_graph_scorer {
 public:
  /// @param model a trained model; it must outlive the scorer
  explicit edited_graph_scorer(gat_recommender<Scalar>& model) : model_(model) {
    GATREC_EXPECTS(!model.options().normalize_output,
                   "explanations read the encoder's raw output; models with normalize_output are not supported");
  }

  /// Ids of every edge between `user` and `item`, in both directions.
  std::vector<offset_t> edges_between(index_t user, index_t item) const {
    const bipartite_graph& g = model_.graph();
    GATREC_EXPECTS(user >= 0 && user < g.num_users() && item >= 0 && item < g.num_items(),
                   "user or item index out of range");
    std::vector<offset_t> ids = g.graph().edge_ids(g.user_node(user), g.item_node(item));
    for (const offset_t e : g.graph().edge_ids(g.item_node(item), g.user_node(user))) ids.push_back(e);
    return ids;
  }

  /// Final embeddings (num_users + num_items, d) with every edge between `user` and each of
  /// `items` removed; valid until the next call.
  const matrix<Scalar>& embeddings_without(index_t user, const std::vector<index_t>& items) {
    std::vector<offset_t> removed;
    for (const index_t i : items)
      for (const offset_t e : edges_between(user, i)) removed.push_back(e);
    graph_ = model_.graph().graph().without_edges(removed);
    return model_.encoder().forward(graph_, model_.features().value, ctx_, run_mode{});
  }

  /// s(user, item) with every edge between `user` and each of `detached` removed.
  double score_without(index_t user, index_t item, const std::vector<index_t>& detached) {
    const matrix<Scalar>& h = embeddings_without(user, detached);
    const bipartite_graph& g = model_.graph();
    return h.row(g.user_node(user)).template cast<double>().dot(h.row(g.item_node(item)).template cast<double>());
  }

 private:
  gat_recommender<Scalar>& model_;
  csr_graph graph_;
  typename gat_model<Scalar>::context ctx_;
};

namespace detail {

/// k items drawn without replacement from `pool`, by a generator seeded from (seed, user, item).
inline std::vector<index_t> draw_items(std::vector<index_t> pool, std::size_t k, std::uint64_t seed, index_t user,
                                       index_t item) {
  std::sort(pool.begin(), pool.end());
  rng gen(mix64(seed ^ mix64(static_cast<std::uint64_t>(user) * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(item))));
  for (std::size_t j = 0; j < k && j < pool.size(); ++j)
    std::swap(pool[j], pool[j + static_cast<std::size_t>(gen.below(pool.size() - j))]);
  pool.resize(std::min(k, pool.size()));
  return pool;
}

/// Rank of `item` by <h_u, h_j> among the items `user` has not rated in `graph` (1 = best; ties
/// counted in the item's favour).
template <class Scalar>
index_t rank_among_unrated(const matrix<Scalar>& h, const bipartite_graph& graph, index_t user, index_t item) {
  const index_t un = graph.user_node(user);
  std::vector<char> rated(static_cast<std::size_t>(graph.num_items()), 0);
  const auto& off = graph.graph().in_offsets();
  const auto& src = graph.graph().in_sources();
  for (offset_t e = off[static_cast<std::size_t>(un)]; e < off[static_cast<std::size_t>(un) + 1]; ++e)
    if (!graph.is_user_node(src[static_cast<std::size_t>(e)]))
      rated[static_cast<std::size_t>(src[static_cast<std::size_t>(e)] - graph.num_users())] = 1;
  const auto hu = h.row(un).template cast<double>();
  const double target = hu.dot(h.row(graph.item_node(item)).template cast<double>());
  index_t rank = 1;
  for (index_t j = 0; j < graph.num_items(); ++j)
    if (j != item && !rated[static_cast<std::size_t>(j)] && hu.dot(h.row(graph.item_node(j)).template cast<double>()) > target)
      ++rank;
  return rank;
}

/// log C(n, j) - n log 2.
inline double log_binomial_half(std::size_t n, std::size_t j) {
  const double nn = static_cast<double>(n), jj = static_cast<double>(j);
  return std::lgamma(nn + 1) - std::lgamma(jj + 1) - std::lgamma(nn - jj + 1) - nn * std::log(2.0);
}

}  // namespace detail

/// Exact two-sided sign test: P(|X - n/2| >= |x - n/2|) for X ~ Binomial(n, 1/2).
/// @param successes x, the pairs in favour of one side
/// @param n the non-tied pairs
inline double sign_test_p_value(std::size_t successes, std::size_t n) {
  GATREC_EXPECTS(successes <= n, "more successes than trials");
  if (n == 0) return 1.0;
  const std::size_t extreme = std::max(successes, n - successes);
  // P(X >= extreme), summed from the smallest term up (log-sum-exp around the largest).
  const double top = detail::log_binomial_half(n, extreme);
  double tail = 0.0;
  for (std::size_t j = extreme; j <= n; ++j) tail += std::exp(detail::log_binomial_half(n, j) - top);
  const double p = 2.0 * std::exp(top) * tail;
  return std::min(1.0, 2 * extreme == n ? 1.0 : p);
}

/// Runs the deletion test on one pair, from the model's last forward pass on its own graph (call
/// model.forward(run_mode{}) first). Returns nothing when u has fewer than k liked items to cite or
/// fewer than k other rated items to draw from.
/// @throw logic_error on out-of-range indices or k = 0
template <class Scalar>
std::optional<pair_faithfulness> measure_faithfulness(gat_recommender<Scalar>& model, edited_graph_scorer<Scalar>& scorer,
                                                      index_t user, index_t item, const faithfulness_options& opt = {}) {
  GATREC_EXPECTS(opt.k > 0, "k must be positive");
  GATREC_EXPECTS(user >= 0 && user < model.num_users() && item >= 0 && item < model.num_items(),
                 "user or item index out of range");
  const auto& bg = model.graph();
  const auto layers = rollout_layers(model.encoder(), model.context(), bg.graph(), opt.evidence.rollout);
  const auto ru = attention_rollout(bg.graph(), layers, bg.user_node(user), opt.evidence.rollout);
  const auto ri = attention_rollout(bg.graph(), layers, bg.item_node(item), opt.evidence.rollout);
  const std::vector<cited_item> rated = weigh_rated_items(bg, ru, ri, user, opt.evidence,
                                                               recommender_signals(model, layers, user, item,
                                                                                   opt.evidence.weighting));
  pair_faithfulness r;
  r.user = user;
  r.item = item;
  for (const auto& c : rated)
    if (c.rating >= opt.evidence.like_threshold && r.cited.size() < opt.k) r.cited.push_back(c.item);
  if (r.cited.size() < opt.k) return std::nullopt;
  std::vector<index_t> pool;
  for (const auto& c : rated)
    if (std::find(r.cited.begin(), r.cited.end(), c.item) == r.cited.end()) pool.push_back(c.item);
  if (pool.size() < opt.k) return std::nullopt;
  r.random = detail::draw_items(std::move(pool), opt.k, opt.seed, user, item);
  r.score = embedding_score(model, user, item);
  r.rank = detail::rank_among_unrated(model.context().outputs.back(), bg, user, item);
  const auto score_in = [&](const matrix<Scalar>& h) {
    return h.row(bg.user_node(user)).template cast<double>().dot(h.row(bg.item_node(item)).template cast<double>());
  };
  const matrix<Scalar>& without_cited = scorer.embeddings_without(user, r.cited);
  r.cited_score = score_in(without_cited);
  r.cited_rank = detail::rank_among_unrated(without_cited, bg, user, item);
  const matrix<Scalar>& without_random = scorer.embeddings_without(user, r.random);
  r.random_score = score_in(without_random);
  r.random_rank = detail::rank_among_unrated(without_random, bg, user, item);
  return r;
}

/// The study's figures over measured pairs.
/// @param bootstrap resamples for the interval of the mean difference (0: no interval)
/// @param seed resampling seed
/// @param confidence interval coverage, in (0, 1)
inline faithfulness_summary summarize_faithfulness(const std::vector<pair_faithfulness>& pairs,
                                                   std::size_t bootstrap = 10000, std::uint64_t seed = 1,
                                                   double confidence = 0.95) {
  GATREC_EXPECTS(confidence > 0.0 && confidence < 1.0, "confidence must lie in (0, 1)");
  faithfulness_summary s;
  s.pairs = pairs.size();
  s.confidence = confidence;
  if (pairs.empty()) return s;
  const double n = static_cast<double>(pairs.size());
  std::vector<double> diff;
  diff.reserve(pairs.size());
  for (const auto& p : pairs) {
    s.cited_rank_lost += (p.cited_rank > p.rank ? 1.0 : 0.0) / n;
    s.random_rank_lost += (p.random_rank > p.rank ? 1.0 : 0.0) / n;
    s.mean_rank += static_cast<double>(p.rank) / n;
    s.mean_cited_rank += static_cast<double>(p.cited_rank) / n;
    s.mean_random_rank += static_cast<double>(p.random_rank) / n;
    s.mean_score += p.score / n;
    s.mean_cited_drop += p.cited_drop() / n;
    s.mean_random_drop += p.random_drop() / n;
    const double d = p.cited_drop() - p.random_drop();
    diff.push_back(d);
    s.mean_difference += d / n;
    if (d > 0)
      ++s.cited_greater;
    else if (d < 0)
      ++s.random_greater;
    else
      ++s.ties;
  }
  s.fraction_cited_greater = static_cast<double>(s.cited_greater) / n;
  s.sign_test_p = sign_test_p_value(s.cited_greater, s.cited_greater + s.random_greater);
  s.ci_low = s.ci_high = s.mean_difference;
  if (bootstrap > 0) {
    rng gen(seed);
    std::vector<double> means(bootstrap);
    for (auto& m : means) {
      double sum = 0.0;
      for (std::size_t j = 0; j < diff.size(); ++j) sum += diff[static_cast<std::size_t>(gen.below(diff.size()))];
      m = sum / n;
    }
    std::sort(means.begin(), means.end());
    const auto at = [&](double q) {
      const double pos = q * static_cast<double>(bootstrap - 1);
      return means[static_cast<std::size_t>(std::lround(pos))];
    };
    s.ci_low = at((1.0 - confidence) / 2.0);
    s.ci_high = at((1.0 + confidence) / 2.0);
  }
  return s;
}

}  // namespace gatrec
