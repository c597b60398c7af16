#pragma once

// Random training triples grouped by positive (per_positive negatives each, never the positive
// itself), with users and items repeating so that embedding rows collect several terms.

#include <gatrec/core/random.hpp>
#include <gatrec/train/training_pairs.hpp>

namespace gatrec::test {

inline training_triples random_triples(index_t users, index_t items, int positives, int per_positive,
                                       std::uint64_t seed) {
  training_triples t;
  rng r(seed);
  for (int p = 0; p < positives; ++p) {
    const auto u = static_cast<index_t>(r.below(static_cast<std::uint64_t>(users)));
    const auto i = static_cast<index_t>(r.below(static_cast<std::uint64_t>(items)));
    for (int k = 0; k < per_positive; ++k) {
      auto j = static_cast<index_t>(r.below(static_cast<std::uint64_t>(items)));
      if (j == i) j = (j + 1) % items;
      t.user.push_back(u);
      t.positive.push_back(i);
      t.negative.push_back(j);
    }
  }
  return t;
}

}  // namespace gatrec::test
