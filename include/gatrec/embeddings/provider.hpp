#pragma once

/// @file
/// @brief The interface every source of node vectors implements: given keys (ids written as
/// strings, or texts), return one row per key.
///
/// Vectors come from many places (an `.npy` file with a row-id list, a text file of
/// `id v1 v2 ...` lines, a matrix built in memory, later an embedding model): the model code only
/// sees an embedding_provider, and every source reports missing keys the same way.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"

namespace gatrec {

/// Keys that a provider does not know. The message lists the first few; missing() has them all.
class missing_keys_error : public error {
 public:
  /// @param source what was asked (the provider's description, with context such as "items")
  /// @param missing every missing key, in request order
  /// @param requested how many keys were asked for
  missing_keys_error(const std::string& source, std::vector<std::string> missing, std::size_t requested)
      : error(format(source, missing, requested)), missing_(std::move(missing)) {}

  /// Every missing key, in the order they were requested.
  const std::vector<std::string>& missing() const noexcept { return missing_; }

  /// How many keys the message spells out.
  static constexpr std::size_t shown = 5;

 private:
  static std::string format(const std::string& source, const std::vector<std::string>& missing,
                            std::size_t requested) {
    std::string msg = source + ": " + std::to_string(missing.size()) + " of " + std::to_string(requested) +
                      " keys have no vector: ";
    for (std::size_t k = 0; k < missing.size() && k < shown; ++k) msg += (k ? ", '" : "'") + missing[k] + "'";
    if (missing.size() > shown) msg += ", ... (" + std::to_string(missing.size() - shown) + " more)";
    return msg;
  }

  std::vector<std::string> missing_;
};

/// The vectors for a list of keys, with the keys that had none.
struct lookup_result {
  matrix<float> vectors;                   ///< (keys, dim); rows of missing keys are zero
  std::vector<std::size_t> missing_rows;   ///< positions in the request of keys without a vector
  std::vector<std::string> missing_keys;   ///< those keys, in request order

  bool complete() const { return missing_rows.empty(); }
};

/// A source of fixed-width float vectors addressed by string keys.
///
/// Implementations override dim(), description() and fill_rows(); callers use lookup() (missing
/// keys are an error) or try_lookup() (missing keys are reported). A provider is immutable once
/// built, so lookups may run concurrently.
class embedding_provider {
 public:
  virtual ~embedding_provider() = default;

  /// Width of every vector.
  virtual index_t dim() const = 0;

  /// Where the vectors come from, for messages (for example "npy 'a.npy' with ids 'a.ids'").
  virtual std::string description() const = 0;

  /// The vectors for `keys`, one row each, in request order.
  /// @param keys the keys; repeated keys give repeated rows
  /// @return a (keys.size() x dim()) matrix
  /// @throw missing_keys_error listing the first few missing keys when any key is unknown
  matrix<float> lookup(const std::vector<std::string>& keys) const {
    lookup_result r = try_lookup(keys);
    if (!r.complete()) throw missing_keys_error(description(), std::move(r.missing_keys), keys.size());
    return std::move(r.vectors);
  }

  /// The vectors for `keys`, reporting missing keys instead of throwing. Their rows are zero.
  lookup_result try_lookup(const std::vector<std::string>& keys) const {
    lookup_result r;
    r.vectors = matrix<float>::Zero(static_cast<Eigen::Index>(keys.size()), dim());
    fill_rows(keys, r.vectors, r.missing_rows);
    r.missing_keys.reserve(r.missing_rows.size());
    for (const std::size_t k : r.missing_rows) r.missing_keys.push_back(keys[k]);
    return r;
  }

 protected:
  embedding_provider() = default;
  embedding_provider(const embedding_provider&) = default;
  embedding_provider& operator=(const embedding_provider&) = default;
  embedding_provider(embedding_provider&&) = default;
  embedding_provider& operator=(embedding_provider&&) = default;

  /// Writes row k of `out` (already sized (keys.size() x dim()) and zeroed) for every known
  /// keys[k], and appends the k of every unknown key to `missing`, in increasing order.
  virtual void fill_rows(const std::vector<std::string>& keys, matrix<float>& out,
                         std::vector<std::size_t>& missing) const = 0;
};

}  // namespace gatrec
