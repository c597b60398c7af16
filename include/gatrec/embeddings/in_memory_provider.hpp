#pragma once

/// @file
/// @brief An embedding_provider over a matrix held in memory, one key per row. The file-backed
/// providers load into one of these.

#include <cmath>
#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/embeddings/provider.hpp"

namespace gatrec {

/// Vectors in a (rows x dim) matrix; row r belongs to keys()[r].
class in_memory_provider : public embedding_provider {
 public:
  /// @param vectors one row per key; every value finite
  /// @param keys the key of each row; no duplicates
  /// @param description what the vectors are, for messages
  /// @throw logic_error when the counts differ, a key repeats, or a value is NaN or infinite
  in_memory_provider(matrix<float> vectors, std::vector<std::string> keys, std::string description = "in-memory vectors")
      : vectors_(std::move(vectors)), keys_(std::move(keys)), description_(std::move(description)) {
    GATREC_EXPECTS(static_cast<std::size_t>(vectors_.rows()) == keys_.size(),
                   description_ + ": " + std::to_string(vectors_.rows()) + " rows but " +
                       std::to_string(keys_.size()) + " keys");
    index_.reserve(keys_.size());
    for (std::size_t r = 0; r < keys_.size(); ++r) {
      const auto [it, inserted] = index_.try_emplace(keys_[r], static_cast<Eigen::Index>(r));
      GATREC_EXPECTS(inserted, description_ + ": key '" + keys_[r] + "' names rows " + std::to_string(it->second) +
                                   " and " + std::to_string(r));
    }
    for (Eigen::Index r = 0; r < vectors_.rows(); ++r)
      for (Eigen::Index c = 0; c < vectors_.cols(); ++c)
        GATREC_EXPECTS(std::isfinite(vectors_(r, c)), description_ + ": non-finite value at row " + std::to_string(r) +
                                                          " (key '" + keys_[static_cast<std::size_t>(r)] +
                                                          "'), column " + std::to_string(c));
  }

  index_t dim() const override { return static_cast<index_t>(vectors_.cols()); }
  std::string description() const override { return description_; }

  /// Number of keys (rows).
  std::size_t size() const { return keys_.size(); }
  /// True when `key` has a vector.
  bool contains(const std::string& key) const { return index_.count(key) != 0; }
  /// The row of `key`, or -1 when it has none.
  Eigen::Index row_of(const std::string& key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? -1 : it->second;
  }
  /// The key of each row.
  const std::vector<std::string>& keys() const { return keys_; }
  /// All vectors, (size() x dim()).
  const matrix<float>& vectors() const { return vectors_; }

 protected:
  void fill_rows(const std::vector<std::string>& keys, matrix<float>& out,
                 std::vector<std::size_t>& missing) const override {
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const auto it = index_.find(keys[k]);
      if (it == index_.end()) {
        missing.push_back(k);
      } else {
        out.row(static_cast<Eigen::Index>(k)) = vectors_.row(it->second);
      }
    }
  }

 private:
  matrix<float> vectors_;
  std::vector<std::string> keys_;
  std::string description_;
  std::unordered_map<std::string, Eigen::Index> index_;
};

}  // namespace gatrec
