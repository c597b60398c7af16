#pragma once

/// @file
/// @brief Positive pairs and per-epoch negative sampling for pairwise training.
///
/// Positives are training pairs rated >= like_threshold. Negatives for user u are drawn uniformly
/// from items u neither liked (>= like_threshold) nor disliked (<= dislike_threshold) in training:
/// PAPER.md keeps explicit dislikes out of the uniform pool. Optionally a fraction of negatives is
/// drawn from u's own dislikes instead ("hard negatives", FINDINGS.md). The draw itself is
/// train/negative_draw.hpp, shared with the device sampler (cuda::device_negative_sampler).

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/train/negative_draw.hpp"
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
    // A user whose every item is excluded and who has no dislike has no admissible negative (rare):
    // no triples, which keeps every triple valid.
    triple_offsets_.assign(static_cast<std::size_t>(num_users) + 1, 0);
    for (index_t u = 0; u < num_users; ++u) {
      const offset_t excluded = excluded_offsets_[u + 1] - excluded_offsets_[u];
      const bool admissible = excluded < num_items || dislike_offsets_[u + 1] > dislike_offsets_[u];
      const offset_t liked = positive_offsets_[u + 1] - positive_offsets_[u];
      triple_offsets_[u + 1] = triple_offsets_[u] + (admissible ? liked * opt.negatives_per_positive : 0);
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
    const std::size_t count = static_cast<std::size_t>(triple_offsets_.back());
    out.user.resize(count);
    out.positive.resize(count);
    out.negative.resize(count);
    const negative_sampling_tables t = tables();
    const negative_draw_options o = draw_options();
    parallel_for<index_t>(0, num_users_, [&](index_t u) {
      draw_user_triples(t, o, epoch, u, out.user.data(), out.positive.data(), out.negative.data());
    });
  }

  /// Number of triples every epoch has (the same each epoch).
  std::size_t triples_per_epoch() const { return static_cast<std::size_t>(triple_offsets_.back()); }

  /// Views of the host tables (valid while the sampler lives); cuda::device_negative_sampler
  /// copies them to the device.
  negative_sampling_tables tables() const {
    return view_sampling_tables(num_users_, num_items_, positive_offsets_, positives_, excluded_offsets_, excluded_,
                                dislike_offsets_, dislikes_, triple_offsets_);
  }

  negative_draw_options draw_options() const { return {opt_.negatives_per_positive, opt_.dislike_fraction, opt_.seed}; }

  /// The remaining tables, as tables() views them.
  const std::vector<offset_t>& excluded_offsets() const { return excluded_offsets_; }
  const std::vector<index_t>& excluded() const { return excluded_; }
  const std::vector<offset_t>& dislike_offsets() const { return dislike_offsets_; }
  const std::vector<index_t>& dislikes() const { return dislikes_; }
  const std::vector<offset_t>& triple_offsets() const { return triple_offsets_; }

  /// True when item i is excluded from u's uniform negatives (liked or disliked).
  bool is_excluded(index_t u, index_t i) const {
    return std::binary_search(excluded_.begin() + excluded_offsets_[u], excluded_.begin() + excluded_offsets_[u + 1], i);
  }

 private:
  sampler_options opt_;
  index_t num_users_;
  index_t num_items_;
  std::vector<index_t> positives_, excluded_, dislikes_;
  std::vector<offset_t> positive_offsets_, excluded_offsets_, dislike_offsets_, triple_offsets_;
};

}  // namespace gatrec
