#pragma once

/// @file
/// @brief The four LLM re-ranking strategies of PAPER.md step 8, over one user's top-N candidates
/// from the base model (best first). Each returns a permutation of the candidates and what it cost.
///
/// - listwise: one prompt with all N candidates labelled [1]..[N]; the reply is read as a ranking
///   (parse_ranking: ids or titles; duplicates dropped, unknown ids ignored, missing candidates
///   appended in the base order; a repaired reply counts in `repaired`).
/// - pairwise: binary-search-tree insertion. Candidates are inserted in base order (the base top-1
///   is the root); a newcomer walks down from the root, asking "which would the viewer enjoy more"
///   against each node it meets, going left (ahead) when the model prefers it and right otherwise;
///   the result is the in-order walk. Which of the two movies is shown as "A" is a seeded coin flip
///   per (seed, user, pair), so a model that always answers "A" adds noise, not a bias towards one
///   side that would degenerate the tree into a chain of N(N-1)/2 calls. A comparison the model
///   does not answer usably, or that a call limit forbids, is decided by the base order (the earlier
///   candidate wins): once the budget is spent the remaining candidates therefore end up after all
///   inserted ones, in base order. Answers are memoised per user (a single insertion pass never
///   asks the same pair twice; the memo makes that a guarantee, not an accident of the walk).
/// - batches: RankGPT-style sliding windows. A window of `window` (5) consecutive positions moves
///   from the bottom of the list to the top in steps of `stride` (3): windows start at N - 5,
///   N - 8, ..., and the last one at 0 (for N = 20: 15, 12, 9, 6, 3, 0; six calls). Each window is
///   re-ranked by a listwise prompt over its 5 current occupants, and the next window (which shares
///   5 - 3 = 2 positions with it) sees the result, so a strong candidate can climb the whole list in
///   one pass. `passes` repeats the sweep. An unusable reply leaves its window as it is.
/// - scored: one prompt per candidate asks for a 1-100 score s. With r the candidate's 0-based base
///   position and N the list length, its fused value is
///       f = w * (1 - r / (N - 1)) + (1 - w) * s / 100,     w = gat_weight = 0.8 (N = 1: first term w)
///   and candidates are sorted by f, descending, ties kept in base order. A candidate without a
///   usable score (no number, a number outside [1, 100], a failed call, a spent budget) gets the
///   mean of the user's usable scores, so it neither gains nor loses against the others on the
///   LLM's term; with no usable score at all the user keeps the base order.
///
/// Pairwise, batches and scored give a user up (base order, no more calls) when its first
/// `give_up_after` (4) replies are all unusable.
///
/// All four send temperature 0 and a fixed seed, so a rerun with the chat client's disk cache asks
/// the server nothing. A user for whom nothing usable came back keeps the base order and is counted
/// in fallback_users; malformed replies are counted one by one.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/rerank/chat.hpp"
#include "gatrec/rerank/parse.hpp"
#include "gatrec/rerank/prompts.hpp"

namespace gatrec {

/// The re-ranking strategies.
enum class rerank_strategy { listwise, pairwise, batches, scored };

/// The name used on command lines: "listwise", "pairwise", "batches", "scored".
inline const char* to_string(rerank_strategy s) {
  switch (s) {
    case rerank_strategy::listwise: return "listwise";
    case rerank_strategy::pairwise: return "pairwise";
    case rerank_strategy::batches: return "batches";
    case rerank_strategy::scored: return "scored";
  }
  return "?";
}

/// Parses "listwise", "pairwise", "batches" or "scored".
/// @throw logic_error for any other name
inline rerank_strategy parse_rerank_strategy(std::string_view name) {
  if (name == "listwise") return rerank_strategy::listwise;
  if (name == "pairwise") return rerank_strategy::pairwise;
  if (name == "batches") return rerank_strategy::batches;
  if (name == "scored") return rerank_strategy::scored;
  detail::throw_logic_error(__func__, "unknown re-ranking strategy '" + std::string(name) +
                                          "' (expected listwise, pairwise, batches or scored)");
}

/// Settings of the strategies.
struct rerank_options {
  int top_n = 20;           ///< candidates re-ranked per user (the base model's first N)
  int window = 5;           ///< batches: window length
  int stride = 3;           ///< batches: step between windows (window - stride positions overlap)
  int passes = 1;           ///< batches: sweeps from the bottom to the top
  double gat_weight = 0.8;  ///< scored: w of the fusion (the GAT rank's share)
  std::size_t max_calls_per_user = 0;  ///< per user and strategy; 0: no limit
  /// pairwise, batches, scored: a user whose first `give_up_after` replies are all unusable
  /// (malformed or failed calls) gets no more calls and keeps the base order; 0: never give up.
  /// Without it a model that never answers usably costs pairwise N(N-1)/2 calls per user.
  std::size_t give_up_after = 4;
  double temperature = 0.0;            ///< sent with every request
  std::int64_t seed = 42;              ///< sent with every request; also keys the pairwise A/B order
  rerank_prompt_options prompt;        ///< templates and how items are described

  /// @throw logic_error for a setting out of range
  void validate() const {
    GATREC_EXPECTS(top_n >= 1, "top_n must be at least 1");
    GATREC_EXPECTS(window >= 2, "the window must hold at least 2 candidates");
    GATREC_EXPECTS(stride >= 1 && stride <= window, "the stride must lie in [1, window]");
    GATREC_EXPECTS(passes >= 1, "passes must be at least 1");
    GATREC_EXPECTS(gat_weight >= 0 && gat_weight <= 1, "gat_weight must lie in [0, 1]");
  }
};

/// One user's re-ranking.
struct rerank_outcome {
  /// A permutation of 0..N-1: new position p holds the candidate at base position order[p].
  std::vector<int> order;
  rerank_counts counts;        ///< what this user cost (users = 1)
  std::vector<double> scores;  ///< scored: each candidate's usable score, NaN when none; else empty
  std::vector<double> fused;   ///< scored: each candidate's fused value; else empty
};

namespace detail {

inline std::vector<int> identity_order(std::size_t n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

/// Sends one request; on no reply, records whether a limit (rather than an error) was the cause.
inline std::optional<std::string> rerank_ask(limited_chat& chat, std::vector<rerank_message> messages, int max_tokens,
                                             const rerank_options& o, rerank_outcome& out, bool& budget_hit) {
  rerank_request request;
  request.messages = std::move(messages);
  request.max_tokens = max_tokens;
  request.temperature = o.temperature;
  request.seed = o.seed;
  if (!chat.can_call()) {
    budget_hit = true;
    return std::nullopt;
  }
  return chat.ask(request, out.counts);
}

inline void finish_outcome(rerank_outcome& out, bool usable, bool budget_hit) {
  if (!usable) {
    out.order = identity_order(out.order.size());
    ++out.counts.fallback_users;
  }
  if (budget_hit) ++out.counts.budget_limited;
  out.counts.changed_users = out.order != identity_order(out.order.size()) ? 1 : 0;
}

/// True when a user's first replies were all unusable and there were give_up_after of them.
inline bool giving_up(const rerank_outcome& out, std::size_t usable, const rerank_options& o) {
  return o.give_up_after > 0 && usable == 0 && out.counts.malformed + out.counts.call_errors >= o.give_up_after;
}

inline std::vector<std::string> titles_of(const std::vector<const rerank_item*>& items) {
  std::vector<std::string> t;
  for (const rerank_item* i : items) t.push_back(i->title);
  return t;
}

/// Reply length for a ranking of n labels: "[12] > " is about 5 tokens.
inline int ranking_max_tokens(std::size_t n) { return static_cast<int>(6 * n + 16); }

inline std::size_t candidate_count(const rerank_query& q, const rerank_options& o) {
  return std::min(q.candidates.size(), static_cast<std::size_t>(o.top_n));
}

}  // namespace detail

/// Listwise: one prompt over all candidates (see the file comment).
inline rerank_outcome rerank_listwise(const rerank_query& q, limited_chat& chat, const rerank_options& o) {
  o.validate();
  const std::size_t n = detail::candidate_count(q, o);
  rerank_outcome out;
  out.order = detail::identity_order(n);
  out.counts.users = 1;
  if (n < 2) return out;
  chat.start_user(o.max_calls_per_user);
  std::vector<const rerank_item*> items;
  for (std::size_t k = 0; k < n; ++k) items.push_back(&q.candidates[k]);
  bool budget_hit = false, usable = false;
  if (const auto reply =
          detail::rerank_ask(chat, ranking_prompt(q.user_text, items, o.prompt), detail::ranking_max_tokens(n), o, out, budget_hit)) {
    const ranking_parse r = parse_ranking(*reply, detail::titles_of(items));
    if (r.usable()) {
      usable = true;
      out.order = r.order;
      out.counts.repaired += r.repaired();
    } else {
      ++out.counts.malformed;
    }
  }
  detail::finish_outcome(out, usable, budget_hit);
  return out;
}

/// Pairwise comparisons inserted into a binary search tree (see the file comment).
inline rerank_outcome rerank_pairwise(const rerank_query& q, limited_chat& chat, const rerank_options& o) {
  o.validate();
  const std::size_t n = detail::candidate_count(q, o);
  rerank_outcome out;
  out.order = detail::identity_order(n);
  out.counts.users = 1;
  if (n < 2) return out;
  chat.start_user(o.max_calls_per_user);
  bool budget_hit = false;
  std::size_t answered = 0;
  std::map<std::pair<int, int>, bool> memo;  // (earlier, later) -> the later candidate wins
  // True when candidate `later` should rank ahead of `earlier` (earlier < later in base order).
  const auto later_wins = [&](int earlier, int later) -> bool {
    const auto key = std::make_pair(earlier, later);
    if (const auto it = memo.find(key); it != memo.end()) {
      ++out.counts.memo_hits;
      return it->second;
    }
    const std::uint64_t pair = static_cast<std::uint64_t>(earlier) * 1000003u + static_cast<std::uint64_t>(later);
    const bool later_is_a = (mix64(static_cast<std::uint64_t>(o.seed) ^ mix64(q.key ^ mix64(pair))) & 1u) != 0;
    const rerank_item& a = q.candidates[static_cast<std::size_t>(later_is_a ? later : earlier)];
    const rerank_item& b = q.candidates[static_cast<std::size_t>(later_is_a ? earlier : later)];
    bool result = false;  // the base order, unless the model says otherwise
    if (detail::giving_up(out, answered, o)) return result;  // not memoised: nothing was asked
    if (const auto reply = detail::rerank_ask(chat, pairwise_prompt(q.user_text, a, b, o.prompt), 4, o, out, budget_hit)) {
      if (const auto choice = parse_choice(*reply, a.title, b.title)) {
        ++answered;
        result = (*choice == 0) == later_is_a;
      } else {
        ++out.counts.malformed;
      }
    }
    memo.emplace(key, result);
    return result;
  };
  struct node {
    int candidate, left = -1, right = -1;
  };
  std::vector<node> tree{node{0}};
  for (int c = 1; c < static_cast<int>(n); ++c) {
    int at = 0;
    for (;;) {
      int& next = later_wins(tree[static_cast<std::size_t>(at)].candidate, c) ? tree[static_cast<std::size_t>(at)].left
                                                                                : tree[static_cast<std::size_t>(at)].right;
      if (next < 0) {
        next = static_cast<int>(tree.size());
        tree.push_back(node{c});
        break;
      }
      at = next;
    }
  }
  // In-order walk, iteratively (a degenerate tree is N deep).
  out.order.clear();
  std::vector<int> stack;
  for (int at = 0; at >= 0 || !stack.empty();) {
    if (at >= 0) {
      stack.push_back(at);
      at = tree[static_cast<std::size_t>(at)].left;
    } else {
      at = stack.back();
      stack.pop_back();
      out.order.push_back(tree[static_cast<std::size_t>(at)].candidate);
      at = tree[static_cast<std::size_t>(at)].right;
    }
  }
  detail::finish_outcome(out, answered > 0, budget_hit);
  return out;
}

/// Overlapping windows swept from the bottom to the top (see the file comment).
inline rerank_outcome rerank_batches(const rerank_query& q, limited_chat& chat, const rerank_options& o) {
  o.validate();
  const std::size_t n = detail::candidate_count(q, o);
  rerank_outcome out;
  out.order = detail::identity_order(n);
  out.counts.users = 1;
  if (n < 2) return out;
  chat.start_user(o.max_calls_per_user);
  const std::size_t w = std::min(n, static_cast<std::size_t>(o.window));
  const std::size_t stride = static_cast<std::size_t>(o.stride);
  bool budget_hit = false;
  std::size_t usable = 0;
  for (int pass = 0; pass < o.passes && !budget_hit; ++pass) {
    for (std::size_t start = n - w;; start = start > stride ? start - stride : 0) {
      if (detail::giving_up(out, usable, o)) break;
      std::vector<const rerank_item*> items;
      for (std::size_t p = start; p < start + w; ++p)
        items.push_back(&q.candidates[static_cast<std::size_t>(out.order[p])]);
      const auto reply = detail::rerank_ask(chat, ranking_prompt(q.user_text, items, o.prompt, true),
                                            detail::ranking_max_tokens(w), o, out, budget_hit);
      if (budget_hit) break;
      if (reply) {
        const ranking_parse r = parse_ranking(*reply, detail::titles_of(items));
        if (r.usable()) {
          ++usable;
          out.counts.repaired += r.repaired();
          std::vector<int> window(out.order.begin() + static_cast<std::ptrdiff_t>(start),
                                  out.order.begin() + static_cast<std::ptrdiff_t>(start + w));
          for (std::size_t p = 0; p < w; ++p) out.order[start + p] = window[static_cast<std::size_t>(r.order[p])];
        } else {
          ++out.counts.malformed;
        }
      }
      if (start == 0) break;
    }
  }
  detail::finish_outcome(out, usable > 0, budget_hit);
  return out;
}

/// The fused value of the candidate at 0-based base position r of n, with LLM score s in [1, 100]:
/// w (1 - r / (n - 1)) + (1 - w) s / 100 (the first term is w when n = 1).
inline double fused_score(std::size_t r, std::size_t n, double s, double w = 0.8) {
  const double rank_term = n > 1 ? 1.0 - static_cast<double>(r) / static_cast<double>(n - 1) : 1.0;
  return w * rank_term + (1.0 - w) * s / 100.0;
}

/// A 1-100 score per candidate fused with the base rank (see the file comment).
inline rerank_outcome rerank_scored(const rerank_query& q, limited_chat& chat, const rerank_options& o) {
  o.validate();
  const std::size_t n = detail::candidate_count(q, o);
  rerank_outcome out;
  out.order = detail::identity_order(n);
  out.counts.users = 1;
  out.scores.assign(n, std::numeric_limits<double>::quiet_NaN());
  if (n == 0) return out;
  chat.start_user(o.max_calls_per_user);
  bool budget_hit = false;
  double sum = 0;
  std::size_t usable = 0;
  for (std::size_t r = 0; r < n && !budget_hit && !detail::giving_up(out, usable, o); ++r) {
    const auto reply = detail::rerank_ask(chat, score_prompt(q.user_text, q.candidates[r], o.prompt), 8, o, out, budget_hit);
    if (!reply) continue;
    const score_parse s = parse_score(*reply);
    if (s.value) {
      out.scores[r] = *s.value;
      sum += *s.value;
      ++usable;
    } else {
      ++out.counts.malformed;
    }
  }
  if (usable > 0) {
    const double mean = sum / static_cast<double>(usable);
    out.fused.resize(n);
    for (std::size_t r = 0; r < n; ++r)
      out.fused[r] = fused_score(r, n, std::isnan(out.scores[r]) ? mean : out.scores[r], o.gat_weight);
    std::stable_sort(out.order.begin(), out.order.end(), [&](int a, int b) {
      return out.fused[static_cast<std::size_t>(a)] > out.fused[static_cast<std::size_t>(b)];
    });
  }
  detail::finish_outcome(out, usable > 0, budget_hit);
  return out;
}

/// Runs one strategy on one user.
inline rerank_outcome rerank_user(rerank_strategy s, const rerank_query& q, limited_chat& chat, const rerank_options& o) {
  switch (s) {
    case rerank_strategy::listwise: return rerank_listwise(q, chat, o);
    case rerank_strategy::pairwise: return rerank_pairwise(q, chat, o);
    case rerank_strategy::batches: return rerank_batches(q, chat, o);
    case rerank_strategy::scored: return rerank_scored(q, chat, o);
  }
  detail::throw_logic_error(__func__, "unknown strategy");
}

}  // namespace gatrec
