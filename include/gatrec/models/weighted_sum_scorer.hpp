#pragma once

/// @file
/// @brief A score ensemble: s(u, i) = Σ_k w_k s_k(u, i) over scorers of the same shape.
///
/// Used to rank by two item-item models at once (EASE on liked items plus EASE on centered
/// ratings), and as the fixed part of a score_prior. Each term is materialised block by block, so the
/// memory cost is one extra (block, items) buffer per call.

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/models/scorer.hpp"

namespace gatrec {

/// Σ_k w_k s_k(u, i); owns its terms.
class weighted_sum_scorer final : public scorer {
 public:
  /// Adds w * s(u, i); every term must have the first term's shape.
  /// @throw logic_error when the term is null, its shape differs or w is not finite
  weighted_sum_scorer& add(std::unique_ptr<scorer> term, double weight) {
    GATREC_EXPECTS(term != nullptr, "a weighted_sum_scorer term must not be null");
    GATREC_EXPECTS(std::isfinite(weight), "a weighted_sum_scorer weight must be finite");
    if (!terms_.empty())
      GATREC_EXPECTS(term->num_users() == num_users() && term->num_items() == num_items(),
                     "weighted_sum_scorer terms must have the same shape: " + std::to_string(num_users()) + " x " +
                         std::to_string(num_items()) + " vs " + std::to_string(term->num_users()) + " x " +
                         std::to_string(term->num_items()));
    terms_.emplace_back(std::move(term), static_cast<float>(weight));
    return *this;
  }

  index_t num_users() const override { return terms_.empty() ? 0 : terms_.front().first->num_users(); }
  index_t num_items() const override { return terms_.empty() ? 0 : terms_.front().first->num_items(); }
  std::size_t num_terms() const { return terms_.size(); }

  /// @throw logic_error when the scorer has no terms
  void score_block(index_t first_user, index_t count, matrix<float>& out) const override {
    GATREC_EXPECTS(!terms_.empty(), "weighted_sum_scorer has no terms");
    out.setZero(count, num_items());
    matrix<float> part(count, num_items());
    for (const auto& [term, weight] : terms_) {
      term->score_block(first_user, count, part);
      out += weight * part;
    }
  }

 private:
  std::vector<std::pair<std::unique_ptr<scorer>, float>> terms_;
};

}  // namespace gatrec
