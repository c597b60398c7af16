#pragma once

// Catalogue shapes the ranking and training-step benchmarks use: the users, items and training
// ratings of MovieLens 100K (u1.base), of ML-1M (90% of its ratings) and of ML-25M.

#include <gatrec/core/types.hpp>

#include <cstdint>

namespace gatrec::bench {

struct catalogue_shape {
  const char* name;
  index_t users, items;
  std::int64_t ratings;
};

inline constexpr catalogue_shape catalogue_shapes[] = {{"ml100k", 943, 1682, 80000},
                                                        {"ml1m", 6040, 3706, 900000},
                                                        {"ml25m", 162541, 59047, 25000095}};

}  // namespace gatrec::bench
