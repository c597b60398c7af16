#pragma once

// A planted-cluster rating table for training tests: users and items fall into `clusters` groups;
// each user likes (5) eight items of their group and dislikes (1) two of the next group.
// Validation holds out two more liked items per user.

#include <gatrec/core/random.hpp>
#include <gatrec/data/interactions.hpp>

#include <algorithm>
#include <vector>

namespace gatrec::test {

struct planted {
  index_t users = 60, items = 40;
  rating_table train, validation;
};

inline planted make_planted(int clusters = 2) {
  planted p;
  rng gen(17);
  const index_t per_cluster = p.items / clusters;
  for (index_t u = 0; u < p.users; ++u) {
    const index_t c = u % clusters;
    std::vector<index_t> own;
    for (index_t i = c * per_cluster; i < (c + 1) * per_cluster; ++i) own.push_back(i);
    std::shuffle(own.begin(), own.end(), gen);
    for (int k = 0; k < 8; ++k) p.train.push_back(u, own[k], 5.0f);
    for (int k = 8; k < 10; ++k) p.validation.push_back(u, own[k], 5.0f);
    for (int k = 0; k < 2; ++k) {
      const auto other = static_cast<index_t>(((c + 1) % clusters) * per_cluster + gen.below(per_cluster));
      p.train.push_back(u, other, 1.0f);
    }
  }
  return p;
}

}  // namespace gatrec::test
