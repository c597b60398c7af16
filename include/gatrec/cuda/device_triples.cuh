#pragma once

/// @file
/// @brief gatrec::cuda::device_triples: training triples in device memory, as the device loss
/// reads them (the device twin of gatrec::training_triples; a view, not owned).

#include <cstdint>

#include "gatrec/core/types.hpp"

namespace gatrec::cuda {

/// For triple t < count, user[t] prefers item positive[t] over item negative[t] (item indices).
struct device_triples {
  const index_t* user = nullptr;
  const index_t* positive = nullptr;
  const index_t* negative = nullptr;
  std::int64_t count = 0;
};

}  // namespace gatrec::cuda
