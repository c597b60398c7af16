#pragma once

/// @file
/// @brief Positive pairs and per-epoch negative sampling for pairwise training.
///
/// Positives are training pairs rated >= like_threshold. Negatives for user u are drawn uniformly
/// from items u neither liked (>= like_threshold) nor disliked (<= dislike_threshold) in training:
/// PAPER.md keeps explicit dislikes out of the uniform pool. Optionally a fraction of negatives is
/// drawn from u's own dislikes instead ("hard negatives", FINDINGS.md). Sampling for (epoch, user)
/// uses its own counter-seeded generator, so the triples do not depend on the thread count.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/train/training_pairs.hpp"

namespace gatrec {

/// What counts as a positive and where negatives come from.
struct sampler_options {
  float like_threshold = 4.0f;      ///< rating >= this is a positive
  float dislike_threshold = 2.0f;   ///< rating <= this is an explicit dislike, excluded from uniform negatives
  int negatives_per_positive = 1;
  double dislike_fraction = 0.0;    ///< share of negatives drawn from the user's dislikes (when they have any)
  std::uint64_t seed = 1;
};

/// Samples training triples from a rating table, freshly for every epoch.
class negative_sampler {
 public:
  negative_sampler(const rating_table& train, index_t num_users, index_t num_items, const sampler_options& opt)
      : opt_(opt), num_users_(num_users), num_items_(num_items) {
    GATREC_EXPECTS(opt.negatives_per_positive >= 1, "negatives_per_positive must be at least 1");
    GATREC_EXPECTS(opt.dislike_fraction >= 0.0 && opt.dislike_fraction <= 1.0, "dislike_fraction must lie in [0, 1]");
    std::vector<std::vector<index_t>> liked(static_cast<std::size_t>(num_users)), disliked(liked.size());
    for (std::size_t k = 0; k < train.size(); ++k) {
      const index_t u = train.user[k], i = train.item[k];
      GATREC_EXPECTS(u >= 0 && u < num_users && i >= 0 && i < num_items, "rating outside the index range");
      if (train.rating[k] >= opt.like_threshold) liked[u].push_back(i);
      if (train.rating[k] <= opt.dislike_threshold) disliked[u].push_back(i);
    }
    positive_offsets_.assign(static_cast<std::size_t>(num_users) + 1, 0);
    excluded_offsets_.assign(static_cast<std::size_t>(num_users) + 1, 0);
    dislike_offsets_.assign(static_cast<std::size_t>(num_users) + 1, 0);
    for (index_t u = 0; u < num_users; ++u) {
      auto& l = liked[u];
      auto& d = disliked[u];
      std::sort(l.begin(), l.end());
      l.erase(std::unique(l.begin(), l.end()), l.end());
      std::sort(d.begin(), d.end());
      d.erase(std::unique(d.begin(), d.end()), d.end());
      positives_.insert(positives_.end(), l.begin(), l.end());
      std::vector<index_t> ex;
      std::merge(l.begin(), l.end(), d.begin(), d.end(), std::back_inserter(ex));
      excluded_.insert(excluded_.end(), ex.begin(), ex.end());
      dislikes_.insert(dislikes_.end(), d.begin(), d.end());
      positive_offsets_[u + 1] = static_cast<offset_t>(positives_.size());
      excluded_offsets_[u + 1] = static_cast<offset_t>(excluded_.size());
      dislike_offsets_[u + 1] = static_cast<offset_t>(dislikes_.size());
    }
  }

  /// Number of distinct positive (user, item) pairs.
  std::size_t num_positives() const { return positives_.size(); }
  /// (num_users + 1) offsets into positives(): user u's liked items are [offsets[u], offsets[u+1]).
  const std::vector<offset_t>& positive_offsets() const { return positive_offsets_; }
  /// Every user's liked items, sorted, concatenated in user order.
  const std::vector<index_t>& positives() const { return positives_; }
  const sampler_options& options() const { return opt_; }

  /// Triples for one epoch: each positive once per negative, grouped by positive (the layout
  /// hybrid_loss expects). Users whose every item is excluded get no triples.
  void sample(std::uint64_t epoch, training_triples& out) const {
    const int n = opt_.negatives_per_positive;
    out.user.resize(positives_.size() * n);
    out.positive.resize(out.user.size());
    out.negative.resize(out.user.size());
    std::vector<char> valid(static_cast<std::size_t>(num_users_), 1);
    parallel_for<index_t>(0, num_users_, [&](index_t u) {
      const offset_t first = positive_offsets_[u], last = positive_offsets_[u + 1];
      if (first == last) return;
      const offset_t excluded = excluded_offsets_[u + 1] - excluded_offsets_[u];
      const offset_t dislikes = dislike_offsets_[u + 1] - dislike_offsets_[u];
      if (excluded >= num_items_ && dislikes == 0) {
        valid[u] = 0;
        return;
      }
      rng gen(mix64(opt_.seed ^ mix64(epoch * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(u))));
      for (offset_t p = first; p < last; ++p)
        for (int k = 0; k < n; ++k) {
          const std::size_t t = static_cast<std::size_t>(p) * n + k;
          out.user[t] = u;
          out.positive[t] = positives_[p];
          const bool hard = dislikes > 0 && (excluded >= num_items_ || gen.uniform() < opt_.dislike_fraction);
          out.negative[t] = hard ? dislikes_[dislike_offsets_[u] + static_cast<offset_t>(gen.below(dislikes))]
                                 : uniform_negative(u, gen);
        }
    });
    // Drop users without any admissible negative (all items excluded): rare, but keeps triples valid.
    if (std::find(valid.begin(), valid.end(), 0) != valid.end()) {
      training_triples kept;
      for (std::size_t t = 0; t < out.size(); ++t)
        if (valid[out.user[t]]) {
          kept.user.push_back(out.user[t]);
          kept.positive.push_back(out.positive[t]);
          kept.negative.push_back(out.negative[t]);
        }
      out = std::move(kept);
    }
  }

  /// True when item i is excluded from u's uniform negatives (liked or disliked).
  bool is_excluded(index_t u, index_t i) const {
    return std::binary_search(excluded_.begin() + excluded_offsets_[u], excluded_.begin() + excluded_offsets_[u + 1], i);
  }

 private:
  /// Uniform over the items not excluded for u: draw a rank among the allowed items and map it to
  /// an item id by skipping the sorted excluded ids, so no rejection loop is needed.
  index_t uniform_negative(index_t u, rng& gen) const {
    const index_t* ex = excluded_.data() + excluded_offsets_[u];
    const offset_t count = excluded_offsets_[u + 1] - excluded_offsets_[u];
    index_t candidate = static_cast<index_t>(gen.below(static_cast<std::uint64_t>(num_items_ - count)));
    // The r-th allowed item is r + (number of excluded ids <= it); find it by binary search.
    offset_t lo = 0, hi = count;
    while (lo < hi) {  // smallest m with ex[m] - m > candidate
      const offset_t mid = (lo + hi) / 2;
      if (ex[mid] - static_cast<index_t>(mid) <= candidate)
        lo = mid + 1;
      else
        hi = mid;
    }
    return candidate + static_cast<index_t>(lo);
  }

  sampler_options opt_;
  index_t num_users_;
  index_t num_items_;
  std::vector<index_t> positives_, excluded_, dislikes_;
  std::vector<offset_t> positive_offsets_, excluded_offsets_, dislike_offsets_;
};

}  // namespace gatrec
