#pragma once

/// @file
/// @brief One user's triples for one epoch, drawn from flat tables: the body that
/// gatrec::negative_sampler runs on the host and cuda::device_negative_sampler runs in a kernel
/// (one thread per user), so both produce the same triples bit for bit.
///
/// The draws for (epoch, user) come from their own generator seeded by a counter, and each user
/// writes to its own precomputed range of the output, so neither the thread count nor the order in
/// which users run changes anything.

#include <cstdint>

#include "gatrec/core/config.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/core/types.hpp"

namespace gatrec {

/// Views of a sampler's tables (host or device memory; not owned). Each `*_offsets` array has
/// num_users + 1 entries and delimits user u's sorted item ids in the matching array.
struct negative_sampling_tables {
  index_t num_users = 0;
  index_t num_items = 0;
  const offset_t* positive_offsets = nullptr;  ///< liked items (>= like_threshold)
  const index_t* positives = nullptr;
  const offset_t* excluded_offsets = nullptr;  ///< liked or disliked: never a uniform negative
  const index_t* excluded = nullptr;
  const offset_t* dislike_offsets = nullptr;  ///< disliked (<= dislike_threshold): hard negatives
  const index_t* dislikes = nullptr;
  /// Where user u's triples start in the epoch's output; a user with no admissible negative (every
  /// item excluded and no dislike) gets an empty range.
  const offset_t* triple_offsets = nullptr;
};

/// Tables over arrays that have data(): the host sampler's vectors or their device copies.
template <class Offsets, class Items>
negative_sampling_tables view_sampling_tables(index_t num_users, index_t num_items, const Offsets& positive_offsets,
                                              const Items& positives, const Offsets& excluded_offsets,
                                              const Items& excluded, const Offsets& dislike_offsets,
                                              const Items& dislikes, const Offsets& triple_offsets) {
  return {num_users,      num_items,       positive_offsets.data(), positives.data(), excluded_offsets.data(),
          excluded.data(), dislike_offsets.data(), dislikes.data(), triple_offsets.data()};
}

/// How negatives are drawn (gatrec::sampler_options without the rating thresholds).
struct negative_draw_options {
  int negatives_per_positive = 1;
  double dislike_fraction = 0.0;
  std::uint64_t seed = 1;
};

/// The generator of (epoch, user): a pure function of its arguments.
GATREC_HOST_DEVICE rng user_epoch_generator(std::uint64_t seed, std::uint64_t epoch, index_t user) {
  return rng(mix64(seed ^ mix64(epoch * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(user))));
}

/// Uniform over the items not excluded for u: draw a rank among the allowed items and map it to an
/// item id by skipping the sorted excluded ids, so no rejection loop is needed.
GATREC_HOST_DEVICE index_t uniform_negative(const negative_sampling_tables& t, index_t u, rng& gen) {
  const index_t* ex = t.excluded + t.excluded_offsets[u];
  const offset_t count = t.excluded_offsets[u + 1] - t.excluded_offsets[u];
  const index_t candidate = static_cast<index_t>(gen.below(static_cast<std::uint64_t>(t.num_items - count)));
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

/// Writes user u's triples for `epoch` into [triple_offsets[u], triple_offsets[u + 1]) of the
/// three output arrays: each liked item once per negative, in item order.
GATREC_HOST_DEVICE void draw_user_triples(const negative_sampling_tables& t, const negative_draw_options& o,
                                          std::uint64_t epoch, index_t u, index_t* user, index_t* positive,
                                          index_t* negative) {
  offset_t out = t.triple_offsets[u];
  if (out == t.triple_offsets[u + 1]) return;
  const offset_t excluded = t.excluded_offsets[u + 1] - t.excluded_offsets[u];
  const offset_t dislikes = t.dislike_offsets[u + 1] - t.dislike_offsets[u];
  rng gen = user_epoch_generator(o.seed, epoch, u);
  for (offset_t p = t.positive_offsets[u]; p < t.positive_offsets[u + 1]; ++p)
    for (int k = 0; k < o.negatives_per_positive; ++k, ++out) {
      user[out] = u;
      positive[out] = t.positives[p];
      const bool hard = dislikes > 0 && (excluded >= t.num_items || gen.uniform() < o.dislike_fraction);
      negative[out] = hard ? t.dislikes[t.dislike_offsets[u] + static_cast<offset_t>(gen.below(dislikes))]
                           : uniform_negative(t, u, gen);
    }
}

}  // namespace gatrec
