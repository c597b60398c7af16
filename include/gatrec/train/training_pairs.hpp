#pragma once

/// @file
/// @brief The (user, positive item, negative item) triples a pairwise loss is computed on.

#include <vector>

#include "gatrec/core/types.hpp"

namespace gatrec {

/// Parallel arrays of triples: for triple t, user[t] prefers positive[t] over negative[t].
/// Item ids are item indices (0..I-1), not graph node ids.
struct training_triples {
  std::vector<index_t> user;
  std::vector<index_t> positive;
  std::vector<index_t> negative;

  std::size_t size() const { return user.size(); }
  bool empty() const { return user.empty(); }
  void clear() {
    user.clear();
    positive.clear();
    negative.clear();
  }
};

}  // namespace gatrec
