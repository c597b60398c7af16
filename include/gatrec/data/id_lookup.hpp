#pragma once

/// @file
/// @brief Raw id -> index lookups for the loaders' inner loops: a dense table for the small
/// non-negative ids every MovieLens release uses, the id_map's hash table for the rest.

#include <algorithm>
#include <cstddef>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"

namespace gatrec {

/// Wraps an id_map for fast lookups while a file is parsed. A hash lookup costs more than parsing
/// the number itself, so ids in [0, dense_limit) are looked up in a plain vector that mirrors the
/// map; larger or negative ids fall back to the map.
///
/// The map must only change through this object while it is alive. Built over a const map, the
/// lookup is read-only and insert() throws.
class id_lookup {
 public:
  /// Ids at or past this bound are never put in the dense table (64 MiB of index_t at most).
  static constexpr raw_id_t dense_limit = raw_id_t{1} << 24;

  /// Mirrors the ids `map` already holds; insert() adds to `map`.
  explicit id_lookup(id_map& map) : id_lookup(static_cast<const id_map&>(map)) { writable_ = &map; }

  /// Mirrors the ids `map` holds, read-only.
  explicit id_lookup(const id_map& map) : map_(&map) {
    raw_id_t top = -1;
    for (const raw_id_t raw : map.raw_ids())
      if (raw >= 0 && raw < dense_limit) top = std::max(top, raw);
    dense_.assign(static_cast<std::size_t>(top + 1), -1);
    const auto& raws = map.raw_ids();
    for (std::size_t k = 0; k < raws.size(); ++k)
      if (raws[k] >= 0 && raws[k] < dense_limit) dense_[static_cast<std::size_t>(raws[k])] = static_cast<index_t>(k);
  }

  /// The index of `raw`, or -1 when it is unknown.
  index_t find(raw_id_t raw) const {
    if (raw >= 0 && raw < dense_limit) {
      // Every known id below dense_limit lies inside dense_, so a miss past its end is unknown.
      return static_cast<std::size_t>(raw) < dense_.size() ? dense_[static_cast<std::size_t>(raw)] : -1;
    }
    const auto found = map_->find(raw);
    return found ? *found : -1;
  }

  /// The index of `raw`, adding it to the map when it is new.
  /// @throw logic_error when the lookup was built over a const map
  index_t insert(raw_id_t raw) {
    GATREC_EXPECTS(writable_ != nullptr, "id_lookup over a const id_map cannot insert");
    if (raw >= 0 && raw < dense_limit) {
      const auto slot = static_cast<std::size_t>(raw);
      if (slot >= dense_.size()) {
        // Grow geometrically so that ids arriving in increasing order cost amortised O(1).
        const std::size_t grown = std::max({slot + 1, 2 * dense_.size(), std::size_t{1024}});
        dense_.resize(std::min(grown, static_cast<std::size_t>(dense_limit)), -1);
      }
      index_t& idx = dense_[slot];
      if (idx < 0) idx = writable_->insert(raw);
      return idx;
    }
    return writable_->insert(raw);
  }

 private:
  const id_map* map_;
  id_map* writable_ = nullptr;
  std::vector<index_t> dense_;
};

}  // namespace gatrec
