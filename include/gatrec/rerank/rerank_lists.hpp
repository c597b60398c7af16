#pragma once

/// @file
/// @brief Re-ranking a base model's ranked lists: each chosen user's first N items are permuted by
/// a strategy, every other position (N+1.. of the list) and every other user keep the base order,
/// so the result goes through the same evaluators (evaluate_rated_only, evaluate_full_ranking) as
/// the base lists.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/eval/ranked_lists.hpp"
#include "gatrec/rerank/chat.hpp"
#include "gatrec/rerank/prompts.hpp"
#include "gatrec/rerank/strategies.hpp"

namespace gatrec {

/// The texts the prompts are built from, by index.
struct rerank_corpus {
  std::vector<std::string> user_texts;  ///< by user index: the user's taste (compact_profile_text)
  std::vector<rerank_item> items;       ///< by item index
};

/// User u's re-ranking problem: its text and the first `top_n` items of its base list.
/// @throw logic_error when u or one of its items has no text in the corpus
inline rerank_query make_rerank_query(const rerank_corpus& corpus, const ranked_lists& base, index_t u, int top_n) {
  GATREC_EXPECTS(u >= 0 && u < base.num_users, "user " + std::to_string(u) + " outside the lists");
  GATREC_EXPECTS(static_cast<std::size_t>(u) < corpus.user_texts.size(), "user " + std::to_string(u) + " has no text");
  rerank_query q;
  q.user_text = corpus.user_texts[static_cast<std::size_t>(u)];
  q.key = static_cast<std::uint64_t>(u);
  for (const index_t i : base.list(u).first(top_n)) {
    GATREC_EXPECTS(i >= 0 && static_cast<std::size_t>(i) < corpus.items.size(), "item " + std::to_string(i) + " has no text");
    q.candidates.push_back(corpus.items[static_cast<std::size_t>(i)]);
  }
  return q;
}

/// Permutes the first order.size() items of u's list: new position p gets the item that was at
/// position order[p].
/// @throw logic_error when order is not a permutation of 0..n-1 or longer than the list
inline void apply_rerank_order(ranked_lists& lists, index_t u, const std::vector<int>& order) {
  const int n = static_cast<int>(order.size());
  GATREC_EXPECTS(u >= 0 && u < lists.num_users, "user " + std::to_string(u) + " outside the lists");
  GATREC_EXPECTS(n <= lists.length(u), "an order of " + std::to_string(n) + " for a list of " + std::to_string(lists.length(u)));
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  for (const int k : order) {
    GATREC_EXPECTS(k >= 0 && k < n && !seen[static_cast<std::size_t>(k)], "the order is not a permutation");
    seen[static_cast<std::size_t>(k)] = 1;
  }
  index_t* row = lists.row(u);
  const std::vector<index_t> head(row, row + n);
  for (int p = 0; p < n; ++p) row[p] = head[static_cast<std::size_t>(order[static_cast<std::size_t>(p)])];
}

/// Called after each user: (user, its outcome).
using rerank_progress = std::function<void(index_t, const rerank_outcome&)>;

/// Re-ranks the top `options.top_n` of each listed user with one strategy; the other users and
/// positions keep the base order.
/// @param base the base model's lists
/// @param users users to re-rank (others are copied as they are)
/// @param counts receives the sum of the users' counts
/// @param progress optional, called after each user
inline ranked_lists rerank_lists(const ranked_lists& base, const std::vector<index_t>& users, const rerank_corpus& corpus,
                                 rerank_strategy strategy, limited_chat& chat, const rerank_options& options,
                                 rerank_counts& counts, const rerank_progress& progress = nullptr) {
  options.validate();
  ranked_lists out = base;
  for (const index_t u : users) {
    const rerank_query q = make_rerank_query(corpus, base, u, options.top_n);
    const rerank_outcome r = rerank_user(strategy, q, chat, options);
    apply_rerank_order(out, u, r.order);
    counts += r.counts;
    if (progress) progress(u, r);
  }
  return out;
}

}  // namespace gatrec
